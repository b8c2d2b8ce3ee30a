import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { explainedVariance, PPO } from "../../src/algos/ppo.js";
import type { PPOConfig } from "../../src/algos/ppo_config.js";

const small = (overrides: Record<string, unknown> = {}) =>
  resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numSteps: 32, totalTimesteps: 1280, backend: "cpu", ...overrides } }) as PPOConfig;

describe("PPO", () => {
  it("does not leak tensors across iterations", async () => {
    const ppo = await PPO.create(small());
    ppo.iterate(); // Adam's state and the variables exist after the first update
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) ppo.iterate();
    expect(tf.memory().numTensors).toBe(before);
    ppo.dispose();
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    const run = async (seed: number) => {
      const ppo = await PPO.create(small({ seed }));
      const rows = [ppo.iterate(), ppo.iterate()].map((m) => [m.policyLoss, m.valueLoss, m.entropy, m.approxKl]);
      ppo.dispose();
      return rows;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it("reports the metrics of an update with sane values", async () => {
    const ppo = await PPO.create(small());
    const m = ppo.iterate();
    expect(m.entropy).toBeGreaterThan(0.6); // near ln 2 = 0.693 for a fresh 2-action policy
    expect(m.entropy).toBeLessThanOrEqual(Math.log(2) + 1e-6);
    expect(m.approxKl).toBeGreaterThanOrEqual(0);
    expect(m.clipFraction).toBeGreaterThanOrEqual(0);
    expect(m.clipFraction).toBeLessThanOrEqual(1);
    expect(m.epochs).toBe(4);
    expect(m.learningRate).toBeCloseTo(2.5e-4, 10); // first update of an annealed schedule
    const m2 = ppo.iterate();
    expect(m2.learningRate).toBeCloseTo(2.5e-4 * (1 - 1 / ppo.totalIterations), 10);
    ppo.dispose();
  });

  it("stops the epochs early when approx-KL exceeds targetKl", async () => {
    const ppo = await PPO.create(small({ targetKl: 1e-9, learningRate: 1e-2 }));
    const m = ppo.iterate();
    expect(m.epochs).toBe(1);
    ppo.dispose();
  });

  it("trains a Box-action env (Gaussian policy) with normalisation wrappers", async () => {
    const cfg = resolveConfig({ algo: "ppo", env: "Pendulum-v1", preset: "cleanrl-continuous", overrides: { numSteps: 64, totalTimesteps: 256, numMinibatches: 2, backend: "cpu" } }) as PPOConfig;
    const ppo = await PPO.create(cfg);
    const m = ppo.iterate();
    // Entropy of a 1-D Gaussian with log-std 0: ½ + ½·ln 2π ≈ 1.4189.
    expect(m.entropy).toBeCloseTo(0.5 + 0.5 * Math.log(2 * Math.PI), 2);
    expect(Number.isFinite(m.valueLoss)).toBe(true);
    ppo.dispose();
  });
});

describe("explainedVariance", () => {
  it("is 1 for a perfect critic, 0 for a constant one at the mean, NaN for constant returns", () => {
    const ret = Float32Array.from([1, 2, 3, 4]);
    expect(explainedVariance(Float32Array.from([1, 2, 3, 4]), ret)).toBeCloseTo(1, 10);
    expect(explainedVariance(Float32Array.from([2.5, 2.5, 2.5, 2.5]), ret)).toBeCloseTo(0, 10);
    expect(explainedVariance(Float32Array.from([0, 0]), Float32Array.from([1, 1]))).toBeNaN();
  });
});
