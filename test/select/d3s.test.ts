import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import {
  D3S_SCHEDULE_DEFAULTS,
  d3sSchedule,
  selectMaxVarianceGroups,
  selectMaxVarianceSubset,
  selectTopTokens,
} from "../../src/select/d3s.js";

const popVar = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length;
};

/** Reference: the best variance over every size-k subset. */
function bruteForceMaxVariance(a: number[], k: number): number {
  let best = -Infinity;
  const pick: number[] = [];
  const visit = (from: number) => {
    if (pick.length === k) {
      best = Math.max(best, popVar(pick.map((i) => a[i])));
      return;
    }
    for (let i = from; i <= a.length - (k - pick.length); i++) {
      pick.push(i);
      visit(i + 1);
      pick.pop();
    }
  };
  visit(0);
  return best;
}

// docs/methods.md §6: A = [1.5, −0.5, −0.5, −0.5, 0.9, −0.9], population variance.
const A = [1.5, -0.5, -0.5, -0.5, 0.9, -0.9];
const values = (idx: Int32Array) => Array.from(idx, (i) => A[i]).sort((x, y) => y - x);

describe("selectMaxVarianceSubset (D³S sample level)", () => {
  it("k = 2 → {1.5, −0.9}, variance 1.44", () => {
    const s = selectMaxVarianceSubset(A, 2);
    expect(Array.from(s.indices)).toEqual([0, 5]);
    expect(s.variance).toBeCloseTo(1.44, 10);
  });

  it("k = 3 → {1.5, −0.5, −0.9}, variance 1.102222", () => {
    const s = selectMaxVarianceSubset(A, 3);
    expect(values(s.indices)).toEqual([1.5, -0.5, -0.9]);
    expect(s.variance).toBeCloseTo(1.102222, 6);
  });

  it("k = 4 → {1.5, 0.9, −0.5, −0.9}, variance 0.9675", () => {
    const s = selectMaxVarianceSubset(A, 4);
    expect(values(s.indices)).toEqual([1.5, 0.9, -0.5, -0.9]);
    expect(s.variance).toBeCloseTo(0.9675, 10);
  });

  it("agrees with brute force on random groups, with ties", () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = rng.integer(1, 9);
      // Rounded values make ties common.
      const a = Array.from({ length: n }, () => Math.round(rng.normal() * 4) / 4);
      const k = rng.integer(1, n + 1);
      const s = selectMaxVarianceSubset(a, k);
      expect(s.indices.length).toBe(k);
      expect(new Set(s.indices).size).toBe(k);
      expect(s.variance).toBeCloseTo(bruteForceMaxVariance(a, k), 9);
      expect(s.variance).toBeCloseTo(popVar(Array.from(s.indices, (i) => a[i])), 12);
    }
  });

  it("keeps the whole group when k ≥ n, and rejects k < 1", () => {
    expect(Array.from(selectMaxVarianceSubset([3, 1, 2], 5).indices)).toEqual([0, 1, 2]);
    expect(() => selectMaxVarianceSubset(A, 0)).toThrow(/k must be an integer ≥ 1, got 0\. Fix: keep at least one rollout per group/);
    expect(() => selectMaxVarianceSubset([1, NaN], 1)).toThrow(/advantage 1 is NaN\. Fix: pass finite advantages/);
  });

  it("breaks ties as documented: fewest top values among equal variances, lower index among equal advantages", () => {
    // k = 1: every candidate has variance 0, so the one with no top value (the minimum) wins.
    expect(Array.from(selectMaxVarianceSubset([0, 1, -1], 1).indices)).toEqual([2]);
    // Equal advantages sort by index: the bottom value of {min, max} is the first 0.
    expect(Array.from(selectMaxVarianceSubset([0, 0, 0, 0, 0, 1], 2).indices)).toEqual([0, 5]);
    expect(Array.from(selectMaxVarianceSubset([1, 0, 0, 0, 0, 0], 2).indices)).toEqual([0, 1]);
    // The all-bottom candidate {0, 1} ties the mix {0, top 1}: it has fewer top values, so it wins.
    expect(Array.from(selectMaxVarianceSubset([0, 1, 1], 2).indices)).toEqual([0, 1]);
  });

  it("returns nothing, with variance 0, for an empty group", () => {
    const s = selectMaxVarianceSubset([], 2);
    expect(Array.from(s.indices)).toEqual([]);
    expect(s.variance).toBe(0);
  });
});

