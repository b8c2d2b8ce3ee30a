import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { Categorical } from "../../src/nn/distributions.js";
import { MLP } from "../../src/nn/mlp.js";
import { Adam, clipGradNorm } from "../../src/nn/optim.js";

/** torch.optim.Adam in plain JS (float64), the reference for the tensor version. */
function referenceAdam(w: number[], gradsPerStep: number[][], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-5): number[] {
  const m = w.map(() => 0);
  const v = w.map(() => 0);
  const out = [...w];
  gradsPerStep.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < out.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      out[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
    }
  });
  return out;
}

/** A small PPO-flavoured loss on a fixed batch, for multi-step optimiser tests. */
function makeLoss(actor: MLP, seed: number): () => tf.Scalar {
  const rng = new Rng(seed);
  const obs = tf.tensor2d(Float32Array.from({ length: 32 * 4 }, () => rng.normal()), [32, 4]);
  const actions = tf.tensor1d(Int32Array.from({ length: 32 }, () => rng.integer(0, 2)), "int32");
  const adv = tf.tensor1d(Float32Array.from({ length: 32 }, () => rng.normal()));
  const dist = new Categorical(2);
  tf.keep(obs);
  tf.keep(actions);
  tf.keep(adv);
  return () => tf.neg(tf.mean(tf.mul(dist.logProb(actor.apply(obs), actions), adv))) as tf.Scalar;
}

describe.each<BackendName>(["cpu", "wasm"])("Adam on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("follows torch's Adam rule step by step, with eps 1e-5 by default", () => {
    const w = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const b = tf.variable(tf.tensor2d([[0.1, 0.2]]));
    const opt = new Adam([w, b], { learningRate: 0.1 });
    expect(opt.epsilon).toBe(1e-5);
    // loss_t = Σ c_t · params: the gradient is c_t, known in advance.
    const coefs = [[1, -2, 0.5, 3, 1e-4], [0.3, 0.3, -4, 1, -1], [-1, 2, 2, 0, 5]];
    for (const c of coefs) {
      opt.minimize(() =>
        tf.add(tf.sum(tf.mul(w, tf.tensor1d(c.slice(0, 3)))), tf.sum(tf.mul(b, tf.tensor2d([c.slice(3)])))) as tf.Scalar,
      );
    }
    const expected = referenceAdam([0.5, -1, 2, 0.1, 0.2], coefs, 0.1);
    const got = [...w.dataSync(), ...b.dataSync()];
    got.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 5));
    expect(opt.step).toBe(3);
    opt.dispose();
    tf.dispose([w, b]);
  });

  it("agrees with tf.train.adam(lr, 0.9, 0.999, 1e-5) on a network", () => {
    const a = new MLP({ sizes: [4, 16, 2], rng: new Rng(3), name: "a" });
    const b = new MLP({ sizes: [4, 16, 2], rng: new Rng(3), name: "b" });
    const ours = new Adam(a.variables, { learningRate: 0.01 });
    const stock = tf.train.adam(0.01, 0.9, 0.999, 1e-5);
    const lossA = makeLoss(a, 1);
    const lossB = makeLoss(b, 1);
    for (let i = 0; i < 5; i++) {
      ours.minimize(lossA);
      stock.minimize(lossB, false, b.variables as tf.Variable[])?.dispose();
    }
    const wa = a.getWeights();
    const wb = b.getWeights();
    wa.forEach((arr, i) => arr.forEach((x, j) => expect(Math.abs(x - wb[i][j])).toBeLessThan(1e-5)));
    ours.dispose();
    stock.dispose();
    a.dispose();
    b.dispose();
  });

  it("clips the global gradient norm like clip_grad_norm_ and reports the pre-clip norm", () => {
    const w = tf.variable(tf.tensor1d([0, 0]));
    const u = tf.variable(tf.tensor1d([0]));
    const opt = new Adam([w, u], { learningRate: 0.1 });
    // Gradient (3, 4, 12): global norm 13.
    const loss = () => tf.add(tf.sum(tf.mul(w, tf.tensor1d([3, 4]))), tf.sum(tf.mul(u, tf.tensor1d([12])))) as tf.Scalar;
    const { gradNorm } = opt.minimize(loss, 6.5);
    expect(gradNorm).toBeCloseTo(13, 4);
    // After one step m = (1 − β₁)·clipped g, and the clipped g is g · 6.5 / (13 + 1e-6).
    const m = opt.getState().m;
    const scale = 6.5 / (13 + 1e-6);
    [3, 4, 12].forEach((g, i) => expect(m[i]).toBeCloseTo(0.1 * g * scale, 6));
    // A large max norm leaves the gradient alone.
    const opt2 = new Adam([w, u], { learningRate: 0.1 });
    opt2.minimize(loss, 100);
    [3, 4, 12].forEach((g, i) => expect(opt2.getState().m[i]).toBeCloseTo(0.1 * g, 6));
    tf.dispose([w, u]);
    opt.dispose();
    opt2.dispose();
  });

  it("resumes exactly from exported state (weights identical after further steps)", () => {
    const a = new MLP({ sizes: [4, 32, 2], rng: new Rng(5), name: "a" });
    const optA = new Adam(a.variables, { learningRate: 3e-3 });
    const lossA = makeLoss(a, 2);
    for (let i = 0; i < 4; i++) optA.minimize(lossA, 0.5);

    // "Checkpoint": weights and optimiser state as plain arrays, restored into fresh objects.
    const b = new MLP({ sizes: [4, 32, 2], rng: new Rng(99), name: "b" });
    b.setWeights(a.getWeights());
    const optB = new Adam(b.variables, { learningRate: 1 });
    optB.setState(optA.getState());
    expect(optB.learningRate).toBe(3e-3);
    expect(optB.step).toBe(4);
    const lossB = makeLoss(b, 2);
    for (let i = 0; i < 5; i++) {
      optA.setLearningRate(3e-3 * (1 - i / 5));
      optB.setLearningRate(3e-3 * (1 - i / 5));
      optA.minimize(lossA, 0.5);
      optB.minimize(lossB, 0.5);
    }
    expect(b.getWeights()).toEqual(a.getWeights());

    // Without the optimiser state the runs diverge: the test can fail.
    const c = new MLP({ sizes: [4, 32, 2], rng: new Rng(99), name: "c" });
    c.setWeights(a.getWeights());
    const optC = new Adam(c.variables, { learningRate: 3e-3 });
    const optA2 = new Adam(a.variables, { learningRate: 3e-3 });
    optA2.setState(optA.getState());
    optC.minimize(makeLoss(c, 2));
    optA2.minimize(lossA);
    expect(c.getWeights()).not.toEqual(a.getWeights());
    [a, b, c].forEach((n) => n.dispose());
    [optA, optB, optC, optA2].forEach((o) => o.dispose());
  });

  it("a learning rate of 0 leaves the weights unchanged", () => {
    const net = new MLP({ sizes: [4, 8, 2], rng: new Rng(6) });
    const opt = new Adam(net.variables, { learningRate: 0.01 });
    opt.setLearningRate(0);
    const before = net.getWeights();
    opt.minimize(makeLoss(net, 3));
    expect(net.getWeights()).toEqual(before);
    opt.dispose();
    net.dispose();
  });
});

