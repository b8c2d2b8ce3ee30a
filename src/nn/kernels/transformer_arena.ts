import { KernelArena, type KernelArenaOptions } from "./arena.js";
import { HelperOp } from "./threads.js";

/**
 * The tiny transformer's training forward and backward on refinery's WebAssembly SIMD
 * kernels, with every weight, gradient and activation in one arena (a WebAssembly memory
 * per model): the gemm kernel for the dense layers (bias fused), transformer.wat for
 * layer norm, GELU/ReLU, bias gradients and causal attention. JS only gathers the
 * embeddings, scatters their gradients and copies the weights in (once per forward,
 * ~0.4 MB at the reference shape) and the logits and gradients out.
 *
 * Same mathematics as TransformerLM's JS path (see transformer.ts), in float32 throughout
 * (the JS path sums layer-norm and bias gradients in float64): results agree to float32
 * rounding, which the tests check.
 *
 * Shapes the kernels need: width and ffWidth multiples of 8, head size a multiple of 4.
 * Rows are padded to a multiple of 4 and the vocabulary to a multiple of 8 inside the
 * arena; padded rows carry zeros and padded logits are never read back.
 */

export interface ArenaShape {
  vocabSize: number;
  contextLength: number;
  layers: number;
  width: number;
  heads: number;
  ffWidth: number;
  activation: "gelu" | "relu";
  tieEmbeddings: boolean;
}

/** Timing sink for the profiler (TransformerLM's PhaseTimes). */
export interface ArenaTimes {
  gemm: number;
  attention: number;
}

/** Why the kernels cannot run this shape, or null when they can. */
export function arenaUnsupported(shape: ArenaShape): string | null {
  const hd = shape.width / shape.heads;
  if (shape.width % 8 !== 0) return `width ${shape.width} is not a multiple of 8`;
  if (shape.ffWidth % 8 !== 0) return `ffWidth ${shape.ffWidth} is not a multiple of 8`;
  if (hd % 4 !== 0) return `head size ${hd} (width / heads) is not a multiple of 4`;
  return null;
}

const LAYER_PARAMS = 12;
const up = (x: number, to: number) => Math.ceil(x / to) * to;

interface LayerSlots {
  ln1out: number;
  ln1hat: number;
  ln1rstd: number;
  qkv: number;
  probs: number;
  attn: number;
  ln2out: number;
  ln2hat: number;
  ln2rstd: number;
  u: number;
  th: number;
  act: number;
}

/** Byte offsets of one forward's activations inside its block. */
interface TraceSlots {
  block: number;
  floats: number;
  n: number;
  T: number;
  x: number;
  layers: LayerSlots[];
  lnfout: number;
  lnfhat: number;
  lnfrstd: number;
  logits: number;
  tokens: number;
  starts: number;
}

/** Backward scratch for one padded row count. */
interface BackSlots {
  dlogits: number;
  dz: number;
  dx: number;
  dact: number;
  dattn: number;
  dqkv: number;
  headGrad: number;
  headBias: number;
}

/** Step scratch for one padded row count. */
interface StepSlots {
  x: number;
  lnout: number;
  lnhat: number;
  lnrstd: number;
  qkv: number;
  attn: number;
  u: number;
  th: number;
  act: number;
  logits: number;
  scratch: number;
}

/**
 * Arena blocks of traces dropped without a backward and of caches that are no longer
 * referenced go back to their arena when the garbage collector reclaims the JS object.
 */
const reclaim = new FinalizationRegistry<{ arena: KernelArena; blocks: [number, number][] }>(({ arena, blocks }) => {
  for (const [ptr, floats] of blocks) arena.release(ptr, floats);
});

/**
 * A key/value cache in the arena: per layer and (row, head) the keys transposed, Kᵀ
 * [hd, Cp], and the values [Cp, hd] (Cp = contextLength rounded up to 4; attention_step's layout).
 */
export class ArenaCache {
  length = 0;
  released = false;
  constructor(
    readonly owner: TransformerArena,
    readonly n: number,
    readonly starts: Int32Array,
    readonly pStarts: number,
    readonly keys: readonly number[],
    readonly values: readonly number[],
    readonly floatsPerLayer: number,
  ) {}
}

