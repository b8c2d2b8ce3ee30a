import { GEMM_FMA_WASM_BASE64, GEMM_WASM_BASE64 } from "./gemm_wasm.js";

/**
 * refinery's own WebAssembly SIMD kernels (src/nn/kernels/*.wat), for the small matrices
 * of RL networks where a tfjs call costs more than the arithmetic. The module is a few
 * hundred bytes, compiled synchronously on first use, and works wherever WebAssembly
 * SIMD does (Node ≥ 16.4, every current browser); `simdKernelsAvailable()` says whether
 * it does here, and callers fall back to JS when it does not.
 *
 * Where relaxed SIMD validates (Node ≥ 22, current browsers) the gemm kernels fuse their
 * multiply-adds (`fmaKernelsAvailable`), which changes products in the last bits.
 *
 * Operands are copied into the module's memory, padded to the kernel's 4×8 block (rows
 * to a multiple of 4, columns to a multiple of 8); the padding is zeroed and never read
 * back.
 */

export interface GemmExports {
  memory: WebAssembly.Memory;
  gemm(pa: number, pb: number, pc: number, mp: number, k: number, np: number, pbias: number, accum: number, act: number): void;
  gemm_tn(pa: number, pb: number, pc: number, mp: number, k: number, np: number, pbias: number, accum: number, act: number): void;
  /** gemm with row strides (in floats) of A, B and C: blocks of larger matrices. */
  gemm_s(pa: number, pb: number, pc: number, mp: number, k: number, np: number, sa: number, sb: number, sc: number, pbias: number, accum: number, act: number): void;
  gemm_tn_s(pa: number, pb: number, pc: number, mp: number, k: number, np: number, sa: number, sb: number, sc: number, pbias: number, accum: number, act: number): void;
  tanh(px: number, n: number): void;
}

let kernels: GemmExports | null | undefined;

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The shared instance (gemmSimd, tanhSimd): the fused build where relaxed SIMD validates. */
function load(): GemmExports | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = decodeBase64(GEMM_WASM_BASE64);
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(bytes)) {
      kernels = null;
    } else {
      const mod = new WebAssembly.Module(fmaKernelsAvailable() ? decodeBase64(GEMM_FMA_WASM_BASE64) : bytes);
      kernels = new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1 }) } }).exports as unknown as GemmExports;
    }
  } catch {
    kernels = null; // no WebAssembly, or no SIMD: callers use their JS path
  }
  return kernels;
}

let fma: boolean | undefined;

/**
 * Whether the fused multiply-add build of the gemm kernels (relaxed SIMD's
 * f32x4.relaxed_madd) validates here: Node ≥ 22, current Chrome, Firefox and Safari;
 * Node 20 only with --experimental-wasm-relaxed-simd.
 */
export function fmaKernelsAvailable(): boolean {
  if (fma === undefined) {
    try {
      fma = typeof WebAssembly === "object" && WebAssembly.validate(decodeBase64(GEMM_FMA_WASM_BASE64));
    } catch {
      fma = false;
    }
  }
  return fma;
}

/** Whether the SIMD kernels run on this platform. */
export function simdKernelsAvailable(): boolean {
  return load() !== null;
}

/** tanh is a rational approximation, within 3.6e-7 of Math.tanh (float32 rounding). */
export type KernelActivation = "linear" | "relu" | "tanh";

const ACTIVATION_CODE: Record<KernelActivation, number> = { linear: 0, relu: 1, tanh: 2 };

export interface SimdGemmOptions {
  transA?: boolean;
  transB?: boolean;
  out?: Float32Array;
  accumulate?: boolean;
  bias?: Float32Array;
  /** Activation applied after the bias, fused into the kernel. Default "linear". */
  activation?: KernelActivation;
}

const up = (x: number, to: number) => Math.ceil(x / to) * to;

/** Makes the module's memory at least `bytes` long and returns a fresh f32 view of it. */
function heap(k: GemmExports, bytes: number): Float32Array {
  const have = k.memory.buffer.byteLength;
  if (have < bytes) k.memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(k.memory.buffer);
}

