import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import type { Algorithm } from "../../src/algos/types.js";
import { policyFromSaved } from "../../src/train/load_policy.js";
import { learningNumbers } from "../helpers/algos.js";

// Small runs on Pendulum: 100 random warm-up steps, then one gradient step per env step.
const SMALL = { backend: "cpu", hidden: [16, 16], batchSize: 16, learningStarts: 100, iterationSteps: 100, totalTimesteps: 1000, bufferSize: 1000, seed: 3 };
const ALGOS = ["sac", "td3", "mdpo-off"] as const;

function create(algo: string, overrides: Record<string, unknown> = {}, env = "Pendulum-v1"): Promise<Algorithm> {
  return ALGORITHMS[algo].create(resolveConfig({ algo, env, overrides: { ...SMALL, ...overrides } }));
}

describe.each(ALGOS)("%s (continuous off-policy)", (algo) => {
  it("resumes exactly from saveState: replay buffer, targets, optimisers and generators included", async () => {
    const original = await create(algo);
    original.iterate();
    original.iterate(); // past learningStarts: the second iteration trains
    const state = structuredClone(original.saveState());
    const resumed = await create(algo);
    resumed.loadState(state);
    expect(resumed.iteration).toBe(2);
    expect(resumed.stepsDone).toBe(200);
    const next = learningNumbers([original.iterate(), original.iterate()]);
    expect(learningNumbers([resumed.iterate(), resumed.iterate()])).toEqual(next);
    expect(resumed.exportPolicy().weights).toEqual(original.exportPolicy().weights);
    expect(resumed.saveState().arrays).toEqual(original.saveState().arrays);
    original.dispose();
    resumed.dispose();
  });

  it("is deterministic per seed, trains after the warm-up and leaks no tensors", async () => {
    const run = async (seed: number) => {
      const a = await create(algo, { seed });
      const rows = [a.iterate(), a.iterate(), a.iterate()];
      const before = tf.memory().numTensors;
      a.iterate();
      expect(tf.memory().numTensors).toBe(before);
      a.dispose();
      return rows;
    };
    const rows = await run(5);
    expect(rows[0].gradientSteps).toBe(0);
    expect(rows[1].gradientSteps).toBe(100); // env steps 101…200 each follow one gradient step

    for (const key of ["qLoss", "actorLoss"]) expect(Number.isFinite(rows[2][key]), key).toBe(true);
    expect(learningNumbers(await run(5))).toEqual(learningNumbers(rows));
    expect(learningNumbers(await run(6))).not.toEqual(learningNumbers(rows));
  });

  it("exports an actor that loadPolicy rebuilds: the same deterministic actions, inside the box", async () => {
    const a = await create(algo);
    a.iterate();
    a.iterate();
    const exported = a.exportPolicy();
    const loaded = policyFromSaved(
      Object.entries(exported.weights).map(([name, data]) => ({ name, data, shape: exported.shapes?.[name] ?? [data.length] })),
      exported.spec as never,
    );
    const acting = a.actingPolicy(0);
    for (const obs of [[1, 0, 0], [0, 1, -3], [-0.5, 0.8, 7]]) {
      const mine = acting.actOne(Float32Array.from(obs), true) as Float32Array;
      const theirs = loaded.act(obs) as Float32Array;
      expect(Array.from(theirs)).toEqual(Array.from(mine));
      expect(Math.abs(mine[0])).toBeLessThanOrEqual(2);
      const sampled = loaded.act(obs, { deterministic: false }) as Float32Array;
      expect(Math.abs(sampled[0])).toBeLessThanOrEqual(2);
    }
    loaded.dispose();
    a.dispose();
  });

  it("rejects a Discrete-action env in one line that names the fix", async () => {
    await expect(create(algo, {}, "CartPole-v1")).rejects.toThrow(/needs a bounded Box action space.*Fix: use a continuous-action env/);
  });
});

describe("sac specifics", () => {
  it("autotune moves α from 1 and reports it; a fixed α stays put", async () => {
    const a = await create("sac");
    const rows = [a.iterate(), a.iterate(), a.iterate()];
    expect(rows[0].alpha).toBe(1);
    expect(rows[2].alpha).toBeLessThan(1);
    a.dispose();
    const fixed = await create("sac", { autotune: false, alpha: 0.3 });
    fixed.iterate();
    expect(fixed.iterate().alpha).toBe(0.3);
    fixed.dispose();
  });

  it("the zoo preset exists for Pendulum-v1 with the Zoo's budget and SB3's variants", () => {
    const c = resolveConfig({ algo: "sac", env: "Pendulum-v1", preset: "zoo" });
    expect(c).toMatchObject({ totalTimesteps: 20_000, policyLearningRate: 1e-3, qLearningRate: 1e-3, learningStarts: 100, alphaLoss: "log-alpha", logStdBounds: "clip" });
    const t = resolveConfig({ algo: "td3", env: "Pendulum-v1", preset: "zoo" });
    expect(t).toMatchObject({ totalTimesteps: 20_000, gamma: 0.98, learningStarts: 10_000, hidden: [400, 300] });
  });
});
