import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { gemm, type GemmOptions } from "./gemm.js";
import { simdKernelsAvailable } from "./kernels/simd.js";
import { defaultKernelThreads } from "./kernels/threads.js";
import { ArenaCache, arenaUnsupported, ArenaTrace, TransformerArena } from "./kernels/transformer_arena.js";

/**
 * A tiny GPT-style causal transformer language model (pre-LN decoder), with forward and
 * backward passes written by hand over Float32Arrays.
 *
 * Why by hand: tfjs's autodiff of this model on the wasm backend took ~490 ms per training
 * step at the reference shape (2 layers, width 64, 4 heads, 64 × 32 tokens), because the
 * gradient of matMul uses transposed operands and attention uses batched matMuls, both of
 * which fall off XNNPACK onto scalar loops (docs/training.md, "Tensor backends"). Here every large
 * 2-D product goes through `gemm` (XNNPACK with plainly laid-out operands), attention
 * runs per (sequence, head) in register-blocked JS loops over the causal triangle only,
 * and layer norm, GELU, softmax and residuals are plain loops. The reference step takes
 * ~110–140 ms here (the host drifts), ~55 % of it in XNNPACK, ~20 % in attention and the
 * rest in element-wise loops (bench/transformer.ts). `setBackend("kernels")` runs the
 * same model on refinery's WebAssembly SIMD kernels instead, every array in one arena
 * (kernels/transformer_arena.ts): ~0.6× the JS path's step time, ~0.4× its sampling time.
 *
 * Architecture (GPT-2): x = tok_emb[token] + pos_emb[position]; per layer
 *   x += proj(attention(LN1(x))),  x += mlp_proj(act(fc(LN2(x))));
 * logits = LN_f(x)·head/w + head/b (head/w is tok_embᵀ when tieEmbeddings). Layer norms
 * use eps 1e-5; attention scales scores by 1/√headDim; GELU is the tanh approximation
 * (with a rational tanh accurate to 3e-7, see fastTanh).
 *
 * Left padding: row i of a batch may start with start[i] padding positions. Real
 * positions t ≥ start[i] have position id t − start[i] and attend to keys j in
 * [start[i], t] (padding keys are never attended to). A padding position t < start[i]
 * uses position id 0 and attends to itself only, so its output is finite (and
 * meaningless: callers ignore it). The same rules hold for the KV-cache `step`.
 *
 * Layouts: matrices are row-major; a linear layer's weight is [in, out] (y = x·W + b);
 * the qkv projection's 3·width outputs are [q | k | v], each split into heads of
 * headDim consecutive columns (GPT-2's c_attn).
 */

export interface TransformerConfig {
  vocabSize: number;
  contextLength: number;
  layers: number;
  width: number;
  heads: number;
  /** Hidden width of the MLP; default 4·width. */
  ffWidth?: number;
  /** MLP activation; default "gelu" (tanh approximation, as GPT-2). */
  activation?: "gelu" | "relu";
  /** Use tok_embᵀ as the output projection (no head/w parameter); default false. */
  tieEmbeddings?: boolean;
}

/**
 * What `backward` needs from a `forward`: the batch shape and (hidden) every activation.
 * Valid for one `backward` of the model that made it.
 */
export interface TransformerTrace {
  readonly n: number;
  readonly T: number;
}

/** Per-row key/value cache for incremental decoding (see `TransformerLM.step`). */
/**
 * What runs the training forward and backward: "js" (hand-written loops, gemm through
 * nn/gemm.ts) or "kernels" (refinery's WebAssembly SIMD kernels on one arena per model,
 * kernels/transformer_arena.ts), for training and for sampling with the KV cache.
 */
export type TransformerBackend = "js" | "kernels";

/** How the kernels backend runs (TransformerLM.setBackend). */
export interface KernelBackendOptions {
  /**
   * 2: a helper thread on the model's (shared) WebAssembly memory takes half of each large
   * matrix product and of attention, bit-identical to 1. Default 2 where shared memory and
   * threads are available and the host has two cores or more, else 1; where they are not
   * (a page without cross-origin isolation) 2 quietly runs as 1.
   */
  threads?: 1 | 2;
  /** Fused multiply-adds in the gemm kernels (relaxed SIMD): default where available; changes results in the last bits. */
  fma?: boolean;
}

/** A trace of the kernels backend: the activations live in the model's arena. */
class KernelTraceState implements TransformerTrace {
  constructor(
    readonly n: number,
    readonly T: number,
    readonly inner: ArenaTrace,
    readonly owner: TransformerLM,
  ) {}
}

/** A KV cache of the kernels backend: keys and values live in the model's arena. */
class KernelCacheState implements KvCache {
  constructor(
    readonly inner: ArenaCache,
    readonly owner: TransformerLM,
  ) {}

  get n(): number {
    return this.inner.n;
  }

  get length(): number {
    return this.inner.length;
  }
}

export interface KvCache {
  /** Number of rows. */
  readonly n: number;
  /** Positions filled so far (the next `step` writes position `length`). */
  readonly length: number;
}

/** Accumulated wall-clock milliseconds, when `transformerProfiler.enabled` is set. */
export interface PhaseTimes {
  total: number;
  gemm: number;
  attention: number;
  calls: number;
}

/**
 * A switchable timing accumulator for benchmarks: with `enabled`, forward, backward and
 * step add their wall time, and the part of it spent in gemm and in attention, here.
 */
export const transformerProfiler = {
  enabled: false,
  forward: emptyTimes(),
  backward: emptyTimes(),
  step: emptyTimes(),
  reset(): void {
    this.forward = emptyTimes();
    this.backward = emptyTimes();
    this.step = emptyTimes();
  },
};

function emptyTimes(): PhaseTimes {
  return { total: 0, gemm: 0, attention: 0, calls: 0 };
}

const LN_EPS = 1e-5;
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

interface LayerParams {
  ln1g: Float32Array;
  ln1b: Float32Array;
  qkvW: Float32Array;
  qkvB: Float32Array;
  projW: Float32Array;
  projB: Float32Array;
  ln2g: Float32Array;
  ln2b: Float32Array;
  fcW: Float32Array;
  fcB: Float32Array;
  mprojW: Float32Array;
  mprojB: Float32Array;
}

/** Indices into the parameter list of one layer's arrays (gradients use the same order). */
const LAYER_PARAM_KEYS = ["ln1g", "ln1b", "qkvW", "qkvB", "projW", "projB", "ln2g", "ln2b", "fcW", "fcB", "mprojW", "mprojB"] as const;
const LAYER_PARAM_NAMES = ["ln1/g", "ln1/b", "attn/qkv/w", "attn/qkv/b", "attn/proj/w", "attn/proj/b", "ln2/g", "ln2/b", "mlp/fc/w", "mlp/fc/b", "mlp/proj/w", "mlp/proj/b"];

interface NormOut {
  /** Normalised and scaled output [rows, d]. */
  out: Float32Array;
  /** (x − mean) · rstd, [rows, d]. */
  hat: Float32Array;
  /** 1/√(var + eps), [rows]. */
  rstd: Float32Array;
}

interface LayerTrace {
  ln1: NormOut;
  /** [N, 3d] */
  qkv: Float32Array;
  /** Attention probabilities, [n, H, Tp, Tp] with Tp = T rounded up to a multiple of 4; zeros where masked. */
  probs: Float32Array;
  /** Attention output (heads concatenated) before the projection, [N, d]. */
  attn: Float32Array;
  ln2: NormOut;
  /** MLP pre-activation [N, f]. */
  u: Float32Array;
  /** tanh(…) of the GELU for each u (null for relu), [N, f]. */
  th: Float32Array | null;
  /** MLP activation [N, f]. */
  act: Float32Array;
}

/** The concrete trace: owned by one model, consumed by one backward. */
class TraceState implements TransformerTrace {
  /** Set by backward, which hands the buffers back to the model's pool. */
  consumed = false;
  constructor(
    readonly n: number,
    readonly T: number,
    readonly tokens: Int32Array,
    readonly starts: Int32Array,
    readonly layers: readonly LayerTrace[],
    readonly lnf: NormOut,
    readonly owner: TransformerLM,
  ) {}
}

