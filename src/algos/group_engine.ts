/**
 * The engine behind the critic-free group algorithms (grpo, rloo, reinforce, epo). Each named
 * algorithm is a `GroupRecipe` — which advantage, which objective, which extra terms — and
 * this class runs it:
 *
 *   GroupCollector (B starts × G episodes)  →  recipe.advantages  →  [D³S selection]
 *   → for μ epochs, for minibatches of whole episodes:
 *       ℓ_t = surrogate_t (clipped ratio, or −A·logπ)  + β·KL_t(π_θ‖π_ref)  − entCoef·H_t
 *       L   = aggregate(ℓ laid out [episodes, maxLen] with a mask, grpo|bnpo|dr_grpo)
 *             [+ EPO's entropy term]
 *       Adam step on the actor (global grad-norm clip)
 *   → [critic regression on value targets, when the recipe uses a baseline]
 *
 * Iterations consume whole episodes, so their size in env steps varies; training stops at the
 * first iteration boundary at or past `totalTimesteps`, and every schedule (learning rate,
 * D³S keep ratio, EPO phase weight) is a function of progress = steps done / totalTimesteps.
 */
import * as tf from "#tfjs-core";
import { zeroVarianceGroupFraction } from "../advantage/group.js";
import { checkCheckpointBackend, initBackend, resolveRunBackend, type RunBackend } from "../core/backend.js";
import { setGemmThreads, simdKernelsAvailable } from "../nn/kernels/simd.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import type { ActionMaskingMode } from "../envs/action_mask.js";
import { hasSnapshots, type Env } from "../envs/env.js";
import { make } from "../envs/registry.js";
import { aggregate, type AggregationMode } from "../loss/aggregate.js";
import { weightedSum, type WeightedTerm } from "../loss/combine.js";
import { EntropyHistory, epoBandStats, epoEntropyLoss, epoPhaseWeight, epoSmoothingApplies, type EntropyHistoryState, type SmoothingMode } from "../loss/epo.js";
import { approxKl, clipFraction, klK1, klK3 } from "../loss/kl.js";
import { clippedSurrogate, policyGradient } from "../loss/surrogate.js";
import { Adam } from "../nn/optim.js";
import { ActorCritic } from "../policies/actor_critic.js";
import { GroupCollector, type GroupBatch } from "../rollout/group_collector.js";
import { makeTrainingEnv, type EnvStackOptions } from "./env_stack.js";
import type { GroupCommonConfig } from "./group_config.js";
import { actorForward, actorReadout, actorVariables, fitCritic, maskTensor, meanStd, stepTensors } from "./policy_tools.js";
import { policyActor } from "./ppo.js";
import { applyD3s } from "./selection.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, Algorithm, IterationMetrics, RolloutHooks } from "./types.js";

/** What an advantage function may ask of the engine. */
export interface AdvantageContext {
  /** V(obs) of the critic for `n` row-major observations. */
  values(obs: Float32Array, n: number): Float32Array;
}

/** Per-step advantages and, for a learned baseline, the critic's regression targets. */
export interface StepAdvantages {
  advantages: Float32Array;
  valueTargets?: Float32Array;
}

export interface KlSettings {
  beta: number;
  estimator: "k1" | "k3";
  refUpdateEvery: number;
}

/** EPO's entropy regularisation (docs/methods.md §5) in control terms (see epo.ts). */
export interface EpoSettings {
  entropyCoef: number;
  smoothCoef: number;
  kappaLow: number;
  kappaHigh: number;
  penalty: number;
  smoothing: SmoothingMode;
  turns: number;
  phaseWeights: boolean;
}

export interface CriticSettings {
  learningRate: number;
  epochs: number;
  minibatchSize: number;
}

/** A named group algorithm, as the engine runs it. */
export interface GroupRecipe {
  name: string;
  config: GroupCommonConfig;
  advantages(batch: GroupBatch, ctx: AdvantageContext): StepAdvantages;
  /** `clip`: PPO's clipped surrogate against the behaviour policy; `pg`: plain −A·logπ. */
  objective: "clip" | "pg";
  /** The clip range (objective clip); for `pg` only the range the clipFraction diagnostic counts. */
  clipLow: number;
  clipHigh: number;
  updateEpochs: number;
  numMinibatches: number;
  lossAggregation: AggregationMode;
  entCoef: number;
  kl: KlSettings | null;
  epo: EpoSettings | null;
  /** A learned baseline: the collector records V(s), and the critic is fitted after each update. */
  critic: CriticSettings | null;
}

