import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { createVariable } from "./variables.js";

/**
 * Action distributions, batched over rows.
 *
 * Each has two faces: tensor methods (`logProb`, `entropy`, `mode`) for the loss, which
 * are differentiable and belong inside tf.tidy, and typed-array `sample` for acting in a
 * rollout, which uses no tensors at all (tfjs's per-op overhead would dominate there).
 * The tensor methods take the network output ("params": logits, or Gaussian means)
 * shaped [batch, k].
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * The logit a masked action gets (SB3's MaskableCategorical): large and negative rather than
 * −∞, so its probability is exactly 0 and p·log p is 0 instead of NaN.
 */
export const MASKED_LOGIT = -1e8;

/**
 * Logits with the masked actions (mask 0) replaced by MASKED_LOGIT. mask: [batch, n], 1 =
 * allowed (any dtype). The replaced entries are constants, so no gradient reaches them.
 */
export function maskLogits(logits: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor2D {
  const allowed = mask.dtype === "bool" ? mask : tf.greater(mask, 0);
  return tf.where(allowed, logits, tf.fill(logits.shape, MASKED_LOGIT)) as tf.Tensor2D;
}

/** maskLogits on row-major [batch, n] typed arrays, in place. mask: 1 = allowed. */
export function maskLogitsInPlace(logits: Float32Array, mask: Uint8Array, batch: number, n: number): Float32Array {
  for (let i = 0; i < batch * n; i++) if (!mask[i]) logits[i] = MASKED_LOGIT;
  return logits;
}

/**
 * Categorical distribution over `numActions` actions, parameterised by logits. Every method
 * takes an optional action mask ([batch, n], 1 = allowed): masked actions get the logit
 * MASKED_LOGIT first, so they have probability 0, add 0 to the entropy and get no gradient.
 */
export class Categorical {
  constructor(readonly numActions: number) {
    if (!Number.isSafeInteger(numActions) || numActions < 1) {
      throw new ConfigError(`Categorical needs a positive integer number of actions, got ${describeValue(numActions)}`, "pass e.g. 2 for CartPole");
    }
  }

  /** log π(a) per row. logits [batch, n], actions [batch] (integer-valued). */
  logProb(logits: tf.Tensor2D, actions: tf.Tensor1D, mask?: tf.Tensor2D | null): tf.Tensor1D {
    return tf.sum(tf.mul(tf.logSoftmax(mask ? maskLogits(logits, mask) : logits), this.oneHot(actions)), 1);
  }

  /** Entropy −Σ p log p per row, in nats. */
  entropy(logits: tf.Tensor2D, mask?: tf.Tensor2D | null): tf.Tensor1D {
    const logp = tf.logSoftmax(mask ? maskLogits(logits, mask) : logits);
    return tf.neg(tf.sum<tf.Tensor1D>(tf.mul(tf.exp(logp), logp), 1));
  }

  /** logProb and entropy together, sharing one log-softmax (fewer tensor ops in a loss). */
  logProbEntropy(logits: tf.Tensor2D, actions: tf.Tensor1D, mask?: tf.Tensor2D | null): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
    const logp = tf.logSoftmax(mask ? maskLogits(logits, mask) : logits);
    return {
      logProb: tf.sum(tf.mul(logp, this.oneHot(actions)), 1),
      entropy: tf.neg(tf.sum<tf.Tensor1D>(tf.mul(tf.exp(logp), logp), 1)),
    };
  }

  /** Most likely allowed action per row (int32). */
  mode(logits: tf.Tensor2D, mask?: tf.Tensor2D | null): tf.Tensor1D {
    return tf.argMax<tf.Tensor1D>(mask ? maskLogits(logits, mask) : logits, 1);
  }

  /**
   * Typed-array twin of `logProbEntropy` for a loss whose gradient is written by hand
   * (PPO's lean update): log π(a) and the entropy of each row of row-major [batch, n]
   * logits. Same formulas (a log-softmax shifted by the row max), accumulated in float64.
   * With a mask the logits are masked first (a copy; pass already-masked logits and no mask
   * to avoid it).
   */
  logProbEntropyArrays(logits: Float32Array, actions: Int32Array, batch: number, logProbOut: Float32Array, entropyOut: Float32Array, mask?: Uint8Array | null): void {
    const n = this.numActions;
    if (mask) logits = maskLogitsInPlace(logits.slice(0, batch * n), mask, batch, n);
    const logp = new Float64Array(n);
    for (let r = 0; r < batch; r++) {
      const a = this.checkedAction(actions, r);
      logSoftmaxRow(logits, r * n, n, logp);
      let entropy = 0;
      for (let i = 0; i < n; i++) entropy -= Math.exp(logp[i]) * logp[i];
      logProbOut[r] = logp[a];
      entropyOut[r] = entropy;
    }
  }

  /**
   * Backward pass of `logProbEntropyArrays`: dL/dlogits from dL/dlogπ(a) and dL/dH per
   * row. Through the log-softmax p = softmax(z): with g_i = dL/dlog p_i
   * = [i = a]·dLogProb − dEntropy·p_i·(1 + log p_i), dL/dz_i = g_i − p_i·Σ_j g_j.
   * A masked action has p_i = 0 exactly, so its g_i and dL/dz_i are 0; with `mask` the
   * logits are masked first and those entries are set to 0 explicitly.
   */
  logProbEntropyGrad(
    logits: Float32Array,
    actions: Int32Array,
    batch: number,
    dLogProb: Float32Array,
    dEntropy: Float32Array,
    dLogitsOut: Float32Array,
    mask?: Uint8Array | null,
  ): void {
    const n = this.numActions;
    if (mask) logits = maskLogitsInPlace(logits.slice(0, batch * n), mask, batch, n);
    const logp = new Float64Array(n);
    const g = new Float64Array(n);
    for (let r = 0; r < batch; r++) {
      const a = this.checkedAction(actions, r);
      logSoftmaxRow(logits, r * n, n, logp);
      let gSum = 0;
      for (let i = 0; i < n; i++) {
        g[i] = (i === a ? dLogProb[r] : 0) - dEntropy[r] * Math.exp(logp[i]) * (1 + logp[i]);
        gSum += g[i];
      }
      for (let i = 0; i < n; i++) dLogitsOut[r * n + i] = mask && !mask[r * n + i] ? 0 : g[i] - Math.exp(logp[i]) * gSum;
    }
  }

  private checkedAction(actions: Int32Array, r: number): number {
    const a = actions[r];
    if (!(a >= 0 && a < this.numActions)) {
      throw new RefineryError(
        "invalid_action",
        `Categorical over ${this.numActions} actions got action ${describeValue(a)} in row ${r}`,
        `pass integer actions in [0, ${this.numActions})`,
      );
    }
    return a;
  }

  /**
   * Draws one action per row from softmax(logits) (row-major [batch, n]) and writes the
   * actions and their log-probabilities. Uses one `rng.uniform()` per row, the same draw
   * as `rng.categoricalFromLogits`.
   */
  sample(logits: Float32Array, batch: number, rng: Rng, actionsOut: Int32Array, logProbOut?: Float32Array, mask?: Uint8Array | null): void {
    if (mask) logits = maskLogitsInPlace(logits.slice(0, batch * this.numActions), mask, batch, this.numActions);
    sampleCategorical(logits, batch, this.numActions, rng, actionsOut, logProbOut);
  }

  /**
   * Float one-hot rows for the actions. Selecting log-probabilities by one-hot × log-softmax
   * rather than gather: gather's gradient needs UnsortedSegmentSum, which the wasm backend
   * lacks (docs/training.md, "Tensor backends").
   */
  private oneHot(actions: tf.Tensor1D): tf.Tensor2D {
    const indices = actions.dtype === "int32" ? actions : tf.cast(actions, "int32");
    return tf.cast(tf.oneHot(indices, this.numActions), "float32") as tf.Tensor2D;
  }

  /** Most likely (allowed) action per row, typed-array version of `mode`. */
  modeFast(logits: Float32Array, batch: number, actionsOut: Int32Array, mask?: Uint8Array | null): void {
    const n = this.numActions;
    for (let r = 0; r < batch; r++) {
      let best = -1;
      for (let i = 0; i < n; i++) {
        if (mask && !mask[r * n + i]) continue;
        if (best < 0 || logits[r * n + i] > logits[r * n + best]) best = i;
      }
      actionsOut[r] = best < 0 ? 0 : best;
    }
  }
}

