import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import { KernelArena } from "./kernels/arena.js";
import { simdKernelsAvailable } from "./kernels/simd.js";

/**
 * Adam with PyTorch's update rule and CleanRL's defaults, plus global gradient-norm
 * clipping, learning-rate annealing and exact state export for checkpoints.
 *
 * Update (torch.optim.Adam, no weight decay), with t the step count:
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
 *   w ← w − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
 * which is the same rule as tf.train.adam. The difference is where it runs: the moments
 * are two flat Float32Arrays (float32, like torch's state) and the arithmetic is a plain
 * loop over all parameters. At policy-network sizes (~10k parameters) tfjs's per-op
 * overhead (~5 µs on wasm) dominates a tensor Adam (~50 ops a step); reading the
 * gradients and weights back, updating them in JS and assigning the new weights costs
 * about half as much (bench/nn.ts). The state exports to and imports from plain arrays.
 */

export interface AdamOptions {
  learningRate: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-5 (CleanRL's PPO; torch's own default is 1e-8). */
  epsilon?: number;
  /**
   * Run the update on refinery's WebAssembly SIMD kernel (default false): the moments and
   * the flat gradient live in a WebAssembly memory, the arithmetic is float32 (as
   * torch's; the JS loop rounds only the stored moments), and the global norm is summed
   * in float64 as in JS. ~10× faster than the JS loop over 100k parameters.
   */
  kernels?: boolean;
}

/** The kernel path's memory: weights | gradient | m | v, each padded to whole f32x4 vectors. */
interface AdamKernelState {
  arena: KernelArena;
  padded: number;
  pw: number;
  pg: number;
  pm: number;
  pv: number;
  w: Float32Array;
}

/** Everything needed to continue optimisation exactly (with the same variables). */
export interface AdamState {
  /** Number of updates applied so far (t in the bias corrections). */
  step: number;
  learningRate: number;
  /** First moments of all parameters, concatenated in variable order. */
  m: Float32Array;
  /** Second moments, same layout. */
  v: Float32Array;
}

export interface StepResult {
  loss: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
}

/**
 * What both optimisers share: the hyperparameters, the moments (flat Float32Arrays in
 * parameter order), the step count, the update of a list of weight arrays from the flat
 * gradient, and the exact state export.
 */
abstract class AdamBase {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private lr: number;
  private t = 0;
  protected readonly totalSize: number;
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  /** Scratch for the flattened gradient of one step. */
  protected readonly flatGrad: Float32Array;
  private readonly kernel: AdamKernelState | null;

  protected constructor(totalSize: number, options: AdamOptions) {
    this.lr = checkLearningRate(options.learningRate);
    this.beta1 = checkInUnit(options.beta1 ?? 0.9, "beta1");
    this.beta2 = checkInUnit(options.beta2 ?? 0.999, "beta2");
    this.epsilon = options.epsilon ?? 1e-5;
    if (!(this.epsilon > 0) || !Number.isFinite(this.epsilon)) {
      throw new ConfigError(`Adam epsilon must be a positive number, got ${describeValue(options.epsilon)}`, "pass e.g. 1e-5");
    }
    this.totalSize = totalSize;
    this.kernel = options.kernels === true ? createKernelState(totalSize) : null;
    if (this.kernel === null) {
      this.m = new Float32Array(totalSize);
      this.v = new Float32Array(totalSize);
      this.flatGrad = new Float32Array(totalSize);
    } else {
      // Views into the arena, which never grows after creation, so they stay valid.
      const { arena, pg, pm, pv } = this.kernel;
      const f32 = arena.f32;
      this.m = f32.subarray(pm / 4, pm / 4 + totalSize);
      this.v = f32.subarray(pv / 4, pv / 4 + totalSize);
      this.flatGrad = f32.subarray(pg / 4, pg / 4 + totalSize);
    }
  }

  /** Whether updates run on the WebAssembly SIMD kernel (AdamOptions.kernels). */
  get usesKernels(): boolean {
    return this.kernel !== null;
  }

  get learningRate(): number {
    return this.lr;
  }

  /** For annealing: takes effect from the next step. */
  setLearningRate(learningRate: number): void {
    this.lr = checkLearningRate(learningRate);
  }

  /** Updates applied so far. */
  get step(): number {
    return this.t;
  }

