import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MLP, type HiddenActivation, type MLPArrayTrace, type MLPInit, type MLPTrace } from "../nn/mlp.js";
import type { Gradient } from "../nn/network_adam.js";

export interface QNetworkOptions {
  obsSize: number;
  numActions: number;
  /** Hidden layer widths, e.g. [120, 84] (CleanRL's dqn.py). */
  hidden: readonly number[];
  activation?: HiddenActivation;
  /** V(s) and A(s, ·) heads on the last hidden layer, Q = V + A − mean_a A (Wang et al. 2016). */
  dueling?: boolean;
  /** Default "torch-default" (PyTorch's nn.Linear init, as CleanRL's and SB3's DQN). */
  init?: MLPInit;
  rng: Rng;
  /** Parameter-name prefix (default "q"); a target copy uses the same names. */
  name?: string;
  /** Run minibatch forward and backward passes on refinery's WebAssembly SIMD kernels instead of tfjs. Default false. */
  kernels?: boolean;
}

/** What `saveState`/`loadPolicy` need to rebuild a QNetwork. */
export interface QNetworkSpec {
  kind: "q-network";
  obsSize: number;
  numActions: number;
  hidden: number[];
  activation: HiddenActivation;
  dueling: boolean;
}

/** A forward pass kept for `backward`: Q(s, ·) as a typed array plus what the backward needs. */
export interface QForward {
  batch: number;
  /** [batch, numActions] row-major. */
  q: Float32Array;
  trace: MLPTrace;
  /** Dueling only. */
  dueling?: { hidden: tf.Tensor2D; value: MLPTrace; advantage: MLPTrace };
}

/** `QForward` on the kernels: typed arrays throughout. */
export interface QForwardArrays {
  batch: number;
  q: Float32Array;
  trace: MLPArrayTrace;
  dueling?: { hidden: Float32Array; value: MLPArrayTrace; advantage: MLPArrayTrace };
}

/**
 * A discrete-action Q-network: observation → one Q value per action.
 *
 * Plain: one MLP obs → hidden… → numActions. Dueling: an MLP trunk obs → hidden… (its last
 * layer followed by the hidden activation), then two linear heads on it, V(s) and A(s, ·),
 * combined as Q = V + A − mean_a A.
 *
 * Acting runs in plain JS (`qValues`, on cached weights; call `syncFastWeights` after each
 * optimiser step). Training runs `forward` (tensors, no tape) and `backward` from dL/dQ, the
 * MLP's hand-written backward; `apply` is the differentiable tfjs version the tests check the
 * hand-written gradients against.
 */
export class QNetwork {
  readonly spec: QNetworkSpec;
  readonly obsSize: number;
  readonly numActions: number;
  /** Plain: the whole network. Dueling: the trunk. */
  readonly body: MLP;
  readonly valueHead: MLP | null;
  readonly advantageHead: MLP | null;
  /** Whether `forward`/`backward`/`evaluate` run on the SIMD kernels. */
  readonly kernels: boolean;
  private valueBuf = new Float32Array(0);
  private advBuf = new Float32Array(0);
  private hiddenBuf = new Float32Array(0);

  constructor(options: QNetworkOptions) {
    const { obsSize, numActions, rng } = options;
    const hidden = [...options.hidden];
    const activation = options.activation ?? "relu";
    const dueling = options.dueling ?? false;
    const init = options.init ?? "torch-default";
    const name = options.name ?? "q";
    if (!Number.isSafeInteger(numActions) || numActions < 1) {
      throw new ConfigError(`a Q-network needs a positive number of actions, got ${describeValue(numActions)}`, "use a Discrete action space");
    }
    if (dueling && hidden.length === 0) {
      throw new ConfigError("a dueling Q-network needs at least one hidden layer for its two heads to share", "set hidden to e.g. [64, 64]");
    }
    this.obsSize = obsSize;
    this.numActions = numActions;
    this.kernels = options.kernels ?? false;
    this.spec = { kind: "q-network", obsSize, numActions, hidden, activation, dueling };
    if (dueling) {
      this.body = new MLP({ sizes: [obsSize, ...hidden], rng, init, activation, name: `${name}/trunk` });
      const last = hidden[hidden.length - 1];
      this.valueHead = new MLP({ sizes: [last, 1], rng, init, name: `${name}/value` });
      this.advantageHead = new MLP({ sizes: [last, numActions], rng, init, name: `${name}/advantage` });
    } else {
      this.body = new MLP({ sizes: [obsSize, ...hidden, numActions], rng, init, activation, name });
      this.valueHead = null;
      this.advantageHead = null;
    }
  }

  /** The networks, in parameter order. */
  get parts(): MLP[] {
    return this.valueHead && this.advantageHead ? [this.body, this.valueHead, this.advantageHead] : [this.body];
  }

  /** Trainable variables, in the order `backward` returns gradients. */
  get variables(): tf.Variable[] {
    return this.parts.flatMap((m) => [...m.variables]);
  }