/** The env stack of the group algorithms: no observation or reward normalisation (groups restore snapshots). */
function envOptions(env: string, features?: "flat" | "grid"): EnvStackOptions {
  return { env, normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: 0.99, features };
}

/**
 * Start-up checks every group algorithm shares, so an impossible run fails before anything is
 * built: the env must have snapshots and a bounded episode length, and a minibatch needs at
 * least one episode.
 */
export function checkGroupConfig(name: string, c: GroupCommonConfig, numMinibatches: number): void {
  const env = make(c.env);
  try {
    if (!hasSnapshots(env)) {
      throw new ConfigError(
        `${name} runs groups of episodes from env snapshots, but ${c.env} has no getState/setState`,
        "use ppo or mdpo (step collector) for this env, or implement getState/setState on env.unwrapped (see Snapshotable)",
        "no_snapshots",
      );
    }
    if (c.maxEpisodeSteps === null && env.spec?.maxEpisodeSteps === undefined) {
      throw new ConfigError(`${c.env} has no time limit, so ${name}'s episodes might never end`, "set maxEpisodeSteps (e.g. --set maxEpisodeSteps=500)");
    }
  } finally {
    env.close();
  }
  const episodes = c.numStarts * c.groupSize;
  if (numMinibatches > episodes) {
    throw new ConfigError(
      `numMinibatches = ${numMinibatches} is more than the ${episodes} episodes of an iteration (numStarts × groupSize), and a minibatch holds whole episodes`,
      `set numMinibatches to at most ${episodes}, or raise numStarts or groupSize`,
    );
  }
}

/**
 * The group algorithms' `backend` as a run uses it (default `wasm`). `kernels` runs the
 * actor's forward and backward on refinery's WebAssembly SIMD kernels; it needs WebAssembly
 * SIMD and flat features, and says so when either is missing. It is not the default: at the
 * group algorithms' minibatches (~1000 steps of a 64-64 MLP) it measured no faster than
 * tfjs-wasm (docs/training.md).
 */
export function resolveGroupBackend(config: Pick<GroupCommonConfig, "backend" | "features">): RunBackend {
  const backend = resolveRunBackend(config.backend as GroupCommonConfig["backend"] | undefined, simdKernelsAvailable(), ActorCritic.kernelGradientsFor(config.features));
  if (backend === "kernels" && !ActorCritic.kernelGradientsFor(config.features)) {
    throw new ConfigError("backend kernels has no gradients for grid features' embeddings", "use backend wasm with features grid", "kernels_no_features");
  }
  if (backend === "kernels" && !simdKernelsAvailable()) {
    throw new ConfigError("backend kernels needs WebAssembly SIMD, which this runtime lacks", "use backend wasm (Node ≥ 16.4 and current browsers have SIMD)", "kernels_unavailable");
  }
  return backend;
}

/** EPO's epochs E of the phase weight w(e): progress is mapped onto e ∈ [0, E]. */
const EPO_PHASE_EPOCHS = 100;

export class GroupPolicyOptimizer implements Algorithm {
  readonly name: string;
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  private readonly criticOptimizer: Adam | null;
  private readonly reference: ActorCritic | null;
  private readonly collector: GroupCollector;
  private readonly history: EntropyHistory | null;
  /** The config with its backend resolved (never "auto"). */
  readonly config: GroupCommonConfig & { backend: RunBackend };
  /** The backend the recipe asked for (the group algorithms have no "auto": an explicit backend continues any checkpoint). */
  readonly requestedBackend: GroupCommonConfig["backend"];
  private rng: Rng;
  private iterationsDone = 0;
  private stepCount = 0;
  private episodes: { return: number; length: number }[] = [];

