import { describe, expect, it } from "vitest";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations } from "../helpers/algos.js";

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
});
