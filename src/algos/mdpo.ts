/**
 * MDPO — Mirror Descent Policy Optimization, on-policy variant (Tomar et al. 2020;
 * docs/methods.md §4, VERIFIED against `mdpo_on/mdpo.py`), composed from refinery's parts:
 *
 *   StepCollector (numEnvs × numSteps)  →  gae(γ, λ)  →  Â = (A − mean)/std over the batch (population std)
 *   π_θk = the policy that collected the batch, frozen: its log-probs and distribution
 *          parameters on the batch's states are stored before the first step
 *   t_k = mdpoStepSize(k, K, stepSchedule),  K = totalTimesteps / (numEnvs·numSteps); the authors'
 *          schedule (default) starts one iteration early: t_1 = 1 + 1/K, final KL weight ≈ K/2
 *   sgdSteps × (full batch):  L = −mean(ρ·Â) + (1/t_k)·mean(KL(π_θ(·|s) ‖ π_θk(·|s))) [− entCoef·mean H]
 *                             ρ = π_θ(a|s)/π_θk(a|s); Adam, global grad-norm clip
 *   critic: vfIters epochs of minibatch clipped value loss on the GAE returns, its own Adam; as the
 *           authors code it (criticUpdate "authors"): mean squared error without the ½, no
 *           gradient clipping, a last partial minibatch dropped ("cleanrl": ½, clipped, kept)
 *
 * Freezing π_θk as its outputs on the batch is the same as keeping a copy of its weights:
 * the KL and ratio only ever evaluate it on these states. KL is the closed form (categorical
 * or diagonal Gaussian). Defaults are the authors' (lr 3e-4 constant, 10 SGD steps, batch
 * 2048, vf_iters 5, critic minibatch 128, value clip 0.2, GAE 0.99/0.95, no entropy bonus)
 * except where tuned on CartPole-v1: the budget.
 */
import { MAX_SEED } from "../core/config.js";
import * as tf from "#tfjs-core";
import { z } from "zod";
import { gae } from "../advantage/gae.js";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { initBackend } from "../core/backend.js";
import { Rng, type RngState } from "../core/rng.js";
import type { Env } from "../envs/env.js";
import { freshResetSeed, needsFreshReset, type EnvState } from "../envs/state.js";
import type { VectorEnv } from "../envs/vector.js";
import { approxKl } from "../loss/kl.js";
import { categoricalKl, gaussianKl, mdpoLoss, mdpoRatioAdvantage, mdpoStepSize } from "../loss/mdpo.js";
import { DiagGaussian } from "../nn/distributions.js";
import { Adam, type AdamState } from "../nn/optim.js";
import { ActorCritic } from "../policies/actor_critic.js";
import { StepCollector } from "../rollout/step_collector.js";
import { createTrainingVecEnv, makeTrainingEnv, type EnvStackOptions } from "./env_stack.js";
import { networkShape, runShape } from "./group_config.js";
import { actorForward, actorReadout, actorVariables, fitCritic, maskTensor, meanStd, stepTensors } from "./policy_tools.js";
import { policyActor } from "./ppo.js";
import type { ActingPolicy, Algorithm, AlgorithmPreset, IterationMetrics, RolloutHooks } from "./types.js";