  private constructor(
    readonly recipe: GroupRecipe,
    requestedBackend: GroupCommonConfig["backend"],
  ) {
    const c = recipe.config as GroupCommonConfig & { backend: RunBackend };
    this.name = recipe.name;
    this.config = c;
    this.requestedBackend = requestedBackend;
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.rng = root.split();
    const probe = makeTrainingEnv(envOptions(c.env, c.features), false);
    const spaces = { observationSpace: probe.observationSpace, actionSpace: probe.actionSpace };
    probe.close();
    const net = { ...spaces, hidden: c.hidden, activation: c.activation, initLogStd: c.initLogStd, features: c.features ?? "flat" };
    this.policy = new ActorCritic({ ...net, rng: initRng });
    this.optimizer = new Adam(actorVariables(this.policy), { learningRate: c.learningRate, epsilon: 1e-5 });
    this.criticOptimizer = recipe.critic ? new Adam(this.policy.critic.variables, { learningRate: recipe.critic.learningRate, epsilon: 1e-5 }) : null;
    this.reference = null;
    if (recipe.kl) {
      // Its initial weights are overwritten at once: the reference starts as the initial policy.
      this.reference = new ActorCritic({ ...net, rng: new Rng(0) });
      this.reference.setWeights(this.policy.getWeights());
    }
    this.history = recipe.epo ? new EntropyHistory(recipe.epo.turns) : null;
    this.collector = new GroupCollector(() => makeTrainingEnv(envOptions(c.env, c.features), true), this.policy, c.groupSize, c.numStarts, {
      startState: c.startState as "reset" | "reset+random-steps",
      randomSteps: c.randomSteps,
      ...(c.maxEpisodeSteps === null ? {} : { maxSteps: c.maxEpisodeSteps }),
      recordValues: recipe.critic !== null,
      actionMasking: (c.actionMasking ?? "auto") as ActionMaskingMode,
    });
  }

  /** Use `await GroupPolicyOptimizer.create(recipe)`: the tensor backend must be ready before networks exist. */
  static async create(recipe: GroupRecipe): Promise<GroupPolicyOptimizer> {
    const backend = resolveGroupBackend(recipe.config);
    // With the kernels, tfjs only stores the weights and computes the small loss terms: its light cpu backend does.
    await initBackend(backend === "kernels" ? "cpu" : backend);
    if (backend === "kernels") setGemmThreads(recipe.config.kernelThreads ?? "auto");
    return new GroupPolicyOptimizer({ ...recipe, config: { ...recipe.config, backend } }, recipe.config.backend);
  }

  /** Whether the actor's updates and read-outs run on refinery's kernels. */
  private get onKernels(): boolean {
    return this.config.backend === "kernels";
  }

  /** log π and H of a batch's actions under `policy`'s actor, on the run's backend. */
  private readout(policy: ActorCritic, obs: Float32Array, actions: Int32Array | Float32Array, n: number, masks?: Uint8Array | null): { logProb: Float32Array; entropy: Float32Array } {
    if (!this.onKernels || n === 0) return actorReadout(policy, obs, actions, n, masks);
    return policy.forwardActorKernels(obs, actions, n, masks);
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  private hooks: RolloutHooks = {};
  private batchSource: (() => GroupBatch) | null = null;

  /**
   * Where the next iterations get their group batch: null (default) collects here; a source
   * (a remote learner's, whose actors collected it) replaces the collector, nothing else.
   */
  setBatchSource(source: (() => GroupBatch) | null): void {
    this.batchSource = source;
  }

  /** One group batch from this engine's collector and generator, as an iteration would collect it (remote actors call this). */
  collectBatch(): GroupBatch {
    return this.collector.collect(this.rng);
  }

  /** Group rollouts run whole episodes from snapshots, so only onRollout is called (no onStep). */
  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  /** Env steps consumed so far (iterations differ in size, so this is not iteration × a constant). */
  get stepsDone(): number {
    return this.stepCount;
  }

  /** The mean size of the iterations so far (so iteration × stepsPerIteration = steps done); a guess before the first. */
  get stepsPerIteration(): number {
    if (this.iterationsDone > 0) return this.stepCount / this.iterationsDone;
    return this.collector.numStarts * this.collector.groupSize * Math.min(this.collector.maxSteps, 50);
  }

  /** Iterations done plus the estimated number left; equals `iteration` once the budget is spent. */
  get totalIterations(): number {
    const left = this.config.totalTimesteps - this.stepCount;
    if (left <= 0) return this.iterationsDone;
    return this.iterationsDone + Math.max(1, Math.ceil(left / this.stepsPerIteration));
  }

  /** Fraction of the step budget used, in [0, 1]. */
  get progress(): number {
    return Math.min(1, this.stepCount / this.config.totalTimesteps);
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const r = this.recipe;
    const progress = this.progress;
    const lr = c.annealLr ? c.learningRate * (1 - progress) : c.learningRate;
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));
    this.refreshReference();

    const t0 = performance.now();
    const full = this.batchSource ? this.batchSource() : this.collector.collect(this.rng);
    this.hooks.onRollout?.({ steps: full.numSteps, episodes: Array.from(full.episodeReturn, (r, i) => ({ return: r, length: full.episodeLength[i] })) });
    const t1 = performance.now();
    const ctx: AdvantageContext = { values: (obs, n) => this.policy.values(obs, n, new Float32Array(n)) };
    const { advantages, valueTargets } = r.advantages(full, ctx);
    const needEntropy = c.selection === "d3s" || this.history !== null;
    const entropy = needEntropy ? this.readout(this.policy, full.obs, full.actions, full.numSteps, full.actionMasks).entropy : null;
    if (this.history && entropy) this.history.append(perTurnEntropy(full, entropy, this.turnIndex(full), this.history.turns));

