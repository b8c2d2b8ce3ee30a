import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Categorical, DiagGaussian } from "../../src/nn/distributions.js";
import { MLP } from "../../src/nn/mlp.js";

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/**
 * |a − b| ≤ rel·max(|b|, floor·max|b|): relative, except that entries much smaller than the
 * largest are held to a fraction of it (float32 sums of many terms lose relative precision
 * near zero, and the two sides round differently).
 */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 2e-4, floor = 1e-2): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  expect(scale).toBeGreaterThan(0); // the comparison means something
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * Math.max(Math.abs(b[i]), floor * scale));
}

describe.each<BackendName>(["cpu", "wasm"])("hand-written backward passes on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(["tanh", "relu"] as const)("MLP.forwardTrace equals apply() and backward equals tf.variableGrads (%s)", (activation) => {
    const rng = new Rng(11);
    const net = new MLP({ sizes: [5, 64, 48, 3], rng, activation, outputGain: 1 });
    const batch = 37;
    const x = tf.tensor2d(randomArray(rng, batch * 5, 2), [batch, 5]);
    const upstream = tf.tensor2d(randomArray(rng, batch * 3), [batch, 3]);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(net.apply(x), upstream)), net.variables as tf.Variable[]);
    tf.tidy(() => {
      const { output, trace } = net.forwardTrace(x);
      expect(Array.from(output.dataSync())).toEqual(Array.from(tf.tidy(() => net.apply(x)).dataSync()));
      const grads = net.backward(trace, upstream);
      expect(grads).toHaveLength(net.variables.length);
      grads.forEach((g, i) => {
        expect(g.shape).toEqual(net.variables[i].shape);
        expectClose(g.dataSync(), ref.grads[net.variables[i].name].dataSync());
      });
    });
    tf.dispose([x, upstream, ref.value, ...Object.values(ref.grads)]);
    net.dispose();
  });

  it("Categorical typed-array logProb/entropy and their gradient match the tensor versions", () => {
    const rng = new Rng(12);
    const n = 3;
    const batch = 50;
    const dist = new Categorical(n);
    const logits = randomArray(rng, batch * n, 3);
    const actions = Int32Array.from({ length: batch }, () => rng.integer(0, n));
    const dLogProb = randomArray(rng, batch);
    const dEntropy = randomArray(rng, batch);
    const logProb = new Float32Array(batch);
    const entropy = new Float32Array(batch);
    dist.logProbEntropyArrays(logits, actions, batch, logProb, entropy);
    const dLogits = new Float32Array(batch * n);
    dist.logProbEntropyGrad(logits, actions, batch, dLogProb, dEntropy, dLogits);
    tf.tidy(() => {
      const a = tf.tensor1d(actions, "int32");
      const ref = dist.logProbEntropy(tf.tensor2d(logits, [batch, n]), a);
      expectClose(logProb, ref.logProb.dataSync(), 1e-5, 0.1);
      expectClose(entropy, ref.entropy.dataSync(), 1e-5, 0.1);
      const g = tf.grad((l: tf.Tensor) => {
        const both = dist.logProbEntropy(l as tf.Tensor2D, a);
        return tf.add(tf.sum(tf.mul(both.logProb, tf.tensor1d(dLogProb))), tf.sum(tf.mul(both.entropy, tf.tensor1d(dEntropy))));
      })(tf.tensor2d(logits, [batch, n]));
      expectClose(dLogits, g.dataSync());
    });
    expect(() => dist.logProbEntropyArrays(logits, Int32Array.from([3]), 1, logProb, entropy)).toThrow(/action 3/);
  });

  it("DiagGaussian typed-array logProb/entropy and their gradients (mean and log-std) match the tensor versions", () => {
    const rng = new Rng(13);
    const dim = 2;
    const batch = 40;
    const dist = new DiagGaussian(dim, { name: `g_${backend}`, initLogStd: -0.3 });
    tf.tidy(() => dist.logStd.assign(tf.tensor1d([-0.3, 0.4])));
    const mean = randomArray(rng, batch * dim);
    const actions = randomArray(rng, batch * dim, 1.5);
    const dLogProb = randomArray(rng, batch);
    const dEntropy = randomArray(rng, batch);
    const logProb = new Float32Array(batch);
    const entropy = new Float32Array(batch);
    dist.logProbEntropyArrays(mean, actions, batch, logProb, entropy);
    const dMean = new Float32Array(batch * dim);
    const dLogStd = new Float32Array(dim);
    dist.logProbEntropyGrad(mean, actions, batch, dLogProb, dEntropy, dMean, dLogStd);
    const meanT = tf.variable(tf.tensor2d(mean, [batch, dim]));
    const actT = tf.tensor2d(actions, [batch, dim]);
    const ref = tf.variableGrads(() => {
      const both = dist.logProbEntropy(meanT as tf.Tensor2D, actT);
      return tf.add(tf.sum(tf.mul(both.logProb, tf.tensor1d(dLogProb))), tf.sum(tf.mul(both.entropy, tf.tensor1d(dEntropy)))) as tf.Scalar;
    }, [meanT, dist.logStd]);
    tf.tidy(() => {
      const both = dist.logProbEntropy(meanT as tf.Tensor2D, actT);
      expectClose(logProb, both.logProb.dataSync(), 1e-5, 0.1);
      expectClose(entropy, both.entropy.dataSync(), 1e-5, 0.1);
    });
    expectClose(dMean, ref.grads[meanT.name].dataSync());
    expectClose(dLogStd, ref.grads[dist.logStd.name].dataSync());
    tf.dispose([meanT, actT, ref.value, ...Object.values(ref.grads)]);
    dist.dispose();
  });
});

describe("MLP.forwardFast row blocking", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("gives every row of a batch bit for bit what a batch of one gives (4-row blocks and leftovers)", () => {
    const rng = new Rng(14);
    for (const sizes of [[4, 64, 64, 2], [3, 9, 7, 1]]) {
      const net = new MLP({ sizes, rng, outputGain: 1 });
      const batch = 7; // one 4-row block and three single rows
      const input = randomArray(rng, batch * sizes[0], 2);
      const out = sizes[sizes.length - 1];
      const all = net.forwardFast(input, batch);
      for (let r = 0; r < batch; r++) {
        const one = net.forwardFast(input.subarray(r * sizes[0], (r + 1) * sizes[0]), 1);
        expect(Array.from(all.subarray(r * out, (r + 1) * out))).toEqual(Array.from(one));
      }
      net.dispose();
    }
  });
});