/** A forward's activations in the arena, for one backward. */
export class ArenaTrace {
  consumed = false;
  constructor(
    readonly owner: TransformerArena,
    readonly slots: TraceSlots,
    readonly tokens: Int32Array,
    readonly starts: Int32Array,
  ) {}
}

export class TransformerArena {
  readonly arena: KernelArena;
  /** When set, gemm and attention time is added here. */
  times: ArenaTimes | null = null;
  private readonly s: ArenaShape;
  private readonly hd: number;
  private readonly Vp: number;
  /** Byte offsets of the parameters and of their gradients, in parameter order. */
  private readonly pParam: number[] = [];
  private readonly pGrad: number[] = [];
  private readonly gradFloats: number;
  private readonly gradBase: number;
  /** head/w (or tok_embᵀ when tied) padded to [d, Vp], head/b padded to [Vp]. */
  private readonly pHeadW: number;
  private readonly pHeadB: number;
  /** Transposed weights for dX = dY·Wᵀ: per layer qkvᵀ [3d, d], projᵀ [d, d], fcᵀ [f, d], mprojᵀ [d, f]; the head's [Vp, d]. */
  private readonly pLayerT: { qkv: number; proj: number; fc: number; mproj: number }[] = [];
  private readonly pHeadT: number;
  private readonly back = new Map<number, BackSlots>();
  private readonly stepSlotsByRows = new Map<number, StepSlots>();
  /**
   * Attention scratch, one region per thread: the forward's Kᵀ [hd, Tp], the backward's dS
   * [T, Tp] and Vᵀ [hd, Tp] (T ≤ contextLength).
   */
  private readonly pAttnScratch: readonly [number, number];

  constructor(
    shape: ArenaShape,
    private readonly params: readonly Float32Array[],
    options: KernelArenaOptions = {},
  ) {
    this.s = shape;
    const { width: d, ffWidth: f, vocabSize: V, layers: L } = shape;
    this.hd = d / shape.heads;
    this.Vp = up(V, 8);
    this.arena = new KernelArena(65536, options);
    const a = this.arena;
    for (const p of params) this.pParam.push(a.alloc(p.length));
    // Gradients in one contiguous region, so a backward zeroes them with one fill.
    const gradFloats = params.reduce((sum, p) => sum + up(p.length, 4), 0);
    this.gradBase = a.alloc(gradFloats);
    this.gradFloats = gradFloats;
    let g = this.gradBase;
    for (const p of params) {
      this.pGrad.push(g);
      g += up(p.length, 4) * 4;
    }
    this.pHeadW = a.alloc(d * this.Vp);
    this.pHeadB = a.alloc(this.Vp);
    for (let l = 0; l < L; l++) {
      this.pLayerT.push({ qkv: a.alloc(3 * d * d), proj: a.alloc(d * d), fc: a.alloc(f * d), mproj: a.alloc(d * f) });
    }
    this.pHeadT = a.alloc(this.Vp * d);
    const C = shape.contextLength;
    const scratch = (C + this.hd) * up(C, 4);
    this.pAttnScratch = [a.alloc(scratch), a.alloc(scratch)];
  }

  private layerParam(l: number, j: number): number {
    return this.pParam[2 + l * LAYER_PARAMS + j];
  }

  private layerGrad(l: number, j: number): number {
    return this.pGrad[2 + l * LAYER_PARAMS + j];
  }

  /** Index of ln_f/g in the parameter list. */
  private get lnfIndex(): number {
    return 2 + this.s.layers * LAYER_PARAMS;
  }

