import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { sampleToken } from "../../src/nn/lm_math.js";
import { ArrayAdam } from "../../src/nn/optim.js";
import { KernelArena } from "../../src/nn/kernels/arena.js";
import { TransformerLM, type TransformerConfig } from "../../src/nn/transformer.js";

// The transformer kernels (src/nn/kernels/transformer.wat) against plain-JS references,
// then the kernels backend of TransformerLM against its JS path (whose gradients
// test/nn/transformer.test.ts checks against float64 finite differences).

const rng = new Rng(42);
const normals = (count: number, scale = 1) => Float32Array.from({ length: count }, () => rng.normal() * scale);

/** An arena holding `arrays` (each copied into its own block); their byte offsets. */
function load(arena: KernelArena, ...arrays: (Float32Array | Int32Array)[]): number[] {
  return arrays.map((a) => {
    const p = arena.alloc(a.length);
    if (a instanceof Int32Array) arena.i32.set(a, p / 4);
    else arena.f32.set(a, p / 4);
    return p;
  });
}

const read = (arena: KernelArena, p: number, count: number) => arena.f32.slice(p / 4, p / 4 + count);

/** max |a − b| / max |b|: the error relative to the reference's scale. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Plain float64 causal attention of one batch (qkv [n·T, 3d]) as transformer.ts defines it. */
function attentionReference(qkv: Float32Array, n: number, T: number, H: number, hd: number, starts: Int32Array) {
  const d = H * hd;
  const probs: number[][][][] = [];
  const out = new Float64Array(n * T * d);
  const at = (i: number, t: number, part: number, h: number, c: number) => qkv[(i * T + t) * 3 * d + part * d + h * hd + c];
  for (let i = 0; i < n; i++) {
    probs.push([]);
    for (let h = 0; h < H; h++) {
      probs[i].push([]);
      for (let t = 0; t < T; t++) {
        const lo = t >= starts[i] ? starts[i] : t;
        const s: number[] = [];
        for (let j = lo; j <= t; j++) {
          let dot = 0;
          for (let c = 0; c < hd; c++) dot += at(i, t, 0, h, c) * at(i, j, 1, h, c);
          s.push(dot / Math.sqrt(hd));
        }
        const max = Math.max(...s);
        const e = s.map((v) => Math.exp(v - max));
        const z = e.reduce((x, y) => x + y, 0);
        const row = new Array<number>(T).fill(0);
        e.forEach((v, m) => (row[lo + m] = v / z));
        probs[i][h].push(row);
        for (let c = 0; c < hd; c++) {
          let acc = 0;
          for (let j = lo; j <= t; j++) acc += row[j] * at(i, j, 2, h, c);
          out[(i * T + t) * d + h * hd + c] = acc;
        }
      }
    }
  }
  return { probs, out };
}

