import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { Box, Discrete, flatSize, type Space } from "../core/spaces.js";
import { Categorical, DiagGaussian, maskLogits, maskLogitsInPlace } from "../nn/distributions.js";
import { GridFeatures, type GridFeaturesSpec } from "../nn/grid_features.js";
import { GSDE } from "../nn/gsde.js";
import { MLP, type HiddenActivation, type MLPArrayTrace, type MLPTrace } from "../nn/mlp.js";
import type { Adam } from "../nn/optim.js";

export interface ActorCriticOptions {
  observationSpace: Space<unknown>;
  actionSpace: Space<unknown>;
  /** Hidden widths of both the actor and the critic. Default [64, 64] (CleanRL). */
  hidden?: readonly number[];
  activation?: HiddenActivation;
  /** Initial log-std of a Gaussian policy (Box actions), or of every gSDE log-std entry. Default 0. */
  initLogStd?: number;
  /** Generator of the initial weights. */
  rng: Rng;
  /** Orthogonal gain of the actor's output layer. Default 0.01 (CleanRL). */
  actorHeadGain?: number;
  /**
   * Generalized state-dependent exploration (SB3's `use_sde`) instead of the
   * state-independent Gaussian; Box actions only. The actor's last hidden activation is the
   * gSDE latent and its output layer the mean head. Default false.
   */
  useSde?: boolean;
  /**
   * Orthogonal init with gains (√2 hidden, `actorHeadGain` actor head, 1 critic head) and
   * zero biases, as CleanRL and SB3's `ortho_init`; false keeps PyTorch's default
   * `nn.Linear` init (uniform ±1/√fan_in kernels and biases). Default true.
   */
  orthoInit?: boolean;
  /**
   * What the MLPs read: "flat" (default) the observation as it is (a flat Box); "grid" the
   * output of a GridFeatures extractor (cell, mission and direction embeddings) of a grid
   * env's Dict observation, shared by the actor and the critic.
   */
  features?: PolicyFeatures;
  /** Embedding widths of the grid features (default 8 and 8). */
  gridFeatures?: { cellDim?: number; tokenDim?: number };
}

export type PolicyFeatures = "flat" | "grid";

/** The JSON description that, with the weights, rebuilds an ActorCritic (saved next to them). */
export interface ActorCriticSpec {
  kind: "actor-critic";
  observationSpace: ReturnType<Space<unknown>["toJSON"]>;
  actionSpace: ReturnType<Space<unknown>["toJSON"]>;
  hidden: number[];
  activation: HiddenActivation;
  initLogStd: number;
  actorHeadGain: number;
  /** gSDE instead of the state-independent Gaussian (absent in specs saved before gSDE: false). */
  useSde: boolean;
  /** How the weights were initialised (informational: loading overwrites them). */
  orthoInit: boolean;
  /** The feature extractor (absent in specs saved before extractors: "flat"). */
  features?: PolicyFeatures;
  gridFeatures?: GridFeaturesSpec;
}

/** Output buffers of `act`, reused across calls. */
export interface ActBuffers {
  actions: Int32Array | Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
}

/** log π(a|s), entropy and V(s) of a minibatch as typed arrays, with what their gradients need. */
export interface LossOutputs {
  batch: number;
  logProb: Float32Array;
  entropy: Float32Array;
  value: Float32Array;
  /** The actor's output per row: logits, or Gaussian means. */
  params: Float32Array;
  /** gSDE policies: the actor's last hidden activation per row, [batch, latentDim]. */
  latent?: Float32Array;
  actions: Int32Array | Float32Array;
  /** The raw observation rows (the feature extractor's backward pass reads them). */
  obs?: Float32Array;
}

/**
 * A minibatch forward pass kept for `backwardForLoss`: the outputs plus the network
 * activations (tensors owned by the enclosing tf.tidy).
 */
export interface LossForward extends LossOutputs {
  actorTrace: MLPTrace;
  criticTrace: MLPTrace;
}

/** The actor's forward pass on the SIMD kernels, kept for `backwardActorKernels`. */
export interface KernelActorForward extends LossOutputs {
  actorTrace: MLPArrayTrace;
}

/** A minibatch forward pass on the SIMD kernels, kept for `backwardForLossKernels`. */
export interface KernelLossForward extends LossOutputs {
  actorTrace: MLPArrayTrace;
  criticTrace: MLPArrayTrace;
}

