import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import type { Gradient } from "../../src/nn/network_adam.js";
import { ContinuousQ } from "../../src/policies/continuous_q.js";
import { DeterministicActor } from "../../src/policies/deterministic_actor.js";
import { SquashedGaussianActor, type LogStdBounds } from "../../src/policies/squashed_gaussian.js";
import { expectClose, randomArray, tfSquashed } from "./offpolicy_reference.js";

/** Σ over variables of the reference gradient compared with ours. */
function compareGrads(ours: Gradient[], vars: readonly tf.Variable[], loss: () => tf.Scalar): void {
  const ref = tf.variableGrads(loss, vars as tf.Variable[]);
  expect(ours).toHaveLength(vars.length);
  ours.forEach((g, i) => expectClose(g instanceof Float32Array ? g : g.dataSync(), ref.grads[vars[i].name].dataSync()));
  tf.dispose([ref.value, ...Object.values(ref.grads)]);
}

// "kernels": the networks' passes on refinery's SIMD kernels (typed arrays), tfjs cpu as the reference.
describe.each(["cpu", "wasm", "kernels"] as const)("continuous off-policy networks on %s", (backend) => {
  const kernels = backend === "kernels";
  beforeAll(async () => {
    await initBackend(kernels ? "cpu" : backend);
  });

  it.each<[LogStdBounds, boolean, number, number]>([
    ["tanh", true, -5, 2],
    ["clip", false, -0.15, 0.1], // a narrow range so some raw outputs are clipped
  ])("squashed Gaussian (%s bounds, scale in correction %s): sample, log π and backward match tfjs autodiff", (bounds, scaleInCorrection, lo, hi) => {
    const rng = new Rng(21);
    const obsSize = 3;
    const A = 2;
    const batch = 33;
    const actor = new SquashedGaussianActor({ obsSize, low: [-2, -1], high: [2, 3], hidden: [16, 12], rng, logStdBounds: bounds, logStdMin: lo, logStdMax: hi, scaleInCorrection, kernels });
    const obs = randomArray(rng, batch * obsSize, 2);
    const noise = randomArray(rng, batch * A);
    const up = {
      dActions: randomArray(rng, batch * A),
      dLogProb: randomArray(rng, batch),
      dU: randomArray(rng, batch * A),
      dMean: randomArray(rng, batch * A),
      dLogStd: randomArray(rng, batch * A),
    };
    tf.tidy(() => {
      const s = actor.sample(obs, batch, noise);
      const ref = tfSquashed(actor, obs, batch, noise);
      expectClose(s.actions, ref.actions.dataSync(), 1e-5, 0.1);
      expectClose(s.logProb, ref.logProb.dataSync(), 1e-4, 0.1);
      if (bounds === "clip") {
        const clipped = Array.from(s.logStd).filter((v) => v === lo || v === hi).length;
        expect(clipped).toBeGreaterThan(0);
        expect(clipped).toBeLessThan(batch * A);
      }
      const ours = actor.backward(s, up);
      compareGrads(ours, actor.variables, () => {
        const r = tfSquashed(actor, obs, batch, noise);
        const t = (x: Float32Array, shape: number[]) => tf.tensor(x, shape);
        return tf.addN([
          tf.sum(tf.mul(r.actions, t(up.dActions, [batch, A]))),
          tf.sum(tf.mul(r.logProb, t(up.dLogProb, [batch]))),
          tf.sum(tf.mul(r.u, t(up.dU, [batch, A]))),
          tf.sum(tf.mul(r.mean, t(up.dMean, [batch, A]))),
          tf.sum(tf.mul(r.logStd, t(up.dLogStd, [batch, A]))),
        ]) as tf.Scalar;
      });
    });
    // The fast acting path: the squashed mean, and samples inside the box.
    const out = new Float32Array(batch * A);
    actor.act(obs, batch, null, out);
    tf.tidy(() => {
      const mu = tf.tidy(() => tfSquashed(actor, obs, batch, new Float32Array(batch * A)).actions);
      expectClose(out, mu.dataSync(), 1e-5, 0.1);
    });
    actor.act(obs, batch, new Rng(3), out);
    for (let k = 0; k < out.length; k++) expect(Math.abs(out[k] - [0, 1][k % A])).toBeLessThanOrEqual(2);
    actor.dispose();
  });

  it("squashed Gaussian logProbAt: another policy's density at a sample's u, and its derivative by u", () => {
    const rng = new Rng(22);
    const batch = 20;
    const old = new SquashedGaussianActor({ obsSize: 3, low: [-2, -1], high: [2, 3], hidden: [8], rng, logStdBounds: "clip", logStdMin: -20, logStdMax: 2, scaleInCorrection: false });
    const obs = randomArray(rng, batch * 3);
    const u = Float64Array.from(randomArray(rng, batch * 2, 1.5));
    const ours = old.logProbAt(obs, batch, u);
    const uT = tf.tensor2d(Float32Array.from(u), [batch, 2]);
    const logDensity = (x: tf.Tensor) =>
      tf.tidy(() => {
        const out = old.net.apply(tf.tensor2d(obs, [batch, 3]));
        const mu = tf.slice(out, [0, 0], [batch, 2]);
        const logStd = tf.clipByValue(tf.slice(out, [0, 2], [batch, 2]), -20, 2);
        const z = tf.div(tf.sub(x, mu), tf.exp(logStd));
        const y = tf.tanh(x);
        const per = tf.sub(tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), logStd), 0.5 * Math.log(2 * Math.PI)), tf.log(tf.add(tf.sub(1, tf.square(y)), 1e-6)));
        return tf.sum(per, 1);
      });
    expectClose(ours.logProb, logDensity(uT).dataSync(), 1e-4, 0.1);
    const g = tf.grad((x: tf.Tensor) => tf.sum(logDensity(x)))(uT);
    expectClose(ours.dU, g.dataSync());
    tf.dispose([uT, g]);
    old.dispose();
  });

  it("continuous Q: Q(s, a), its parameter gradient and dQ/da match tfjs autodiff", () => {
    const rng = new Rng(23);
    const batch = 29;
    const q = new ContinuousQ({ obsSize: 3, actSize: 2, hidden: [16, 16], rng, kernels });
    const obs = randomArray(rng, batch * 3);
    const actions = randomArray(rng, batch * 2);
    const dQ = randomArray(rng, batch);
    const x = () => tf.concat([tf.tensor2d(obs, [batch, 3]), tf.tensor2d(actions, [batch, 2])], 1);
    tf.tidy(() => {
      const fwd = q.forward(obs, actions, batch);
      expectClose(fwd.q, q.net.apply(x()).dataSync(), 1e-5, 0.1);
      compareGrads(q.backward(fwd, dQ), q.variables, () => tf.sum(tf.mul(q.net.apply(x()), tf.tensor2d(dQ, [batch, 1]))) as tf.Scalar);
      const dA = q.actionGradient(fwd, dQ);
      const aT = tf.tensor2d(actions, [batch, 2]);
      const ref = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(q.net.apply(tf.concat([tf.tensor2d(obs, [batch, 3]), a as tf.Tensor2D], 1)), tf.tensor2d(dQ, [batch, 1]))))(aT);
      expectClose(dA, ref.dataSync());
    });
    q.dispose();
  });

  it("deterministic actor: μ(s) = scale·tanh(·) + bias, its backward, and clipped exploration", () => {
    const rng = new Rng(24);
    const batch = 25;
    const actor = new DeterministicActor({ obsSize: 3, low: [-2, 0], high: [2, 1], hidden: [16], rng, kernels });
    const obs = randomArray(rng, batch * 3, 2);
    const dA = randomArray(rng, batch * 2);
    const muTf = () => tf.add(tf.mul(tf.tanh(actor.net.apply(tf.tensor2d(obs, [batch, 3]))), tf.tensor1d([2, 0.5])), tf.tensor1d([0, 0.5]));
    tf.tidy(() => {
      const fwd = actor.forward(obs, batch);
      expectClose(fwd.actions, muTf().dataSync(), 1e-5, 0.1);
      compareGrads(actor.backward(fwd, dA), actor.variables, () => tf.sum(tf.mul(muTf(), tf.tensor2d(dA, [batch, 2]))) as tf.Scalar);
    });
    const out = new Float32Array(batch * 2);
    actor.act(obs, batch, null, 0, out);
    tf.tidy(() => expectClose(out, muTf().dataSync(), 1e-5, 0.1));
    actor.act(obs, batch, new Rng(1), 5, out); // huge noise: every action must still be clipped into the box
    for (let k = 0; k < out.length; k++) {
      expect(out[k]).toBeGreaterThanOrEqual([-2, 0][k % 2]);
      expect(out[k]).toBeLessThanOrEqual([2, 1][k % 2]);
    }
    expect(new Set(out).size).toBeGreaterThan(3);
    actor.dispose();
  });
});
