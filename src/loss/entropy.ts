import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import { assertNonEmpty, assertRank } from "./checks.js";

/**
 * Entropy bonus as a loss term to minimise (docs/methods.md §1: L = L_pg − c_ent·mean(H) + …):
 *
 *   entropyBonus(H, c) = −c·mean(H)
 *
 * `entropy` holds one entropy per sample (summed over action dimensions for continuous
 * actions). For per-token entropies of sequences, aggregate them with `aggregate` and
 * scale the result instead. Any finite `coef` is accepted: a negative one minimises
 * entropy, which some methods do on purpose.
 */
export function entropyBonus(entropy: tf.Tensor1D, coef: number): tf.Scalar {
  assertRank("entropyBonus", "entropy", entropy, 1);
  assertNonEmpty("entropyBonus", "entropy", entropy);
  if (!Number.isFinite(coef)) {
    throw new ConfigError(`entropyBonus: coef must be a finite number, got ${describeValue(coef)}`, "set the entropy coefficient (e.g. ent_coef 0.01)");
  }
  return tf.mul(tf.mean(entropy), -coef) as tf.Scalar;
}
