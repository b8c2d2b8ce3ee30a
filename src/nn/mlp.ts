import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { dense, denseForward, denseGrads, type DenseMode, type DenseSaved } from "./dense.js";
import { gemmSimd, simdKernelsAvailable } from "./kernels/simd.js";
import { linearDefault, orthogonal, zeros } from "./init.js";
import { createVariable } from "./variables.js";

export type HiddenActivation = "tanh" | "relu";

/**
 * How the weights start: "orthogonal" (CleanRL's and SB3's `ortho_init`: orthogonal kernels
 * with the layer gains, zero biases) or "torch-default" (PyTorch's own `nn.Linear` init,
 * kernels and biases uniform(±1/√fan_in); gains are ignored).
 */
export type MLPInit = "orthogonal" | "torch-default";

/** What `MLP.backward` needs from `MLP.forwardTrace`: each layer's input, kernel and output. */
export interface MLPTrace {
  saved: DenseSaved[];
}

/**
 * What `MLP.backwardArrays` needs from `MLP.forwardTraceArrays`: each layer's input and
 * output (after the activation), row-major typed arrays.
 */
export interface MLPArrayTrace {
  batch: number;
  inputs: Float32Array[];
  outputs: Float32Array[];
}

export interface MLPOptions {
  /** Layer widths from input to output, e.g. [4, 64, 64, 2]; at least two entries. */
  sizes: readonly number[];
  /** Source of the initial weights. */
  rng: Rng;
  /** Weight initialisation. Default "orthogonal". */
  init?: MLPInit;
  /** Activation after every hidden layer; the output layer is linear. Default "tanh". */
  activation?: HiddenActivation;
  /** Orthogonal gain of the hidden layers. Default √2 (CleanRL). */
  hiddenGain?: number;
  /** Orthogonal gain of the output layer. Default 1 (CleanRL: 0.01 policy head, 1 value head). */
  outputGain?: number;
  /** One gain per layer; overrides hiddenGain/outputGain when given. */
  gains?: readonly number[];
  /** Prefix of the parameter names, e.g. "actor" gives "actor/dense_0/kernel". Default "mlp". */
  name?: string;
  /** Gradient formulation of the dense layers (see dense.ts). Default "auto". */
  denseMode?: DenseMode;
}

/**
 * Multi-layer perceptron on tfjs variables, with a fused plain-JS forward for acting.
 *
 * Parameters, in `paramNames` order: for each layer i, `${name}/dense_i/kernel` shaped
 * [in, out] and `${name}/dense_i/bias` shaped [out]. These names are stable (they key
 * checkpoints and weight transfer); the underlying tf.Variable names get a numeric suffix
 * only when another live network already uses the same name.
 *
 * Acting in a rollout is many tiny forward passes, where tfjs's per-op overhead dominates
 * (~5 µs per op), so `forwardFast` runs the whole network as typed-array loops over cached
 * weight copies. Call `syncFastWeights()` after every optimiser step to refresh them.
 */
export class MLP {
  readonly sizes: readonly number[];
  readonly activation: HiddenActivation;
  readonly denseMode: DenseMode;
  readonly paramNames: readonly string[];
  readonly paramShapes: readonly (readonly number[])[];
  /** Kernels and biases, interleaved: [W0, b0, W1, b1, …]. */
  readonly variables: readonly tf.Variable[];

  // Fast path: kernels stored transposed ([out][in]) so the inner loop reads both
  // operands contiguously.
  private readonly fastKernelsT: Float32Array[];
  // The kernels as stored ([in][out]), for the SIMD kernels' training path.
  private readonly fastKernels: Float32Array[];
  private readonly fastBiases: Float32Array[];
  private scratch: Float32Array[] = [];
  private scratchBatch = 0;
  private disposed = false;
  /**
   * Whether the typed-array weights (`kernelWeights`) were changed in place since the
   * variables last saw them: the kernels backend trains on the arrays and writes the
   * variables back only when something reads them (`syncVariables`).
   */
  private variablesStale = false;

