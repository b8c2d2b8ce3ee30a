/**
 * Polychromic PPO (Ibn Hamid, Orney, Xu, Finn, Sadigh, "Polychromic Objectives for
 * Reinforcement Learning", 2025): PPO on a set objective that rewards a policy for keeping
 * several successful behaviours instead of collapsing onto one. Composed from refinery's parts:
 *
 *   VineCollector: B trajectories from fresh start states; p vine states along each;
 *                  N continuations from each vine state (env snapshots); n-subsets of them
 *   f(S)  = mean_{τ∈S} R(τ) · d(S)                       d: final-cells | outcome-classes | yours
 *   A(τ)  = mean_{S∋τ} f(S) − mean_S f(S)                on every step of a continuation τ
 *   A_t   = gae(γ, λ)                                    on the base trajectories' steps
 *   then PPO's update on all steps: for each epoch, for each minibatch
 *     L = mean(clippedSurrogate(ρ, normalise(A), ε)) − entCoef·mean(H) + vfCoef·valueLoss(V, R, V_old, ε)
 *   with action masking (actionMasking auto|on|off, as ppo): sampling, log π and H under the
 *   mask each step was collected with (masked logits −1e8), the masks stored by the collector
 *
 * Value targets are GAE returns on every step (continuations included). Vine continuations are
 * not episodes from a reset, so only the base trajectories are reported as episodes; every
 * env step (base and continuations) counts against totalTimesteps.
 * The paper fixes the objective and the set advantage; the vine schedule (B, p, N, n, which
 * subsets) is not published, so each is an option (defaults ours).
 */
import * as tf from "#tfjs-core";
import { z } from "zod";
import { getDiversity } from "../advantage/diversity.js";
import { gae } from "../advantage/gae.js";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { polychromicScore, setAdvantages, type DiversityFn } from "../advantage/set.js";
import { initBackend } from "../core/backend.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import type { Env } from "../envs/env.js";
import { make, registry } from "../envs/registry.js";
import { Adam } from "../nn/optim.js";
import { ActorCritic } from "../policies/actor_critic.js";
import type { RolloutBatch } from "../rollout/step_collector.js";
import { goalReached, returnAtLeast, VineCollector, type SuccessPredicate, type VineBatch } from "../rollout/vine_collector.js";
import { makeTrainingEnv, type EnvStackOptions } from "./env_stack.js";
import { Minibatch, explainedVariance, policyActor, ppoLossGradients } from "./ppo.js";
import { ppoConfigSchema, PPO_DEFAULTS } from "./ppo_config.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, Algorithm, IterationMetrics, RolloutHooks } from "./types.js";

export const polychromicConfigSchema = ppoConfigSchema
  .pick({
    env: true, seed: true, totalTimesteps: true, learningRate: true, annealLr: true, gamma: true, gaeLambda: true,
    numMinibatches: true, updateEpochs: true, normAdv: true, clipCoef: true, clipVloss: true, entCoef: true, vfCoef: true,
    maxGradNorm: true, targetKl: true, hidden: true, activation: true, initLogStd: true, orthoInit: true, actionMasking: true,
    evalEvery: true, evalEpisodes: true, evalDeterministic: true, checkpointEvery: true, checkpointSeconds: true,
  })
  .extend({
    totalTimesteps: z.number().int().positive().describe("env steps to train for, base trajectories and vine continuations together; the last iteration may overshoot"),
    numRollouts: z.number().int().positive().describe("B: trajectories rolled out from fresh start states per iteration (their steps get GAE advantages)"),
    vineStatesPerRollout: z.number().int().positive().describe("p: vine states picked per base trajectory, uniformly among its states"),
    numVines: z.number().int().min(2).describe("N: continuations branched from each vine state via env snapshots"),
    setSize: z.number().int().min(1).describe("n: trajectories per set the polychromic objective scores (≤ numVines)"),
    subsetMode: z.enum(["all", "random"]).describe("which n-subsets of a vine state's N continuations are scored: all C(N, n), or numSubsets random ones"),
    numSubsets: z.number().int().positive().describe("with subsetMode random: subsets drawn per vine state"),
    diversity: z.string().min(1).describe("d of a set: final-cells (distinct final cells / n), outcome-classes (distinct success × quadrants-visited classes / n), or a name registered with registerDiversity in an --import module"),
    success: z.enum(["goal", "threshold"]).describe("what a successful trajectory is: goal (terminated with a positive last reward, grid worlds) or threshold (return ≥ the env's reward threshold)"),
    backend: z.enum(["wasm", "cpu"]).describe("tfjs backend for the updates"),
  })
  .strict();

export type PolychromicConfig = z.infer<typeof polychromicConfigSchema>;

