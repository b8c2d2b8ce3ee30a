/**
 * PPO — Proximal Policy Optimization (Schulman et al., 2017) with GAE, as CleanRL's
 * ppo.py / ppo_continuous_action.py, composed from refinery's parts:
 *
 *   StepCollector (numEnvs × numSteps)  →  gae(γ, λ)  →  for each epoch, for each minibatch:
 *     Â = normalise(A)                                   (per minibatch, if normAdv)
 *     L = mean(clippedSurrogate(ρ, Â, ε)) − entCoef·mean(H) + vfCoef·valueLoss(V, R, V_old, ε)
 *     Adam step with global grad-norm clipping
 *   stop the epochs early when approx-KL > targetKl
 *
 * The update rule is docs/methods.md §1. Deviation from CleanRL, on by default and behind
 * `bootstrapTruncated`: time-limit truncations are bootstrapped from V(final obs).
 *
 * `useSde` swaps the Gaussian for gSDE (SB3's `use_sde`, what the Zoo's Pendulum and
 * MountainCarContinuous presets use): the collector redraws the exploration matrices, one
 * per env, at each rollout's start and every `sdeSampleFreq` steps, from their own split of
 * the run's generator (saved in checkpoints with the matrices themselves).
 *
 * Speed: at CleanRL's sizes tfjs's per-op bookkeeping, not arithmetic, dominated a
 * minibatch step through the gradient tape (~380 kernels). `manualStep` runs the networks
 * without a tape, computes L and dL/d(log π, H, V) in typed arrays and backpropagates by
 * hand (~85 kernels, same gradients to float32 rounding); `tapeStep` is the reference and
 * the fallback. `node --import tsx bench/ppo_sps.ts` measures SPS and the time split.
 */
import * as tf from "#tfjs-core";
import { gae } from "../advantage/gae.js";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { checkCheckpointBackend, initBackend, resolveRunBackend } from "../core/backend.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import { writeMaskRow } from "../envs/action_mask.js";
import type { Env } from "../envs/env.js";
import { freshResetSeed, needsFreshReset, type EnvState } from "../envs/state.js";
import type { VectorEnv } from "../envs/vector.js";
import { approxKl, approxKlArrays, clipFraction, clipFractionArrays } from "../loss/kl.js";
import { clippedSurrogate, clippedSurrogateArrays } from "../loss/surrogate.js";
import { valueLoss, valueLossArrays } from "../loss/value.js";
import { Adam, type AdamState } from "../nn/optim.js";
import { ActorCritic, type LossOutputs } from "../policies/actor_critic.js";
import { StepCollector, type RolloutBatch } from "../rollout/step_collector.js";
import { createTrainingVecEnv, findObsNormalizer, makeTrainingEnv, trainingObsNormStats } from "./env_stack.js";
import type { PPOConfig } from "./ppo_config.js";
import type { ActingPolicy, Algorithm, IterationMetrics, RolloutHooks } from "./types.js";
import { setGemmThreads, simdKernelsAvailable } from "../nn/kernels/simd.js";

/** The tensor backends a PPO run computes on once `backend: "auto"` is resolved. */
export type PPOBackend = "wasm" | "cpu" | "kernels";

/**
 * PPO's `backend` as a run uses it: `auto` (the default) is `kernels` where refinery's
 * WebAssembly SIMD kernels run and the policy has kernel gradients (flat features; grid
 * features' embeddings have none), else `wasm`; an explicit choice stays as it is. A config
 * from before the key existed (no `backend`) ran on wasm, and still does.
 */
export function resolvePpoBackend(config: Pick<PPOConfig, "backend" | "features">): PPOBackend {
  const b = config.backend as PPOConfig["backend"] | undefined;
  return resolveRunBackend(b, simdKernelsAvailable(), ActorCritic.kernelGradientsFor(config.features));
}

export class PPO implements Algorithm {
  readonly name = "ppo";
  readonly stepsPerIteration: number;
  readonly totalIterations: number;
  readonly minibatchSize: number;
  readonly vec: VectorEnv;
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  private readonly collector: StepCollector;
  private rng: Rng;
  /** Draws gSDE exploration matrices; its own stream so it never shifts the action draws. */
  private noiseRng: Rng;
  private iterationsDone = 0;
  private episodes: { return: number; length: number }[] = [];

