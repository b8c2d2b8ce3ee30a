import { describe, expect, it } from "vitest";
import { episodeTotals, flowGrpoAdvantages, gigpoAdvantages, hgpoAdvantages, processRewardAdvantages, turnReturns } from "../../src/advantage/turn.js";

/** Rows of episodes given as lists of [anchor, reward] turns, all in group 0 unless told. */
function rowsOf(episodes: [string, number][][], groups?: number[]) {
  const group: number[] = [];
  const episode: number[] = [];
  const reward: number[] = [];
  const anchor: string[] = [];
  episodes.forEach((turns, e) =>
    turns.forEach(([a, r]) => {
      group.push(groups?.[e] ?? 0);
      episode.push(e);
      reward.push(r);
      anchor.push(a);
    }),
  );
  return { group: Int32Array.from(group), episode: Int32Array.from(episode), reward: Float32Array.from(reward), anchor };
}

describe("turn returns", () => {
  it("discounts within an episode only", () => {
    const r = rowsOf([[["s0", 0], ["s1", 1]], [["s0", 0]]]);
    expect(Array.from(turnReturns(r, 0.95))).toEqual([expect.closeTo(0.95, 6), 1, 0]);
    expect(Array.from(episodeTotals(r))).toEqual([1, 1, 0]);
  });

  it("γ = 0.5 over three turns: rewards [1, 2, 4] → returns [3, 4, 4]; the next episode starts afresh", () => {
    const r = rowsOf([[["s0", 1], ["s1", 2], ["s2", 4]], [["s0", 5]]]);
    expect(Array.from(turnReturns(r, 0.5))).toEqual([3, 4, 4, 5]);
  });
});

describe("Flow-GRPO advantages", () => {
  it("normalise the outcome over turn rows: R = [1,0,0,1], turns [3,1,2,2] → +0.724567 / −1.207612", () => {
    const ep = (n: number, r: number): [string, number][] => Array.from({ length: n }, (_, t) => [`t${t}`, t === n - 1 ? r : 0]);
    const a = flowGrpoAdvantages(rowsOf([ep(3, 1), ep(1, 0), ep(2, 0), ep(2, 1)]));
    const want = [0.724567, 0.724567, 0.724567, -1.207612, -1.207612, -1.207612, 0.724567, 0.724567];
    want.forEach((w, i) => expect(a[i]).toBeCloseTo(w, 5));
  });
  it("give a one-row group mean 0 and std 1, and keep groups apart", () => {
    const a = flowGrpoAdvantages(rowsOf([[["p", 1]], [["q", 1]], [["q", 0]]], [0, 1, 1]));
    expect(a[0]).toBeCloseTo(1, 5);
    expect(a[1]).toBeCloseTo(0.707106, 5);
    expect(a[2]).toBeCloseTo(-0.707106, 5);
  });
});

describe("GiGPO advantages", () => {
  // Trajectory A = s0 → s1 with rewards [0, 1]; B = s0 with reward [0]; γ = 0.95.
  const rows = rowsOf([[["s0", 0], ["s1", 1]], [["s0", 0]]]);
  it("mean_norm: [0.808333, 0.333333, −1.141667]", () => {
    const a = gigpoAdvantages(rows, { mode: "mean_norm", stepWeight: 1, gamma: 0.95, eps: 1e-6 });
    [0.808333, 0.333333, -1.141667].forEach((w, i) => expect(a[i]).toBeCloseTo(w, 5));
  });
  it("mean_std_norm: [1.284455, 0.577349, −1.861804]", () => {
    const a = gigpoAdvantages(rows, { mode: "mean_std_norm", stepWeight: 1, gamma: 0.95, eps: 1e-6 });
    [1.284455, 0.577349, -1.861804].forEach((w, i) => expect(a[i]).toBeCloseTo(w, 5));
  });
  it("ω = 0 is the episode advantage alone", () => {
    const a = gigpoAdvantages(rows, { mode: "mean_norm", stepWeight: 0, gamma: 0.95, eps: 1e-6 });
    [1 / 3, 1 / 3, -2 / 3].forEach((w, i) => expect(a[i]).toBeCloseTo(w, 5));
  });
});

describe("HGPO advantages", () => {
  // Three trajectories reach X at turn 1 after anchors a, a, b; X-turn returns 1, 0, 1.
  const rows = rowsOf([
    [["a", 0], ["X", 1]],
    [["a", 0], ["X", 0]],
    [["b", 0], ["X", 1]],
  ]);
  const opts = { historyLength: 1, alpha: 1, mode: "mean_std_norm" as const, gamma: 0.95, eps: 1e-6, baseGroup: false };
  it("weights the k = 1 and k = 2 clusters: X turns → [0.882841, −1.165683, 0.707105]", () => {
    const a = hgpoAdvantages(rows, opts);
    expect(a[1]).toBeCloseTo(0.882841, 5);
    expect(a[3]).toBeCloseTo(-1.165683, 5);
    expect(a[5]).toBeCloseTo(0.707105, 5);
  });
  it("with historyLength 0 it is GiGPO's anchor group with population std", () => {
    const a = hgpoAdvantages(rows, { ...opts, historyLength: 0 });
    expect(a[1]).toBeCloseTo(0.707105, 5);
    expect(a[3]).toBeCloseTo(-1.414211, 5);
  });
  it("baseGroup adds the episode advantage as level 0 (weight 1): rewards [1, 0], mean_norm, eps 0.5 → ±0.5/(1 + 0.5)", () => {
    // Different anchors, so level 1 has only singletons; level 0 is r − mean over the group = ±0.5.
    const a = hgpoAdvantages(rowsOf([[["a", 1]], [["b", 0]]]), { ...opts, historyLength: 0, mode: "mean_norm", eps: 0.5, baseGroup: true });
    expect(Array.from(a)).toEqual([expect.closeTo(1 / 3, 6), expect.closeTo(-1 / 3, 6)]);
  });
  it("a row whose every cluster is a singleton or gives 0 gets 0", () => {
    const a = hgpoAdvantages(rowsOf([[["a", 1]], [["b", 0]]]), opts);
    expect(Array.from(a)).toEqual([0, 0]);
  });
});

describe("process-reward advantages (ProRAG)", () => {
  it("r = [1,0,0,1], token scores [.9,.9,.4], [.2,.2], [.5], [.8,.8], β 0.5 → episode 0 tokens [1.423223, 1.423223, 0.531467]", () => {
    const scores = Float32Array.from([0.9, 0.9, 0.4, 0.2, 0.2, 0.5, 0.8, 0.8]);
    const episodes = Int32Array.from([0, 0, 0, 1, 1, 2, 3, 3]);
    const a = processRewardAdvantages([1, 0, 0, 1], [0, 0, 0, 0], scores, episodes, { beta: 0.5, eps: 1e-4 });
    expect(a[0]).toBeCloseTo(1.423223, 5);
    expect(a[1]).toBeCloseTo(1.423223, 5);
    expect(a[2]).toBeCloseTo(0.531467, 5);
    // μ = 0.5875, σ = 0.280346: a failed episode's token of score 0.2 is pushed down further.
    expect(a[3]).toBeCloseTo(-0.865881 + (0.5 * (0.2 - 0.5875)) / 0.280346, 4);
  });
  it("β = 0 is the outcome advantage alone", () => {
    const a = processRewardAdvantages([1, 0], [0, 0], Float32Array.from([1, 0, 0]), Int32Array.from([0, 0, 1]), { beta: 0, eps: 1e-4 });
    expect(a[0]).toBeCloseTo(0.707007, 5);
    expect(a[2]).toBeCloseTo(-0.707007, 5);
  });
});
