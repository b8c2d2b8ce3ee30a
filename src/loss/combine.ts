import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";

/** One scalar loss term and its coefficient in the total loss. */
export interface WeightedTerm {
  loss: tf.Scalar;
  weight: number;
}

/**
 * Total loss Σ_k w_k·L_k, the last step of every algorithm's loss (docs/methods.md §1:
 * L = L_pg − c_ent·mean(H) + c_v·L_v is `[{loss: pg, weight: 1}, {loss: entropyBonus(H, c_ent),
 * weight: 1}, {loss: v, weight: c_v}]`). A weight of 1 costs no multiply; a term with
 * weight 0 is still added (×0) so the set of variables reached by the gradient does not
 * change with the config. With a single term of weight 1 the result is that term's own
 * tensor, not a copy.
 */
export function weightedSum(terms: readonly WeightedTerm[]): tf.Scalar {
  if (terms.length === 0) {
    throw new ConfigError("weightedSum: no loss terms were given", "pass at least one {loss, weight} term");
  }
  const scaled = terms.map(({ loss, weight }, k) => {
    if (!Number.isFinite(weight)) {
      throw new ConfigError(`weightedSum: term ${k} has weight ${describeValue(weight)}`, "give every term a finite weight");
    }
    if (loss.rank !== 0) {
      throw new RefineryError(
        "shape_mismatch",
        `weightedSum: term ${k} has shape [${loss.shape.join(", ")}] but a scalar is required`,
        "reduce the term to a scalar first (tf.mean, aggregate)",
      );
    }
    return weight === 1 ? loss : (tf.mul(loss, weight) as tf.Scalar);
  });
  return scaled.length === 1 ? scaled[0] : tf.addN(scaled);
}