describe("transformer kernels against plain JS", () => {
  it("exp is within 3e-7 relative of Math.exp on [−80, 80]", () => {
    const arena = new KernelArena();
    const xs = Float32Array.from({ length: 16004 }, (_, i) => -80 + i * 0.01);
    const [p] = load(arena, xs);
    arena.k.exp(p, xs.length);
    const ys = read(arena, p, xs.length);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(ys[i] / Math.exp(xs[i]) - 1));
    expect(worst).toBeLessThan(3e-7);
    expect(worst).toBeGreaterThan(0);
  });

  it("layer norm forward and backward", () => {
    const [rows, d] = [6, 16];
    const arena = new KernelArena();
    const x = normals(rows * d, 3);
    const g = normals(d);
    const b = normals(d);
    const dy = normals(rows * d);
    const dx0 = normals(rows * d); // backward adds to dx, dg and db
    const dg0 = normals(d);
    const db0 = normals(d);
    const [px, pg, pb, pout, phat, prstd, pdy, pdx, pdg, pdb] = load(arena, x, g, b, new Float32Array(rows * d), new Float32Array(rows * d), new Float32Array(rows), dy, dx0, dg0, db0);
    arena.k.layernorm(px, pg, pb, pout, phat, prstd, rows, d);
    arena.k.layernorm_back(pdy, phat, prstd, pg, rows, d, pdx, pdg, pdb);
    const out = new Float64Array(rows * d);
    const dx = Float64Array.from(dx0);
    const dg = Float64Array.from(dg0);
    const db = Float64Array.from(db0);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * d, r * d + d));
      const mean = row.reduce((s, v) => s + v, 0) / d;
      const rstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / d + 1e-5);
      const hat = row.map((v) => (v - mean) * rstd);
      const gy = hat.map((_, c) => dy[r * d + c] * g[c]);
      const m1 = gy.reduce((s, v) => s + v, 0) / d;
      const m2 = gy.reduce((s, v, c) => s + v * hat[c], 0) / d;
      for (let c = 0; c < d; c++) {
        out[r * d + c] = hat[c] * g[c] + b[c];
        dx[r * d + c] += rstd * (gy[c] - m1 - hat[c] * m2);
        dg[c] += dy[r * d + c] * hat[c];
        db[c] += dy[r * d + c];
      }
    }
    expect(relError(read(arena, pout, rows * d), out)).toBeLessThan(1e-6);
    expect(relError(read(arena, pdx, rows * d), dx)).toBeLessThan(1e-6);
    expect(relError(read(arena, pdg, d), dg)).toBeLessThan(1e-6);
    expect(relError(read(arena, pdb, d), db)).toBeLessThan(1e-6);
  });

  it("GELU and ReLU, forward and backward", () => {
    const n = 400;
    const arena = new KernelArena();
    const u = Float32Array.from({ length: n }, (_, i) => -10 + i * 0.05);
    const grad = normals(n);
    const [pu, pth, pact, pgrad, pract, prgrad] = load(arena, u, new Float32Array(n), new Float32Array(n), grad, new Float32Array(n), grad);
    arena.k.gelu(pu, pth, pact, n);
    arena.k.gelu_back(pu, pth, pgrad, n);
    arena.k.relu(pu, pract, n);
    arena.k.relu_back(pu, prgrad, n);
    const C = Math.sqrt(2 / Math.PI);
    const act = Array.from(u, (x) => 0.5 * x * (1 + Math.tanh(C * (x + 0.044715 * x ** 3))));
    const dgelu = Array.from(u, (x, i) => {
      const t = Math.tanh(C * (x + 0.044715 * x ** 3));
      return grad[i] * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + 3 * 0.044715 * x * x));
    });
    expect(relError(read(arena, pact, n), act)).toBeLessThan(1e-6);
    expect(relError(read(arena, pgrad, n), dgelu)).toBeLessThan(3e-6); // a longer float32 chain
    expect(Array.from(read(arena, pract, n))).toEqual(Array.from(u, (x) => Math.max(x, 0)));
    expect(Array.from(read(arena, prgrad, n))).toEqual(Array.from(grad, (g, i) => (u[i] > 0 ? g : 0)));
  });

  it("column sums add to the output, over row counts that are not a multiple of the 8-row block", () => {
    for (const rows of [1, 8, 13]) {
      const cols = 12;
      const arena = new KernelArena();
      const x = normals(rows * cols);
      const start = normals(cols);
      const [px, pout] = load(arena, x, start);
      arena.k.colsum(px, rows, cols, pout);
      const want = Array.from(start, (s, j) => {
        let sum = s;
        for (let r = 0; r < rows; r++) sum += x[r * cols + j];
        return sum;
      });
      expect(relError(read(arena, pout, cols), want)).toBeLessThan(1e-6);
    }
  });

  // The weighted sums take column chunks four, two and one at a time (hd = 8: a pair; 12: a
  // pair and one; 20: four and one); keys are transposed in 4×4 tiles and T mod 4 rows.
  it.each([
    [3, 7, 2, 8],
    [3, 6, 3, 12],
    [3, 5, 1, 20],
  ])("causal attention with left padding, its backward (against central differences of the reference) and one decoding step (n %i, T %i, H %i, hd %i)", (n, T, H, hd) => {
    const d = H * hd;
    const Tp = Math.ceil(T / 4) * 4;
    const starts = Int32Array.from([0, 2, 5]);
    const qkv = normals(n * T * 3 * d);
    const dAttn = normals(n * T * d);
    const arena = new KernelArena();
    const [pqkv, pprobs, pattn, pstarts, pdattn, pdqkv, pscratch] = load(
      arena,
      qkv,
      new Float32Array(n * H * T * Tp),
      new Float32Array(n * T * d),
      starts,
      dAttn,
      new Float32Array(n * T * 3 * d).fill(Number.NaN), // every entry gets written
      new Float32Array((T + hd) * Tp).fill(Number.NaN), // the kernels' scratch: Kᵀ, then dS and Vᵀ
    );
    const scale = 1 / Math.sqrt(hd);
    arena.k.attention(pqkv, pprobs, pattn, pscratch, n, T, H, hd, pstarts, scale);
    const ref = attentionReference(qkv, n, T, H, hd, starts);
    expect(relError(read(arena, pattn, n * T * d), ref.out)).toBeLessThan(1e-6);
    const probs = read(arena, pprobs, n * H * T * Tp);
    const wantProbs: number[] = [];
    for (let i = 0; i < n; i++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) wantProbs.push(...ref.probs[i][h][t], ...new Array<number>(Tp - T).fill(0));
    expect(relError(probs, wantProbs)).toBeLessThan(1e-6);

    arena.k.attention_back(pqkv, pprobs, pdattn, pdqkv, pscratch, n, T, H, hd, pstarts, scale);
    const dqkv = read(arena, pdqkv, n * T * 3 * d);
    // d(Σ dAttn·attn)/d qkv by central differences of the float64 reference.
    const q64 = Float32Array.from(qkv);
    const loss = () => attentionReference(q64, n, T, H, hd, starts).out.reduce((s, v, i) => s + v * dAttn[i], 0);
    const fd = new Float64Array(qkv.length);
    for (let i = 0; i < qkv.length; i++) {
      const old = q64[i];
      q64[i] = old + 1e-2;
      const up = loss();
      q64[i] = old - 1e-2;
      fd[i] = (up - loss()) / 2e-2;
      q64[i] = old;
    }
    expect(relError(dqkv, fd)).toBeLessThan(2e-3);

    // The decoding step at position t: the forward's row t, from a cache filled up to t.
    const C = 8;
    // NaN: the step reads only the cache entries it has written (other lanes of a block of four keys are masked).
    const [pkeys, pvalues, pstep, pscr] = load(arena, new Float32Array(n * H * C * hd).fill(Number.NaN), new Float32Array(n * H * C * hd).fill(Number.NaN), new Float32Array(n * d), new Float32Array(C));
    for (let t = 0; t < T; t++) {
      const rowQkv = new Float32Array(n * 3 * d);
      for (let i = 0; i < n; i++) rowQkv.set(qkv.subarray((i * T + t) * 3 * d, (i * T + t + 1) * 3 * d), i * 3 * d);
      const [prow] = load(arena, rowQkv);
      arena.k.attention_step(prow, pkeys, pvalues, pstep, pscr, n, H, hd, C, t, pstarts, scale);
      const got = read(arena, pstep, n * d);
      const want: number[] = [];
      for (let i = 0; i < n; i++) want.push(...ref.out.subarray((i * T + t) * d, (i * T + t + 1) * d));
      expect(relError(got, want)).toBeLessThan(1e-6);
    }
  });

  it("Adam: sumsq in float64 and the update rule, in float32", () => {
    const count = 1000;
    const arena = new KernelArena();
    const w = normals(count);
    const g = normals(count);
    const m = normals(count, 0.1);
    const v = Float32Array.from(normals(count, 0.1), (x) => x * x);
    const [pw, pg, pm, pv] = load(arena, w, g, m, v);
    expect(arena.k.sumsq(pg, count)).toBeCloseTo(g.reduce((s, x) => s + x * x, 0), 9);
    const [scale, b1, b2, eps, step, rbc2] = [0.7, 0.9, 0.999, 1e-5, 0.01, 0.3];
    arena.k.adam(pw, pg, pm, pv, count, scale, b1, b2, 1 - b1, 1 - b2, eps, step, rbc2);
    const wantM = Array.from(m, (x, i) => b1 * x + (1 - b1) * g[i] * scale);
    const wantV = Array.from(v, (x, i) => b2 * x + (1 - b2) * (g[i] * scale) ** 2);
    const wantW = Array.from(w, (x, i) => x - (step * wantM[i]) / (Math.sqrt(wantV[i]) / rbc2 + eps));
    expect(relError(read(arena, pm, count), wantM)).toBeLessThan(1e-6);
    expect(relError(read(arena, pv, count), wantV)).toBeLessThan(1e-6);
    expect(relError(read(arena, pw, count), wantW)).toBeLessThan(1e-6);
  });
});

