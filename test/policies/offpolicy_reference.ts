/**
 * Reference formulations in tfjs ops (autodiff), written independently of the typed-array
 * code they check: the squashed Gaussian sample and log-density, and comparison helpers.
 */
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import type { Rng } from "../../src/core/rng.js";
import type { SquashedGaussianActor } from "../../src/policies/squashed_gaussian.js";

export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** |a − b| ≤ rel·max(|b|, floor·max|b|) (as test/nn/manual_gradients.test.ts). */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel = 2e-4, floor = 1e-2): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  expect(scale).toBeGreaterThan(0);
  for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * Math.max(Math.abs(b[i]), floor * scale));
}

/** The squashed Gaussian of `actor` in tfjs ops: a = scale·tanh(μ + σξ) + bias and log π(a|s). Call inside tf.tidy. */
export function tfSquashed(actor: SquashedGaussianActor, obs: Float32Array, batch: number, noise: Float32Array) {
  const A = actor.actSize;
  const out = actor.net.apply(tf.tensor2d(obs.subarray(0, batch * actor.obsSize), [batch, actor.obsSize]));
  const mean = tf.slice(out, [0, 0], [batch, A]);
  const raw = tf.slice(out, [0, A], [batch, A]);
  const lo = actor.logStdMin;
  const hi = actor.logStdMax;
  const logStd = actor.logStdBounds === "tanh" ? tf.add(lo, tf.mul(0.5 * (hi - lo), tf.add(tf.tanh(raw), 1))) : tf.clipByValue(raw, lo, hi);
  const std = tf.exp(logStd);
  const xi = tf.tensor2d(noise.subarray(0, batch * A), [batch, A]);
  const u = tf.add(mean, tf.mul(std, xi));
  const y = tf.tanh(u);
  const scale = tf.tensor1d(Float32Array.from(actor.scale));
  const actions = tf.add(tf.mul(y, scale), tf.tensor1d(Float32Array.from(actor.bias)));
  const corrScale = actor.scaleInCorrection ? scale : tf.onesLike(scale);
  // log N(u; μ, σ) written from u itself (not from ξ), so the reparameterised gradient is autodiff's own.
  const z = tf.div(tf.sub(u, mean), std);
  const logN = tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), logStd), 0.5 * Math.log(2 * Math.PI));
  const logProb = tf.sum(tf.sub(logN, tf.log(tf.add(tf.mul(corrScale, tf.sub(1, tf.square(y))), 1e-6))), 1);
  return { actions, logProb, mean, logStd, u };
}