    let batch = full;
    let adv = advantages;
    let stepKeep: Uint8Array | null = null;
    let keepRatio = 1;
    let groupKeep = full.groupSize;
    if (c.selection === "d3s" && entropy) {
      const sel = applyD3s(full, advantages, entropy, progress, c.d3s, (subset) => r.advantages(subset, ctx).advantages);
      ({ batch, advantages: adv, stepKeep, keepRatio, groupKeep } = sel);
    }
    const kept = stepKeep ? stepKeep.reduce((s, k) => s + k, 0) : batch.numSteps;
    const refLogProbs = this.reference ? this.readout(this.reference, batch.obs, batch.actions, batch.numSteps, batch.actionMasks).logProb : null;
    const stats = this.update(batch, adv, stepKeep, refLogProbs, progress);

    let valueLoss: number | undefined;
    if (r.critic && this.criticOptimizer && valueTargets) {
      valueLoss = fitCritic(
        this.policy,
        this.criticOptimizer,
        { obs: full.obs, targets: valueTargets },
        { epochs: r.critic.epochs, minibatchSize: r.critic.minibatchSize, clip: null, maxGradNorm: c.maxGradNorm },
        this.rng,
      );
    }
    const t2 = performance.now();
    this.policy.syncFastWeights();
    this.iterationsDone++;
    this.stepCount += full.numSteps;
    for (let e = 0; e < full.numEpisodes; e++) this.episodes.push({ return: full.episodeReturn[e], length: full.episodeLength[e] });