describe("selectMaxVarianceGroups", () => {
  it("selects within each group", () => {
    // Group 0 is §6's A (k = 2 keeps 1.5 and −0.9); group 1 = [0, 10, 5] keeps 0 and 10.
    const adv = [...A, 0, 10, 5];
    const groups = [0, 0, 0, 0, 0, 0, 1, 1, 1];
    expect(Array.from(selectMaxVarianceGroups(adv, groups, 2))).toEqual([1, 0, 0, 0, 0, 1, 1, 1, 0]);
  });

  it("rejects a group id list of another length", () => {
    expect(() => selectMaxVarianceGroups([1, 2, 3], [0, 0], 1)).toThrow(/3 advantages but 2 group ids\. Fix: pass one advantage and one group id per episode/);
  });
});

describe("selectTopTokens (D³S token level)", () => {
  it("A = 1, H = [0.1, 2.0, 0.5, 1.2], keep 50% → positions 1 and 3", () => {
    expect(Array.from(selectTopTokens([1, 1, 1, 1], [0.1, 2.0, 0.5, 1.2], 0.5))).toEqual([0, 1, 0, 1]);
  });

  it("scores by |A|·H, breaks ties by lower index and rounds the count up", () => {
    // Scores: 0.2, 0.2, 0.6, 0.2 → keep ⌈0.3·4⌉ = 2: index 2, then index 0 of the tied ones.
    expect(Array.from(selectTopTokens([-1, 2, -3, 0.5], [0.2, 0.1, 0.2, 0.4], 0.3))).toEqual([1, 0, 1, 0]);
    // Float noise does not add a step: 0.3·10 = 3.0000000000000004 → 3.
    expect(Array.from(selectTopTokens(new Array(10).fill(1), new Array(10).fill(1), 0.3))).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(selectTopTokens([1, 1], [1, 1], 0))).toEqual([0, 0]);
    expect(Array.from(selectTopTokens([1, 1], [1, 1], 1))).toEqual([1, 1]);
  });

  it("rejects bad inputs", () => {
    expect(() => selectTopTokens([1], [1, 2], 0.5)).toThrow(/1 advantages but 2 entropies\. Fix: pass one advantage and one entropy per step/);
    expect(() => selectTopTokens([1], [1], 1.5)).toThrow(/keepFraction must be in \[0, 1\], got 1\.5\. Fix: pass e\.g\. 0\.5 to keep half the steps/);
    expect(() => selectTopTokens([1], [1], -0.1)).toThrow(/keepFraction must be in \[0, 1\]/);
    expect(() => selectTopTokens([1, NaN], [1, 1], 0.5)).toThrow(/step 1 has score NaN.*Fix: pass finite advantages and entropies/);
  });
});

describe("d3sSchedule", () => {
  it("starts aggressive and relaxes, linearly or by cosine", () => {
    const o = { keepRatioStart: 0.2, keepRatioEnd: 1 };
    expect(d3sSchedule(0, { ...o, schedule: "linear" })).toBeCloseTo(0.2, 12);
    expect(d3sSchedule(0.5, { ...o, schedule: "linear" })).toBeCloseTo(0.6, 12);
    expect(d3sSchedule(1, { ...o, schedule: "linear" })).toBeCloseTo(1, 12);
    // Away from 0, ½ and 1 the two differ; linear is the default.
    expect(d3sSchedule(0.25, { ...o, schedule: "linear" })).toBeCloseTo(0.4, 12);
    expect(d3sSchedule(0.25)).toBeCloseTo(0.625, 12);
    expect(d3sSchedule(0, { ...o, schedule: "cosine" })).toBeCloseTo(0.2, 12);
    expect(d3sSchedule(0.5, { ...o, schedule: "cosine" })).toBeCloseTo(0.6, 12);
    expect(d3sSchedule(0.25, { ...o, schedule: "cosine" })).toBeCloseTo(1 - 0.8 * 0.5 * (1 + Math.SQRT1_2), 12);
    expect(d3sSchedule(1, { ...o, schedule: "cosine" })).toBeCloseTo(1, 12);
  });

  it("clamps progress, has documented defaults, and rejects bad ratios", () => {
    expect(D3S_SCHEDULE_DEFAULTS).toEqual({ keepRatioStart: 0.5, keepRatioEnd: 1, schedule: "linear" });
    expect(d3sSchedule(-1)).toBe(0.5);
    expect(d3sSchedule(2)).toBe(1);
    expect(() => d3sSchedule(0.5, { keepRatioStart: 0 })).toThrow(/keepRatioStart must be in \(0, 1\], got 0\. Fix: set keepRatioStart to e\.g\. 0\.5/);
    expect(() => d3sSchedule(0.5, { keepRatioEnd: 1.5 })).toThrow(/keepRatioEnd must be in \(0, 1\]/);
    expect(() => d3sSchedule(NaN)).toThrow(/progress must be a finite number.*Fix: pass iteration \/ totalIterations/);
    expect(() => d3sSchedule(0.5, { schedule: "step" as never })).toThrow(/schedule "step" is unknown\. Fix: use "linear" or "cosine"/);
  });
});
