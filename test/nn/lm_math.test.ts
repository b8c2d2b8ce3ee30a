import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { logitGradients, sampleToken, tokenLogProbs } from "../../src/nn/lm_math.js";

describe("tokenLogProbs", () => {
  it("gives hand-computed log-probabilities and entropies of a 3-way softmax", () => {
    // Row 0: logits ln1, ln2, ln5 → p = (1/8, 2/8, 5/8). Row 1: all equal → uniform.
    const logits = Float32Array.from([Math.log(1), Math.log(2), Math.log(5), 3, 3, 3]);
    const rows = Int32Array.from([0, 0, 1]);
    const targets = Int32Array.from([2, 0, 1]);
    const logp = new Float32Array(3);
    const ent = new Float32Array(3);
    tokenLogProbs(logits, 3, rows, targets, logp, ent);
    expect(logp[0]).toBeCloseTo(Math.log(5 / 8), 6);
    expect(logp[1]).toBeCloseTo(Math.log(1 / 8), 6);
    expect(logp[2]).toBeCloseTo(Math.log(1 / 3), 6);
    const h0 = -(1 / 8) * Math.log(1 / 8) - (2 / 8) * Math.log(2 / 8) - (5 / 8) * Math.log(5 / 8);
    expect(ent[0]).toBeCloseTo(h0, 6); // 0.9003
    expect(ent[1]).toBeCloseTo(h0, 6);
    expect(ent[2]).toBeCloseTo(Math.log(3), 6);
  });

  it("is stable for huge logits and skips the entropy when not asked", () => {
    const logits = Float32Array.from([1000, 0, -1000]);
    const logp = new Float32Array(1);
    tokenLogProbs(logits, 3, Int32Array.from([0]), Int32Array.from([1]), logp, null);
    expect(logp[0]).toBeCloseTo(-1000, 3);
  });

  it("rejects rows and targets out of range", () => {
    const logits = new Float32Array(6);
    const out = new Float32Array(1);
    expect(() => tokenLogProbs(logits, 3, Int32Array.from([2]), Int32Array.from([0]), out, null)).toThrow(ConfigError);
    expect(() => tokenLogProbs(logits, 3, Int32Array.from([1]), Int32Array.from([3]), out, null)).toThrow(/outside \[0, 3\)/);
  });
});

