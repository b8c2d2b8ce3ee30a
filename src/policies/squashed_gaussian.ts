import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { MLP, type MLPArrayTrace, type MLPTrace } from "../nn/mlp.js";
import type { Gradient } from "../nn/network_adam.js";

/**
 * How the raw log-std output is kept in [logStdMin, logStdMax]: "tanh" rescales
 * tanh(raw) onto the range (CleanRL's SAC, range [−5, 2]); "clip" clips it (Stable-Baselines'
 * original SAC and the authors' off-policy MDPO, range [−20, 2]; no gradient outside).
 */
export type LogStdBounds = "tanh" | "clip";

export interface SquashedGaussianOptions {
  obsSize: number;
  /** Action bounds (finite); actions are scale·tanh(u) + bias with scale = (high − low)/2, bias = (high + low)/2. */
  low: ArrayLike<number>;
  high: ArrayLike<number>;
  /** Hidden widths. Default [256, 256]. */
  hidden?: readonly number[];
  rng: Rng;
  logStdBounds?: LogStdBounds;
  /** Default −5 (tanh) or −20 (clip). */
  logStdMin?: number;
  /** Default 2. */
  logStdMax?: number;
  /**
   * Whether the squash correction includes the action scale, log(scale·(1 − y²) + 1e-6)
   * (CleanRL), or not, log(1 − y² + 1e-6) (Stable-Baselines, the MDPO code). Default true.
   */
  scaleInCorrection?: boolean;
  name?: string;
  /** Run forward and backward passes on refinery's WebAssembly SIMD kernels instead of tfjs. Default false. */
  kernels?: boolean;
}

/** One reparameterised sample a = scale·tanh(μ + σ·ξ) + bias of a batch, kept for `backward`. */
export interface SquashedSample {
  batch: number;
  /** [batch × actSize] env actions. */
  actions: Float32Array;
  /** log π(a|s) per row, squash correction included. */
  logProb: Float32Array;
  /** Gaussian mean μ, log σ, pre-squash sample u and y = tanh(u), [batch × actSize] each. */
  mean: Float64Array;
  logStd: Float64Array;
  u: Float64Array;
  y: Float64Array;
  noise: Float32Array;
  /** d logσ / d raw output, per entry (the bound's derivative). */
  dLogStdRaw: Float64Array;
  trace: MLPTrace | MLPArrayTrace;
}

/** What a loss sends back into `backward`; every part optional, each [batch × actSize] except dLogProb [batch]. */
export interface SquashedUpstream {
  /** dL/d(env action). */
  dActions?: ArrayLike<number>;
  /** dL/d(log π(a|s)) of the sample itself. */
  dLogProb?: ArrayLike<number>;
  /** dL/du added directly (e.g. another policy's log-density evaluated at this sample's u). */
  dU?: ArrayLike<number>;
  /** dL/dμ and dL/d(log σ) added directly (regularisers). */
  dMean?: ArrayLike<number>;
  dLogStd?: ArrayLike<number>;
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const SQUASH_EPS = 1e-6;

/**
 * SAC's actor: an MLP from the observation to the mean μ and a raw log-std of a diagonal
 * Gaussian per action dimension, sampled with the reparameterisation u = μ + σ·ξ and squashed
 * into the action box by a = scale·tanh(u) + bias. Its log-density carries the change of variable:
 *   log π(a|s) = Σ_i [ log N(u_i; μ_i, σ_i) − log(scale_i·(1 − tanh²u_i) + 1e-6) ].
 * The network runs on tensors; the sampling, the log-density and their derivatives run in
 * float64 loops, and `backward` carries them into the MLP's hand-written backward pass.
 */
export class SquashedGaussianActor {
  readonly obsSize: number;
  readonly actSize: number;
  readonly net: MLP;
  readonly scale: Float64Array;
  readonly bias: Float64Array;
  readonly logStdBounds: LogStdBounds;
  readonly logStdMin: number;
  readonly logStdMax: number;
  readonly scaleInCorrection: boolean;
  readonly kernels: boolean;
  private readonly correctionScale: Float64Array;
  private fastOut = new Float32Array(0);

