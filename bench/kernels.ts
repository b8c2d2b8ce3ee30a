/**
 * `npm run bench -- kernels [--reps N]`: the matrix product C[m,n] = A[m,k]·B[k,n] at the
 * sizes RL networks use, three ways, each timed as a median over repeats (copies in and out
 * included):
 *   simd  refinery's WebAssembly SIMD kernel (src/nn/kernels/gemm.wat)
 *   js    the register-blocked JS loop (gemm path "js")
 *   tfjs  tfjs-wasm's matMul (XNNPACK; gemm path "backend")
 * Prints µs per call and GFLOP/s (2·m·k·n flops per call).
 *
 * A second table times the products inside a model's arena (no copies; how the
 * transformer's kernels backend calls them) on 1 and 2 threads and, where relaxed SIMD
 * validates, with fused multiply-adds: the variants alternate call batch by call batch, so
 * a busy host slows them alike, and the ratios say where the helper thread pays (the
 * threshold MIN_SPLIT_MACS in src/nn/kernels/arena.ts comes from this table). On Node 20
 * the benchmark turns on V8's --experimental-wasm-relaxed-simd itself to show the FMA rows.
 * `--table arena` or `--table copy` prints one table. Asserts nothing.
 */
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import { initBackend } from "../src/core/backend.js";
import { gemm } from "../src/nn/gemm.js";
import { KernelArena } from "../src/nn/kernels/arena.js";
import { fmaKernelsAvailable, gemmSimd } from "../src/nn/kernels/simd.js";

// Relaxed SIMD is on by default from Node 22; on 20 it is behind this V8 flag, which is
// read when a module is validated, so setting it before the first kernel load suffices.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

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
  const tableIdx = args.indexOf("--table");
  const table = tableIdx >= 0 ? args[tableIdx + 1] : "all";
  if (table !== "arena") await benchCopying(minMs);
  if (table !== "copy") benchArena(minMs);
}

// [label, m, k, n, tn]: products of the tiny transformer's training step (2048 rows of
// width 64, ffWidth 256, vocabulary 40 → 48) and of the MLPs (256 wide, batch 256), plus
// small ones for the threshold. tn: C[m,n] = Aᵀ·B with A stored [k, m] (weight gradients).
const ARENA_SHAPES: [string, number, number, number, boolean?][] = [
  ["16×64→64", 16, 64, 64],
  ["32×64→64", 32, 64, 64],
  ["64×64→64", 64, 64, 64],
  ["64×64→192", 64, 64, 192],
  ["128×64→64", 128, 64, 64],
  ["256×64→64", 256, 64, 64],
  ["256×256→256", 256, 256, 256],
  ["tx 2048×64→192", 2048, 64, 192],
  ["tx 2048×64→64", 2048, 64, 64],
  ["tx 2048×64→256", 2048, 64, 256],
  ["tx 2048×256→64", 2048, 256, 64],
  ["tx 2048×64→48", 2048, 64, 48],
  ["dW 64×256→64 (tn)", 64, 256, 64, true],
  ["dW 256×256→256 (tn)", 256, 256, 256, true],
  ["tx dW 64×2048→192 (tn)", 64, 2048, 192, true],
  ["tx dW 256×2048→64 (tn)", 256, 2048, 64, true],
];

interface ArenaVariant {
  label: string;
  arena: KernelArena;
}

function benchArena(minMs: number): void {
  const fma = fmaKernelsAvailable();
  const variants: ArenaVariant[] = [];
  for (const f of fma ? [false, true] : [false]) {
    for (const threads of [1, 2] as const) {
      const arena = new KernelArena(65536, { threads, fma: f });
      arena.helper?.waitUntilReady();
      arena.minSplitMacs = 0; // this table is where the threshold comes from
      variants.push({ label: `${f ? "fma " : ""}${threads}t`, arena });
    }
  }
  const live = variants.map((v) => v.arena.threads);
  console.log(`\nproducts in a model's arena (no copies), ${variants.map((v, i) => `${v.label} = ${live[i]} thread${live[i] > 1 ? "s" : ""}`).join(", ")}${fma ? "" : "; FMA: relaxed SIMD unavailable here"}`);
  console.log(`median µs per call (GFLOP/s), variants alternating batch by batch, ≥ ${minMs} ms per shape`);
  console.log(["shape".padEnd(24), ...variants.map((v) => v.label.padStart(17)), "1t/2t".padStart(7), ...(fma ? ["1t/fma 1t".padStart(10), "1t/fma 2t".padStart(10)] : [])].join(""));
  for (const [label, m, k, n, tn = false] of ARENA_SHAPES) {
    const calls = variants.map(({ arena }) => {
      const pa = arena.alloc(m * k);
      const pb = arena.alloc(k * n);
      const pc = arena.alloc(m * n);
      const f32 = arena.f32;
      for (let i = 0; i < m * k; i++) f32[pa / 4 + i] = Math.sin(i);
      for (let i = 0; i < k * n; i++) f32[pb / 4 + i] = Math.cos(i);
      return tn ? () => arena.matmulTn(pa, pb, pc, m, k, n) : () => arena.matmul(pa, pb, pc, m, k, n, 0, false);
    });
    const us = alternate(calls, minMs);
    const flops = 2 * m * k * n;
    const cell = (t: number) => `${t.toFixed(1)} (${(flops / t / 1000).toFixed(1)})`.padStart(17);
    const ratios = [`${(us[0] / us[1]).toFixed(2)}×`.padStart(7)];
    if (fma) ratios.push(`${(us[0] / us[2]).toFixed(2)}×`.padStart(10), `${(us[0] / us[3]).toFixed(2)}×`.padStart(10));
    console.log([label.padEnd(24), ...us.map(cell), ...ratios].join(""));
  }
  for (const v of variants) v.arena.close();
}

/** Median µs per call of each function, timed in alternating batches of ~1 ms. */
function alternate(fns: (() => void)[], minMs: number): number[] {
  for (const fn of fns) for (let i = 0; i < 5; i++) fn();
  const t0 = performance.now();
  fns[0]();
  const batch = Math.max(1, Math.round(1 / Math.max(performance.now() - t0, 1e-3)));
  const samples: number[][] = fns.map(() => []);
  const start = performance.now();
  while (performance.now() - start < minMs * fns.length || samples[0].length < 7) {
    fns.forEach((fn, i) => {
      const s = performance.now();
      for (let b = 0; b < batch; b++) fn();
      samples[i].push(((performance.now() - s) / batch) * 1000);
    });
  }
  return samples.map(median);
}

async function benchCopying(minMs: number): Promise<void> {
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
