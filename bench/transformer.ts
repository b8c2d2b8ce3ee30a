/**
 * Tiny transformer LM speed, its two backends side by side in one process: the JS path
 * (hand-written loops, gemm through nn/gemm.ts) and the kernels backend (refinery's
 * WebAssembly SIMD kernels on one arena per model). At the reference shape — 2 layers,
 * width 64, 4 heads, vocabulary 40, 64 rows × 32 tokens — it times one training step
 * (forward with trace + backward), split into forward and backward and inside each into
 * time in gemm, in attention and the rest; Adam over the model's parameters (JS loop and
 * kernel); then sampling with the KV cache (64 rows × 32 new tokens). The kernels backend
 * runs on 1 thread and on 2 (a helper thread takes half of each large product and of
 * attention; bit-identical), and where relaxed SIMD validates also with fused multiply-adds
 * (on Node 20 the benchmark turns on V8's --experimental-wasm-relaxed-simd itself). All
 * variants alternate repeat by repeat, so a busy host slows them alike: read the ratios.
 *
 *   node --import tsx bench/transformer.ts [--backend wasm|cpu] [--repeats 7]
 *   npm run bench -- transformer [--backend cpu]
 *
 * (--backend is the tfjs backend the JS path's gemm falls back to where WebAssembly SIMD
 * is missing.) Prints medians over the repeats after a warm-up.
 * Reference points (docs/training.md "Tensor backends", same machine kind): tfjs autodiff of this model on
 * wasm ~490 ms per step, PyTorch 1.13 + OpenBLAS 35 ms.
 */
import v8 from "node:v8";
import { initBackend, type BackendName } from "../src/core/backend.js";
import { Rng } from "../src/core/rng.js";
import { sampleToken } from "../src/nn/lm_math.js";
import { ArrayAdam } from "../src/nn/optim.js";
import { fmaKernelsAvailable } from "../src/nn/kernels/simd.js";
import { TransformerLM, transformerProfiler, type KernelBackendOptions, type PhaseTimes, type TransformerBackend } from "../src/nn/transformer.js";

// Relaxed SIMD is on by default from Node 22; on 20 it is behind this V8 flag, read when a
// module is validated, so setting it before the first kernel load suffices.
v8.setFlagsFromString("--experimental-wasm-relaxed-simd");

const args = process.argv.slice(2);
const backendArg = args.indexOf("--backend");
const backend = (backendArg >= 0 ? args[backendArg + 1] : "wasm") as BackendName;
const repeatsArg = args.indexOf("--repeats");
const REPEATS = Math.max(5, repeatsArg >= 0 ? Number(args[repeatsArg + 1]) : 7);

await initBackend(backend);

