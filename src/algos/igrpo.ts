/**
 * iGRPO — self-feedback two-stage GRPO (Hatamizadeh et al. 2026; docs/methods.md §8), for text
 * tasks. Each iteration, for each of B prompts q:
 *
 *   stage 1 (no gradient)  N drafts d_1..d_N ~ π_θ(·|q), scored with the run's reward;
 *                          d* = argmax_j R(q, d_j), ties to the first index
 *   stage 2 (GRPO update)  q' = q ⊕ d* ⊕ separator; G refinements o_i ~ π_θ(·|q'),
 *                          r_i = R(q, o_i); GRPO advantages over the G refinements and
 *                          GRPO's loss on logπ_θ(o_i | q')
 *
 * The draft is context: only refinement tokens are actions, so the loss never covers it
 * (the token policy trains on completion tokens only). Under a matched budget, N + G equals
 * the group size of the GRPO run it is compared with (the split is UNVERIFIED; N = numDrafts
 * and G = groupSize are options). At test time the policy answers in a single pass from q,
 * with no draft. The template q ⊕ d* ⊕ ";" is ours (the paper's is UNVERIFIED).
 */
import { z } from "zod";
import type { Rng } from "../core/rng.js";
import { EOS } from "../envs/text/tokenizer.js";
import type { TextGroupCollector, TextStart } from "../rollout/text_collector.js";
import { GRPO_DEFAULTS, grpoRecipe, grpoShape, type GRPOConfig } from "./grpo.js";
import { textDefaultsOf, textSchemaOf } from "./text_config.js";
import { completionOf, TextGroupOptimizer, type TextRunConfig, type TextSampler } from "./text_engine.js";
import type { IterationMetrics } from "./types.js";

export const igrpoExtraShape = {
  numDrafts: z.number().int().min(1).describe("N: stage-1 drafts per prompt; the best by reward conditions stage 2"),
  separator: z.string().describe("text appended after the draft in the conditioned prompt q ⊕ d* ⊕ separator"),
};

export const igrpoConfigSchema = textSchemaOf(grpoShape, igrpoExtraShape);

/** GRPO's text defaults with the group split into 4 drafts + 4 refinements (GRPO's G = 8). */
export const IGRPO_DEFAULTS = textDefaultsOf(GRPO_DEFAULTS as unknown as Record<string, unknown>, { numDrafts: 4, groupSize: 4, separator: ";" });

/** Index of the largest value, the first on ties. */
export function bestIndex(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  let best = start;
  for (let i = start + 1; i < start + length; i++) if (values[i] > values[best]) best = i;
  return best - start;
}

/** The two-stage sampling of iGRPO: drafts, then refinements conditioned on the best draft. */
export function igrpoSampler(numDrafts: number, separator: string): TextSampler {
  return {
    sample(collector: TextGroupCollector, rng: Rng) {
      const starts = collector.drawStarts(rng);
      const drafts = collector.collect(rng, starts, undefined, numDrafts);
      const bestOf = starts.map((_, g) => g * numDrafts + bestIndex(drafts.batch.episodeReturn, g * numDrafts, numDrafts));
      const suffix = collector.policy.tokenizer.encode(separator);
      // q ⊕ d* ⊕ separator, from the draft's tokens (its EOS dropped), so any token it holds can be read back.
      const conditioned = (s: TextStart, g: number): Int32Array => {
        let draft = completionOf(drafts.batch, bestOf[g]);
        if (draft.length && draft[draft.length - 1] === EOS) draft = draft.subarray(0, draft.length - 1);
        const prompt = collector.policy.encodeContext(s.problem.prompt);
        const out = new Int32Array(prompt.length + draft.length + suffix.length);
        out.set(prompt);
        out.set(draft, prompt.length);
        out.set(suffix, prompt.length + draft.length);
        return out;
      };
      const batch = collector.collect(rng, starts, conditioned);
      const bestReward = bestOf.map((e) => drafts.batch.episodeReturn[e]);
      const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const metrics: IterationMetrics = {
        draftRewardMean: mean(drafts.batch.episodeReturn),
        bestDraftRewardMean: mean(bestReward),
        draftTokens: drafts.batch.numSteps,
      };
      return { batch, metrics };
    },
  };
}

export function createIgrpo(c: TextRunConfig & GRPOConfig & { numDrafts: number; separator: string }): Promise<TextGroupOptimizer> {
  return TextGroupOptimizer.create(grpoRecipe(c, "igrpo"), c, igrpoSampler(c.numDrafts, c.separator), { maxGroupSize: c.numDrafts, draftSuffixLength: c.separator.length });
}
