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
    // batch: the four episode values [1, −1/3, −1/3, −1/3] have mean 0 and unbiased std 2/3.
    expect(Array.from(rlooAdvantages(batch, "batch"))).toEqual([1.5, 1.5, -0.5, -0.5, -0.5, -0.5].map((v) => expect.closeTo(v, 5)));
  });

  it("normalises per episode, so a long episode cannot flip a shorter good one's sign", () => {
    // CartPole-like: lengths track returns. LOO: 4/3·(r − 205) = [393.33, 126.67, −260, −260].
    const returns = [500, 300, 10, 10];
    const episodeIndex = Int32Array.from(returns.flatMap((len, e) => Array.from({ length: len }, () => e)));
    const batch = { episodeReturn: Float32Array.from(returns), episodeGroup: new Int32Array(4), episodeIndex } as GroupBatch;
    const loo = [393.3333, 126.6667, -260, -260];
    const std = Math.sqrt(loo.reduce((a, v) => a + v * v, 0) / 3); // mean 0, unbiased
    const adv = rlooAdvantages(batch, "batch");
    expect(adv[500]).toBeCloseTo(126.6667 / std, 4); // episode 2's first step: +0.397
    expect(adv[500]).toBeGreaterThan(0); // per step (weighted by length) it would be −153 before scaling
    expect(adv[0]).toBeCloseTo(393.3333 / std, 4);
    expect(adv[819]).toBeCloseTo(-260 / std, 4);
  });
});

describe("rloo defaults", () => {
  it("aggregate the loss as the reference does: the mean over all steps (bnpo)", async () => {
    const { RLOO_DEFAULTS } = await import("../../src/algos/rloo.js");
    expect(RLOO_DEFAULTS.lossAggregation).toBe("bnpo");
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
