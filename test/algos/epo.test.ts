import { describe, expect, it } from "vitest";
import { ALGORITHMS } from "../../src/algos/index.js";
import { create, smallConfig, expectCommonMetrics, expectDeterministic, expectExactResume, expectNoTensorLeak, iterations, learningNumbers } from "../helpers/algos.js";

const SMALL = { numStarts: 2, groupSize: 4, numMinibatches: 2, totalTimesteps: 5000 };
// Short episodes bucketed into 2 turns, so minibatches hold turn-1 steps and the smoothing
// penalty applies; κ_l = κ_r puts every step outside the (empty) band.
const SMOOTHING = { ...SMALL, maxEpisodeSteps: 20, turns: 2, kappaLow: 1, kappaHigh: 1, entropyCoef: 0.1 };

/** The learning numbers without EPO's own diagnostics (P depends on the smoothing mode, not the update). */
const updateNumbers = (rows: Record<string, number>[]) => learningNumbers(rows.map(({ epoPenalty: _p, epoOutOfBand: _o, ...rest }) => rest));

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
    // resolveConfig refuses the band options with as-coded smoothing (they cannot act); build
    // the configs past it to show why.
    const run = async (smoothCoef: number, smoothing: string) => {
      const algo = await ALGORITHMS.epo.create({ ...smallConfig("epo", { ...SMOOTHING, smoothCoef }), smoothing });
      const rows = [algo.iterate(), algo.iterate()];
      algo.dispose();
      return updateNumbers(rows);
    };
    const base = await run(0, "as-coded");
    expect(await run(1, "as-coded")).toEqual(base);
    expect(await run(1, "differentiable")).not.toEqual(base);
  });

  it("refuses options that cannot act: the band with as-coded smoothing, outRangePenalty with differentiable", () => {
    expect(() => smallConfig("epo", { smoothing: "as-coded", kappaLow: 0.5 })).toThrow(/kappaLow = 0.5 \(from the overrides\) has no effect on epo: smoothing is "as-coded"/);
    expect(() => smallConfig("epo", { outRangePenalty: 0.5 })).toThrow(/outRangePenalty = 0.5 .* has no effect/);
    expect(() => smallConfig("epo", { smoothing: "as-coded" })).not.toThrow(); // the preset's one key
    expect(() => smallConfig("epo", { smoothing: "as-coded", kappaLow: 0.8 })).not.toThrow(); // a default value is harmless
  });

  it("defaults to the differentiable penalty, so default epo is not grpo with bnpo and an entropy bonus", async () => {
    const grpoAsEpo = { ...SMOOTHING, lossAggregation: "bnpo", entCoef: 0.1 };
    const { kappaLow: _l, kappaHigh: _h, turns: _t, entropyCoef: _c, ...grpoConfig } = grpoAsEpo;
    const grpo = learningNumbers(await iterations("grpo", grpoConfig, 2)).flat();
    const close = grpo.map((v) => expect.closeTo(v, 6)); // same update up to float summation order
    const asCoded = await ALGORITHMS.epo.create({ ...smallConfig("epo", SMOOTHING), smoothing: "as-coded" }); // past the inert-key check
    const asCodedRows = [asCoded.iterate(), asCoded.iterate()];
    asCoded.dispose();
    expect(updateNumbers(asCodedRows).flat()).toEqual(close);
    expect(updateNumbers(await iterations("epo", SMOOTHING, 2)).flat()).not.toEqual(close);
  });

  it("logs the smoothing penalty P and the fraction of steps outside the band every iteration", async () => {
    // κ_l = κ_r = 1: the band is empty, every step is outside it.
    const [m] = await iterations("epo", SMOOTHING, 1);
    expect(m.epoOutOfBand).toBe(1);
    expect(m.epoPenalty).toBeGreaterThan(0);
    // A wide band around Ĥ holds every step: nothing outside, P = 0.
    const [wide] = await iterations("epo", { ...SMOOTHING, kappaLow: 0, kappaHigh: 100 }, 1);
    expect(wide.epoOutOfBand).toBe(0);
    expect(wide.epoPenalty).toBe(0);
    const [plain] = await iterations("grpo", SMALL, 1);
    expect(plain).not.toHaveProperty("epoPenalty");
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