    const advStats = meanStd(advantages);
    return {
      learningRate: lr,
      ...stats,
      ...(valueLoss === undefined ? {} : { valueLoss }),
      advantageMean: advStats.mean,
      advantageStd: advStats.std,
      // One-episode groups have no spread to measure (REINFORCE's default G = 1).
      zeroVarianceGroups: full.groupSize > 1 ? zeroVarianceGroupFraction(full.episodeReturn, full.episodeGroup) : NaN,
      selectedFraction: full.numSteps ? kept / full.numSteps : 0,
      ...(c.selection === "d3s" ? { keepRatio, groupKeep } : {}),
      iterationSteps: full.numSteps,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  /** μ epochs over the batch, in minibatches of whole episodes (only their kept steps). */
  private update(batch: GroupBatch, adv: Float32Array, stepKeep: Uint8Array | null, refLogProbs: Float32Array | null, progress: number): IterationMetrics {
    const r = this.recipe;
    const n = batch.numEpisodes;
    const numMinibatches = Math.max(1, Math.min(r.numMinibatches, n));
    const turns = this.history ? this.turnIndex(batch) : null;
    const reference = this.history ? this.history.reference() : null;
    return runEpochs(r, n, numMinibatches, this.rng, (episodes) => {
      const mb = gatherMinibatch(batch, episodes, adv, stepKeep, refLogProbs, turns, reference);
      if (mb.numSteps === 0) return null;
      return this.onKernels ? this.kernelPolicyStep(mb, progress) : this.policyStep(mb, progress);
    });
  }

  /** One Adam step on a minibatch; the diagnostics are token means over its steps. */
  private policyStep(mb: Minibatch, progress: number): StepDiagnostics {
    let diag: tf.Tensor | null = null;
    const { gradNorm } = this.optimizer.minimize(() => {
      const t = stepTensors(this.policy, mb.obs, mb.actions, mb.numSteps);
      const { logProb, entropy } = actorForward(this.policy, t.obs, t.actions, maskTensor(mb.masks, mb.numSteps));
      const epo = this.recipe.epo && mb.turnReference && mb.turns ? epoTerm(this.recipe.epo, entropy, mb, progress) : null;
      const out = groupStepLoss(this.recipe, logProb, entropy, mb, this.collector.maxSteps, epo);
      diag = tf.keep(out.diagnostics);
      return out.loss;
    }, this.config.maxGradNorm);
    return readDiagnostics(diag as unknown as tf.Tensor, gradNorm);
  }

  /**
   * policyStep on refinery's kernels: the actor's forward and backward run there, and only
   * the loss's derivatives with respect to each step's log π and H (stepLossGradients, the
   * same groupStepLoss) are computed with tensors, on 1-D arrays.
   */
  private kernelPolicyStep(mb: Minibatch, progress: number): StepDiagnostics {
    const n = mb.numSteps;
    const fwd = this.policy.forwardActorKernels(mb.obs, mb.actions, n, mb.masks);
    const g = stepLossGradients(this.recipe, fwd, null, mb, this.collector.maxSteps, progress);
    const grads = this.policy.backwardActorKernels(fwd, g.dLogProbAll, g.dEntropyAll ?? new Float32Array(n));
    return readDiagnostics(g.diagnostics, this.policy.applyActorGradientsKernels(this.optimizer, grads, this.config.maxGradNorm));
  }

  /** EPO's turn of each step (see turnIndexOf). */
  private turnIndex(batch: GroupBatch): Int32Array {
    return turnIndexOf(batch, (this.recipe.epo as EpoSettings).turns, this.collector.maxSteps);
  }

  /** Resets π_ref to the current policy every refUpdateEvery iterations (0: never). */
  private refreshReference(): void {
    const kl = this.recipe.kl;
    if (!this.reference || !kl || kl.refUpdateEvery === 0) return;
    if (this.iterationsDone > 0 && this.iterationsDone % kl.refUpdateEvery === 0) this.reference.setWeights(this.policy.getWeights());
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
    return makeTrainingEnv(envOptions(this.config.env, this.config.features), false);
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "policy/", this.policy.getWeights());
    if (this.reference) putWeights(arrays, "reference/", this.reference.getWeights());
    const adam = putAdam(arrays, "adam", this.optimizer.getState());
    const critic = this.criticOptimizer ? putAdam(arrays, "criticAdam", this.criticOptimizer.getState()) : null;
    return {
      json: {
        iteration: this.iterationsDone,
        steps: this.stepCount,
        rng: this.rng.getState(),
        adam,
        backend: this.config.backend,
        ...(critic ? { criticAdam: critic } : {}),
        ...(this.history ? { entropyHistory: this.history.getState() } : {}),
      },
      arrays,
    };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    checkCheckpointBackend(this.requestedBackend, this.config.backend, json.backend);
    this.policy.setWeights(prefixed(arrays, "policy/"));
    if (this.reference) this.reference.setWeights(prefixed(arrays, "reference/"));
    this.optimizer.setState(takeAdam(json, arrays, "adam"));
    if (this.criticOptimizer) {
      if (!json.criticAdam) throw new ConfigError("the checkpoint has no critic optimiser state", "resume with the config the run was started with");
      this.criticOptimizer.setState(takeAdam(json, arrays, "criticAdam"));
    }
    if (this.history) this.history.setState(json.entropyHistory as EntropyHistoryState);
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
    this.reference?.dispose();
    this.optimizer.dispose();
    this.criticOptimizer?.dispose();
  }
}

/**
 * μ epochs of shuffled minibatches of whole episodes; `step` runs one minibatch (null: it held
 * no step) and the metrics are the means over the steps taken.
 */
export function runEpochs(
  r: Pick<GroupRecipe, "updateEpochs" | "kl" | "epo">,
  numEpisodes: number,
  numMinibatches: number,
  rng: Rng,
  step: (episodes: Int32Array) => StepDiagnostics | null,
): IterationMetrics {
  const sums: StepDiagnostics = { policyLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, klRef: 0, epoPenalty: 0, epoOutOfBand: 0, gradNorm: 0 };
  let count = 0;
  for (let epoch = 0; epoch < r.updateEpochs; epoch++) {
    const perm = rng.permutation(numEpisodes);
    for (let m = 0; m < numMinibatches; m++) {
      const episodes = perm.subarray(Math.floor((m * numEpisodes) / numMinibatches), Math.floor(((m + 1) * numEpisodes) / numMinibatches));
      const s = step(episodes);
      if (!s) continue;
      for (const k of Object.keys(sums) as (keyof StepDiagnostics)[]) sums[k] += s[k];
      count++;
    }
  }
  const mean = (x: number) => (count ? x / count : 0);
  return {
    policyLoss: mean(sums.policyLoss),
    entropy: mean(sums.entropy),
    approxKl: mean(sums.approxKl),
    clipFraction: mean(sums.clipFraction),
    ...(r.kl ? { klRef: mean(sums.klRef) } : {}),
    ...(r.epo ? { epoPenalty: mean(sums.epoPenalty), epoOutOfBand: mean(sums.epoOutOfBand) } : {}),
    gradNorm: mean(sums.gradNorm),
    policySteps: count,
  };
}