  /**
   * Forward over n rows of T tokens (starts: per-row left padding). Returns the logits
   * [n·T·V] (fresh) and, with `withTrace`, the activations for `backward`.
   */
  forward(tokens: Int32Array, n: number, T: number, starts: Int32Array, withTrace: boolean): { logits: Float32Array; trace: ArenaTrace | null } {
    const { width: d, ffWidth: f, vocabSize: V } = this.s;
    const N = n * T;
    const Np = up(N, 4);
    const Vp = this.Vp;
    this.syncWeights();
    const t = this.allocTrace(n, T);
    const a = this.arena;
    const k = a.k;
    a.i32.set(tokens.subarray(0, N), t.tokens / 4);
    a.i32.set(starts, t.starts / 4);
    this.embed(tokens, n, T, starts, t.x);
    const scale = 1 / Math.sqrt(this.hd);
    for (let l = 0; l < this.s.layers; l++) {
      const ls = t.layers[l];
      k.layernorm(t.x, this.layerParam(l, 0), this.layerParam(l, 1), ls.ln1out, ls.ln1hat, ls.ln1rstd, Np, d);
      this.mm(ls.ln1out, this.layerParam(l, 2), ls.qkv, Np, d, 3 * d, this.layerParam(l, 3), false);
      this.attention(ls.qkv, ls.probs, ls.attn, n, T, t.starts, scale);
      // Padded rows of attn are never written by attention: zeros keep them finite.
      if (Np > N) a.f32.fill(0, ls.attn / 4 + N * d, ls.attn / 4 + Np * d);
      this.mm(ls.attn, this.layerParam(l, 4), t.x, Np, d, d, this.layerParam(l, 5), true);
      k.layernorm(t.x, this.layerParam(l, 6), this.layerParam(l, 7), ls.ln2out, ls.ln2hat, ls.ln2rstd, Np, d);
      this.mm(ls.ln2out, this.layerParam(l, 8), ls.u, Np, d, f, this.layerParam(l, 9), false);
      if (this.s.activation === "gelu") this.gelu(HelperOp.Gelu, ls.u, ls.th, ls.act, Np * f);
      else k.relu(ls.u, ls.act, Np * f);
      this.mm(ls.act, this.layerParam(l, 10), t.x, Np, f, d, this.layerParam(l, 11), true);
    }
    const fi = this.lnfIndex;
    k.layernorm(t.x, this.pParam[fi], this.pParam[fi + 1], t.lnfout, t.lnfhat, t.lnfrstd, Np, d);
    this.mm(t.lnfout, this.pHeadW, t.logits, Np, d, Vp, this.pHeadB, false);
    const logits = new Float32Array(N * V);
    const mem = a.f32;
    const base = t.logits / 4;
    if (Vp === V) logits.set(mem.subarray(base, base + N * V));
    else for (let r = 0; r < N; r++) logits.set(mem.subarray(base + r * Vp, base + r * Vp + V), r * V);
    if (!withTrace) {
      a.release(t.block, t.floats);
      return { logits, trace: null };
    }
    const trace = new ArenaTrace(this, t, tokens.slice(0, N), starts.slice());
    reclaim.register(trace, { arena: a, blocks: [[t.block, t.floats]] }, trace);
    return { logits, trace };
  }

  /** Drops a trace without a backward (its activations go back to the arena). */
  releaseTrace(trace: ArenaTrace): void {
    if (trace.consumed) return;
    trace.consumed = true;
    reclaim.unregister(trace);
    this.arena.release(trace.slots.block, trace.slots.floats);
  }

  // ---- sampling with a key/value cache ----

  /** An empty cache for n rows with per-row left padding `starts`. */
  createCache(n: number, starts: Int32Array): ArenaCache {
    const { layers: L, heads: H, contextLength: C } = this.s;
    const a = this.arena;
    const floats = n * H * up(C, 4) * this.hd;
    const keys: number[] = [];
    const values: number[] = [];
    for (let l = 0; l < L; l++) {
      keys.push(a.alloc(floats));
      values.push(a.alloc(floats));
    }
    const pStarts = a.alloc(n);
    a.i32.set(starts, pStarts / 4);
    const cache = new ArenaCache(this, n, starts.slice(), pStarts, keys, values, floats);
    reclaim.register(cache, { arena: a, blocks: cacheBlocks(cache) }, cache);
    return cache;
  }

  /** Gives a cache's blocks back to the arena now (instead of after garbage collection). */
  releaseCache(cache: ArenaCache): void {
    if (cache.released) return;
    cache.released = true;
    reclaim.unregister(cache);
    for (const [ptr, floats] of cacheBlocks(cache)) this.arena.release(ptr, floats);
  }

