import { describe, expect, it } from "vitest";
import { GRPO_DEFAULTS, grpoAdvantages, type GRPOConfig } from "../../src/algos/grpo.js";
import { resolveConfig } from "../../src/algos/index.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations, smallConfig } from "../helpers/algos.js";
import { aggregateRows, clippedLoss, episodeSteps, forward, lossAt, record } from "../helpers/update_probe.js";

const SMALL = { numStarts: 2, groupSize: 4, numMinibatches: 2, totalTimesteps: 5000 };

/** One group of episodes with the given per-step rewards (for the advantage functions). */
function batchOf(rewards: number[][]): GroupBatch {
  const episodeLength = Int32Array.from(rewards, (r) => r.length);
  const episodeStart = new Int32Array(rewards.length);
  for (let e = 1; e < rewards.length; e++) episodeStart[e] = episodeStart[e - 1] + episodeLength[e - 1];
  const flat = rewards.flat();
  return {
    numGroups: 1,
    groupSize: rewards.length,
    numEpisodes: rewards.length,
    numSteps: flat.length,
    rewards: Float32Array.from(flat),
    episodeIndex: Int32Array.from(rewards.flatMap((r, e) => r.map(() => e))),
    groupIndex: new Int32Array(flat.length),
    episodeReturn: Float32Array.from(rewards, (r) => r.reduce((a, b) => a + b, 0)),
    episodeLength,
    episodeStart,
    episodeGroup: new Int32Array(rewards.length),
  } as GroupBatch;
}

const ADV = { rewardMode: "outcome", gamma: 1, advantageScale: "std", advantageStd: "unbiased", advantageEps: 1e-4, advantageSingleton: "zero" } as const;

describe("grpoAdvantages", () => {
  it("gives every step its episode's group-relative return (§2: r = [1,0,0,1] → ±0.865875)", () => {
    const adv = grpoAdvantages(batchOf([[1], [0, 0], [0], [0.5, 0.5]]), ADV);
    expect(Array.from(adv)).toEqual([0.865875, -0.865875, -0.865875, -0.865875, 0.865875, 0.865875].map((v) => expect.closeTo(v, 5)));
  });

  it("skips the std division with scale none (Dr. GRPO: r = [1,0,0,0] → [0.75, −0.25, …])", () => {
    const adv = grpoAdvantages(batchOf([[1], [0], [0], [0]]), { ...ADV, advantageScale: "none" });
    expect(Array.from(adv)).toEqual([0.75, -0.25, -0.25, -0.25]);
  });

  it("uses TRL's eps 1e-4 by default and verl's 1e-6 with --preset verl, both with the unbiased std", () => {
    // r = [1,0,0,1]: unbiased std 0.57735, so A = 0.5/(0.57735 + eps).
    const batch = batchOf([[1], [0], [0], [1]]);
    const trl = resolveConfig({ algo: "grpo" }) as GRPOConfig;
    const verl = resolveConfig({ algo: "grpo", preset: "verl" }) as GRPOConfig;
    expect([trl.advantageStd, trl.advantageEps, verl.advantageStd, verl.advantageEps]).toEqual(["unbiased", 1e-4, "unbiased", 1e-6]);
    expect(grpoAdvantages(batch, trl)[0]).toBeCloseTo(0.865875, 6);
    expect(grpoAdvantages(batch, verl)[0]).toBeCloseTo(0.5 / (Math.sqrt(1 / 3) + 1e-6), 6); // 0.866024
    expect(verl.advantageSingleton).toBe("zero"); // refused without D³S recomputing, so not in the preset
  });

  it("gives a group of one advantage 0 by default, and its reward (verl: mean 0, std 1) with advantageSingleton raw", () => {
    // Episode 0 alone in group 0; episodes 1 and 2 (returns 1 and 0) in group 1: mean 0.5,
    // unbiased std √0.5, so ±0.5/(0.707107 + 1e-4) = ±0.999859 whatever the singleton rule.
    const batch = batchOf([[2], [1], [0]]);
    batch.episodeGroup = Int32Array.from([0, 1, 1]);
    const pair = 0.5 / (Math.SQRT1_2 + 1e-4);
    expect(Array.from(grpoAdvantages(batch, ADV))).toEqual([0, pair, -pair].map((v) => expect.closeTo(v, 5)));
    expect(Array.from(grpoAdvantages(batch, { ...ADV, advantageSingleton: "raw" }))).toEqual([2 / (1 + 1e-4), pair, -pair].map((v) => expect.closeTo(v, 5)));
    // Without the std division verl subtracts its mean 0: the reward itself.
    expect(Array.from(grpoAdvantages(batch, { ...ADV, advantageScale: "none", advantageSingleton: "raw" }))).toEqual([2, 0.5, -0.5]);
    expect(Array.from(grpoAdvantages(batch, { ...ADV, advantageScale: "none" }))).toEqual([0, 0.5, -0.5]);
  });

  it("normalises returns-to-go over all steps of the group in rewardMode per-step", () => {
    // Returns-to-go (γ = 1): [2, 1] and [1]; mean 4/3, unbiased std 0.57735.
    const adv = grpoAdvantages(batchOf([[1, 1], [1]]), { ...ADV, rewardMode: "per-step" });
    const std = Math.sqrt(((2 - 4 / 3) ** 2 + 2 * (1 - 4 / 3) ** 2) / 2);
    expect(Array.from(adv)).toEqual([2, 1, 1].map((g) => expect.closeTo((g - 4 / 3) / (std + 1e-4), 5)));
  });
});