/**
 * Float32Arrays for reuse, by length. Fresh memory is expensive on this machine (first
 * touch of a new 2 MB array: ~0.8 ms of page faults, more than most kernels that fill
 * it), and a training step needs ~30 MB of activations and gradients; reusing them from
 * the previous step removes that cost. Arrays come back dirty: callers overwrite them.
 */
class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();

  take(size: number): Float32Array {
    return this.free.get(size)?.pop() ?? new Float32Array(size);
  }

  zeroed(size: number): Float32Array {
    const a = this.take(size);
    a.fill(0);
    return a;
  }

  give(...arrays: (Float32Array | null)[]): void {
    for (const a of arrays) {
      if (a === null) continue;
      let list = this.free.get(a.length);
      if (list === undefined) {
        list = [];
        this.free.set(a.length, list);
      }
      // A bound, in case traces pile up: a few steps' worth of every size is plenty.
      if (list.length < 64) list.push(a);
    }
  }
}

class KvCacheState implements KvCache {
  length = 0;
  constructor(
    readonly n: number,
    readonly starts: Int32Array,
    /** Per layer: keys [n, H, C, hd]. */
    readonly keys: Float32Array[],
    /** Per layer: values [n, H, C, hd]. */
    readonly values: Float32Array[],
    readonly owner: TransformerLM,
  ) {}
}

export class TransformerLM {
  readonly config: Required<TransformerConfig>;
  readonly paramNames: readonly string[];
  private readonly shapes: readonly (readonly number[])[];
  private readonly params: Float32Array[];
  private readonly tokEmb: Float32Array;
  private readonly posEmb: Float32Array;
  private readonly layerParams: LayerParams[];
  private readonly lnfG: Float32Array;
  private readonly lnfB: Float32Array;
  private readonly headW: Float32Array | null;
  private readonly headB: Float32Array;
  private readonly headDim: number;
  /** Index of layer l's first parameter in `params`. */
  private readonly layerOffset: number[];
  private phase: PhaseTimes | null = null;
  private readonly pool = new BufferPool();
  private arena: TransformerArena | null = null;
  private arenaOptions: KernelBackendOptions = {};

  constructor(config: TransformerConfig, rng: Rng) {
    this.config = validateConfig(config);
    const { vocabSize: V, contextLength: C, layers: L, width: d, ffWidth: f, tieEmbeddings } = this.config;
    this.headDim = d / this.config.heads;
    const names: string[] = [];
    const shapes: number[][] = [];
    const stds: number[] = [];
    const add = (name: string, shape: number[], std: number | "one" | "zero") => {
      names.push(name);
      shapes.push(shape);
      stds.push(std === "one" ? -1 : std === "zero" ? 0 : std);
    };
    // GPT-2's init: N(0, 0.02) weights, residual output projections scaled by 1/√(2L).
    const residualStd = 0.02 / Math.sqrt(2 * L);
    add("tok_emb", [V, d], 0.02);
    add("pos_emb", [C, d], 0.02);
    this.layerOffset = [];
    for (let l = 0; l < L; l++) {
      this.layerOffset.push(names.length);
      const p = `h${l}/`;
      add(p + "ln1/g", [d], "one");
      add(p + "ln1/b", [d], "zero");
      add(p + "attn/qkv/w", [d, 3 * d], 0.02);
      add(p + "attn/qkv/b", [3 * d], "zero");
      add(p + "attn/proj/w", [d, d], residualStd);
      add(p + "attn/proj/b", [d], "zero");
      add(p + "ln2/g", [d], "one");
      add(p + "ln2/b", [d], "zero");
      add(p + "mlp/fc/w", [d, f], 0.02);
      add(p + "mlp/fc/b", [f], "zero");
      add(p + "mlp/proj/w", [f, d], residualStd);
      add(p + "mlp/proj/b", [d], "zero");
    }
    add("ln_f/g", [d], "one");
    add("ln_f/b", [d], "zero");
    if (!tieEmbeddings) add("head/w", [d, V], 0.02);
    add("head/b", [V], "zero");
    this.paramNames = names;
    this.shapes = shapes;
    // Draws in parameter order, row-major: the same rng state gives the same weights.
    this.params = shapes.map((shape, i) => {
      const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
      if (stds[i] < 0) a.fill(1);
      else if (stds[i] > 0) for (let j = 0; j < a.length; j++) a[j] = rng.normal() * stds[i];
      return a;
    });
    const byName = (name: string) => this.params[names.indexOf(name)];
    this.tokEmb = byName("tok_emb");
    this.posEmb = byName("pos_emb");
    this.layerParams = this.layerOffset.map((offset) => {
      const entries = LAYER_PARAM_KEYS.map((key, j) => [key, this.params[offset + j]] as const);
      return Object.fromEntries(entries) as unknown as LayerParams;
    });
    this.lnfG = byName("ln_f/g");
    this.lnfB = byName("ln_f/b");
    this.headW = tieEmbeddings ? null : byName("head/w");
    this.headB = byName("head/b");
    // Sanity: the layer names and keys line up.
    LAYER_PARAM_NAMES.forEach((suffix, j) => {
      if (names[this.layerOffset[0] + j] !== `h0/${suffix}`) throw new Error(`internal: parameter order mismatch at ${suffix}`);
    });
  }

  /** Which code runs forward and backward (see TransformerBackend); "js" until set. */
  get backend(): TransformerBackend {
    return this.arena === null ? "js" : "kernels";
  }

  /**
   * Switches forward/backward between the JS loops and the WebAssembly SIMD kernels.
   * "kernels" needs WebAssembly SIMD and width, ffWidth multiples of 8 and a head size
   * that is a multiple of 4; it throws a ConfigError naming what is missing otherwise.
   * Traces made before a switch cannot be used after it.
   */
  setBackend(backend: TransformerBackend, options: KernelBackendOptions = {}): void {
    if (backend === "js") {
      this.arena?.close();
      this.arena = null;
      return;
    }
    if (backend !== "kernels") {
      throw new ConfigError(`unknown transformer backend ${describeValue(backend)}`, 'use "js" or "kernels"');
    }
    const threads = options.threads ?? defaultKernelThreads();
    if (threads !== 1 && threads !== 2) throw new ConfigError(`kernel threads ${describeValue(threads)} is not 1 or 2`, "use threads 1 or 2");
    if (this.arena !== null && this.arenaOptions.threads === threads && this.arenaOptions.fma === options.fma) return;
    if (!simdKernelsAvailable()) {
      throw new ConfigError("the transformer's kernels backend needs WebAssembly SIMD, which this platform lacks", 'use backend "js"');
    }
    const why = arenaUnsupported(this.config);
    if (why !== null) throw new ConfigError(`the transformer's kernels backend cannot run this model: ${why}`, 'use backend "js", or pick width and ffWidth multiples of 8 with a head size (width / heads) that is a multiple of 4');
    this.arena?.close();
    this.arenaOptions = { threads, fma: options.fma };
    this.arena = new TransformerArena(this.config, this.params, this.arenaOptions);
  }

  /** Threads the kernels backend runs its products on now: 2 once its helper thread has started, else 1 (also on the JS path). */
  get kernelThreads(): 1 | 2 {
    return this.arena?.threads ?? 1;
  }

  /** Whether the kernels backend's gemm fuses multiply-adds (relaxed SIMD); false on the JS path. */
  get kernelFma(): boolean {
    return this.arena?.arena.fma ?? false;
  }

  /**
   * Blocks until the kernels backend's helper thread has started (it starts in the
   * background, and products run on one thread until then); whether it runs. For
   * benchmarks and tests; training does not need it.
   */
  waitForKernelThreads(timeoutMs = 10000): boolean {
    return this.arena?.arena.helper?.waitUntilReady(timeoutMs) ?? false;
  }

  /** Halves of split products the helper thread ran, and halves the calling thread took back because the helper had not picked them up (null without a helper). */
  get kernelHelperCounts(): { helped: number; stolen: number } | null {
    return this.arena?.arena.helper?.counts ?? null;
  }

  /** Stops the kernels backend's helper thread now rather than when the model is garbage-collected. */
  dispose(): void {
    this.arena?.close();
  }

  paramShapes(): Record<string, number[]> {
    return Object.fromEntries(this.paramNames.map((name, i) => [name, [...this.shapes[i]]]));
  }

