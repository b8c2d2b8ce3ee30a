/**
 * EPO — Entropy-regularized Policy Optimization (Xu et al. 2025; docs/methods.md §5), on top of
 * GRPO (grpo.ts) — the authors' base loss is any clipped policy loss; a PPO base is not offered:
 *
 *   L = L_GRPO − c_H·( H̄ − c_s·w(e)·P )
 *   H̄     token-mean entropy of the minibatch's steps
 *   P     entropy-smoothing penalty: per step, against Ĥ_j, the historical mean entropy of its turn j
 *   w(e)  the phase weight over training (epoPhaseWeight), if phaseWeights
 *
 * Control tasks have no turns; here **a turn is a bucket of time steps**: step t of an episode
 * (counted from its start state) is in turn j = ⌊t·J / maxSteps⌋, so the time limit spans the
 * J = `turns` turns (CartPole-v1, J = 50: ten steps a turn). Each iteration appends the mean
 * entropy per turn (before the update; a turn no episode reached repeats the last reached one)
 * to the history; P applies to a minibatch only if it holds a step of turn ≥ J/2, as in the
 * authors' code. Training progress (steps done / totalTimesteps) is mapped onto EPO's epochs:
 * e = 100·progress of E = 100.
 *
 * Defaults: EPO's for its own terms (c_H 0.001, c_s 1, κ 0.8/1.2, J 50, token-mean = `bnpo`
 * aggregation); GRPO's tuned defaults for the rest (EPO's lr 1e-6 and one epoch are for language
 * models). Smoothing defaults to the differentiable penalty, relu distance to the band (our
 * choice): the authors' code adds a constant penalty outside the band, which has no gradient,
 * so as coded (the `as-coded` option and preset) EPO's update is GRPO's with bnpo aggregation and
 * an entropy bonus — smoothCoef, the band, the penalty, turns and phase weights then change only
 * the logged P. Every iteration logs P (epoPenalty) and the fraction of steps outside the band
 * (epoOutOfBand). Not reproduced: the dual-clip (c = 3).
 */
import { z } from "zod";
import { GRPO_DEFAULTS, grpoRecipe, grpoShape, validateGrpo, type GRPOConfig } from "./grpo.js";
import { GroupPolicyOptimizer, type EpoSettings } from "./group_engine.js";
import type { AlgorithmPreset } from "./types.js";

export const epoConfigSchema = z
  .object({
    ...grpoShape,
    entropyCoef: z.number().describe("c_H: weight of the regularised entropy H̄ − c_s·w·P (EPO entropy_coeff)"),
    smoothCoef: z.number().min(0).describe("c_s: weight of the smoothing penalty P (entropy_smooth_coeff)"),
    kappaLow: z.number().min(0).describe("κ_l: lower edge of the entropy band, as a fraction of Ĥ"),
    kappaHigh: z.number().min(0).describe("κ_r: upper edge of the entropy band (≥ kappaLow)"),
    outRangePenalty: z.number().min(0).describe("p outside the band in smoothing as-coded (unused by differentiable)"),
    smoothing: z
      .enum(["as-coded", "differentiable"])
      .describe("differentiable: relu distance to the band, pulls the entropy back into it (our choice); as-coded: the authors' constant p outside the band, which has no gradient (EPO then updates as GRPO does)"),
    turns: z.number().int().positive().describe("J: turns the time limit is bucketed into (EPO max_steps 50)"),
    phaseWeights: z.boolean().describe("scale P by the phase weight w(e) over training (enable_smooth_weights)"),
  })
  .strict()
  .refine((c) => c.kappaHigh >= c.kappaLow, { message: "kappaHigh must be ≥ kappaLow", path: ["kappaHigh"] });

export type EPOConfig = z.infer<typeof epoConfigSchema>;

export const EPO_DEFAULTS: EPOConfig = {
  ...GRPO_DEFAULTS,
  lossAggregation: "bnpo",
  entropyCoef: 0.001,
  smoothCoef: 1,
  kappaLow: 0.8,
  kappaHigh: 1.2,
  outRangePenalty: 0.1,
  smoothing: "differentiable",
  turns: 50,
  phaseWeights: true,
};

export const EPO_PRESETS: AlgorithmPreset[] = [
  {
    name: "as-coded",
    description: "the authors' code: a constant penalty outside the band, which has no gradient, so the update equals GRPO's with bnpo aggregation and entCoef = entropyCoef",
    forEnv: () => ({ smoothing: "as-coded" }),
  },
];

export function epoSettings(c: EPOConfig): EpoSettings {
  return {
    entropyCoef: c.entropyCoef,
    smoothCoef: c.smoothCoef,
    kappaLow: c.kappaLow,
    kappaHigh: c.kappaHigh,
    penalty: c.outRangePenalty,
    smoothing: c.smoothing,
    turns: c.turns,
    phaseWeights: c.phaseWeights,
  };
}

export function validateEpo(c: EPOConfig): void {
  validateGrpo(c as GRPOConfig);
}

export function createEpo(c: EPOConfig): Promise<GroupPolicyOptimizer> {
  validateEpo(c);
  return GroupPolicyOptimizer.create(grpoRecipe(c as GRPOConfig, "epo", epoSettings(c)));
}