  /** A cache whose row i·times + k is a copy of row i of `cache`. */
  repeatCache(cache: ArenaCache, times: number): ArenaCache {
    const n = cache.n * times;
    const starts = new Int32Array(n);
    for (let i = 0; i < n; i++) starts[i] = cache.starts[Math.floor(i / times)];
    const out = this.createCache(n, starts);
    const row = cache.floatsPerLayer / cache.n;
    const mem = this.arena.f32;
    const copy = (src: number, dst: number) => {
      for (let i = 0; i < cache.n; i++) {
        for (let k = 0; k < times; k++) mem.copyWithin(dst / 4 + (i * times + k) * row, src / 4 + i * row, src / 4 + (i + 1) * row);
      }
    };
    for (let l = 0; l < this.s.layers; l++) {
      copy(cache.keys[l], out.keys[l]);
      copy(cache.values[l], out.values[l]);
    }
    out.length = cache.length;
    return out;
  }

  /** Feeds one token per row at the cache's next position; the logits [n·V] for the next token. */
  step(cache: ArenaCache, tokens: Int32Array): Float32Array {
    const { width: d, ffWidth: f, vocabSize: V, heads: H, contextLength: C } = this.s;
    const n = cache.n;
    const np = up(n, 4);
    const Vp = this.Vp;
    this.syncWeights();
    const st = this.stepSlots(np);
    const a = this.arena;
    const k = a.k;
    const t = cache.length;
    let mem = a.f32;
    const x0 = st.x / 4;
    const tok = this.params[0];
    const pos = this.params[1];
    for (let i = 0; i < n; i++) {
      const ta = tokens[i] * d;
      const pb = (t >= cache.starts[i] ? t - cache.starts[i] : 0) * d;
      for (let c = 0; c < d; c++) mem[x0 + i * d + c] = tok[ta + c] + pos[pb + c];
    }
    mem.fill(0, x0 + n * d, x0 + np * d);
    const scale = 1 / Math.sqrt(this.hd);
    for (let l = 0; l < this.s.layers; l++) {
      k.layernorm(st.x, this.layerParam(l, 0), this.layerParam(l, 1), st.lnout, st.lnhat, st.lnrstd, np, d);
      this.mm(st.lnout, this.layerParam(l, 2), st.qkv, np, d, 3 * d, this.layerParam(l, 3), false);
      const t0 = this.clock();
      k.attention_step(st.qkv, cache.keys[l], cache.values[l], st.attn, st.scratch, n, H, this.hd, C, t, cache.pStarts, scale);
      this.addAttention(t0);
      if (np > n) a.f32.fill(0, st.attn / 4 + n * d, st.attn / 4 + np * d);
      this.mm(st.attn, this.layerParam(l, 4), st.x, np, d, d, this.layerParam(l, 5), true);
      k.layernorm(st.x, this.layerParam(l, 6), this.layerParam(l, 7), st.lnout, st.lnhat, st.lnrstd, np, d);
      this.mm(st.lnout, this.layerParam(l, 8), st.u, np, d, f, this.layerParam(l, 9), false);
      if (this.s.activation === "gelu") k.gelu(st.u, st.th, st.act, np * f);
      else k.relu(st.u, st.act, np * f);
      this.mm(st.act, this.layerParam(l, 10), st.x, np, f, d, this.layerParam(l, 11), true);
    }
    const fi = this.lnfIndex;
    k.layernorm(st.x, this.pParam[fi], this.pParam[fi + 1], st.lnout, st.lnhat, st.lnrstd, np, d);
    this.mm(st.lnout, this.pHeadW, st.logits, np, d, Vp, this.pHeadB, false);
    cache.length = t + 1;
    const logits = new Float32Array(n * V);
    mem = a.f32;
    const base = st.logits / 4;
    if (Vp === V) logits.set(mem.subarray(base, base + n * V));
    else for (let r = 0; r < n; r++) logits.set(mem.subarray(base + r * Vp, base + r * Vp + V), r * V);
    return logits;
  }

  private stepSlots(np: number): StepSlots {
    let st = this.stepSlotsByRows.get(np);
    if (st === undefined) {
      const { width: d, ffWidth: f, contextLength: C } = this.s;
      const a = this.arena;
      st = {
        x: a.alloc(np * d),
        lnout: a.alloc(np * d),
        lnhat: a.alloc(np * d),
        lnrstd: a.alloc(np),
        qkv: a.alloc(np * 3 * d),
        attn: a.alloc(np * d),
        u: a.alloc(np * f),
        th: a.alloc(np * f),
        act: a.alloc(np * f),
        logits: a.alloc(np * this.Vp),
        scratch: a.alloc(up(C, 4)),
      };
      this.stepSlotsByRows.set(np, st);
    }
    return st;
  }