  /** The live parameter arrays in `paramNames` order: an optimiser updates them in place. */
  parameters(): Float32Array[] {
    return [...this.params];
  }

  numParameters(): number {
    return this.params.reduce((s, p) => s + p.length, 0);
  }

  /** Copies of the parameters, by name. */
  getWeights(): Record<string, Float32Array> {
    return Object.fromEntries(this.paramNames.map((name, i) => [name, this.params[i].slice()]));
  }

  /** Copies `w` into the live parameters; every name must be present with the right size. */
  setWeights(w: Record<string, Float32Array>): void {
    if (w === null || typeof w !== "object") {
      throw new ConfigError(`setWeights needs an object of Float32Arrays by parameter name, got ${describeValue(w)}`, "pass the object returned by getWeights()");
    }
    const missing = this.paramNames.filter((name) => !(name in w));
    const extra = Object.keys(w).filter((name) => !this.paramNames.includes(name));
    const wrong = this.paramNames.filter((name, i) => name in w && (!(w[name] instanceof Float32Array) || w[name].length !== this.params[i].length));
    if (missing.length > 0 || extra.length > 0 || wrong.length > 0) {
      const parts = [
        missing.length > 0 ? `missing ${missing.join(", ")}` : "",
        extra.length > 0 ? `unknown ${extra.join(", ")}` : "",
        wrong.length > 0 ? `wrong size or type ${wrong.map((name) => `${name} (needs ${this.params[this.paramNames.indexOf(name)].length} floats)`).join(", ")}` : "",
      ].filter((s) => s !== "");
      throw new ConfigError(`setWeights: ${parts.join("; ")}`, "pass the object returned by getWeights() of a transformer with the same config");
    }
    this.paramNames.forEach((name, i) => this.params[i].set(w[name]));
  }

  /**
   * Forward over n rows of T tokens (row-major Int32Array [n·T]); see the class comment
   * for the meaning of `start` (per-row left-padding counts, null = none). Returns logits
   * [n·T·V] (row t predicts token t + 1; a fresh array the caller owns) and, when
   * `withTrace`, what `backward` needs: all activations, ~(8d + 3f)·n·T floats per layer,
   * held until the trace is passed to `backward` (which recycles them) or dropped.
   */
  forward(tokens: Int32Array, n: number, T: number, start: Int32Array | null, withTrace: boolean): { logits: Float32Array; trace: TransformerTrace | null } {
    const starts = this.checkBatch(tokens, n, T, start);
    const t0 = this.begin(transformerProfiler.forward);
    if (this.arena !== null) {
      this.arena.times = this.phase;
      const out = this.arena.forward(tokens, n, T, starts, withTrace);
      this.arena.times = null;
      this.end(t0);
      return { logits: out.logits, trace: out.trace === null ? null : new KernelTraceState(n, T, out.trace, this) };
    }
    const { width: d } = this.config;
    const N = n * T;
    const x = this.pool.take(N * d);
    this.embed(tokens, n, T, starts, x);
    const layers: LayerTrace[] = [];
    for (let l = 0; l < this.config.layers; l++) layers.push(this.blockForward(l, x, n, T, starts));
    const lnf = this.layerNorm(x, N, this.lnfG, this.lnfB);
    const logits = this.headForward(lnf.out, N);
    this.pool.give(x);
    let trace: TraceState | null = null;
    if (withTrace) trace = new TraceState(n, T, tokens.slice(0, N), starts, layers, lnf, this);
    else this.release(layers, lnf);
    this.end(t0);
    return { logits, trace };
  }

  /**
   * Gradients of a scalar loss, given dLoss/dlogits [n·T·V] for the logits of the traced
   * forward, in `paramNames` order. The gradient arrays are fresh (the caller owns them).
   * Consumes the trace: its buffers are recycled, and a second backward on it throws.
   * Gradients are of the current weights' forward only if the weights have not changed
   * since that forward (the trace refers to them, it does not copy them).
   */
  backward(trace: TransformerTrace, dLogits: Float32Array): Float32Array[] {
    if (trace instanceof KernelTraceState && trace.owner === this) return this.kernelBackward(trace, dLogits);
    if (!(trace instanceof TraceState) || trace.owner !== this) {
      throw new ConfigError("backward got a trace that is not from this model's forward", "pass the trace returned by forward(…, withTrace = true) of the same model");
    }
    if (trace.consumed) {
      throw new ConfigError("this trace was already used by backward (its buffers were recycled)", "run forward(…, true) again for another backward pass");
    }
    const { n, T } = trace;
    const { width: d, vocabSize: V } = this.config;
    const N = n * T;
    if (!(dLogits instanceof Float32Array) || dLogits.length !== N * V) {
      throw new ConfigError(`backward: dLogits must be a Float32Array of n·T·V = ${N * V} entries, got ${describeValue(dLogits)}`, "pass dLoss/dlogits shaped like the logits");
    }
    const t0 = this.begin(transformerProfiler.backward);
    trace.consumed = true;
    const grads = this.params.map((p) => new Float32Array(p.length));
    const gTokEmb = grads[0];
    const z = trace.lnf.out;
    const dz = this.pool.take(N * d);
    if (this.headW === null) {
      // logits = z·tok_embᵀ: d tok_emb += dLogitsᵀ·z, dz = dLogits·tok_emb.
      this.mm(dLogits, z, V, N, d, { transA: true, out: gTokEmb, accumulate: true });
      this.mm(dLogits, this.tokEmb, N, V, d, { out: dz });
    } else {
      const iHeadW = this.params.length - 2;
      this.mm(z, dLogits, d, N, V, { transA: true, out: grads[iHeadW] });
      this.mm(dLogits, this.headW, N, V, d, { transB: true, out: dz });
    }
    columnSums(dLogits, N, V, grads[this.params.length - 1]);
    const dx = this.pool.zeroed(N * d);
    const iLnf = this.params.length - (this.headW === null ? 3 : 4);
    layerNormBackward(dz, trace.lnf, this.lnfG, N, d, dx, grads[iLnf], grads[iLnf + 1]);
    this.pool.give(dz);
    for (let l = this.config.layers - 1; l >= 0; l--) this.blockBackward(l, trace.layers[l], dx, n, T, trace.starts, grads);
    this.embedBackward(dx, trace.tokens, n, T, trace.starts, gTokEmb, grads[1]);
    this.pool.give(dx);
    this.release(trace.layers, trace.lnf);
    this.end(t0);
    return grads;
  }

  private kernelBackward(trace: KernelTraceState, dLogits: Float32Array): Float32Array[] {
    const arena = this.arena;
    if (arena === null || trace.inner.owner !== arena) {
      throw new ConfigError("backward got a trace from before the model's backend was switched", "run forward(…, true) again on the current backend");
    }
    if (trace.inner.consumed) {
      throw new ConfigError("this trace was already used by backward (its buffers were recycled)", "run forward(…, true) again for another backward pass");
    }
    const N = trace.n * trace.T;
    const V = this.config.vocabSize;
    if (!(dLogits instanceof Float32Array) || dLogits.length !== N * V) {
      throw new ConfigError(`backward: dLogits must be a Float32Array of n·T·V = ${N * V} entries, got ${describeValue(dLogits)}`, "pass dLoss/dlogits shaped like the logits");
    }
    const t0 = this.begin(transformerProfiler.backward);
    arena.times = this.phase;
    try {
      return arena.backward(trace.inner, dLogits);
    } finally {
      arena.times = null;
      this.end(t0);
    }
  }

