import { describe, expect, it } from "vitest";
import type { MDPO } from "../../src/algos/mdpo.js";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations } from "../helpers/algos.js";
import { record } from "../helpers/update_probe.js";

// K = totalTimesteps / (numEnvs·numSteps) = 10 iterations.
const SMALL = { numEnvs: 2, numSteps: 128, totalTimesteps: 2560, sgdSteps: 3, vfIters: 2, valueMinibatchSize: 64 };

describe("mdpo", () => {
  it("anneals t_k as the authors' code does by default: t_1 = 1 + 1/K, then 1/K less each iteration", async () => {
    const rows = await iterations("mdpo", SMALL, 3);
    expect(rows.map((m) => m.stepSize)).toEqual([1.1, 1, 0.9].map((v) => expect.closeTo(v, 12)));
    expect(rows[2].klWeight).toBeCloseTo(1 / 0.9, 12);
    for (const m of rows) expectCommonMetrics(m, { clip: false }); // MDPO has no clip range to count against
  });

  it("anneals t_k = 1 − (k − 1)/K with stepSchedule paper and reports the KL weight 1/t_k", async () => {
    const rows = await iterations("mdpo", { ...SMALL, stepSchedule: "paper" }, 3);
    expect(rows.map((m) => m.stepSize)).toEqual([1, 0.9, 0.8].map((v) => expect.closeTo(v, 12)));
    expect(rows[2].klWeight).toBeCloseTo(1.25, 12);
    for (const m of rows) {
      expectCommonMetrics(m, { clip: false });
      expect(m.zeroVarianceGroups).toBeNaN(); // the step collector has no groups
      expect(Number.isFinite(m.valueLoss)).toBe(true);
    }
  });

  it("compares against the frozen π_θk: the first SGD step sees KL 0 and ρ ≡ 1, later ones move away", async () => {
    const [one] = await iterations("mdpo", { ...SMALL, sgdSteps: 1 }, 1);
    expect(one.kl).toBeLessThan(1e-7);
    expect(one.approxKl).toBeLessThan(1e-6);
    const [three] = await iterations("mdpo", { ...SMALL, sgdSteps: 3 }, 1);
    expect(three.kl).toBeGreaterThan(1e-7);
    expect(three.approxKl).toBeGreaterThan(0);
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    await expectDeterministic("mdpo", SMALL);
  });

  it("does not leak tensors across iterations", async () => {
    await expectNoTensorLeak("mdpo", SMALL);
  });

  it("resumes exactly from saveState", async () => {
    await expectExactResume("mdpo", SMALL);
  });

  it("trains a Box-action env with the closed-form Gaussian KL", async () => {
    const algo = await create("mdpo", { numEnvs: 1, numSteps: 200, totalTimesteps: 2000, sgdSteps: 2, vfIters: 1 }, "Pendulum-v1");
    const m = algo.iterate();
    expect(m.entropy).toBeCloseTo(0.5 + 0.5 * Math.log(2 * Math.PI), 2);
    expect(m.kl).toBeGreaterThan(0);
    algo.dispose();
  });

  it("scores the actions under the masks they were chosen with: ρ ≡ 1 at the first SGD step on a masked env", async () => {
    const [m] = await iterations("mdpo", { numSteps: 64, totalTimesteps: 640, sgdSteps: 1, vfIters: 1, valueMinibatchSize: 64, actionMasking: "on" }, 1, "MiniGrid-DoorKey-5x5-v0");
    expect(m.approxKl).toBeLessThan(1e-6);
    expect(m.kl).toBeLessThan(1e-7);
  });

  it("runs a budget shorter than one batch as one iteration of K = 1 (t = 2 with the authors' schedule, 1 with the paper's)", async () => {
    const [authors] = await iterations("mdpo", { numSteps: 32, totalTimesteps: 8, sgdSteps: 1, vfIters: 1 }, 1);
    expect(authors.stepSize).toBe(2);
    const [paper] = await iterations("mdpo", { numSteps: 32, totalTimesteps: 8, sgdSteps: 1, vfIters: 1, stepSchedule: "paper" }, 1);
    expect(paper.stepSize).toBe(1);
  });

  it("fits the critic as configured: the authors drop the last partial minibatch, cleanrl keeps it", async () => {
    // 20 steps in minibatches of 8: 2 critic steps per epoch (authors) or 3 (cleanrl), over 2 epochs.
    const o = { numEnvs: 1, numSteps: 20, totalTimesteps: 200, sgdSteps: 1, vfIters: 2, valueMinibatchSize: 8 };
    for (const [criticUpdate, steps] of [["authors", 4], ["cleanrl", 6]] as const) {
      const r = await record("mdpo", { ...o, criticUpdate }, "cpu");
      expect(r.criticSteps, criticUpdate).toHaveLength(steps);
      r.algo.dispose();
    }
  });

  it("reports each rollout's steps and episodes to the onRollout hook", async () => {
    const algo = (await create("mdpo", { numEnvs: 2, numSteps: 16, totalTimesteps: 320, sgdSteps: 1, vfIters: 1 })) as MDPO;
    const seen: { steps: number; episodes: unknown[] }[] = [];
    algo.setHooks({ onRollout: (r) => seen.push(r) });
    algo.iterate();
    expect(seen).toHaveLength(1);
    expect(seen[0].steps).toBe(32);
    expect(seen[0].episodes).toEqual(algo.drainEpisodes());
    algo.dispose();
  });
});