/**
 * Separate actor and critic MLPs as in CleanRL's ppo.py / ppo_continuous_action.py:
 * 64-64 tanh, orthogonal init (√2 hidden, 0.01 actor head, 1 critic head). Discrete
 * actions use a Categorical over logits; Box actions a diagonal Gaussian with a learned,
 * state-independent log-std. Acting runs the fused typed-array forward; `evaluate`
 * runs the differentiable tfjs forward for the loss.
 *
 * With `useSde` (Box actions), exploration is gSDE as in SB3's ActorCriticPolicy: the
 * actor is the same MLP, its last hidden activation is the latent z, its output layer the
 * mean head, and actions are μ(s) + z(s)·ε with exploration matrices ε that stay fixed
 * until `gsde.resampleNoise` (the collector's job: once per env, every rollout or every
 * `sdeSampleFreq` steps). `act` then draws nothing from its rng.
 */
export class ActorCritic {
  readonly actor: MLP;
  readonly critic: MLP;
  /** The gSDE distribution when `useSde`, else null. */
  readonly gsde: GSDE | null;
  /** The grid feature extractor (features "grid"), else null. */
  readonly features: GridFeatures | null;
  readonly discrete: boolean;
  readonly obsSize: number;
  /** Scalars per action: 1 for Discrete, the Box size otherwise. */
  readonly actSize: number;
  readonly spec: ActorCriticSpec;
  private readonly plainDist: Categorical | DiagGaussian | null;
  private logitsBuf = new Float32Array(0);
  private latentBuf = new Float32Array(0);
  private valueBuf = new Float32Array(0);
  private featureBuf = new Float32Array(0);

  constructor(options: ActorCriticOptions) {
    const { observationSpace, actionSpace, rng } = options;
    const featureKind = options.features ?? "flat";
    if (featureKind !== "flat" && featureKind !== "grid") {
      throw new ConfigError(`features ${describeValue(featureKind)} is not a feature extractor`, 'use "flat" (the observation as it is) or "grid" (grid-world Dict observations)');
    }
    this.features = featureKind === "grid" ? new GridFeatures(observationSpace, { ...options.gridFeatures, rng }) : null;
    if (!this.features && (!(observationSpace instanceof Box) || observationSpace.shape.length !== 1)) {
      throw new ConfigError(
        `the actor-critic MLP policy needs a flat Box observation space, got ${String(observationSpace)}`,
        "flatten the observation with FlattenObservation (grid ids: keep the default observation \"flat\")",
      );
    }
    const hidden = [...(options.hidden ?? [64, 64])];
    const activation = options.activation ?? "tanh";
    const initLogStd = options.initLogStd ?? 0;
    const actorHeadGain = options.actorHeadGain ?? 0.01;
    const useSde = options.useSde ?? false;
    const orthoInit = options.orthoInit ?? true;
    this.obsSize = flatSize(observationSpace);
    const inputSize = this.features ? this.features.outputSize : this.obsSize;
    let outSize: number;
    this.gsde = null;
    if (actionSpace instanceof Discrete) {
      if (useSde) {
        throw new ConfigError(
          `gSDE (useSde) explores continuous actions, but the action space is ${String(actionSpace)}`,
          "set useSde to false for Discrete action spaces",
        );
      }
      this.discrete = true;
      this.actSize = 1;
      outSize = actionSpace.n;
      this.plainDist = new Categorical(actionSpace.n);
    } else if (actionSpace instanceof Box && actionSpace.shape.length === 1) {
      this.discrete = false;
      this.actSize = actionSpace.size;
      outSize = actionSpace.size;
      if (useSde) {
        this.plainDist = null;
        this.gsde = new GSDE(actionSpace.size, hidden[hidden.length - 1], { logStdInit: initLogStd, name: "actor/gsde" });
      } else {
        this.plainDist = new DiagGaussian(actionSpace.size, { name: "actor", initLogStd });
      }
    } else {
      throw new ConfigError(
        `the actor-critic policy supports Discrete and flat Box action spaces, got ${describeValue(String(actionSpace))}`,
        "use an env with a Discrete or 1-D Box action space",
      );
    }
    const init = orthoInit ? "orthogonal" : "torch-default";
    this.actor = new MLP({ sizes: [inputSize, ...hidden, outSize], rng, activation, outputGain: actorHeadGain, name: "actor", init });
    this.critic = new MLP({ sizes: [inputSize, ...hidden, 1], rng, activation, outputGain: 1, name: "critic", init });
    this.spec = {
      kind: "actor-critic",
      observationSpace: observationSpace.toJSON(),
      actionSpace: (actionSpace as Space<unknown>).toJSON(),
      hidden,
      activation,
      initLogStd,
      actorHeadGain,
      useSde,
      orthoInit,
      features: featureKind,
      ...(this.features ? { gridFeatures: this.features.spec } : {}),
    };
  }

