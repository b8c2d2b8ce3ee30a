import { describe, expect, it } from "vitest";
import { distinctFraction, finalCellKey, getDiversity, outcomeClassKey, registerDiversity } from "../../src/advantage/diversity.js";
import { allSubsets, binomial, polychromicScore, setAdvantages, type TrajectorySummary } from "../../src/advantage/set.js";
import { Rng } from "../../src/core/rng.js";
import { randomSubsets } from "../../src/rollout/vine_collector.js";

/** A grid trajectory summary: success, return and the cells it visited. */
function traj(success: boolean, cells: number[], ret = success ? 1 : 0): TrajectorySummary {
  const c = Int32Array.from(cells);
  return { return: ret, success, finalCell: [c[c.length - 2], c[c.length - 1]], cells: c, gridSize: [10, 10], finalObs: new Float32Array(1) };
}

describe("set advantages (the polychromic objective)", () => {
  it("the worked example: (S,X),(S,Y),(F,Z),(S,X), n = 2, all pairs → f = 1,.5,.5,.5,1,.5, V = 2/3, A = [0, +1/6, −1/6, 0]", () => {
    // X ends at (8,8) through quadrants 0 and 3; Y at (8,1) through 0 and 1; Z fails at (1,8).
    const X = [1, 1, 8, 8];
    const set = [traj(true, X), traj(true, [1, 1, 8, 1]), traj(false, [1, 1, 1, 8]), traj(true, X)];
    const d = getDiversity("outcome-classes");
    const subsets = allSubsets(4, 2);
    expect(subsets).toEqual([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
    const scores = subsets.map((s) => polychromicScore(s.map((j) => set[j]), d));
    expect(scores).toEqual([1, 0.5, 0.5, 0.5, 1, 0.5]);
    const { advantages, baseline } = setAdvantages(4, subsets, scores);
    expect(baseline).toBeCloseTo(0.666667, 6);
    expect(Array.from(advantages)).toEqual([expect.closeTo(0, 12), expect.closeTo(1 / 6, 12), expect.closeTo(-1 / 6, 12), expect.closeTo(0, 12)]);
  });

  it("the product couples reward and diversity: two distinct failures score 0, two equal successes half", () => {
    const d = getDiversity("final-cells");
    expect(polychromicScore([traj(false, [1, 1]), traj(false, [2, 2])], d)).toBe(0);
    expect(polychromicScore([traj(true, [3, 3]), traj(true, [3, 3])], d)).toBe(0.5);
    expect(polychromicScore([traj(true, [3, 3]), traj(true, [4, 4], 0.5)], d)).toBe(0.75);
  });

  it("a trajectory in no scored subset gets 0; one subset gives f − f = 0 to its members", () => {
    const { advantages, baseline } = setAdvantages(4, [[0, 1], [0, 2]], [0.9, 0.3]);
    expect(baseline).toBeCloseTo(0.6, 12);
    expect(Array.from(advantages)).toEqual([expect.closeTo(0, 12), expect.closeTo(0.3, 12), expect.closeTo(-0.3, 12), 0]);
    expect(() => setAdvantages(2, [[0, 1]], [1, 2])).toThrow(/one score per subset/);
  });

  it("subsets: C(N, n) of them in 'all' mode; random ones are sorted n-subsets of distinct members", () => {
    expect(allSubsets(5, 3)).toHaveLength(binomial(5, 3));
    expect(binomial(8, 4)).toBe(70);
    expect(() => allSubsets(2, 3)).toThrow(/1 ≤ n ≤ N/);
    const drawn = randomSubsets(6, 3, 50, new Rng(1));
    expect(drawn).toHaveLength(50);
    for (const s of drawn) {
      expect(new Set(s).size).toBe(3);
      expect(s).toEqual([...s].sort((a, b) => a - b));
      expect(Math.min(...s)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...s)).toBeLessThan(6);
    }
    expect(new Set(drawn.map((s) => s.join())).size).toBeGreaterThan(5);
  });
});

describe("diversity functions", () => {
  it("final-cells compares the last cell; outcome-classes the success flag and the quadrants visited", () => {
    const a = traj(true, [1, 1, 8, 8]);
    const b = traj(true, [1, 1, 1, 8, 8, 8]); // same end, through quadrant 2 as well
    expect(finalCellKey(a)).toBe("8,8");
    expect(finalCellKey(b)).toBe("8,8");
    expect(outcomeClassKey(a)).toBe("S:03");
    expect(outcomeClassKey(b)).toBe("S:023");
    expect(getDiversity("final-cells")([a, b])).toBe(0.5);
    expect(getDiversity("outcome-classes")([a, b])).toBe(1);
    expect(outcomeClassKey(traj(false, [1, 1, 8, 8]))).toBe("F:03");
  });

  it("without cells, final-cells falls back to the rounded final observation", () => {
    const t = (x: number): TrajectorySummary => ({ return: 1, success: true, finalCell: null, cells: new Int32Array(0), gridSize: null, finalObs: Float32Array.of(x, 1) });
    expect(distinctFraction([t(0.1), t(0.1001), t(0.2)], finalCellKey)).toBeCloseTo(2 / 3, 12);
  });

  it("a registered user function is used and checked to lie in [0, 1]; unknown names are a one-line error", () => {
    registerDiversity("test-half", () => 0.5);
    expect(getDiversity("test-half")([traj(true, [1, 1])])).toBe(0.5);
    registerDiversity("test-bad", () => 2);
    expect(() => getDiversity("test-bad")([traj(true, [1, 1])])).toThrow(/returned 2.*Fix: return a number in \[0, 1\]/);
    expect(() => getDiversity("nope")).toThrow(/unknown diversity "nope".*registerDiversity/);
  });
});
