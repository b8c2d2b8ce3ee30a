/**
 * Tiny transformer LM speed: one training step (forward with trace + backward) at the
 * reference shape — 2 layers, width 64, 4 heads, vocabulary 40, 64 rows × 32 tokens —
 * split into forward and backward, and inside each into time in gemm, in attention and
 * the rest; then sampling with the KV cache (64 rows × 32 new tokens).
 *
 *   node --import tsx bench/transformer.ts [--backend wasm|cpu] [--repeats 7]
 *   npm run bench -- transformer [--backend cpu]
 *
 * Prints medians over the repeats after a warm-up. The host drifts ±30 % minute to
 * minute: compare rows of one run rather than numbers across runs.
 * Reference points (docs/training.md "Tensor backends", same machine kind): tfjs autodiff of this model on
 * wasm ~490 ms per step, PyTorch 1.13 + OpenBLAS 35 ms.
 */
import { initBackend, type BackendName } from "../src/core/backend.js";
import { Rng } from "../src/core/rng.js";
import { sampleToken } from "../src/nn/lm_math.js";
import { ArrayAdam } from "../src/nn/optim.js";
import { TransformerLM, transformerProfiler, type PhaseTimes } from "../src/nn/transformer.js";

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
const model = new TransformerLM({ vocabSize: V, contextLength: 64, layers: 2, width: 64, heads: 4 }, new Rng(0));
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

function trainStep(): void {
  const { trace } = model.forward(tokens, ROWS, T, null, true);
  model.backward(trace!, dLogits);
}

function sample(): void {
  const cache = model.createCache(ROWS);
  let column = new Int32Array(ROWS); // token 0 as the prompt
  for (let t = 0; t < NEW_TOKENS; t++) {
    const logits = model.step(cache, column);
    const next = new Int32Array(ROWS);
    for (let i = 0; i < ROWS; i++) next[i] = sampleToken(logits, i * V, V, rng, 1, 0).token;
    column = next;
  }
}

function timeMs(fn: () => void, repeats: number): number[] {
  for (let w = 0; w < 3; w++) fn();
  const out: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const f1 = (x: number) => x.toFixed(1).padStart(7);

/** Runs `fn` (after a warm-up) with the profiler on; per run: wall ms and the phase's parts. */
function profiled(fn: () => void, phases: ("forward" | "backward" | "step")[], repeats: number): { wall: number[]; parts: Record<string, PhaseTimes[]> } {
  for (let w = 0; w < 3; w++) fn();
  transformerProfiler.enabled = true;
  const wall: number[] = [];
  const parts: Record<string, PhaseTimes[]> = Object.fromEntries(phases.map((p) => [p, []]));
  for (let r = 0; r < repeats; r++) {
    transformerProfiler.reset();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    for (const p of phases) parts[p].push(transformerProfiler[p]);
  }
  transformerProfiler.enabled = false;
  return { wall, parts };
}

function printParts(label: string, samples: PhaseTimes[]): void {
  const m = medianTimes(samples);
  console.log(`    ${label.padEnd(9)}${f1(m.total)} ms = gemm ${f1(m.gemm)}  attention ${f1(m.attention)}  rest ${f1(m.total - m.gemm - m.attention)}`);
}

console.log(`tiny transformer LM on tfjs-${backend} (${model.numParameters()} parameters), ${REPEATS} repeats; median (best)`);

// Training step; the profiler adds ~50 performance.now() calls per step (a few µs).
const train = profiled(trainStep, ["forward", "backward"], REPEATS);
const step = median(train.wall);
const best = Math.min(...train.wall);
const tokensPerStep = ROWS * T;
console.log(`  training step (forward + backward), ${ROWS}×${T} tokens: ${f1(step)} ms (${best.toFixed(1)})   ${Math.round((tokensPerStep / step) * 1000)} tokens/s`);
printParts("forward", train.parts.forward);
printParts("backward", train.parts.backward);

// Optimiser step over the live arrays.
const opt = new ArrayAdam(model.parameters(), { learningRate: 1e-4 });
const { trace } = model.forward(tokens, ROWS, T, null, true);
const grads = model.backward(trace!, dLogits);
const adam = median(timeMs(() => opt.applyGradients(grads, 1), REPEATS));
console.log(`  ArrayAdam step (${model.numParameters()} parameters): ${f1(adam)} ms`);

// Sampling with the KV cache.
const sampling = profiled(sample, ["step"], REPEATS);
const sampleMs = median(sampling.wall);
const newTokens = ROWS * NEW_TOKENS;
console.log(`  sampling with KV cache, ${ROWS} rows × ${NEW_TOKENS} new tokens: ${f1(sampleMs)} ms (${Math.min(...sampling.wall).toFixed(1)})   ${Math.round((newTokens / sampleMs) * 1000)} tokens/s`);
const st = medianTimes(sampling.parts.step);
printParts(`${st.calls} steps`, sampling.parts.step);
console.log(`    sampleToken and the rest: ${f1(sampleMs - st.total)} ms`);
