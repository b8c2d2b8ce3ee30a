/**
 * `npm run bench -- kernels [--reps N]`: the matrix product C[m,n] = A[m,k]·B[k,n] at the
 * sizes RL networks use, three ways, each timed as a median over repeats (copies in and out
 * included):
 *   simd  refinery's WebAssembly SIMD kernel (src/nn/kernels/gemm.wat)
 *   js    the register-blocked JS loop (gemm path "js")
 *   tfjs  tfjs-wasm's matMul (XNNPACK; gemm path "backend")
 * Prints µs per call and GFLOP/s (2·m·k·n flops per call). Asserts nothing.
 */
import { performance } from "node:perf_hooks";
import { initBackend } from "../src/core/backend.js";
import { gemm } from "../src/nn/gemm.js";
import { gemmSimd } from "../src/nn/kernels/simd.js";

// [label, m, k, n, transA]: transA rows are weight gradients xᵀ·dz with x stored [k, m].
const SHAPES: [string, number, number, number, boolean?][] = [
  ["act 1×4→64", 1, 4, 64],
  ["act 4×64→64", 4, 64, 64],
  ["act 8×64→64", 8, 64, 64],
  ["mb 64×64→64", 64, 64, 64],
  ["mb 128×64→64", 128, 64, 64],
  ["mb 256×256→256", 256, 256, 256],
  ["mb 512×64→64", 512, 64, 64],
  ["dW xᵀ·dz 64×128→64", 64, 128, 64, true],
  ["dW xᵀ·dz 64×512→64", 64, 512, 64, true],
  ["big 1024×256→256", 1024, 256, 256],
  ["big 4096×64→64", 4096, 64, 64],
  ["tx 256×128→512", 256, 128, 512],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => void, minMs: number): number {
  for (let i = 0; i < 3; i++) fn(); // warm up (JIT, wasm tier-up, tfjs kernels)
  const samples: number[] = [];
  const start = performance.now();
  while (performance.now() - start < minMs || samples.length < 5) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return median(samples) * 1000; // µs
}

export async function benchKernels(args: string[]): Promise<void> {
  const msIdx = args.indexOf("--ms");
  const minMs = msIdx >= 0 ? Number(args[msIdx + 1]) : 300;
  await initBackend("wasm");
  console.log(`matrix product C = A·B: median µs per call (GFLOP/s), ≥ ${minMs} ms per cell`);
  console.log(["shape".padEnd(22), "simd".padStart(18), "js".padStart(18), "tfjs-wasm".padStart(18), "simd/js".padStart(8), "simd/tfjs".padStart(10)].join(""));
  for (const [label, m, k, n, transA = false] of SHAPES) {
    const A = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
    const B = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i));
    const out = new Float32Array(m * n);
    const flops = 2 * m * k * n;
    const simd = time(() => gemmSimd(A, B, m, k, n, { out, transA }), minMs);
    const js = time(() => gemm(A, B, m, k, n, { out, transA, path: "js" }), minMs);
    const tfjs = time(() => gemm(A, B, m, k, n, { out, transA, path: "backend" }), minMs);
    const cell = (us: number) => `${us.toFixed(1)} (${(flops / us / 1000).toFixed(2)})`.padStart(18);
    console.log([label.padEnd(22), cell(simd), cell(js), cell(tfjs), `${(js / simd).toFixed(2)}×`.padStart(8), `${(tfjs / simd).toFixed(2)}×`.padStart(10)].join(""));
  }
}