describe("grpo", () => {
  it("runs an iteration on CartPole-v1: B·G episodes, μ × minibatch steps, sane metrics", async () => {
    const algo = await create("grpo", SMALL);
    const m = algo.iterate();
    expectCommonMetrics(m);
    expect(algo.drainEpisodes()).toHaveLength(8);
    expect(m.policySteps).toBe(GRPO_DEFAULTS.updateEpochs * 2);
    expect(m.entropy).toBeGreaterThan(0.6); // a fresh 2-action policy is near ln 2
    expect(m.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    expect(m.selectedFraction).toBe(1);
    expect(m).not.toHaveProperty("klRef"); // β = 0: no reference policy
    algo.dispose();
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    await expectDeterministic("grpo", SMALL);
  });

  it("does not leak tensors across iterations (with KL and D³S on)", async () => {
    await expectNoTensorLeak("grpo", { ...SMALL, beta: 0.04, selection: "d3s" });
  });

  it("resumes exactly from saveState (reference policy and all)", async () => {
    await expectExactResume("grpo", { ...SMALL, beta: 0.04, refUpdateEvery: 1, selection: "d3s" });
  });

  it("adds the KL to a reference: the initial policy, or the policy of refUpdateEvery iterations ago", async () => {
    for (const refUpdateEvery of [0, 1, 2]) {
      const algo = await create("grpo", { ...SMALL, beta: 0.04, refUpdateEvery });
      const referenceWeights = () => {
        const reference: Record<string, Float32Array> = {};
        for (const [k, v] of Object.entries(algo.saveState().arrays)) if (k.startsWith("reference/")) reference[k.slice(10)] = v;
        return reference;
      };
      const initial = algo.exportPolicy().weights;
      const m1 = algo.iterate();
      const afterFirst = algo.exportPolicy().weights;
      const m2 = algo.iterate();
      expect(m1.klRef).toBeGreaterThanOrEqual(0);
      expect(m2.klRef).toBeGreaterThan(0);
      expect(referenceWeights()).toEqual(refUpdateEvery === 1 ? afterFirst : initial);
      // Every 2 iterations: the reference moves at the third iteration's start, not before.
      const afterSecond = algo.exportPolicy().weights;
      algo.iterate();
      expect(referenceWeights()).toEqual(refUpdateEvery === 0 ? initial : afterSecond);
      algo.dispose();
    }
  });

  it("changes the update with the aggregation mode and with per-step rewards, and each step lowers its own loss on the batch", async () => {
    const gradNorms: number[] = [];
    for (const o of [{}, { lossAggregation: "bnpo" }, { lossAggregation: "dr_grpo" }, { rewardMode: "per-step" }]) {
      // One small step (one epoch, one minibatch): the loss it descends must fall on the batch.
      const overrides = { ...SMALL, ...o, numMinibatches: 1, updateEpochs: 1 };
      const r = await record<GroupBatch>("grpo", overrides, "cpu");
      const c = smallConfig("grpo", overrides) as GRPOConfig;
      const b = r.batches[0];
      const { policy } = r.internals;
      const adv = grpoAdvantages(b, c);
      const episodes = Array.from({ length: b.numEpisodes }, (_, e) => episodeSteps(b, e));
      const loss = () => aggregateRows(clippedLoss(forward(policy, b.obs, b.actions, b.numSteps).logProb, b.logProbs, adv, c.clipLow, c.clipHigh), episodes, c.lossAggregation, 500);
      const after = policy.getWeights();
      expect(lossAt(policy, after, loss)).toBeLessThan(lossAt(policy, r.policySteps[0].weights, loss));
      gradNorms.push(Math.hypot(...r.policySteps[0].grads.flatMap((g) => Array.from(g))));
      r.algo.dispose();
    }
    expect(new Set(gradNorms).size).toBe(4); // each mode weighs the steps differently
  });

  it("down-samples with D³S: sample level keeps k of G per group, step level keeps the scheduled fraction", async () => {
    const [sample] = await iterations("grpo", { ...SMALL, selection: "d3s", d3s: { levels: "sample" } }, 1);
    expect(sample.keepRatio).toBeCloseTo(0.5, 10); // d3sSchedule at progress 0
    expect(sample.groupKeep).toBe(2); // ⌈0.5·4⌉
    expect(sample.selectedFraction).toBeGreaterThan(0);
    expect(sample.selectedFraction).toBeLessThan(1);
    const [step] = await iterations("grpo", { ...SMALL, selection: "d3s", d3s: { levels: "step" } }, 1);
    expect(step.groupKeep).toBe(4);
    expect(step.selectedFraction).toBeGreaterThanOrEqual(0.5);
    expect(step.selectedFraction).toBeLessThan(0.55); // ⌈0.5·n⌉ of n steps
    const [both] = await iterations("grpo", { ...SMALL, selection: "d3s" }, 1);
    expect(both.selectedFraction).toBeLessThan(sample.selectedFraction);
  });

  it("trains a Box-action env (Gaussian policy) from groups of Pendulum-v1 episodes", async () => {
    const [m] = await iterations("grpo", { numStarts: 1, groupSize: 2, numMinibatches: 1, updateEpochs: 1 }, 1, "Pendulum-v1");
    expect(m.entropy).toBeCloseTo(0.5 + 0.5 * Math.log(2 * Math.PI), 2); // log-std 0
    expect(m.iterationSteps).toBe(400); // two 200-step episodes
    expect(m.zeroVarianceGroups).toBe(0);
  });
});