export const POLYCHROMIC_DEFAULTS: PolychromicConfig = {
  env: "MiniGrid-Empty-8x8-v0",
  seed: 1,
  totalTimesteps: 200_000,
  learningRate: PPO_DEFAULTS.learningRate,
  annealLr: true,
  gamma: 0.99,
  gaeLambda: 0.95,
  numMinibatches: 4,
  updateEpochs: 4,
  normAdv: true,
  clipCoef: 0.2,
  clipVloss: true,
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  targetKl: null,
  hidden: [64, 64],
  activation: "tanh",
  initLogStd: 0,
  orthoInit: true,
  actionMasking: "auto",
  evalEvery: 0,
  evalEpisodes: 10,
  evalDeterministic: true,
  checkpointEvery: 0,
  checkpointSeconds: 60,
  numRollouts: 8,
  vineStatesPerRollout: 2,
  numVines: 4,
  setSize: 2,
  subsetMode: "all",
  numSubsets: 4,
  diversity: "outcome-classes",
  success: "goal",
  backend: "wasm",
};

/** Polychromic advantages of a vine batch, their value targets and the set metrics. */
export interface PolychromicAdvantages {
  advantages: Float32Array;
  returns: Float32Array;
  /** Mean f(S) and mean d(S) over every scored subset of the batch. */
  setScore: number;
  diversity: number;
}

/**
 * GAE on every trajectory (truncated ones bootstrapped from V(final obs)), then the
 * continuations' steps take their set advantage instead; value targets stay the GAE returns.
 */
export function polychromicAdvantages(batch: VineBatch, diversity: DiversityFn, gamma: number, lambda: number): PolychromicAdvantages {
  const rewards = Float32Array.from(batch.rewards);
  batch.length.forEach((len, i) => {
    if (batch.truncated[i]) rewards[batch.start[i] + len - 1] += gamma * batch.finalValues[i];
  });
  const { advantages, returns } = gae({ rewards, values: batch.values, dones: batch.dones, lastValues: [0], numEnvs: 1, gamma, lambda });
  let scoreSum = 0, divSum = 0, count = 0;
  batch.subsets.forEach((subsets, v) => {
    const first = batch.numRollouts + v * batch.numVines;
    const members = batch.summaries.slice(first, first + batch.numVines);
    const scores = subsets.map((s) => {
      const set = s.map((j) => members[j]);
      const d = diversity(set);
      divSum += d;
      count++;
      return polychromicScore(set, () => d);
    });
    scores.forEach((f) => (scoreSum += f));
    const { advantages: setAdv } = setAdvantages(batch.numVines, subsets, scores);
    for (let j = 0; j < batch.numVines; j++) advantages.fill(setAdv[j], batch.start[first + j], batch.start[first + j] + batch.length[first + j]);
  });
  return { advantages, returns, setScore: count ? scoreSum / count : NaN, diversity: count ? divSum / count : NaN };
}

/** The grid-world env stack: no normalisation (continuations restore snapshots). */
function envOptions(env: string): EnvStackOptions {
  return { env, normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: 0.99 };
}

function successPredicate(c: PolychromicConfig): SuccessPredicate {
  if (c.success === "goal") return goalReached;
  const threshold = registry.get(c.env)?.rewardThreshold;
  if (threshold === undefined) throw new ConfigError(`success threshold: ${c.env} has no reward threshold registered`, "use --set success=goal, or register the env with a rewardThreshold");
  return returnAtLeast(threshold);
}

/** Start-up checks: the options fit together, the diversity exists, the env has snapshots. */
export function validatePolychromic(c: PolychromicConfig): void {
  if (c.setSize > c.numVines) throw new ConfigError(`setSize = ${c.setSize} is more than numVines = ${c.numVines}`, "set setSize to at most numVines: a set is drawn from one vine state's continuations");
  getDiversity(c.diversity);
  successPredicate(c);
  const env = make(c.env);
  env.close();
}

export class PolychromicPPO implements Algorithm {
  readonly name = "polychromic";
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  private readonly collector: VineCollector;
  private readonly diversity: DiversityFn;
  private rng: Rng;
  private iterationsDone = 0;
  private stepCount = 0;
  private episodes: { return: number; length: number }[] = [];
  private hooks: RolloutHooks = {};

  private constructor(readonly config: PolychromicConfig) {
    const c = config;
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.rng = root.split();
    const probe = makeTrainingEnv(envOptions(c.env), false);
    const spaces = { observationSpace: probe.observationSpace, actionSpace: probe.actionSpace };
    probe.close();
    this.policy = new ActorCritic({ ...spaces, hidden: c.hidden, activation: c.activation, initLogStd: c.initLogStd, orthoInit: c.orthoInit, rng: initRng });
    this.optimizer = new Adam(this.policy.trainableVariables(), { learningRate: c.learningRate, epsilon: 1e-5 });
    this.diversity = getDiversity(c.diversity);
    this.collector = new VineCollector(() => makeTrainingEnv(envOptions(c.env), true), this.policy, {
      numRollouts: c.numRollouts,
      vineStatesPerRollout: c.vineStatesPerRollout,
      numVines: c.numVines,
      setSize: c.setSize,
      subsetMode: c.subsetMode,
      numSubsets: c.numSubsets,
      success: successPredicate(c),
      actionMasking: c.actionMasking ?? "auto",
    });
  }

  static async create(config: PolychromicConfig): Promise<PolychromicPPO> {
    validatePolychromic(config);
    await initBackend(config.backend);
    return new PolychromicPPO(config);
  }

  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  get stepsDone(): number {
    return this.stepCount;
  }

