import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { createVariable } from "./variables.js";

/**
 * Generalized State-Dependent Exploration (gSDE; Raffin, Kober & Stulp, "Smooth
 * Exploration for Robotic Reinforcement Learning", 2021), with the semantics of
 * Stable-Baselines3's `StateDependentNoiseDistribution` under the settings its PPO uses:
 * exp() for the std (no expln), no tanh squashing, and features that are *not* learned
 * through the noise (the latent is detached in the loss).
 *
 * The exploration noise is a linear function of the policy's latent features z (the
 * actor's last hidden activation): a = μ(s) + z(s)·ε with ε ~ N(0, σ²) elementwise, an
 * exploration matrix [latentDim, actionDim] that stays fixed between resamples. So within
 * a resampling period the same state gives the same action, and the noise is smooth in
 * the state, instead of white noise at every step.
 *
 * For the loss each action is treated as Gaussian around μ with per-dimension variance
 * Σ_k z_k² σ_kj² (+ ε = 1e-6, as SB3, so a zero latent does not give a zero variance).
 *
 * Like DiagGaussian it has two faces: tensor `logProb`/`entropy` for the loss (inside
 * tf.tidy) and typed-array `sample` for acting, which reads cached copies of σ and of the
 * exploration matrices, so acting touches no tensors.
 */

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

export interface GSDEOptions {
  /**
   * Initial value of every log_std entry. Default 0: SB3's ActorCriticPolicy default
   * (what PPO/A2C get unless `log_std_init` is passed; the Zoo's MountainCarContinuous
   * PPO uses −3.29).
   */
  logStdInit?: number;
  /**
   * One log-std per (latent feature, action) pair, log_std shaped [latentDim, actionDim]
   * (SB3's `full_std=True`, the default); false gives one per latent feature, [latentDim, 1],
   * shared by all actions.
   */
  fullStd?: boolean;
  /** Variable name prefix; the log-std is `${name}/log_std`. Default "gsde". */
  name?: string;
  /** Added to the variance before the square root (SB3's `epsilon`). Default 1e-6. */
  epsilon?: number;
}

/**
 * tfjs has no stop-gradient op: an identity whose gradient is zero. The forward is a
 * clone (shares the data, no copy); the backward sends zeros to the input, so nothing
 * reaches the network that produced it.
 */
export const stopGradient: <T extends tf.Tensor>(x: T) => T = (() => {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return <T extends tf.Tensor>(x: T) => op(x) as T;
})();

/** gSDE action distribution; see the file comment. */
export class GSDE {
  readonly actionDim: number;
  readonly latentDim: number;
  readonly fullStd: boolean;
  readonly epsilon: number;
  /** [latentDim, actionDim] when fullStd, else [latentDim, 1]. */
  readonly logStd: tf.Variable<tf.Rank.R2>;
  readonly paramName: string;

  /** σ² per (feature, action), [latentDim × actionDim] row-major, from the last sync. */
  private readonly fastVariance: Float64Array;
  /** σ per (feature, action), from the last sync. */
  private readonly fastStd: Float64Array;
  /** `numMatrices` exploration matrices, each [latentDim × actionDim] row-major. */
  private noise: Float32Array;
  private matrices = 0;
  private disposed = false;

