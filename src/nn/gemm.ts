import * as tf from "#tfjs-core";
import { backendName } from "../core/backend.js";
import { ConfigError, describeValue } from "../core/errors.js";
import { gemmSimd, simdKernelsAvailable } from "./kernels/simd.js";

/**
 * General matrix product over row-major Float32Arrays, for the hand-written networks
 * (the transformer) that keep their activations in typed arrays.
 *
 * Where the time goes (2 vCPU, Node 20, tfjs 4.22; bench/transformer.ts):
 * - wasm's matMul hands a 2-D product to XNNPACK only when neither operand is transposed
 *   (otherwise it falls to a scalar loop, 10–40× slower). Big products therefore go to
 *   tfjs with both operands laid out plainly: an operand that is stored transposed is
 *   transposed here in JS first (4 rows at a time: 2048×256 in ~0.7 ms, faster than
 *   tf.transpose's round trip), or, when that moves fewer numbers, the transposed product
 *   Cᵀ = op(B)ᵀ·op(A)ᵀ is computed instead and transposed back. XNNPACK reaches
 *   15–25 GFLOP/s on the transformer's shapes, copies in and out included.
 * - Small products stay in JS: a 4×4 register-blocked loop runs at ~2.5 GFLOP/s, which
 *   beats a tfjs call (tensor creation, kernel dispatch, read-back: ~25 µs) below about
 *   m·k·n = 40,000 multiply-adds (32×32×32 costs the same both ways).
 * - The cpu backend's matMul is itself a JS loop at 0.4–0.7 GFLOP/s, 4× slower than the
 *   blocked loop here, so on "cpu" every product takes the JS path.
 */

export type GemmPath = "auto" | "simd" | "js" | "backend";

export interface GemmOptions {
  /** A is stored [k, m] (use its transpose). */
  transA?: boolean;
  /** B is stored [n, k] (use its transpose). */
  transB?: boolean;
  /** Where to write C (length ≥ m·n); a new array when left out. */
  out?: Float32Array;
  /** Add the product to `out` instead of overwriting it (needs `out`). */
  accumulate?: boolean;
  /** A row vector [n] added to every row of the product (a linear layer's bias), fused into the write. */
  bias?: Float32Array;
  /**
   * Which implementation: "auto" (default: refinery's WebAssembly SIMD kernel where the
   * platform has WebAssembly SIMD, else size and backend decide), "simd" (always the
   * kernel), "js" (always the blocked JS loop) or "backend" (always tfjs's matMul). For
   * tests and benchmarks.
   */
  path?: GemmPath;
}

/** Below this many multiply-adds (m·k·n) the JS loop is faster than a wasm matMul call. */
export const GEMM_JS_MAX_WORK = 40_000;

/**
 * C[m,n] = op(A)·op(B), row-major Float32Arrays. transA: A is stored [k,m]; transB: B is
 * stored [n,k]. With `accumulate`, C += op(A)·op(B); with `bias`, each row also gets
 * bias[0..n) added. Returns C (`out` when given).
 * Needs an initialised backend (initBackend) for products that go to tfjs; its tensors
 * are all freed before returning.
 */
export function gemm(A: Float32Array, B: Float32Array, m: number, k: number, n: number, opts: GemmOptions = {}): Float32Array {
  checkDims(A, B, m, k, n, opts);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  const accumulate = opts.accumulate === true;
  const bias = opts.bias ?? null;
  const out = opts.out ?? new Float32Array(m * n);
  if (m === 0 || n === 0) return out;
  if (k === 0) {
    if (!accumulate) out.fill(0, 0, m * n);
    if (bias !== null) addRows(out, m, n, bias);
    return out;
  }
  const path = choosePath(m, k, n, opts.path ?? "auto");
  if (path === "simd") {
    gemmSimd(A, B, m, k, n, { transA, transB, out, accumulate, bias: bias ?? undefined });
    return out;
  }
  if (path === "js") {
    // A(i,p) = A[i·aRow + p·aCol], B(p,j) = B[p·bRow + j·bCol].
    const aRow = transA ? 1 : k;
    const aCol = transA ? m : 1;
    const bRow = transB ? 1 : n;
    const bCol = transB ? k : 1;
    gemmJs(A, aRow, aCol, B, bRow, bCol, out, m, k, n, accumulate);
    if (bias !== null) addRows(out, m, n, bias);
    return out;
  }
  backendGemm(A, B, m, k, n, transA, transB, out, accumulate, bias);
  return out;
}

