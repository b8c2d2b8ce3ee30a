import * as tf from "#tfjs-core";
import { ConfigError } from "../core/errors.js";
import { assertNonEmpty, assertNonNegative, assertRank, assertSameLength, assertSameShape } from "./checks.js";

/**
 * Critic loss (docs/methods.md §1, CleanRL `ppo.py`):
 *
 *   with clipping:  0.5·mean( max( (V − R)², (V_old + clip(V − V_old, −c, c) − R)² ) )
 *   otherwise:      0.5·mean( (V − R)² )
 *
 * `c` is in value units (CleanRL reuses the ratio clip ε for it). Clipping is on exactly
 * when `clipCoef` is given; passing `oldValues` alone is allowed (callers can always
 * pass the rollout's values and switch clipping with `clipCoef`), but a `clipCoef`
 * without `oldValues` is an error because there is nothing to clip around.
 * Taking the max makes the clipped loss a pessimistic bound: the critic is never
 * rewarded for moving further than c from its old prediction.
 */
export function valueLoss(
  values: tf.Tensor1D,
  returns: tf.Tensor1D,
  oldValues?: tf.Tensor1D,
  clipCoef?: number,
): tf.Scalar {
  assertRank("valueLoss", "values", values, 1);
  assertSameShape("valueLoss", { values, returns, ...(oldValues ? { oldValues } : {}) });
  assertNonEmpty("valueLoss", "values", values);
  const unclipped = tf.squaredDifference(values, returns);
  if (clipCoef === undefined) return tf.mul(tf.mean(unclipped), 0.5) as tf.Scalar;

  assertNonNegative("valueLoss", "clipCoef", clipCoef);
  if (oldValues === undefined) {
    throw new ConfigError(
      "valueLoss: clipCoef was given without oldValues, so there is no old prediction to clip around",
      "pass the values stored at rollout time as oldValues, or leave clipCoef undefined to disable value clipping",
    );
  }
  const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipCoef, clipCoef));
  const clipped = tf.squaredDifference(clippedValues, returns);
  return tf.mul(tf.mean(tf.maximum(unclipped, clipped)), 0.5) as tf.Scalar;
}

/**
 * Typed-array twin of `valueLoss`, for losses whose gradient is written by hand (PPO's
 * lean update): returns the same scalar and writes dL/dV_i into `gradOut`, with tfjs's
 * gradient conventions (a tie in the max goes to the unclipped term; the clipped term
 * passes its gradient only where |V − V_old| ≤ c). Computed in float64.
 */
export function valueLossArrays(
  values: Float32Array,
  returns: Float32Array,
  oldValues: Float32Array | undefined,
  clipCoef: number | undefined,
  gradOut: Float32Array,
): number {
  assertSameLength("valueLossArrays", { values, returns, gradOut, ...(oldValues ? { oldValues } : {}) });
  const n = values.length;
  let sum = 0;
  if (clipCoef === undefined) {
    for (let i = 0; i < n; i++) {
      const d = values[i] - returns[i];
      sum += d * d;
      gradOut[i] = d / n; // d/dV of 0.5·mean((V − R)²)
    }
    return (0.5 * sum) / n;
  }
  assertNonNegative("valueLossArrays", "clipCoef", clipCoef);
  if (oldValues === undefined) {
    throw new ConfigError(
      "valueLossArrays: clipCoef was given without oldValues, so there is no old prediction to clip around",
      "pass the values stored at rollout time as oldValues, or leave clipCoef undefined to disable value clipping",
    );
  }
  for (let i = 0; i < n; i++) {
    const delta = values[i] - oldValues[i];
    const unclipped = values[i] - returns[i];
    const clipped = oldValues[i] + Math.min(Math.max(delta, -clipCoef), clipCoef) - returns[i];
    if (unclipped * unclipped >= clipped * clipped) {
      sum += unclipped * unclipped;
      gradOut[i] = unclipped / n;
    } else {
      sum += clipped * clipped;
      gradOut[i] = delta >= -clipCoef && delta <= clipCoef ? clipped / n : 0;
    }
  }
  return (0.5 * sum) / n;
}
