import { describe, expect, it } from "vitest";
import { rlooAdvantages } from "../../src/algos/rloo.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations } from "../helpers/algos.js";

const SMALL = { numStarts: 2, groupSize: 4, numMinibatches: 2, totalTimesteps: 5000 };

describe("rlooAdvantages", () => {
  it("gives every step its episode's leave-one-out advantage (§3: r = [1,0,0,0] → [1, −1/3, −1/3, −1/3])", () => {
    const batch = {
      episodeReturn: Float32Array.from([1, 0, 0, 0]),
      episodeGroup: new Int32Array(4),
      episodeIndex: Int32Array.from([0, 0, 1, 2, 3, 3]),
    } as GroupBatch;
    expect(Array.from(rlooAdvantages(batch, "none"))).toEqual([1, 1, -1 / 3, -1 / 3, -1 / 3, -1 / 3].map((v) => expect.closeTo(v, 6)));
    const normalised = rlooAdvantages(batch, "batch");
    expect(normalised.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 5);
  });
});

describe("rloo", () => {
  it("LOOP (clip on) takes updateEpochs × numMinibatches clipped steps; plain RLOO one policy-gradient step", async () => {
    const loop = await create("rloo", SMALL);
    const m = loop.iterate();
    expectCommonMetrics(m);
    expect(m.policySteps).toBe(8);
    expect(loop.drainEpisodes()).toHaveLength(8);
    loop.dispose();
    const [plain] = await iterations("rloo", { ...SMALL, clip: false }, 1);
    expectCommonMetrics(plain);
    expect(plain.policySteps).toBe(1);
    expect(plain.approxKl).toBeLessThan(1e-6); // one step on fresh data: ρ ≡ 1
    expect(plain.clipFraction).toBe(0);
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    await expectDeterministic("rloo", SMALL);
  });

  it("does not leak tensors across iterations", async () => {
    await expectNoTensorLeak("rloo", { ...SMALL, selection: "d3s" });
  });

  it("resumes exactly from saveState", async () => {
    await expectExactResume("rloo", SMALL);
  });

  it("runs D³S with advantages recomputed on the kept episodes", async () => {
    const [m] = await iterations("rloo", { ...SMALL, selection: "d3s", d3s: { levels: "sample", recomputeAdvantages: true } }, 1);
    expect(m.groupKeep).toBe(2);
    expect(m.selectedFraction).toBeLessThan(1);
  });
});