  /** An empty key/value cache for n rows; `start` gives per-row left-padding counts as in `forward`. */
  createCache(n: number, start: Int32Array | null = null): KvCache {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError(`createCache needs a positive number of rows, got ${describeValue(n)}`, "pass the batch size");
    }
    const starts = this.checkStarts(start, n, this.config.contextLength);
    if (this.arena !== null) return new KernelCacheState(this.arena.createCache(n, starts), this);
    const { layers: L, heads: H, contextLength: C } = this.config;
    const size = n * H * C * this.headDim;
    const keys = Array.from({ length: L }, () => new Float32Array(size));
    const values = Array.from({ length: L }, () => new Float32Array(size));
    return new KvCacheState(n, starts, keys, values, this);
  }

  /**
   * A cache whose row i·times + k (k < times) is a copy of row i of `cache`: prefill each
   * distinct context once, then branch it into several continuations.
   */
  repeatCache(cache: KvCache, times: number): KvCache {
    const kernelCache = this.kernelCache(cache, "repeatCache");
    if (kernelCache === null && (!(cache instanceof KvCacheState) || cache.owner !== this)) {
      throw new ConfigError("repeatCache got a cache that was not created by this model's createCache", "create the cache with model.createCache(n)");
    }
    if (!Number.isSafeInteger(times) || times < 1) throw new ConfigError(`repeatCache needs a positive count, got ${describeValue(times)}`, "pass how many copies of each row to make");
    if (kernelCache !== null) {
      if (kernelCache.released) throw new ConfigError("repeatCache got a cache that was released (releaseCache)", "create a new cache with model.createCache(n)");
      return new KernelCacheState(this.arena!.repeatCache(kernelCache, times), this);
    }
    if (!(cache instanceof KvCacheState)) throw new Error("internal: cache type");
    const n = cache.n * times;
    const row = this.config.heads * this.config.contextLength * this.headDim;
    const starts = new Int32Array(n);
    const copy = (src: Float32Array) => {
      const out = new Float32Array(n * row);
      for (let i = 0; i < cache.n; i++) {
        const block = src.subarray(i * row, (i + 1) * row);
        for (let k = 0; k < times; k++) out.set(block, (i * times + k) * row);
      }
      return out;
    };
    for (let i = 0; i < n; i++) starts[i] = cache.starts[Math.floor(i / times)];
    const out = new KvCacheState(n, starts, cache.keys.map(copy), cache.values.map(copy), this);
    out.length = cache.length;
    return out;
  }

  /**
   * Hands a cache's memory back for reuse; the cache cannot be used afterwards. Optional:
   * on the kernels backend it saves growing the arena for every new cache (a dropped cache's
   * memory returns only after garbage collection); on the JS path it does nothing.
   */
  releaseCache(cache: KvCache): void {
    const kernelCache = this.kernelCache(cache, "releaseCache");
    if (kernelCache !== null) this.arena!.releaseCache(kernelCache);
  }

  /**
   * Feeds one token per row at the cache's next position (all rows advance together) and
   * returns the logits [n·V] for the next token. Equals `forward` over the tokens fed so
   * far, at the last position. Throws when the cache is full (contextLength positions).
   */
  step(cache: KvCache, tokens: Int32Array): Float32Array {
    const kernelCache = this.kernelCache(cache, "step");
    if (kernelCache !== null) return this.kernelStep(kernelCache, tokens);
    if (!(cache instanceof KvCacheState) || cache.owner !== this) {
      throw new ConfigError("step got a cache that was not created by this model's createCache", "create the cache with model.createCache(n)");
    }
    const { contextLength: C, width: d, vocabSize: V } = this.config;
    const n = cache.n;
    if (cache.length >= C) {
      throw new ConfigError(`the KV cache is full: all ${C} positions (contextLength) are used`, "start a new cache, or shorten the generation");
    }
    if (!(tokens instanceof Int32Array) || tokens.length !== n) {
      throw new ConfigError(`step needs an Int32Array of ${n} tokens (one per cache row), got ${describeValue(tokens)}`, "pass one token per row");
    }
    checkTokenRange(tokens, V);
    const t0 = this.begin(transformerProfiler.step);
    const t = cache.length;
    const x = this.pool.take(n * d);
    for (let i = 0; i < n; i++) {
      const pos = t >= cache.starts[i] ? t - cache.starts[i] : 0;
      addEmbeddingRow(this.tokEmb, tokens[i], this.posEmb, pos, d, x, i * d);
    }
    for (let l = 0; l < this.config.layers; l++) this.blockStep(l, x, cache, t);
    const lnf = this.layerNorm(x, n, this.lnfG, this.lnfB);
    const logits = this.headForward(lnf.out, n);
    this.pool.give(x, lnf.out, lnf.hat, lnf.rstd);
    cache.length = t + 1;
    this.end(t0);
    return logits;
  }

  /**
   * The arena cache inside `cache` when it is a kernels-backend cache of this model (null
   * for other caches); throws when it belongs to an arena this model no longer uses.
   */
  private kernelCache(cache: KvCache, what: string): ArenaCache | null {
    if (!(cache instanceof KernelCacheState) || cache.owner !== this) return null;
    if (this.arena === null || cache.inner.owner !== this.arena) {
      throw new ConfigError(`${what} got a cache from before the model's backend was switched`, "create a new cache with model.createCache(n)");
    }
    return cache.inner;
  }

  private kernelStep(cache: ArenaCache, tokens: Int32Array): Float32Array {
    const { contextLength: C, vocabSize: V } = this.config;
    if (cache.released) throw new ConfigError("step got a cache that was released (releaseCache)", "create a new cache with model.createCache(n)");
    if (cache.length >= C) {
      throw new ConfigError(`the KV cache is full: all ${C} positions (contextLength) are used`, "start a new cache, or shorten the generation");
    }
    if (!(tokens instanceof Int32Array) || tokens.length !== cache.n) {
      throw new ConfigError(`step needs an Int32Array of ${cache.n} tokens (one per cache row), got ${describeValue(tokens)}`, "pass one token per row");
    }
    checkTokenRange(tokens, V);
    const t0 = this.begin(transformerProfiler.step);
    const arena = this.arena!;
    arena.times = this.phase;
    try {
      return arena.step(cache, tokens);
    } finally {
      arena.times = null;
      this.end(t0);
    }
  }

  // ---- forward pieces ----

  private embed(tokens: Int32Array, n: number, T: number, starts: Int32Array, x: Float32Array): void {
    const d = this.config.width;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < T; t++) {
        const r = i * T + t;
        addEmbeddingRow(this.tokEmb, tokens[r], this.posEmb, positionId(t, starts[i]), d, x, r * d);
      }
    }
  }

  private blockForward(l: number, x: Float32Array, n: number, T: number, starts: Int32Array): LayerTrace {
    const p = this.layerParams[l];
    const { width: d, ffWidth: f, heads: H } = this.config;
    const N = n * T;
    const ln1 = this.layerNorm(x, N, p.ln1g, p.ln1b);
    const qkv = this.mm(ln1.out, p.qkvW, N, d, 3 * d, { out: this.pool.take(N * 3 * d), bias: p.qkvB });
    const Tp = roundUp4(T);
    const probs = this.pool.take(n * H * Tp * Tp);
    const attn = this.pool.take(N * d);
    const ta = this.clock();
    attentionForward(qkv, n, T, H, this.headDim, starts, probs, attn);
    this.addAttention(ta);
    this.mm(attn, p.projW, N, d, d, { out: x, accumulate: true, bias: p.projB });
    const ln2 = this.layerNorm(x, N, p.ln2g, p.ln2b);
    const u = this.mm(ln2.out, p.fcW, N, d, f, { out: this.pool.take(N * f), bias: p.fcB });
    const act = this.pool.take(N * f);
    let th: Float32Array | null = null;
    if (this.config.activation === "gelu") {
      th = this.pool.take(N * f);
      geluForward(u, th, act);
    } else {
      reluForward(u, act);
    }
    this.mm(act, p.mprojW, N, f, d, { out: x, accumulate: true, bias: p.mprojB });
    return { ln1, qkv, probs, attn, ln2, u, th, act };
  }

  /** Layer norm of x [rows, d] into pooled buffers. */
  private layerNorm(x: Float32Array, rows: number, g: Float32Array, b: Float32Array): NormOut {
    const d = this.config.width;
    const saved = { out: this.pool.take(rows * d), hat: this.pool.take(rows * d), rstd: this.pool.take(rows) };
    layerNormForward(x, rows, d, g, b, saved);
    return saved;
  }

  /** Returns a forward's activations to the pool. */
  private release(layers: readonly LayerTrace[], lnf: NormOut): void {
    for (const lt of layers) {
      this.pool.give(lt.ln1.out, lt.ln1.hat, lt.ln1.rstd, lt.qkv, lt.probs, lt.attn, lt.ln2.out, lt.ln2.hat, lt.ln2.rstd, lt.u, lt.th, lt.act);
    }
    this.pool.give(lnf.out, lnf.hat, lnf.rstd);
  }

  /** logits = z·head/w + head/b, a fresh [rows, V] array. */
  private headForward(z: Float32Array, rows: number): Float32Array {
    const { width: d, vocabSize: V } = this.config;
    const logits = new Float32Array(rows * V);
    if (this.headW === null) this.mm(z, this.tokEmb, rows, d, V, { transB: true, out: logits, bias: this.headB });
    else this.mm(z, this.headW, rows, d, V, { out: logits, bias: this.headB });
    return logits;
  }

  private blockStep(l: number, x: Float32Array, cache: KvCacheState, t: number): void {
    const p = this.layerParams[l];
    const { width: d, ffWidth: f, heads: H, contextLength: C } = this.config;
    const n = cache.n;
    const ln1 = this.layerNorm(x, n, p.ln1g, p.ln1b);
    const qkv = this.mm(ln1.out, p.qkvW, n, d, 3 * d, { out: this.pool.take(n * 3 * d), bias: p.qkvB });
    const attn = this.pool.take(n * d);
    const ta = this.clock();
    attentionStep(qkv, n, H, this.headDim, C, t, cache.starts, cache.keys[l], cache.values[l], attn);
    this.addAttention(ta);
    this.mm(attn, p.projW, n, d, d, { out: x, accumulate: true, bias: p.projB });
    const ln2 = this.layerNorm(x, n, p.ln2g, p.ln2b);
    const u = this.mm(ln2.out, p.fcW, n, d, f, { out: this.pool.take(n * f), bias: p.fcB });
    const act = this.pool.take(n * f);
    const th = this.pool.take(n * f);
    if (this.config.activation === "gelu") geluForward(u, th, act);
    else reluForward(u, act);
    this.mm(act, p.mprojW, n, f, d, { out: x, accumulate: true, bias: p.mprojB });
    this.pool.give(ln1.out, ln1.hat, ln1.rstd, qkv, attn, ln2.out, ln2.hat, ln2.rstd, u, act, th);
  }

  // ---- backward pieces ----

  /** Backpropagates dx (dLoss/d of the block's output residual) through layer l, in place. */
  private blockBackward(l: number, lt: LayerTrace, dx: Float32Array, n: number, T: number, starts: Int32Array, grads: Float32Array[]): void {
    const p = this.layerParams[l];
    const g = grads.slice(this.layerOffset[l], this.layerOffset[l] + LAYER_PARAM_KEYS.length);
    const [gLn1g, gLn1b, gQkvW, gQkvB, gProjW, gProjB, gLn2g, gLn2b, gFcW, gFcB, gMprojW, gMprojB] = g;
    const { width: d, ffWidth: f, heads: H } = this.config;
    const N = n * T;
    // MLP: out = x + act·Wm + bm, act = σ(u), u = LN2(x)·Wfc + bfc.
    const dAct = this.mm(dx, p.mprojW, N, d, f, { transB: true, out: this.pool.take(N * f) });
    this.mm(lt.act, dx, f, N, d, { transA: true, out: gMprojW });
    columnSums(dx, N, d, gMprojB);
    if (lt.th !== null) geluBackward(lt.u, lt.th, dAct);
    else reluBackward(lt.u, dAct);
    const du = dAct;
    this.mm(lt.ln2.out, du, d, N, f, { transA: true, out: gFcW });
    columnSums(du, N, f, gFcB);
    const dLn2 = this.mm(du, p.fcW, N, f, d, { transB: true, out: this.pool.take(N * d) });
    layerNormBackward(dLn2, lt.ln2, p.ln2g, N, d, dx, gLn2g, gLn2b);
    // Attention: out = x + attn·Wp + bp, attn = attention(qkv), qkv = LN1(x)·Wqkv + bqkv.
    const dAttn = this.mm(dx, p.projW, N, d, d, { transB: true, out: this.pool.take(N * d) });
    this.mm(lt.attn, dx, d, N, d, { transA: true, out: gProjW });
    columnSums(dx, N, d, gProjB);
    const dqkv = this.pool.take(N * 3 * d);
    const ta = this.clock();
    attentionBackward(lt.qkv, lt.probs, dAttn, n, T, H, this.headDim, starts, dqkv);
    this.addAttention(ta);
    this.mm(lt.ln1.out, dqkv, d, N, 3 * d, { transA: true, out: gQkvW });
    columnSums(dqkv, N, 3 * d, gQkvB);
    const dLn1 = dLn2;
    this.mm(dqkv, p.qkvW, N, 3 * d, d, { transB: true, out: dLn1 });
    layerNormBackward(dLn1, lt.ln1, p.ln1g, N, d, dx, gLn1g, gLn1b);
    this.pool.give(dAct, dLn2, dAttn, dqkv);
  }

  private embedBackward(dx: Float32Array, tokens: Int32Array, n: number, T: number, starts: Int32Array, gTok: Float32Array, gPos: Float32Array): void {
    const d = this.config.width;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < T; t++) {
        const r = (i * T + t) * d;
        const tok = tokens[i * T + t] * d;
        const pos = positionId(t, starts[i]) * d;
        for (let c = 0; c < d; c++) {
          gTok[tok + c] += dx[r + c];
          gPos[pos + c] += dx[r + c];
        }
      }
    }
  }

  // ---- validation ----

  private checkBatch(tokens: Int32Array, n: number, T: number, start: Int32Array | null): Int32Array {
    const { contextLength: C, vocabSize: V } = this.config;
    if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(T) || T < 1 || T > C) {
      throw new ConfigError(`forward needs n ≥ 1 rows of 1 ≤ T ≤ contextLength (${C}) tokens, got n=${describeValue(n)}, T=${describeValue(T)}`, "pass the batch shape of the tokens");
    }
    if (!(tokens instanceof Int32Array) || tokens.length !== n * T) {
      throw new ConfigError(`forward needs an Int32Array of n·T = ${n * T} tokens, got ${describeValue(tokens)}`, "pass the tokens row-major, [n, T]");
    }
    checkTokenRange(tokens, V);
    return this.checkStarts(start, n, T);
  }

  private checkStarts(start: Int32Array | null, n: number, maxStart: number): Int32Array {
    if (start === null || start === undefined) return new Int32Array(n);
    if (!(start instanceof Int32Array) || start.length !== n) {
      throw new ConfigError(`start must be an Int32Array with one entry per row (${n}) or null, got ${describeValue(start)}`, "pass the number of left-padding positions of each row");
    }
    for (let i = 0; i < n; i++) {
      if (start[i] < 0 || start[i] > maxStart) {
        throw new ConfigError(`start[${i}] = ${start[i]} is outside [0, ${maxStart}]`, "pass left-padding counts no larger than the sequence length");
      }
    }
    return start.slice();
  }

  // ---- profiling ----

  private mm(A: Float32Array, B: Float32Array, m: number, k: number, n: number, opts?: GemmOptions): Float32Array {
    if (this.phase === null) return gemm(A, B, m, k, n, opts);
    const t0 = performance.now();
    const out = gemm(A, B, m, k, n, opts);
    this.phase.gemm += performance.now() - t0;
    return out;
  }

  private begin(phase: PhaseTimes): number {
    if (!transformerProfiler.enabled) return 0;
    this.phase = phase;
    phase.calls++;
    return performance.now();
  }

  private end(t0: number): void {
    if (this.phase === null) return;
    this.phase.total += performance.now() - t0;
    this.phase = null;
  }

  private clock(): number {
    return this.phase === null ? 0 : performance.now();
  }

  private addAttention(t0: number): void {
    if (this.phase !== null) this.phase.attention += performance.now() - t0;
  }
}