  /** Gradients (fresh arrays, parameter order) of the loss whose dLoss/dlogits is `dLogits` [n·T·V]. */
  backward(trace: ArenaTrace, dLogits: Float32Array): Float32Array[] {
    const { width: d, ffWidth: f, vocabSize: V, layers: L } = this.s;
    const t = trace.slots;
    const { n, T } = t;
    const N = n * T;
    const Np = up(N, 4);
    const Vp = this.Vp;
    const a = this.arena;
    const k = a.k;
    const b = this.backSlots(Np);
    this.syncTransposes();
    let mem = a.f32;
    mem.fill(0, this.gradBase / 4, this.gradBase / 4 + this.gradFloats);
    // dLogits into [Np, Vp], zero-padded.
    const dl = b.dlogits / 4;
    mem.fill(0, dl, dl + Np * Vp);
    if (Vp === V) mem.set(dLogits.subarray(0, N * V), dl);
    else for (let r = 0; r < N; r++) mem.set(dLogits.subarray(r * V, r * V + V), dl + r * Vp);
    const last = this.params.length - 1;
    if (this.s.tieEmbeddings) {
      // logits = z·tok_embᵀ: d tok_emb += dLogitsᵀ·z (its first V rows), dz = dLogits·tok_emb.
      this.mmTn(b.dlogits, t.lnfout, b.headGrad, Vp, Np, d);
      mem = a.f32;
      const src = b.headGrad / 4;
      const dst = this.pGrad[0] / 4;
      for (let i = 0; i < V * d; i++) mem[dst + i] += mem[src + i];
    } else {
      this.mmTn(t.lnfout, b.dlogits, b.headGrad, d, Np, Vp);
      mem = a.f32;
      const src = b.headGrad / 4;
      const dst = this.pGrad[last - 1] / 4;
      for (let r = 0; r < d; r++) mem.copyWithin(dst + r * V, src + r * Vp, src + r * Vp + V);
    }
    this.mm(b.dlogits, this.pHeadT, b.dz, Np, Vp, d, 0, false);
    mem = a.f32;
    mem.fill(0, b.headBias / 4, b.headBias / 4 + Vp);
    k.colsum(b.dlogits, Np, Vp, b.headBias);
    mem.copyWithin(this.pGrad[last] / 4, b.headBias / 4, b.headBias / 4 + V);
    mem.fill(0, b.dx / 4, b.dx / 4 + Np * d);
    const fi = this.lnfIndex;
    k.layernorm_back(b.dz, t.lnfhat, t.lnfrstd, this.pParam[fi], Np, d, b.dx, this.pGrad[fi], this.pGrad[fi + 1]);
    const scale = 1 / Math.sqrt(this.hd);
    for (let l = L - 1; l >= 0; l--) {
      const ls = t.layers[l];
      const wt = this.pLayerT[l];
      // MLP: out = x + act·Wm + bm, act = σ(u), u = LN2(x)·Wfc + bfc.
      this.mm(b.dx, wt.mproj, b.dact, Np, d, f, 0, false);
      this.mmTn(ls.act, b.dx, this.layerGrad(l, 10), f, Np, d);
      k.colsum(b.dx, Np, d, this.layerGrad(l, 11));
      if (this.s.activation === "gelu") this.gelu(HelperOp.GeluBack, ls.u, ls.th, b.dact, Np * f);
      else k.relu_back(ls.u, b.dact, Np * f);
      this.mmTn(ls.ln2out, b.dact, this.layerGrad(l, 8), d, Np, f);
      k.colsum(b.dact, Np, f, this.layerGrad(l, 9));
      this.mm(b.dact, wt.fc, b.dz, Np, f, d, 0, false);
      k.layernorm_back(b.dz, ls.ln2hat, ls.ln2rstd, this.layerParam(l, 6), Np, d, b.dx, this.layerGrad(l, 6), this.layerGrad(l, 7));
      // Attention: out = x + attn·Wp + bp, attn = attention(qkv), qkv = LN1(x)·Wqkv + bqkv.
      this.mm(b.dx, wt.proj, b.dattn, Np, d, d, 0, false);
      this.mmTn(ls.attn, b.dx, this.layerGrad(l, 4), d, Np, d);
      k.colsum(b.dx, Np, d, this.layerGrad(l, 5));
      // attention_back writes every entry of the first N rows; the padding rows stay 0.
      if (Np > N) a.f32.fill(0, b.dqkv / 4 + N * 3 * d, b.dqkv / 4 + Np * 3 * d);
      this.attentionBack(ls.qkv, ls.probs, b.dattn, b.dqkv, n, T, t.starts, scale);
      this.mmTn(ls.ln1out, b.dqkv, this.layerGrad(l, 2), d, Np, 3 * d);
      k.colsum(b.dqkv, Np, 3 * d, this.layerGrad(l, 3));
      this.mm(b.dqkv, wt.qkv, b.dz, Np, 3 * d, d, 0, false);
      k.layernorm_back(b.dz, ls.ln1hat, ls.ln1rstd, this.layerParam(l, 0), Np, d, b.dx, this.layerGrad(l, 0), this.layerGrad(l, 1));
    }
    this.embedBackward(trace.tokens, n, T, trace.starts, b.dx);
    mem = a.f32;
    const grads = this.params.map((p, i) => mem.slice(this.pGrad[i] / 4, this.pGrad[i] / 4 + p.length));
    this.releaseTrace(trace);
    return grads;
  }

