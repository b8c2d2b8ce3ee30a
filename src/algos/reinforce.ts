/**
 * REINFORCE (Williams 1992): Monte-Carlo policy gradient with discounted returns-to-go and an
 * optional learned baseline. Collector: the GroupCollector (B start states × G episodes, every
 * episode run to its end — REINFORCE needs complete returns); groups play no part in the
 * advantage, so G = 1 (the default) is plain REINFORCE over B episodes.
 *
 *   G_t = Σ_{k≥t} γ^(k−t)·r_k                 per episode (truncated ones bootstrapped from V with the value baseline)
 *   A_t = G_t                                 baseline none
 *   A_t = G_t − V(s_t)                        baseline value (V the actor-critic's critic)
 *   A ← (A − mean)/std over the batch          if normAdv
 *   ℓ_t = −A_t·logπ_θ(a_t|s_t),  L = aggregate(ℓ over episodes)   one full-batch step per iteration
 *   baseline value: then valueEpochs passes of 0.5·(V − G)² on the batch, with the critic's own Adam
 *
 * The default aggregation `dr_grpo` (Σ_t ℓ / (episodes · L_max)) is the textbook estimator
 * (1/B)·Σ_i Σ_t A·∇logπ up to the constant L_max. Defaults are tuned on CartPole-v1.
 */
import { z } from "zod";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { discountedReturnsToGo } from "../advantage/returns.js";
import type { AggregationMode } from "../loss/aggregate.js";
import type { GroupBatch } from "../rollout/group_collector.js";
import { COMMON_GROUP_DEFAULTS, aggregationShape, groupOptimShape, groupRolloutShape, networkShape, groupRunShape, selectionShape } from "./group_config.js";
import { checkGroupConfig, GroupPolicyOptimizer, type AdvantageContext, type GroupRecipe, type StepAdvantages } from "./group_engine.js";
import type { AlgorithmPreset } from "./types.js";

const { learningRate, annealLr, maxGradNorm } = groupOptimShape;

export const reinforceConfigSchema = z
  .object({
    ...groupRolloutShape,
    learningRate,
    annealLr,
    maxGradNorm,
    gamma: z.number().min(0).max(1).describe("discount factor γ of the returns-to-go"),
    baseline: z.enum(["none", "value"]).describe("none: A = G_t; value: A = G_t − V(s_t) with the critic fitted to the returns"),
    normAdv: z.boolean().describe("normalise the advantages over the batch (mean 0, unbiased std 1)"),
    valueLearningRate: z.number().positive().describe("Adam learning rate of the critic (baseline value)"),
    valueEpochs: z.number().int().positive().describe("passes of critic regression per iteration (baseline value)"),
    valueMinibatchSize: z.number().int().positive().describe("steps per critic minibatch (baseline value)"),
    ...aggregationShape,
    ...selectionShape,
    ...networkShape,
    ...groupRunShape,
  })
  .strict();

export type ReinforceConfig = z.infer<typeof reinforceConfigSchema>;

export const REINFORCE_DEFAULTS: ReinforceConfig = {
  ...COMMON_GROUP_DEFAULTS,
  totalTimesteps: 100_000,
  numStarts: 2,
  groupSize: 1,
  learningRate: 1e-3,
  annealLr: false,
  gamma: 0.99,
  baseline: "value",
  normAdv: true,
  valueLearningRate: 1e-3,
  valueEpochs: 10,
  valueMinibatchSize: 256,
  lossAggregation: "dr_grpo",
  entCoef: 0,
};

export const REINFORCE_PRESETS: AlgorithmPreset[] = [
  { name: "vanilla", description: "no baseline: normalised returns-to-go only", forEnv: () => ({ baseline: "none" }) },
];

/** REINFORCE's advantages (and the critic's targets with the value baseline). */
export function reinforceAdvantages(batch: GroupBatch, c: Pick<ReinforceConfig, "gamma" | "baseline" | "normAdv">, ctx: AdvantageContext): StepAdvantages {
  if (c.baseline === "none") {
    const returns = discountedReturnsToGo(batch.rewards, batch, c.gamma);
    return { advantages: c.normAdv ? normalizeAdvantages(returns) : returns };
  }
  const finalValues = ctx.values(batch.finalObs, batch.numEpisodes);
  const bootstrap = Float32Array.from(finalValues, (v, e) => (batch.truncated[e] ? v : 0));
  const returns = discountedReturnsToGo(batch.rewards, batch, c.gamma, { bootstrap });
  const values = batch.values as Float32Array;
  const advantages = Float32Array.from(returns, (g, t) => g - values[t]);
  return { advantages: c.normAdv ? normalizeAdvantages(advantages) : advantages, valueTargets: returns };
}

export function reinforceRecipe(c: ReinforceConfig): GroupRecipe {
  return {
    name: "reinforce",
    config: { ...c, updateEpochs: 1, numMinibatches: 1 },
    advantages: (batch, ctx) => reinforceAdvantages(batch, c, ctx),
    objective: "pg",
    // Only the clipFraction diagnostic reads these: REINFORCE takes one on-policy step.
    clipLow: 0.2,
    clipHigh: 0.2,
    updateEpochs: 1,
    numMinibatches: 1,
    lossAggregation: c.lossAggregation as AggregationMode,
    entCoef: c.entCoef,
    kl: null,
    epo: null,
    critic: c.baseline === "value" ? { learningRate: c.valueLearningRate, epochs: c.valueEpochs, minibatchSize: c.valueMinibatchSize } : null,
  };
}

export function validateReinforce(c: ReinforceConfig): void {
  checkGroupConfig("reinforce", { ...c, updateEpochs: 1, numMinibatches: 1 }, 1);
}

export function createReinforce(c: ReinforceConfig): Promise<GroupPolicyOptimizer> {
  validateReinforce(c);
  return GroupPolicyOptimizer.create(reinforceRecipe(c));
}