  paramShapes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const m of this.parts) m.paramNames.forEach((n, i) => (out[n] = [...m.paramShapes[i]]));
    return out;
  }

  getWeights(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const m of this.parts) {
      const w = m.getWeights();
      m.paramNames.forEach((n, i) => (out[n] = w[i]));
    }
    return out;
  }

  setWeights(weights: Record<string, Float32Array>): void {
    for (const m of this.parts) {
      const missing = m.paramNames.filter((n) => !(weights[n] instanceof Float32Array));
      if (missing.length) {
        throw new ConfigError(`Q-network weights lack ${missing.join(", ")}`, "pass the weights of a Q-network with the same sizes (getWeights())");
      }
      m.setWeights(m.paramNames.map((n) => weights[n]));
    }
  }

  syncFastWeights(): void {
    for (const m of this.parts) m.syncFastWeights();
  }

  /** Q(s, ·) for `batch` observations in plain JS on the cached weights: [batch, numActions] into `out`. */
  qValues(obs: Float32Array, batch: number, out?: Float32Array): Float32Array {
    const nA = this.numActions;
    const result = out ?? new Float32Array(batch * nA);
    if (!this.valueHead || !this.advantageHead) return this.body.forwardFast(obs, batch, result);
    const width = this.body.outputSize;
    if (this.hiddenBuf.length < batch * width) this.hiddenBuf = new Float32Array(batch * width);
    if (this.valueBuf.length < batch) this.valueBuf = new Float32Array(batch);
    if (this.advBuf.length < batch * nA) this.advBuf = new Float32Array(batch * nA);
    const h = this.body.forwardFast(obs, batch, this.hiddenBuf);
    activateInPlace(h, batch * width, this.spec.activation);
    this.valueHead.forwardFast(h, batch, this.valueBuf);
    this.advantageHead.forwardFast(h, batch, this.advBuf);
    combineDueling(this.valueBuf, this.advBuf, batch, nA, result);
    return result;
  }

  /** Greedy action of each of `batch` observations into `out`. */
  greedy(obs: Float32Array, batch: number, out: Int32Array): Int32Array {
    const q = this.qValues(obs, batch);
    for (let b = 0; b < batch; b++) out[b] = argmaxRow(q, b, this.numActions);
    return out;
  }

  /** Q(s, ·) for a batch on tfjs or the kernels (faster than `qValues` for minibatches), no tape: [batch, numActions]. */
  evaluate(obs: Float32Array, batch: number): Float32Array {
    if (this.kernels) return this.forwardArrays(obs, batch).q;
    return tf.tidy(() => Float32Array.from(this.apply(tf.tensor2d(obs.subarray(0, batch * this.obsSize), [batch, this.obsSize])).dataSync()));
  }

  /** Differentiable Q(s, ·) [batch, numActions] on tfjs (the reference for `forward`/`backward`). */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (!this.valueHead || !this.advantageHead) return this.body.apply(x);
    const z = this.body.apply(x);
    const h = this.spec.activation === "relu" ? tf.relu(z) : tf.tanh(z);
    const v = this.valueHead.apply(h as tf.Tensor2D);
    const a = this.advantageHead.apply(h as tf.Tensor2D);
    return tf.add(v, tf.sub(a, tf.mean(a, 1, true))) as tf.Tensor2D;
  }

  /** Q(s, ·) on the kernels, keeping what `backwardArrays` needs. */
  forwardArrays(obs: Float32Array, batch: number): QForwardArrays {
    const body = this.body.forwardTraceArrays(obs.subarray(0, batch * this.obsSize), batch);
    if (!this.valueHead || !this.advantageHead) return { batch, q: body.output, trace: body.trace };
    const h = body.output.slice();
    activateInPlace(h, h.length, this.spec.activation);
    const v = this.valueHead.forwardTraceArrays(h, batch);
    const a = this.advantageHead.forwardTraceArrays(h, batch);
    const q = new Float32Array(batch * this.numActions);
    combineDueling(v.output, a.output, batch, this.numActions, q);
    return { batch, q, trace: body.trace, dueling: { hidden: h, value: v.trace, advantage: a.trace } };
  }

  /** `backward` of a `forwardArrays`: Float32Array gradients in `variables` order. */
  backwardArrays(fwd: QForwardArrays, dQ: Float32Array): Float32Array[] {
    if (!fwd.dueling || !this.valueHead || !this.advantageHead) return this.body.backwardArrays(fwd.trace, dQ);
    const { dV, dA } = duelingGrads(dQ, fwd.batch, this.numActions);
    const value = this.valueHead.backwardArraysWithInput(fwd.dueling.value, dV);
    const adv = this.advantageHead.backwardArraysWithInput(fwd.dueling.advantage, dA);
    const h = fwd.dueling.hidden;
    const dz = new Float32Array(h.length);
    const relu = this.spec.activation === "relu";
    for (let i = 0; i < h.length; i++) {
      const dh = value.dInput[i] + adv.dInput[i];
      dz[i] = relu ? (h[i] > 0 ? dh : 0) : dh * (1 - h[i] * h[i]);
    }
    return [...this.body.backwardArrays(fwd.trace, dz), ...value.grads, ...adv.grads];
  }

  /**
   * Q(s, ·) and the gradient of a loss L(Q(s, ·)) whose derivative dL/dQ `lossGrad` computes
   * from the Q values, on the backend the network runs on (tfjs: inside a tf.tidy of its own).
   * Returns the gradients in `variables` order (tensors on tfjs, to free; Float32Arrays on the kernels).
   */
  valuesAndGradients(obs: Float32Array, batch: number, lossGrad: (q: Float32Array) => Float32Array): { q: Float32Array; grads: Gradient[] } {
    if (this.kernels) {
      const fwd = this.forwardArrays(obs, batch);
      return { q: fwd.q, grads: this.backwardArrays(fwd, lossGrad(fwd.q)) };
    }
    let q: Float32Array = new Float32Array(0);
    const grads = tf.tidy(() => {
      const fwd = this.forward(obs, batch);
      q = fwd.q;
      return this.backward(fwd, lossGrad(fwd.q));
    });
    return { q, grads };
  }

  /** Q(s, ·) without a gradient tape, keeping what `backward` needs; call inside tf.tidy. */
  forward(obs: Float32Array, batch: number): QForward {
    const x = tf.tensor2d(obs.subarray(0, batch * this.obsSize), [batch, this.obsSize]);
    const body = this.body.forwardTrace(x);
    if (!this.valueHead || !this.advantageHead) return { batch, q: Float32Array.from(body.output.dataSync()), trace: body.trace };
    const h = (this.spec.activation === "relu" ? tf.relu(body.output) : tf.tanh(body.output)) as tf.Tensor2D;
    const v = this.valueHead.forwardTrace(h);
    const a = this.advantageHead.forwardTrace(h);
    const q = new Float32Array(batch * this.numActions);
    combineDueling(v.output.dataSync() as Float32Array, a.output.dataSync() as Float32Array, batch, this.numActions, q);
    return { batch, q, trace: body.trace, dueling: { hidden: h, value: v.trace, advantage: a.trace } };
  }

  /** Gradients of every variable (in `variables` order) from dL/dQ [batch, numActions]; inside tf.tidy. */
  backward(fwd: QForward, dQ: Float32Array): tf.Tensor[] {
    const { batch } = fwd;
    const nA = this.numActions;
    if (!fwd.dueling || !this.valueHead || !this.advantageHead) return this.body.backward(fwd.trace, tf.tensor2d(dQ, [batch, nA]));
    const { dV, dA } = duelingGrads(dQ, batch, nA);
    const value = this.valueHead.backwardWithInput(fwd.dueling.value, tf.tensor2d(dV, [batch, 1]));
    const adv = this.advantageHead.backwardWithInput(fwd.dueling.advantage, tf.tensor2d(dA, [batch, nA]));
    const h = fwd.dueling.hidden;
    const dh = tf.add(value.dInput, adv.dInput);
    const dz = this.spec.activation === "relu" ? tf.mul(dh, tf.step(h)) : tf.mul(dh, tf.sub(1, tf.square(h)));
    const trunk = this.body.backward(fwd.trace, dz as tf.Tensor2D);
    return [...trunk, ...value.grads, ...adv.grads];
  }

  dispose(): void {
    for (const m of this.parts) m.dispose();
  }
}