  // ---- pieces ----

  /** Copies the live parameters in, and the head's padded [d, Vp] weight and [Vp] bias. */
  private syncWeights(): void {
    const { width: d, vocabSize: V } = this.s;
    const Vp = this.Vp;
    const mem = this.arena.f32;
    this.params.forEach((p, i) => mem.set(p, this.pParam[i] / 4));
    const hw = this.pHeadW / 4;
    const last = this.params.length - 1;
    if (this.s.tieEmbeddings) {
      const emb = this.params[0]; // [V, d] → [d, Vp]
      mem.fill(0, hw, hw + d * Vp);
      for (let v = 0; v < V; v++) for (let c = 0; c < d; c++) mem[hw + c * Vp + v] = emb[v * d + c];
    } else {
      const w = this.params[last - 1]; // [d, V]
      if (Vp === V) mem.set(w, hw);
      else {
        mem.fill(0, hw, hw + d * Vp);
        for (let r = 0; r < d; r++) mem.set(w.subarray(r * V, r * V + V), hw + r * Vp);
      }
    }
    const hb = this.pHeadB / 4;
    mem.fill(0, hb, hb + Vp);
    mem.set(this.params[last], hb);
  }

  /** The transposed weights backward multiplies by (from the live parameters, ~0.1 M floats). */
  private syncTransposes(): void {
    const { width: d, ffWidth: f, vocabSize: V } = this.s;
    const mem = this.arena.f32;
    for (let l = 0; l < this.s.layers; l++) {
      const wt = this.pLayerT[l];
      const p = (j: number) => this.params[2 + l * LAYER_PARAMS + j];
      transposeInto(p(2), d, 3 * d, mem, wt.qkv / 4);
      transposeInto(p(4), d, d, mem, wt.proj / 4);
      transposeInto(p(8), d, f, mem, wt.fc / 4);
      transposeInto(p(10), f, d, mem, wt.mproj / 4);
    }
    // dz = dLogits·head/wᵀ ([Vp, d], rows ≥ V zero); tied: dLogits·tok_emb.
    const ht = this.pHeadT / 4;
    mem.fill(0, ht, ht + this.Vp * d);
    if (this.s.tieEmbeddings) mem.set(this.params[0], ht);
    else transposeInto(this.params[this.params.length - 2], d, V, mem, ht);
  }