/** The kept steps of some episodes, episode-contiguous, with each episode's kept count (episodes with none left out). */
export interface Minibatch {
  numSteps: number;
  lengths: number[];
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  oldLogProbs: Float32Array;
  advantages: Float32Array;
  refLogProbs: Float32Array | null;
  turns: Int32Array | null;
  /** Ĥ of each step's turn (EPO). */
  turnReference: Float32Array | null;
  /** The batch step each minibatch step came from. */
  rows: Int32Array;
  /** The steps' action masks (the batch's width per step), null without masking. */
  masks?: Uint8Array | null;
}

export function gatherMinibatch(
  batch: GroupBatch,
  episodes: Int32Array,
  adv: Float32Array,
  stepKeep: Uint8Array | null,
  refLogProbs: Float32Array | null,
  turns: Int32Array | null,
  reference: Float32Array | null,
): Minibatch {
  const rows: number[] = [];
  const lengths: number[] = [];
  for (const e of episodes) {
    const start = batch.episodeStart[e];
    let len = 0;
    for (let t = start; t < start + batch.episodeLength[e]; t++) {
      if (stepKeep && !stepKeep[t]) continue;
      rows.push(t);
      len++;
    }
    // An episode whose steps step-level selection dropped entirely leaves the minibatch, as if
    // sample-level selection had dropped it: it does not count in B of grpo/dr_grpo aggregation,
    // so the loss does not shrink with the keep ratio. (Without selection every episode has steps.)
    if (len > 0) lengths.push(len);
  }
  const n = rows.length;
  const { obsSize, actSize } = batch;
  const obs = new Float32Array(n * obsSize);
  const actions = batch.discrete ? new Int32Array(n) : new Float32Array(n * actSize);
  rows.forEach((t, i) => {
    obs.set(batch.obs.subarray(t * obsSize, (t + 1) * obsSize), i * obsSize);
    actions.set(batch.actions.subarray(t * actSize, (t + 1) * actSize), i * actSize);
  });
  const pick = (src: Float32Array) => Float32Array.from(rows, (t) => src[t]);
  let masks: Uint8Array | null = null;
  if (batch.actionMasks) {
    const w = batch.actionMasks.length / Math.max(batch.numSteps, 1);
    masks = new Uint8Array(n * w);
    rows.forEach((t, i) => (masks as Uint8Array).set((batch.actionMasks as Uint8Array).subarray(t * w, (t + 1) * w), i * w));
  }
  const stepTurns = turns ? Int32Array.from(rows, (t) => turns[t]) : null;
  return {
    numSteps: n,
    lengths,
    obs,
    actions,
    oldLogProbs: pick(batch.logProbs),
    advantages: pick(adv),
    refLogProbs: refLogProbs ? pick(refLogProbs) : null,
    turns: stepTurns,
    turnReference: stepTurns && reference ? Float32Array.from(stepTurns, (j) => reference[j]) : null,
    rows: Int32Array.from(rows),
    masks,
  };
}

/** What one policy step reports: token means over the minibatch, and the pre-clip gradient norm. */
export interface StepDiagnostics {
  policyLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  klRef: number;
  /** EPO: the smoothing penalty P (token mean, before c_s·w) and the fraction of tokens outside the band; 0 without EPO. */
  epoPenalty: number;
  epoOutOfBand: number;
  gradNorm: number;
}

/**
 * A recipe's loss on one minibatch, from the log-probabilities and entropies of its steps
 * under π_θ (whatever network produced them: the actor-critic here, the transformer for text):
 *
 *   ℓ_t = surrogate_t (clipped ratio, or −A·logπ) + β·KL_t(π_θ‖π_ref) − entCoef·H_t
 *   L   = aggregate(ℓ laid out [episodes, maxLen] with a mask, grpo|bnpo|dr_grpo) [+ epo]
 *
 * `diagnostics` holds [mean surrogate, mean entropy, approx-KL, clip fraction, mean KL to π_ref,
 * EPO's P, EPO's out-of-band fraction].
 */