describe("logitGradients", () => {
  /** L = Σ_k a_k·logp_k + b_k·H_k, in float64 from float64 logits. */
  function loss(z: Float64Array, V: number, rows: Int32Array, targets: Int32Array, a: Float32Array, b: Float32Array): number {
    let L = 0;
    rows.forEach((r, k) => {
      const row = Array.from(z.subarray(r * V, r * V + V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const H = -row.reduce((s, x) => s + Math.exp(x - lse) * (x - lse), 0);
      L += a[k] * (row[targets[k]] - lse) + b[k] * H;
    });
    return L;
  }

  it("matches central finite differences, with shared rows and accumulation", () => {
    const rng = new Rng(3);
    const V = 5;
    const logits = Float32Array.from({ length: 3 * V }, () => 2 * rng.normal());
    const rows = Int32Array.from([0, 2, 2, 1]);
    const targets = Int32Array.from([4, 0, 3, 1]);
    const a = Float32Array.from([0.7, -1.3, 0.4, 2]);
    const b = Float32Array.from([-0.5, 0.9, 0, 1.1]);
    const start = Float32Array.from({ length: 3 * V }, (_, i) => i * 0.01);
    const grad = start.slice();
    logitGradients(logits, V, rows, targets, a, b, grad);
    const z = Float64Array.from(logits);
    const eps = 1e-6;
    for (let i = 0; i < z.length; i++) {
      const zp = z.slice();
      const zm = z.slice();
      zp[i] += eps;
      zm[i] -= eps;
      const fd = (loss(zp, V, rows, targets, a, b) - loss(zm, V, rows, targets, a, b)) / (2 * eps);
      expect(grad[i] - start[i]).toBeCloseTo(fd, 5);
    }
  });

  it("without entropy terms equals onehot − p", () => {
    const logits = Float32Array.from([Math.log(1), Math.log(2), Math.log(5)]);
    const grad = new Float32Array(3);
    logitGradients(logits, 3, Int32Array.from([0]), Int32Array.from([1]), Float32Array.from([1]), null, grad);
    expect(grad[0]).toBeCloseTo(-1 / 8, 6);
    expect(grad[1]).toBeCloseTo(1 - 2 / 8, 6);
    expect(grad[2]).toBeCloseTo(-5 / 8, 6);
  });
});

describe("sampleToken", () => {
  const logits = Float32Array.from([9, 0.5, 1.5, 0.2, 1.5, -1, 9, 9]); // rows at offsets 0 (V=6) and 5 (V=3)

  it("greedy takes the argmax, ties to the lowest id, and draws nothing", () => {
    const rng = new Rng(1);
    const before = rng.getState();
    const s = sampleToken(logits, 1, 5, rng, 0, 0); // [0.5, 1.5, 0.2, 1.5, -1] → id 1
    expect(s.token).toBe(1);
    expect(s.logProb).toBe(0);
    const lse = Math.log([0.5, 1.5, 0.2, 1.5, -1].reduce((t, x) => t + Math.exp(x), 0));
    expect(s.rawLogProb).toBeCloseTo(1.5 - lse, 6);
    expect(rng.getState()).toEqual(before);
    expect(sampleToken(logits, 5, 3, rng, 0, 0).token).toBe(1); // [-1, 9, 9] → 1
  });

  it("top-k = 1 picks the greedy token with logProb 0, drawing once", () => {
    const rng = new Rng(2);
    for (let i = 0; i < 20; i++) {
      const s = sampleToken(logits, 1, 5, rng, 1.7, 1);
      expect(s.token).toBe(1);
      expect(s.logProb).toBeCloseTo(0, 12);
    }
    const other = new Rng(2);
    for (let i = 0; i < 20; i++) other.uniform();
    expect(rng.getState()).toEqual(other.getState());
  });

  it("samples with the tempered (and top-k) softmax's frequencies and reports its log-probability", () => {
    const row = Float32Array.from([0.3, -0.4, 1.2, 0.0]);
    for (const [temperature, topK] of [[0.5, 0], [2, 0], [1, 2], [0.7, 3]] as const) {
      const z = Array.from(row);
      const kept = topK === 0 ? [0, 1, 2, 3] : [...z.keys()].sort((a, b) => z[b] - z[a]).slice(0, topK);
      const weights = z.map((x, j) => (kept.includes(j) ? Math.exp(x / temperature) : 0));
      const total = weights.reduce((s, w) => s + w, 0);
      const probs = weights.map((w) => w / total);
      const rawLse = Math.log(z.reduce((s, x) => s + Math.exp(x), 0));
      const counts = [0, 0, 0, 0];
      const rng = new Rng(100 + topK);
      const draws = 20_000;
      let worstLogProb = 0;
      let worstRaw = 0;
      for (let i = 0; i < draws; i++) {
        const s = sampleToken(row, 0, 4, rng, temperature, topK);
        counts[s.token]++;
        worstLogProb = Math.max(worstLogProb, Math.abs(s.logProb - Math.log(probs[s.token])));
        worstRaw = Math.max(worstRaw, Math.abs(s.rawLogProb - (z[s.token] - rawLse)));
      }
      expect(worstLogProb).toBeLessThan(1e-5);
      expect(worstRaw).toBeLessThan(1e-5);
      probs.forEach((p, j) => expect(Math.abs(counts[j] / draws - p)).toBeLessThan(0.015));
    }
  });

  it("is reproducible from a seed", () => {
    const row = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]);
    const run = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(row, 0, 5, rng, 1, 0).token);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it("rejects bad temperatures, top-k and offsets", () => {
    const rng = new Rng(0);
    expect(() => sampleToken(logits, 0, 6, rng, -1, 0)).toThrow(/temperature/);
    expect(() => sampleToken(logits, 0, 6, rng, 1, 1.5)).toThrow(/top-k/);
    expect(() => sampleToken(logits, 4, 6, rng, 1, 0)).toThrow(ConfigError);
  });
});
