import { ConfigError, describeValue } from "../core/errors.js";
import type { StdKind } from "./normalize.js";

/*
 * Critic-free advantages from groups of episodes that share a start state (docs/methods.md
 * §0, §2, §3). Inputs are per episode: `rewards[i]` is episode i's outcome (e.g. a
 * GroupBatch's `episodeReturn`) and `groupOf[i]` its group (`episodeGroup`); group ids are
 * integers ≥ 0 and members of a group need not be adjacent. Outputs are per episode; spread
 * them over steps with `broadcastEpisodeValue`. Sums run in float64.
 */

export interface GroupAdvantageOptions {
  /** `"std"` divides by the group std (GRPO); `"none"` does not (Dr. GRPO, TRL `scale_rewards=false`). */
  scale?: "std" | "none";
  /** Which std (docs/methods.md, notation): unbiased (n − 1, `torch.std`, what TRL uses) or population (n). */
  std?: StdKind;
  /** Added to the std before dividing. TRL uses 1e-4; verl 1e-6 (both with the unbiased std). */
  eps?: number;
  /**
   * A group of one episode: `"zero"` gives it advantage 0 (it has nothing to be relative to);
   * `"raw"` does what verl does, mean 0 and std 1, so its reward passes through (divided by
   * 1 + eps with scale "std").
   */
  singleton?: "zero" | "raw";
}

/** The documented defaults of `groupRelativeAdvantage` (TRL's GRPOTrainer, docs/methods.md §2). */
export const GROUP_ADVANTAGE_DEFAULTS: Required<GroupAdvantageOptions> = { scale: "std", std: "unbiased", eps: 1e-4, singleton: "zero" };

/**
 * GRPO's group-relative advantage (docs/methods.md §2, outcome supervision):
 *
 *   GRPO       A_i = (r_i − mean_g(r)) / (std_g(r) + eps)      scale "std"
 *   Dr. GRPO   A_i =  r_i − mean_g(r)                          scale "none"
 *
 * mean and std over the members of i's group g. A group whose rewards are all equal gets
 * A = 0 (no signal). A one-member group has no unbiased std (PyTorch, and so TRL, gives NaN;
 * verl sets its mean to 0 and std to 1, passing the raw reward through); by default its std is
 * taken as 0, so its advantage is 0: one episode alone has nothing to be relative to.
 * `singleton: "raw"` follows verl instead.
 */
export function groupRelativeAdvantage(
  rewards: ArrayLike<number>,
  groupOf: ArrayLike<number>,
  options: GroupAdvantageOptions = {},
): Float32Array {
  const { scale, std: stdKind, eps, singleton } = { ...GROUP_ADVANTAGE_DEFAULTS, ...options };
  if (scale !== "std" && scale !== "none") {
    throw new ConfigError(`groupRelativeAdvantage: scale ${describeValue(scale)} is not "std" or "none"`, 'use "std" (GRPO) or "none" (Dr. GRPO)');
  }
  if (stdKind !== "unbiased" && stdKind !== "population") {
    throw new ConfigError(`groupRelativeAdvantage: std ${describeValue(stdKind)} is not "unbiased" or "population"`, 'use "unbiased" (TRL) or "population"');
  }
  if (!Number.isFinite(eps) || eps < 0) {
    throw new ConfigError(`groupRelativeAdvantage: eps must be a finite number ≥ 0, got ${describeValue(eps)}`, "set eps to e.g. 1e-4");
  }
  if (singleton !== "zero" && singleton !== "raw") {
    throw new ConfigError(`groupRelativeAdvantage: singleton ${describeValue(singleton)} is not "zero" or "raw"`, 'use "zero" (advantage 0) or "raw" (verl: the reward itself)');
  }
  const stats = groupStats("groupRelativeAdvantage", rewards, groupOf);
  const out = new Float32Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const g = groupOf[i];
    if (singleton === "raw" && stats.count[g] === 1) {
      // verl: mean 0, std 1 for a group of one.
      out[i] = scale === "none" ? rewards[i] : rewards[i] / (1 + eps);
      continue;
    }
    const centred = rewards[i] - stats.mean[g];
    if (scale === "none") {
      out[i] = centred;
      continue;
    }
    const dof = stdKind === "unbiased" ? stats.count[g] - 1 : stats.count[g];
    const std = dof > 0 ? Math.sqrt(stats.squares[g] / dof) : 0;
    out[i] = centred / (std + eps);
  }
  return out;
}