  constructor(actionDim: number, latentDim: number, options: GSDEOptions = {}) {
    checkDim(actionDim, "action dimension", "pass the Box action shape's size");
    checkDim(latentDim, "latent dimension", "pass the width of the actor's last hidden layer, e.g. 64");
    const init = options.logStdInit ?? 0;
    if (!Number.isFinite(init)) {
      throw new ConfigError(`gSDE logStdInit must be finite, got ${describeValue(init)}`, "pass e.g. 0 (SB3's default) or -2");
    }
    const epsilon = options.epsilon ?? 1e-6;
    if (!(epsilon >= 0) || !Number.isFinite(epsilon)) {
      throw new ConfigError(`gSDE epsilon must be finite and ≥ 0, got ${describeValue(epsilon)}`, "pass e.g. 1e-6 (SB3's default)");
    }
    this.actionDim = actionDim;
    this.latentDim = latentDim;
    this.fullStd = options.fullStd ?? true;
    this.epsilon = epsilon;
    this.paramName = `${options.name ?? "gsde"}/log_std`;
    const cols = this.fullStd ? actionDim : 1;
    this.logStd = createVariable(() => tf.fill([latentDim, cols], init) as tf.Tensor2D, true, this.paramName);
    this.fastVariance = new Float64Array(latentDim * actionDim);
    this.fastStd = new Float64Array(latentDim * actionDim);
    // Until the first resampleNoise the matrix is zero: sampling returns the mean.
    this.noise = new Float32Array(latentDim * actionDim);
    this.matrices = 1;
    this.syncFastWeights();
  }

  /** Number of exploration matrices drawn by the last `resampleNoise`. */
  get numMatrices(): number {
    return this.matrices;
  }

  /** σ = exp(log_std) as [latentDim, actionDim] (broadcast over actions when not fullStd). */
  std(): tf.Tensor2D {
    this.checkLive();
    const std = tf.exp(this.logStd);
    if (this.fullStd) return std;
    return tf.mul(tf.ones([this.latentDim, this.actionDim]), std);
  }

  /**
   * Per-row, per-action variance Σ_k z_k² σ_kj² + ε, [batch, actionDim]. The latent is
   * detached (SB3's `learn_features=False`): gradients reach log_std only.
   */
  variance(latent: tf.Tensor2D): tf.Tensor2D {
    this.checkLatent(latent);
    const z = stopGradient(latent);
    return tf.add(tf.matMul(tf.square(z), tf.square(this.std())), this.epsilon);
  }

  /** Σ_j log N(a_j; μ_j, var_j) per row. mean, actions [batch, actionDim]; latent [batch, latentDim]. */
  logProb(mean: tf.Tensor2D, latent: tf.Tensor2D, actions: tf.Tensor2D): tf.Tensor1D {
    return this.logProbEntropy(mean, latent, actions).logProb;
  }

  /** Σ_j (½ + ½ log 2π + ½ log var_j) per row, [batch]. */
  entropy(mean: tf.Tensor2D, latent: tf.Tensor2D): tf.Tensor1D {
    this.checkMean(mean, latent);
    const halfLogVar = tf.mul(0.5, tf.log(this.variance(latent)));
    return tf.add(tf.sum<tf.Tensor1D>(halfLogVar, 1), this.actionDim * (0.5 + HALF_LOG_2PI));
  }

  /** logProb and entropy sharing one variance computation (for the loss). */
  logProbEntropy(mean: tf.Tensor2D, latent: tf.Tensor2D, actions: tf.Tensor2D): { logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
    this.checkMean(mean, latent);
    if (actions.rank !== 2 || actions.shape[0] !== mean.shape[0] || actions.shape[1] !== this.actionDim) {
      throw new ConfigError(
        `gSDE actions must be [${mean.shape[0]}, ${this.actionDim}], got [${actions.shape.join(", ")}]`,
        "pass one row of actions per row of means",
      );
    }
    const variance = this.variance(latent);
    const halfLogVar = tf.mul(0.5, tf.log(variance));
    const diff = tf.sub(actions, mean);
    const perDim = tf.sub(tf.div(tf.mul(-0.5, tf.square(diff)), variance), tf.add(halfLogVar, HALF_LOG_2PI));
    return {
      logProb: tf.sum(perDim, 1),
      entropy: tf.add(tf.sum<tf.Tensor1D>(halfLogVar, 1), this.actionDim * (0.5 + HALF_LOG_2PI)),
    };
  }

