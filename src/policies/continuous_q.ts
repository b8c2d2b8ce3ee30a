import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MLP, type MLPTrace } from "../nn/mlp.js";

export interface ContinuousQOptions {
  obsSize: number;
  actSize: number;
  /** Hidden widths. Default [256, 256] (CleanRL's SAC and TD3). */
  hidden?: readonly number[];
  rng: Rng;
  /** Prefix of the parameter names. Default "q". */
  name?: string;
}

/** A forward pass kept for the backward ones: Q(s, a) per row and the network's trace (tensors of the enclosing tf.tidy). */
export interface QForward {
  q: Float32Array;
  trace: MLPTrace;
  batch: number;
}

/**
 * A state-action value network Q(s, a) for continuous actions: a ReLU MLP on the
 * concatenation [s, a] with one linear output, PyTorch's default initialisation (what
 * CleanRL's SAC and TD3 critics use). SAC and TD3 keep two of them (twins) and a target copy
 * of each. Gradients are hand-written through the MLP's trace: the parameter gradient for the
 * critic's own loss, and dQ/da for the actor's loss (the critic is not trained there).
 */
export class ContinuousQ {
  readonly obsSize: number;
  readonly actSize: number;
  readonly net: MLP;
  private input = new Float32Array(0);

  constructor(options: ContinuousQOptions) {
    const { obsSize, actSize } = options;
    if (!Number.isSafeInteger(obsSize) || obsSize < 1 || !Number.isSafeInteger(actSize) || actSize < 1) {
      throw new ConfigError(`a Q-network needs positive integer observation and action sizes, got ${describeValue(obsSize)} and ${describeValue(actSize)}`, "pass the flat sizes of the spaces");
    }
    this.obsSize = obsSize;
    this.actSize = actSize;
    const hidden = options.hidden ?? [256, 256];
    this.net = new MLP({ sizes: [obsSize + actSize, ...hidden, 1], rng: options.rng, activation: "relu", init: "torch-default", name: options.name ?? "q" });
  }

  get variables(): readonly tf.Variable[] {
    return this.net.variables;
  }

  /** Rows [s_i, a_i], in a reused array. */
  private concat(obs: Float32Array, actions: Float32Array, batch: number): Float32Array {
    const { obsSize, actSize } = this;
    const width = obsSize + actSize;
    if (obs.length < batch * obsSize || actions.length < batch * actSize) {
      throw new ConfigError(`Q-network input: ${batch} rows need ${batch * obsSize} observation and ${batch * actSize} action numbers, got ${obs.length} and ${actions.length}`, "pass row-major batches");
    }
    if (this.input.length < batch * width) this.input = new Float32Array(batch * width);
    const x = this.input;
    for (let i = 0; i < batch; i++) {
      x.set(obs.subarray(i * obsSize, (i + 1) * obsSize), i * width);
      x.set(actions.subarray(i * actSize, (i + 1) * actSize), i * width + obsSize);
    }
    return x.subarray(0, batch * width);
  }

  /** Q(s, a) with the trace for `backward`/`actionGradient`; call inside tf.tidy. */
  forward(obs: Float32Array, actions: Float32Array, batch: number): QForward {
    const x = tf.tensor2d(this.concat(obs, actions, batch), [batch, this.obsSize + this.actSize]);
    const { output, trace } = this.net.forwardTrace(x);
    return { q: Float32Array.from(output.dataSync() as Float32Array), trace, batch };
  }

  /** Q(s, a) only (targets): no trace kept. Call inside tf.tidy. */
  predict(obs: Float32Array, actions: Float32Array, batch: number): Float32Array {
    return this.forward(obs, actions, batch).q;
  }

  /** Parameter gradients (variables order) of a loss whose derivative by each Q is dQ. Call inside tf.tidy. */
  backward(fwd: QForward, dQ: Float32Array): tf.Tensor[] {
    return this.net.backward(fwd.trace, tf.tensor2d(dQ, [fwd.batch, 1]));
  }

  /** dL/da [batch × actSize] of a loss whose derivative by each Q is dQ. Call inside tf.tidy. */
  actionGradient(fwd: QForward, dQ: Float32Array): Float32Array {
    const dx = this.net.inputGradient(fwd.trace, tf.tensor2d(dQ, [fwd.batch, 1])).dataSync() as Float32Array;
    const { obsSize, actSize } = this;
    const width = obsSize + actSize;
    const out = new Float32Array(fwd.batch * actSize);
    for (let i = 0; i < fwd.batch; i++) out.set(dx.subarray(i * width + obsSize, (i + 1) * width), i * actSize);
    return out;
  }

  getWeights(): Float32Array[] {
    return this.net.getWeights();
  }

  setWeights(weights: readonly Float32Array[]): void {
    this.net.setWeights(weights);
  }

  dispose(): void {
    this.net.dispose();
  }
}