function validateConfig(config: TransformerConfig): Required<TransformerConfig> {
  if (config === null || typeof config !== "object") {
    throw new ConfigError(`transformer config must be an object, got ${describeValue(config)}`, "pass { vocabSize, contextLength, layers, width, heads }");
  }
  for (const key of ["vocabSize", "contextLength", "layers", "width", "heads"] as const) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ConfigError(`transformer ${key} must be a positive integer, got ${describeValue(v)}`, `pass e.g. ${key === "heads" ? 4 : key === "layers" ? 2 : 64}`);
    }
  }
  if (config.width % config.heads !== 0) {
    throw new ConfigError(`transformer width ${config.width} is not divisible by heads ${config.heads}`, "pick a width that is a multiple of the number of heads, e.g. width 64 with 4 heads");
  }
  const ffWidth = config.ffWidth ?? 4 * config.width;
  if (!Number.isSafeInteger(ffWidth) || ffWidth < 1) {
    throw new ConfigError(`transformer ffWidth must be a positive integer, got ${describeValue(config.ffWidth)}`, "pass e.g. 4·width, or leave it out");
  }
  const activation = config.activation ?? "gelu";
  if (activation !== "gelu" && activation !== "relu") {
    throw new ConfigError(`unknown transformer activation ${describeValue(config.activation)}`, 'use "gelu" or "relu"');
  }
  const tieEmbeddings = config.tieEmbeddings ?? false;
  if (typeof tieEmbeddings !== "boolean") {
    throw new ConfigError(`tieEmbeddings must be true or false, got ${describeValue(config.tieEmbeddings)}`, "pass a boolean, or leave it out");
  }
  return {
    vocabSize: config.vocabSize,
    contextLength: config.contextLength,
    layers: config.layers,
    width: config.width,
    heads: config.heads,
    ffWidth,
    activation,
    tieEmbeddings,
  };
}

