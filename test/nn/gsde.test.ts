import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError, RefineryError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { GSDE, stopGradient } from "../../src/nn/gsde.js";

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const EPS = 1e-6;

/** Independent float64 reference of SB3's gSDE log-prob (full std, log_std [L, A] row-major). */
function refLogProb(mean: ArrayLike<number>, latent: ArrayLike<number>, actions: ArrayLike<number>, logStd: ArrayLike<number>, batch: number, L: number, A: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < batch; r++) {
    let lp = 0;
    for (let j = 0; j < A; j++) {
      let v = EPS;
      for (let k = 0; k < L; k++) v += latent[r * L + k] ** 2 * Math.exp(2 * logStd[k * A + j]);
      const d = actions[r * A + j] - mean[r * A + j];
      lp += (-0.5 * d * d) / v - 0.5 * Math.log(v) - HALF_LOG_2PI;
    }
    out.push(lp);
  }
  return out;
}

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

describe.each<BackendName>(["cpu", "wasm"])("GSDE on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("computes the hand-checked variance, log-prob and entropy for 2 latent features and 1 action", () => {
    // log_std [[0], [ln ½]] → σ² = [1, ¼]; latent [1, 2] → var = 1·1 + 4·¼ = 2.
    const g = new GSDE(1, 2, { name: "t/hand" });
    g.setWeights([Float32Array.from([0, Math.log(0.5)])]);
    tf.tidy(() => {
      const latent = tf.tensor2d([[1, 2]]);
      const mean = tf.tensor2d([[0.5]]);
      expect(g.variance(latent).dataSync()[0]).toBeCloseTo(2 + EPS, 6);
      const lp = g.logProb(mean, latent, tf.tensor2d([[1.5]])).dataSync()[0];
      expect(lp).toBeCloseTo(-0.5 / (2 + EPS) - 0.5 * Math.log(2 + EPS) - HALF_LOG_2PI, 5);
      const h = g.entropy(mean, latent).dataSync()[0];
      expect(h).toBeCloseTo(0.5 + HALF_LOG_2PI + 0.5 * Math.log(2 + EPS), 5);
      // A zero latent leaves only SB3's ε: var = 1e-6, entropy ½ + ½ log 2π + ½ log 1e-6.
      const h0 = g.entropy(tf.tensor2d([[0]]), tf.tensor2d([[0, 0]])).dataSync()[0];
      expect(h0).toBeCloseTo(0.5 + HALF_LOG_2PI + 0.5 * Math.log(EPS), 4);
      const both = g.logProbEntropy(mean, latent, tf.tensor2d([[1.5]]));
      expect(both.logProb.dataSync()[0]).toBeCloseTo(lp, 6);
      expect(both.entropy.dataSync()[0]).toBeCloseTo(h, 6);
      expect(Array.from(g.mode(mean).dataSync())).toEqual([0.5]);
    });
    g.dispose();
  });

  it("draws ε ~ N(0, σ²): the noise of a fixed latent has variance latent² · σ²", () => {
    const g = new GSDE(1, 2, { name: "t/stats" });
    g.setWeights([Float32Array.from([0, Math.log(0.5)])]);
    const rng = new Rng(3);
    const latent = Float32Array.from([1, 2]);
    const mean = Float32Array.from([0]);
    const action = new Float32Array(1);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      g.resampleNoise(rng);
      g.sample(mean, latent, 1, action);
      s += action[0];
      s2 += action[0] * action[0];
    }
    const m = s / n;
    expect(Math.abs(m)).toBeLessThan(0.05);
    expect(s2 / n - m * m).toBeGreaterThan(1.92);
    expect(s2 / n - m * m).toBeLessThan(2.08);
    g.dispose();
  });

  it("writes log-probs of sampled actions equal to the tensor logProb (float32 precision)", () => {
    const [L, A, batch] = [8, 3, 16];
    const rng = new Rng(11);
    const g = new GSDE(A, L, { logStdInit: -0.5, name: "t/match" });
    g.setWeights([randomArray(rng, L * A, 0.3).map((x) => x - 1)]);
    g.resampleNoise(rng);
    const mean = randomArray(rng, batch * A);
    const latent = randomArray(rng, batch * L).map(Math.tanh);
    const actions = new Float32Array(batch * A);
    const logp = new Float32Array(batch);
    g.sample(mean, latent, batch, actions, logp);
    const tensorLp = tf.tidy(() =>
      g.logProb(tf.tensor2d(mean, [batch, A]), tf.tensor2d(latent, [batch, L]), tf.tensor2d(actions, [batch, A])).dataSync(),
    );
    const ref = refLogProb(mean, latent, actions, g.getWeights()[0], batch, L, A);
    for (let r = 0; r < batch; r++) {
      expect(Math.abs(logp[r] - tensorLp[r])).toBeLessThan(1e-5 * Math.max(1, Math.abs(logp[r])));
      expect(Math.abs(logp[r] - ref[r])).toBeLessThan(1e-5 * Math.max(1, Math.abs(ref[r])));
    }
    g.dispose();
  });

  it("makes the noise a fixed linear function of the latent until resampleNoise", () => {
    const [L, A] = [4, 2];
    const rng = new Rng(5);
    const g = new GSDE(A, L, { name: "t/linear" });
    g.resampleNoise(rng);
    const mean = Float32Array.from([0.1, -0.2]);
    const z1 = Float32Array.from([0.5, -0.25, 0.75, 0.1]);
    const z2 = Float32Array.from([-0.3, 0.6, 0.2, -0.9]);
    const act = (z: Float32Array) => {
      const out = new Float32Array(A);
      g.sample(mean, z, 1, out);
      return Array.from(out);
    };
    const a1 = act(z1);
    expect(act(z1)).toEqual(a1);
    // Linear in the latent: noise(z1 + z2) = noise(z1) + noise(z2).
    const sum = z1.map((v, i) => v + z2[i]);
    const a2 = act(z2);
    const a12 = act(sum);
    for (let j = 0; j < A; j++) expect(a12[j] - mean[j]).toBeCloseTo(a1[j] - mean[j] + (a2[j] - mean[j]), 5);
    // A zero latent gives the mean exactly.
    expect(act(new Float32Array(L))).toEqual(Array.from(mean));
    g.resampleNoise(rng);
    const b1 = act(z1);
    expect(b1[0]).not.toBe(a1[0]);
    expect(b1[1]).not.toBe(a1[1]);
    g.dispose();
  });

  it("gives each row its own matrix when numMatrices equals the batch, and matrix 0 otherwise", () => {
    const [L, A] = [3, 1];
    const g = new GSDE(A, L, { name: "t/perenv" });
    g.resampleNoise(new Rng(7), 2);
    expect(g.numMatrices).toBe(2);
    const z = Float32Array.from([0.3, -0.7, 0.5]);
    const twoRows = Float32Array.from([...z, ...z]);
    const out2 = new Float32Array(2);
    g.sample(new Float32Array(2), twoRows, 2, out2);
    expect(out2[0]).not.toBe(out2[1]);
    const out1 = new Float32Array(1);
    g.sample(new Float32Array(1), z, 1, out1);
    expect(out1[0]).toBe(out2[0]);
    // The draw is reproducible from the seed, and getNoise/setNoise transfer it.
    const twin = new GSDE(A, L, { name: "t/perenv2" });
    twin.resampleNoise(new Rng(7), 2);
    expect(Array.from(twin.getNoise())).toEqual(Array.from(g.getNoise()));
    const other = new GSDE(A, L, { name: "t/perenv3" });
    other.setNoise(g.getNoise());
    const out3 = new Float32Array(2);
    other.sample(new Float32Array(2), twoRows, 2, out3);
    expect(Array.from(out3)).toEqual(Array.from(out2));
    [g, twin, other].forEach((d) => d.dispose());
  });

  it("samples with the log-std cached by syncFastWeights (setWeights refreshes it)", () => {
    const g = new GSDE(1, 1, { name: "t/sync" });
    const z = Float32Array.from([1]);
    const out = new Float32Array(1);
    g.resampleNoise(new Rng(2));
    g.sample(new Float32Array(1), z, 1, out);
    const atStd1 = out[0];
    // Assigning the variable directly is not seen until syncFastWeights.
    tf.tidy(() => g.logStd.assign(tf.tensor2d([[Math.log(3)]])));
    g.resampleNoise(new Rng(2));
    g.sample(new Float32Array(1), z, 1, out);
    expect(out[0]).toBe(atStd1);
    g.syncFastWeights();
    g.resampleNoise(new Rng(2));
    g.sample(new Float32Array(1), z, 1, out);
    expect(out[0]).toBeCloseTo(3 * atStd1, 5);
    g.dispose();
  });

  it("has a log-std gradient matching finite differences, a mean gradient, and no latent gradient", () => {
    const [L, A, batch] = [3, 2, 5];
    const rng = new Rng(21);
    const g = new GSDE(A, L, { name: "t/grad" });
    const logStd = randomArray(rng, L * A, 0.4);
    g.setWeights([logStd]);
    const mean = randomArray(rng, batch * A);
    const latent = randomArray(rng, batch * L).map(Math.tanh);
    const actions = randomArray(rng, batch * A);
    const meanVar = tf.variable(tf.tensor2d(mean, [batch, A]), true, "t/grad/mean");
    const latentVar = tf.variable(tf.tensor2d(latent, [batch, L]), true, "t/grad/latent");
    const grads = tf.tidy(() => {
      const { grads } = tf.variableGrads(() => tf.sum(g.logProb(meanVar, latentVar, tf.tensor2d(actions, [batch, A]))) as tf.Scalar, [
        g.logStd,
        meanVar,
        latentVar,
      ]);
      return Object.fromEntries(Object.entries(grads).map(([k, v]) => [k, Array.from(v.dataSync())]));
    });
    const dLogStd = grads[g.logStd.name];
    const total = (ls: ArrayLike<number>) => refLogProb(mean, latent, actions, ls, batch, L, A).reduce((a, b) => a + b, 0);
    const h = 1e-5;
    for (let i = 0; i < L * A; i++) {
      const plus = Array.from(logStd);
      const minus = Array.from(logStd);
      plus[i] += h;
      minus[i] -= h;
      const fd = (total(plus) - total(minus)) / (2 * h);
      expect(Math.abs(dLogStd[i] - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
    }
    // d/dμ log N(a; μ, v) = (a − μ) / v.
    const variance = tf.tidy(() => Array.from(g.variance(tf.tensor2d(latent, [batch, L])).dataSync()));
    const dMean = grads[meanVar.name];
    for (let i = 0; i < batch * A; i++) expect(dMean[i]).toBeCloseTo((actions[i] - mean[i]) / variance[i], 3);
    // The latent is detached (SB3 learn_features=False).
    expect(grads[latentVar.name].every((x) => x === 0)).toBe(true);
    meanVar.dispose();
    latentVar.dispose();
    g.dispose();
  });

  it("shares one log-std per latent feature when fullStd is false", () => {
    const g = new GSDE(3, 2, { fullStd: false, logStdInit: -1, name: "t/shared" });
    expect(g.logStd.shape).toEqual([2, 1]);
    tf.tidy(() => {
      const std = g.std();
      expect(std.shape).toEqual([2, 3]);
      for (const s of std.dataSync()) expect(s).toBeCloseTo(Math.exp(-1), 6);
      const { grads } = tf.variableGrads(
        () => tf.sum(g.entropy(tf.zeros([4, 3]) as tf.Tensor2D, tf.ones([4, 2]) as tf.Tensor2D)) as tf.Scalar,
        [g.logStd],
      );
      // var = 2 e^{2 log σ} per action, entropy per row = 3 · ½ log var → d/dlogσ_k = 3 · (e^{2ℓ_k}/var) per row.
      const d = grads[g.logStd.name].dataSync();
      expect(d[0]).toBeCloseTo(4 * 3 * 0.5, 3);
      expect(d[1]).toBeCloseTo(4 * 3 * 0.5, 3);
    });
    const out = new Float32Array(3);
    const logp = new Float32Array(1);
    g.resampleNoise(new Rng(1));
    g.sample(new Float32Array(3), Float32Array.from([0.5, -0.5]), 1, out, logp);
    const ref = refLogProb(new Float32Array(3), [0.5, -0.5], out, new Float32Array(6).fill(-1), 1, 2, 3);
    expect(logp[0]).toBeCloseTo(ref[0], 4);
    g.dispose();
  });

  it("leaks no tensors inside tf.tidy and frees everything on dispose", () => {
    const before = tf.memory().numTensors;
    const g = new GSDE(2, 4, { name: "t/leak" });
    const withVariable = tf.memory().numTensors;
    expect(withVariable).toBe(before + 1);
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        const mean = tf.zeros([3, 2]) as tf.Tensor2D;
        const latent = tf.ones([3, 4]) as tf.Tensor2D;
        const actions = tf.ones([3, 2]) as tf.Tensor2D;
        g.logProb(mean, latent, actions);
        g.entropy(mean, latent);
        g.logProbEntropy(mean, latent, actions);
        g.mode(mean);
        stopGradient(latent);
        tf.variableGrads(() => tf.sum(g.logProb(mean, latent, actions)) as tf.Scalar, [g.logStd]);
      });
    }
    expect(tf.memory().numTensors).toBe(withVariable);
    g.getWeights();
    g.setWeights(g.getWeights());
    expect(tf.memory().numTensors).toBe(withVariable);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("GSDE validation", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("rejects bad dimensions, options, shapes and weights with ConfigErrors", () => {
    expect(() => new GSDE(0, 4)).toThrow(ConfigError);
    expect(() => new GSDE(1, 2.5)).toThrow(ConfigError);
    expect(() => new GSDE(1, 4, { logStdInit: Number.NaN })).toThrow(ConfigError);
    const g = new GSDE(2, 3, { name: "t/valid" });
    expect(() => g.resampleNoise(new Rng(0), 0)).toThrow(ConfigError);
    expect(() => g.setWeights([new Float32Array(5)])).toThrow(ConfigError);
    expect(() => g.setNoise(new Float32Array(7))).toThrow(ConfigError);
    expect(() => g.sample(new Float32Array(2), new Float32Array(2), 1, new Float32Array(2))).toThrow(ConfigError);
    tf.tidy(() => {
      expect(() => g.entropy(tf.zeros([2, 2]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(ConfigError);
      expect(() => g.entropy(tf.zeros([1, 2]) as tf.Tensor2D, tf.zeros([2, 3]) as tf.Tensor2D)).toThrow(ConfigError);
    });
    g.dispose();
    expect(() => g.std()).toThrow(ConfigError);
  });

  it("reports a non-finite action instead of returning it", () => {
    const g = new GSDE(1, 1, { name: "t/nan" });
    g.resampleNoise(new Rng(0));
    const err = (() => {
      try {
        g.sample(Float32Array.from([Number.NaN]), Float32Array.from([1]), 1, new Float32Array(1));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(RefineryError);
    expect((err as RefineryError).code).toBe("non_finite_policy_output");
    g.dispose();
  });
});
