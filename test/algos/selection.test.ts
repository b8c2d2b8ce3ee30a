import { describe, expect, it } from "vitest";
import { D3S_DEFAULTS } from "../../src/algos/group_config.js";
import { applyD3s, episodeMeans, subsetEpisodes } from "../../src/algos/selection.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";

/** A batch of one-dimensional observations (obs = step index) with the given episode lengths and groups. */
function batchOf(lengths: number[], groups: number[], groupSize: number): GroupBatch {
  const numSteps = lengths.reduce((a, b) => a + b, 0);
  const episodeStart = new Int32Array(lengths.length);
  for (let e = 1; e < lengths.length; e++) episodeStart[e] = episodeStart[e - 1] + lengths[e - 1];
  const episodeIndex = Int32Array.from(lengths.flatMap((l, e) => new Array<number>(l).fill(e)));
  return {
    numGroups: Math.max(...groups) + 1,
    groupSize,
    numEpisodes: lengths.length,
    numSteps,
    obsSize: 1,
    actSize: 1,
    discrete: true,
    obs: Float32Array.from({ length: numSteps }, (_, i) => i),
    actions: Int32Array.from({ length: numSteps }, (_, i) => i % 2),
    logProbs: Float32Array.from({ length: numSteps }, (_, i) => -i),
    rewards: new Float32Array(numSteps).fill(1),
    dones: Uint8Array.from({ length: numSteps }, (_, i) => (episodeStart.includes(i + 1) || i === numSteps - 1 ? 1 : 0)),
    episodeIndex,
    groupIndex: Int32Array.from(episodeIndex, (e) => groups[e]),
    episodeReturn: Float32Array.from(lengths),
    episodeLength: Int32Array.from(lengths),
    episodeStart,
    episodeGroup: Int32Array.from(groups),
    terminated: new Uint8Array(lengths.length).fill(1),
    truncated: new Uint8Array(lengths.length),
    finalObs: Float32Array.from(lengths, (_, e) => 100 + e),
    groupSeed: Float64Array.from({ length: Math.max(...groups) + 1 }, (_, g) => g),
  };
}

describe("subsetEpisodes", () => {
  it("keeps whole episodes in order, renumbers them and maps each step to its source", () => {
    const batch = batchOf([2, 1, 3], [0, 0, 1], 2);
    const { batch: sub, stepSource } = subsetEpisodes(batch, Uint8Array.from([1, 0, 1]));
    expect(Array.from(stepSource)).toEqual([0, 1, 3, 4, 5]);
    expect(sub.numEpisodes).toBe(2);
    expect(sub.numSteps).toBe(5);
    expect(Array.from(sub.obs)).toEqual([0, 1, 3, 4, 5]);
    expect(Array.from(sub.logProbs)).toEqual([-0, -1, -3, -4, -5]);
    expect(Array.from(sub.episodeIndex)).toEqual([0, 0, 1, 1, 1]);
    expect(Array.from(sub.episodeStart)).toEqual([0, 2]);
    expect(Array.from(sub.episodeLength)).toEqual([2, 3]);
    expect(Array.from(sub.episodeGroup)).toEqual([0, 1]);
    expect(Array.from(sub.groupIndex)).toEqual([0, 0, 1, 1, 1]);
    expect(Array.from(sub.finalObs)).toEqual([100, 102]);
    expect(sub.numGroups).toBe(2);
  });
});

describe("applyD3s", () => {
  // docs/methods.md §6: one group of six episodes with advantages [1.5, −0.5, −0.5, −0.5, 0.9, −0.9].
  const groupAdv = [1.5, -0.5, -0.5, -0.5, 0.9, -0.9];
  const lengths = [1, 2, 1, 1, 2, 1];
  const batch = batchOf(lengths, [0, 0, 0, 0, 0, 0], 6);
  const adv = Float32Array.from(lengths.flatMap((l, e) => new Array<number>(l).fill(groupAdv[e])));
  const entropy = new Float32Array(batch.numSteps).fill(1);
  const noRecompute = () => {
    throw new Error("not asked to recompute");
  };

  it("sample level: keeps the max-variance k of the group (k = 2 → {1.5, −0.9}; k = 4 → {1.5, −0.5, 0.9, −0.9})", () => {
    const at = (progress: number, keepRatioStart: number) =>
      applyD3s(batch, adv, entropy, progress, { ...D3S_DEFAULTS, levels: "sample", keepRatioStart, keepRatioEnd: 1 }, noRecompute);
    const two = at(0, 2 / 6);
    expect(two.groupKeep).toBe(2);
    expect(Array.from(episodeMeans(two.advantages, two.batch))).toEqual([1.5, -0.9].map((v) => expect.closeTo(v, 6)));
    expect(two.stepKeep).toBeNull();
    const four = at(0, 4 / 6);
    expect(Array.from(episodeMeans(four.advantages, four.batch))).toEqual([1.5, -0.5, 0.9, -0.9].map((v) => expect.closeTo(v, 6)));
    // The schedule relaxes: at the end every episode is kept.
    expect(at(1, 2 / 6).batch.numEpisodes).toBe(6);
  });

  it("never keeps fewer than minGroupKeep per group", () => {
    const r = applyD3s(batch, adv, entropy, 0, { ...D3S_DEFAULTS, levels: "sample", keepRatioStart: 0.1, minGroupKeep: 3 }, noRecompute);
    expect(r.groupKeep).toBe(3);
    expect(r.batch.numEpisodes).toBe(3);
  });

  it("step level: keeps the top |A|·H steps (§6: A = 1, H = [0.1, 2.0, 0.5, 1.2], keep 50% → steps 1 and 3)", () => {
    const steps = batchOf([4], [0], 1);
    const r = applyD3s(steps, new Float32Array(4).fill(1), Float32Array.from([0.1, 2.0, 0.5, 1.2]), 0, { ...D3S_DEFAULTS, levels: "step", keepRatioStart: 0.5 }, noRecompute);
    expect(Array.from(r.stepKeep as Uint8Array)).toEqual([0, 1, 0, 1]);
    expect(r.batch).toBe(steps);
  });

  it("recomputes advantages on the kept episodes when asked", () => {
    const r = applyD3s(batch, adv, entropy, 0, { ...D3S_DEFAULTS, levels: "sample", keepRatioStart: 2 / 6, recomputeAdvantages: true }, (sub) =>
      new Float32Array(sub.numSteps).fill(sub.numEpisodes),
    );
    expect(Array.from(r.advantages)).toEqual([2, 2]);
  });
});
