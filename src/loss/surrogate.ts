import * as tf from "#tfjs-core";
import { assertNonNegative, assertRank, assertSameLength, assertSameShape } from "./checks.js";

/**
 * PPO's clipped surrogate, per sample (or token), as a loss to minimise
 * (docs/methods.md §0 and §1; asymmetric ε_low/ε_high as in §2):
 *
 *   ρ = exp(logπ_θ − logπ_old)
 *   ℓ = max(−A·ρ, −A·clip(ρ, 1 − clipLow, 1 + clipHigh))  =  −min(ρ·A, clip(ρ)·A)
 *
 * Written with `max` of the negated terms, as CleanRL does, so the gradient is exactly
 * PPO's: zero where the clipped branch is the larger loss (ρ outside the range in the
 * direction A pushes), −A·ρ·∇logπ elsewhere. tfjs's `maximum` sends a tie's gradient to
 * its first argument, the unclipped term, which is the right branch at a tie.
 *
 * `oldLogProb` and `adv` are data: pass tensors made from the rollout, not values
 * computed from trainable variables, or gradients will flow into them too.
 * Returns one loss per element; reduce it with `tf.mean` or `aggregate`.
 */
export function clippedSurrogate(
  logProb: tf.Tensor1D,
  oldLogProb: tf.Tensor1D,
  adv: tf.Tensor1D,
  clipLow: number,
  clipHigh = clipLow,
): tf.Tensor1D {
  assertRank("clippedSurrogate", "logProb", logProb, 1);
  assertSameShape("clippedSurrogate", { logProb, oldLogProb, adv });
  assertNonNegative("clippedSurrogate", "clipLow", clipLow);
  assertNonNegative("clippedSurrogate", "clipHigh", clipHigh);
  const ratio = tf.exp(tf.sub(logProb, oldLogProb));
  const clipped = tf.clipByValue(ratio, 1 - clipLow, 1 + clipHigh);
  const unclippedLoss = tf.neg(tf.mul(adv, ratio));
  const clippedLoss = tf.neg(tf.mul(adv, clipped));
  return tf.maximum(unclippedLoss, clippedLoss);
}

/**
 * Typed-array twin of `clippedSurrogate`, for losses whose gradient is written by hand
 * (PPO's lean update): writes each element's loss ℓ_i and its derivative dℓ_i/dlogπ_θ,i,
 * with tfjs's gradient conventions, so both paths give the same gradient: a tie in the max
 * goes to the unclipped term (−A·ρ·∇logπ), and the clipped term passes its gradient only
 * where ρ lies in the closed range [1 − clipLow, 1 + clipHigh]. Computed in float64.
 */
export function clippedSurrogateArrays(
  logProb: Float32Array,
  oldLogProb: Float32Array,
  adv: Float32Array,
  clipLow: number,
  clipHigh: number,
  lossOut: Float32Array,
  gradOut: Float32Array,
): void {
  assertSameLength("clippedSurrogateArrays", { logProb, oldLogProb, adv, lossOut, gradOut });
  assertNonNegative("clippedSurrogateArrays", "clipLow", clipLow);
  assertNonNegative("clippedSurrogateArrays", "clipHigh", clipHigh);
  const low = 1 - clipLow;
  const high = 1 + clipHigh;
  for (let i = 0; i < logProb.length; i++) {
    const ratio = Math.exp(logProb[i] - oldLogProb[i]);
    const a = adv[i];
    const unclippedLoss = -a * ratio;
    const clippedLoss = -a * Math.min(Math.max(ratio, low), high);
    if (unclippedLoss >= clippedLoss) {
      lossOut[i] = unclippedLoss;
      gradOut[i] = unclippedLoss; // d(−A·ρ)/dlogπ = −A·ρ
    } else {
      lossOut[i] = clippedLoss;
      gradOut[i] = ratio >= low && ratio <= high ? unclippedLoss : 0;
    }
  }
}

/**
 * The plain REINFORCE (vanilla policy-gradient) term per element: ℓ = −A·logπ_θ,
 * whose gradient is −A·∇logπ. Its value is meaningless on its own; only its gradient
 * matters. With ρ ≡ 1 (first step on fresh data) it has the same gradient as
 * `clippedSurrogate` (docs/methods.md §2, "μ=1 ⇒ ρ≡1").
 */
export function policyGradient(logProb: tf.Tensor1D, adv: tf.Tensor1D): tf.Tensor1D {
  assertRank("policyGradient", "logProb", logProb, 1);
  assertSameShape("policyGradient", { logProb, adv });
  return tf.neg(tf.mul<tf.Tensor1D>(adv, logProb));
}
