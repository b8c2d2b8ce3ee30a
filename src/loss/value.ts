import * as tf from "@tensorflow/tfjs-core";
import { ConfigError } from "../core/errors.js";
import { assertNonEmpty, assertNonNegative, assertRank, assertSameShape } from "./checks.js";

/**
 * Critic loss (ALGORITHMS.md §1, CleanRL `ppo.py`):
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
