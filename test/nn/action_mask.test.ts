import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Categorical, MASKED_LOGIT, maskLogitsInPlace } from "../../src/nn/distributions.js";

// Masked Categorical (MaskablePPO semantics): masked actions get the logit −1e8, so they have
// probability 0, add 0 to the entropy and receive no gradient.

describe("masked Categorical", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  // logits [1, 2, 3], action 1 masked: p = softmax([1, 3]) on the allowed ones.
  const e1 = Math.exp(1), e3 = Math.exp(3);
  const p0 = e1 / (e1 + e3), p2 = e3 / (e1 + e3); // 0.119203, 0.880797
  const wantEntropy = -(p0 * Math.log(p0) + p2 * Math.log(p2)); // 0.365334

  it("gives the hand-computed log-prob and entropy, tensor and typed-array alike", () => {
    expect(p2).toBeCloseTo(0.880797, 6);
    expect(wantEntropy).toBeCloseTo(0.365334, 6);
    const dist = new Categorical(3);
    const logits = new Float32Array([1, 2, 3, 1, 2, 3]);
    const mask = new Uint8Array([1, 0, 1, 1, 1, 1]);
    const actions = new Int32Array([2, 1]);
    const lp = new Float32Array(2), ent = new Float32Array(2);
    dist.logProbEntropyArrays(logits, actions, 2, lp, ent, mask);
    expect(lp[0]).toBeCloseTo(Math.log(p2), 6);
    expect(ent[0]).toBeCloseTo(wantEntropy, 6);
    // The unmasked row is the plain softmax of [1, 2, 3].
    const z = e1 + Math.exp(2) + e3;
    expect(lp[1]).toBeCloseTo(Math.log(Math.exp(2) / z), 6);
    expect(logits[1]).toBe(2); // the caller's logits are not modified
    const t = tf.tidy(() => {
      const out = dist.logProbEntropy(tf.tensor2d(logits, [2, 3]), tf.tensor1d(actions, "int32"), tf.tensor2d(mask, [2, 3], "int32"));
      return [Array.from(out.logProb.dataSync()), Array.from(out.entropy.dataSync())];
    });
    expect(t[0][0]).toBeCloseTo(Math.log(p2), 5);
    expect(t[1][0]).toBeCloseTo(wantEntropy, 5);
    expect(t[0][1]).toBeCloseTo(lp[1], 5);
    // A masked action has log-prob ≈ −1e8: probability 0.
    const masked = new Float32Array(1);
    dist.logProbEntropyArrays(new Float32Array([1, 2, 3]), new Int32Array([1]), 1, masked, new Float32Array(1), new Uint8Array([1, 0, 1]));
    expect(masked[0]).toBeLessThan(-1e7);
  });

  it("the hand-written gradient equals tfjs autodiff of the masked loss, and is 0 on masked logits", () => {
    const rng = new Rng(3);
    const batch = 9, n = 7;
    const logits = Float32Array.from({ length: batch * n }, () => 2 * rng.normal());
    const mask = Uint8Array.from({ length: batch * n }, (_, i) => (i % n === i % 3 ? 1 : rng.uniform() < 0.5 ? 1 : 0));
    const actions = Int32Array.from({ length: batch }, (_, r) => {
      const allowed = [...Array(n).keys()].filter((i) => mask[r * n + i]);
      return allowed[rng.integer(0, allowed.length)];
    });
    const dLogProb = Float32Array.from({ length: batch }, () => rng.normal());
    const dEntropy = Float32Array.from({ length: batch }, () => rng.normal());
    const dist = new Categorical(n);
    const want = tf.tidy(() => {
      const g = tf.grad((x: tf.Tensor) => {
        const out = dist.logProbEntropy(x as tf.Tensor2D, tf.tensor1d(actions, "int32"), tf.tensor2d(mask, [batch, n], "int32"));
        return tf.add(tf.sum(tf.mul(out.logProb, tf.tensor1d(dLogProb))), tf.sum(tf.mul(out.entropy, tf.tensor1d(dEntropy))));
      });
      return g(tf.tensor2d(logits, [batch, n])).dataSync() as Float32Array;
    });
    const got = new Float32Array(batch * n);
    dist.logProbEntropyGrad(logits, actions, batch, dLogProb, dEntropy, got, mask);
    let scale = 0;
    for (const w of want) scale = Math.max(scale, Math.abs(w));
    expect(scale).toBeGreaterThan(0.1);
    for (let i = 0; i < got.length; i++) {
      expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
      if (!mask[i]) {
        expect(got[i]).toBe(0);
        expect(Math.abs(want[i])).toBe(0);
      }
    }
    // Pre-masked logits without a mask argument give the same gradient (what ActorCritic does).
    const premasked = maskLogitsInPlace(logits.slice(), mask, batch, n);
    const again = new Float32Array(batch * n);
    dist.logProbEntropyGrad(premasked, actions, batch, dLogProb, dEntropy, again);
    again.forEach((x, i) => expect(x).toBeCloseTo(got[i], 6));
  });

  it("the masked entropy is the entropy over the allowed actions only (0 when one is allowed)", () => {
    const dist = new Categorical(4);
    const ent = tf.tidy(() => Array.from(dist.entropy(tf.tensor2d([[0, 0, 0, 0], [5, 1, -2, 0]]), tf.tensor2d([[1, 1, 0, 0], [0, 0, 1, 0]], [2, 4], "int32")).dataSync()));
    expect(ent[0]).toBeCloseTo(Math.log(2), 5);
    expect(ent[1]).toBeCloseTo(0, 6);
    expect(Number.isFinite(ent[0]) && Number.isFinite(ent[1])).toBe(true);
  });

  it("sample and modeFast never choose a masked action; the written log-prob is the masked one", () => {
    const dist = new Categorical(3);
    const rng = new Rng(5);
    const logits = new Float32Array([1, 2, 3]);
    const mask = new Uint8Array([1, 0, 1]);
    const counts = [0, 0, 0];
    const a = new Int32Array(1), lp = new Float32Array(1);
    for (let i = 0; i < 4000; i++) {
      dist.sample(logits, 1, rng, a, lp, mask);
      counts[a[0]]++;
      expect(lp[0]).toBeCloseTo(Math.log(a[0] === 0 ? p0 : p2), 5);
    }
    expect(counts[1]).toBe(0);
    expect(counts[0] / 4000).toBeCloseTo(p0, 1);
    dist.modeFast(new Float32Array([1, 9, 3]), 1, a, mask);
    expect(a[0]).toBe(2);
    const m = tf.tidy(() => Array.from(dist.mode(tf.tensor2d([[1, 9, 3]]), tf.tensor2d([[1, 0, 1]], [1, 3], "int32")).dataSync()));
    expect(m[0]).toBe(2);
    expect(MASKED_LOGIT).toBe(-1e8);
  });
});