  /**
   * Use `await PPO.create(config)`: the tensor backend must be ready before networks exist.
   * `config` is the resolved one (its backend never "auto"); `requestedBackend` is what
   * the caller asked for.
   */
  private constructor(readonly config: PPOConfig & { backend: PPOBackend }, vec: VectorEnv, readonly requestedBackend: PPOConfig["backend"]) {
    const c = config;
    this.stepsPerIteration = c.numEnvs * c.numSteps;
    this.totalIterations = Math.max(1, Math.floor(c.totalTimesteps / this.stepsPerIteration));
    this.minibatchSize = Math.max(1, Math.floor(this.stepsPerIteration / c.numMinibatches));
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.rng = root.split();
    this.noiseRng = root.split();
    this.vec = vec;
    this.policy = new ActorCritic({
      observationSpace: this.vec.singleObservationSpace,
      actionSpace: this.vec.singleActionSpace,
      hidden: c.hidden,
      activation: c.activation,
      initLogStd: c.initLogStd,
      useSde: c.useSde,
      orthoInit: c.orthoInit,
      features: c.features ?? "flat",
      rng: initRng,
    });
    // Adam stays the JS loop with kernels too: at ~10k parameters the kernel saves ~0.05 ms a
    // minibatch, and its float32 arithmetic moves the seeded runs the learning tests pin.
    this.optimizer = new Adam(this.policy.trainableVariables(), { learningRate: c.learningRate, epsilon: 1e-5 });
    this.collector = new StepCollector(this.vec, this.policy, c.numSteps, c.gamma, c.bootstrapTruncated, c.sdeSampleFreq, c.actionMasking ?? "auto");
    this.collector.reset(c.seed);
  }

  static async create(config: PPOConfig): Promise<PPO> {
    const resolved = { ...config, backend: resolvePpoBackend(config) };
    // With the kernels, tfjs only stores the weights (and runs the tape path of policies
    // without typed-array distribution twins): its light cpu backend does.
    await initBackend(resolved.backend === "kernels" ? "cpu" : resolved.backend);
    setGemmThreads(config.kernelThreads);
    const vec = await createTrainingVecEnv(config, config.numEnvs, config);
    try {
      return new PPO(resolved, vec, config.backend);
    } catch (e) {
      vec.close();
      throw e;
    }
  }

  private hooks: RolloutHooks = {};
  private batchSource: (() => RolloutBatch) | null = null;

  /**
   * Where iterations get their rollouts: null (the default) collects them here; a function
   * hands over one collected elsewhere (remote actors, src/scale/), which must have been
   * collected with this iteration's weights and have numEnvs × numSteps steps.
   */
  setBatchSource(source: (() => RolloutBatch) | null): void {
    this.batchSource = source;
  }

