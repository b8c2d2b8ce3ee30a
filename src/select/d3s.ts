import { ConfigError, describeValue } from "../core/errors.js";

/*
 * D³S — Dynamic Dual-Level Down-Sampling (docs/methods.md §6). Mechanism VERIFIED (abstract);
 * the selection details below are UNVERIFIED and kept behind named options.
 */

/** The chosen members of one group and the population variance of their advantages. */
export interface VarianceSubset {
  /** Indices into the group's advantages, ascending. */
  indices: Int32Array;
  /** Population variance (divide by k) of the chosen advantages. */
  variance: number;
}

/**
 * D³S sample level (§6): the size-k subset S of one group's advantages that maximises
 *
 *   Var_pop({A_i : i ∈ S})
 *
 * A maximum-variance subset of fixed size consists of some of the largest and some of the
 * smallest values, so only k + 1 candidates are searched: the top j and the bottom k − j of
 * the sorted advantages, j = 0..k (O(n log n) for the sort, O(k) for the search with prefix
 * sums). Among candidates of equal variance the one with the fewest top values wins; among
 * equal advantages the stable sort decides, so the result is deterministic.
 * `k ≥ n` keeps the whole group. Whether advantages are recomputed on the subset is the
 * caller's choice (UNVERIFIED; §6 default: no).
 */
export function selectMaxVarianceSubset(advantages: ArrayLike<number>, k: number): VarianceSubset {
  const n = advantages.length;
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new ConfigError(`selectMaxVarianceSubset: k must be an integer ≥ 1, got ${describeValue(k)}`, "keep at least one rollout per group");
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(advantages[i])) {
      throw new ConfigError(`selectMaxVarianceSubset: advantage ${i} is ${describeValue(advantages[i])}`, "pass finite advantages");
    }
  }
  const size = Math.min(k, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => advantages[a] - advantages[b] || a - b);
  const sorted = order.map((i) => advantages[i]);
  // prefix[m] = Σ of the m smallest, suffix[m] = Σ of the m largest (and of squares).
  const prefix = new Float64Array(size + 1), prefixSq = new Float64Array(size + 1);
  const suffix = new Float64Array(size + 1), suffixSq = new Float64Array(size + 1);
  for (let m = 1; m <= size; m++) {
    const lo = sorted[m - 1], hi = sorted[n - m];
    prefix[m] = prefix[m - 1] + lo;
    prefixSq[m] = prefixSq[m - 1] + lo * lo;
    suffix[m] = suffix[m - 1] + hi;
    suffixSq[m] = suffixSq[m - 1] + hi * hi;
  }
  let bestTop = 0, bestVariance = -Infinity;
  for (let top = 0; top <= size; top++) {
    const mean = (suffix[top] + prefix[size - top]) / size;
    const variance = (suffixSq[top] + prefixSq[size - top]) / size - mean * mean;
    if (variance > bestVariance + 1e-12) {
      bestVariance = variance;
      bestTop = top;
    }
  }
  const chosen = [...order.slice(0, size - bestTop), ...order.slice(n - bestTop)];
  const indices = Int32Array.from(chosen).sort();
  return { indices, variance: populationVariance(Array.from(indices, (i) => advantages[i])) };
}

/**
 * D³S sample level over a batch of groups, intra-group (the §6 default): keeps the
 * `selectMaxVarianceSubset(·, k)` members of every group. Returns a 0/1 mask per episode.
 */
export function selectMaxVarianceGroups(advantages: ArrayLike<number>, groupOf: ArrayLike<number>, k: number): Uint8Array {
  if (advantages.length !== groupOf.length) {
    throw new ConfigError(
      `selectMaxVarianceGroups: ${advantages.length} advantages but ${groupOf.length} group ids`,
      "pass one advantage and one group id per episode",
    );
  }
  const members = new Map<number, number[]>();
  for (let i = 0; i < groupOf.length; i++) {
    const list = members.get(groupOf[i]);
    if (list) list.push(i);
    else members.set(groupOf[i], [i]);
  }
  const keep = new Uint8Array(advantages.length);
  for (const list of members.values()) {
    const { indices } = selectMaxVarianceSubset(list.map((i) => advantages[i]), k);
    for (const j of indices) keep[list[j]] = 1;
  }
  return keep;
}