export function groupStepLoss(
  r: GroupRecipe,
  logProb: tf.Tensor1D,
  entropy: tf.Tensor1D,
  mb: Pick<Minibatch, "oldLogProbs" | "advantages" | "refLogProbs" | "lengths">,
  maxLen: number,
  epo: EpoTerm | null,
): { loss: tf.Scalar; diagnostics: tf.Tensor1D } {
  const oldLogProb = tf.tensor1d(mb.oldLogProbs);
  const adv = tf.tensor1d(mb.advantages);
  const surrogate = r.objective === "clip" ? clippedSurrogate(logProb, oldLogProb, adv, r.clipLow, r.clipHigh) : policyGradient(logProb, adv);
  let perStep: tf.Tensor1D = surrogate;
  let kl: tf.Tensor1D | null = null;
  if (r.kl && mb.refLogProbs) {
    kl = (r.kl.estimator === "k3" ? klK3 : klK1)(logProb, tf.tensor1d(mb.refLogProbs));
    perStep = tf.add(perStep, tf.mul(kl, r.kl.beta));
  }
  if (r.entCoef > 0) perStep = tf.sub(perStep, tf.mul(entropy, r.entCoef));
  const { padded, mask } = padByEpisode(perStep, mb.lengths);
  const terms: WeightedTerm[] = [{ loss: aggregate(padded, mask, r.lossAggregation, maxLen), weight: 1 }];
  if (epo) terms.push({ loss: epo.loss, weight: 1 });
  const diagnostics = tf.stack([
    tf.mean(surrogate),
    tf.mean(entropy),
    approxKl(logProb, oldLogProb),
    clipFraction(logProb, oldLogProb, r.clipLow, r.clipHigh),
    kl ? tf.mean(kl) : tf.scalar(0),
  ]) as tf.Tensor1D;
  return { loss: weightedSum(terms), diagnostics: epo ? tf.concat([diagnostics, epo.stats]) : tf.concat([diagnostics, tf.zeros([2])]) };
}

/**
 * The gradients of a recipe's loss (groupStepLoss, plus EPO's term) with respect to the
 * log-probabilities and entropies of a token forward: `out` holds every token of the forward,
 * `pick[k]` is where minibatch step k sits in it (null: step k is entry k, nothing else in
 * `out`). Tokens not picked (context, or tokens the loss leaves out) get zero gradient. Shared by the kernels step of the control engine and the
 * single- and multi-turn text engines.
 */
export function stepLossGradients(
  r: GroupRecipe,
  out: { logProb: Float32Array; entropy: Float32Array },
  pick: Int32Array | null,
  mb: Minibatch,
  maxLen: number,
  progress: number,
): { dLogProbAll: Float32Array; dEntropyAll: Float32Array | null; diagnostics: tf.Tensor } {
  const logProb = pick ? Float32Array.from(pick, (i) => out.logProb[i]) : out.logProb;
  const entropy = pick ? Float32Array.from(pick, (i) => out.entropy[i]) : out.entropy;
  const needEntropyGrad = r.entCoef > 0 || (r.epo !== null && mb.turnReference !== null);
  let diag: tf.Tensor | null = null;
  let dLogProb = new Float32Array(0);
  let dEntropy: Float32Array | null = null;
  tf.tidy(() => {
    const lossOf = (lp: tf.Tensor1D, h: tf.Tensor1D): tf.Scalar => {
      const epo = r.epo && mb.turnReference && mb.turns ? epoTerm(r.epo as EpoSettings, h, mb, progress) : null;
      const res = groupStepLoss(r, lp, h, mb, maxLen, epo);
      diag = tf.keep(res.diagnostics);
      return res.loss;
    };
    const lp = tf.tensor1d(logProb);
    const h = tf.tensor1d(entropy);
    if (needEntropyGrad) {
      const [dlp, dh] = tf.grads((a: tf.Tensor, b: tf.Tensor) => lossOf(a as tf.Tensor1D, b as tf.Tensor1D))([lp, h]);
      dLogProb = (dlp.dataSync() as Float32Array).slice();
      dEntropy = (dh.dataSync() as Float32Array).slice();
    } else {
      dLogProb = (tf.grad((a: tf.Tensor) => lossOf(a as tf.Tensor1D, h))(lp).dataSync() as Float32Array).slice();
    }
  });
  const grads = { dLogProb, dEntropy: dEntropy as Float32Array | null };
  if (!pick) return { dLogProbAll: grads.dLogProb, dEntropyAll: grads.dEntropy, diagnostics: diag as unknown as tf.Tensor };
  const dLogProbAll = new Float32Array(out.logProb.length);
  const dEntropyAll = grads.dEntropy ? new Float32Array(out.logProb.length) : null;
  pick.forEach((i, k) => {
    dLogProbAll[i] = grads.dLogProb[k];
    if (dEntropyAll && grads.dEntropy) dEntropyAll[i] = grads.dEntropy[k];
  });
  return { dLogProbAll, dEntropyAll, diagnostics: diag as unknown as tf.Tensor };
}

