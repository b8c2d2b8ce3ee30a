import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MLP, type MLPArrayTrace, type MLPTrace } from "../nn/mlp.js";
import type { Gradient } from "../nn/network_adam.js";

export interface DeterministicActorOptions {
  obsSize: number;
  low: ArrayLike<number>;
  high: ArrayLike<number>;
  /** Hidden widths. Default [256, 256] (CleanRL's TD3). */
  hidden?: readonly number[];
  rng: Rng;
  name?: string;
  /** Run forward and backward passes on refinery's WebAssembly SIMD kernels instead of tfjs. Default false. */
  kernels?: boolean;
}

/** A forward pass kept for `backward`: actions [batch × actSize] and y = tanh(z). */
export interface DeterministicForward {
  batch: number;
  actions: Float32Array;
  y: Float64Array;
  trace: MLPTrace | MLPArrayTrace;
}

/**
 * TD3's actor μ(s) = scale·tanh(MLP(s)) + bias: a ReLU MLP whose tanh output is stretched onto
 * the action box (CleanRL's `td3_continuous_action.py`). Exploration noise and the target
 * policy's smoothing noise are added outside (loss/offpolicy.ts).
 */
export class DeterministicActor {
  readonly obsSize: number;
  readonly actSize: number;
  readonly net: MLP;
  readonly scale: Float64Array;
  readonly bias: Float64Array;
  readonly low: Float64Array;
  readonly high: Float64Array;
  readonly kernels: boolean;
  private fastOut = new Float32Array(0);

  constructor(options: DeterministicActorOptions) {
    const actSize = options.low.length;
    if (actSize < 1 || options.high.length !== actSize) {
      throw new ConfigError(`action bounds must be two arrays of one equal, positive length, got ${describeValue(options.low)} and ${describeValue(options.high)}`, "pass the Box's low and high");
    }
    this.obsSize = options.obsSize;
    this.actSize = actSize;
    this.kernels = options.kernels ?? false;
    this.low = Float64Array.from(options.low);
    this.high = Float64Array.from(options.high);
    this.scale = new Float64Array(actSize);
    this.bias = new Float64Array(actSize);
    for (let j = 0; j < actSize; j++) {
      if (!Number.isFinite(this.low[j]) || !Number.isFinite(this.high[j]) || !(this.high[j] > this.low[j])) {
        throw new ConfigError(`a deterministic actor needs finite action bounds with low < high, got [${this.low[j]}, ${this.high[j]}] in dimension ${j}`, "use an env whose action space is a bounded Box");
      }
      this.scale[j] = (this.high[j] - this.low[j]) / 2;
      this.bias[j] = (this.high[j] + this.low[j]) / 2;
    }
    const hidden = options.hidden ?? [256, 256];
    this.net = new MLP({ sizes: [options.obsSize, ...hidden, actSize], rng: options.rng, activation: "relu", init: "torch-default", name: options.name ?? "actor" });
  }

  get variables(): readonly tf.Variable[] {
    return this.net.variables;
  }

  /** μ(s) for a batch with the trace for `backward`. Call inside tf.tidy (tfjs). */
  forward(obs: Float32Array, batch: number): DeterministicForward {
    const A = this.actSize;
    const x = obs.subarray(0, batch * this.obsSize);
    let z: Float32Array;
    let trace: MLPTrace | MLPArrayTrace;
    if (this.kernels) ({ output: z, trace } = this.net.forwardTraceArrays(x, batch));
    else {
      const f = this.net.forwardTrace(tf.tensor2d(x, [batch, this.obsSize]));
      z = f.output.dataSync() as Float32Array;
      trace = f.trace;
    }
    const actions = new Float32Array(batch * A);
    const y = new Float64Array(batch * A);
    for (let k = 0; k < batch * A; k++) {
      y[k] = Math.tanh(z[k]);
      actions[k] = this.scale[k % A] * y[k] + this.bias[k % A];
    }
    return { batch, actions, y, trace };
  }

  /** Parameter gradients of a loss with derivative dActions by μ(s) [batch × actSize]. Call inside tf.tidy. */
  backward(fwd: DeterministicForward, dActions: ArrayLike<number>): Gradient[] {
    const A = this.actSize;
    const dz = new Float32Array(fwd.batch * A);
    for (let k = 0; k < dz.length; k++) dz[k] = dActions[k] * this.scale[k % A] * (1 - fwd.y[k] * fwd.y[k]);
    if (this.kernels) return this.net.backwardArrays(fwd.trace as MLPArrayTrace, dz);
    return this.net.backward(fwd.trace as MLPTrace, tf.tensor2d(dz, [fwd.batch, A]));
  }

  /**
   * Actions for acting on the fast forward: μ(s) plus N(0, (noiseStd·scale)²) when `rng` is given,
   * clipped to the box (CleanRL's exploration). `out` gets [batch × actSize].
   */
  act(obs: Float32Array, batch: number, rng: Rng | null, noiseStd: number, out: Float32Array): Float32Array {
    const A = this.actSize;
    if (this.fastOut.length < batch * A) this.fastOut = new Float32Array(batch * A);
    const z = this.net.forwardFast(obs, batch, this.fastOut);
    for (let k = 0; k < batch * A; k++) {
      const j = k % A;
      let a = this.scale[j] * Math.tanh(z[k]) + this.bias[j];
      if (rng) a = Math.min(this.high[j], Math.max(this.low[j], a + rng.normal() * noiseStd * this.scale[j]));
      out[k] = a;
    }
    return out;
  }

  syncFastWeights(): void {
    this.net.syncFastWeights();
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