  constructor(options: SquashedGaussianOptions) {
    const actSize = options.low.length;
    if (actSize < 1 || options.high.length !== actSize) {
      throw new ConfigError(`action bounds must be two arrays of one equal, positive length, got ${describeValue(options.low)} and ${describeValue(options.high)}`, "pass the Box's low and high");
    }
    this.obsSize = options.obsSize;
    this.actSize = actSize;
    this.scale = new Float64Array(actSize);
    this.bias = new Float64Array(actSize);
    for (let j = 0; j < actSize; j++) {
      const lo = options.low[j];
      const hi = options.high[j];
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
        throw new ConfigError(`a squashed Gaussian needs finite action bounds with low < high, got [${lo}, ${hi}] in dimension ${j}`, "use an env whose action space is a bounded Box");
      }
      this.scale[j] = (hi - lo) / 2;
      this.bias[j] = (hi + lo) / 2;
    }
    this.logStdBounds = options.logStdBounds ?? "tanh";
    this.logStdMin = options.logStdMin ?? (this.logStdBounds === "tanh" ? -5 : -20);
    this.logStdMax = options.logStdMax ?? 2;
    if (!(this.logStdMax > this.logStdMin)) {
      throw new ConfigError(`logStdMin ${this.logStdMin} must be below logStdMax ${this.logStdMax}`, "pass e.g. −5 and 2");
    }
    this.scaleInCorrection = options.scaleInCorrection ?? true;
    this.kernels = options.kernels ?? false;
    this.correctionScale = this.scaleInCorrection ? this.scale : new Float64Array(actSize).fill(1);
    const hidden = options.hidden ?? [256, 256];
    this.net = new MLP({ sizes: [options.obsSize, ...hidden, 2 * actSize], rng: options.rng, activation: "relu", init: "torch-default", name: options.name ?? "actor" });
  }

  get variables(): readonly tf.Variable[] {
    return this.net.variables;
  }

  /** log σ and d logσ/d raw from the raw network output. */
  private boundLogStd(raw: number): [number, number] {
    const lo = this.logStdMin;
    const hi = this.logStdMax;
    if (this.logStdBounds === "tanh") {
      const t = Math.tanh(raw);
      return [lo + 0.5 * (hi - lo) * (t + 1), 0.5 * (hi - lo) * (1 - t * t)];
    }
    if (raw < lo) return [lo, 0];
    if (raw > hi) return [hi, 0];
    return [raw, 1];
  }

  /**
   * Reparameterised samples for a batch with the given standard-normal noise ξ [batch × actSize];
   * keeps what `backward` needs. Call inside tf.tidy.
   */
  sample(obs: Float32Array, batch: number, noise: Float32Array): SquashedSample {
    const A = this.actSize;
    if (noise.length < batch * A) throw new ConfigError(`sample needs ${batch * A} noise numbers, got ${noise.length}`, "pass one standard normal per action entry");
    const { output: out, trace } = this.networkForward(obs, batch);
    const n = batch * A;
    const s: SquashedSample = {
      batch,
      actions: new Float32Array(n),
      logProb: new Float32Array(batch),
      mean: new Float64Array(n),
      logStd: new Float64Array(n),
      u: new Float64Array(n),
      y: new Float64Array(n),
      noise: noise.slice(0, n),
      dLogStdRaw: new Float64Array(n),
      trace,
    };
    for (let i = 0; i < batch; i++) {
      let lp = 0;
      for (let j = 0; j < A; j++) {
        const k = i * A + j;
        const mu = out[i * 2 * A + j];
        const [logStd, dRaw] = this.boundLogStd(out[i * 2 * A + A + j]);
        const xi = noise[k];
        const u = mu + Math.exp(logStd) * xi;
        const y = Math.tanh(u);
        s.mean[k] = mu;
        s.logStd[k] = logStd;
        s.dLogStdRaw[k] = dRaw;
        s.u[k] = u;
        s.y[k] = y;
        s.actions[k] = this.scale[j] * y + this.bias[j];
        lp += -0.5 * xi * xi - logStd - HALF_LOG_2PI - Math.log(this.correctionScale[j] * (1 - y * y) + SQUASH_EPS);
      }
      s.logProb[i] = lp;
    }
    return s;
  }

  /** The network's raw outputs [batch × 2·actSize] and trace, on the kernels or on tfjs (inside tf.tidy). */
  private networkForward(obs: Float32Array, batch: number): { output: Float32Array; trace: MLPTrace | MLPArrayTrace } {
    const x = obs.subarray(0, batch * this.obsSize);
    if (this.kernels) return this.net.forwardTraceArrays(x, batch);
    const { output, trace } = this.net.forwardTrace(tf.tensor2d(x, [batch, this.obsSize]));
    return { output: output.dataSync() as Float32Array, trace };
  }