  /** One rollout with the current weights and no update: what a remote actor does. */
  collectRollout(): RolloutBatch {
    return this.collector.collect(this.rng, this.noiseRng);
  }

  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
    this.collector.onStep = hooks.onStep ?? null;
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const frac = 1 - this.iterationsDone / this.totalIterations;
    const lr = c.annealLr ? frac * c.learningRate : c.learningRate;
    const clip = c.annealClip ? frac * c.clipCoef : c.clipCoef;
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));

    const t0 = performance.now();
    const batch = this.batchSource ? this.batchSource() : this.collector.collect(this.rng, this.noiseRng);
    this.hooks.onRollout?.({ steps: batch.numSteps * batch.numEnvs, episodes: batch.episodes });
    const t1 = performance.now();
    const { advantages, returns } = gae({ ...batch, numEnvs: batch.numEnvs, gamma: c.gamma, lambda: c.gaeLambda });
    const stats = this.update(batch, advantages, returns, Math.max(clip, 1e-8));
    const t2 = performance.now();
    this.policy.syncFastWeights();
    this.iterationsDone++;
    this.episodes.push(...batch.episodes);
    return {
      learningRate: lr,
      clipCoef: clip,
      ...stats,
      explainedVariance: explainedVariance(batch.values, returns),
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  /** Mask entries per step of a rollout (0 without masks); a masked run needs masked rollouts. */
  private maskWidth(batch: RolloutBatch): number {
    if (!this.collector.masking) return 0;
    if (!batch.actionMasks) {
      throw new ConfigError("this run masks actions, but a rollout arrived without action masks", "collect rollouts with the same actionMasking setting as the learner", "mask_mismatch");
    }
    return batch.actionMasks.length / (batch.numSteps * batch.numEnvs);
  }

  /** Minibatch epochs over one rollout (CleanRL's inner loops). */
  private update(batch: RolloutBatch, advantages: Float32Array, returns: Float32Array, clip: number): IterationMetrics {
    const c = this.config;
    const n = batch.numSteps * batch.numEnvs;
    const mb = new Minibatch(this.minibatchSize, batch.obsSize, batch.actSize, batch.discrete, this.maskWidth(batch));
    const sums: MinibatchStats = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0 };
    let count = 0;
    let epochs = 0;
    let lastKl = 0;
    for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
      const perm = this.rng.permutation(n);
      for (let start = 0; start + mb.size <= n; start += mb.size) {
        mb.gather(batch, advantages, returns, perm, start);
        const adv = c.normAdv ? normalizeAdvantages(mb.advantages) : mb.advantages;
        const stats = !this.policy.supportsManualGradients
          ? this.tapeStep(mb, adv, clip)
          : this.config.backend === "kernels" && this.policy.supportsKernelGradients
            ? this.kernelStep(mb, adv, clip)
            : this.manualStep(mb, adv, clip);
        for (const key of Object.keys(sums) as (keyof MinibatchStats)[]) sums[key] += stats[key];
        lastKl = stats.approxKl;
        count++;
      }
      epochs++;
      if (c.targetKl !== null && lastKl > c.targetKl) break;
    }
    const mean = (x: number) => (count ? x / count : 0);
    return {
      policyLoss: mean(sums.policyLoss),
      valueLoss: mean(sums.valueLoss),
      entropy: mean(sums.entropy),
      approxKl: mean(sums.approxKl),
      clipFraction: mean(sums.clipFraction),
      gradNorm: mean(sums.gradNorm),
      epochs,
    };
  }

  /**
   * One minibatch step, the loss in typed arrays (the default): the networks run on
   * tensors without a gradient tape (`forwardForLoss`), the loss
   *   L = mean(clippedSurrogate) − entCoef·mean(H) + vfCoef·valueLoss
   * and its derivatives with respect to each sample's log π, H and V are computed here in
   * float64, and `backwardForLoss` carries them back through the networks. The same loss
   * and gradients as `tapeStep` to float32 rounding, with about a sixth of the tensor ops
   * (tfjs's per-op overhead, not arithmetic, dominates at these sizes).
   */
  private manualStep(mb: Minibatch, adv: Float32Array, clip: number): MinibatchStats {
    return tf.tidy(() => {
      const fwd = this.policy.forwardForLoss(mb.obs, mb.actions, mb.size, mb.masks);
      const loss = ppoLossGradients(fwd, mb, adv, clip, this.config);
      const grads = this.policy.backwardForLoss(fwd, loss.dLogProb, loss.dEntropy, loss.dValue);
      return { ...loss.stats, gradNorm: this.optimizer.applyGradients(grads, this.config.maxGradNorm) };
    });
  }

  /**
   * `manualStep` on refinery's WebAssembly SIMD kernels (`backend: "kernels"`, or "auto"
   * resolved to it): the same
   * loss and derivatives, with the networks' forward and backward passes in typed arrays
   * and no tensors but the optimiser's reads and writes of the weights.
   */
  private kernelStep(mb: Minibatch, adv: Float32Array, clip: number): MinibatchStats {
    const fwd = this.policy.forwardForLossKernels(mb.obs, mb.actions, mb.size, mb.masks);
    const loss = ppoLossGradients(fwd, mb, adv, clip, this.config);
    const grads = this.policy.backwardForLossKernels(fwd, loss.dLogProb, loss.dEntropy, loss.dValue);
    return { ...loss.stats, gradNorm: this.policy.applyGradientsKernels(this.optimizer, grads, this.config.maxGradNorm) };
  }

  /**
   * One minibatch step through tfjs's gradient tape, with the tensor loss terms: the
   * reference formulation, used for policies whose distribution has no typed-array twins.
   */
  private tapeStep(mb: Minibatch, adv: Float32Array, clip: number): MinibatchStats {
    const c = this.config;
    const size = mb.size;
    let diag: tf.Tensor | null = null;
    const { gradNorm } = this.optimizer.minimize(() => {
      const obsT = tf.tensor2d(mb.obs, [size, mb.obsSize]);
      const actT = mb.discrete ? tf.tensor1d(mb.actions as Int32Array, "int32") : tf.tensor2d(mb.actions as Float32Array, [size, mb.actSize]);
      const oldLogp = tf.tensor1d(mb.logProbs);
      const masksT = mb.masks ? tf.tensor2d(mb.masks, [size, mb.maskWidth], "int32") : null;
      const { logProb, entropy, value } = this.policy.evaluate(obsT, actT, masksT);
      const pg = tf.mean(clippedSurrogate(logProb, oldLogp, tf.tensor1d(adv), clip)) as tf.Scalar;
      const vl = valueLoss(value, tf.tensor1d(mb.returns), c.clipVloss ? tf.tensor1d(mb.values) : undefined, c.clipVloss ? clip : undefined);
      const ent = tf.mean(entropy) as tf.Scalar;
      diag = tf.keep(tf.stack([pg, vl, ent, approxKl(logProb, oldLogp), clipFraction(logProb, oldLogp, clip)]));
      return tf.add(tf.sub(pg, tf.mul(c.entCoef, ent)), tf.mul(c.vfCoef, vl)) as tf.Scalar;
    }, c.maxGradNorm);
    const d = (diag as unknown as tf.Tensor).dataSync();
    (diag as unknown as tf.Tensor).dispose();
    return { policyLoss: d[0], valueLoss: d[1], entropy: d[2], approxKl: d[3], clipFraction: d[4], gradNorm };
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  actingPolicy(seed: number): ActingPolicy {
    // Its own generator: evaluating must not perturb the training stream.
    return policyActor(this.policy, new Rng(seed), this.collector.masking);
  }

  makeEvalEnv(): Env<unknown, unknown> {
    const env = makeTrainingEnv(this.config, false);
    const evalNorm = findObsNormalizer(env);
    const trainStats = evalNorm ? trainingObsNormStats(this.vec) : null;
    if (evalNorm && trainStats) {
      evalNorm.setStatistics(trainStats);
      evalNorm.updateRunningMean = false;
    }
    return env;
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const adam = this.optimizer.getState();
    const arrays: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.policy.getWeights())) arrays[`policy/${k}`] = v;
    arrays["adam/m"] = adam.m;
    arrays["adam/v"] = adam.v;
    const obs = this.collector.currentObs;
    if (obs) arrays["collector/obs"] = obs;
    const masks = this.collector.currentMasks;
    if (masks) arrays["collector/masks"] = Float32Array.from(masks);
    const json: Record<string, unknown> = {
      iteration: this.iterationsDone,
      rng: this.rng.getState(),
      adam: { step: adam.step, learningRate: adam.learningRate },
      envs: this.vec.getEnvStates(),
      backend: this.config.backend,
    };
    const gsde = this.policy.gsde;
    if (gsde) {
      // The matrices matter between iterations too: stochastic evaluation acts with them.
      json.noiseRng = this.noiseRng.getState();
      arrays["gsde/noise"] = gsde.getNoise();
    }
    return { json, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    checkCheckpointBackend(this.requestedBackend, this.config.backend, json.backend);
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(arrays)) if (k.startsWith("policy/")) weights[k.slice(7)] = v;
    this.policy.setWeights(weights);
    const adam = json.adam as { step: number; learningRate: number };
    this.optimizer.setState({ ...adam, m: arrays["adam/m"], v: arrays["adam/v"] } as AdamState);
    this.rng = Rng.fromState(json.rng as RngState);
    const gsde = this.policy.gsde;
    if (gsde) {
      if (!json.noiseRng || !arrays["gsde/noise"]) {
        throw new ConfigError(
          "this checkpoint has no gSDE noise state, but the run's config has useSde on",
          "resume it with the config it was written with (useSde false), or start a new run",
          "checkpoint_mismatch",
        );
      }
      this.noiseRng = Rng.fromState(json.noiseRng as RngState);
      gsde.setNoise(arrays["gsde/noise"]);
    }
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
    const normStats = trainingObsNormStats(this.vec);
    return {
      spec: {
        ...this.policy.spec,
        actionMasking: this.collector.masking,
        env: this.config.env,
        obsNorm: normStats,
        clipObs: this.config.normObs ? this.config.clipObs : null,
      },
      weights: this.policy.getWeights(),
      shapes: this.policy.paramShapes(),
    };
  }

  dispose(): void {
    this.vec.close();
    this.policy.dispose();
    this.optimizer.dispose();
  }
}

