import { describe, expect, it } from "vitest";
import { reinforceAdvantages } from "../../src/algos/reinforce.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations } from "../helpers/algos.js";

const SMALL = { numStarts: 4, totalTimesteps: 5000 };

/** Two episodes: [1, 1] terminated, [1, 1, 1] truncated (final observation row 1). */
const batch = {
  numEpisodes: 2,
  numSteps: 5,
  rewards: Float32Array.from([1, 1, 1, 1, 1]),
  values: Float32Array.from([0.5, 0.5, 1, 1, 1]),
  episodeStart: Int32Array.from([0, 2]),
  episodeLength: Int32Array.from([2, 3]),
  truncated: Uint8Array.from([0, 1]),
  finalObs: Float32Array.from([7, 8]),
} as unknown as GroupBatch;
// A stand-in critic: V(final obs) = 10 for the truncated episode's final observation.
const ctx = { values: (obs: Float32Array, n: number) => Float32Array.from({ length: n }, (_, i) => (obs[i] === 8 ? 10 : 0)) };

describe("reinforceAdvantages", () => {
  it("is the discounted return-to-go without a baseline", () => {
    const { advantages, valueTargets } = reinforceAdvantages(batch, { gamma: 0.5, baseline: "none", normAdv: false }, ctx);
    expect(Array.from(advantages)).toEqual([1.5, 1, 1.75, 1.5, 1]);
    expect(valueTargets).toBeUndefined();
  });

  it("subtracts V(s_t) and bootstraps truncated episodes from V(final obs) with the value baseline", () => {
    const { advantages, valueTargets } = reinforceAdvantages(batch, { gamma: 0.5, baseline: "value", normAdv: false }, ctx);
    // Truncated episode, backwards: G_4 = 1 + 0.5·10 = 6, G_3 = 1 + 0.5·6 = 4, G_2 = 1 + 0.5·4 = 3.
    expect(Array.from(valueTargets as Float32Array)).toEqual([1.5, 1, 3, 4, 6]);
    expect(Array.from(advantages)).toEqual([1, 0.5, 2, 3, 5]);
  });
});

describe("reinforce", () => {
  it("runs one policy-gradient step per iteration on groups of one episode, fitting the critic", async () => {
    const algo = await create("reinforce", SMALL);
    const m = algo.iterate();
    expectCommonMetrics(m);
    expect(m.policySteps).toBe(1);
    expect(m.approxKl).toBeLessThan(1e-6);
    expect(m.zeroVarianceGroups).toBeNaN(); // G = 1: no spread within a group to measure
    expect(algo.drainEpisodes()).toHaveLength(4);
    expect(m.valueLoss).toBeGreaterThan(0);
    algo.dispose();
  });

  it("fits the critic: its loss on fresh batches falls over iterations", async () => {
    const rows = await iterations("reinforce", { ...SMALL, valueLearningRate: 3e-3 }, 8);
    expect(rows[7].valueLoss).toBeLessThan(rows[0].valueLoss);
  });

  it("has no critic without a baseline", async () => {
    const [m] = await iterations("reinforce", { ...SMALL, baseline: "none" }, 1);
    expect(m).not.toHaveProperty("valueLoss");
    expectCommonMetrics(m);
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    await expectDeterministic("reinforce", SMALL);
  });

  it("does not leak tensors across iterations", async () => {
    await expectNoTensorLeak("reinforce", SMALL);
  });

  it("resumes exactly from saveState (critic optimiser included)", async () => {
    await expectExactResume("reinforce", { ...SMALL, groupSize: 2 });
  });
});