/**
 * D³S token/step level (§6): score s_t = |A_t|·H_t (H the policy entropy at that step) and
 * keep the top `keepFraction` of the steps. Returns a 0/1 mask; aggregate the loss over kept
 * steps only. Kept count = ⌈keepFraction·n⌉ (so at least one step when keepFraction > 0;
 * the rounding is our choice, UNVERIFIED). Ties are broken by lower index. `absAdv` may be
 * signed: its absolute value is taken.
 */
export function selectTopTokens(absAdv: ArrayLike<number>, entropy: ArrayLike<number>, keepFraction: number): Uint8Array {
  const n = absAdv.length;
  if (entropy.length !== n) {
    throw new ConfigError(`selectTopTokens: ${n} advantages but ${entropy.length} entropies`, "pass one advantage and one entropy per step");
  }
  if (!(keepFraction >= 0 && keepFraction <= 1)) {
    throw new ConfigError(`selectTopTokens: keepFraction must be in [0, 1], got ${describeValue(keepFraction)}`, "pass e.g. 0.5 to keep half the steps");
  }
  const score = Float64Array.from({ length: n }, (_, i) => Math.abs(absAdv[i]) * entropy[i]);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(score[i])) {
      throw new ConfigError(`selectTopTokens: step ${i} has score NaN (|A| ${absAdv[i]}, H ${entropy[i]})`, "pass finite advantages and entropies");
    }
  }
  // The 1e-9 keeps float noise (0.3·10 = 3.0000000000000004) from adding a step.
  const keepCount = Math.min(n, Math.ceil(keepFraction * n - 1e-9));
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b] - score[a] || a - b);
  const keep = new Uint8Array(n);
  for (let r = 0; r < keepCount; r++) keep[order[r]] = 1;
  return keep;
}

export type D3sScheduleKind = "linear" | "cosine";

export interface D3sScheduleOptions {
  /** Keep ratio at progress 0 (aggressive down-sampling). */
  keepRatioStart?: number;
  /** Keep ratio at progress 1 (relaxed). */
  keepRatioEnd?: number;
  schedule?: D3sScheduleKind;
}

/**
 * Defaults of the D³S schedule. The paper's functional form and ratios are UNVERIFIED (§6);
 * these are our choice: keep half at the start, everything at the end, linearly.
 */
export const D3S_SCHEDULE_DEFAULTS: Required<D3sScheduleOptions> = { keepRatioStart: 0.5, keepRatioEnd: 1, schedule: "linear" };

/**
 * D³S dynamic schedule (§6; a pure function of progress, so it can be unit-tested): the keep ratio moves
 * from `keepRatioStart` to `keepRatioEnd` as training progresses p ∈ [0, 1] (clamped),
 *
 *   linear   r(p) = r_s + (r_e − r_s)·p
 *   cosine   r(p) = r_e + (r_s − r_e)·½·(1 + cos(π·p))
 *
 * starting aggressive (low ratio) and relaxing. Use it for the token keep fraction and, times
 * G, for the sample-level k.
 */
export function d3sSchedule(progress: number, options: D3sScheduleOptions = {}): number {
  const { keepRatioStart, keepRatioEnd, schedule } = { ...D3S_SCHEDULE_DEFAULTS, ...options };
  for (const [name, v] of [["keepRatioStart", keepRatioStart], ["keepRatioEnd", keepRatioEnd]] as const) {
    if (!(v > 0 && v <= 1)) throw new ConfigError(`d3sSchedule: ${name} must be in (0, 1], got ${describeValue(v)}`, `set ${name} to e.g. 0.5`);
  }
  if (!Number.isFinite(progress)) {
    throw new ConfigError(`d3sSchedule: progress must be a finite number, got ${describeValue(progress)}`, "pass iteration / totalIterations");
  }
  const p = Math.min(1, Math.max(0, progress));
  switch (schedule) {
    case "linear":
      return keepRatioStart + (keepRatioEnd - keepRatioStart) * p;
    case "cosine":
      return keepRatioEnd + (keepRatioStart - keepRatioEnd) * 0.5 * (1 + Math.cos(Math.PI * p));
    default:
      throw new ConfigError(`d3sSchedule: schedule ${describeValue(schedule)} is unknown`, 'use "linear" or "cosine"');
  }
}

function populationVariance(xs: number[]): number {
  if (xs.length === 0) return 0;
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
}