interface MinibatchStats {
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
  gradNorm: number;
}

/** One minibatch of a rollout, gathered by a permutation into reused typed arrays. */
export class Minibatch {
  readonly obs: Float32Array;
  readonly actions: Int32Array | Float32Array;
  readonly logProbs: Float32Array;
  readonly advantages: Float32Array;
  readonly returns: Float32Array;
  readonly values: Float32Array;
  /** The action masks of the steps (maskWidth per step), null without masking. */
  readonly masks: Uint8Array | null;

  constructor(
    readonly size: number,
    readonly obsSize: number,
    readonly actSize: number,
    readonly discrete: boolean,
    readonly maskWidth = 0,
  ) {
    this.masks = maskWidth > 0 ? new Uint8Array(size * maskWidth) : null;
    this.obs = new Float32Array(size * obsSize);
    this.actions = discrete ? new Int32Array(size) : new Float32Array(size * actSize);
    this.logProbs = new Float32Array(size);
    this.advantages = new Float32Array(size);
    this.returns = new Float32Array(size);
    this.values = new Float32Array(size);
  }

  /** Rows perm[start], …, perm[start + size − 1] of the rollout. */
  gather(batch: RolloutBatch, advantages: Float32Array, returns: Float32Array, perm: ArrayLike<number>, start: number): void {
    const { obsSize, actSize } = this;
    for (let k = 0; k < this.size; k++) {
      const i = perm[start + k];
      for (let j = 0; j < obsSize; j++) this.obs[k * obsSize + j] = batch.obs[i * obsSize + j];
      for (let j = 0; j < actSize; j++) this.actions[k * actSize + j] = batch.actions[i * actSize + j];
      this.logProbs[k] = batch.logProbs[i];
      this.advantages[k] = advantages[i];
      this.returns[k] = returns[i];
      this.values[k] = batch.values[i];
      if (this.masks && batch.actionMasks) {
        const w = this.maskWidth;
        this.masks.set(batch.actionMasks.subarray(i * w, (i + 1) * w), k * w);
      }
    }
  }
}

