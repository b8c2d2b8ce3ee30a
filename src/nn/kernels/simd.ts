import { KernelArena, MIN_SPLIT_MACS } from "./arena.js";
import { GEMM_FMA_WASM_BASE64, GEMM_WASM_BASE64 } from "./gemm_wasm.js";
import { decodeBase64, fmaKernelsAvailable, type GemmExports } from "./modules.js";
import { defaultKernelThreads } from "./threads.js";

export { decodeBase64, fmaKernelsAvailable, type GemmExports } from "./modules.js";

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
 * `gemmSimd` copies its operands into one shared arena (kernels/arena.ts), padded to the
 * kernel's 4×8 block (rows to a multiple of 4, columns to a multiple of 8; the padding is
 * zeroed and never read back). A product of at least MIN_SPLIT_MACS multiply-adds runs
 * half on a helper thread (`setGemmThreads`, default `auto`: where shared WebAssembly
 * memory and a second core exist), bit-identical to one thread; the helper starts with the
 * first such product, so a process whose products are all small never starts it.
 */

let kernels: GemmExports | null | undefined;

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

let gemmThreads: "auto" | 1 | 2 = "auto";
/** gemmThreads with "auto" resolved (probing for shared memory costs a WebAssembly.Memory: once). */
let resolvedThreads: 1 | 2 | undefined;
/** gemmSimd's arena, its scratch block (byte offset, floats), and whether it has a helper thread. */
let products: { arena: KernelArena; scratch: number; floats: number; threaded: boolean } | null = null;

/**
 * Threads of gemmSimd's large products: 2 runs half of each product of ≥ MIN_SPLIT_MACS
 * multiply-adds on a helper thread (bit-identical to 1), "auto" (the default) is 2 where
 * a helper can run on a host with two cores or more. Process-wide: the MLP networks of the
 * `kernels` backend share these products (config `kernelThreads`).
 */
export function setGemmThreads(threads: "auto" | 1 | 2): void {
  if (threads === gemmThreads) return;
  gemmThreads = threads;
  resolvedThreads = undefined;
  products?.arena.close();
  products = null;
}

/** gemmSimd's arena (tests and benchmarks look at its helper thread); null before the first product. */
export function gemmSimdArena(): KernelArena | null {
  return products?.arena ?? null;
}

/** The arena for a product of `macs` multiply-adds with room for `floats` floats of operands. */
function productArena(macs: number, floats: number): { arena: KernelArena; base: number } {
  resolvedThreads ??= gemmThreads === "auto" ? defaultKernelThreads() : gemmThreads;
  const wantThreads = macs >= MIN_SPLIT_MACS && resolvedThreads === 2;
  if (products === null || (wantThreads && !products.threaded)) {
    products?.arena.close();
    const arena = new KernelArena(65536, { threads: wantThreads ? 2 : 1 });
    products = { arena, scratch: 0, floats: 0, threaded: wantThreads };
  }
  if (products.floats < floats) {
    if (products.scratch !== 0) products.arena.release(products.scratch, products.floats);
    products.floats = Math.max(floats, 2 * products.floats);
    products.scratch = products.arena.alloc(products.floats);
  }
  return { arena: products.arena, base: products.scratch / 4 };
}

/**
 * C[m,n] = act(op(A)·op(B) (+ C with accumulate) (+ bias per row)), row-major.
 * transA: A is stored [k,m]; transB: B is stored [n,k]. Sizes are not checked here: the
 * caller (gemm in nn/gemm.ts) checks them. Throws when the kernels are unavailable.
 */
export function gemmSimd(A: Float32Array, B: Float32Array, m: number, k: number, n: number, opts: SimdGemmOptions = {}): Float32Array {
  if (load() === null) throw new Error("WebAssembly SIMD kernels are not available on this platform");
  const out = opts.out ?? new Float32Array(m * n);
  const mp = up(m, 4);
  const np = up(n, 8);
  // Layout in floats from the scratch block: A [mp,k] (or [k,mp]) | B [k,np] | C [mp,np] | bias [np].
  const { arena, base } = productArena(mp * k * np, mp * k + k * np + mp * np + np);
  const offA = base;
  const offB = offA + mp * k;
  const offC = offB + k * np;
  const offBias = offC + mp * np;
  const mem = arena.f32;

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
  (transA ? arena.matmulTn : arena.matmul).call(arena, offA * 4, offB * 4, offC * 4, mp, k, np, bias !== undefined ? offBias * 4 : 0, accumulate, ACTIVATION_CODE[opts.activation ?? "linear"]);
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