  get stepsPerIteration(): number {
    if (this.iterationsDone > 0) return this.stepCount / this.iterationsDone;
    const c = this.config;
    return (c.numRollouts + c.numRollouts * c.vineStatesPerRollout * c.numVines / 2) * Math.min(this.collector.maxSteps, 50);
  }

  get totalIterations(): number {
    const left = this.config.totalTimesteps - this.stepCount;
    if (left <= 0) return this.iterationsDone;
    return this.iterationsDone + Math.max(1, Math.ceil(left / this.stepsPerIteration));
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const frac = 1 - Math.min(1, this.stepCount / c.totalTimesteps);
    const lr = c.annealLr ? frac * c.learningRate : c.learningRate;
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));

    const t0 = performance.now();
    const batch = this.collector.collect(this.rng);
    const baseEpisodes = Array.from({ length: batch.numRollouts }, (_, i) => ({ return: batch.returns[i], length: batch.length[i] }));
    this.hooks.onRollout?.({ steps: batch.numSteps, episodes: baseEpisodes });
    const t1 = performance.now();
    const { advantages, returns, setScore, diversity } = polychromicAdvantages(batch, this.diversity, c.gamma, c.gaeLambda);
    const stats = this.update(batch, advantages, returns, c.clipCoef);
    const t2 = performance.now();
    this.policy.syncFastWeights();
    this.iterationsDone++;
    this.stepCount += batch.numSteps;
    this.episodes.push(...baseEpisodes);
    const vines = batch.summaries.slice(batch.numRollouts);
    return {
      learningRate: lr,
      ...stats,
      setScore,
      diversity,
      vineSuccess: vines.length ? vines.filter((t) => t.success).length / vines.length : NaN,
      explainedVariance: explainedVariance(batch.values, returns),
      iterationSteps: batch.numSteps,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  /** PPO's minibatch epochs over every step of the batch (see ppo.ts). */
  private update(vine: VineBatch, advantages: Float32Array, returns: Float32Array, clip: number): IterationMetrics {
    const c = this.config;
    const n = vine.numSteps;
    const batch: RolloutBatch = { ...vine, numEnvs: 1, lastValues: new Float32Array(1), episodes: [] };
    // With masking the batch carries each step's mask (vine.actionMasks), which gather copies.
    const mb = new Minibatch(Math.max(1, Math.floor(n / c.numMinibatches)), vine.obsSize, vine.actSize, vine.discrete, this.collector.maskWidth);
    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0 };
    let count = 0, epochs = 0;
    for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
      const perm = this.rng.permutation(n);
      let lastKl = 0;
      for (let start = 0; start + mb.size <= n; start += mb.size) {
        mb.gather(batch, advantages, returns, perm, start);
        const adv = c.normAdv ? normalizeAdvantages(mb.advantages) : mb.advantages;
        const s = this.minibatchStep(mb, adv, clip);
        for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += s[k];
        lastKl = s.approxKl;
        count++;
      }
      epochs++;
      if (c.targetKl !== null && lastKl > c.targetKl) break;
    }
    const mean = (x: number) => (count ? x / count : 0);
    return { policyLoss: mean(sums.policyLoss), valueLoss: mean(sums.valueLoss), entropy: mean(sums.entropy), approxKl: mean(sums.approxKl), clipFraction: mean(sums.clipFraction), gradNorm: mean(sums.gradNorm), epochs };
  }

  /** One Adam step on PPO's loss, computed in typed arrays and backpropagated by hand (PPO's manualStep). */
  private minibatchStep(mb: Minibatch, adv: Float32Array, clip: number) {
    return tf.tidy(() => {
      const fwd = this.policy.forwardForLoss(mb.obs, mb.actions, mb.size, mb.masks);
      const loss = ppoLossGradients(fwd, mb, adv, clip, this.config);
      const grads = this.policy.backwardForLoss(fwd, loss.dLogProb, loss.dEntropy, loss.dValue);
      return { ...loss.stats, gradNorm: this.optimizer.applyGradients(grads, this.config.maxGradNorm) };
    });
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  actingPolicy(seed: number): ActingPolicy {
    return policyActor(this.policy, new Rng(seed), this.collector.masking);
  }

  makeEvalEnv(): Env<unknown, unknown> {
    return makeTrainingEnv(envOptions(this.config.env), false);
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "policy/", this.policy.getWeights());
    const adam = putAdam(arrays, "adam", this.optimizer.getState());
    return { json: { iteration: this.iterationsDone, steps: this.stepCount, rng: this.rng.getState(), adam }, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    this.policy.setWeights(prefixed(arrays, "policy/"));
    this.optimizer.setState(takeAdam(json, arrays, "adam"));
    this.rng = Rng.fromState(json.rng as RngState);
    this.iterationsDone = json.iteration as number;
    this.stepCount = json.steps as number;
    this.policy.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: { ...this.policy.spec, actionMasking: this.collector.masking, env: this.config.env, obsNorm: null, clipObs: null }, weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }

  dispose(): void {
    this.collector.close();
    this.policy.dispose();
    this.optimizer.dispose();
  }
}

