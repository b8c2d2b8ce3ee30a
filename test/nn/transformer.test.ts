import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { tokenLogProbs, logitGradients } from "../../src/nn/lm_math.js";
import { Adam, ArrayAdam } from "../../src/nn/optim.js";
import { TransformerLM, type TransformerConfig } from "../../src/nn/transformer.js";

const TINY: TransformerConfig = { vocabSize: 7, contextLength: 8, layers: 2, width: 8, heads: 2 };

type Weights64 = Record<string, Float64Array>;

/**
 * The model's forward pass in float64, written independently and as plainly as possible
 * (one position and one head at a time), for finite differences.
 */
function referenceForward64(cfg: Required<TransformerConfig>, w: Weights64, tokens: Int32Array, n: number, T: number, starts: Int32Array): Float64Array {
  const { width: d, heads: H, vocabSize: V, ffWidth: f } = cfg;
  const hd = d / H;
  const N = n * T;
  const x = new Float64Array(N * d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < T; t++) {
      const r = i * T + t;
      const pos = t >= starts[i] ? t - starts[i] : 0;
      for (let c = 0; c < d; c++) x[r * d + c] = w.tok_emb[tokens[r] * d + c] + w.pos_emb[pos * d + c];
    }
  }
  const ln = (src: Float64Array, g: Float64Array, b: Float64Array) => {
    const out = new Float64Array(N * d);
    for (let r = 0; r < N; r++) {
      const row = src.subarray(r * d, r * d + d);
      const mean = row.reduce((s, v) => s + v, 0) / d;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / d;
      for (let c = 0; c < d; c++) out[r * d + c] = ((row[c] - mean) / Math.sqrt(variance + 1e-5)) * g[c] + b[c];
    }
    return out;
  };
  const linear = (src: Float64Array, inW: number, outW: number, W: Float64Array, b: Float64Array) => {
    const out = new Float64Array(N * outW);
    for (let r = 0; r < N; r++) {
      for (let j = 0; j < outW; j++) {
        let s = b[j];
        for (let c = 0; c < inW; c++) s += src[r * inW + c] * W[c * outW + j];
        out[r * outW + j] = s;
      }
    }
    return out;
  };
  for (let l = 0; l < cfg.layers; l++) {
    const p = (name: string) => w[`h${l}/${name}`];
    const a = ln(x, p("ln1/g"), p("ln1/b"));
    const qkv = linear(a, d, 3 * d, p("attn/qkv/w"), p("attn/qkv/b"));
    const attn = new Float64Array(N * d);
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const keys = t >= starts[i] ? Array.from({ length: t - starts[i] + 1 }, (_, j) => starts[i] + j) : [t];
          const q = (t2: number, c: number) => qkv[(i * T + t2) * 3 * d + h * hd + c];
          const k = (t2: number, c: number) => qkv[(i * T + t2) * 3 * d + d + h * hd + c];
          const v = (t2: number, c: number) => qkv[(i * T + t2) * 3 * d + 2 * d + h * hd + c];
          const scores = keys.map((j) => {
            let s = 0;
            for (let c = 0; c < hd; c++) s += q(t, c) * k(j, c);
            return s / Math.sqrt(hd);
          });
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const z = e.reduce((s, v2) => s + v2, 0);
          for (let c = 0; c < hd; c++) {
            attn[(i * T + t) * d + h * hd + c] = keys.reduce((s, j, m) => s + (e[m] / z) * v(j, c), 0);
          }
        }
      }
    }
    const y = linear(attn, d, d, p("attn/proj/w"), p("attn/proj/b"));
    for (let i = 0; i < x.length; i++) x[i] += y[i];
    const b2 = ln(x, p("ln2/g"), p("ln2/b"));
    const u = linear(b2, d, f, p("mlp/fc/w"), p("mlp/fc/b"));
    const act = u.map((z) => (cfg.activation === "gelu" ? 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))) : Math.max(0, z)));
    const m = linear(act, f, d, p("mlp/proj/w"), p("mlp/proj/b"));
    for (let i = 0; i < x.length; i++) x[i] += m[i];
  }
  const zf = ln(x, w["ln_f/g"], w["ln_f/b"]);
  const headW = cfg.tieEmbeddings ? transpose64(w.tok_emb, V, d) : w["head/w"];
  const logits = new Float64Array(N * V);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < V; j++) {
      let s = w["head/b"][j];
      for (let c = 0; c < d; c++) s += zf[r * d + c] * headW[c * V + j];
      logits[r * V + j] = s;
    }
  }
  return logits;
}