describe("TransformerLM kernels backend", () => {
  // T = 7 with n = 3 leaves N = 21 rows (padded to 24 inside) and padding positions;
  // vocabulary 13 pads the logits to 16 columns; the tied, relu variant takes the other
  // head and activation; the reference shape is the benchmark's.
  const variants: [string, TransformerConfig, number, number, Int32Array | null][] = [
    ["gelu, odd rows and vocabulary, left padding", { vocabSize: 13, contextLength: 8, layers: 2, width: 16, heads: 2 }, 3, 7, Int32Array.from([0, 2, 5])],
    ["relu, tied embeddings, ffWidth 24, 3 heads", { vocabSize: 11, contextLength: 12, layers: 1, width: 24, heads: 3, ffWidth: 24, activation: "relu", tieEmbeddings: true }, 4, 9, Int32Array.from([1, 0, 3, 8])],
    ["the benchmark's shape", { vocabSize: 40, contextLength: 64, layers: 2, width: 64, heads: 4 }, 8, 32, null],
  ];

  for (const [label, config, n, T, starts] of variants) {
    it(`logits and gradients equal the JS path's to float32 rounding (${label})`, () => {
      const js = new TransformerLM(config, new Rng(1));
      const kernels = new TransformerLM(config, new Rng(1));
      kernels.setBackend("kernels");
      expect(kernels.backend).toBe("kernels");
      const r = new Rng(2);
      const tokens = Int32Array.from({ length: n * T }, () => r.integer(0, config.vocabSize));
      const dLogits = Float32Array.from({ length: n * T * config.vocabSize }, () => r.normal());
      for (let round = 0; round < 2; round++) {
        const a = js.forward(tokens, n, T, starts, true);
        const b = kernels.forward(tokens, n, T, starts, true);
        expect(relError(b.logits, a.logits)).toBeLessThan(1e-5);
        const ga = js.backward(a.trace!, dLogits);
        const gb = kernels.backward(b.trace!, dLogits);
        ga.forEach((g, k) => {
          const err = relError(gb[k], g);
          if (!(err < 1e-4)) throw new Error(`gradient of ${js.paramNames[k]}: relative error ${err}`);
        });
        // A second round after a weight change: the arena copies the live weights in.
        for (const m of [js, kernels]) m.parameters().forEach((p, k) => p.forEach((x, i) => (p[i] = x - 0.01 * ga[k][i])));
      }
    });
  }

  it("samples the same tokens as the JS path for a fixed seed (KV cache, left padding, repeated cache)", () => {
    const config: TransformerConfig = { vocabSize: 21, contextLength: 24, layers: 2, width: 32, heads: 4 };
    const models = [new TransformerLM(config, new Rng(5)), new TransformerLM(config, new Rng(5))];
    models[1].setBackend("kernels");
    const prompt = Int32Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3]);
    const starts = Int32Array.from([0, 3]); // two rows of 5 positions, the second left-padded
    const runs = models.map((model) => {
      const r = new Rng(7);
      const base = model.createCache(2, starts);
      let logits: Float32Array = new Float32Array(0);
      for (let t = 0; t < 5; t++) logits = model.step(base, Int32Array.from([prompt[t], prompt[5 + t]]));
      const cache = model.repeatCache(base, 3);
      let last: Float32Array = new Float32Array(6 * 21);
      for (let i = 0; i < 6; i++) last.set(logits.subarray(Math.floor(i / 3) * 21, Math.floor(i / 3) * 21 + 21), i * 21);
      const out: number[] = [];
      for (let t = 0; t < 15; t++) {
        const column = Int32Array.from({ length: 6 }, (_, i) => sampleToken(last, i * 21, 21, r, 1, 0).token);
        out.push(...column);
        last = model.step(cache, column);
      }
      return { out, last };
    });
    expect(runs[1].out).toEqual(runs[0].out);
    expect(relError(runs[1].last, runs[0].last)).toBeLessThan(1e-5);
    expect(new Set(runs[0].out).size).toBeGreaterThan(5); // real sampling, not one token
  });

  it("rejects shapes the kernels cannot run, stale traces and a second backward", () => {
    const odd = new TransformerLM({ vocabSize: 7, contextLength: 8, layers: 1, width: 12, heads: 2 }, new Rng(1));
    expect(() => odd.setBackend("kernels")).toThrow(/width 12 is not a multiple of 8/);
    expect(() => odd.setBackend("gpu" as "js")).toThrow(ConfigError);
    expect(odd.backend).toBe("js");
    const model = new TransformerLM({ vocabSize: 7, contextLength: 8, layers: 1, width: 8, heads: 2 }, new Rng(1));
    model.setBackend("kernels");
    const tokens = new Int32Array(8);
    const { trace } = model.forward(tokens, 1, 8, null, true);
    model.backward(trace!, new Float32Array(8 * 7));
    expect(() => model.backward(trace!, new Float32Array(8 * 7))).toThrow(/already used/);
    const { trace: stale } = model.forward(tokens, 1, 8, null, true);
    model.setBackend("js");
    model.setBackend("kernels");
    expect(() => model.backward(stale!, new Float32Array(8 * 7))).toThrow(/backend was switched/);
    const { trace: fresh } = model.forward(tokens, 1, 8, null, true);
    expect(() => model.backward(fresh!, new Float32Array(3))).toThrow(/dLogits must be/);
    // A released cache's memory is reused by the next cache, and the old one refuses work.
    const cache = model.createCache(2);
    model.step(cache, Int32Array.from([1, 2]));
    model.releaseCache(cache);
    expect(() => model.step(cache, Int32Array.from([1, 2]))).toThrow(/released/);
    const before = (model as unknown as { arena: { arena: { byteLength: number } } }).arena.arena.byteLength;
    for (let i = 0; i < 20; i++) model.releaseCache(model.createCache(2));
    expect((model as unknown as { arena: { arena: { byteLength: number } } }).arena.arena.byteLength).toBe(before);
  });
});