  constructor(options: MLPOptions) {
    const sizes = validateSizes(options.sizes);
    const layers = sizes.length - 1;
    const activation = options.activation ?? "tanh";
    if (activation !== "tanh" && activation !== "relu") {
      throw new ConfigError(`unknown MLP activation ${describeValue(activation)}`, "use one of: tanh, relu");
    }
    const gains = resolveGains(options, layers);
    const prefix = options.name ?? "mlp";
    const init = options.init ?? "orthogonal";
    if (init !== "orthogonal" && init !== "torch-default") {
      throw new ConfigError(`unknown MLP init ${describeValue(init)}`, "use one of: orthogonal, torch-default");
    }

    this.sizes = sizes;
    this.activation = activation;
    this.denseMode = options.denseMode ?? "auto";
    const names: string[] = [];
    const shapes: number[][] = [];
    const vars: tf.Variable[] = [];
    for (let i = 0; i < layers; i++) {
      const [fanIn, fanOut] = [sizes[i], sizes[i + 1]];
      // torch draws the [out, in] weight of nn.Linear; our kernel is its transpose.
      const torch = init === "orthogonal" ? { weight: orthogonal(fanOut, fanIn, options.rng, gains[i]), bias: zeros(fanOut) } : linearDefault(fanIn, fanOut, options.rng);
      const kernel = transposeMatrix(torch.weight, fanOut, fanIn);
      const layerName = `${prefix}/dense_${i}`;
      names.push(`${layerName}/kernel`, `${layerName}/bias`);
      shapes.push([fanIn, fanOut], [fanOut]);
      vars.push(
        createVariable(() => tf.tensor2d(kernel, [fanIn, fanOut]), true, `${layerName}/kernel`),
        createVariable(() => tf.tensor1d(torch.bias), true, `${layerName}/bias`),
      );
    }
    this.paramNames = names;
    this.paramShapes = shapes;
    this.variables = vars;
    this.fastKernelsT = [];
    this.fastKernels = [];
    this.fastBiases = [];
    for (let i = 0; i < layers; i++) {
      this.fastKernelsT.push(new Float32Array(sizes[i] * sizes[i + 1]));
      this.fastKernels.push(new Float32Array(sizes[i] * sizes[i + 1]));
      this.fastBiases.push(new Float32Array(sizes[i + 1]));
    }
    this.syncFastWeights();
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  get numLayers(): number {
    return this.sizes.length - 1;
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    return this.paramShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  }

  /** tfjs forward pass (differentiable); call inside tf.tidy. x: [batch, in] → [batch, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    this.checkLive();
    this.syncVariables();
    let h = x;
    const last = this.numLayers - 1;
    for (let i = 0; i <= last; i++) {
      const act = i === last ? "linear" : this.activation;
      h = dense(h, this.variables[2 * i] as tf.Tensor2D, this.variables[2 * i + 1] as tf.Tensor1D, act, this.denseMode);
    }
    return h;
  }

  /**
   * `apply` that also returns the last hidden activation (the output layer's input, e.g.
   * the latent features of gSDE), [batch, hidden]. Needs at least one hidden layer.
   */
  applyWithHidden(x: tf.Tensor2D): { output: tf.Tensor2D; hidden: tf.Tensor2D } {
    this.checkLive();
    this.syncVariables();
    this.checkHasHidden();
    let h = x;
    let hidden = x;
    const last = this.numLayers - 1;
    for (let i = 0; i <= last; i++) {
      if (i === last) hidden = h;
      h = dense(h, this.variables[2 * i] as tf.Tensor2D, this.variables[2 * i + 1] as tf.Tensor1D, i === last ? "linear" : this.activation, this.denseMode);
    }
    return { output: h, hidden };
  }

  /** The last hidden activation recorded in a `forwardTrace` (the output layer's input). */
  traceHidden(trace: MLPTrace): tf.Tensor2D {
    this.checkHasHidden();
    return trace.saved[this.numLayers - 1].x;
  }

  /**
   * The same forward pass as `apply`, recording what `backward` needs instead of building
   * tfjs's gradient tape; call inside tf.tidy. For training loops that compute the loss
   * gradient themselves: a tape costs a node, saved-tensor clones and bookkeeping per op,
   * which at PPO's sizes takes longer than the arithmetic.
   */
  forwardTrace(x: tf.Tensor2D): { output: tf.Tensor2D; trace: MLPTrace } {
    this.checkLive();
    this.syncVariables();
    const saved: DenseSaved[] = [];
    let h = x;
    const last = this.numLayers - 1;
    for (let i = 0; i <= last; i++) {
      const w = this.variables[2 * i] as tf.Tensor2D;
      const y = denseForward(h, w, this.variables[2 * i + 1] as tf.Tensor1D, i === last ? "linear" : this.activation, this.denseMode);
      saved.push({ x: h, w, y });
      h = y;
    }
    return { output: h, trace: { saved } };
  }

  /**
   * Backpropagation through a `forwardTrace`: given dL/d(output) [batch, out], the
   * gradient of every parameter, in `variables` order (what `tf.variableGrads` of a loss
   * of `apply(x)` gives, to float32 rounding). Call inside tf.tidy.
   */
  backward(trace: MLPTrace, dOutput: tf.Tensor2D): tf.Tensor[] {
    this.checkLive();
    const grads: tf.Tensor[] = new Array(this.variables.length);
    let dy = dOutput;
    const last = this.numLayers - 1;
    for (let i = last; i >= 0; i--) {
      const { dx, dw, db } = denseGrads(dy, trace.saved[i], i === last ? "linear" : this.activation, i > 0, this.denseMode);
      grads[2 * i] = dw;
      grads[2 * i + 1] = db;
      if (dx) dy = dx;
    }
    return grads;
  }

  /**
   * `backward` that also returns dL/d(input) [batch, in]: for losses that continue through
   * what fed the network (a shared trunk under several heads; a critic Q(s, a) whose action
   * comes from an actor). Call inside tf.tidy.
   */
  backwardWithInput(trace: MLPTrace, dOutput: tf.Tensor2D): { grads: tf.Tensor[]; dInput: tf.Tensor2D } {
    this.checkLive();
    const grads: tf.Tensor[] = new Array(this.variables.length);
    let dy = dOutput;
    const last = this.numLayers - 1;
    for (let i = last; i >= 0; i--) {
      const { dx, dw, db } = denseGrads(dy, trace.saved[i], i === last ? "linear" : this.activation, true, this.denseMode);
      grads[2 * i] = dw;
      grads[2 * i + 1] = db;
      dy = dx as tf.Tensor2D;
    }
    return { grads, dInput: dy };
  }

  /**
   * dL/d(input) [batch, in] through a `forwardTrace`, without the parameter gradients:
   * what an actor's loss needs from a critic it does not train (SAC, TD3). Call inside tf.tidy.
   */
  inputGradient(trace: MLPTrace, dOutput: tf.Tensor2D): tf.Tensor2D {
    this.checkLive();
    let dy = dOutput;
    for (let i = this.numLayers - 1; i >= 0; i--) {
      const { y, w } = trace.saved[i];
      const hidden = i < this.numLayers - 1;
      // The derivative of the activation, written in terms of its saved output.
      const dz = !hidden ? dy : this.activation === "relu" ? tf.mul<tf.Tensor2D>(dy, tf.step(y)) : tf.mul<tf.Tensor2D>(dy, tf.sub(1, tf.square(y)));
      // wasm hands only untransposed products to XNNPACK (see dense.ts).
      dy = tf.getBackend() === "wasm" ? tf.matMul<tf.Tensor2D>(dz, tf.transpose(w)) : tf.matMul<tf.Tensor2D>(dz, w, false, true);
    }
    return dy;
  }

  /** Copies of the parameters, in `paramNames` order. */
  getWeights(): Float32Array[] {
    this.checkLive();
    this.syncVariables();
    return this.variables.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }

  /** Replaces the parameters (same order and sizes as getWeights) and refreshes the fast copies. */
  setWeights(arrays: readonly Float32Array[]): void {
    this.checkLive();
    if (arrays.length !== this.variables.length) {
      throw new ConfigError(
        `setWeights got ${arrays.length} arrays, this MLP has ${this.variables.length} parameters (${this.paramNames.join(", ")})`,
        "pass the arrays returned by getWeights() of a network with the same sizes",
      );
    }
    arrays.forEach((arr, i) => {
      const shape = this.paramShapes[i];
      const size = shape.reduce((a, b) => a * b, 1);
      if (!(arr instanceof Float32Array) || arr.length !== size) {
        throw new ConfigError(
          `setWeights: ${this.paramNames[i]} needs a Float32Array of length ${size} (shape [${shape.join(", ")}]), got ${describeValue(arr)}`,
          "pass the arrays returned by getWeights() of a network with the same sizes",
        );
      }
    });
    tf.tidy(() => {
      arrays.forEach((arr, i) => this.variables[i].assign(tf.tensor(arr, this.paramShapes[i] as number[])));
    });
    this.variablesStale = false;
    this.syncFastWeights();
  }

  /**
   * Refreshes the typed-array weights used by forwardFast: one dataSync per variable. A
   * no-op while the arrays are ahead of the variables (kernels training, `kernelWeightsChanged`).
   */
  syncFastWeights(): void {
    this.checkLive();
    if (this.variablesStale) return;
    this.setFastWeights(this.variables.map((v) => v.dataSync() as Float32Array));
  }

  /**
   * The live typed-array parameters the kernels path computes with, in `variables` order
   * ([W0 [in, out], b0, W1, b1, …]): an optimiser or a target update may change them in
   * place, then must call `kernelWeightsChanged()`.
   */
  kernelWeights(): Float32Array[] {
    this.checkLive();
    const out: Float32Array[] = [];
    for (let l = 0; l < this.numLayers; l++) out.push(this.fastKernels[l], this.fastBiases[l]);
    return out;
  }

  /**
   * After an in-place change of `kernelWeights()`: refreshes the transposed acting copy and
   * marks the variables stale, so they are written (once) when next read (`syncVariables`:
   * getWeights, apply, forwardTrace do it) instead of after every optimiser step.
   */
  kernelWeightsChanged(): void {
    this.checkLive();
    for (let l = 0; l < this.numLayers; l++) transposeMatrixInto(this.fastKernels[l], this.sizes[l], this.sizes[l + 1], this.fastKernelsT[l]);
    this.variablesStale = true;
  }

  /** Writes the typed-array weights into the variables if the kernels path changed them since. */
  syncVariables(): void {
    if (!this.variablesStale) return;
    this.variablesStale = false;
    tf.tidy(() => {
      this.kernelWeights().forEach((arr, i) => this.variables[i].assign(tf.tensor(arr, this.paramShapes[i] as number[])));
    });
  }

  /**
   * Refreshes the typed-array weights from arrays in `variables` order that equal the
   * variables' values (e.g. what an optimiser just assigned): syncFastWeights without
   * reading the variables back.
   */
  setFastWeights(weights: readonly Float32Array[]): void {
    for (let l = 0; l < this.numLayers; l++) {
      const fanIn = this.sizes[l];
      const fanOut = this.sizes[l + 1];
      const kernel = weights[2 * l];
      const kt = this.fastKernelsT[l];
      for (let i = 0; i < fanIn; i++) {
        for (let j = 0; j < fanOut; j++) kt[j * fanIn + i] = kernel[i * fanOut + j];
      }
      this.fastKernels[l].set(kernel);
      this.fastBiases[l].set(weights[2 * l + 1]);
    }
  }

  /**
   * The forward pass for training on refinery's WebAssembly SIMD kernels: no tensors, the
   * cached weights (call syncFastWeights/setFastWeights after each optimiser step), every
   * layer one fused kernel call (product, bias, activation; tanh by the kernel's rational
   * approximation, within 4e-7). x: [batch, in] row-major. Pass the trace to backwardArrays.
   */
  forwardTraceArrays(x: Float32Array, batch: number): { output: Float32Array; trace: MLPArrayTrace } {
    this.checkLive();
    checkKernels();
    const inputs: Float32Array[] = [];
    const outputs: Float32Array[] = [];
    let h = x.length === batch * this.inputSize ? x : x.subarray(0, batch * this.inputSize);
    const last = this.numLayers - 1;
    for (let l = 0; l <= last; l++) {
      const y = gemmSimd(h, this.fastKernels[l], batch, this.sizes[l], this.sizes[l + 1], {
        bias: this.fastBiases[l],
        activation: l === last ? "linear" : this.activation,
      });
      inputs.push(h);
      outputs.push(y);
      h = y;
    }
    return { output: h, trace: { batch, inputs, outputs } };
  }

  /**
   * Backpropagation through a `forwardTraceArrays`: given dL/d(output) [batch, out]
   * row-major, the gradient of every parameter as Float32Arrays in `variables` order (the
   * same numbers as `backward`, to float32 rounding).
   */
  backwardArrays(trace: MLPArrayTrace, dOutput: Float32Array): Float32Array[] {
    return this.backpropArrays(trace, dOutput, true, false).grads;
  }

  /**
   * `backwardArrays` that also returns dL/d(input) [batch, in] (a trunk under several heads),
   * the kernels twin of `backwardWithInput`.
   */
  backwardArraysWithInput(trace: MLPArrayTrace, dOutput: Float32Array): { grads: Float32Array[]; dInput: Float32Array } {
    const { grads, dInput } = this.backpropArrays(trace, dOutput, true, true);
    return { grads, dInput: dInput as Float32Array };
  }

  /**
   * dL/d(input) [batch, in] through a `forwardTraceArrays`, without the parameter gradients:
   * the kernels twin of `inputGradient` (an actor's loss through a critic it does not train).
   */
  inputGradientArrays(trace: MLPArrayTrace, dOutput: Float32Array): Float32Array {
    return this.backpropArrays(trace, dOutput, false, true).dInput as Float32Array;
  }

  private backpropArrays(trace: MLPArrayTrace, dOutput: Float32Array, wantParams: boolean, wantInput: boolean): { grads: Float32Array[]; dInput: Float32Array | null } {
    this.checkLive();
    checkKernels();
    const { batch } = trace;
    const grads: Float32Array[] = wantParams ? new Array(this.variables.length) : [];
    let dy = dOutput;
    const last = this.numLayers - 1;
    for (let l = last; l >= 0; l--) {
      const fanIn = this.sizes[l];
      const fanOut = this.sizes[l + 1];
      const dz = l === last ? dy : activationGradArrays(dy, trace.outputs[l], batch * fanOut, this.activation);
      if (wantParams) {
        const db = new Float32Array(fanOut);
        for (let r = 0; r < batch; r++) {
          const o = r * fanOut;
          for (let j = 0; j < fanOut; j++) db[j] += dz[o + j];
        }
        grads[2 * l] = gemmSimd(trace.inputs[l], dz, fanIn, batch, fanOut, { transA: true }); // xᵀ·dz
        grads[2 * l + 1] = db;
      }
      if (l > 0 || wantInput) dy = gemmSimd(dz, this.fastKernelsT[l], batch, fanOut, fanIn); // dz·Wᵀ, with Wᵀ the acting copy [out][in]
    }
    return { grads, dInput: wantInput ? dy : null };
  }

  /**
   * Forward pass in plain JS on the cached weights; no tensors. `input` is [batch, in]
   * row-major; returns [batch, out] row-major in `out` (allocated if not given).
   * Dot products accumulate in float64 and activations are stored in float32 (as in
   * tfjs), so it agrees with tfjs's result to ~1e-6 relative. With `hiddenOut`, also copies
   * the last hidden activation there ([batch, hidden] row-major; see `applyWithHidden`).
   */
  forwardFast(input: Float32Array, batch: number, out?: Float32Array, hiddenOut?: Float32Array): Float32Array {
    this.checkLive();
    const inSize = this.inputSize;
    const outSize = this.outputSize;
    if (!Number.isSafeInteger(batch) || batch < 1 || input.length < batch * inSize) {
      throw new ConfigError(
        `forwardFast needs batch ≥ 1 and input.length ≥ batch × ${inSize}, got batch ${describeValue(batch)} and input length ${input.length}`,
        "pass observations row-major, one row of length inputSize per batch element",
      );
    }
    const result = out ?? new Float32Array(batch * outSize);
    if (result.length < batch * outSize) {
      throw new ConfigError(`forwardFast output buffer has length ${result.length}, needs ${batch * outSize}`, "pass a larger out array or none");
    }
    this.ensureScratch(batch);
    const layers = this.numLayers;
    const hiddenAct = this.activation === "tanh" ? ACT_TANH : ACT_RELU;
    // Everything stays Float32Array so the loops see one array type (monomorphic).
    let src: Float32Array = input;
    for (let l = 0; l < layers; l++) {
      const last = l === layers - 1;
      const dst = last ? result : this.scratch[l];
      denseForwardArrays(src, batch, this.sizes[l], this.sizes[l + 1], this.fastKernelsT[l], this.fastBiases[l], dst, last ? ACT_LINEAR : hiddenAct);
      src = dst;
    }
    if (hiddenOut) {
      this.checkHasHidden();
      const size = batch * this.sizes[layers - 1];
      if (hiddenOut.length < size) {
        throw new ConfigError(`forwardFast hidden buffer has length ${hiddenOut.length}, needs ${size}`, "pass a larger hiddenOut array");
      }
      hiddenOut.set(this.scratch[layers - 2].subarray(0, size));
    }
    return result;
  }

  /** Frees the variables; the network cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.variables.forEach((v) => v.dispose());
    this.disposed = true;
  }

  private ensureScratch(batch: number): void {
    if (batch <= this.scratchBatch) return;
    this.scratch = this.sizes.slice(1, -1).map((width) => new Float32Array(batch * width));
    this.scratchBatch = batch;
  }

  private checkHasHidden(): void {
    if (this.numLayers < 2) {
      throw new ConfigError(
        `this MLP (sizes [${this.sizes.join(", ")}]) has no hidden layer, so it has no last hidden activation`,
        "give the network at least one hidden layer",
      );
    }
  }

  private checkLive(): void {
    if (this.disposed) {
      throw new ConfigError("this MLP was disposed", "create a new network instead of reusing a disposed one", "disposed");
    }
  }
}

function checkKernels(): void {
  if (!simdKernelsAvailable()) {
    throw new ConfigError("the kernels backend needs WebAssembly SIMD, which this platform lacks", "use --set backend=wasm or --set backend=cpu");
  }
}

/** dL/dz = dL/dy ⊙ act′, written with the saved output y (tanh: 1 − y²; relu: 1 where y > 0). */
function activationGradArrays(dy: Float32Array, y: Float32Array, n: number, activation: HiddenActivation): Float32Array {
  const dz = new Float32Array(n);
  if (activation === "tanh") for (let i = 0; i < n; i++) dz[i] = dy[i] * (1 - y[i] * y[i]);
  else for (let i = 0; i < n; i++) dz[i] = y[i] > 0 ? dy[i] : 0;
  return dz;
}

const ACT_LINEAR = 0;
const ACT_TANH = 1;
const ACT_RELU = 2;

/**
 * dst[r, j] = act(bias[j] + Σ_k src[r, k] · kt[j, k]) with kt the transposed kernel
 * [out][in], each sum accumulated in float64 in k order. Rows go four at a time through
 * a 4-row × 2-column block (each kernel load serves four rows, each input load two
 * columns: 1.6× faster in V8 than one row at a time at PPO's batch of 4 envs); leftover
 * rows take the one-row loop. The blocking does not change the order of any sum, so both
 * loops give bit-identical results.
 */
function denseForwardArrays(
  src: Float32Array,
  batch: number,
  fanIn: number,
  fanOut: number,
  kt: Float32Array,
  bias: Float32Array,
  dst: Float32Array,
  act: number,
): void {
  let r = 0;
  for (; r + 3 < batch; r += 4) denseFourRows(src, r, fanIn, fanOut, kt, bias, dst, act);
  for (; r < batch; r++) denseOneRow(src, r, fanIn, fanOut, kt, bias, dst, act);
}

/** Rows r … r + 3 of denseForwardArrays. */
function denseFourRows(
  src: Float32Array,
  r: number,
  fanIn: number,
  fanOut: number,
  kt: Float32Array,
  bias: Float32Array,
  dst: Float32Array,
  act: number,
): void {
  const x0 = r * fanIn;
  const x1 = x0 + fanIn;
  const x2 = x1 + fanIn;
  const x3 = x2 + fanIn;
  for (let j = 0; j < fanOut; j += 2) {
    // An odd last column is computed twice (as columns j and j) and stored once.
    const j1 = j + 1 < fanOut ? j + 1 : j;
    const c0 = j * fanIn;
    const c1 = j1 * fanIn;
    let a00 = bias[j], a01 = bias[j1];
    let a10 = a00, a11 = a01;
    let a20 = a00, a21 = a01;
    let a30 = a00, a31 = a01;
    for (let k = 0; k < fanIn; k++) {
      const w0 = kt[c0 + k];
      const w1 = kt[c1 + k];
      const s0 = src[x0 + k];
      const s1 = src[x1 + k];
      const s2 = src[x2 + k];
      const s3 = src[x3 + k];
      a00 += s0 * w0;
      a01 += s0 * w1;
      a10 += s1 * w0;
      a11 += s1 * w1;
      a20 += s2 * w0;
      a21 += s2 * w1;
      a30 += s3 * w0;
      a31 += s3 * w1;
    }
    const y0 = r * fanOut;
    dst[y0 + j] = activate(a00, act);
    dst[y0 + fanOut + j] = activate(a10, act);
    dst[y0 + 2 * fanOut + j] = activate(a20, act);
    dst[y0 + 3 * fanOut + j] = activate(a30, act);
    if (j1 !== j) {
      dst[y0 + j1] = activate(a01, act);
      dst[y0 + fanOut + j1] = activate(a11, act);
      dst[y0 + 2 * fanOut + j1] = activate(a21, act);
      dst[y0 + 3 * fanOut + j1] = activate(a31, act);
    }
  }
}

/** Row r of denseForwardArrays: four output columns share each input load. */
function denseOneRow(
  src: Float32Array,
  r: number,
  fanIn: number,
  fanOut: number,
  kt: Float32Array,
  bias: Float32Array,
  dst: Float32Array,
  act: number,
): void {
  const x0 = r * fanIn;
  const y0 = r * fanOut;
  let j = 0;
  for (; j + 3 < fanOut; j += 4) {
    let a0 = bias[j];
    let a1 = bias[j + 1];
    let a2 = bias[j + 2];
    let a3 = bias[j + 3];
    const c0 = j * fanIn;
    const c1 = c0 + fanIn;
    const c2 = c1 + fanIn;
    const c3 = c2 + fanIn;
    for (let k = 0; k < fanIn; k++) {
      const xk = src[x0 + k];
      a0 += xk * kt[c0 + k];
      a1 += xk * kt[c1 + k];
      a2 += xk * kt[c2 + k];
      a3 += xk * kt[c3 + k];
    }
    dst[y0 + j] = activate(a0, act);
    dst[y0 + j + 1] = activate(a1, act);
    dst[y0 + j + 2] = activate(a2, act);
    dst[y0 + j + 3] = activate(a3, act);
  }
  for (; j < fanOut; j++) {
    let a = bias[j];
    const c = j * fanIn;
    for (let k = 0; k < fanIn; k++) a += src[x0 + k] * kt[c + k];
    dst[y0 + j] = activate(a, act);
  }
}

function activate(z: number, act: number): number {
  return act === ACT_TANH ? Math.tanh(z) : act === ACT_RELU ? (z > 0 ? z : 0) : z;
}

function validateSizes(sizes: readonly number[]): number[] {
  if (!Array.isArray(sizes) || sizes.length < 2 || sizes.some((s) => !Number.isSafeInteger(s) || s < 1)) {
    throw new ConfigError(
      `MLP sizes must list at least two positive integers (input, …hidden, output), got ${describeValue(sizes)}`,
      "pass e.g. [4, 64, 64, 2]",
    );
  }
  return [...sizes];
}

function resolveGains(options: MLPOptions, layers: number): number[] {
  if (options.gains !== undefined) {
    if (options.gains.length !== layers || options.gains.some((g) => !Number.isFinite(g))) {
      throw new ConfigError(
        `MLP gains must give one finite number per layer (${layers}), got ${describeValue(options.gains)}`,
        `pass ${layers} gains, e.g. [${Array.from({ length: layers }, (_, i) => (i < layers - 1 ? "Math.SQRT2" : "1")).join(", ")}]`,
      );
    }
    return [...options.gains];
  }
  const hidden = options.hiddenGain ?? Math.SQRT2;
  const output = options.outputGain ?? 1;
  return Array.from({ length: layers }, (_, i) => (i === layers - 1 ? output : hidden));
}

/** The transpose [cols, rows] of the row-major [rows, cols] matrix a, into `out`. */
function transposeMatrixInto(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[r + j];
  }
}

function transposeMatrix(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