function checkTokenRange(tokens: Int32Array, V: number): void {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] < 0 || tokens[i] >= V) {
      throw new ConfigError(`token ${tokens[i]} at index ${i} is outside the vocabulary [0, ${V})`, "pass token ids smaller than vocabSize (padding positions need a valid id too, e.g. 0)");
    }
  }
}

/** Position id of position t in a row with `start` padding positions (0 for padding). */
function positionId(t: number, start: number): number {
  return t >= start ? t - start : 0;
}

function roundUp4(x: number): number {
  return (x + 3) & ~3;
}

function addEmbeddingRow(tokEmb: Float32Array, token: number, posEmb: Float32Array, pos: number, d: number, x: Float32Array, offset: number): void {
  const a = token * d;
  const b = pos * d;
  for (let c = 0; c < d; c++) x[offset + c] = tokEmb[a + c] + posEmb[b + c];
}

// ---- element-wise kernels ----

/** Layer norm over rows of width d (biased variance, eps 1e-5), keeping what backward needs. */
function layerNormForward(x: Float32Array, rows: number, d: number, g: Float32Array, b: Float32Array, saved: NormOut): void {
  const { out, hat, rstd } = saved;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let sum = 0;
    for (let c = 0; c < d; c++) sum += x[o + c];
    const mean = sum / d;
    let sq = 0;
    for (let c = 0; c < d; c++) {
      const e = x[o + c] - mean;
      sq += e * e;
    }
    const rs = 1 / Math.sqrt(sq / d + LN_EPS);
    rstd[r] = rs;
    for (let c = 0; c < d; c++) {
      const h = (x[o + c] - mean) * rs;
      hat[o + c] = h;
      out[o + c] = h * g[c] + b[c];
    }
  }
}

/**
 * Backward of layerNorm: adds dLoss/dx to `dx` and dLoss/dg, dLoss/db to `dg`, `db`.
 * With ĥ = (x − μ)·rstd and gy = dy·g: dx = rstd · (gy − mean(gy) − ĥ · mean(gy·ĥ)).
 */
function layerNormBackward(dy: Float32Array, saved: NormOut, g: Float32Array, rows: number, d: number, dx: Float32Array, dg: Float32Array, db: Float32Array): void {
  const { hat, rstd } = saved;
  const sg = new Float64Array(d);
  const sb = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let s1 = 0;
    let s2 = 0;
    for (let c = 0; c < d; c++) {
      const gy = dy[o + c] * g[c];
      s1 += gy;
      s2 += gy * hat[o + c];
      sg[c] += dy[o + c] * hat[o + c];
      sb[c] += dy[o + c];
    }
    const m1 = s1 / d;
    const m2 = s2 / d;
    const rs = rstd[r];
    for (let c = 0; c < d; c++) dx[o + c] += rs * (dy[o + c] * g[c] - m1 - hat[o + c] * m2);
  }
  for (let c = 0; c < d; c++) {
    dg[c] += sg[c];
    db[c] += sb[c];
  }
}

/** out[j] += Σ_r x[r, j] (float64 sums; four rows per pass over the sums, 2× faster). */
function columnSums(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const s = new Float64Array(cols);
  let r = 0;
  for (; r + 3 < rows; r += 4) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) s[j] += x[o + j] + x[o + cols + j] + x[o + 2 * cols + j] + x[o + 3 * cols + j];
  }
  for (; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) s[j] += x[o + j];
  }
  for (let j = 0; j < cols; j++) out[j] += s[j];
}

/** GELU, tanh approximation: act = ½u(1 + tanh(√(2/π)(u + 0.044715u³))); keeps the tanh. */
function geluForward(u: Float32Array, th: Float32Array, act: Float32Array): void {
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    const t = fastTanh(GELU_C * (x + GELU_A * x * x * x));
    th[i] = t;
    act[i] = 0.5 * x * (1 + t);
  }
}

/**
 * tanh to float32 accuracy (absolute error < 3e-7, i.e. a few float32 ulps) at a third of
 * Math.tanh's cost (~8 against ~25 ns in V8 here, where GELU over a 2048×256 activation
 * took 13 ms with Math.tanh). A [13/6] odd/even rational minimax fit on [−7.9053, 7.9053]
 * (the form and coefficients of Eigen's float tanh); beyond that tanh is 1 within float32
 * rounding, and the clamped value is returned.
 */
export function fastTanh(x: number): number {
  const c = x > 7.90531110763549805 ? 7.90531110763549805 : x < -7.90531110763549805 ? -7.90531110763549805 : x;
  const x2 = c * c;
  let p = -2.76076847742355e-16;
  p = p * x2 + 2.00018790482477e-13;
  p = p * x2 - 8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = 1.198258394667020e-6;
  q = q * x2 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (p * c) / q;
}

/** In place: dAct → dU, with dact/du = ½(1 + t) + ½u(1 − t²)·√(2/π)(1 + 3·0.044715u²). */
function geluBackward(u: Float32Array, th: Float32Array, grad: Float32Array): void {
  for (let i = 0; i < u.length; i++) {
    const x = u[i];
    const t = th[i];
    grad[i] *= 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * x * x);
  }
}

function reluForward(u: Float32Array, act: Float32Array): void {
  for (let i = 0; i < u.length; i++) act[i] = u[i] > 0 ? u[i] : 0;
}

function reluBackward(u: Float32Array, grad: Float32Array): void {
  for (let i = 0; i < u.length; i++) if (!(u[i] > 0)) grad[i] = 0;
}

// ---- attention ----

/**
 * Causal multi-head attention over qkv [N, 3d] (N = n·T), writing the probabilities
 * (into `probs`, [n, H, Tp, Tp], zeros where masked) and the heads' outputs,
 * concatenated, into `attn` [N, d]. Works per (row, head) with 4×4-blocked kernels over
 * the causal triangle. The kernels read q, k, v where they lie in qkv (row stride 3d) and
 * write into attn directly; when T is not a multiple of 4 they work instead on copies
 * padded with zero rows to Tp = T rounded up to 4, so they need no edge code.
 */