  /**
   * One Adam update of `weights` (in parameter order, updated in place) from the gradient in
   * `flatGrad`, clipped to a global norm of `maxGradNorm` when given. Returns the pre-clip norm.
   */
  protected update(weights: readonly Float32Array[], maxGradNorm?: number): number {
    if (this.kernel !== null) return this.kernelUpdate(this.kernel, weights, maxGradNorm);
    const g = this.flatGrad;
    const norm = l2Norm(g);
    // clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1.
    const scale = maxGradNorm === undefined ? 1 : Math.min(1, maxGradNorm / (norm + 1e-6));
    const t = this.t + 1;
    const rule: AdamRule = {
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      gradScale: scale,
      stepSize: this.lr / (1 - Math.pow(this.beta1, t)),
      rootBiasCorrection2: Math.sqrt(1 - Math.pow(this.beta2, t)),
    };
    let offset = 0;
    for (const w of weights) {
      adamUpdate(w, g, this.m, this.v, offset, rule);
      offset += w.length;
    }
    this.t = t;
    return norm;
  }

  /** `update` on the kernel: weights copied into the arena, one adam call, copied back. */
  private kernelUpdate(kernel: AdamKernelState, weights: readonly Float32Array[], maxGradNorm?: number): number {
    const { arena, padded, pw, pg, pm, pv, w } = kernel;
    const norm = Math.sqrt(arena.k.sumsq(pg, padded));
    const scale = maxGradNorm === undefined ? 1 : Math.min(1, maxGradNorm / (norm + 1e-6));
    const t = this.t + 1;
    let offset = 0;
    for (const x of weights) {
      w.set(x, offset);
      offset += x.length;
    }
    const stepSize = this.lr / (1 - Math.pow(this.beta1, t));
    arena.k.adam(pw, pg, pm, pv, padded, scale, this.beta1, this.beta2, 1 - this.beta1, 1 - this.beta2, this.epsilon, stepSize, Math.sqrt(1 - Math.pow(this.beta2, t)));
    offset = 0;
    for (const x of weights) {
      x.set(w.subarray(offset, offset + x.length));
      offset += x.length;
    }
    this.t = t;
    return norm;
  }

  /**
   * Copies Float32Array gradients, one per parameter of `sizes[k]` entries, into flatGrad;
   * `what(k)` names parameter k in the error a wrong count or length gets.
   */
  protected gatherArrays(method: string, grads: readonly Float32Array[], sizes: readonly number[], what: (k: number) => string): void {
    if (grads.length !== sizes.length) {
      throw new ConfigError(`${method} got ${grads.length} gradients for ${sizes.length} parameters`, "pass one gradient per parameter, in the optimiser's parameter order");
    }
    let offset = 0;
    grads.forEach((grad, k) => {
      if (!(grad instanceof Float32Array) || grad.length !== sizes[k]) {
        throw new ConfigError(`${method}: ${what(k)} is ${describeValue(grad)}, its parameter has ${sizes[k]} entries`, "pass Float32Array gradients in the optimiser's parameter order");
      }
      this.flatGrad.set(grad, offset);
      offset += grad.length;
    });
  }

  /** Copies of the optimiser state as plain typed arrays (the same format for both optimisers). */
  getState(): AdamState {
    return { step: this.t, learningRate: this.lr, m: this.m.slice(), v: this.v.slice() };
  }

  /** Restores a state from getState() of an optimiser (Adam or ArrayAdam) over parameters of the same sizes. */
  setState(state: AdamState): void {
    const ok =
      state !== null &&
      typeof state === "object" &&
      Number.isSafeInteger(state.step) &&
      state.step >= 0 &&
      state.m instanceof Float32Array &&
      state.v instanceof Float32Array &&
      state.m.length === this.totalSize &&
      state.v.length === this.totalSize;
    if (!ok) {
      throw new ConfigError(
        `malformed Adam state for ${this.totalSize} parameters: ${describeValue(state)}`,
        "pass the object returned by getState() of an optimiser over the same network",
      );
    }
    this.lr = checkLearningRate(state.learningRate);
    this.t = state.step;
    this.m.set(state.m);
    this.v.set(state.v);
  }

  /** The optimiser holds no tensors; kept so owners can release every part alike. */
  dispose(): void {}
}

/** Adam over tf.Variables (the actor-critic networks). */
export class Adam extends AdamBase {
  readonly variables: readonly tf.Variable[];
  private readonly sizes: number[];

  constructor(variables: readonly tf.Variable[], options: AdamOptions) {
    if (variables.length === 0) {
      throw new ConfigError("Adam got no variables to optimise", "pass the network's variables, e.g. [...actor.variables, ...critic.variables]");
    }
    super(
      variables.reduce((n, v) => n + v.size, 0),
      options,
    );
    this.variables = [...variables];
    this.sizes = this.variables.map((v) => v.size);
  }