  private embed(tokens: Int32Array, n: number, T: number, starts: Int32Array, px: number): void {
    const d = this.s.width;
    const mem = this.arena.f32;
    const tok = this.params[0];
    const pos = this.params[1];
    const x0 = px / 4;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < T; t++) {
        const r = i * T + t;
        const a = tokens[r] * d;
        const b = (t >= starts[i] ? t - starts[i] : 0) * d;
        const o = x0 + r * d;
        for (let c = 0; c < d; c++) mem[o + c] = tok[a + c] + pos[b + c];
      }
    }
    const N = n * T;
    mem.fill(0, x0 + N * d, x0 + up(N, 4) * d);
  }

  private embedBackward(tokens: Int32Array, n: number, T: number, starts: Int32Array, pdx: number): void {
    const d = this.s.width;
    const mem = this.arena.f32;
    const gTok = this.pGrad[0] / 4;
    const gPos = this.pGrad[1] / 4;
    const dx = pdx / 4;
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < T; t++) {
        const r = dx + (i * T + t) * d;
        const a = gTok + tokens[i * T + t] * d;
        const b = gPos + (t >= starts[i] ? t - starts[i] : 0) * d;
        for (let c = 0; c < d; c++) {
          mem[a + c] += mem[r + c];
          mem[b + c] += mem[r + c];
        }
      }
    }
  }

  private allocTrace(n: number, T: number): TraceSlots {
    const { width: d, ffWidth: f, heads: H, layers: L } = this.s;
    const N = n * T;
    const Np = up(N, 4);
    const Tp = up(T, 4);
    let floats = 0;
    const take = (count: number) => {
      const at = floats;
      floats += up(count, 4);
      return at;
    };
    const x = take(Np * d);
    const layers = Array.from({ length: L }, () => ({
      ln1out: take(Np * d),
      ln1hat: take(Np * d),
      ln1rstd: take(Np),
      qkv: take(Np * 3 * d),
      probs: take(n * H * T * Tp),
      attn: take(Np * d),
      ln2out: take(Np * d),
      ln2hat: take(Np * d),
      ln2rstd: take(Np),
      u: take(Np * f),
      th: take(this.s.activation === "gelu" ? Np * f : 0),
      act: take(Np * f),
    }));
    const lnfout = take(Np * d);
    const lnfhat = take(Np * d);
    const lnfrstd = take(Np);
    const logits = take(Np * this.Vp);
    const tokens = take(N);
    const starts = take(n);
    const block = this.arena.alloc(floats);
    const at = (off: number) => block + off * 4;
    return {
      block,
      floats,
      n,
      T,
      x: at(x),
      layers: layers.map((ls) => Object.fromEntries(Object.entries(ls).map(([key, off]) => [key, at(off)])) as unknown as LayerSlots),
      lnfout: at(lnfout),
      lnfhat: at(lnfhat),
      lnfrstd: at(lnfrstd),
      logits: at(logits),
      tokens: at(tokens),
      starts: at(starts),
    };
  }

  private backSlots(Np: number): BackSlots {
    let b = this.back.get(Np);
    if (b === undefined) {
      const { width: d, ffWidth: f } = this.s;
      const a = this.arena;
      const Vp = this.Vp;
      b = {
        dlogits: a.alloc(Np * Vp),
        dz: a.alloc(Np * d),
        dx: a.alloc(Np * d),
        dact: a.alloc(Np * f),
        dattn: a.alloc(Np * d),
        dqkv: a.alloc(Np * 3 * d),
        headGrad: a.alloc(d * Vp),
        headBias: a.alloc(Vp),
      };
      this.back.set(Np, b);
    }
    return b;
  }

  /** Threads the products run on now (2 once the helper thread has started). */
  get threads(): 1 | 2 {
    return this.arena.threads;
  }

  /** Stops the helper thread, if any. */
  close(): void {
    this.arena.close();
  }

  private mm(pa: number, pb: number, pc: number, m: number, k: number, n: number, pbias: number, accumulate: boolean): void {
    const t0 = this.clock();
    this.arena.matmul(pa, pb, pc, m, k, n, pbias, accumulate);
    if (this.times !== null) this.times.gemm += performance.now() - t0;
  }

  /** The helper thread when it is ready and n rows of T tokens are worth splitting. */
  /**
   * gelu (act from u, keeping tanh's value th) or its backward (grad in place), element by
   * element: from minSplitMacs / 32 floats (32 Ki by default; a hand-off costs a few
   * microseconds) the helper thread takes the second half.
   */
  private gelu(op: typeof HelperOp.Gelu | typeof HelperOp.GeluBack, pu: number, pth: number, pout: number, count: number): void {
    const k = this.arena.k;
    const run = op === HelperOp.Gelu ? k.gelu : k.gelu_back;
    const h = this.arena.helper;
    if (h === null || count < this.arena.minSplitMacs / 32 || count < 8 || !h.ready) {
      run(pu, pth, pout, count);
      return;
    }
    const n0 = Math.ceil(count / 8) * 4;
    const rest = [pu + n0 * 4, pth + n0 * 4, pout + n0 * 4, count - n0] as const;
    h.split(op, rest, [], () => run(pu, pth, pout, n0), () => run(...rest));
  }

  private attentionSplitter(n: number, T: number) {
    const h = this.arena.helper;
    // Per row: H heads of T×T scores over hd, twice (scores and the weighted sum).
    return h !== null && n >= 2 && n * T * T * this.s.width * 2 >= this.arena.minSplitMacs && h.ready ? h : null;
  }

  /**
   * Causal attention over n rows; rows are independent, so the helper thread takes the
   * second half (each thread with its own scratch).
   */
  private attention(pqkv: number, pprobs: number, pattn: number, n: number, T: number, pstarts: number, scale: number): void {
    const t0 = this.clock();
    const { heads: H, width: d } = this.s;
    const hd = this.hd;
    const [pscratch, pscratch2] = this.pAttnScratch;
    const h = this.attentionSplitter(n, T);
    if (h === null) this.arena.k.attention(pqkv, pprobs, pattn, pscratch, n, T, H, hd, pstarts, scale);
    else {
      const k = this.arena.k;
      const n0 = n >> 1;
      const probsRow = H * T * up(T, 4) * 4;
      const rest = [pqkv + n0 * T * 3 * d * 4, pprobs + n0 * probsRow, pattn + n0 * T * d * 4, pscratch2, n - n0, T, H, hd, pstarts + n0 * 4] as const;
      h.split(
        HelperOp.Attention,
        rest,
        [scale],
        () => k.attention(pqkv, pprobs, pattn, pscratch, n0, T, H, hd, pstarts, scale),
        () => k.attention(...rest, scale),
      );
    }
    this.addAttention(t0);
  }

  /** attention's backward, split like attention (each thread with its own scratch). */
  private attentionBack(pqkv: number, pprobs: number, pdattn: number, pdqkv: number, n: number, T: number, pstarts: number, scale: number): void {
    const t0 = this.clock();
    const { heads: H, width: d } = this.s;
    const hd = this.hd;
    const [pscratch, pscratch2] = this.pAttnScratch;
    const h = this.attentionSplitter(n, T);
    if (h === null) this.arena.k.attention_back(pqkv, pprobs, pdattn, pdqkv, pscratch, n, T, H, hd, pstarts, scale);
    else {
      const k = this.arena.k;
      const n0 = n >> 1;
      const probsRow = H * T * up(T, 4) * 4;
      const qkvRow = T * 3 * d * 4;
      const rest = [pqkv + n0 * qkvRow, pprobs + n0 * probsRow, pdattn + n0 * T * d * 4, pdqkv + n0 * qkvRow, pscratch2, n - n0, T, H, hd, pstarts + n0 * 4] as const;
      h.split(
        HelperOp.AttentionBack,
        rest,
        [scale],
        () => k.attention_back(pqkv, pprobs, pdattn, pdqkv, pscratch, n0, T, H, hd, pstarts, scale),
        () => k.attention_back(...rest, scale),
      );
    }
    this.addAttention(t0);
  }

  /**
   * C[m, n] = Aᵀ·B with A stored [k, m] (a weight gradient: k is the batch's 2048 rows;
   * the kernel walks k in chunks whose slice of B stays in cache).
   */
  private mmTn(pa: number, pb: number, pc: number, m: number, k: number, n: number): void {
    const t0 = this.clock();
    this.arena.matmulTn(pa, pb, pc, m, k, n);
    if (this.times !== null) this.times.gemm += performance.now() - t0;
  }

  private clock(): number {
    return this.times === null ? 0 : performance.now();
  }

  private addAttention(t0: number): void {
    if (this.times !== null) this.times.attention += performance.now() - t0;
  }
}

function cacheBlocks(cache: ArenaCache): [number, number][] {
  const blocks: [number, number][] = [...cache.keys, ...cache.values].map((p) => [p, cache.floatsPerLayer]);
  blocks.push([cache.pStarts, cache.n]);
  return blocks;
}

/** dst[off + j·rows + i] = src[i·cols + j]: src [rows, cols] → [cols, rows]. */
function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array, off: number): void {
  for (let i = 0; i < rows; i++) {
    const s = i * cols;
    for (let j = 0; j < cols; j++) dst[off + j * rows + i] = src[s + j];
  }
}