/** Index of the largest of row b's n values (the first on ties, as numpy/torch argmax). */
export function argmaxRow(q: ArrayLike<number>, b: number, n: number): number {
  let best = 0;
  let max = q[b * n];
  for (let a = 1; a < n; a++) {
    if (q[b * n + a] > max) {
      max = q[b * n + a];
      best = a;
    }
  }
  return best;
}

/** Q = V + A − mean A: dV = Σ_a dQ, dA = dQ − mean_a dQ. */
function duelingGrads(dQ: Float32Array, batch: number, nA: number): { dV: Float32Array; dA: Float32Array } {
  const dV = new Float32Array(batch);
  const dA = new Float32Array(batch * nA);
  for (let b = 0; b < batch; b++) {
    let sum = 0;
    for (let a = 0; a < nA; a++) sum += dQ[b * nA + a];
    dV[b] = sum;
    for (let a = 0; a < nA; a++) dA[b * nA + a] = dQ[b * nA + a] - sum / nA;
  }
  return { dV, dA };
}

function combineDueling(v: ArrayLike<number>, adv: ArrayLike<number>, batch: number, nA: number, out: Float32Array): void {
  for (let b = 0; b < batch; b++) {
    let mean = 0;
    for (let a = 0; a < nA; a++) mean += adv[b * nA + a];
    mean /= nA;
    for (let a = 0; a < nA; a++) out[b * nA + a] = v[b] + adv[b * nA + a] - mean;
  }
}

function activateInPlace(x: Float32Array, n: number, act: HiddenActivation): void {
  if (act === "relu") for (let i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
  else for (let i = 0; i < n; i++) x[i] = Math.tanh(x[i]);
}