  /** What the MLPs read for `batch` raw rows: the rows themselves, or their grid features (typed arrays). */
  private mlpInput(obs: Float32Array, batch: number): Float32Array {
    if (!this.features) return obs;
    const need = batch * this.features.outputSize;
    if (this.featureBuf.length < need) this.featureBuf = new Float32Array(need);
    return this.features.forward(obs, batch, this.featureBuf);
  }

  /** The MLPs' input as a tensor (differentiable through the feature extractor); inside tf.tidy. */
  private mlpInputTensor(obs: tf.Tensor2D): tf.Tensor2D {
    return this.features ? this.features.apply(obs) : obs;
  }

  /** The actor's output (logits or means) for raw rows, differentiable; inside tf.tidy. */
  actorOutput(obs: tf.Tensor2D): tf.Tensor2D {
    return this.actor.apply(this.mlpInputTensor(obs));
  }

  /** V(obs) for raw rows, differentiable, shape [batch]; inside tf.tidy. */
  criticValue(obs: tf.Tensor2D): tf.Tensor1D {
    return tf.reshape(this.critic.apply(this.mlpInputTensor(obs)), [-1]) as tf.Tensor1D;
  }

  /**
   * The Categorical or diagonal-Gaussian distribution of a policy without gSDE. A gSDE
   * policy has none (its log-probs need the latent features too): this throws, so code
   * written for the other two cannot silently mistreat it.
   */
  get dist(): Categorical | DiagGaussian {
    if (!this.plainDist) {
      throw new ConfigError(
        "this actor-critic explores with gSDE (useSde), which has no state-independent distribution `dist`",
        "use act/evaluate/forwardForLoss, or policy.gsde with policy.actor.applyWithHidden; or train with useSde false",
        "gsde_policy",
      );
    }
    return this.plainDist;
  }

  /** Whether actions come from gSDE (see the class comment). */
  get usesSde(): boolean {
    return this.gsde !== null;
  }

  /** Allocates output buffers for `act` with `batch` rows. */
  buffers(batch: number): ActBuffers {
    return {
      actions: this.discrete ? new Int32Array(batch) : new Float32Array(batch * this.actSize),
      logProbs: new Float32Array(batch),
      values: new Float32Array(batch),
    };
  }