  /**
   * Parameter gradients (variables order) of a loss, given its derivatives by the sample's
   * parts (`SquashedUpstream`), with the noise ξ held fixed (the reparameterisation):
   *   dL/du = dU + dA·scale·(1−y²) + dLogProb·2y·c(1−y²)/(c(1−y²)+1e-6)   (c: the correction scale)
   *   dL/dμ = dL/du + dMean,   dL/dlogσ = dL/du·σ·ξ − dLogProb + dLogStd
   * (log N(u; μ, σ) = −ξ²/2 − log σ − log√(2π) does not move with μ once ξ is fixed).
   * Call inside the tf.tidy that made the sample.
   */
  backward(s: SquashedSample, up: SquashedUpstream): Gradient[] {
    const A = this.actSize;
    const dOut = new Float32Array(s.batch * 2 * A);
    for (let i = 0; i < s.batch; i++) {
      const dLp = up.dLogProb ? up.dLogProb[i] : 0;
      for (let j = 0; j < A; j++) {
        const k = i * A + j;
        const y = s.y[k];
        const oneMinus = 1 - y * y;
        const c = this.correctionScale[j];
        let du = up.dU ? up.dU[k] : 0;
        if (up.dActions) du += up.dActions[k] * this.scale[j] * oneMinus;
        du += (dLp * 2 * y * c * oneMinus) / (c * oneMinus + SQUASH_EPS);
        const dMu = du + (up.dMean ? up.dMean[k] : 0);
        const dLogStd = du * Math.exp(s.logStd[k]) * s.noise[k] - dLp + (up.dLogStd ? up.dLogStd[k] : 0);
        dOut[i * 2 * A + j] = dMu;
        dOut[i * 2 * A + A + j] = dLogStd * s.dLogStdRaw[k];
      }
    }
    if (this.kernels) return this.net.backwardArrays(s.trace as MLPArrayTrace, dOut);
    return this.net.backward(s.trace as MLPTrace, tf.tensor2d(dOut, [s.batch, 2 * A]));
  }

  /**
   * log π_this(a|s) of another sample's pre-squash values u (its actions y = tanh u), and
   * d/du of it: what the off-policy MDPO loss needs of the frozen old policy at the new
   * policy's sample. Call inside tf.tidy. Returns per-row log-densities and [batch × actSize] dU.
   */
  logProbAt(obs: Float32Array, batch: number, u: Float64Array): { logProb: Float32Array; dU: Float64Array } {
    const A = this.actSize;
    const out = this.kernels
      ? this.net.forwardTraceArrays(obs.subarray(0, batch * this.obsSize), batch).output
      : tf.tidy(() => this.net.apply(tf.tensor2d(obs.subarray(0, batch * this.obsSize), [batch, this.obsSize])).dataSync() as Float32Array);
    const logProb = new Float32Array(batch);
    const dU = new Float64Array(batch * A);
    for (let i = 0; i < batch; i++) {
      let lp = 0;
      for (let j = 0; j < A; j++) {
        const k = i * A + j;
        const mu = out[i * 2 * A + j];
        const [logStd] = this.boundLogStd(out[i * 2 * A + A + j]);
        const std = Math.exp(logStd);
        const z = (u[k] - mu) / std;
        const y = Math.tanh(u[k]);
        const oneMinus = 1 - y * y;
        const c = this.correctionScale[j];
        lp += -0.5 * z * z - logStd - HALF_LOG_2PI - Math.log(c * oneMinus + SQUASH_EPS);
        dU[k] = -z / std + (2 * y * c * oneMinus) / (c * oneMinus + SQUASH_EPS);
      }
      logProb[i] = lp;
    }
    return { logProb, dU };
  }

  /**
   * Actions for acting, on the fast typed-array forward (no tensors): a sample when `rng` is
   * given, else the squashed mean scale·tanh(μ) + bias. `out` gets [batch × actSize].
   */
  act(obs: Float32Array, batch: number, rng: Rng | null, out: Float32Array): Float32Array {
    const A = this.actSize;
    if (this.fastOut.length < batch * 2 * A) this.fastOut = new Float32Array(batch * 2 * A);
    const o = this.net.forwardFast(obs, batch, this.fastOut);
    for (let i = 0; i < batch; i++) {
      for (let j = 0; j < A; j++) {
        let u = o[i * 2 * A + j];
        if (rng) u += Math.exp(this.boundLogStd(o[i * 2 * A + A + j])[0]) * rng.normal();
        out[i * A + j] = this.scale[j] * Math.tanh(u) + this.bias[j];
      }
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
