import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MLP, type MLPArrayTrace, type MLPTrace } from "../nn/mlp.js";
import type { Gradient } from "../nn/network_adam.js";

export interface ContinuousQOptions {
  obsSize: number;
  actSize: number;
  /** Hidden widths. Default [256, 256] (CleanRL's SAC and TD3). */
  hidden?: readonly number[];
  rng: Rng;
  /** Prefix of the parameter names. Default "q". */
  name?: string;
  /** Run forward and backward passes on refinery's WebAssembly SIMD kernels (typed arrays) instead of tfjs. Default false. */
  kernels?: boolean;
}

/** A forward pass kept for the backward ones: Q(s, a) per row and the network's trace (tensors of the enclosing tf.tidy). */
export interface QForward {
  q: Float32Array;
  /** tfjs: the tensor trace; kernels: the typed-array trace. */
  trace: MLPTrace | MLPArrayTrace;
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
  /** Whether passes run on the SIMD kernels (gradients come back as Float32Arrays). */
  readonly kernels: boolean;
  private input = new Float32Array(0);

  constructor(options: ContinuousQOptions) {
    const { obsSize, actSize } = options;
    if (!Number.isSafeInteger(obsSize) || obsSize < 1 || !Number.isSafeInteger(actSize) || actSize < 1) {
      throw new ConfigError(`a Q-network needs positive integer observation and action sizes, got ${describeValue(obsSize)} and ${describeValue(actSize)}`, "pass the flat sizes of the spaces");
    }
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.kernels = options.kernels ?? false;
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

  /** Q(s, a) with the trace for `backward`/`actionGradient`; call inside tf.tidy (tfjs). */
  forward(obs: Float32Array, actions: Float32Array, batch: number): QForward {
    if (this.kernels) {
      // A copy: the trace keeps its input, and the concat buffer is reused by the next call.
      const { output, trace } = this.net.forwardTraceArrays(this.concat(obs, actions, batch).slice(), batch);
      return { q: output, trace, batch };
    }
    const x = tf.tensor2d(this.concat(obs, actions, batch), [batch, this.obsSize + this.actSize]);
    const { output, trace } = this.net.forwardTrace(x);
    return { q: Float32Array.from(output.dataSync() as Float32Array), trace, batch };
  }

  /** Q(s, a) only (targets): no trace kept. Call inside tf.tidy. */
  predict(obs: Float32Array, actions: Float32Array, batch: number): Float32Array {
    return this.forward(obs, actions, batch).q;
  }

  /** Parameter gradients (variables order) of a loss whose derivative by each Q is dQ. Call inside tf.tidy. */
  backward(fwd: QForward, dQ: Float32Array): Gradient[] {
    if (this.kernels) return this.net.backwardArrays(fwd.trace as MLPArrayTrace, dQ);
    return this.net.backward(fwd.trace as MLPTrace, tf.tensor2d(dQ, [fwd.batch, 1]));
  }

  /** dL/da [batch × actSize] of a loss whose derivative by each Q is dQ. Call inside tf.tidy. */
  actionGradient(fwd: QForward, dQ: Float32Array): Float32Array {
    const dx = this.kernels
      ? this.net.inputGradientArrays(fwd.trace as MLPArrayTrace, dQ)
      : (this.net.inputGradient(fwd.trace as MLPTrace, tf.tensor2d(dQ, [fwd.batch, 1])).dataSync() as Float32Array);
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