const ROWS = 64;
const T = 32;
const V = 40;
const NEW_TOKENS = 32;
const CONFIG = { vocabSize: V, contextLength: 64, layers: 2, width: 64, heads: 4 };
interface Variant {
  label: string;
  backend: TransformerBackend;
  options?: KernelBackendOptions;
}
const VARIANTS: Variant[] = [
  { label: "js", backend: "js" },
  { label: "kernels 1t", backend: "kernels", options: { threads: 1, fma: false } },
  { label: "kernels 2t", backend: "kernels", options: { threads: 2, fma: false } },
];
if (fmaKernelsAvailable()) {
  VARIANTS.push({ label: "fma 1t", backend: "kernels", options: { threads: 1, fma: true } }, { label: "fma 2t", backend: "kernels", options: { threads: 2, fma: true } });
}
const models = VARIANTS.map((v) => {
  const m = new TransformerLM(CONFIG, new Rng(0));
  m.setBackend(v.backend, v.options);
  m.waitForKernelThreads();
  return m;
});
/** Index of a variant by label (-1 when absent). */
const at = (label: string) => VARIANTS.findIndex((v) => v.label === label);
const rng = new Rng(1);
const tokens = Int32Array.from({ length: ROWS * T }, () => rng.integer(0, V));
const dLogits = Float32Array.from({ length: ROWS * T * V }, () => rng.normal() / (ROWS * T));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median per-call profile of a phase over the repeats (each field's own median). */
function medianTimes(samples: PhaseTimes[]): PhaseTimes {
  return {
    total: median(samples.map((s) => s.total)),
    gemm: median(samples.map((s) => s.gemm)),
    attention: median(samples.map((s) => s.attention)),
    calls: samples[0]?.calls ?? 0,
  };
}

function trainStep(model: TransformerLM): void {
  const { trace } = model.forward(tokens, ROWS, T, null, true);
  model.backward(trace!, dLogits);
}

function sample(model: TransformerLM): void {
  const r = new Rng(3);
  const cache = model.createCache(ROWS);
  let column = new Int32Array(ROWS); // token 0 as the prompt
  for (let t = 0; t < NEW_TOKENS; t++) {
    const logits = model.step(cache, column);
    const next = new Int32Array(ROWS);
    for (let i = 0; i < ROWS; i++) next[i] = sampleToken(logits, i * V, V, r, 1, 0).token;
    column = next;
  }
  model.releaseCache(cache);
}

const f1 = (x: number) => x.toFixed(1).padStart(7);

type Phase = "forward" | "backward" | "step";

/**
 * Runs `fn` for each model (after a warm-up) with the profiler on, the models alternating
 * repeat by repeat; per model and run: wall ms and the phases' parts.
 */
function profiled(fn: (m: TransformerLM) => void, phases: Phase[], repeats: number): { wall: number[]; parts: Record<string, PhaseTimes[]> }[] {
  for (let w = 0; w < 3; w++) models.forEach(fn);
  transformerProfiler.enabled = true;
  const out = models.map(() => ({ wall: [] as number[], parts: Object.fromEntries(phases.map((p) => [p, [] as PhaseTimes[]])) }));
  for (let r = 0; r < repeats; r++) {
    models.forEach((m, k) => {
      transformerProfiler.reset();
      const t0 = performance.now();
      fn(m);
      out[k].wall.push(performance.now() - t0);
      for (const p of phases) out[k].parts[p].push(transformerProfiler[p]);
    });
  }
  transformerProfiler.enabled = false;
  return out;
}

function printParts(label: string, samples: PhaseTimes[]): void {
  const m = medianTimes(samples);
  console.log(`      ${label.padEnd(9)}${f1(m.total)} ms = gemm ${f1(m.gemm)}  attention ${f1(m.attention)}  rest ${f1(m.total - m.gemm - m.attention)}`);
}

console.log(`tiny transformer LM (${models[0].numParameters()} parameters), JS path (gemm fallback tfjs-${backend}) and kernels alternating, ${REPEATS} repeats; median (best)`);
console.log(`  threads running: ${VARIANTS.map((v, k) => `${v.label} ${models[k].kernelThreads}`).join(", ")}${fmaKernelsAvailable() ? "" : "; FMA rows: relaxed SIMD unavailable here"}`);

/** "a / b" of two variants' medians and the median of their per-repeat ratios, when both ran. */
function ratioLine(walls: number[][], pairs: [string, string][]): string {
  const parts: string[] = [];
  for (const [a, b] of pairs) {
    const i = at(a);
    const j = at(b);
    if (i < 0 || j < 0) continue;
    parts.push(`${a} / ${b}: ${(median(walls[i]) / median(walls[j])).toFixed(2)} (per repeat ${median(walls[i].map((w, r) => w / walls[j][r])).toFixed(2)})`);
  }
  return `    ${parts.join("; ")}`;
}
const RATIOS: [string, string][] = [
  ["kernels 1t", "js"],
  ["kernels 2t", "kernels 1t"],
  ["fma 1t", "kernels 1t"],
  ["fma 2t", "kernels 1t"],
];

// Training step; the profiler adds ~50 performance.now() calls per step (a few µs).
const train = profiled(trainStep, ["forward", "backward"], REPEATS);
console.log(`  training step (forward + backward), ${ROWS}×${T} tokens:`);
const stepMs = train.map((t) => median(t.wall));
VARIANTS.forEach((v, k) => {
  console.log(`    ${v.label.padEnd(11)}${f1(stepMs[k])} ms (${Math.min(...train[k].wall).toFixed(1)})   ${Math.round(((ROWS * T) / stepMs[k]) * 1000)} tokens/s`);
  printParts("forward", train[k].parts.forward);
  printParts("backward", train[k].parts.backward);
});
console.log(ratioLine(train.map((t) => t.wall), RATIOS));
const helperLine = () =>
  VARIANTS.map((v, k) => [v.label, models[k].kernelHelperCounts] as const)
    .filter(([, c]) => c !== null)
    .map(([label, c]) => `${label} ${c!.helped} run by the helper, ${c!.stolen} taken back`)
    .join("; ");
console.log(`    split halves so far: ${helperLine()}`);

// Optimiser step over the live arrays: the JS loop and the kernel, alternating.
const adams = [false, true].map((kernels, k) => new ArrayAdam(models[k].parameters(), { learningRate: 1e-4, kernels }));
const grads = models[0].backward(models[0].forward(tokens, ROWS, T, null, true).trace!, dLogits);
const adamMs: number[][] = [[], []];
for (let w = 0; w < 3; w++) adams.forEach((o) => o.applyGradients(grads, 1));
for (let r = 0; r < REPEATS * 3; r++) {
  adams.forEach((o, k) => {
    const t0 = performance.now();
    o.applyGradients(grads, 1);
    adamMs[k].push(performance.now() - t0);
  });
}
console.log(`  Adam step (${models[0].numParameters()} parameters, clipped): JS ${median(adamMs[0]).toFixed(2)} ms, kernel ${median(adamMs[1]).toFixed(2)} ms`);

// Sampling with the KV cache.
const sampling = profiled(sample, ["step"], REPEATS);
const newTokens = ROWS * NEW_TOKENS;
console.log(`  sampling with KV cache, ${ROWS} rows × ${NEW_TOKENS} new tokens:`);
const sampleMs = sampling.map((t) => median(t.wall));
VARIANTS.forEach((v, k) => {
  const st = medianTimes(sampling[k].parts.step);
  console.log(`    ${v.label.padEnd(11)}${f1(sampleMs[k])} ms (${Math.min(...sampling[k].wall).toFixed(1)})   ${Math.round((newTokens / sampleMs[k]) * 1000)} tokens/s`);
  printParts(`${st.calls} steps`, sampling[k].parts.step);
  console.log(`      sampleToken and the rest: ${f1(sampleMs[k] - st.total)} ms`);
});
console.log(ratioLine(sampling.map((t) => t.wall), RATIOS));
for (const m of models) m.dispose();