/**
 * The SIMD kernel, where it runs, takes every product (`npm run bench -- kernels`, quiet
 * machine: 6–10× the JS loop; 10–70× tfjs-wasm for acting batches, where a tfjs call's fixed
 * cost dominates; 1.2–3.1× XNNPACK on minibatch products; within 8 % of XNNPACK, slightly
 * behind, only on the largest squares).
 */
function choosePath(m: number, k: number, n: number, path: GemmPath): "simd" | "js" | "backend" {
  if (path === "simd") {
    if (!simdKernelsAvailable()) throw new ConfigError("gemm path \"simd\" needs WebAssembly SIMD, which this platform lacks", 'use path "auto", "js" or "backend"');
    return "simd";
  }
  if (path === "js" || path === "backend") return path;
  if (path !== "auto") {
    throw new ConfigError(`unknown gemm path ${describeValue(path)}`, 'use "auto", "simd", "js" or "backend"');
  }
  if (simdKernelsAvailable()) return "simd";
  return m * k * n < GEMM_JS_MAX_WORK || backendName() !== "wasm" ? "js" : "backend";
}

function checkDims(A: Float32Array, B: Float32Array, m: number, k: number, n: number, opts: GemmOptions): void {
  for (const [name, v] of [["m", m], ["k", k], ["n", n]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new ConfigError(`gemm dimension ${name} must be a non-negative integer, got ${describeValue(v)}`, "pass the matrix sizes m, k, n of C[m,n] = A[m,k]·B[k,n]");
    }
  }
  if (!(A instanceof Float32Array) || A.length < m * k) {
    throw new ConfigError(`gemm: A must be a Float32Array with at least m·k = ${m * k} entries, got ${describeValue(A)}`, "pass A row-major, [m,k] (or [k,m] with transA)");
  }
  if (!(B instanceof Float32Array) || B.length < k * n) {
    throw new ConfigError(`gemm: B must be a Float32Array with at least k·n = ${k * n} entries, got ${describeValue(B)}`, "pass B row-major, [k,n] (or [n,k] with transB)");
  }
  if (opts.out !== undefined && (!(opts.out instanceof Float32Array) || opts.out.length < m * n)) {
    throw new ConfigError(`gemm: out must be a Float32Array with at least m·n = ${m * n} entries, got ${describeValue(opts.out)}`, "pass a larger output array, or none");
  }
  if (opts.bias !== undefined && (!(opts.bias instanceof Float32Array) || opts.bias.length < n)) {
    throw new ConfigError(`gemm: bias must be a Float32Array with at least n = ${n} entries, got ${describeValue(opts.bias)}`, "pass one bias value per output column");
  }
  if (opts.accumulate === true && opts.out === undefined) {
    throw new ConfigError("gemm: accumulate needs an out array to add to", "pass out together with accumulate: true");
  }
  if (opts.out !== undefined && (opts.out.buffer === A.buffer || opts.out.buffer === B.buffer) && overlaps(opts.out, A, B)) {
    throw new ConfigError("gemm: out overlaps an input", "write the product to a separate array");
  }
}

function overlaps(out: Float32Array, A: Float32Array, B: Float32Array): boolean {
  const o0 = out.byteOffset;
  const o1 = o0 + out.byteLength;
  const hit = (x: Float32Array) => x.buffer === out.buffer && x.byteOffset < o1 && o0 < x.byteOffset + x.byteLength;
  return hit(A) || hit(B);
}

/**
 * The product on the tfjs backend, with both matMul operands non-transposed. Two ways to
 * get there: transpose the stored-transposed operands (C = op(A)·op(B)), or compute
 * Cᵀ = op(B)ᵀ·op(A)ᵀ, whose operands are stored plainly exactly when the original ones are
 * stored transposed, and transpose the [n,m] result back. The cheaper one wins, counting
 * the numbers each transposes in JS (~2 ns each) and the right operand [k, cols] that
 * XNNPACK re-packs on every call (~8 ns each: measured, a [64,2048]·[2048,256] product
 * takes 7.9 ms and the same work as [256,2048]·[2048,64] 4.7 ms). So a weight gradient
 * X[N,in]ᵀ·dY[N,out] packs the narrower of X and dY.
 */
