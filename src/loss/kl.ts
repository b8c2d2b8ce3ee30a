import * as tf from "#tfjs-core";
import { assertNonEmpty, assertNonNegative, assertRank, assertSameLength, assertSameShape } from "./checks.js";

/*
 * Sample-based KL estimators (Schulman, "Approximating KL Divergence", 2020) on log-probs
 * of actions/tokens sampled from π_θ. Per-element functions return one value per sample;
 * reduce them with `tf.mean` or `aggregate`. `exp(x) − 1` is computed as `expm1(x)` so the
 * small values near π_θ ≈ π_ref are not lost to float32 cancellation.
 */

/** k1 = logπ_θ − logπ_ref per element: unbiased for KL(π_θ‖π_ref) but can be negative. */
export function klK1(logProb: tf.Tensor1D, refLogProb: tf.Tensor1D): tf.Tensor1D {
  assertRank("klK1", "logProb", logProb, 1);
  assertSameShape("klK1", { logProb, refLogProb });
  return tf.sub(logProb, refLogProb);
}

/**
 * k3 = exp(x) − x − 1 with x = logπ_ref − logπ_θ, per element (docs/methods.md §0; the
 * per-token KL penalty of GRPO, §2): ≥ 0 and unbiased for KL(π_θ‖π_ref) when a ~ π_θ.
 */
export function klK3(logProb: tf.Tensor1D, refLogProb: tf.Tensor1D): tf.Tensor1D {
  assertRank("klK3", "logProb", logProb, 1);
  assertSameShape("klK3", { logProb, refLogProb });
  const x = tf.sub(refLogProb, logProb);
  return tf.sub(tf.expm1(x), x);
}

/**
 * CleanRL's approx-KL diagnostic (docs/methods.md §0): mean((ρ − 1) − log ρ) with
 * ρ = exp(logπ_θ − logπ_old) — the k3 form of KL(π_old‖π_θ) on the batch sampled from
 * π_old. Used for logging and `target_kl` early stopping, not as a loss.
 */
export function approxKl(logProb: tf.Tensor1D, oldLogProb: tf.Tensor1D): tf.Scalar {
  assertRank("approxKl", "logProb", logProb, 1);
  assertSameShape("approxKl", { logProb, oldLogProb });
  assertNonEmpty("approxKl", "logProb", logProb);
  const logRatio = tf.sub(logProb, oldLogProb);
  return tf.mean(tf.sub(tf.expm1(logRatio), logRatio));
}

/**
 * Fraction of elements whose ratio lies outside the clip range (docs/methods.md §1,
 * CleanRL's `clipfracs`: mean(|ρ − 1| > ε)). With asymmetric clipping (§2) it is the
 * fraction with ρ < 1 − clipLow or ρ > 1 + clipHigh; the comparisons are strict, as in
 * CleanRL, so a ratio exactly on the boundary counts as inside.
 */
export function clipFraction(
  logProb: tf.Tensor1D,
  oldLogProb: tf.Tensor1D,
  clipLow: number,
  clipHigh = clipLow,
): tf.Scalar {
  assertRank("clipFraction", "logProb", logProb, 1);
  assertSameShape("clipFraction", { logProb, oldLogProb });
  assertNonEmpty("clipFraction", "logProb", logProb);
  assertNonNegative("clipFraction", "clipLow", clipLow);
  assertNonNegative("clipFraction", "clipHigh", clipHigh);
  const deviation = tf.expm1(tf.sub(logProb, oldLogProb)); // ρ − 1
  const outside = tf.logicalOr(tf.less(deviation, -clipLow), tf.greater(deviation, clipHigh));
  return tf.mean(tf.cast(outside, "float32"));
}

/** Typed-array twin of `approxKl` (float64 sums), for a loss computed outside tfjs. */
export function approxKlArrays(logProb: Float32Array, oldLogProb: Float32Array): number {
  assertSameLength("approxKlArrays", { logProb, oldLogProb });
  let sum = 0;
  for (let i = 0; i < logProb.length; i++) {
    const logRatio = logProb[i] - oldLogProb[i];
    sum += Math.expm1(logRatio) - logRatio;
  }
  return sum / logProb.length;
}

/** Typed-array twin of `clipFraction`. */
export function clipFractionArrays(logProb: Float32Array, oldLogProb: Float32Array, clipLow: number, clipHigh = clipLow): number {
  assertSameLength("clipFractionArrays", { logProb, oldLogProb });
  assertNonNegative("clipFractionArrays", "clipLow", clipLow);
  assertNonNegative("clipFractionArrays", "clipHigh", clipHigh);
  let outside = 0;
  for (let i = 0; i < logProb.length; i++) {
    const deviation = Math.expm1(logProb[i] - oldLogProb[i]); // ρ − 1
    if (deviation < -clipLow || deviation > clipHigh) outside++;
  }
  return outside / logProb.length;
}
