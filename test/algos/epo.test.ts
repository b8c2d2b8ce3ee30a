import { describe, expect, it } from "vitest";
import { create, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations, learningNumbers } from "../helpers/algos.js";

const SMALL = { numStarts: 2, groupSize: 4, numMinibatches: 2, totalTimesteps: 5000 };
// Short episodes bucketed into 2 turns, so minibatches hold turn-1 steps and the smoothing
// penalty applies; κ_l = κ_r puts every step outside the (empty) band.
const SMOOTHING = { ...SMALL, maxEpisodeSteps: 20, turns: 2, kappaLow: 1, kappaHigh: 1, entropyCoef: 0.1 };

describe("epo", () => {
  it("runs GRPO with EPO's entropy term and appends one per-turn entropy vector per iteration", async () => {
    const algo = await create("epo", SMALL);
    expectCommonMetrics(algo.iterate());
    algo.iterate();
    const history = algo.saveState().json.entropyHistory as { iterations: number; turns: number; sums: number[] };
    expect(history.iterations).toBe(2);
    expect(history.turns).toBe(50);
    // Fresh CartPole episodes are short: only the first turns (10 steps each) are reached; the
    // rest repeat the last reached turn's entropy, all near ln 2 per iteration.
    for (const s of history.sums) expect(s / 2).toBeGreaterThan(0.5);
    algo.dispose();
  });

  it("keeps the entropy higher with a larger entropy coefficient", async () => {
    const entropyAfter = async (entropyCoef: number) => (await iterations("epo", { ...SMALL, entropyCoef, learningRate: 3e-3 }, 6))[5].entropy;
    expect(await entropyAfter(1)).toBeGreaterThan(await entropyAfter(0));
  });

  it("as-coded smoothing shifts only the loss value (no gradient); the differentiable form changes the update", async () => {
    const base = learningNumbers(await iterations("epo", { ...SMOOTHING, smoothCoef: 0 }, 2));
    expect(learningNumbers(await iterations("epo", { ...SMOOTHING, smoothCoef: 1, smoothing: "as-coded" }, 2))).toEqual(base);
    expect(learningNumbers(await iterations("epo", { ...SMOOTHING, smoothCoef: 1, smoothing: "differentiable" }, 2))).not.toEqual(base);
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    await expectDeterministic("epo", SMALL);
  });

  it("does not leak tensors across iterations", async () => {
    await expectNoTensorLeak("epo", SMOOTHING);
  });

  it("resumes exactly from saveState (entropy history included)", async () => {
    await expectExactResume("epo", { ...SMOOTHING, smoothing: "differentiable" });
  });
});