/** log-softmax of logits[offset .. offset + n) into `out`, shifted by the max as tf.logSoftmax. */
function logSoftmaxRow(logits: Float32Array, offset: number, n: number, out: Float64Array): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[offset + i] > max) max = logits[offset + i];
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.exp(logits[offset + i] - max);
  const logTotal = Math.log(total);
  for (let i = 0; i < n; i++) out[i] = logits[offset + i] - max - logTotal;
}

/** Typed-array categorical sampling: see Categorical.sample. */
export function sampleCategorical(
  logits: Float32Array,
  batch: number,
  numActions: number,
  rng: Rng,
  actionsOut: Int32Array,
  logProbOut?: Float32Array,
): void {
  for (let r = 0; r < batch; r++) {
    const off = r * numActions;
    let max = -Infinity;
    for (let i = 0; i < numActions; i++) if (logits[off + i] > max) max = logits[off + i];
    let total = 0;
    for (let i = 0; i < numActions; i++) total += Math.exp(logits[off + i] - max);
    if (!(total >= 1) || !Number.isFinite(total)) throw nonFinite("logits", logits, off, numActions);
    const u = rng.uniform() * total;
    let action = numActions - 1;
    let acc = 0;
    for (let i = 0; i < numActions; i++) {
      acc += Math.exp(logits[off + i] - max);
      if (u < acc) {
        action = i;
        break;
      }
    }
    actionsOut[r] = action;
    if (logProbOut) logProbOut[r] = logits[off + action] - max - Math.log(total);
  }
}