function transpose64(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

/**
 * The forward pass with tfjs ops (simple and slow): a second, tensor-level reference that
 * shares no code with the hand-written kernels.
 */
function referenceForwardTf(cfg: Required<TransformerConfig>, w: Record<string, Float32Array>, tokens: Int32Array, n: number, T: number, starts: Int32Array): Float32Array {
  const { width: d, heads: H, vocabSize: V, ffWidth: f, contextLength: C } = cfg;
  const hd = d / H;
  return tf.tidy(() => {
    const param = (name: string, shape: number[]) => tf.tensor(w[name], shape);
    const positions = Int32Array.from({ length: n * T }, (_, r) => {
      const t = r % T;
      const s = starts[Math.floor(r / T)];
      return t >= s ? t - s : 0;
    });
    let x = tf.add(tf.gather(param("tok_emb", [V, d]), tf.tensor1d(tokens, "int32")), tf.gather(param("pos_emb", [C, d]), tf.tensor1d(positions, "int32"))) as tf.Tensor2D;
    const layerNorm = (v: tf.Tensor2D, g: string, b: string) => {
      const { mean, variance } = tf.moments(v, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(v, mean), tf.sqrt(tf.add(variance, 1e-5))), param(g, [d])), param(b, [d])) as tf.Tensor2D;
    };
    // mask[i, t, j] = 0 where query t of row i may see key j, −1e9 elsewhere.
    const mask = new Float32Array(n * T * T).fill(-1e9);
    for (let i = 0; i < n; i++) {
      for (let t = 0; t < T; t++) {
        if (t < starts[i]) mask[(i * T + t) * T + t] = 0;
        else for (let j = starts[i]; j <= t; j++) mask[(i * T + t) * T + j] = 0;
      }
    }
    const maskT = tf.reshape(tf.tensor3d(mask, [n, T, T]), [n, 1, T, T]);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `h${l}/`;
      const a = layerNorm(x, p + "ln1/g", p + "ln1/b");
      const qkv = tf.add(tf.matMul(a, param(p + "attn/qkv/w", [d, 3 * d])), param(p + "attn/qkv/b", [3 * d]));
      const heads = (part: number) => tf.transpose(tf.reshape(tf.slice(qkv, [0, part * d], [n * T, d]), [n, T, H, hd]), [0, 2, 1, 3]);
      const scores = tf.add(tf.div(tf.matMul(heads(0), heads(1), false, true), Math.sqrt(hd)), maskT);
      const probs = tf.softmax(scores);
      const o = tf.reshape(tf.transpose(tf.matMul(probs, heads(2)), [0, 2, 1, 3]), [n * T, d]);
      x = tf.add(x, tf.add(tf.matMul(o, param(p + "attn/proj/w", [d, d])), param(p + "attn/proj/b", [d])));
      const b = layerNorm(x, p + "ln2/g", p + "ln2/b");
      const u = tf.add(tf.matMul(b, param(p + "mlp/fc/w", [d, f])), param(p + "mlp/fc/b", [f]));
      const act =
        cfg.activation === "gelu"
          ? tf.mul(tf.mul(0.5, u), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(u, tf.mul(0.044715, tf.pow(u, 3)))))))
          : tf.relu(u);
      x = tf.add(x, tf.add(tf.matMul(act as tf.Tensor2D, param(p + "mlp/proj/w", [f, d])), param(p + "mlp/proj/b", [d])));
    }
    const z = layerNorm(x, "ln_f/g", "ln_f/b");
    const headW = cfg.tieEmbeddings ? tf.transpose(param("tok_emb", [V, d])) : param("head/w", [d, V]);
    return tf.add(tf.matMul(z, headW as tf.Tensor2D), param("head/b", [V])).dataSync() as Float32Array;
  });
}

/** Replaces the GPT-2 init by larger random weights, so every nonlinearity matters. */
function randomizeWeights(model: TransformerLM, seed: number, scale = 0.5): void {
  const rng = new Rng(seed);
  const w = model.getWeights();
  for (const [name, arr] of Object.entries(w)) {
    const isGain = name.endsWith("/g");
    for (let i = 0; i < arr.length; i++) arr[i] = (isGain ? 1 : 0) + scale * rng.normal();
  }
  model.setWeights(w);
}

