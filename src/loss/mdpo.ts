import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";
import { assertNonEmpty, assertRank, assertSameShape } from "./checks.js";

/*
 * MDPO, on-policy variant (docs/methods.md §4; VERIFIED against
 * manantomar/Mirror-Descent-Policy-Optimization `mdpo_on/mdpo.py`). Each iteration k takes
 * several full-batch SGD steps on
 *
 *   L_k(θ) = mean[ ρ_θ·Â ] − (1/t_k)·mean[ KL(π_θ(·|s) ‖ π_θk(·|s)) ]      (maximised)
 *
 * with π_θk frozen during the steps. As a loss to minimise: −mean(ρÂ) + (1/t_k)·mean(KL).
 */

/**
 * Where t_k's linear decay starts (docs/methods.md, MDPO):
 * - `"authors"`: the authors' code, one iteration earlier: t_k = 1 − (k − 2)/K_total, so the
 *   first iteration has t = 1 + 1/K_total and the last (k = K_total) t = 2/K_total, a final
 *   KL weight of about K_total/2.
 * - `"paper"`: t_k = 1 − (k − 1)/K_total: t = 1 at the first iteration, 1/K_total at the last.
 */
export type MdpoStepSchedule = "authors" | "paper";

/**
 * MDPO's annealed step size (§4a) for iteration k = 1, 2, … (1-based) and K_total =
 * total_timesteps / timesteps_per_batch (need not be an integer): t_k falls linearly over
 * training, so the KL weight 1/t_k grows and the trust region tightens. `schedule` picks where
 * the decay starts (see MdpoStepSchedule; default "paper" here, the algorithm's config defaults
 * to "authors"). A k with t_k ≤ 0 is an error.
 */
export function mdpoStepSize(k: number, kTotal: number, schedule: MdpoStepSchedule = "paper"): number {
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new ConfigError(`mdpoStepSize: iteration k must be an integer ≥ 1 (1-based), got ${describeValue(k)}`, "pass the 1-based iteration number");
  }
  if (!Number.isFinite(kTotal) || kTotal <= 0) {
    throw new ConfigError(`mdpoStepSize: kTotal must be a positive number, got ${describeValue(kTotal)}`, "pass total_timesteps / timesteps_per_batch");
  }
  const t = 1 - (k - (schedule === "authors" ? 2 : 1)) / kTotal;
  if (t <= 0) {
    throw new ConfigError(
      `mdpoStepSize: iteration ${k} is past kTotal = ${kTotal}, so t_k = ${t} ≤ 0 and the KL weight 1/t_k is undefined`,
      "stop training at kTotal iterations, or raise kTotal",
    );
  }
  return t;
}

/**
 * Closed-form KL(π_θ ‖ π_θk) of diagonal Gaussians per row (§4: KL(new ‖ old), the direction
 * the MDPO code uses), summed over action dimensions:
 *
 *   KL = Σ_d [ logσ2 − logσ1 + (σ1² + (μ1 − μ2)²) / (2·σ2²) − ½ ]
 *
 * with (μ1, σ1) the current policy and (μ2, σ2) the frozen old one. Means are `[B, D]`; each
 * log-std is `[B, D]` or `[D]` (a state-independent log-std, shared by every row). Returns
 * `[B]`. Zero, with zero gradient, when the two are equal. Pass the old policy's outputs as
 * data (no gradient flows into them if they come from a frozen copy).
 */
export function gaussianKl(mean: tf.Tensor2D, logStd: tf.Tensor, oldMean: tf.Tensor2D, oldLogStd: tf.Tensor): tf.Tensor1D {
  assertRank("gaussianKl", "mean", mean, 2);
  assertSameShape("gaussianKl", { mean, oldMean });
  assertLogStdShape("logStd", logStd, mean.shape);
  assertLogStdShape("oldLogStd", oldLogStd, mean.shape);
  const variance = tf.exp(tf.mul(logStd, 2));
  const oldVariance = tf.exp(tf.mul(oldLogStd, 2));
  const spread = tf.add(variance, tf.squaredDifference(mean, oldMean)); // σ1² + (μ1 − μ2)², [B, D]
  const perDim = tf.sub(tf.add(tf.sub(oldLogStd, logStd), tf.div(spread, tf.mul(oldVariance, 2))), 0.5);
  return tf.sum(perDim, 1);
}

