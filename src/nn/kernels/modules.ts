import { GEMM_FMA_WASM_BASE64 } from "./gemm_wasm.js";

/** What the loaders share: the gemm module's exports, base64 decoding, relaxed-SIMD detection. */

export interface GemmExports {
  memory: WebAssembly.Memory;
  gemm(pa: number, pb: number, pc: number, mp: number, k: number, np: number, pbias: number, accum: number, act: number): void;
  gemm_tn(pa: number, pb: number, pc: number, mp: number, k: number, np: number, pbias: number, accum: number, act: number): void;
  /** gemm with row strides (in floats) of A, B and C: blocks of larger matrices. */
  gemm_s(pa: number, pb: number, pc: number, mp: number, k: number, np: number, sa: number, sb: number, sc: number, pbias: number, accum: number, act: number): void;
  gemm_tn_s(pa: number, pb: number, pc: number, mp: number, k: number, np: number, sa: number, sb: number, sc: number, pbias: number, accum: number, act: number): void;
  tanh(px: number, n: number): void;
}

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
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

