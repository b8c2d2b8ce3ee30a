import type { GroupBatch } from "../rollout/group_collector.js";
import { d3sSchedule, selectMaxVarianceGroups, selectTopTokens } from "../select/d3s.js";
import type { D3sConfig } from "./group_config.js";

/*
 * D³S (docs/methods.md §6) applied to a group batch, between the advantages and the loss:
 * the `select/` functions decide, this file cuts the batch down accordingly.
 */

/** A batch cut down to some of its episodes, and where each kept step came from. */
export interface EpisodeSubset {
  batch: GroupBatch;
  /** Index in the original batch of each step of the subset. */
  stepSource: Int32Array;
}

/**
 * The episodes with `keep[e] = 1`, as a GroupBatch of their own (episode-contiguous, in the
 * original order). Group ids and `groupSize` stay as they were, so a group may now hold fewer
 * than groupSize episodes; `numGroups` still counts every group.
 */
export function subsetEpisodes(batch: GroupBatch, keep: Uint8Array): EpisodeSubset {
  const kept: number[] = [];
  for (let e = 0; e < batch.numEpisodes; e++) if (keep[e]) kept.push(e);
  const numSteps = kept.reduce((s, e) => s + batch.episodeLength[e], 0);
  const { obsSize, actSize } = batch;
  const stepSource = new Int32Array(numSteps);
  let t = 0;
  for (const e of kept) for (let k = 0; k < batch.episodeLength[e]; k++) stepSource[t++] = batch.episodeStart[e] + k;
  const perStep = <T extends Float32Array | Int32Array | Uint8Array>(src: T, width = 1): T => {
    const out = new (src.constructor as new (n: number) => T)(numSteps * width);
    for (let i = 0; i < numSteps; i++) {
      const j = stepSource[i];
      for (let w = 0; w < width; w++) out[i * width + w] = src[j * width + w];
    }
    return out;
  };
  const perEpisode = <T extends Float32Array | Int32Array | Uint8Array>(src: T, width = 1): T => {
    const out = new (src.constructor as new (n: number) => T)(kept.length * width);
    kept.forEach((e, i) => out.set(src.subarray(e * width, (e + 1) * width), i * width));
    return out;
  };
  const episodeLength = perEpisode(batch.episodeLength);
  const episodeStart = new Int32Array(kept.length);
  for (let i = 1; i < kept.length; i++) episodeStart[i] = episodeStart[i - 1] + episodeLength[i - 1];
  const newIndex = new Int32Array(batch.numEpisodes).fill(-1);
  kept.forEach((e, i) => (newIndex[e] = i));
  const sub: GroupBatch = {
    ...batch,
    numEpisodes: kept.length,
    numSteps,
    obs: perStep(batch.obs, obsSize),
    actions: perStep(batch.actions, actSize),
    logProbs: perStep(batch.logProbs),
    ...(batch.values ? { values: perStep(batch.values) } : {}),
    rewards: perStep(batch.rewards),
    dones: perStep(batch.dones),
    episodeIndex: perStep(batch.episodeIndex).map((e) => newIndex[e]),
    groupIndex: perStep(batch.groupIndex),
    episodeReturn: perEpisode(batch.episodeReturn),
    episodeLength,
    episodeStart,
    episodeGroup: perEpisode(batch.episodeGroup),
    terminated: perEpisode(batch.terminated),
    truncated: perEpisode(batch.truncated),
    finalObs: perEpisode(batch.finalObs, obsSize),
    ...(batch.actionMasks ? { actionMasks: perStep(batch.actionMasks, batch.actionMasks.length / Math.max(batch.numSteps, 1)) } : {}),
  };
  return { batch: sub, stepSource };
}

/** Values of `src` at the given indices. */
export function gatherSteps(src: Float32Array, index: Int32Array): Float32Array {
  return Float32Array.from(index, (i) => src[i]);
}

/** Mean of each episode's per-step values (for outcome advantages: the episode's advantage). */
export function episodeMeans(perStep: Float32Array, batch: GroupBatch): Float32Array {
  const out = new Float32Array(batch.numEpisodes);
  for (let e = 0; e < batch.numEpisodes; e++) {
    const start = batch.episodeStart[e], len = batch.episodeLength[e];
    let sum = 0;
    for (let t = start; t < start + len; t++) sum += perStep[t];
    out[e] = len ? sum / len : 0;
  }
  return out;
}

export interface D3sResult {
  /** The batch after sample-level selection (the whole batch when that level is off). */
  batch: GroupBatch;
  stepSource: Int32Array | null;
  advantages: Float32Array;
  /** Step-level mask over `batch`'s steps (null when that level is off). */
  stepKeep: Uint8Array | null;
  /** The schedule's keep ratio this iteration. */
  keepRatio: number;
  /** Episodes kept per group at the sample level (G when off). */
  groupKeep: number;
}

/**
 * D³S on one batch. Sample level: an episode's advantage is the mean of its steps' (for outcome
 * advantages, its A_i); each group keeps the k = clamp(⌈r·G⌉, minGroupKeep, G) episodes of
 * maximum advantage variance, r the scheduled keep ratio. Step level: among the remaining steps,
 * keep the fraction r with the largest |A|·H (H the policy entropy at the step, measured before
 * the update). With `recomputeAdvantages`, `recompute` gives the kept episodes fresh advantages.
 */
export function applyD3s(
  batch: GroupBatch,
  advantages: Float32Array,
  entropy: Float32Array,
  progress: number,
  options: D3sConfig,
  recompute: (subset: GroupBatch) => Float32Array,
): D3sResult {
  const keepRatio = d3sSchedule(progress, options);
  let kept = batch;
  let keptAdv = advantages;
  let keptEntropy = entropy;
  let stepSource: Int32Array | null = null;
  let groupKeep = batch.groupSize;
  if (options.levels !== "step") {
    groupKeep = Math.min(batch.groupSize, Math.max(options.minGroupKeep, Math.ceil(keepRatio * batch.groupSize - 1e-9)));
    const keep = selectMaxVarianceGroups(episodeMeans(advantages, batch), batch.episodeGroup, groupKeep);
    const subset = subsetEpisodes(batch, keep);
    kept = subset.batch;
    stepSource = subset.stepSource;
    keptAdv = options.recomputeAdvantages ? recompute(kept) : gatherSteps(advantages, stepSource);
    keptEntropy = gatherSteps(entropy, stepSource);
  }
  const stepKeep = options.levels === "sample" ? null : selectTopTokens(keptAdv, keptEntropy, keepRatio);
  return { batch: kept, stepSource, advantages: keptAdv, stepKeep, keepRatio, groupKeep };
}