export const mdpoConfigSchema = z
  .object({
    env: z.string().min(1).describe("environment id (refinery list)"),
    seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, actions, envs"),
    totalTimesteps: z.number().int().positive().describe("env steps to train for (all envs together); also sets K of t_k"),
    numEnvs: z.number().int().positive().describe("parallel envs in the vector env"),
    numSteps: z.number().int().positive().describe("steps per env per rollout (numEnvs·numSteps = timesteps_per_batch)"),
    vectorEnv: z
      .enum(["sync", "async"])
      .describe("where the training envs run: sync (this thread) or async (worker threads, same results; pays off for slow envs)"),
    workers: z.number().int().positive().describe("with vectorEnv=async: worker threads the envs are split over"),
    learningRate: z.number().positive().describe("Adam learning rate of the policy (constant, eps 1e-5)"),
    sgdSteps: z.number().int().positive().describe("m: full-batch SGD steps on the KL-regularised objective per iteration"),
    gamma: z.number().min(0).max(1).describe("discount factor γ"),
    gaeLambda: z.number().min(0).max(1).describe("GAE λ"),
    entCoef: z.number().min(0).describe("entropy bonus coefficient"),
    maxGradNorm: z.number().positive().describe("global gradient-norm clip of each policy step (and critic step with criticUpdate cleanrl)"),
    bootstrapTruncated: z.boolean().describe("bootstrap time-limit truncations from V(final obs); false treats them as terminal"),
    valueLearningRate: z.number().positive().describe("Adam learning rate of the critic"),
    vfIters: z.number().int().positive().describe("epochs of critic regression per iteration"),
    valueMinibatchSize: z.number().int().positive().describe("steps per critic minibatch"),
    valueClip: z.number().positive().nullable().describe("clip V around the rollout's values by this much (null: plain squared error)"),
    stepSchedule: z
      .enum(["authors", "paper"])
      .describe("t_k's decay: authors (their code: starts one iteration early, t_1 = 1 + 1/K, final KL weight ≈ K/2) or paper (t_1 = 1, final weight K)"),
    criticUpdate: z
      .enum(["authors", "cleanrl"])
      .describe("critic step: authors (mean squared error without ½, no gradient clip, last partial minibatch dropped) or cleanrl (½·MSE, clipped at maxGradNorm, partial minibatch kept)"),
    ...networkShape,
    ...runShape,
  })
  .strict();

export type MDPOConfig = z.infer<typeof mdpoConfigSchema>;

export const MDPO_DEFAULTS: MDPOConfig = {
  env: "CartPole-v1",
  seed: 1,
  totalTimesteps: 150_000,
  numEnvs: 1,
  vectorEnv: "sync",
  workers: 2,
  numSteps: 2048,
  learningRate: 3e-4,
  sgdSteps: 10,
  gamma: 0.99,
  gaeLambda: 0.95,
  entCoef: 0,
  maxGradNorm: 0.5,
  bootstrapTruncated: true,
  valueLearningRate: 3e-4,
  vfIters: 5,
  valueMinibatchSize: 128,
  valueClip: 0.2,
  stepSchedule: "authors",
  criticUpdate: "authors",
  hidden: [64, 64],
  activation: "tanh",
  initLogStd: 0,
  features: "flat",
  actionMasking: "auto",
  backend: "wasm",
  evalEvery: 0,
  evalEpisodes: 10,
  evalDeterministic: true,
  checkpointEvery: 0,
  checkpointSeconds: 60,
};

/** None yet: the defaults are the authors' on-policy ones (mdpo_on). */
export const MDPO_PRESETS: AlgorithmPreset[] = [];

function envOptions(c: MDPOConfig): EnvStackOptions {
  return { env: c.env, normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: c.gamma, features: c.features };
}

/** The frozen π_θk on one batch: what the KL and the ratio compare against. */
interface OldPolicy {
  logProbs: Float32Array;
  /** Logits or Gaussian means per step, row-major. */
  params: Float32Array;
  /** The Gaussian's log-std (Box actions). */
  logStd: Float32Array | null;
}

export class MDPO implements Algorithm {
  readonly name = "mdpo";
  readonly stepsPerIteration: number;
  readonly totalIterations: number;
  /** K of t_k = 1 − (k − 1)/K: iterations the budget allows, not rounded. */
  readonly kTotal: number;
  readonly vec: VectorEnv;
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  readonly criticOptimizer: Adam;
  private readonly collector: StepCollector;
  private rng: Rng;
  private iterationsDone = 0;
  private episodes: { return: number; length: number }[] = [];

  private constructor(readonly config: MDPOConfig, vec: VectorEnv) {
    const c = config;
    this.stepsPerIteration = c.numEnvs * c.numSteps;
    this.kTotal = c.totalTimesteps / this.stepsPerIteration;
    this.totalIterations = Math.max(1, Math.floor(this.kTotal));
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.rng = root.split();
    this.vec = vec;
    this.policy = new ActorCritic({
      observationSpace: this.vec.singleObservationSpace,
      actionSpace: this.vec.singleActionSpace,
      hidden: c.hidden,
      activation: c.activation,
      initLogStd: c.initLogStd,
      features: c.features ?? "flat",
      rng: initRng,
    });
    this.optimizer = new Adam(actorVariables(this.policy), { learningRate: c.learningRate, epsilon: 1e-5 });
    this.criticOptimizer = new Adam(this.policy.critic.variables, { learningRate: c.valueLearningRate, epsilon: 1e-5 });
    this.collector = new StepCollector(this.vec, this.policy, c.numSteps, c.gamma, c.bootstrapTruncated, -1, c.actionMasking ?? "auto");
    this.collector.reset(c.seed);
  }

