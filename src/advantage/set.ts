/**
 * Set-level (polychromic) advantages (Ibn Hamid et al., "Polychromic Objectives for
 * Reinforcement Learning", 2025): a set of n trajectories from one state is scored as a
 * whole, f(S) = mean_{τ∈S} R(τ) · d(S), with d ∈ [0, 1] a diversity score, so only sets that
 * are both successful and diverse score high (the product couples the two; an additive
 * R̄ + α·d would be the diversity bonus the paper argues against).
 *
 * From a vine state with N continuations and the chosen n-subsets S_1..S_M:
 *   V    = mean_m f(S_m)                       (the baseline of the vine state)
 *   A(j) = mean_{m: j∈S_m} f(S_m) − V           (a trajectory's set advantages, averaged)
 * A continuation that is in no chosen subset gets 0. Pure functions on plain arrays.
 */

/** What a diversity function sees of one trajectory of a set. */
export interface TrajectorySummary {
  /** Undiscounted return from the branch state on. */
  return: number;
  /** Whether the trajectory succeeded (see `successOf`). */
  success: boolean;
  /** The agent's cell at the end (grid worlds), or null when the env has no cells. */
  finalCell: readonly [number, number] | null;
  /** The agent's cells along the trajectory, x/y interleaved (empty when the env has no cells). */
  cells: Int32Array;
  /** The grid's width and height, or null. */
  gridSize: readonly [number, number] | null;
  /** The observation after the last step. */
  finalObs: Float32Array;
}

/** A diversity score of a set, in [0, 1]. */
export type DiversityFn = (set: readonly TrajectorySummary[]) => number;

/** Every n-subset of {0..N−1} in lexicographic order. */
export function allSubsets(N: number, n: number): number[][] {
  if (!Number.isInteger(N) || !Number.isInteger(n) || n < 1 || n > N) throw new RangeError(`allSubsets needs integers 1 ≤ n ≤ N, got N=${N}, n=${n}`);
  const out: number[][] = [];
  const pick: number[] = [];
  const rec = (from: number) => {
    if (pick.length === n) {
      out.push(pick.slice());
      return;
    }
    for (let i = from; i <= N - (n - pick.length); i++) {
      pick.push(i);
      rec(i + 1);
      pick.pop();
    }
  };
  rec(0);
  return out;
}

/** C(N, n) as a float (exact for the sizes used here). */
export function binomial(N: number, n: number): number {
  if (n < 0 || n > N) return 0;
  let r = 1;
  for (let i = 1; i <= n; i++) r = (r * (N - n + i)) / i;
  return Math.round(r);
}

/** The polychromic score of one set: mean return × diversity. */
export function polychromicScore(set: readonly TrajectorySummary[], diversity: DiversityFn): number {
  let sum = 0;
  for (const t of set) sum += t.return;
  return (sum / set.length) * diversity(set);
}

/**
 * Set advantages of N trajectories from one vine state (see the file comment). `scores[m]` is
 * f of `subsets[m]` (member indices into 0..N−1). Returns the per-trajectory advantages, the
 * baseline V and the mean diversity is the caller's to compute.
 */
export function setAdvantages(N: number, subsets: readonly (readonly number[])[], scores: ArrayLike<number>): { advantages: Float64Array; baseline: number } {
  if (subsets.length !== scores.length || subsets.length === 0) throw new RangeError(`setAdvantages needs one score per subset and at least one subset, got ${subsets.length} subsets and ${scores.length} scores`);
  let total = 0;
  for (let m = 0; m < scores.length; m++) total += scores[m];
  const baseline = total / scores.length;
  const sum = new Float64Array(N);
  const count = new Int32Array(N);
  subsets.forEach((s, m) => {
    for (const j of s) {
      sum[j] += scores[m];
      count[j]++;
    }
  });
  const advantages = new Float64Array(N);
  for (let j = 0; j < N; j++) advantages[j] = count[j] ? sum[j] / count[j] - baseline : 0;
  return { advantages, baseline };
}