  /**
   * Typed-array twin of `logProbEntropy` for a loss whose gradient is written by hand (PPO's
   * lean update), with σ read from the log-std variable (not the acting cache). mean,
   * actions: row-major [batch, actionDim]; latent: [batch, latentDim]. Float64 inside.
   */
  logProbEntropyArrays(
    mean: Float32Array,
    latent: Float32Array,
    actions: Float32Array,
    batch: number,
    logProbOut: Float32Array,
    entropyOut: Float32Array,
  ): void {
    const A = this.actionDim;
    const variance = this.rowVariances(latent, batch, this.currentVariance());
    for (let r = 0; r < batch; r++) {
      let sq = 0;
      let halfLogVar = 0;
      for (let j = 0; j < A; j++) {
        const i = r * A + j;
        const d = actions[i] - mean[i];
        sq += (d * d) / variance[i];
        halfLogVar += 0.5 * Math.log(variance[i]);
      }
      logProbOut[r] = -0.5 * sq - halfLogVar - A * HALF_LOG_2PI;
      entropyOut[r] = halfLogVar + A * (0.5 + HALF_LOG_2PI);
    }
  }

  /**
   * Backward pass of `logProbEntropyArrays`, from dL/dlog π and dL/dH per row. With
   * d = a − μ and v = Σ_k z_k² σ_k² + ε per action: dL/dμ = dLogProb·d/v, and
   * dL/dv = dLogProb·(d²/v² − 1/v)/2 + dEntropy/(2v), which reaches log σ_kj through
   * dv/dlog σ_kj = 2 z_k² σ_kj² (summed over actions when not fullStd). The latent gets no
   * gradient (detached, as in `variance`). dLogStdOut has the log-std's shape.
   */
  logProbEntropyGrad(
    mean: Float32Array,
    latent: Float32Array,
    actions: Float32Array,
    batch: number,
    dLogProb: Float32Array,
    dEntropy: Float32Array,
    dMeanOut: Float32Array,
    dLogStdOut: Float32Array,
  ): void {
    const A = this.actionDim;
    const L = this.latentDim;
    const sigma2 = this.currentVariance();
    const variance = this.rowVariances(latent, batch, sigma2);
    const dLogStd = new Float64Array(L * A);
    const dVar = new Float64Array(A);
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < A; j++) {
        const i = r * A + j;
        const v = variance[i];
        const d = actions[i] - mean[i];
        dMeanOut[i] = (dLogProb[r] * d) / v;
        dVar[j] = 0.5 * (dLogProb[r] * (d * d / (v * v) - 1 / v) + dEntropy[r] / v);
      }
      for (let k = 0; k < L; k++) {
        const z = latent[r * L + k];
        const z2 = 2 * z * z;
        if (z2 === 0) continue;
        for (let j = 0; j < A; j++) dLogStd[k * A + j] += dVar[j] * z2 * sigma2[k * A + j];
      }
    }
    if (this.fullStd) {
      dLogStdOut.set(dLogStd);
    } else {
      for (let k = 0; k < L; k++) {
        let sum = 0;
        for (let j = 0; j < A; j++) sum += dLogStd[k * A + j];
        dLogStdOut[k] = sum;
      }
    }
  }

  /** The mean (a copy, so the caller owns the result like every other method's). */
  mode(mean: tf.Tensor2D): tf.Tensor2D {
    return tf.clone(mean);
  }

  /** Typed-array `mode`: copies the means into `actionsOut`. */
  modeFast(mean: Float32Array, batch: number, actionsOut: Float32Array): void {
    actionsOut.set(mean.subarray(0, batch * this.actionDim));
  }

  /**
   * Draws new exploration matrices ε ~ N(0, σ²), each [latentDim, actionDim], from `rng`
   * (row-major, one `rng.normal()` per entry), using σ from the last `syncFastWeights`.
   *
   * `numMatrices` > 1 gives each row of a `sample` batch its own matrix (SB3 draws one per
   * env: `reset_noise(n_envs)`), used whenever the batch size equals `numMatrices`; any
   * other batch size uses the first matrix.
   */
  resampleNoise(rng: Rng, numMatrices = 1): void {
    this.checkLive();
    checkDim(numMatrices, "number of exploration matrices", "pass the number of envs the collector steps, e.g. 1 or 4");
    const size = this.latentDim * this.actionDim;
    if (this.noise.length !== numMatrices * size) this.noise = new Float32Array(numMatrices * size);
    this.matrices = numMatrices;
    const std = this.fastStd;
    for (let m = 0; m < numMatrices; m++) {
      const off = m * size;
      for (let i = 0; i < size; i++) this.noise[off + i] = std[i] * rng.normal();
    }
  }

  /**
   * Acting: action = mean + latent · ε per row (no randomness here: the noise changes
   * only at `resampleNoise`), and its log-probability under N(mean, latent² · σ² + ε).
   * mean [batch, actionDim] and latent [batch, latentDim], both row-major.
   */
  sample(mean: Float32Array, latent: Float32Array, batch: number, actionsOut: Float32Array, logProbOut?: Float32Array): void {
    this.checkLive();
    const A = this.actionDim;
    const L = this.latentDim;
    if (!Number.isSafeInteger(batch) || batch < 1 || mean.length < batch * A || latent.length < batch * L || actionsOut.length < batch * A) {
      throw new ConfigError(
        `gSDE sample needs batch ≥ 1, mean and actionsOut of length ≥ batch × ${A} and latent of length ≥ batch × ${L}; ` +
          `got batch ${describeValue(batch)}, mean ${mean.length}, latent ${latent.length}, actionsOut ${actionsOut.length}`,
        "pass row-major arrays, one row per batch element",
      );
    }
    const size = L * A;
    const perRow = this.matrices === batch;
    for (let r = 0; r < batch; r++) {
      const eps = perRow ? r * size : 0;
      let sq = 0;
      let logVarSum = 0;
      for (let j = 0; j < A; j++) {
        let noise = 0;
        let variance = this.epsilon;
        for (let k = 0; k < L; k++) {
          const z = latent[r * L + k];
          noise += z * this.noise[eps + k * A + j];
          variance += z * z * this.fastVariance[k * A + j];
        }
        const i = r * A + j;
        const action = Math.fround(mean[i] + noise);
        if (!Number.isFinite(action)) throw nonFinite(mean, latent, r, A, L);
        actionsOut[i] = action;
        // From the stored (float32) action, so it matches logProb recomputed later.
        const d = action - mean[i];
        sq += (d * d) / variance;
        logVarSum += Math.log(variance);
      }
      if (logProbOut) logProbOut[r] = -0.5 * sq - 0.5 * logVarSum - A * HALF_LOG_2PI;
    }
  }

  /** Refreshes the cached σ used by `resampleNoise` and `sample` (one dataSync); call after each update. */
  syncFastWeights(): void {
    this.checkLive();
    const logStd = this.logStd.dataSync() as Float32Array;
    const A = this.actionDim;
    for (let k = 0; k < this.latentDim; k++) {
      for (let j = 0; j < A; j++) {
        const s = Math.exp(logStd[this.fullStd ? k * A + j : k]);
        this.fastStd[k * A + j] = s;
        this.fastVariance[k * A + j] = s * s;
      }
    }
  }

  /** A copy of the current exploration matrices, [numMatrices × latentDim × actionDim] row-major. */
  getNoise(): Float32Array {
    return Float32Array.from(this.noise);
  }

  /** Installs exploration matrices (e.g. from another process's `getNoise`). */
  setNoise(noise: Float32Array): void {
    const size = this.latentDim * this.actionDim;
    if (!(noise instanceof Float32Array) || noise.length === 0 || noise.length % size !== 0) {
      throw new ConfigError(
        `gSDE setNoise needs a Float32Array whose length is a positive multiple of ${size} (latentDim × actionDim), got ${describeValue(noise)}`,
        "pass the array returned by getNoise()",
      );
    }
    this.noise = Float32Array.from(noise);
    this.matrices = noise.length / size;
  }

  /** A copy of the log-std, row-major [latentDim, actionDim or 1]. */
  getWeights(): Float32Array[] {
    this.checkLive();
    return [Float32Array.from(this.logStd.dataSync() as Float32Array)];
  }

  setWeights(arrays: readonly Float32Array[]): void {
    this.checkLive();
    const [logStd] = arrays;
    const shape = this.logStd.shape;
    if (arrays.length !== 1 || !(logStd instanceof Float32Array) || logStd.length !== shape[0] * shape[1]) {
      throw new ConfigError(
        `GSDE.setWeights needs one Float32Array of length ${shape[0] * shape[1]} (log_std [${shape.join(", ")}]), got ${describeValue(arrays)}`,
        "pass the arrays returned by getWeights() of a gSDE with the same dimensions and fullStd",
      );
    }
    tf.tidy(() => this.logStd.assign(tf.tensor2d(logStd, shape)));
    this.syncFastWeights();
  }

  /** Frees the log-std variable; the distribution cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.logStd.dispose();
    this.disposed = true;
  }

  /** σ² per (feature, action) from the log-std variable, [latentDim × actionDim] row-major. */
  private currentVariance(): Float64Array {
    this.checkLive();
    const logStd = this.logStd.dataSync() as Float32Array;
    const A = this.actionDim;
    const out = new Float64Array(this.latentDim * A);
    for (let k = 0; k < this.latentDim; k++) {
      for (let j = 0; j < A; j++) out[k * A + j] = Math.exp(2 * logStd[this.fullStd ? k * A + j : k]);
    }
    return out;
  }

  /** Σ_k z_k² σ_kj² + ε per row and action, [batch × actionDim] row-major. */
  private rowVariances(latent: Float32Array, batch: number, sigma2: Float64Array): Float64Array {
    const A = this.actionDim;
    const L = this.latentDim;
    const out = new Float64Array(batch * A).fill(this.epsilon);
    for (let r = 0; r < batch; r++) {
      for (let k = 0; k < L; k++) {
        const z = latent[r * L + k];
        const z2 = z * z;
        for (let j = 0; j < A; j++) out[r * A + j] += z2 * sigma2[k * A + j];
      }
    }
    return out;
  }

  private checkLatent(latent: tf.Tensor2D): void {
    this.checkLive();
    if (latent.rank !== 2 || latent.shape[1] !== this.latentDim) {
      throw new ConfigError(
        `gSDE latent must be [batch, ${this.latentDim}], got [${latent.shape.join(", ")}]`,
        "pass the actor's last hidden activation (the input of its action layer)",
      );
    }
  }

  private checkMean(mean: tf.Tensor2D, latent: tf.Tensor2D): void {
    this.checkLatent(latent);
    if (mean.rank !== 2 || mean.shape[1] !== this.actionDim || mean.shape[0] !== latent.shape[0]) {
      throw new ConfigError(
        `gSDE mean must be [${latent.shape[0]}, ${this.actionDim}] (one row per latent row), got [${mean.shape.join(", ")}]`,
        "pass the action layer's output for the same batch as the latent",
      );
    }
  }

  private checkLive(): void {
    if (this.disposed) {
      throw new ConfigError("this gSDE distribution was disposed", "create a new one instead of reusing a disposed one", "disposed");
    }
  }
}

function checkDim(n: number, what: string, fix: string): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`gSDE needs a positive integer ${what}, got ${describeValue(n)}`, fix);
  }
}

function nonFinite(mean: Float32Array, latent: Float32Array, row: number, A: number, L: number): RefineryError {
  return new RefineryError(
    "non_finite_policy_output",
    `gSDE produced a non-finite action from means ${describeValue(mean.subarray(row * A, (row + 1) * A))} ` +
      `and latent ${describeValue(latent.subarray(row * L, (row + 1) * L))}`,
    "the network diverged: lower the learning rate, normalise observations, or check the env for NaN/inf observations",
  );
}
