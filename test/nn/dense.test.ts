import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { dense, type Activation } from "../../src/nn/dense.js";

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => rng.normal()), shape);
}

function expectClose(a: tf.Tensor, b: tf.Tensor, tol = 1e-5): void {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(y[i])));
}

describe.each<BackendName>(["cpu", "wasm"])("dense on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each<Activation>(["linear", "tanh", "relu"])("xt gradient equals the stock gradient (%s)", (activation) => {
    tf.tidy(() => {
      const rng = new Rng(42);
      const x = randomTensor(rng, [7, 5]) as tf.Tensor2D;
      const w = randomTensor(rng, [5, 3]) as tf.Tensor2D;
      const b = randomTensor(rng, [3]) as tf.Tensor1D;
      const c = randomTensor(rng, [7, 3]);
      const lossOf = (mode: "xt" | "stock") => (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.mul(dense(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, activation, mode), c));
      const xt = tf.valueAndGrads(lossOf("xt"))([x, w, b]);
      const stock = tf.valueAndGrads(lossOf("stock"))([x, w, b]);
      expectClose(xt.value, stock.value);
      xt.grads.forEach((g, i) => expectClose(g, stock.grads[i]));
      // The comparison is meaningful: the gradients are not all zero.
      expect(tf.max(tf.abs(xt.grads[1])).dataSync()[0]).toBeGreaterThan(0.01);
    });
  });

  it("large tanh layers (wasm's 2σ(2z) − 1 path) match the stock tanh and its gradient", () => {
    tf.tidy(() => {
      const rng = new Rng(3);
      const x = randomTensor(rng, [64, 40]) as tf.Tensor2D;
      const w = tf.mul(randomTensor(rng, [40, 64]), 0.3) as tf.Tensor2D;
      const b = randomTensor(rng, [64]) as tf.Tensor1D;
      const c = randomTensor(rng, [64, 64]);
      const lossOf = (mode: "xt" | "stock") => (wi: tf.Tensor) => tf.sum(tf.mul(dense(x, wi as tf.Tensor2D, b, "tanh", mode), c));
      const xt = tf.valueAndGrad(lossOf("xt"))(w);
      const stock = tf.valueAndGrad(lossOf("stock"))(w);
      expect(Math.abs(xt.value.dataSync()[0] - stock.value.dataSync()[0])).toBeLessThan(1e-4);
      const dx = dense(x, w, b, "tanh", "xt").dataSync();
      const ref = dense(x, w, b, "tanh", "stock").dataSync();
      // 2σ(2z) − 1 is within ~2e-7 of tanh; the fused and unfused matMuls also sum the
      // 40 products in different orders (float32 ulp of z ≈ 1e-7 to 1e-6).
      for (let i = 0; i < dx.length; i++) expect(Math.abs(dx[i] - ref[i])).toBeLessThan(3e-6);
      expectClose(xt.grad, stock.grad, 2e-5);
    });
  });

  it("computes a hand-checked example", () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[1, 2]]);
      const w = tf.tensor2d([[1], [1]]);
      const b = tf.tensor1d([0.5]);
      const { value, grads } = tf.valueAndGrads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(dense(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D)),
      )([x, w, b]);
      expect(value.dataSync()[0]).toBeCloseTo(3.5, 6);
      expect(Array.from(grads[0].dataSync())).toEqual([1, 1]); // dx = dy·Wᵀ
      expect(Array.from(grads[1].dataSync())).toEqual([1, 2]); // dW = xᵀ·dy
      expect(Array.from(grads[2].dataSync())).toEqual([1]); // db = Σ dy
    });
  });

  it("gives variables their gradients through tf.variableGrads", () => {
    const rng = new Rng(1);
    const w = tf.variable(randomTensor(rng, [4, 2]));
    const b = tf.variable(tf.zeros([2]));
    const x = randomTensor(rng, [3, 4]) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => tf.sum(dense(x, w as tf.Tensor2D, b as tf.Tensor1D, "tanh")), [w, b]);
    expect(grads[w.name].shape).toEqual([4, 2]);
    expect(grads[b.name].shape).toEqual([2]);
    tf.dispose([w, b, x, value, grads[w.name], grads[b.name]]);
  });
});