/**
 * C[m,n] = act(op(A)·op(B) (+ C with accumulate) (+ bias per row)), row-major.
 * transA: A is stored [k,m]; transB: B is stored [n,k]. Sizes are not checked here: the
 * caller (gemm in nn/gemm.ts) checks them. Throws when the kernels are unavailable.
 */
export function gemmSimd(A: Float32Array, B: Float32Array, m: number, k: number, n: number, opts: SimdGemmOptions = {}): Float32Array {
  const mod = load();
  if (mod === null) throw new Error("WebAssembly SIMD kernels are not available on this platform");
  const out = opts.out ?? new Float32Array(m * n);
  const mp = up(m, 4);
  const np = up(n, 8);
  // Layout in floats: A [mp,k] (or [k,mp]) | B [k,np] | C [mp,np] | bias [np].
  const offA = 0;
  const offB = offA + mp * k;
  const offC = offB + k * np;
  const offBias = offC + mp * np;
  const mem = heap(mod, (offBias + np) * 4);

  // A as stored ([m,k], or [k,m] with transA: the gemm_tn kernel reads it so), padded
  // rows zeroed.
  const transA = opts.transA === true;
  if (transA) {
    if (mp === m) mem.set(A.length === m * k ? A : A.subarray(0, m * k), offA);
    else {
      for (let p = 0; p < k; p++) {
        mem.set(A.subarray(p * m, p * m + m), offA + p * mp);
        mem.fill(0, offA + p * mp + m, offA + (p + 1) * mp);
      }
    }
  } else {
    mem.set(A.length === m * k ? A : A.subarray(0, m * k), offA);
    if (mp > m) mem.fill(0, offA + m * k, offA + mp * k);
  }
  // B, padded columns zeroed.
  if (opts.transB === true) {
    for (let j = 0; j < n; j++) {
      const src = j * k;
      for (let p = 0; p < k; p++) mem[offB + p * np + j] = B[src + p];
    }
    if (np > n) for (let p = 0; p < k; p++) mem.fill(0, offB + p * np + n, offB + (p + 1) * np);
  } else if (np === n) {
    mem.set(B.length === k * n ? B : B.subarray(0, k * n), offB);
  } else {
    for (let p = 0; p < k; p++) {
      mem.set(B.subarray(p * n, p * n + n), offB + p * np);
      mem.fill(0, offB + p * np + n, offB + (p + 1) * np);
    }
  }
  const accumulate = opts.accumulate === true;
  if (accumulate) copyRows(out, n, mem, offC, np, m, n);
  const bias = opts.bias;
  if (bias !== undefined) {
    mem.set(bias.length === n ? bias : bias.subarray(0, n), offBias);
    mem.fill(0, offBias + n, offBias + np);
  }
  (transA ? mod.gemm_tn : mod.gemm)(offA * 4, offB * 4, offC * 4, mp, k, np, bias !== undefined ? offBias * 4 : 0, accumulate ? 1 : 0, ACTIVATION_CODE[opts.activation ?? "linear"]);
  copyRows(mem, np, out, 0, n, m, n, offC);
  return out;
}

/** dst[dOff + i·dStride + j] = src[sOff + i·sStride + j] for i < rows, j < cols. */
function copyRows(src: Float32Array, sStride: number, dst: Float32Array, dOff: number, dStride: number, rows: number, cols: number, sOff = 0): void {
  if (sStride === cols && dStride === cols) {
    dst.set(src.subarray(sOff, sOff + rows * cols), dOff);
    return;
  }
  for (let i = 0; i < rows; i++) dst.set(src.subarray(sOff + i * sStride, sOff + i * sStride + cols), dOff + i * dStride);
}

/** x[i] ← tanh(x[i]) for i < n (default: all of x), in place, by the kernel's rational approximation. */
export function tanhSimd(x: Float32Array, n = x.length): Float32Array {
  const mod = load();
  if (mod === null) throw new Error("WebAssembly SIMD kernels are not available on this platform");
  const padded = up(n, 4);
  const mem = heap(mod, padded * 4);
  mem.set(x.subarray(0, n), 0);
  mod.tanh(0, padded);
  x.set(mem.subarray(0, n), 0);
  return x;
}