function backendGemm(
  A: Float32Array,
  B: Float32Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  out: Float32Array,
  accumulate: boolean,
  bias: Float32Array | null,
): void {
  const a = A.length === m * k ? A : A.subarray(0, m * k);
  const b = B.length === k * n ? B : B.subarray(0, k * n);
  if (backendPlan(m, k, n, transA, transB) === "direct") {
    const left = transA ? transpose(a, k, m, scratch(0, m * k)) : a;
    const right = transB ? transpose(b, n, k, scratch(1, k * n)) : b;
    // The bias rides along in XNNPACK's fused kernel, so reading the result is a copy.
    withProduct(left, right, m, k, n, bias, (c) => {
      if (accumulate) for (let i = 0; i < m * n; i++) out[i] += c[i];
      else out.set(c);
    });
  } else {
    const left = transB ? b : transpose(b, k, n, scratch(0, k * n)); // op(B)ᵀ, [n,k]
    const right = transA ? a : transpose(a, m, k, scratch(1, m * k)); // op(A)ᵀ, [k,m]
    withProduct(left, right, n, k, m, null, (ct) => transposeInto(ct, n, m, out, accumulate));
    if (bias !== null) addRows(out, m, n, bias);
  }
}

/** x[i, j] += bias[j] for every row i. */
function addRows(x: Float32Array, m: number, n: number, bias: Float32Array): void {
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let j = 0; j < n; j++) x[o + j] += bias[j];
  }
}

/** Which formulation backendGemm uses for these shapes (exported for tests). */
export function backendPlan(m: number, k: number, n: number, transA: boolean, transB: boolean): "direct" | "flipped" {
  const directCost = PACK_COST * k * n + (transA ? m * k : 0) + (transB ? k * n : 0);
  const flippedCost = PACK_COST * k * m + (transA ? 0 : m * k) + (transB ? 0 : k * n) + m * n;
  // The flipped form also transposes its result and loses the fused bias, and the count
  // underrates small transposes (64×64×192: direct 223 µs, flipped 283 µs): flip only
  // when clearly cheaper. Weight gradients, the case it is for, win by 2× in the count.
  return flippedCost < FLIP_MARGIN * directCost ? "flipped" : "direct";
}

const FLIP_MARGIN = 0.75;

/** XNNPACK's cost of packing one number of the right operand, in units of a JS transpose's per number. */
const PACK_COST = 4;

/** Reused buffers for transposed operands (gemm is synchronous, so two suffice). */
const scratchBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

function scratch(slot: number, size: number): Float32Array {
  if (scratchBuffers[slot].length < size) scratchBuffers[slot] = new Float32Array(size);
  return scratchBuffers[slot].subarray(0, size);
}

/** The part of the wasm backend used to read a result in place. */
interface HeapReader {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Runs tfjs's 2-D matMul of plain [m,k]·[k,n] operands (plus a row bias, fused) and hands the [m,n] product to
 * `use` (valid only during the call), then frees every tensor. On wasm the product is a
 * view of the wasm heap (the backend's own `typedArrayFromHeap`), not a `dataSync` copy:
 * a fresh 2 MB array costs ~0.8 ms of page faults here, more than the copy itself. The
 * product is never returned from the tidy callback: tidy walks its result looking for
 * tensors, element by element for a typed array (0.5 s for a 2048×192 product).
 */
function withProduct(
  left: Float32Array,
  right: Float32Array,
  m: number,
  k: number,
  n: number,
  bias: Float32Array | null,
  use: (product: Float32Array) => void,
): void {
  tf.tidy(() => {
    const a = tf.tensor2d(left, [m, k], "float32");
    const b = tf.tensor2d(right, [k, n], "float32");
    const c = bias === null ? tf.matMul(a, b) : tf.fused.matMul({ a, b, bias: tf.tensor1d(bias.subarray(0, n), "float32") });
    const backend = tf.backend() as unknown as Partial<HeapReader>;
    const view = typeof backend.typedArrayFromHeap === "function" ? backend.typedArrayFromHeap(c) : null;
    use(view instanceof Float32Array && view.length === m * n ? view : (c.dataSync() as Float32Array));
  });
}

/** out (+)= the transpose [cols, rows] of the row-major [rows, cols] matrix a. */
function transposeInto(a: Float32Array, rows: number, cols: number, out: Float32Array, accumulate: boolean): void {
  if (!accumulate) {
    transpose(a, rows, cols, out);
    return;
  }
  for (let i = 0; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] += a[r + j];
  }
}

/**
 * The transpose [cols, rows] of a row-major [rows, cols] matrix, into a new array. Four
 * source rows at a time: each column of the block is written as four consecutive floats,
 * 2–3× faster than a cache-blocked element loop.
 */
export function transpose(a: Float32Array, rows: number, cols: number, out: Float32Array = new Float32Array(rows * cols)): Float32Array {
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const r0 = i * cols;
    const r1 = r0 + cols;
    const r2 = r1 + cols;
    const r3 = r2 + cols;
    for (let j = 0; j < cols; j++) {
      const o = j * rows + i;
      out[o] = a[r0 + j];
      out[o + 1] = a[r1 + j];
      out[o + 2] = a[r2 + j];
      out[o + 3] = a[r3 + j];
    }
  }
  for (; i < rows; i++) {
    const r = i * cols;
    for (let j = 0; j < cols; j++) out[j * rows + i] = a[r + j];
  }
  return out;
}