  /**
   * One optimisation step: gradients of `lossFn` with respect to this optimiser's
   * variables, global-norm clipping when `maxGradNorm` is given, then the Adam update.
   * `lossFn` runs under tfjs's gradient tape; its intermediate tensors are freed. To read
   * other values it computes (approx-KL, clip fraction), `tf.keep` them inside and
   * dispose them after reading.
   */
  minimize(lossFn: () => tf.Scalar, maxGradNorm?: number): StepResult {
    checkMaxGradNorm(maxGradNorm);
    const { value, grads } = tf.variableGrads(lossFn, this.variables as tf.Variable[]);
    const ordered = this.variables.map((v) => grads[v.name] ?? null);
    try {
      const gradNorm = this.applyGradients(ordered, maxGradNorm);
      return { loss: value.dataSync()[0], gradNorm };
    } finally {
      tf.dispose([value, ...ordered.filter((g): g is tf.Tensor => g !== null)]);
    }
  }

  /**
   * Applies gradients given in variable order (null = no gradient, treated as zero), with
   * global-norm clipping when `maxGradNorm` is given. Returns the pre-clip global norm.
   * The gradients stay owned by the caller.
   */
  applyGradients(grads: readonly (tf.Tensor | null)[], maxGradNorm?: number): number {
    if (grads.length !== this.variables.length) {
      throw new ConfigError(
        `applyGradients got ${grads.length} gradients for ${this.variables.length} variables`,
        "pass one gradient (or null) per variable, in the optimiser's variable order",
      );
    }
    checkMaxGradNorm(maxGradNorm);
    this.gatherGradients(grads);
    return this.updateVariables(maxGradNorm);
  }

  /**
   * `applyGradients` with the gradients as Float32Arrays in variable order (from a
   * backward pass computed in typed arrays, e.g. `MLP.backwardArrays`). Returns the
   * pre-clip global norm; `onWeights`, when given, receives the updated weights (in
   * variable order, valid during the call) so a caller can refresh its own copies without
   * reading the variables back.
   */
  applyGradientArrays(grads: readonly Float32Array[], maxGradNorm?: number, onWeights?: (weights: readonly Float32Array[]) => void): number {
    checkMaxGradNorm(maxGradNorm);
    this.gatherArrays("applyGradientArrays", grads, this.sizes, (k) => `the gradient of ${this.variables[k].name}`);
    return this.updateVariables(maxGradNorm, onWeights);
  }

  /** The Adam update of the variables from the gradient in flatGrad: read, update in JS, assign. */
  private updateVariables(maxGradNorm: number | undefined, onWeights?: (weights: readonly Float32Array[]) => void): number {
    // Copies: the cpu backend's dataSync hands out the tensor's own storage.
    const weights = this.variables.map((v) => (v.dataSync() as Float32Array).slice());
    const norm = this.update(weights, maxGradNorm);
    tf.tidy(() => this.variables.forEach((v, k) => v.assign(tf.tensor(weights[k], v.shape, "float32"))));
    onWeights?.(weights);
    return norm;
  }

  /** The gradients, flattened and concatenated in variable order, into the scratch array. */
  private gatherGradients(grads: readonly (tf.Tensor | null)[]): void {
    const flat = this.flatGrad;
    let offset = 0;
    grads.forEach((grad, k) => {
      const size = this.sizes[k];
      if (grad === null) flat.fill(0, offset, offset + size);
      else if (grad.size !== size) {
        throw new ConfigError(
          `applyGradients: the gradient of ${this.variables[k].name} has shape [${grad.shape.join(", ")}] but the variable has shape [${this.variables[k].shape.join(", ")}]`,
          "pass gradients in the optimiser's variable order",
        );
      } else flat.set(grad.dataSync() as Float32Array, offset);
      offset += size;
    });
  }
}

/**
 * Adam over plain Float32Arrays updated in place: for networks that keep their
 * parameters in typed arrays (the transformer), with no tensors at all. Same update rule,
 * options, gradient clipping and AdamState layout as `Adam` (moments concatenated in
 * parameter order), so a state moves between the two over parameters of the same sizes.
 */
export class ArrayAdam extends AdamBase {
  readonly params: readonly Float32Array[];
  private readonly sizes: number[];

  constructor(params: readonly Float32Array[], options: AdamOptions) {
    if (params.length === 0 || params.some((p) => !(p instanceof Float32Array))) {
      throw new ConfigError("ArrayAdam needs a non-empty list of Float32Array parameters", "pass the network's live parameter arrays, e.g. model.parameters()");
    }
    super(
      params.reduce((n, p) => n + p.length, 0),
      options,
    );
    this.params = [...params];
    this.sizes = this.params.map((p) => p.length);
  }