export interface DiagGaussianOptions {
  /** Variable name prefix; the log-std is `${name}/log_std`. Default "gaussian". */
  name?: string;
  /** Initial log standard deviation of every dimension. Default 0 (CleanRL). */
  initLogStd?: number;
}

/**
 * Diagonal Gaussian whose mean comes from the network and whose log standard deviation
 * is a learned, state-independent vector (CleanRL's `actor_logstd`), a tf.Variable.
 */
export class DiagGaussian {
  readonly dim: number;
  readonly logStd: tf.Variable<tf.Rank.R1>;
  readonly paramName: string;
  private readonly fastLogStd: Float32Array;

  constructor(dim: number, options: DiagGaussianOptions = {}) {
    if (!Number.isSafeInteger(dim) || dim < 1) {
      throw new ConfigError(`DiagGaussian needs a positive integer action dimension, got ${describeValue(dim)}`, "pass the Box action shape's size");
    }
    const init = options.initLogStd ?? 0;
    if (!Number.isFinite(init)) {
      throw new ConfigError(`initLogStd must be finite, got ${describeValue(init)}`, "pass e.g. 0 (std 1) or -0.5");
    }
    this.dim = dim;
    this.paramName = `${options.name ?? "gaussian"}/log_std`;
    this.logStd = createVariable(() => tf.fill([dim], init) as tf.Tensor1D, true, this.paramName);
    this.fastLogStd = new Float32Array(dim).fill(init);
  }

  /** Σ_d log N(a_d; μ_d, σ_d²) per row. mean, actions [batch, dim]. */
  logProb(mean: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
    const z = tf.mul(tf.sub(actions, mean), tf.exp(tf.neg(this.logStd)));
    const perDim = tf.sub(tf.mul(-0.5, tf.square(z)), tf.add(this.logStd, HALF_LOG_2PI));
    return tf.sum(perDim, 1);
  }

  /** Entropy Σ_d (½ + ½ log 2π + log σ_d), the same for every row; shape [batch]. */
  entropy(mean: tf.Tensor2D): tf.Tensor1D {
    const perRow = tf.add(tf.sum(this.logStd), this.dim * (0.5 + HALF_LOG_2PI));
    return tf.add(tf.zeros([mean.shape[0]]), perRow);
  }