/**
 * KL(π_θ ‖ π_θk) of categorical policies per row, from logits `[B, A]`:
 *
 *   KL = Σ_a p_a·(log p_a − log q_a),   p = softmax(logits), q = softmax(oldLogits)
 *
 * computed from log-softmax so it stays finite for near-zero probabilities. Returns `[B]`.
 */
export function categoricalKl(logits: tf.Tensor2D, oldLogits: tf.Tensor2D): tf.Tensor1D {
  assertRank("categoricalKl", "logits", logits, 2);
  assertSameShape("categoricalKl", { logits, oldLogits });
  const logP = tf.logSoftmax(logits);
  const logQ = tf.logSoftmax(oldLogits);
  return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1);
}

/**
 * The importance-weighted advantage ρ·Â per sample, ρ = exp(logπ_θ − logπ_θk) (§4) — the
 * first argument of `mdpoLoss`. No clipping: MDPO's KL term replaces PPO's clip.
 */
export function mdpoRatioAdvantage(logProb: tf.Tensor1D, oldLogProb: tf.Tensor1D, adv: tf.Tensor1D): tf.Tensor1D {
  assertRank("mdpoRatioAdvantage", "logProb", logProb, 1);
  assertSameShape("mdpoRatioAdvantage", { logProb, oldLogProb, adv });
  return tf.mul(tf.exp(tf.sub(logProb, oldLogProb)), adv);
}

/**
 * MDPO's on-policy loss (§4), to minimise:
 *
 *   L = −mean(ρ·Â) + (1/t_k)·mean(KL(π_θ ‖ π_θk))
 *
 * `ratioAdv` is ρ·Â per sample (`mdpoRatioAdvantage`), `kl` the per-state KL (`gaussianKl`
 * or `categoricalKl`), `tk` the step size (`mdpoStepSize`). At θ = θk both the KL term and
 * its gradient vanish, so the first inner step is a plain policy-gradient step.
 */
export function mdpoLoss(ratioAdv: tf.Tensor1D, kl: tf.Tensor1D, tk: number): tf.Scalar {
  assertRank("mdpoLoss", "ratioAdv", ratioAdv, 1);
  assertRank("mdpoLoss", "kl", kl, 1);
  assertNonEmpty("mdpoLoss", "ratioAdv", ratioAdv);
  assertNonEmpty("mdpoLoss", "kl", kl);
  if (!Number.isFinite(tk) || tk <= 0) {
    throw new ConfigError(`mdpoLoss: step size t_k must be a positive number, got ${describeValue(tk)}`, "pass mdpoStepSize(k, kTotal)");
  }
  return tf.add(tf.neg(tf.mean(ratioAdv)), tf.mul(tf.mean(kl), 1 / tk)) as tf.Scalar;
}

function assertLogStdShape(name: string, logStd: tf.Tensor, meanShape: readonly number[]): void {
  const [rows, dims] = meanShape;
  const ok = (logStd.rank === 1 && logStd.shape[0] === dims) || (logStd.rank === 2 && logStd.shape[0] === rows && logStd.shape[1] === dims);
  if (!ok) {
    throw new RefineryError(
      "shape_mismatch",
      `gaussianKl: ${name} has shape [${logStd.shape.join(", ")}] but the means have shape [${meanShape.join(", ")}]`,
      `pass a log-std of shape [${rows}, ${dims}] or [${dims}] (state-independent)`,
    );
  }
}