  /**
   * Applies gradients given in parameter order (same lengths as the parameters), with
   * global-norm clipping when `maxGradNorm` is given; updates the parameter arrays in
   * place. Returns the pre-clip global norm. The gradients are not modified.
   */
  applyGradients(grads: readonly Float32Array[], maxGradNorm?: number): number {
    checkMaxGradNorm(maxGradNorm);
    this.gatherArrays("applyGradients", grads, this.sizes, (k) => `gradient ${k}`);
    return this.update(this.params, maxGradNorm);
  }
}

/**
 * `torch.nn.utils.clip_grad_norm_` on a list of gradients: with n the global L2 norm,
 * every gradient is multiplied by min(1, maxNorm / (n + 1e-6)). Returns the clipped
 * gradients and the pre-clip norm (new tensors; call inside tf.tidy or dispose them).
 */
export function clipGradNorm(grads: readonly tf.Tensor[], maxNorm: number): { grads: tf.Tensor[]; norm: tf.Scalar } {
  if (!(maxNorm > 0)) {
    throw new ConfigError(`maxNorm must be a positive number, got ${describeValue(maxNorm)}`, "pass e.g. 0.5");
  }
  const norm = tf.tidy(() => globalNorm(tf.concat(grads.map((g) => tf.reshape(g, [-1])))));
  const clipped = tf.tidy(() => {
    const coefficient = clipCoefficient(norm, maxNorm);
    return grads.map((g) => tf.mul(g, coefficient));
  });
  return { grads: clipped, norm };
}

/** The constants of one Adam step. */
interface AdamRule {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Gradient-clipping factor (1: no clipping). */
  gradScale: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  rootBiasCorrection2: number;
}

/**
 * torch's Adam step for the parameters `w` (one variable), whose gradient and moments
 * start at `offset` in the flat arrays. A top-level function over typed arrays only, so
 * V8 compiles it to a tight loop.
 */
function adamUpdate(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, offset: number, rule: AdamRule): void {
  const { beta1, beta2, epsilon, gradScale, stepSize, rootBiasCorrection2 } = rule;
  const oneMinusBeta1 = 1 - beta1;
  const oneMinusBeta2 = 1 - beta2;
  for (let j = 0; j < w.length; j++) {
    const i = offset + j;
    const gi = g[i] * gradScale;
    // The moments are float32 state, as torch's: round before using them.
    const mi = Math.fround(beta1 * m[i] + oneMinusBeta1 * gi);
    const vi = Math.fround(beta2 * v[i] + oneMinusBeta2 * gi * gi);
    m[i] = mi;
    v[i] = vi;
    w[j] -= (stepSize * mi) / (Math.sqrt(vi) / rootBiasCorrection2 + epsilon);
  }
}

/** L2 norm of a flat array, accumulated in float64. */
function createKernelState(totalSize: number): AdamKernelState {
  if (!simdKernelsAvailable()) {
    throw new ConfigError("Adam with kernels: true needs WebAssembly SIMD, which this platform lacks", "leave kernels out (the JS update)");
  }
  const padded = Math.ceil(totalSize / 4) * 4;
  const arena = new KernelArena(4 * padded * 4 + 65536);
  const pw = arena.alloc(padded);
  const pg = arena.alloc(padded);
  const pm = arena.alloc(padded);
  const pv = arena.alloc(padded);
  // Fresh pages are zero: the padding of g, m and v stays 0, so it never moves the norm.
  const w = arena.f32.subarray(pw / 4, pw / 4 + totalSize);
  return { arena, padded, pw, pg, pm, pv, w };
}

function l2Norm(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  return Math.sqrt(sum);
}

function globalNorm(flat: tf.Tensor): tf.Scalar {
  return tf.sqrt(tf.sum<tf.Scalar>(tf.square(flat)));
}

function clipCoefficient(norm: tf.Scalar, maxNorm: number): tf.Scalar {
  return tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1) as tf.Scalar;
}

function checkMaxGradNorm(maxGradNorm: number | undefined): void {
  if (maxGradNorm !== undefined && !(maxGradNorm > 0)) {
    throw new ConfigError(`maxGradNorm must be a positive number, got ${describeValue(maxGradNorm)}`, "pass e.g. 0.5 (CleanRL's max_grad_norm), or leave it out");
  }
}

function checkLearningRate(lr: number): number {
  if (typeof lr !== "number" || !Number.isFinite(lr) || lr < 0) {
    throw new ConfigError(`learning rate must be a non-negative finite number, got ${describeValue(lr)}`, "pass e.g. 2.5e-4 (CleanRL's PPO default)");
  }
  return lr;
}

function checkInUnit(x: number, what: string): number {
  if (!(x >= 0 && x < 1)) {
    throw new ConfigError(`Adam ${what} must be in [0, 1), got ${describeValue(x)}`, what === "beta1" ? "pass e.g. 0.9" : "pass e.g. 0.999");
  }
  return x;
}
