import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { MLP } from "../../src/nn/mlp.js";

function randomInput(rng: Rng, n: number, scale = 2): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/**
 * |fast − ref| ≤ rel·max(|ref|, scale/10), scale = max|ref|: relative to each entry, except
 * that entries near zero (where a relative error means nothing after 64-term float32 sums)
 * are held to a tenth of the output's scale.
 */
function expectMatches(fast: Float32Array, ref: Float32Array, rel = 1e-5): void {
  expect(fast.length).toBe(ref.length);
  const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expect(scale).toBeGreaterThan(0.1);
  for (let i = 0; i < ref.length; i++) {
    expect(Math.abs(fast[i] - ref[i])).toBeLessThanOrEqual(rel * Math.max(Math.abs(ref[i]), 0.1 * scale));
  }
}

describe.each<BackendName>(["cpu", "wasm"])("MLP on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  describe.each(["tanh", "relu"] as const)("%s", (activation) => {
    const nets: MLP[] = [];
    afterAll(() => nets.forEach((n) => n.dispose()));

    it.each([1, 16, 64])("forwardFast matches apply() at batch %i", (batch) => {
      const rng = new Rng(7);
      // Gains of 1 on the output keep its entries O(1), so relative error is meaningful.
      const net = new MLP({ sizes: [4, 64, 64, 3], rng, activation, outputGain: 1 });
      nets.push(net);
      const input = randomInput(rng, batch * 4);
      const ref = tf.tidy(() => net.apply(tf.tensor2d(input, [batch, 4])).dataSync() as Float32Array);
      const fast = net.forwardFast(input, batch);
      expect(fast.length).toBe(batch * 3);
      expectMatches(fast, ref);
      // Writing into a caller's buffer gives the same numbers.
      const out = new Float32Array(batch * 3);
      expect(net.forwardFast(input, batch, out)).toBe(out);
      expect(out).toEqual(fast);
    });

    it("forwardFast follows the variables after syncFastWeights", () => {
      const rng = new Rng(8);
      const net = new MLP({ sizes: [3, 8, 2], rng, activation });
      nets.push(net);
      const input = randomInput(rng, 3 * 5);
      const before = net.forwardFast(input, 5).slice();
      tf.tidy(() => net.variables[0].assign(tf.mul(net.variables[0], 2)));
      expect(net.forwardFast(input, 5)).toEqual(before); // cached copies are stale until synced
      net.syncFastWeights();
      const ref = tf.tidy(() => net.apply(tf.tensor2d(input, [5, 3])).dataSync() as Float32Array);
      expectMatches(net.forwardFast(input, 5), ref);
      expect(net.forwardFast(input, 5)).not.toEqual(before);
    });
  });
});

describe("MLP parameters", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("names, shapes and counts its parameters stably", () => {
    const net = new MLP({ sizes: [4, 64, 64, 2], rng: new Rng(0), name: "actor" });
    expect(net.paramNames).toEqual([
      "actor/dense_0/kernel", "actor/dense_0/bias",
      "actor/dense_1/kernel", "actor/dense_1/bias",
      "actor/dense_2/kernel", "actor/dense_2/bias",
    ]);
    expect(net.paramShapes).toEqual([[4, 64], [64], [64, 64], [64], [64, 2], [2]]);
    expect(net.parameterCount).toBe(4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2);
    expect(net.variables.map((v) => v.name)).toEqual(net.paramNames);
    // A second live network with the same prefix keeps the logical names, suffixes the variables.
    const twin = new MLP({ sizes: [4, 64, 64, 2], rng: new Rng(0), name: "actor" });
    expect(twin.paramNames).toEqual(net.paramNames);
    expect(twin.variables[0].name).toBe("actor/dense_0/kernel_1");
    net.dispose();
    twin.dispose();
  });

  it("initialises as CleanRL: orthogonal kernels scaled by the layer gains, zero biases", () => {
    const net = new MLP({ sizes: [4, 64, 64, 2], rng: new Rng(1), outputGain: 0.01 });
    const [w0, b0, w1, , w2, b2] = net.getWeights();
    expect(b0.every((v) => v === 0) && b2.every((v) => v === 0)).toBe(true);
    const columnNorm = (w: Float32Array, rows: number, cols: number, j: number) => {
      let s = 0;
      for (let i = 0; i < rows; i++) s += w[i * cols + j] ** 2;
      return Math.sqrt(s);
    };
    const rowNorm = (w: Float32Array, cols: number, i: number) => Math.hypot(...w.subarray(i * cols, (i + 1) * cols));
    // torch's [out, in] weight has orthonormal rows when out ≤ in: our [in, out] kernel's columns.
    for (let j = 0; j < 2; j++) expect(columnNorm(w2, 64, 2, j)).toBeCloseTo(0.01, 6);
    for (let j = 0; j < 64; j++) expect(columnNorm(w1, 64, 64, j)).toBeCloseTo(Math.SQRT2, 5);
    // First layer [4 → 64]: torch's [64, 4] weight has orthonormal columns, i.e. our kernel's rows.
    for (let i = 0; i < 4; i++) expect(rowNorm(w0, 64, i)).toBeCloseTo(Math.SQRT2, 5);
    // Same seed, same network.
    const again = new MLP({ sizes: [4, 64, 64, 2], rng: new Rng(1), outputGain: 0.01 });
    expect(again.getWeights()).toEqual(net.getWeights());
    net.dispose();
    again.dispose();
  });

  it("round-trips weights through plain typed arrays", () => {
    const a = new MLP({ sizes: [3, 5, 2], rng: new Rng(2) });
    const b = new MLP({ sizes: [3, 5, 2], rng: new Rng(3) });
    const input = Float32Array.from([0.1, -0.2, 0.3]);
    expect(b.forwardFast(input, 1)).not.toEqual(a.forwardFast(input, 1));
    b.setWeights(a.getWeights());
    expect(b.getWeights()).toEqual(a.getWeights());
    expect(b.forwardFast(input, 1)).toEqual(a.forwardFast(input, 1));
    // getWeights returns copies: editing them does not touch the network.
    const copy = a.getWeights();
    copy[0].fill(9);
    expect(a.getWeights()[0][0]).not.toBe(9);
    expect(() => b.setWeights(a.getWeights().slice(1))).toThrow(ConfigError);
    expect(() => b.setWeights([new Float32Array(1), ...a.getWeights().slice(1)])).toThrow(/dense_0\/kernel/);
    a.dispose();
    b.dispose();
  });

  it("rejects bad options with ConfigErrors", () => {
    expect(() => new MLP({ sizes: [4], rng: new Rng(0) })).toThrow(ConfigError);
    expect(() => new MLP({ sizes: [4, 0, 2], rng: new Rng(0) })).toThrow(/positive integers/);
    expect(() => new MLP({ sizes: [4, 2], rng: new Rng(0), gains: [1, 1] })).toThrow(/one finite number per layer/);
    expect(() => new MLP({ sizes: [4, 2], rng: new Rng(0), activation: "gelu" as "tanh" })).toThrow(/tanh, relu/);
    const net = new MLP({ sizes: [2, 2], rng: new Rng(0) });
    expect(() => net.forwardFast(new Float32Array(3), 2)).toThrow(/input.length/);
    net.dispose();
    expect(() => net.forwardFast(new Float32Array(2), 1)).toThrow(/disposed/);
  });
});