/** Reads (and disposes) the diagnostics tensor of groupStepLoss. */
export function readDiagnostics(diag: tf.Tensor, gradNorm: number): StepDiagnostics {
  const d = diag.dataSync();
  diag.dispose();
  return { policyLoss: d[0], entropy: d[1], approxKl: d[2], clipFraction: d[3], klRef: d[4], epoPenalty: d[5], epoOutOfBand: d[6], gradNorm };
}

/** EPO's loss term on a minibatch, and [P, out-of-band fraction] for the metrics. */
export interface EpoTerm {
  loss: tf.Scalar;
  stats: tf.Tensor1D;
}

/** EPO's −c_H·(H̄ − c_s·w·P) over the minibatch's steps, Ĥ taken at each step's turn. */
export function epoTerm(e: EpoSettings, entropy: tf.Tensor1D, mb: Pick<Minibatch, "turns" | "turnReference">, progress: number): EpoTerm {
  const reference = tf.tensor1d(mb.turnReference as Float32Array);
  const band = { kappaLow: e.kappaLow, kappaHigh: e.kappaHigh, penalty: e.penalty, mode: e.smoothing };
  const loss = epoEntropyLoss(entropy, reference, {
    entropyCoef: e.entropyCoef,
    smoothCoef: e.smoothCoef,
    kappaLow: e.kappaLow,
    kappaHigh: e.kappaHigh,
    penalty: e.penalty,
    mode: e.smoothing,
    phaseWeight: e.phaseWeights ? epoPhaseWeight(progress * EPO_PHASE_EPOCHS, EPO_PHASE_EPOCHS) : 1,
    applySmoothing: epoSmoothingApplies(mb.turns as Int32Array, e.turns),
  });
  return { loss, stats: epoBandStats(entropy, reference, band) };
}

/**
 * EPO's turn of each step, for tasks without turns: the step's time index t within its episode
 * (from the start state; for text, the token's position in the completion), bucketed so the
 * length limit spans J turns: j = ⌊t·J / maxSteps⌋.
 */
export function turnIndexOf(batch: GroupBatch, J: number, maxSteps: number): Int32Array {
  const out = new Int32Array(batch.numSteps);
  for (let e = 0; e < batch.numEpisodes; e++) {
    const start = batch.episodeStart[e];
    for (let t = 0; t < batch.episodeLength[e]; t++) out[start + t] = Math.min(J - 1, Math.floor((t * J) / maxSteps));
  }
  return out;
}

/**
 * Per-step values `[N]` of consecutive episodes as the `[episodes, T]` layout `aggregate`
 * takes, T the longest episode, zero-padded, with the 0/1 mask of real steps. Built from
 * split and pad, whose gradients every backend has (a gather's needs a scatter wasm lacks).
 */
export function padByEpisode(perStep: tf.Tensor1D, lengths: readonly number[]): { padded: tf.Tensor2D; mask: tf.Tensor2D } {
  const T = Math.max(1, ...lengths);
  const nonEmpty = lengths.filter((l) => l > 0);
  const pieces = nonEmpty.length > 1 ? tf.split(perStep, nonEmpty) : [perStep];
  let p = 0;
  const rows = lengths.map((len) => {
    if (len === 0) return tf.zeros([T]) as tf.Tensor1D;
    const piece = pieces[p++];
    return len === T ? piece : tf.pad(piece, [[0, T - len]]);
  });
  const mask = new Float32Array(lengths.length * T);
  lengths.forEach((len, i) => mask.fill(1, i * T, i * T + len));
  return { padded: tf.stack(rows) as tf.Tensor2D, mask: tf.tensor2d(mask, [lengths.length, T]) };
}

/**
 * Mean entropy per turn over the batch's steps — the vector EPO's history appends each
 * iteration. A turn no episode reached takes the value of the last turn that was reached (our
 * choice: a zero would drag the historical reference of late turns down).
 */
export function perTurnEntropy(batch: GroupBatch, entropy: Float32Array, turns: Int32Array, numTurns: number): Float32Array {
  const sum = new Float64Array(numTurns);
  const count = new Int32Array(numTurns);
  for (let t = 0; t < batch.numSteps; t++) {
    sum[turns[t]] += entropy[t];
    count[turns[t]]++;
  }
  const out = new Float32Array(numTurns);
  let last = 0;
  for (let j = 0; j < numTurns; j++) {
    if (count[j] > 0) last = sum[j] / count[j];
    out[j] = last;
  }
  return out;
}