/**
 * C[i,j] (+)= Σ_p A(i,p)·B(p,j) over strided views (A(i,p) = A[i·aRow + p·aCol], B(p,j) =
 * B[p·bRow + j·bCol]), so all four transpose combinations share one loop. Blocks of 4×4
 * outputs keep 16 accumulators in registers: each load of A serves four columns and each
 * load of B four rows (~2.5 GFLOP/s in V8 against ~0.65 for the one-output-at-a-time
 * loop). Sums run in float64 in p order and are rounded once when stored.
 */
export function gemmJs(
  A: Float32Array,
  aRow: number,
  aCol: number,
  B: Float32Array,
  bRow: number,
  bCol: number,
  C: Float32Array,
  m: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < n4; j += 4) block4x4(A, aRow, aCol, B, bRow, bCol, C, i, j, k, n, accumulate);
    for (let j = n4; j < n; j++) {
      for (let i2 = i; i2 < i + 4; i2++) C[i2 * n + j] = dot(A, i2 * aRow, aCol, B, j * bCol, bRow, k) + (accumulate ? C[i2 * n + j] : 0);
    }
  }
  for (let i = m4; i < m; i++) {
    for (let j = 0; j < n; j++) C[i * n + j] = dot(A, i * aRow, aCol, B, j * bCol, bRow, k) + (accumulate ? C[i * n + j] : 0);
  }
}

function dot(A: Float32Array, a0: number, aStep: number, B: Float32Array, b0: number, bStep: number, k: number): number {
  let s = 0;
  for (let p = 0; p < k; p++) s += A[a0 + p * aStep] * B[b0 + p * bStep];
  return s;
}

function block4x4(
  A: Float32Array,
  aRow: number,
  aCol: number,
  B: Float32Array,
  bRow: number,
  bCol: number,
  C: Float32Array,
  i: number,
  j: number,
  k: number,
  n: number,
  accumulate: boolean,
): void {
  const a0 = i * aRow;
  const a1 = a0 + aRow;
  const a2 = a1 + aRow;
  const a3 = a2 + aRow;
  const b0 = j * bCol;
  const b1 = b0 + bCol;
  const b2 = b1 + bCol;
  const b3 = b2 + bCol;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let p = 0; p < k; p++) {
    const pa = p * aCol;
    const pb = p * bRow;
    const x0 = A[a0 + pa], x1 = A[a1 + pa], x2 = A[a2 + pa], x3 = A[a3 + pa];
    const y0 = B[pb + b0], y1 = B[pb + b1], y2 = B[pb + b2], y3 = B[pb + b3];
    c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
    c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
    c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
    c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
  }
  const r0 = i * n + j;
  const r1 = r0 + n;
  const r2 = r1 + n;
  const r3 = r2 + n;
  if (accumulate) {
    C[r0] += c00; C[r0 + 1] += c01; C[r0 + 2] += c02; C[r0 + 3] += c03;
    C[r1] += c10; C[r1 + 1] += c11; C[r1 + 2] += c12; C[r1 + 3] += c13;
    C[r2] += c20; C[r2 + 1] += c21; C[r2 + 2] += c22; C[r2 + 3] += c23;
    C[r3] += c30; C[r3 + 1] += c31; C[r3 + 2] += c32; C[r3 + 3] += c33;
  } else {
    C[r0] = c00; C[r0 + 1] = c01; C[r0 + 2] = c02; C[r0 + 3] = c03;
    C[r1] = c10; C[r1 + 1] = c11; C[r1 + 2] = c12; C[r1 + 3] = c13;
    C[r2] = c20; C[r2 + 1] = c21; C[r2 + 2] = c22; C[r2 + 3] = c23;
    C[r3] = c30; C[r3 + 1] = c31; C[r3 + 2] = c32; C[r3 + 3] = c33;
  }
}