function attentionForward(qkv: Float32Array, n: number, T: number, H: number, hd: number, starts: Int32Array, probs: Float32Array, attn: Float32Array): void {
  const d = H * hd;
  const Tp = roundUp4(T);
  const scale = 1 / Math.sqrt(hd);
  const padded = Tp !== T;
  const q = padded ? new Float32Array(Tp * hd) : qkv;
  const k = padded ? new Float32Array(Tp * hd) : qkv;
  const v = padded ? new Float32Array(Tp * hd) : qkv;
  const o = padded ? new Float32Array(Tp * hd) : attn;
  const inStride = padded ? hd : 3 * d;
  const outStride = padded ? hd : d;
  for (let i = 0; i < n; i++) {
    const row0 = i * T;
    for (let h = 0; h < H; h++) {
      const qOff = row0 * 3 * d + h * hd;
      const oOff = row0 * d + h * hd;
      if (padded) {
        gatherHead(qkv, row0, T, 3 * d, h * hd, hd, q);
        gatherHead(qkv, row0, T, 3 * d, d + h * hd, hd, k);
        gatherHead(qkv, row0, T, 3 * d, 2 * d + h * hd, hd, v);
      }
      const p = probs.subarray((i * H + h) * Tp * Tp, (i * H + h + 1) * Tp * Tp);
      lowerABt(q, padded ? 0 : qOff, k, padded ? 0 : qOff + d, inStride, p, Tp, hd, scale);
      maskedSoftmax(p, T, Tp, starts[i]);
      causalAB(p, v, padded ? 0 : qOff + 2 * d, inStride, o, padded ? 0 : oOff, outStride, Tp, hd);
      if (padded) scatterHead(o, attn, row0, T, d, h * hd, hd);
    }
  }
}

/**
 * Backward of attentionForward: given dLoss/d attn [N, d], writes dLoss/d qkv [N, 3d].
 * Per (row, head), with S the scaled scores and P = softmax(S):
 *   dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)),  dQ = scale·dS·K,  dK = scale·dSᵀ·Q,  dV = Pᵀ·dO.
 * In place in the [N, ·] arrays when T is a multiple of 4, on padded copies otherwise.
 */
function attentionBackward(qkv: Float32Array, probs: Float32Array, dAttn: Float32Array, n: number, T: number, H: number, hd: number, starts: Int32Array, dqkv: Float32Array): void {
  const d = H * hd;
  const Tp = roundUp4(T);
  const scale = 1 / Math.sqrt(hd);
  const padded = Tp !== T;
  const q = padded ? new Float32Array(Tp * hd) : qkv;
  const k = padded ? new Float32Array(Tp * hd) : qkv;
  const v = padded ? new Float32Array(Tp * hd) : qkv;
  const dO = padded ? new Float32Array(Tp * hd) : dAttn;
  const dq = padded ? new Float32Array(Tp * hd) : dqkv;
  const dk = padded ? new Float32Array(Tp * hd) : dqkv;
  const dv = padded ? new Float32Array(Tp * hd) : dqkv;
  const ds = new Float32Array(Tp * Tp);
  const qkvStride = padded ? hd : 3 * d;
  const dStride = padded ? hd : d;
  for (let i = 0; i < n; i++) {
    const row0 = i * T;
    for (let h = 0; h < H; h++) {
      // Offsets of this head's q, k, v (and their gradients) and of its dO.
      const qOff = padded ? 0 : row0 * 3 * d + h * hd;
      const kOff = padded ? 0 : qOff + d;
      const vOff = padded ? 0 : qOff + 2 * d;
      const oOff = padded ? 0 : row0 * d + h * hd;
      if (padded) {
        gatherHead(qkv, row0, T, 3 * d, h * hd, hd, q);
        gatherHead(qkv, row0, T, 3 * d, d + h * hd, hd, k);
        gatherHead(qkv, row0, T, 3 * d, 2 * d + h * hd, hd, v);
        gatherHead(dAttn, row0, T, d, h * hd, hd, dO);
      }
      const p = probs.subarray((i * H + h) * Tp * Tp, (i * H + h + 1) * Tp * Tp);
      lowerABtMixed(dO, oOff, dStride, v, vOff, qkvStride, ds, Tp, hd);
      softmaxBackward(p, ds, T, Tp, starts[i], scale);
      causalAB(ds, k, kOff, qkvStride, dq, qOff, qkvStride, Tp, hd);
      causalAtB(ds, q, qOff, qkvStride, dk, kOff, qkvStride, Tp, hd);
      causalAtB(p, dO, oOff, dStride, dv, vOff, qkvStride, Tp, hd);
      if (padded) {
        scatterHead(dq, dqkv, row0, T, 3 * d, h * hd, hd);
        scatterHead(dk, dqkv, row0, T, 3 * d, d + h * hd, hd);
        scatterHead(dv, dqkv, row0, T, 3 * d, 2 * d + h * hd, hd);
      }
    }
  }
}

/** dst[t, c] = src[(row0 + t)·stride + col + c] for t < T; rows T…Tp−1 of dst stay zero. */
function gatherHead(src: Float32Array, row0: number, T: number, stride: number, col: number, hd: number, dst: Float32Array): void {
  for (let t = 0; t < T; t++) {
    const s = (row0 + t) * stride + col;
    const o = t * hd;
    for (let c = 0; c < hd; c++) dst[o + c] = src[s + c];
  }
}

function scatterHead(src: Float32Array, dst: Float32Array, row0: number, T: number, stride: number, col: number, hd: number): void {
  for (let t = 0; t < T; t++) {
    const s = t * hd;
    const o = (row0 + t) * stride + col;
    for (let c = 0; c < hd; c++) dst[o + c] = src[s + c];
  }
}

/**
 * Softmax of each row t < T of the scores in `s` [Tp, Tp] over the keys row t may see:
 * j in [start, t] for real positions, j = t alone for padding positions (t < start); all
 * other entries (and rows ≥ T) become 0. Max-subtracted, in place.
 */