  /** logProb and entropy together (same interface as Categorical.logProbEntropy). */
  logProbEntropy(mean: tf.Tensor2D, actions: tf.Tensor2D): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
    return { logProb: this.logProb(mean, actions), entropy: this.entropy(mean) };
  }

  /**
   * Typed-array twin of `logProbEntropy` (see Categorical.logProbEntropyArrays), with the
   * current log-std read from its variable. mean, actions: row-major [batch, dim].
   */
  logProbEntropyArrays(mean: Float32Array, actions: Float32Array, batch: number, logProbOut: Float32Array, entropyOut: Float32Array): void {
    const dim = this.dim;
    const logStd = this.logStd.dataSync() as Float32Array;
    let entropy = dim * (0.5 + HALF_LOG_2PI);
    let logNormaliser = dim * HALF_LOG_2PI;
    for (let d = 0; d < dim; d++) {
      entropy += logStd[d];
      logNormaliser += logStd[d];
    }
    for (let r = 0; r < batch; r++) {
      let sq = 0;
      for (let d = 0; d < dim; d++) {
        const z = (actions[r * dim + d] - mean[r * dim + d]) * Math.exp(-logStd[d]);
        sq += z * z;
      }
      logProbOut[r] = -0.5 * sq - logNormaliser;
      entropyOut[r] = entropy;
    }
  }

  /**
   * Backward pass of `logProbEntropyArrays`: with z = (a − μ)/σ,
   * dL/dμ = dLogProb·z/σ per element and dL/dlog σ_d = Σ_rows dLogProb·(z² − 1) + dEntropy.
   */
  logProbEntropyGrad(
    mean: Float32Array,
    actions: Float32Array,
    batch: number,
    dLogProb: Float32Array,
    dEntropy: Float32Array,
    dMeanOut: Float32Array,
    dLogStdOut: Float32Array,
  ): void {
    const dim = this.dim;
    const logStd = this.logStd.dataSync() as Float32Array;
    const dLogStd = new Float64Array(dim);
    for (let r = 0; r < batch; r++) {
      for (let d = 0; d < dim; d++) {
        const i = r * dim + d;
        const invStd = Math.exp(-logStd[d]);
        const z = (actions[i] - mean[i]) * invStd;
        dMeanOut[i] = dLogProb[r] * z * invStd;
        dLogStd[d] += dLogProb[r] * (z * z - 1) + dEntropy[r];
      }
    }
    dLogStdOut.set(dLogStd);
  }

  /** The mean (a copy, so the caller owns the result like every other method's). */
  mode(mean: tf.Tensor2D): tf.Tensor2D {
    return tf.clone(mean);
  }

  /**
   * Draws mean + σ·ε per element (ε from `rng.normal()`, Box–Muller) for row-major
   * [batch, dim] means, writing actions and their summed log-probabilities. Uses the
   * log-std cached by `syncFastWeights`.
   */
  sample(mean: Float32Array, batch: number, rng: Rng, actionsOut: Float32Array, logProbOut?: Float32Array): void {
    sampleDiagGaussian(mean, this.fastLogStd, batch, this.dim, rng, actionsOut, logProbOut);
  }

  /** Refreshes the cached log-std used by `sample` (one dataSync); call after each update. */
  syncFastWeights(): void {
    this.fastLogStd.set(this.logStd.dataSync() as Float32Array);
  }

  /** A copy of the log-std. */
  getWeights(): Float32Array[] {
    return [Float32Array.from(this.logStd.dataSync() as Float32Array)];
  }

  setWeights(arrays: readonly Float32Array[]): void {
    const [logStd] = arrays;
    if (arrays.length !== 1 || !(logStd instanceof Float32Array) || logStd.length !== this.dim) {
      throw new ConfigError(
        `DiagGaussian.setWeights needs one Float32Array of length ${this.dim}, got ${describeValue(arrays)}`,
        "pass the arrays returned by getWeights()",
      );
    }
    tf.tidy(() => this.logStd.assign(tf.tensor1d(logStd)));
    this.syncFastWeights();
  }

  dispose(): void {
    this.logStd.dispose();
  }
}

/** Typed-array diagonal-Gaussian sampling: see DiagGaussian.sample. */
export function sampleDiagGaussian(
  mean: Float32Array,
  logStd: Float32Array,
  batch: number,
  dim: number,
  rng: Rng,
  actionsOut: Float32Array,
  logProbOut?: Float32Array,
): void {
  let logStdSum = 0;
  for (let d = 0; d < dim; d++) logStdSum += logStd[d];
  for (let r = 0; r < batch; r++) {
    let sq = 0;
    for (let d = 0; d < dim; d++) {
      const i = r * dim + d;
      const std = Math.exp(logStd[d]);
      const action = Math.fround(mean[i] + std * rng.normal());
      if (!Number.isFinite(action)) throw nonFinite("means", mean, r * dim, dim);
      actionsOut[i] = action;
      // From the stored (float32) action, so it matches logProb recomputed later.
      const z = (action - mean[i]) / std;
      sq += z * z;
    }
    if (logProbOut) logProbOut[r] = -0.5 * sq - logStdSum - dim * HALF_LOG_2PI;
  }
}

function nonFinite(what: string, arr: Float32Array, offset: number, length: number): RefineryError {
  return new RefineryError(
    "non_finite_policy_output",
    `the policy produced non-finite ${what} ${describeValue(arr.subarray(offset, offset + length))}`,
    "the network diverged: lower the learning rate, normalise observations, or check the env for NaN/inf observations",
  );
}