describe("clipGradNorm and validation", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("scales all gradients by max_norm / (norm + 1e-6) above the limit", () => {
    tf.tidy(() => {
      const grads = [tf.tensor1d([3, 4]), tf.tensor2d([[12]])];
      const { grads: clipped, norm } = clipGradNorm(grads, 6.5);
      expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
      const s = 6.5 / (13 + 1e-6);
      expect(Array.from(clipped[0].dataSync())).toEqual([Math.fround(3 * s), Math.fround(4 * s)].map((x) => expect.closeTo(x, 6)));
      expect(clipped[1].shape).toEqual([1, 1]);
      expect(clipped[1].dataSync()[0]).toBeCloseTo(12 * s, 5);
      const unchanged = clipGradNorm(grads, 20).grads;
      expect(Array.from(unchanged[0].dataSync())).toEqual([3, 4]);
    });
  });

  it("rejects bad hyper-parameters and malformed states", () => {
    const w = tf.variable(tf.zeros([3]));
    expect(() => new Adam([], { learningRate: 1 })).toThrow(ConfigError);
    expect(() => new Adam([w], { learningRate: -1 })).toThrow(/learning rate/);
    expect(() => new Adam([w], { learningRate: 1, beta1: 1 })).toThrow(/beta1/);
    const opt = new Adam([w], { learningRate: 1 });
    expect(() => opt.setLearningRate(Number.NaN)).toThrow(ConfigError);
    expect(() => opt.setState({ step: 1, learningRate: 1, m: new Float32Array(2), v: new Float32Array(3) })).toThrow(/malformed Adam state/);
    expect(() => opt.minimize(() => tf.sum(w) as tf.Scalar, 0)).toThrow(/maxGradNorm/);
    opt.dispose();
    w.dispose();
  });
});