function maskedSoftmax(s: Float32Array, T: number, Tp: number, start: number): void {
  for (let t = 0; t < Tp; t++) {
    const o = t * Tp;
    if (t >= T) {
      s.fill(0, o, o + Tp);
      continue;
    }
    const lo = t >= start ? start : t;
    let max = -Infinity;
    for (let j = lo; j <= t; j++) if (s[o + j] > max) max = s[o + j];
    let sum = 0;
    for (let j = lo; j <= t; j++) {
      const e = Math.exp(s[o + j] - max);
      s[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = lo; j <= t; j++) s[o + j] *= inv;
    s.fill(0, o, o + lo);
    s.fill(0, o + t + 1, o + Tp);
  }
}

/** In place: dP → scale · P ⊙ (dP − Σ_j P·dP) on the visible entries, 0 elsewhere. */
function softmaxBackward(p: Float32Array, ds: Float32Array, T: number, Tp: number, start: number, scale: number): void {
  for (let t = 0; t < Tp; t++) {
    const o = t * Tp;
    if (t >= T) {
      ds.fill(0, o, o + Tp);
      continue;
    }
    const lo = t >= start ? start : t;
    let dot = 0;
    for (let j = lo; j <= t; j++) dot += p[o + j] * ds[o + j];
    for (let j = lo; j <= t; j++) ds[o + j] = scale * p[o + j] * (ds[o + j] - dot);
    ds.fill(0, o, o + lo);
    ds.fill(0, o + t + 1, o + Tp);
  }
}

/**
 * C[t, j] = scale · Σ_c A[aOff + t·stride + c]·B[bOff + j·stride + c] for the 4×4 blocks
 * on and below the diagonal of C [Tp, Tp]; entries above the diagonal inside diagonal
 * blocks are computed too (the softmax masks them), blocks above it are left untouched.
 */
function lowerABt(A: Float32Array, aOff: number, B: Float32Array, bOff: number, stride: number, C: Float32Array, Tp: number, hd: number, scale: number): void {
  lowerBlocks(A, aOff, stride, B, bOff, stride, C, Tp, hd, scale);
}

/** lowerABt with separate row strides for A and B (dP = dO·Vᵀ: dO is [N, d], V lives in qkv). */
function lowerABtMixed(A: Float32Array, aOff: number, aStride: number, B: Float32Array, bOff: number, bStride: number, C: Float32Array, Tp: number, hd: number): void {
  lowerBlocks(A, aOff, aStride, B, bOff, bStride, C, Tp, hd, 1);
}

function lowerBlocks(A: Float32Array, aOff: number, aStride: number, B: Float32Array, bOff: number, bStride: number, C: Float32Array, Tp: number, hd: number, scale: number): void {
  for (let t0 = 0; t0 < Tp; t0 += 4) {
    const a0 = aOff + t0 * aStride;
    const a1 = a0 + aStride;
    const a2 = a1 + aStride;
    const a3 = a2 + aStride;
    for (let j0 = 0; j0 <= t0; j0 += 4) {
      const b0 = bOff + j0 * bStride;
      const b1 = b0 + bStride;
      const b2 = b1 + bStride;
      const b3 = b2 + bStride;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let c = 0; c < hd; c++) {
        const x0 = A[a0 + c], x1 = A[a1 + c], x2 = A[a2 + c], x3 = A[a3 + c];
        const y0 = B[b0 + c], y1 = B[b1 + c], y2 = B[b2 + c], y3 = B[b3 + c];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const r0 = t0 * Tp + j0;
      const r1 = r0 + Tp;
      const r2 = r1 + Tp;
      const r3 = r2 + Tp;
      C[r0] = scale * c00; C[r0 + 1] = scale * c01; C[r0 + 2] = scale * c02; C[r0 + 3] = scale * c03;
      C[r1] = scale * c10; C[r1 + 1] = scale * c11; C[r1 + 2] = scale * c12; C[r1 + 3] = scale * c13;
      C[r2] = scale * c20; C[r2 + 1] = scale * c21; C[r2 + 2] = scale * c22; C[r2 + 3] = scale * c23;
      C[r3] = scale * c30; C[r3 + 1] = scale * c31; C[r3 + 2] = scale * c32; C[r3 + 3] = scale * c33;
    }
  }
}

/**
 * O[t, c] = Σ_j W[t, j]·X[j, c] for a lower-triangular W [Tp, Tp] (zero above the
 * diagonal): rows t0…t0+3 only sum j < t0 + 4. X's row j is X[xOff + j·xStride …], O's
 * row t is O[oOff + t·oStride …], each hd wide.
 */
function causalAB(W: Float32Array, X: Float32Array, xOff: number, xStride: number, O: Float32Array, oOff: number, oStride: number, Tp: number, hd: number): void {
  const hd4 = hd - (hd % 4);
  for (let t0 = 0; t0 < Tp; t0 += 4) {
    const w0 = t0 * Tp;
    const w1 = w0 + Tp;
    const w2 = w1 + Tp;
    const w3 = w2 + Tp;
    const jEnd = t0 + 4;
    const r0 = oOff + t0 * oStride;
    const r1 = r0 + oStride;
    const r2 = r1 + oStride;
    const r3 = r2 + oStride;
    for (let c0 = 0; c0 < hd4; c0 += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let j = 0; j < jEnd; j++) {
        const x0 = W[w0 + j], x1 = W[w1 + j], x2 = W[w2 + j], x3 = W[w3 + j];
        const xb = xOff + j * xStride + c0;
        const y0 = X[xb], y1 = X[xb + 1], y2 = X[xb + 2], y3 = X[xb + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      O[r0 + c0] = c00; O[r0 + c0 + 1] = c01; O[r0 + c0 + 2] = c02; O[r0 + c0 + 3] = c03;
      O[r1 + c0] = c10; O[r1 + c0 + 1] = c11; O[r1 + c0 + 2] = c12; O[r1 + c0 + 3] = c13;
      O[r2 + c0] = c20; O[r2 + c0 + 1] = c21; O[r2 + c0 + 2] = c22; O[r2 + c0 + 3] = c23;
      O[r3 + c0] = c30; O[r3 + c0 + 1] = c31; O[r3 + c0 + 2] = c32; O[r3 + c0 + 3] = c33;
    }
    for (let c = hd4; c < hd; c++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < jEnd; j++) {
        const y = X[xOff + j * xStride + c];
        s0 += W[w0 + j] * y;
        s1 += W[w1 + j] * y;
        s2 += W[w2 + j] * y;
        s3 += W[w3 + j] * y;
      }
      O[r0 + c] = s0;
      O[r1 + c] = s1;
      O[r2 + c] = s2;
      O[r3 + c] = s3;
    }
  }
}

/**
 * O[j, c] = Σ_t W[t, j]·X[t, c] for a lower-triangular W [Tp, Tp]: output rows j0…j0+3
 * only sum t ≥ j0. Strided X and O as in causalAB.
 */
function causalAtB(W: Float32Array, X: Float32Array, xOff: number, xStride: number, O: Float32Array, oOff: number, oStride: number, Tp: number, hd: number): void {
  const hd4 = hd - (hd % 4);
  for (let j0 = 0; j0 < Tp; j0 += 4) {
    const r0 = oOff + j0 * oStride;
    const r1 = r0 + oStride;
    const r2 = r1 + oStride;
    const r3 = r2 + oStride;
    for (let c0 = 0; c0 < hd4; c0 += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = j0; t < Tp; t++) {
        const wb = t * Tp + j0;
        const x0 = W[wb], x1 = W[wb + 1], x2 = W[wb + 2], x3 = W[wb + 3];
        const xb = xOff + t * xStride + c0;
        const y0 = X[xb], y1 = X[xb + 1], y2 = X[xb + 2], y3 = X[xb + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      O[r0 + c0] = c00; O[r0 + c0 + 1] = c01; O[r0 + c0 + 2] = c02; O[r0 + c0 + 3] = c03;
      O[r1 + c0] = c10; O[r1 + c0 + 1] = c11; O[r1 + c0 + 2] = c12; O[r1 + c0 + 3] = c13;
      O[r2 + c0] = c20; O[r2 + c0 + 1] = c21; O[r2 + c0 + 2] = c22; O[r2 + c0 + 3] = c23;
      O[r3 + c0] = c30; O[r3 + c0 + 1] = c31; O[r3 + c0 + 2] = c32; O[r3 + c0 + 3] = c33;
    }
    for (let c = hd4; c < hd; c++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let t = j0; t < Tp; t++) {
        const wb = t * Tp + j0;
        const y = X[xOff + t * xStride + c];
        s0 += W[wb] * y;
        s1 += W[wb + 1] * y;
        s2 += W[wb + 2] * y;
        s3 += W[wb + 3] * y;
      }
      O[r0 + c] = s0;
      O[r1 + c] = s1;
      O[r2 + c] = s2;
      O[r3 + c] = s3;
    }
  }
}

/**
 * One decoding position t for n rows: stores each row's k and v (from qkv [n, 3d]) in the
 * cache ([n, H, C, hd] per layer) and attends over the cached keys the position may see.
 * Scores are rounded to float32 and probabilities too, as the batched forward stores them.
 */
function attentionStep(
  qkv: Float32Array,
  n: number,
  H: number,
  hd: number,
  C: number,
  t: number,
  starts: Int32Array,
  keys: Float32Array,
  values: Float32Array,
  attn: Float32Array,
): void {
  const d = H * hd;
  const scale = 1 / Math.sqrt(hd);
  const w = new Float64Array(t + 1);
  for (let i = 0; i < n; i++) {
    const lo = t >= starts[i] ? starts[i] : t;
    for (let h = 0; h < H; h++) {
      const base = (i * H + h) * C * hd;
      const qo = i * 3 * d + h * hd;
      const slot = base + t * hd;
      for (let c = 0; c < hd; c++) {
        keys[slot + c] = qkv[qo + d + c];
        values[slot + c] = qkv[qo + 2 * d + c];
      }
      let max = -Infinity;
      for (let j = lo; j <= t; j++) {
        const s = Math.fround(scale * dotRow(qkv, qo, keys, base + j * hd, hd));
        w[j] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let j = lo; j <= t; j++) {
        const e = Math.exp(w[j] - max);
        w[j] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let j = lo; j <= t; j++) w[j] = Math.fround(w[j] * inv);
      const out = i * d + h * hd;
      for (let c = 0; c < hd; c++) {
        let acc = 0;
        for (let j = lo; j <= t; j++) acc += w[j] * values[base + j * hd + c];
        attn[out + c] = acc;
      }
    }
  }
}

/** Σ_c a[ao + c]·b[bo + c] over hd entries, four partial sums at a time. */
function dotRow(a: Float32Array, ao: number, b: Float32Array, bo: number, hd: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let c = 0;
  for (; c + 3 < hd; c += 4) {
    s0 += a[ao + c] * b[bo + c];
    s1 += a[ao + c + 1] * b[bo + c + 1];
    s2 += a[ao + c + 2] * b[bo + c + 2];
    s3 += a[ao + c + 3] * b[bo + c + 3];
  }
  for (; c < hd; c++) s0 += a[ao + c] * b[bo + c];
  return s0 + s1 + (s2 + s3);
}
