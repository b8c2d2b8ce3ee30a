/**
 * GRPO — Group Relative Policy Optimization (DeepSeekMath, Shao et al. 2024), with the Dr. GRPO
 * variant (Liu et al. 2025) one option away; docs/methods.md §2. For control tasks:
 *
 *   GroupCollector: B start states (env snapshots) × G complete episodes
 *   outcome reward r_i = episode return   →  A_i = (r_i − mean_g r) / (std_g r + eps)   (scale std)
 *                                          or  A_i =  r_i − mean_g r                    (scale none: Dr. GRPO)
 *   every step t of episode i gets A_i       (rewardMode per-step: group-normalised returns-to-go instead)
 *   ℓ_t = −min(ρ_t·A, clip(ρ_t, 1−ε_low, 1+ε_high)·A) + β·KL_t(π_θ‖π_ref)
 *   L   = aggregate(ℓ over episodes as sequences; grpo | bnpo | dr_grpo), μ epochs of episode minibatches
 *
 * π_ref is the initial policy, reset to the current one every refUpdateEvery iterations.
 * Defaults: the published ones where they carry over to control (ε = 0.2 symmetric, k3, TRL's
 * unbiased std with eps 1e-4, `grpo` aggregation); the rest are tuned on CartPole-v1 (one start
 * state × G = 8 episodes per iteration, Adam 1e-3, 4 epochs of 2 minibatches) — the paper's
 * (lr 1e-6, G = 64) are for language models.
 * β defaults to 0: TRL's current default and Dr. GRPO's recipe (DeepSeekMath used 0.04, the
 * `deepseekmath` preset).
 */
import { z } from "zod";
import { groupRelativeAdvantage } from "../advantage/group.js";
import { broadcastEpisodeValue, discountedReturnsToGo } from "../advantage/returns.js";
import type { AggregationMode } from "../loss/aggregate.js";
import type { GroupBatch } from "../rollout/group_collector.js";
import { COMMON_GROUP_DEFAULTS, aggregationShape, clipKlShape, groupOptimShape, groupRolloutShape, networkShape, groupRunShape, selectionShape } from "./group_config.js";
import { checkGroupConfig, GroupPolicyOptimizer, type EpoSettings, type GroupRecipe } from "./group_engine.js";
import type { AlgorithmPreset } from "./types.js";

export const grpoShape = {
  ...groupRolloutShape,
  groupSize: z.number().int().min(2).describe("G: complete episodes run from each start state (≥ 2: the baseline is the group mean)"),
  ...groupOptimShape,
  ...clipKlShape,
  ...aggregationShape,
  rewardMode: z
    .enum(["outcome", "per-step"])
    .describe("outcome: every step gets its episode's group-normalised return; per-step: group-normalised discounted returns-to-go"),
  gamma: z.number().min(0).max(1).describe("discount of the returns-to-go in rewardMode per-step (outcome returns are undiscounted)"),
  advantageScale: z.enum(["std", "none"]).describe("std: divide by the group's std (GRPO); none: only subtract the group mean (Dr. GRPO)"),
  advantageStd: z.enum(["unbiased", "population"]).describe("which std scales advantages: unbiased (n − 1, TRL) or population (n)"),
  advantageEps: z.number().min(0).describe("added to the group std before dividing (TRL 1e-4, the default; verl 1e-6: --preset verl)"),
  advantageSingleton: z
    .enum(["zero", "raw"])
    .describe("advantage of a group left with one episode (only D³S with recomputeAdvantages and minGroupKeep 1 makes one): zero, or raw — verl's mean 0, std 1, so the reward itself"),
  ...selectionShape,
  ...networkShape,
  ...groupRunShape,
};

export const grpoConfigSchema = z.object(grpoShape).strict();
export type GRPOConfig = z.infer<typeof grpoConfigSchema>;

export const GRPO_DEFAULTS: GRPOConfig = {
  ...COMMON_GROUP_DEFAULTS,
  totalTimesteps: 100_000,
  numStarts: 1,
  groupSize: 8,
  learningRate: 1e-3,
  annealLr: false,
  updateEpochs: 4,
  numMinibatches: 2,
  clipLow: 0.2,
  clipHigh: 0.2,
  beta: 0,
  klEstimator: "k3",
  refUpdateEvery: 0,
  lossAggregation: "grpo",
  entCoef: 0,
  rewardMode: "outcome",
  gamma: 0.99,
  advantageScale: "std",
  advantageStd: "unbiased",
  advantageEps: 1e-4,
  advantageSingleton: "zero",
};

export const GRPO_PRESETS: AlgorithmPreset[] = [
  {
    name: "dr-grpo",
    description: "Dr. GRPO: no std division, dr_grpo aggregation (constant normaliser), β = 0",
    forEnv: () => ({ advantageScale: "none", lossAggregation: "dr_grpo", beta: 0 }),
  },
  {
    name: "verl",
    description: "verl's group normalisation: unbiased std with eps 1e-6 (TRL's, the default, uses 1e-4)",
    forEnv: () => ({ advantageStd: "unbiased", advantageEps: 1e-6 }),
  },
  {
    name: "deepseekmath",
    description: "DeepSeekMath's loss: KL to the initial policy with β = 0.04 (k3), sequence-mean aggregation",
    forEnv: () => ({ beta: 0.04, klEstimator: "k3", lossAggregation: "grpo" }),
  },
];

/** GRPO's per-step advantages for a batch (§2), outcome or per-step rewards. */
export function grpoAdvantages(batch: GroupBatch, c: Pick<GRPOConfig, "rewardMode" | "gamma" | "advantageScale" | "advantageStd" | "advantageEps" | "advantageSingleton">): Float32Array {
  const options = { scale: c.advantageScale, std: c.advantageStd, eps: c.advantageEps, singleton: c.advantageSingleton };
  if (c.rewardMode === "outcome") {
    return broadcastEpisodeValue(groupRelativeAdvantage(batch.episodeReturn, batch.episodeGroup, options), batch.episodeIndex);
  }
  return groupRelativeAdvantage(discountedReturnsToGo(batch.rewards, batch, c.gamma), batch.groupIndex, options);
}

/** The GRPO recipe; `epo` adds EPO's entropy regularisation on top (epo.ts). */
export function grpoRecipe(c: GRPOConfig, name = "grpo", epo: EpoSettings | null = null): GroupRecipe {
  return {
    name,
    config: c,
    advantages: (batch) => ({ advantages: grpoAdvantages(batch, c) }),
    objective: "clip",
    clipLow: c.clipLow,
    clipHigh: c.clipHigh,
    updateEpochs: c.updateEpochs,
    numMinibatches: c.numMinibatches,
    lossAggregation: c.lossAggregation as AggregationMode,
    entCoef: c.entCoef,
    kl: c.beta > 0 ? { beta: c.beta, estimator: c.klEstimator, refUpdateEvery: c.refUpdateEvery } : null,
    epo,
    critic: null,
  };
}

export function validateGrpo(c: GRPOConfig): void {
  checkGroupConfig("grpo", c, c.numMinibatches);
}

export function createGrpo(c: GRPOConfig): Promise<GroupPolicyOptimizer> {
  validateGrpo(c);
  return GroupPolicyOptimizer.create(grpoRecipe(c));
}