  /**
   * Chooses actions for `batch` observations (row-major) without tensors: samples (or takes
   * the mode when `deterministic`), and writes actions, their log-probs and V(obs).
   * `masks` (Discrete actions; [batch, n], 1 = allowed) restricts both to the allowed actions.
   */
  act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, deterministic = false, withValues = true, masks?: Uint8Array | null): void {
    const logits = this.ensure(batch);
    const dist = this.plainDist;
    if (masks && !(dist instanceof Categorical)) throw this.maskNeedsCategorical();
    const input = this.mlpInput(obs, batch);
    if (this.gsde && !deterministic) {
      const latent = this.ensureLatent(batch);
      this.actor.forwardFast(input, batch, logits, latent);
      this.gsde.sample(logits, latent, batch, out.actions as Float32Array, out.logProbs);
    } else {
      this.actor.forwardFast(input, batch, logits);
      if (masks) maskLogitsInPlace(logits, masks, batch, this.actor.outputSize);
      if (dist instanceof Categorical) {
        if (deterministic) dist.modeFast(logits, batch, out.actions as Int32Array);
        else dist.sample(logits, batch, rng, out.actions as Int32Array, out.logProbs);
      } else if (deterministic || !dist) {
        // The mean: the mode of the Gaussian and of gSDE alike.
        (out.actions as Float32Array).set(logits.subarray(0, batch * this.actSize));
      } else {
        dist.sample(logits, batch, rng, out.actions as Float32Array, out.logProbs);
      }
    }
    if (withValues) this.values(obs, batch, out.values);
  }

  /** V(obs) for `batch` observations, typed-array forward. */
  values(obs: Float32Array, batch: number, out: Float32Array): Float32Array {
    if (this.valueBuf.length < batch) this.valueBuf = new Float32Array(batch);
    this.critic.forwardFast(this.mlpInput(obs, batch), batch, this.valueBuf);
    out.set(this.valueBuf.subarray(0, batch));
    return out;
  }

  /**
   * Differentiable log π(a|s), entropy and V(s) for a minibatch; call inside tf.tidy.
   * `masks` ([batch, n], 1 = allowed; Discrete actions) masks the logits first.
   */
  evaluate(rawObs: tf.Tensor2D, actions: tf.Tensor, masks?: tf.Tensor2D | null): { logProb: tf.Tensor1D; entropy: tf.Tensor1D; value: tf.Tensor1D } {
    const obs = this.mlpInputTensor(rawObs);
    const value = tf.reshape(this.critic.apply(obs), [-1]) as tf.Tensor1D;
    if (this.gsde) {
      const { output, hidden } = this.actor.applyWithHidden(obs);
      return { ...this.gsde.logProbEntropy(output, hidden, actions as tf.Tensor2D), value };
    }
    const params = this.actor.apply(obs);
    const dist = this.dist;
    if (dist instanceof Categorical) {
      const logits = masks ? maskLogits(params, masks) : params;
      return { logProb: dist.logProb(logits, actions as tf.Tensor1D), entropy: dist.entropy(logits), value };
    }
    if (masks) throw this.maskNeedsCategorical();
    return { logProb: dist.logProb(params, actions as tf.Tensor2D), entropy: dist.entropy(params), value };
  }

  /**
   * Whether `forwardForLoss`/`backwardForLoss` work for this policy's distribution (they
   * need its typed-array twins); callers fall back to `evaluate` under a gradient tape.
   */
  get supportsManualGradients(): boolean {
    return this.gsde !== null || this.plainDist instanceof Categorical || this.plainDist instanceof DiagGaussian;
  }

  /** Whether `forwardForLossKernels`/`backwardForLossKernels` work: not with a feature extractor (use forwardForLoss). */
  get supportsKernelGradients(): boolean {
    return this.supportsManualGradients && ActorCritic.kernelGradientsFor(this.spec.features);
  }

  /**
   * `supportsKernelGradients` before the policy exists (PPO's `backend: "auto"` decides its
   * tensor backend first): every policy the constructor accepts has manual gradients, and
   * the kernels' exist for flat features only.
   */
  static kernelGradientsFor(features: PolicyFeatures | undefined): boolean {
    return (features ?? "flat") === "flat";
  }

  /**
   * The lean alternative to `evaluate` for a loss computed in typed arrays: the networks
   * run on tensors without a gradient tape, their outputs are read back once, and log π,
   * entropy and V come back as typed arrays. Call inside tf.tidy and pass the result to
   * `backwardForLoss` within the same tidy. obs: row-major [batch, obsSize]; actions:
   * one int per row (Discrete) or row-major [batch, actSize] floats (Box); masks: see `act`.
   */
  forwardForLoss(obs: Float32Array, actions: Int32Array | Float32Array, batch: number, masks?: Uint8Array | null): LossForward {
    const raw = obs.subarray(0, batch * this.obsSize);
    const x = this.features ? tf.tensor2d(this.features.forward(raw, batch), [batch, this.features.outputSize]) : tf.tensor2d(raw, [batch, this.obsSize]);
    const actor = this.actor.forwardTrace(x);
    const critic = this.critic.forwardTrace(x);
    const params = actor.output.dataSync() as Float32Array;
    const value = critic.output.dataSync() as Float32Array;
    const latent = this.gsde ? (this.actor.traceHidden(actor.trace).dataSync() as Float32Array) : undefined;
    return { ...this.distributionOutputs(params, value, latent, actions, batch, masks), obs: raw, actorTrace: actor.trace, criticTrace: critic.trace };
  }

  /**
   * `forwardForLoss` on refinery's WebAssembly SIMD kernels: no tensors at all (the
   * networks run on their cached weights; keep them fresh with `applyGradientsKernels` or
   * syncFastWeights). Pass the result to `backwardForLossKernels`.
   */
  forwardForLossKernels(obs: Float32Array, actions: Int32Array | Float32Array, batch: number, masks?: Uint8Array | null): KernelLossForward {
    if (this.features) {
      throw new ConfigError("the SIMD-kernel loss path has no feature-extractor backward", "use forwardForLoss/backwardForLoss (PPO does this itself with features=grid)", "kernels_no_features");
    }
    const x = obs.subarray(0, batch * this.obsSize);
    const actor = this.actor.forwardTraceArrays(x, batch);
    const critic = this.critic.forwardTraceArrays(x, batch);
    const latent = this.gsde ? actor.trace.outputs[this.actor.numLayers - 2] : undefined;
    return { ...this.distributionOutputs(actor.output, critic.output, latent, actions, batch, masks), actorTrace: actor.trace, criticTrace: critic.trace };
  }

  /**
   * The actor's half of `forwardForLossKernels` (no critic forward; `value` is empty), for
   * algorithms that train the actor alone (the group engine): pass it to
   * `backwardActorKernels`. Also a cheap read-out of log π and H on the kernels.
   */
  forwardActorKernels(obs: Float32Array, actions: Int32Array | Float32Array, batch: number, masks?: Uint8Array | null): KernelActorForward {
    if (this.features) {
      throw new ConfigError("the SIMD-kernel loss path has no feature-extractor backward", "use the tfjs path (backend wasm) with features=grid", "kernels_no_features");
    }
    const actor = this.actor.forwardTraceArrays(obs.subarray(0, batch * this.obsSize), batch);
    const latent = this.gsde ? actor.trace.outputs[this.actor.numLayers - 2] : undefined;
    return { ...this.distributionOutputs(actor.output, new Float32Array(0), latent, actions, batch, masks), actorTrace: actor.trace };
  }

  /**
   * log π and entropy of the actions under the actor's outputs (the part both forward passes
   * share). With masks the logits are masked (a copy) and kept masked in `params`, so the
   * backward pass gives the masked entries exactly zero gradient (their probability is 0).
   */
  private distributionOutputs(
    params: Float32Array,
    value: Float32Array,
    latent: Float32Array | undefined,
    actions: Int32Array | Float32Array,
    batch: number,
    masks?: Uint8Array | null,
  ): LossOutputs {
    const logProb = new Float32Array(batch);
    const entropy = new Float32Array(batch);
    const dist = this.plainDist;
    if (masks) {
      if (!(dist instanceof Categorical)) throw this.maskNeedsCategorical();
      params = maskLogitsInPlace(params.slice(0, batch * dist.numActions), masks, batch, dist.numActions);
    }
    if (this.gsde) {
      this.gsde.logProbEntropyArrays(params, latent as Float32Array, actions as Float32Array, batch, logProb, entropy);
    } else if (dist instanceof Categorical) {
      dist.logProbEntropyArrays(params, actions as Int32Array, batch, logProb, entropy);
    } else {
      (dist as DiagGaussian).logProbEntropyArrays(params, actions as Float32Array, batch, logProb, entropy);
    }
    return { batch, logProb, entropy, value, params, latent, actions };
  }

  /**
   * Gradients of a loss L with respect to every trainable variable, in
   * `trainableVariables()` order, given dL/dlogπ, dL/dentropy and dL/dV per row of a
   * `forwardForLoss` (the same gradients `tf.variableGrads` gives for that loss written
   * with `evaluate`, to float32 rounding). Call inside the same tf.tidy.
   */
  backwardForLoss(fwd: LossForward, dLogProb: Float32Array, dEntropy: Float32Array, dValue: Float32Array): tf.Tensor[] {
    const { batch } = fwd;
    const { dParams, dLogStd } = this.distributionGrads(fwd, dLogProb, dEntropy);
    const dActorOut = tf.tensor2d(dParams, [batch, this.actor.outputSize]);
    const dCriticOut = tf.tensor2d(dValue.subarray(0, batch), [batch, 1]);
    if (!this.features) {
      const grads = [...this.actor.backward(fwd.actorTrace, dActorOut), ...this.critic.backward(fwd.criticTrace, dCriticOut)];
      if (dLogStd) grads.push(tf.tensor(dLogStd, this.logStdParam()?.variable.shape));
      return grads;
    }
    // Shared features: their gradient is the sum of what the actor and the critic send back.
    const a = this.actor.backwardWithInput(fwd.actorTrace, dActorOut);
    const c = this.critic.backwardWithInput(fwd.criticTrace, dCriticOut);
    const grads = [...a.grads, ...c.grads];
    if (dLogStd) grads.push(tf.tensor(dLogStd, this.logStdParam()?.variable.shape));
    if (!fwd.obs) throw new ConfigError("backwardForLoss of a policy with features needs the obs of its forwardForLoss", "pass the object forwardForLoss returned");
    const dFeatures = tf.add(a.dInput, c.dInput).dataSync() as Float32Array;
    this.features.backward(fwd.obs, batch, dFeatures).forEach((g, i) => grads.push(tf.tensor(g, this.features?.paramShapes[i])));
    return grads;
  }

  /** `backwardForLoss` of a `forwardForLossKernels`: the gradients as Float32Arrays, in `trainableVariables()` order. */
  backwardForLossKernels(fwd: KernelLossForward, dLogProb: Float32Array, dEntropy: Float32Array, dValue: Float32Array): Float32Array[] {
    const { dParams, dLogStd } = this.distributionGrads(fwd, dLogProb, dEntropy);
    const grads = [...this.actor.backwardArrays(fwd.actorTrace, dParams), ...this.critic.backwardArrays(fwd.criticTrace, dValue.subarray(0, fwd.batch))];
    if (dLogStd) grads.push(dLogStd);
    return grads;
  }

  /** The gradients of a `forwardActorKernels` loss in the order of the actor's variables (`trainableVariables()` without the critic's: the actor's layers, then the log-std). */
  backwardActorKernels(fwd: KernelActorForward, dLogProb: Float32Array, dEntropy: Float32Array): Float32Array[] {
    const { dParams, dLogStd } = this.distributionGrads(fwd, dLogProb, dEntropy);
    const grads = this.actor.backwardArrays(fwd.actorTrace, dParams);
    if (dLogStd) grads.push(dLogStd);
    return grads;
  }

  /** `applyGradientsKernels` for an optimizer over the actor's variables alone (see backwardActorKernels). */
  applyActorGradientsKernels(optimizer: Adam, grads: readonly Float32Array[], maxGradNorm?: number): number {
    const nActor = this.actor.variables.length;
    return optimizer.applyGradientArrays(grads, maxGradNorm, (weights) => {
      this.actor.setFastWeights(weights.slice(0, nActor));
      this.logStdParam()?.owner.syncFastWeights();
    });
  }

  /**
   * One Adam step of `optimizer` (over `trainableVariables()`) from kernel gradients, then
   * the acting and kernel weight copies are refreshed from the updated weights directly.
   * Returns the pre-clip global gradient norm.
   */
  applyGradientsKernels(optimizer: Adam, grads: readonly Float32Array[], maxGradNorm?: number): number {
    const nActor = this.actor.variables.length;
    const nCritic = this.critic.variables.length;
    return optimizer.applyGradientArrays(grads, maxGradNorm, (weights) => {
      this.actor.setFastWeights(weights.slice(0, nActor));
      this.critic.setFastWeights(weights.slice(nActor, nActor + nCritic));
      this.logStdParam()?.owner.syncFastWeights();
    });
  }

  /** dL/d(actor outputs) and dL/d(log-std) from dL/dlogπ and dL/dH per row (shared by both backward passes). */
  private distributionGrads(fwd: LossOutputs, dLogProb: Float32Array, dEntropy: Float32Array): { dParams: Float32Array; dLogStd: Float32Array | null } {
    const { batch, params, actions } = fwd;
    const dParams = new Float32Array(batch * this.actor.outputSize);
    const dist = this.plainDist;
    if (this.gsde) {
      if (!fwd.latent) {
        throw new ConfigError("backwardForLoss of a gSDE policy needs the latent of its forwardForLoss", "pass the object forwardForLoss returned");
      }
      const shape = this.gsde.logStd.shape;
      const d = new Float32Array(shape[0] * shape[1]);
      this.gsde.logProbEntropyGrad(params, fwd.latent, actions as Float32Array, batch, dLogProb, dEntropy, dParams, d);
      return { dParams, dLogStd: d };
    }
    if (dist instanceof Categorical) {
      dist.logProbEntropyGrad(params, actions as Int32Array, batch, dLogProb, dEntropy, dParams);
      return { dParams, dLogStd: null };
    }
    const gaussian = dist as DiagGaussian;
    const d = new Float32Array(gaussian.dim);
    gaussian.logProbEntropyGrad(params, actions as Float32Array, batch, dLogProb, dEntropy, dParams, d);
    return { dParams, dLogStd: d };
  }

  /**
   * Every trainable variable: the actor's, then the critic's, then the log-std (Box actions;
   * gSDE's is [latent, actions]), then the feature extractor's.
   */
  trainableVariables(): tf.Variable[] {
    const vars = [...this.actor.variables, ...this.critic.variables];
    const logStd = this.logStdParam();
    if (logStd) vars.push(logStd.variable);
    if (this.features) vars.push(...this.features.variables);
    return vars;
  }

  /** Refreshes the typed-array weight copies used for acting; call after each optimiser step. */
  syncFastWeights(): void {
    this.actor.syncFastWeights();
    this.critic.syncFastWeights();
    this.logStdParam()?.owner.syncFastWeights();
    this.features?.syncFastWeights();
  }

  /** The shape of every parameter, keyed like getWeights (kernels [in, out], biases [out]). */
  paramShapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const mlp of [this.actor, this.critic]) mlp.paramNames.forEach((n, i) => (out[n] = [...mlp.paramShapes[i]]));
    const logStd = this.logStdParam();
    if (logStd) out[logStd.owner.paramName] = [...logStd.variable.shape];
    const f = this.features;
    if (f) f.paramNames.forEach((n, i) => (out[n] = f.paramShapes[i]));
    return out;
  }

  /** Named copies of every parameter, for checkpoints and transfer to collectors. */
  getWeights(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    const add = (names: readonly string[], arrays: Float32Array[]) => names.forEach((n, i) => (out[n] = arrays[i]));
    add(this.actor.paramNames, this.actor.getWeights());
    add(this.critic.paramNames, this.critic.getWeights());
    const logStd = this.logStdParam();
    if (logStd) out[logStd.owner.paramName] = logStd.owner.getWeights()[0];
    if (this.features) add(this.features.paramNames, this.features.getWeights());
    return out;
  }

  setWeights(weights: Record<string, Float32Array>): void {
    const pick = (names: readonly string[]) =>
      names.map((n) => {
        const w = weights[n];
        if (!w) {
          throw new ConfigError(
            `weights are missing "${n}" (have: ${Object.keys(weights).join(", ")})`,
            "load weights saved from a policy with the same architecture",
          );
        }
        return w;
      });
    this.actor.setWeights(pick(this.actor.paramNames));
    this.critic.setWeights(pick(this.critic.paramNames));
    const logStd = this.logStdParam();
    if (logStd) logStd.owner.setWeights(pick([logStd.owner.paramName]));
    if (this.features) this.features.setWeights(pick(this.features.paramNames));
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.logStdParam()?.owner.dispose();
    this.features?.dispose();
  }

  /** The learned log-std of Box-action policies (Gaussian or gSDE) and the object that owns it. */
  private logStdParam(): { variable: tf.Variable; owner: DiagGaussian | GSDE } | null {
    if (this.gsde) return { variable: this.gsde.logStd, owner: this.gsde };
    if (this.plainDist instanceof DiagGaussian) return { variable: this.plainDist.logStd, owner: this.plainDist };
    return null;
  }

  private maskNeedsCategorical(): ConfigError {
    return new ConfigError(
      `action masks apply to Discrete (Categorical) policies, but this policy's actions are ${this.discrete ? "discrete" : "continuous"}`,
      "set actionMasking=off for continuous action spaces",
      "mask_needs_discrete",
    );
  }

  private ensure(batch: number): Float32Array {
    const need = batch * this.actor.outputSize;
    if (this.logitsBuf.length < need) this.logitsBuf = new Float32Array(need);
    return this.logitsBuf;
  }

  private ensureLatent(batch: number): Float32Array {
    const need = batch * this.actor.sizes[this.actor.sizes.length - 2];
    if (this.latentBuf.length < need) this.latentBuf = new Float32Array(need);
    return this.latentBuf;
  }
}
