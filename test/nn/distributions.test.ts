import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { RefineryError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { Categorical, DiagGaussian, sampleCategorical } from "../../src/nn/distributions.js";

const LN3 = Math.log(3);
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

describe.each<BackendName>(["cpu", "wasm"])("Categorical on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });
  const dist = new Categorical(2);

  it("logits [0, ln 3] give probabilities [1/4, 3/4]", () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([[0, LN3], [0, LN3]]);
      const lp = dist.logProb(logits, tf.tensor1d([0, 1], "int32")).dataSync();
      expect(lp[0]).toBeCloseTo(Math.log(1 / 4), 6);
      expect(lp[1]).toBeCloseTo(Math.log(3 / 4), 6);
      // Float-valued actions (as stored in rollouts) work too.
      expect(dist.logProb(logits, tf.tensor1d([1, 0])).dataSync()[0]).toBeCloseTo(Math.log(3 / 4), 6);
      const h = dist.entropy(logits).dataSync();
      const expected = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
      expect(h[0]).toBeCloseTo(expected, 6);
      expect(h[1]).toBeCloseTo(expected, 6);
      expect(Array.from(dist.mode(logits).dataSync())).toEqual([1, 1]);
      const both = dist.logProbEntropy(logits, tf.tensor1d([0, 1], "int32"));
      expect(Array.from(both.logProb.dataSync())).toEqual(Array.from(lp));
      expect(Array.from(both.entropy.dataSync())).toEqual(Array.from(h));
    });
  });

  it("has the log-softmax gradient: onehot(a) − p (no gather, so it works on wasm)", () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([[0, LN3]]);
      const g = tf.grad((l: tf.Tensor) => tf.sum(dist.logProb(l as tf.Tensor2D, tf.tensor1d([1], "int32"))))(logits).dataSync();
      expect(g[0]).toBeCloseTo(-0.25, 6);
      expect(g[1]).toBeCloseTo(0.25, 6);
    });
  });
});

describe("Categorical sampling (typed arrays)", () => {
  it("samples with the right frequencies and writes exact log-probabilities", () => {
    const n = 20000;
    const logits = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) logits[2 * i + 1] = LN3;
    const actions = new Int32Array(n);
    const logp = new Float32Array(n);
    new Categorical(2).sample(logits, n, new Rng(5), actions, logp);
    const ones = actions.reduce((s, a) => s + a, 0);
    expect(ones / n).toBeGreaterThan(0.74);
    expect(ones / n).toBeLessThan(0.76);
    for (let i = 0; i < n; i++) expect(logp[i]).toBeCloseTo(Math.log(actions[i] === 1 ? 0.75 : 0.25), 6);
  });

  it("uses the same draw as rng.categoricalFromLogits, deterministically", () => {
    const rng = new Rng(9);
    const twin = Rng.fromState(rng.getState());
    const logits = Float32Array.from({ length: 5 * 3 }, (_, i) => Math.sin(i));
    const actions = new Int32Array(5);
    sampleCategorical(logits, 5, 3, rng, actions);
    for (let r = 0; r < 5; r++) expect(actions[r]).toBe(twin.categoricalFromLogits(logits, r * 3, 3));
  });

  it("mode picks the arg-max of each row", () => {
    const out = new Int32Array(2);
    new Categorical(3).modeFast(Float32Array.from([0, 2, 1, 5, -1, 4]), 2, out);
    expect(Array.from(out)).toEqual([1, 0]);
  });

  it("reports non-finite logits instead of sampling garbage", () => {
    const err = (() => {
      try {
        sampleCategorical(Float32Array.from([0, Number.NaN]), 1, 2, new Rng(0), new Int32Array(1));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RefineryError);
    expect((err as RefineryError).code).toBe("non_finite_policy_output");
  });
});

describe.each<BackendName>(["cpu", "wasm"])("DiagGaussian on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("starts at log-std 0 (CleanRL) and computes logProb, entropy and mode by hand", () => {
    const dist = new DiagGaussian(2);
    expect(Array.from(dist.getWeights()[0])).toEqual([0, 0]);
    dist.setWeights([Float32Array.from([0.2, -0.3])]);
    tf.tidy(() => {
      const mean = tf.tensor2d([[0.5, -1]]);
      const x = tf.tensor2d([[1, 0]]);
      // Σ_d −½((x−μ)/σ)² − log σ − ½ log 2π
      const z0 = (1 - 0.5) / Math.exp(0.2);
      const z1 = (0 - -1) / Math.exp(-0.3);
      const expected = -0.5 * z0 * z0 - 0.2 - HALF_LOG_2PI + (-0.5 * z1 * z1 + 0.3 - HALF_LOG_2PI);
      expect(dist.logProb(mean, x).dataSync()[0]).toBeCloseTo(expected, 5);
      const h = dist.entropy(tf.zeros([3, 2]) as tf.Tensor2D);
      expect(h.shape).toEqual([3]);
      expect(h.dataSync()[2]).toBeCloseTo(2 * (0.5 + HALF_LOG_2PI) + 0.2 - 0.3, 5);
      expect(Array.from(dist.mode(mean).dataSync())).toEqual([0.5, -1]);
    });
    dist.dispose();
  });

  it("trains its log-std: d logProb / d log σ = z² − 1", () => {
    const dist = new DiagGaussian(1, { name: "pi" });
    expect(dist.logStd.name).toBe("pi/log_std");
    const mean = tf.tensor2d([[0]]);
    const x = tf.tensor2d([[2]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(dist.logProb(mean, x)), [dist.logStd]);
    expect(grads[dist.logStd.name].dataSync()[0]).toBeCloseTo(2 * 2 - 1, 5);
    tf.dispose([mean, x, value, grads[dist.logStd.name]]);
    dist.dispose();
  });

  it("samples mean + σ·ε and writes log-probs that match logProb", () => {
    const dist = new DiagGaussian(2, { initLogStd: Math.log(0.5) });
    const n = 4000;
    const mean = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) mean[2 * i] = 3;
    const actions = new Float32Array(n * 2);
    const logp = new Float32Array(n);
    dist.sample(mean, n, new Rng(4), actions, logp);
    let s = 0;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      s += actions[2 * i];
      ss += (actions[2 * i] - 3) ** 2;
    }
    expect(s / n).toBeCloseTo(3, 1);
    expect(Math.sqrt(ss / n)).toBeGreaterThan(0.47);
    expect(Math.sqrt(ss / n)).toBeLessThan(0.53);
    const ref = tf.tidy(() => dist.logProb(tf.tensor2d(mean, [n, 2]), tf.tensor2d(actions, [n, 2])).dataSync());
    for (let i = 0; i < n; i += 97) expect(logp[i]).toBeCloseTo(ref[i], 4);
    // Same seed, same actions.
    const again = new Float32Array(n * 2);
    dist.sample(mean, n, new Rng(4), again);
    expect(again).toEqual(actions);
    dist.dispose();
  });
});