describe("ArrayAdam on the kernel", () => {
  it("follows the JS update's trajectory (with clipping) and shares its state format", () => {
    const sizes = [5, 64, 7];
    const make = () => sizes.map((s, k) => Float32Array.from({ length: s }, (_, i) => Math.sin(1 + i + 10 * k)));
    const a = make();
    const b = make();
    const js = new ArrayAdam(a, { learningRate: 0.01 });
    const wasm = new ArrayAdam(b, { learningRate: 0.01, kernels: true });
    expect(wasm.usesKernels).toBe(true);
    const r = new Rng(3);
    for (let step = 0; step < 30; step++) {
      const grads = sizes.map((s) => Float32Array.from({ length: s }, () => r.normal()));
      const n1 = js.applyGradients(grads, 1);
      const n2 = wasm.applyGradients(grads, 1);
      expect(n2).toBeCloseTo(n1, 9);
    }
    a.forEach((w, k) => expect(relError(b[k], w)).toBeLessThan(1e-5));
    expect(relError(wasm.getState().v, js.getState().v)).toBeLessThan(1e-5);
    // The state moves between the two.
    const c = make();
    const restored = new ArrayAdam(c, { learningRate: 0.5, kernels: true });
    restored.setState(js.getState());
    expect(restored.step).toBe(30);
    expect(restored.learningRate).toBe(0.01);
    expect(Array.from(restored.getState().m)).toEqual(Array.from(js.getState().m));
  });
});
