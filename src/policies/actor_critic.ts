import * as tf from "@tensorflow/tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { Box, Discrete, type Space } from "../core/spaces.js";
import { Categorical, DiagGaussian } from "../nn/distributions.js";
import { MLP, type HiddenActivation, type MLPTrace } from "../nn/mlp.js";

export interface ActorCriticOptions {
  observationSpace: Space<unknown>;
  actionSpace: Space<unknown>;
  /** Hidden widths of both the actor and the critic. Default [64, 64] (CleanRL). */
  hidden?: readonly number[];
  activation?: HiddenActivation;
  /** Initial log-std of a Gaussian policy (Box actions). Default 0. */
  initLogStd?: number;
  /** Generator of the initial weights. */
  rng: Rng;
  /** Orthogonal gain of the actor's output layer. Default 0.01 (CleanRL). */
  actorHeadGain?: number;
}

/** The JSON description that, with the weights, rebuilds an ActorCritic (saved next to them). */
export interface ActorCriticSpec {
  kind: "actor-critic";
  observationSpace: ReturnType<Space<unknown>["toJSON"]>;
  actionSpace: ReturnType<Space<unknown>["toJSON"]>;
  hidden: number[];
  activation: HiddenActivation;
  initLogStd: number;
  actorHeadGain: number;
}

/** Output buffers of `act`, reused across calls. */
export interface ActBuffers {
  actions: Int32Array | Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
}

/**
 * A minibatch forward pass kept for `backwardForLoss`: log π(a|s), entropy and V(s) as
 * typed arrays, plus the network activations (tensors owned by the enclosing tf.tidy).
 */
export interface LossForward {
  batch: number;
  logProb: Float32Array;
  entropy: Float32Array;
  value: Float32Array;
  /** The actor's output per row: logits, or Gaussian means. */
  params: Float32Array;
  actions: Int32Array | Float32Array;
  actorTrace: MLPTrace;
  criticTrace: MLPTrace;
}

/**
 * Separate actor and critic MLPs as in CleanRL's ppo.py / ppo_continuous_action.py:
 * 64-64 tanh, orthogonal init (√2 hidden, 0.01 actor head, 1 critic head). Discrete
 * actions use a Categorical over logits; Box actions a diagonal Gaussian with a learned,
 * state-independent log-std. Acting runs the fused typed-array forward; `evaluate`
 * runs the differentiable tfjs forward for the loss.
 */
export class ActorCritic {
  readonly actor: MLP;
  readonly critic: MLP;
  readonly dist: Categorical | DiagGaussian;
  readonly discrete: boolean;
  readonly obsSize: number;
  /** Scalars per action: 1 for Discrete, the Box size otherwise. */
  readonly actSize: number;
  readonly spec: ActorCriticSpec;
  private logitsBuf = new Float32Array(0);
  private valueBuf = new Float32Array(0);

  constructor(options: ActorCriticOptions) {
    const { observationSpace, actionSpace, rng } = options;
    if (!(observationSpace instanceof Box) || observationSpace.shape.length !== 1) {
      throw new ConfigError(
        `the actor-critic MLP policy needs a flat Box observation space, got ${String(observationSpace)}`,
        "flatten the observation with a TransformObservation wrapper",
      );
    }
    const hidden = [...(options.hidden ?? [64, 64])];
    const activation = options.activation ?? "tanh";
    const initLogStd = options.initLogStd ?? 0;
    const actorHeadGain = options.actorHeadGain ?? 0.01;
    this.obsSize = observationSpace.size;
    let outSize: number;
    if (actionSpace instanceof Discrete) {
      this.discrete = true;
      this.actSize = 1;
      outSize = actionSpace.n;
      this.dist = new Categorical(actionSpace.n);
    } else if (actionSpace instanceof Box && actionSpace.shape.length === 1) {
      this.discrete = false;
      this.actSize = actionSpace.size;
      outSize = actionSpace.size;
      this.dist = new DiagGaussian(actionSpace.size, { name: "actor", initLogStd });
    } else {
      throw new ConfigError(
        `the actor-critic policy supports Discrete and flat Box action spaces, got ${describeValue(String(actionSpace))}`,
        "use an env with a Discrete or 1-D Box action space",
      );
    }
    this.actor = new MLP({ sizes: [this.obsSize, ...hidden, outSize], rng, activation, outputGain: actorHeadGain, name: "actor" });
    this.critic = new MLP({ sizes: [this.obsSize, ...hidden, 1], rng, activation, outputGain: 1, name: "critic" });
    this.spec = {
      kind: "actor-critic",
      observationSpace: observationSpace.toJSON(),
      actionSpace: (actionSpace as Space<unknown>).toJSON(),
      hidden,
      activation,
      initLogStd,
      actorHeadGain,
    };
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
   */
  act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, deterministic = false, withValues = true): void {
    const logits = this.ensure(batch);
    this.actor.forwardFast(obs, batch, logits);
    if (this.dist instanceof Categorical) {
      if (deterministic) this.dist.modeFast(logits, batch, out.actions as Int32Array);
      else this.dist.sample(logits, batch, rng, out.actions as Int32Array, out.logProbs);
    } else if (deterministic) {
      (out.actions as Float32Array).set(logits.subarray(0, batch * this.actSize));
    } else {
      this.dist.sample(logits, batch, rng, out.actions as Float32Array, out.logProbs);
    }
    if (withValues) this.values(obs, batch, out.values);
  }