function randomTokens(rng: Rng, count: number, V: number): Int32Array {
  return Int32Array.from({ length: count }, () => rng.integer(0, V));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.each<BackendName>(["wasm", "cpu"])("TransformerLM on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  // T = 7 pads the attention tiles with an empty row, T = 8 fills them; head sizes 4 and 3
  // take the blocked and the remainder-column loops.
  const variants: [string, TransformerConfig, number][] = [
    ["gelu", TINY, 7],
    ["relu, tied embeddings, ffWidth 12, 3 heads", { ...TINY, width: 9, heads: 3, ffWidth: 12, activation: "relu", tieEmbeddings: true }, 8],
  ];

  for (const [label, config, T] of variants) {
    it(`backward matches float64 central differences of Σ w·logits for every parameter, with left padding (${label})`, () => {
      const model = new TransformerLM(config, new Rng(1));
      randomizeWeights(model, 2, 0.4);
      const rng = new Rng(3);
      const n = 3;
      const tokens = randomTokens(rng, n * T, config.vocabSize);
      const starts = Int32Array.from([0, 2, 5]);
      const V = config.vocabSize;
      const lossWeights = Float32Array.from({ length: n * T * V }, () => rng.normal());
      const { logits, trace } = model.forward(tokens, n, T, starts, true);
      const grads = model.backward(trace!, lossWeights);

      const w64: Weights64 = Object.fromEntries(Object.entries(model.getWeights()).map(([k, v]) => [k, Float64Array.from(v)]));
      const loss = () => referenceForward64(model.config, w64, tokens, n, T, starts).reduce((s, z, i) => s + z * lossWeights[i], 0);
      // The float64 reference computes the same function as the model.
      expect(maxAbsDiff(referenceForward64(model.config, w64, tokens, n, T, starts), logits)).toBeLessThan(2e-5);

      const eps = 1e-5;
      let checked = 0;
      model.paramNames.forEach((name, k) => {
        const p = w64[name];
        for (let j = 0; j < p.length; j++) {
          const old = p[j];
          p[j] = old + eps;
          const up = loss();
          p[j] = old - eps;
          const down = loss();
          p[j] = old;
          const fd = (up - down) / (2 * eps);
          const got = grads[k][j];
          if (!(Math.abs(got - fd) <= 2e-4 + 2e-3 * Math.abs(fd))) {
            throw new Error(`gradient of ${name}[${j}]: backward ${got}, finite differences ${fd}`);
          }
          checked++;
        }
      });
      expect(checked).toBe(model.numParameters());
      // Padding rows/positions got gradient too (the loss covers them), and they are finite.
      grads.forEach((g) => g.forEach((v) => expect(Number.isFinite(v)).toBe(true)));
    });

    it(`forward equals an independent tfjs-ops forward to 1e-5 (${label})`, () => {
      const model = new TransformerLM(config, new Rng(4));
      randomizeWeights(model, 5, 0.2);
      const rng = new Rng(6);
      const [n, T] = [4, 8];
      const tokens = randomTokens(rng, n * T, config.vocabSize);
      const starts = Int32Array.from([0, 1, 3, 7]);
      const { logits, trace } = model.forward(tokens, n, T, starts, false);
      expect(trace).toBeNull();
      const want = referenceForwardTf(model.config, model.getWeights(), tokens, n, T, starts);
      expect(maxAbsDiff(logits, want)).toBeLessThan(1e-5);
    });
  }

  it("forward equals the tfjs reference at a size that sends products to the backend's matMul", () => {
    const config: TransformerConfig = { vocabSize: 40, contextLength: 16, layers: 2, width: 32, heads: 4 };
    const model = new TransformerLM(config, new Rng(7));
    randomizeWeights(model, 8, 0.15);
    const rng = new Rng(9);
    const [n, T] = [12, 13];
    const tokens = randomTokens(rng, n * T, 40);
    const starts = Int32Array.from({ length: n }, (_, i) => i % 4);
    const { logits } = model.forward(tokens, n, T, starts, false);
    const want = referenceForwardTf(model.config, model.getWeights(), tokens, n, T, starts);
    expect(maxAbsDiff(logits, want)).toBeLessThan(1e-5 * 4);
  });

  it("KV-cache stepping gives the full forward's logits at every position, with left padding", () => {
    for (const config of [TINY, { ...TINY, width: 9, heads: 3, tieEmbeddings: true, activation: "relu" as const }]) {
      const model = new TransformerLM(config, new Rng(10));
      randomizeWeights(model, 11, 0.3);
      const rng = new Rng(12);
      const n = 3;
      const T = config.contextLength;
      const V = config.vocabSize;
      const tokens = randomTokens(rng, n * T, V);
      const starts = Int32Array.from([0, 3, 1]);
      const full = model.forward(tokens, n, T, starts, false).logits;
      const cache = model.createCache(n, starts);
      for (let t = 0; t < T; t++) {
        const column = Int32Array.from({ length: n }, (_, i) => tokens[i * T + t]);
        const stepLogits = model.step(cache, column);
        expect(cache.length).toBe(t + 1);
        for (let i = 0; i < n; i++) {
          const want = full.subarray((i * T + t) * V, (i * T + t + 1) * V);
          expect(maxAbsDiff(stepLogits.subarray(i * V, (i + 1) * V), want)).toBeLessThan(1e-5);
        }
      }
      expect(() => model.step(cache, new Int32Array(n))).toThrow(/cache is full/);
    }
  });

  it("a left-padded row gives the same logits at its real positions as the unpadded sequence", () => {
    const model = new TransformerLM(TINY, new Rng(13));
    randomizeWeights(model, 14, 0.3);
    const rng = new Rng(15);
    const V = TINY.vocabSize;
    const seq = randomTokens(rng, 5, V);
    const plain = model.forward(seq, 1, 5, null, false).logits;
    for (const pad of [1, 3]) {
      const T = 5 + pad;
      // Padding tokens are arbitrary valid ids: they must not matter.
      const padded = Int32Array.from({ length: T }, (_, t) => (t < pad ? rng.integer(0, V) : seq[t - pad]));
      // Row 0 is the padded sequence, row 1 an unrelated unpadded one in the same batch.
      const tokens = new Int32Array(2 * T);
      tokens.set(padded, 0);
      tokens.set(randomTokens(rng, T, V), T);
      const { logits } = model.forward(tokens, 2, T, Int32Array.from([pad, 0]), false);
      expect(maxAbsDiff(logits.subarray(pad * V, T * V), plain)).toBeLessThan(1e-5);
      logits.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    }
  });

  it("creates and disposes no tensors across forward, backward and step", () => {
    const config: TransformerConfig = { vocabSize: 40, contextLength: 32, layers: 2, width: 64, heads: 4 };
    const model = new TransformerLM(config, new Rng(16));
    const rng = new Rng(17);
    const [n, T] = [8, 32];
    const tokens = randomTokens(rng, n * T, 40);
    const run = () => {
      const { logits, trace } = model.forward(tokens, n, T, null, true);
      model.backward(trace!, logits);
      const cache = model.createCache(n);
      for (let t = 0; t < 3; t++) model.step(cache, tokens.subarray(t * n, t * n + n).slice());
    };
    run();
    const before = tf.memory().numTensors;
    run();
    run();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("TransformerLM construction and weights", () => {
  it("is deterministic in the rng seed and uses GPT-2's init scales", () => {
    const config: TransformerConfig = { vocabSize: 50, contextLength: 16, layers: 4, width: 32, heads: 4 };
    const a = new TransformerLM(config, new Rng(1)).getWeights();
    const b = new TransformerLM(config, new Rng(1)).getWeights();
    const c = new TransformerLM(config, new Rng(2)).getWeights();
    for (const name of Object.keys(a)) expect(Array.from(b[name])).toEqual(Array.from(a[name]));
    expect(Array.from(c["h0/attn/qkv/w"])).not.toEqual(Array.from(a["h0/attn/qkv/w"]));
    const std = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
    expect(std(a.tok_emb)).toBeCloseTo(0.02, 2);
    expect(std(a["h1/mlp/fc/w"])).toBeCloseTo(0.02, 2);
    expect(std(a["h1/mlp/proj/w"])).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(std(a["h2/attn/proj/w"])).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(Array.from(a["h3/ln2/g"]).every((v) => v === 1)).toBe(true);
    expect(Array.from(a["h3/mlp/fc/b"]).every((v) => v === 0)).toBe(true);
  });

  it("names and shapes its parameters; parameters() are the live arrays", () => {
    const model = new TransformerLM({ ...TINY, layers: 1 }, new Rng(0));
    expect(model.paramNames).toEqual([
      "tok_emb", "pos_emb",
      "h0/ln1/g", "h0/ln1/b", "h0/attn/qkv/w", "h0/attn/qkv/b", "h0/attn/proj/w", "h0/attn/proj/b",
      "h0/ln2/g", "h0/ln2/b", "h0/mlp/fc/w", "h0/mlp/fc/b", "h0/mlp/proj/w", "h0/mlp/proj/b",
      "ln_f/g", "ln_f/b", "head/w", "head/b",
    ]);
    const shapes = model.paramShapes();
    expect(shapes.tok_emb).toEqual([7, 8]);
    expect(shapes.pos_emb).toEqual([8, 8]);
    expect(shapes["h0/attn/qkv/w"]).toEqual([8, 24]);
    expect(shapes["h0/mlp/fc/w"]).toEqual([8, 32]);
    expect(shapes["h0/mlp/proj/w"]).toEqual([32, 8]);
    expect(shapes["head/w"]).toEqual([8, 7]);
    const tied = new TransformerLM({ ...TINY, tieEmbeddings: true }, new Rng(0));
    expect(tied.paramNames).not.toContain("head/w");
    expect(tied.paramNames).toContain("head/b");
    const total = Object.values(shapes).reduce((s, shape) => s + shape.reduce((x, y) => x * y, 1), 0);
    expect(model.numParameters()).toBe(total);
    const live = model.parameters();
    live[0][0] = 42;
    expect(model.getWeights().tok_emb[0]).toBe(42);
    const copy = model.getWeights();
    copy.tok_emb[0] = 7;
    expect(model.parameters()[0][0]).toBe(42);
  });

  it("setWeights copies into the live arrays and names missing, unknown and mis-sized entries", () => {
    const a = new TransformerLM(TINY, new Rng(1));
    const b = new TransformerLM(TINY, new Rng(2));
    const live = b.parameters();
    b.setWeights(a.getWeights());
    expect(Array.from(live[4])).toEqual(Array.from(a.parameters()[4]));
    const w = a.getWeights();
    delete (w as Record<string, Float32Array | undefined>)["h1/ln2/b"];
    w["h9/extra"] = new Float32Array(3);
    w["pos_emb"] = new Float32Array(5);
    expect(() => b.setWeights(w)).toThrow(ConfigError);
    expect(() => b.setWeights(w)).toThrow(/missing h1\/ln2\/b.*unknown h9\/extra.*pos_emb \(needs 64 floats\)/);
  });

  it("rejects malformed configs and inputs with ConfigErrors", () => {
    const rng = new Rng(0);
    expect(() => new TransformerLM({ ...TINY, heads: 3 }, rng)).toThrow(/not divisible by heads/);
    expect(() => new TransformerLM({ ...TINY, layers: 0 }, rng)).toThrow(/layers must be a positive integer/);
    expect(() => new TransformerLM({ ...TINY, width: 8.5 }, rng)).toThrow(ConfigError);
    expect(() => new TransformerLM({ ...TINY, ffWidth: -1 }, rng)).toThrow(/ffWidth/);
    expect(() => new TransformerLM({ ...TINY, activation: "tanh" as "relu" }, rng)).toThrow(/activation/);
    const model = new TransformerLM(TINY, rng);
    expect(() => model.forward(new Int32Array(9), 1, 9, null, false)).toThrow(/contextLength/);
    expect(() => model.forward(Int32Array.from([0, 7]), 1, 2, null, false)).toThrow(/outside the vocabulary/);
    expect(() => model.forward(new Int32Array(4), 2, 2, Int32Array.from([0, 3]), false)).toThrow(/start\[1\] = 3/);
    expect(() => model.forward(new Int32Array(3), 2, 2, null, false)).toThrow(ConfigError);
    const other = new TransformerLM(TINY, rng);
    expect(() => model.step(other.createCache(1), new Int32Array(1))).toThrow(/not created by this model/);
    const { logits, trace } = model.forward(new Int32Array(6), 2, 3, null, true);
    expect(() => other.backward(trace!, logits)).toThrow(/not from this model/);
    expect(() => model.backward(trace!, new Float32Array(5))).toThrow(/n·T·V = 42/);
    model.backward(trace!, logits);
    expect(() => model.backward(trace!, logits)).toThrow(/already used by backward/);
    expect(() => model.step(model.createCache(2), new Int32Array(1))).toThrow(/2 tokens/);
  });
});

describe("ArrayAdam", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("follows the same trajectory as Adam over tf.Variables, with clipping, and shares its state format", () => {
    const rng = new Rng(20);
    const a = Float32Array.from({ length: 7 }, () => rng.normal());
    const b = Float32Array.from({ length: 7 }, () => 1 + rng.uniform());
    const w0 = Float32Array.from({ length: 7 }, () => rng.normal());
    // loss = Σ a·w + ½ Σ b·w², gradient a + b·w, split over two parameters (3 + 4 entries).
    const vars = [tf.variable(tf.tensor1d(w0.slice(0, 3))), tf.variable(tf.tensor2d(w0.slice(3), [2, 2]))];
    const coef = (arr: Float32Array, k: number) => (k === 0 ? tf.tensor1d(arr.slice(0, 3)) : tf.tensor2d(arr.slice(3), [2, 2]));
    const adam = new Adam(vars, { learningRate: 0.05 });
    const params = [w0.slice(0, 3), w0.slice(3)];
    const arrayAdam = new ArrayAdam(params, { learningRate: 0.05 });
    for (let step = 0; step < 6; step++) {
      const clip = step % 2 === 0 ? 0.5 : undefined;
      const { gradNorm } = adam.minimize(
        () => tf.addN(vars.map((v, k) => tf.add(tf.sum(tf.mul(coef(a, k), v)), tf.mul(0.5, tf.sum(tf.mul(coef(b, k), tf.square(v))))))) as tf.Scalar,
        clip,
      );
      const grads = params.map((p, k) => p.map((wi, i) => a[i + (k === 0 ? 0 : 3)] + b[i + (k === 0 ? 0 : 3)] * wi));
      const norm = arrayAdam.applyGradients(grads, clip);
      expect(norm).toBeCloseTo(gradNorm, 5);
    }
    expect(arrayAdam.step).toBe(6);
    vars.forEach((v, k) => expect(maxAbsDiff(v.dataSync(), params[k])).toBeLessThan(1e-6));
    const state = arrayAdam.getState();
    expect(maxAbsDiff(state.m, adam.getState().m)).toBeLessThan(1e-6);
    // States move between the two optimisers.
    const again = new ArrayAdam([new Float32Array(3), new Float32Array(4)], { learningRate: 1 });
    again.setState(adam.getState());
    expect(again.step).toBe(6);
    expect(again.learningRate).toBe(0.05);
    expect(() => again.setState({ ...state, m: new Float32Array(2) })).toThrow(/malformed Adam state/);
    expect(() => arrayAdam.applyGradients([new Float32Array(3)])).toThrow(/2 parameters/);
    tf.dispose(vars);
  });

  it("trains the transformer: the loss of a repeating sequence falls", () => {
    const config: TransformerConfig = { vocabSize: 5, contextLength: 8, layers: 1, width: 16, heads: 2 };
    const model = new TransformerLM(config, new Rng(21));
    const opt = new ArrayAdam(model.parameters(), { learningRate: 0.01 });
    const [n, T, V] = [4, 8, 5];
    const tokens = Int32Array.from({ length: n * T }, (_, r) => ((r % T) + Math.floor(r / T)) % V);
    const rows = Int32Array.from({ length: n * (T - 1) }, (_, k) => Math.floor(k / (T - 1)) * T + (k % (T - 1)));
    const targets = Int32Array.from(rows, (r) => tokens[r + 1]);
    const logp = new Float32Array(rows.length);
    const meanNll = (logits: Float32Array) => {
      tokenLogProbs(logits, V, rows, targets, logp, null);
      return -logp.reduce((s, v) => s + v, 0) / rows.length;
    };
    const first = meanNll(model.forward(tokens, n, T, null, false).logits);
    for (let step = 0; step < 60; step++) {
      const { logits, trace } = model.forward(tokens, n, T, null, true);
      const dLogits = new Float32Array(logits.length);
      logitGradients(logits, V, rows, targets, new Float32Array(rows.length).fill(-1 / rows.length), null, dLogits);
      opt.applyGradients(model.backward(trace!, dLogits), 1);
    }
    const last = meanNll(model.forward(tokens, n, T, null, false).logits);
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(0.2);
  });
});
