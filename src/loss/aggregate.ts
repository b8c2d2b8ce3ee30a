import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import { assertNonEmpty, assertRank, assertSameShape } from "./checks.js";

/** How per-token losses of a batch of sequences become one scalar (docs/methods.md §2). */
export type AggregationMode = "grpo" | "bnpo" | "dr_grpo";
export const AGGREGATION_MODES: readonly AggregationMode[] = ["grpo", "bnpo", "dr_grpo"];

/**
 * Masked loss aggregation over `[B, T]` per-token losses with a `[B, T]` 0/1 mask
 * (docs/methods.md §2 table; the three `loss_type` branches of TRL's GRPOTrainer):
 *
 *   grpo     (1/B)·Σ_i [ Σ_t m·ℓ / max(Σ_t m, 1) ]   mean over sequences of token means
 *   bnpo     Σ_{i,t} m·ℓ / max(Σ_{i,t} m, 1)          token mean over the whole batch
 *   dr_grpo  Σ_{i,t} m·ℓ / (B·L_max)                  L_max = `maxLen`, default T
 *
 * Sequences whose mask is all zero (e.g. a completion truncated to nothing): as in TRL,
 * the `max(·, 1)` guard makes them contribute 0 while they still count in B for `grpo`
 * (and `dr_grpo`). We keep that rather than excluding them so the loss scale depends
 * only on the batch size, not on how many sequences happened to be empty, and so the
 * numbers match TRL's. An all-zero mask gives a loss of 0 (no gradient), never NaN.
 *
 * Masked positions are zeroed by multiplication, so they must hold finite values
 * (0·NaN is NaN). `maxLen` is used only by `dr_grpo`; it is the configured maximum
 * completion length, a constant, and must be ≥ T because sequences are never longer.
 */
export function aggregate(
  losses: tf.Tensor2D,
  mask: tf.Tensor2D,
  mode: AggregationMode,
  maxLen?: number,
): tf.Scalar {
  assertRank("aggregate", "losses", losses, 2);
  assertSameShape("aggregate", { losses, mask });
  assertNonEmpty("aggregate", "losses", losses);
  const [batch, steps] = losses.shape;
  const weights = mask.dtype === losses.dtype ? mask : tf.cast(mask, losses.dtype);
  const masked = tf.mul(losses, weights);
  switch (mode) {
    case "grpo": {
      const perSequence = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(weights, 1), 1));
      return tf.mean(perSequence);
    }
    case "bnpo":
      return tf.div(tf.sum(masked), tf.maximum(tf.sum(weights), 1));
    case "dr_grpo":
      return tf.div(tf.sum(masked), batch * drGrpoMaxLen(maxLen, steps));
    default:
      throw new ConfigError(
        `aggregate: unknown aggregation mode ${describeValue(mode)}`,
        `use one of: ${AGGREGATION_MODES.join(", ")}`,
        "unknown_aggregation",
      );
  }
}

function drGrpoMaxLen(maxLen: number | undefined, steps: number): number {
  if (maxLen === undefined) return steps;
  if (!Number.isFinite(maxLen) || maxLen < steps) {
    throw new ConfigError(
      `aggregate: dr_grpo maxLen must be a number ≥ the padded length T = ${steps}, got ${describeValue(maxLen)}`,
      "set maxLen to the maximum completion length (the constant L_max), or leave it undefined to use T",
    );
  }
  return maxLen;
}