/**
 * RLOO's leave-one-out advantage (docs/methods.md §0, §3):
 *
 *   A_i = r_i − (1/(G−1))·Σ_{j≠i} r_j  =  G/(G−1)·(r_i − mean_g(r))
 *
 * with G the size of i's group. No std division (any extra normalisation is the caller's
 * option, default off). Σ_{i∈g} A_i = 0 for every group. Needs G ≥ 2 in every group.
 */
export function leaveOneOutAdvantage(rewards: ArrayLike<number>, groupOf: ArrayLike<number>): Float32Array {
  const stats = groupStats("leaveOneOutAdvantage", rewards, groupOf);
  const out = new Float32Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const g = groupOf[i];
    const n = stats.count[g];
    if (n < 2) {
      throw new ConfigError(
        `leaveOneOutAdvantage: group ${g} has a single episode, which has no leave-one-out baseline`,
        "use groups of at least 2 episodes (groupSize ≥ 2)",
      );
    }
    out[i] = rewards[i] - (stats.sum[g] - rewards[i]) / (n - 1);
  }
  return out;
}

/**
 * Fraction of (non-empty) groups whose rewards are all equal, within `tolerance` (max − min
 * ≤ tolerance; default 0, exact). Such groups have zero group-relative advantage and give no
 * policy-gradient signal — the metric DAPO's dynamic sampling and D³S act on (§2, §6).
 * 0 when there are no groups.
 */
export function zeroVarianceGroupFraction(rewards: ArrayLike<number>, groupOf: ArrayLike<number>, tolerance = 0): number {
  if (!(tolerance >= 0)) {
    throw new ConfigError(`zeroVarianceGroupFraction: tolerance must be ≥ 0, got ${describeValue(tolerance)}`, "pass 0 for exact equality");
  }
  const numGroups = checkGroups("zeroVarianceGroupFraction", rewards, groupOf);
  const min = new Float64Array(numGroups).fill(Infinity);
  const max = new Float64Array(numGroups).fill(-Infinity);
  for (let i = 0; i < rewards.length; i++) {
    const g = groupOf[i];
    if (rewards[i] < min[g]) min[g] = rewards[i];
    if (rewards[i] > max[g]) max[g] = rewards[i];
  }
  let nonEmpty = 0, flat = 0;
  for (let g = 0; g < numGroups; g++) {
    if (min[g] === Infinity) continue;
    nonEmpty++;
    if (max[g] - min[g] <= tolerance) flat++;
  }
  return nonEmpty === 0 ? 0 : flat / nonEmpty;
}

interface GroupStats {
  count: Int32Array;
  sum: Float64Array;
  mean: Float64Array;
  /** Σ (r − mean)² per group (two-pass, so it stays accurate for large rewards). */
  squares: Float64Array;
}

function groupStats(fn: string, rewards: ArrayLike<number>, groupOf: ArrayLike<number>): GroupStats {
  const numGroups = checkGroups(fn, rewards, groupOf);
  const count = new Int32Array(numGroups);
  const sum = new Float64Array(numGroups);
  for (let i = 0; i < rewards.length; i++) {
    count[groupOf[i]]++;
    sum[groupOf[i]] += rewards[i];
  }
  const mean = sum.map((s, g) => (count[g] > 0 ? s / count[g] : 0));
  const squares = new Float64Array(numGroups);
  for (let i = 0; i < rewards.length; i++) squares[groupOf[i]] += (rewards[i] - mean[groupOf[i]]) ** 2;
  return { count, sum, mean, squares };
}

/** Validates per-episode inputs; returns the number of group ids (max id + 1). */
function checkGroups(fn: string, rewards: ArrayLike<number>, groupOf: ArrayLike<number>): number {
  if (rewards.length !== groupOf.length) {
    throw new ConfigError(
      `${fn}: ${rewards.length} rewards but ${groupOf.length} group ids`,
      "pass one reward and one group id per episode (episodeReturn and episodeGroup of the batch)",
    );
  }
  let numGroups = 0;
  for (let i = 0; i < groupOf.length; i++) {
    const g = groupOf[i];
    if (!Number.isInteger(g) || g < 0) {
      throw new ConfigError(`${fn}: group id ${describeValue(g)} of episode ${i} is not an integer ≥ 0`, "number groups 0, 1, 2, …");
    }
    if (!Number.isFinite(rewards[i])) {
      throw new ConfigError(`${fn}: reward ${describeValue(rewards[i])} of episode ${i} is not finite`, "check the env's rewards and any reward function");
    }
    if (g + 1 > numGroups) numGroups = g + 1;
  }
  return numGroups;
}