  /** V(obs) for `batch` observations, typed-array forward. */
  values(obs: Float32Array, batch: number, out: Float32Array): Float32Array {
    if (this.valueBuf.length < batch) this.valueBuf = new Float32Array(batch);
    this.critic.forwardFast(obs, batch, this.valueBuf);
    out.set(this.valueBuf.subarray(0, batch));
    return out;
  }

  /** Differentiable log π(a|s), entropy and V(s) for a minibatch; call inside tf.tidy. */
  evaluate(obs: tf.Tensor2D, actions: tf.Tensor): { logProb: tf.Tensor1D; entropy: tf.Tensor1D; value: tf.Tensor1D } {
    const params = this.actor.apply(obs);
    const value = tf.reshape(this.critic.apply(obs), [-1]) as tf.Tensor1D;
    if (this.dist instanceof Categorical) {
      return { logProb: this.dist.logProb(params, actions as tf.Tensor1D), entropy: this.dist.entropy(params), value };
    }
    return { logProb: this.dist.logProb(params, actions as tf.Tensor2D), entropy: this.dist.entropy(params), value };
  }

  /**
   * Whether `forwardForLoss`/`backwardForLoss` work for this policy's distribution (they
   * need its typed-array twins); callers fall back to `evaluate` under a gradient tape.
   */
  get supportsManualGradients(): boolean {
    return this.dist instanceof Categorical || this.dist instanceof DiagGaussian;
  }

  /**
   * The lean alternative to `evaluate` for a loss computed in typed arrays: the networks
   * run on tensors without a gradient tape, their outputs are read back once, and log π,
   * entropy and V come back as typed arrays. Call inside tf.tidy and pass the result to
   * `backwardForLoss` within the same tidy. obs: row-major [batch, obsSize]; actions:
   * one int per row (Discrete) or row-major [batch, actSize] floats (Box).
   */
  forwardForLoss(obs: Float32Array, actions: Int32Array | Float32Array, batch: number): LossForward {
    const x = tf.tensor2d(obs.subarray(0, batch * this.obsSize), [batch, this.obsSize]);
    const actor = this.actor.forwardTrace(x);
    const critic = this.critic.forwardTrace(x);
    const params = actor.output.dataSync() as Float32Array;
    const value = critic.output.dataSync() as Float32Array;
    const logProb = new Float32Array(batch);
    const entropy = new Float32Array(batch);
    if (this.dist instanceof Categorical) this.dist.logProbEntropyArrays(params, actions as Int32Array, batch, logProb, entropy);
    else this.dist.logProbEntropyArrays(params, actions as Float32Array, batch, logProb, entropy);
    return { batch, logProb, entropy, value, params, actions, actorTrace: actor.trace, criticTrace: critic.trace };
  }

  /**
   * Gradients of a loss L with respect to every trainable variable, in
   * `trainableVariables()` order, given dL/dlogπ, dL/dentropy and dL/dV per row of a
   * `forwardForLoss` (the same gradients `tf.variableGrads` gives for that loss written
   * with `evaluate`, to float32 rounding). Call inside the same tf.tidy.
   */
  backwardForLoss(fwd: LossForward, dLogProb: Float32Array, dEntropy: Float32Array, dValue: Float32Array): tf.Tensor[] {
    const { batch, params, actions } = fwd;
    const outSize = this.actor.outputSize;
    const dParams = new Float32Array(batch * outSize);
    let dLogStd: Float32Array | null = null;
    if (this.dist instanceof Categorical) {
      this.dist.logProbEntropyGrad(params, actions as Int32Array, batch, dLogProb, dEntropy, dParams);
    } else {
      dLogStd = new Float32Array(this.dist.dim);
      this.dist.logProbEntropyGrad(params, actions as Float32Array, batch, dLogProb, dEntropy, dParams, dLogStd);
    }
    const grads = [
      ...this.actor.backward(fwd.actorTrace, tf.tensor2d(dParams, [batch, outSize])),
      ...this.critic.backward(fwd.criticTrace, tf.tensor2d(dValue.subarray(0, batch), [batch, 1])),
    ];
    if (dLogStd) grads.push(tf.tensor1d(dLogStd));
    return grads;
  }

  /** Every trainable variable: the actor's, then the critic's, then the log-std (Box actions). */
  trainableVariables(): tf.Variable[] {
    const vars = [...this.actor.variables, ...this.critic.variables];
    if (this.dist instanceof DiagGaussian) vars.push(this.dist.logStd);
    return vars;
  }

  /** Refreshes the typed-array weight copies used for acting; call after each optimiser step. */
  syncFastWeights(): void {
    this.actor.syncFastWeights();
    this.critic.syncFastWeights();
    if (this.dist instanceof DiagGaussian) this.dist.syncFastWeights();
  }

  /** Named copies of every parameter, for checkpoints and transfer to collectors. */
  getWeights(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    const add = (names: readonly string[], arrays: Float32Array[]) => names.forEach((n, i) => (out[n] = arrays[i]));
    add(this.actor.paramNames, this.actor.getWeights());
    add(this.critic.paramNames, this.critic.getWeights());
    if (this.dist instanceof DiagGaussian) out[this.dist.paramName] = this.dist.getWeights()[0];
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
    if (this.dist instanceof DiagGaussian) this.dist.setWeights(pick([this.dist.paramName]));
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    if (this.dist instanceof DiagGaussian) this.dist.dispose();
  }

  private ensure(batch: number): Float32Array {
    const need = batch * this.actor.outputSize;
    if (this.logitsBuf.length < need) this.logitsBuf = new Float32Array(need);
    return this.logitsBuf;
  }
}