function scaleInPlace(x: Float32Array, factor: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= factor;
}

function meanOf(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  return sum / x.length;
}

/**
 * Wraps an ActorCritic as an ActingPolicy (batch of one). `masking` false ignores the masks
 * the caller passes (a run trained with actionMasking=off acts as it was trained).
 */
export function policyActor(policy: ActorCritic, rng: Rng, masking = true): ActingPolicy {
  const buf = policy.buffers(1);
  const maskBuf = new Uint8Array(policy.discrete ? policy.actor.outputSize : 0);
  return {
    actOne(obs: Float32Array, deterministic: boolean, mask?: ArrayLike<number | boolean> | null) {
      const m = masking && mask && policy.discrete ? toMaskRow(mask, maskBuf) : null;
      policy.act(obs, 1, rng, buf, deterministic, false, m);
      return policy.discrete ? buf.actions[0] : Float32Array.from(buf.actions);
    },
  };
}

/** One mask as 0/1 flags in `out` (its length is the action count). */
export function toMaskRow(mask: ArrayLike<number | boolean>, out: Uint8Array): Uint8Array {
  writeMaskRow(mask, out.length, out, 0, "acting policy");
  return out;
}

/** 1 − Var(R − V) / Var(R): how much of the return variance the critic explains. */
export function explainedVariance(values: Float32Array, returns: Float32Array): number {
  const n = returns.length;
  let mr = 0, md = 0;
  for (let i = 0; i < n; i++) {
    mr += returns[i];
    md += returns[i] - values[i];
  }
  mr /= n;
  md /= n;
  let vr = 0, vd = 0;
  for (let i = 0; i < n; i++) {
    vr += (returns[i] - mr) ** 2;
    const d = returns[i] - values[i] - md;
    vd += d * d;
  }
  return vr === 0 ? NaN : 1 - vd / vr;
}

/**
 * The minibatch loss L = mean(clippedSurrogate) − entCoef·mean(H) + vfCoef·valueLoss from
 * a forward pass's log π, H and V, and its derivatives with respect to each of them
 * (shared with polychromic PPO, which runs the same update on vine batches).
 */
export function ppoLossGradients(fwd: LossOutputs, mb: Minibatch, adv: Float32Array, clip: number, c: Pick<PPOConfig, "vfCoef" | "entCoef" | "clipVloss">) {
  const size = mb.size;
  // Policy term: mean over the minibatch of the clipped surrogate.
  const pgPerSample = new Float32Array(size);
  const dLogProb = new Float32Array(size);
  clippedSurrogateArrays(fwd.logProb, mb.logProbs, adv, clip, clip, pgPerSample, dLogProb);
  scaleInPlace(dLogProb, 1 / size);
  // Value term, weighted by vfCoef.
  const dValue = new Float32Array(size);
  const valueLoss = valueLossArrays(fwd.value, mb.returns, c.clipVloss ? mb.values : undefined, c.clipVloss ? clip : undefined, dValue);
  scaleInPlace(dValue, c.vfCoef);
  // Entropy bonus: −entCoef·mean(H).
  const dEntropy = new Float32Array(size).fill(-c.entCoef / size);
  const stats = {
    policyLoss: meanOf(pgPerSample),
    valueLoss,
    entropy: meanOf(fwd.entropy),
    approxKl: approxKlArrays(fwd.logProb, mb.logProbs),
    clipFraction: clipFractionArrays(fwd.logProb, mb.logProbs, clip),
  };
  return { dLogProb, dEntropy, dValue, stats };
}