  static async create(config: MDPOConfig): Promise<MDPO> {
    await initBackend(config.backend);
    const vec = await createTrainingVecEnv(envOptions(config), config.numEnvs, config);
    try {
      return new MDPO(config, vec);
    } catch (e) {
      vec.close();
      throw e;
    }
  }

  private hooks: RolloutHooks = {};

  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
    this.collector.onStep = hooks.onStep ?? null;
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  iterate(): IterationMetrics {
    const c = this.config;
    // A budget shorter than one batch still runs its one iteration, as K = 1 (t = 1, or 2 on the authors' schedule).
    const tk = mdpoStepSize(this.iterationsDone + 1, Math.max(this.kTotal, this.iterationsDone + 1), c.stepSchedule);
    const t0 = performance.now();
    const batch = this.collector.collect(this.rng);
    this.hooks.onRollout?.({ steps: batch.numSteps * batch.numEnvs, episodes: batch.episodes });
    const t1 = performance.now();
    const n = batch.numSteps * batch.numEnvs;
    const { advantages, returns } = gae({ ...batch, gamma: c.gamma, lambda: c.gaeLambda });
    const adv = normalizeAdvantages(advantages, 1e-8, "population");
    const masks = this.collector.masking ? (batch.actionMasks ?? null) : null;
    const old = this.freezeOldPolicy(batch.obs, batch.actions, batch.logProbs, n, masks);

    let stats = { policyLoss: 0, kl: 0, entropy: 0, approxKl: 0, gradNorm: 0 };
    for (let m = 0; m < c.sgdSteps; m++) stats = this.policyStep(batch.obs, batch.actions, adv, old, n, tk, masks);
    const valueLoss = fitCritic(
      this.policy,
      this.criticOptimizer,
      { obs: batch.obs, targets: returns, oldValues: batch.values },
      c.criticUpdate === "authors"
        ? { epochs: c.vfIters, minibatchSize: c.valueMinibatchSize, clip: c.valueClip, maxGradNorm: null, lossScale: 1, dropLast: true }
        : { epochs: c.vfIters, minibatchSize: c.valueMinibatchSize, clip: c.valueClip, maxGradNorm: c.maxGradNorm },
      this.rng,
    );
    const t2 = performance.now();
    this.policy.syncFastWeights();
    this.iterationsDone++;
    this.episodes.push(...batch.episodes);
    const advStats = meanStd(advantages);
    return {
      stepSize: tk,
      klWeight: 1 / tk,
      // The last SGD step's numbers: where the iteration ended up relative to π_θk.
      ...stats,
      valueLoss,
      advantageMean: advStats.mean,
      advantageStd: advStats.std,
      zeroVarianceGroups: NaN, // no groups: the step collector runs continuing episodes
      selectedFraction: 1,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  /** π_θk's log-probs (as collected) and its distribution parameters on the batch's states. */
  private freezeOldPolicy(obs: Float32Array, actions: Int32Array | Float32Array, logProbs: Float32Array, n: number, masks: Uint8Array | null): OldPolicy {
    const { params } = actorReadout(this.policy, obs, actions, n, masks);
    const dist = this.policy.dist;
    const logStd = dist instanceof DiagGaussian ? Float32Array.from(dist.logStd.dataSync()) : null;
    return { logProbs, params, logStd };
  }

  /** One full-batch step on −mean(ρÂ) + (1/t_k)·mean(KL(π_θ‖π_θk)) − entCoef·mean(H). */
  private policyStep(obs: Float32Array, actions: Int32Array | Float32Array, adv: Float32Array, old: OldPolicy, n: number, tk: number, masks: Uint8Array | null) {
    const c = this.config;
    let diag: tf.Tensor | null = null;
    const { gradNorm } = this.optimizer.minimize(() => {
      const t = stepTensors(this.policy, obs, actions, n);
      const { params, logProb, entropy } = actorForward(this.policy, t.obs, t.actions, maskTensor(masks, n));
      const oldLogProb = tf.tensor1d(old.logProbs);
      const oldParams = tf.tensor2d(old.params, params.shape);
      const dist = this.policy.dist;
      const kl =
        dist instanceof DiagGaussian
          ? gaussianKl(params, dist.logStd, oldParams, tf.tensor1d(old.logStd as Float32Array))
          : categoricalKl(params, oldParams);
      const ratioAdv = mdpoRatioAdvantage(logProb, oldLogProb, tf.tensor1d(adv));
      const meanEntropy = tf.mean(entropy);
      diag = tf.keep(tf.stack([tf.neg(tf.mean(ratioAdv)), tf.mean(kl), meanEntropy, approxKl(logProb, oldLogProb)]));
      const loss = mdpoLoss(ratioAdv, kl, tk);
      return c.entCoef > 0 ? (tf.sub(loss, tf.mul(meanEntropy, c.entCoef)) as tf.Scalar) : loss;
    }, c.maxGradNorm);
    const d = (diag as unknown as tf.Tensor).dataSync();
    (diag as unknown as tf.Tensor).dispose();
    // No clip fraction: MDPO has no clip range to count against (the KL term is its trust region).
    return { policyLoss: d[0], kl: d[1], entropy: d[2], approxKl: d[3], gradNorm };
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
    return makeTrainingEnv(envOptions(this.config), false);
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const adam = this.optimizer.getState();
    const critic = this.criticOptimizer.getState();
    const arrays: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.policy.getWeights())) arrays[`policy/${k}`] = v;
    arrays["adam/m"] = adam.m;
    arrays["adam/v"] = adam.v;
    arrays["criticAdam/m"] = critic.m;
    arrays["criticAdam/v"] = critic.v;
    const obs = this.collector.currentObs;
    if (obs) arrays["collector/obs"] = obs;
    const masks = this.collector.currentMasks;
    if (masks) arrays["collector/masks"] = Float32Array.from(masks);
    return {
      json: {
        iteration: this.iterationsDone,
        rng: this.rng.getState(),
        adam: { step: adam.step, learningRate: adam.learningRate },
        criticAdam: { step: critic.step, learningRate: critic.learningRate },
        envs: this.vec.getEnvStates(),
      },
      arrays,
    };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(arrays)) if (k.startsWith("policy/")) weights[k.slice(7)] = v;
    this.policy.setWeights(weights);
    this.optimizer.setState({ ...(json.adam as object), m: arrays["adam/m"], v: arrays["adam/v"] } as AdamState);
    this.criticOptimizer.setState({ ...(json.criticAdam as object), m: arrays["criticAdam/m"], v: arrays["criticAdam/v"] } as AdamState);
    this.rng = Rng.fromState(json.rng as RngState);
    const envs = json.envs as EnvState[];
    this.vec.setEnvStates(envs);
    this.iterationsDone = json.iteration as number;
    if (needsFreshReset(envs)) {
      // Envs without snapshots cannot be put back mid-episode: they start new episodes from a
      // reset seeded by the run's seed and the iteration, so a resume is still reproducible.
      this.collector.reset(freshResetSeed(this.config.seed, this.iterationsDone, this.vec.numEnvs));
    } else {
      this.vec.markReset();
      this.collector.currentObs = arrays["collector/obs"] ?? null;
      const masks = arrays["collector/masks"];
      this.collector.currentMasks = masks ? Uint8Array.from(masks) : null;
    }
    this.policy.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: { ...this.policy.spec, actionMasking: this.collector.masking, env: this.config.env, obsNorm: null, clipObs: null }, weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }

  dispose(): void {
    this.vec.close();
    this.policy.dispose();
    this.optimizer.dispose();
    this.criticOptimizer.dispose();
  }
}

export function createMdpo(config: MDPOConfig): Promise<MDPO> {
  return MDPO.create(config);
}
