/**
 * RLOO — REINFORCE with the leave-one-out baseline (Kool et al. 2019; Ahmadian et al. 2024) —
 * and LOOP, its PPO-style form (Gupta et al. 2025); docs/methods.md §3. For control tasks:
 *
 *   GroupCollector: B start states × K = G complete episodes
 *   A_i = r_i − (1/(K−1))·Σ_{j≠i} r_j           r_i the episode return; every step of episode i gets A_i
 *   clip: true  (LOOP)  ℓ_t = −min(ρ_t·A, clip(ρ_t, 1−ε, 1+ε)·A), μ epochs of episode minibatches
 *   clip: false (RLOO)  ℓ_t = −A·logπ_θ(a_t|s_t), one full-batch step per iteration
 *   L = aggregate(ℓ over episodes as sequences)
 *
 * No std division (§3: extra normalisation is an option, `advantageNorm`, default off; it
 * normalises the episodes' advantages, one value per episode, so long episodes do not outweigh
 * short ones and no episode's sign flips). Aggregation defaults to `bnpo`, the mean over all
 * steps of the batch, as the reference loss has it.
 * ε = 0.2 is the paper family's token-policy value (UNVERIFIED). K, B, the learning rate
 * (annealed), epochs and budget are tuned on CartPole-v1: K = 8 from one start state per
 * iteration learnt more reliably there than the paper family's K = 4 (UNVERIFIED) with B = 2.
 */
import { z } from "zod";
import { leaveOneOutAdvantage } from "../advantage/group.js";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { broadcastEpisodeValue } from "../advantage/returns.js";
import { ConfigError } from "../core/errors.js";
import type { AggregationMode } from "../loss/aggregate.js";
import type { GroupBatch } from "../rollout/group_collector.js";
import { COMMON_GROUP_DEFAULTS, aggregationShape, clipKlShape, groupOptimShape, groupRolloutShape, networkShape, groupRunShape, selectionShape } from "./group_config.js";
import { checkGroupConfig, GroupPolicyOptimizer, type GroupRecipe } from "./group_engine.js";
import type { AlgorithmPreset } from "./types.js";

export const rlooConfigSchema = z
  .object({
    ...groupRolloutShape,
    groupSize: z.number().int().min(2).describe("K: complete episodes from each start state (≥ 2: the baseline leaves one out)"),
    ...groupOptimShape,
    updateEpochs: z.number().int().positive().describe("μ: passes over each batch (LOOP; plain RLOO takes one full-batch step)"),
    numMinibatches: z.number().int().positive().describe("minibatches per pass, of whole episodes (LOOP; plain RLOO uses one)"),
    clip: z.boolean().describe("true: LOOP (clipped ratio, several epochs); false: plain RLOO (policy gradient, one step)"),
    ...clipKlShape,
    ...aggregationShape,
    advantageNorm: z
      .enum(["none", "batch"])
      .describe("extra normalisation of the leave-one-out advantages: none (RLOO) or batch (mean 0, unbiased std 1 over the batch's episodes, one value each)"),
    ...selectionShape,
    ...networkShape,
    ...groupRunShape,
  })
  .strict();

export type RLOOConfig = z.infer<typeof rlooConfigSchema>;

export const RLOO_DEFAULTS: RLOOConfig = {
  ...COMMON_GROUP_DEFAULTS,
  totalTimesteps: 100_000,
  numStarts: 1,
  groupSize: 8,
  learningRate: 1e-3,
  annealLr: true,
  updateEpochs: 4,
  numMinibatches: 2,
  clip: true,
  clipLow: 0.2,
  clipHigh: 0.2,
  beta: 0,
  klEstimator: "k3",
  refUpdateEvery: 0,
  lossAggregation: "bnpo",
  entCoef: 0,
  advantageNorm: "none",
};

export const RLOO_PRESETS: AlgorithmPreset[] = [
  { name: "rloo", description: "plain RLOO: no ratio clipping, one policy-gradient step per batch", forEnv: () => ({ clip: false }) },
];

/**
 * Leave-one-out advantages of the episode returns, on every step (§3). `batch` normalisation
 * acts on the episodes' values before they are copied to the steps: normalising per step
 * would weigh an episode by its length and can flip the sign of a good but shorter one.
 */
export function rlooAdvantages(batch: Pick<GroupBatch, "episodeReturn" | "episodeGroup" | "episodeIndex">, norm: "none" | "batch"): Float32Array {
  const perEpisode = leaveOneOutAdvantage(batch.episodeReturn, batch.episodeGroup);
  return broadcastEpisodeValue(norm === "batch" ? normalizeAdvantages(perEpisode) : perEpisode, batch.episodeIndex);
}

export function rlooRecipe(c: RLOOConfig): GroupRecipe {
  return {
    name: "rloo",
    config: c,
    advantages: (batch) => ({ advantages: rlooAdvantages(batch, c.advantageNorm) }),
    objective: c.clip ? "clip" : "pg",
    clipLow: c.clipLow,
    clipHigh: c.clipHigh,
    // Plain RLOO is on-policy REINFORCE: a second step on the same batch would need the ratio.
    updateEpochs: c.clip ? c.updateEpochs : 1,
    numMinibatches: c.clip ? c.numMinibatches : 1,
    lossAggregation: c.lossAggregation as AggregationMode,
    entCoef: c.entCoef,
    kl: c.beta > 0 ? { beta: c.beta, estimator: c.klEstimator, refUpdateEvery: c.refUpdateEvery } : null,
    epo: null,
    critic: null,
  };
}

export function validateRloo(c: RLOOConfig): void {
  checkGroupConfig("rloo", c, c.clip ? c.numMinibatches : 1);
  if (c.selection === "d3s" && c.d3s.recomputeAdvantages && c.d3s.levels !== "step" && c.d3s.minGroupKeep < 2) {
    throw new ConfigError(
      `rloo with d3s.recomputeAdvantages recomputes leave-one-out advantages on the kept episodes, but d3s.minGroupKeep = ${c.d3s.minGroupKeep} may keep a single one`,
      "set d3s.minGroupKeep to 2 or more, or d3s.recomputeAdvantages to false",
    );
  }
}

export function createRloo(c: RLOOConfig): Promise<GroupPolicyOptimizer> {
  validateRloo(c);
  return GroupPolicyOptimizer.create(rlooRecipe(c));
}
