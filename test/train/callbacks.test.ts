import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-callbacks-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("trainer callbacks", () => {
  it("calls onStep per vector step, onRollout per rollout, onUpdate per update, onEval and onCheckpoint", async () => {
    const config = resolveConfig({
      algo: "ppo",
      env: "CartPole-v1",
      overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * 5, evalEvery: 2, evalEpisodes: 1, checkpointEvery: 2, backend: "cpu" },
    });
    const seen = { steps: 0, stepRows: 0, rollouts: 0, rolloutSteps: 0, updates: 0, evals: 0, checkpoints: 0, episodes: 0 };
    const s = await train({
      runDir: join(root, "ppo"),
      algo: "ppo",
      config,
      store: false,
      callbacks: {
        onStep: ({ obs, rewards }) => {
          seen.steps++;
          seen.stepRows += rewards.length;
          expect(obs.length).toBe(2 * 4);
        },
        onRollout: (r) => {
          seen.rollouts++;
          seen.rolloutSteps += r.steps;
          seen.episodes += r.episodes.length;
        },
        onUpdate: () => void seen.updates++,
        onEval: () => void seen.evals++,
        onCheckpoint: () => void seen.checkpoints++,
      },
    });
    expect(seen.rollouts).toBe(5);
    expect(seen.updates).toBe(5);
    expect(seen.steps).toBe(5 * 16);
    expect(seen.stepRows).toBe(5 * 32);
    expect(seen.rolloutSteps).toBe(s.steps);
    expect(seen.evals).toBe(2 + 1); // iterations 2 and 4, plus the final one
    expect(seen.checkpoints).toBe(1 + 2 + 1); // before training, iterations 2 and 4, the end
  });

  it("stops training when onUpdate returns false", async () => {
    const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * 10, evalEpisodes: 1, backend: "cpu" } });
    const s = await train({ runDir: join(root, "stop"), algo: "ppo", config, store: false, callbacks: { onUpdate: (row) => row.iteration < 3 } });
    expect(s.iterations).toBe(3);
  });

  it("calls onRollout for group algorithms", async () => {
    const config = resolveConfig({ algo: "grpo", env: "CartPole-v1", overrides: { totalTimesteps: 200, evalEpisodes: 1, backend: "cpu" } });
    let rollouts = 0;
    let episodes = 0;
    await train({ runDir: join(root, "grpo"), algo: "grpo", config, store: false, callbacks: { onRollout: (r) => { rollouts++; episodes += r.episodes.length; } } });
    expect(rollouts).toBeGreaterThan(0);
    expect(episodes).toBe(rollouts * 8); // one group of G = 8 episodes per iteration by default
  });
});

describe("saved policy", () => {
  it("stores each parameter with its shape in model.json, so tfjs loads proper tensors", async () => {
    const { readFileSync } = await import("node:fs");
    const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32, evalEpisodes: 1, backend: "cpu" } });
    const s = await train({ runDir: join(root, "shapes"), algo: "ppo", config, store: false });
    const model = JSON.parse(readFileSync(join(s.runDir, "policy", "model.json"), "utf8")) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
    const shapes = Object.fromEntries(model.weightsManifest[0].weights.map((w) => [w.name, w.shape]));
    expect(shapes["actor/dense_0/kernel"]).toEqual([4, 64]);
    expect(shapes["actor/dense_0/bias"]).toEqual([64]);
    expect(shapes["actor/dense_2/kernel"]).toEqual([64, 2]);
    expect(shapes["critic/dense_2/kernel"]).toEqual([64, 1]);
  });
});

describe("a failure in the final evaluation", () => {
  it("loses no training: the final checkpoint is written first, and resuming only evaluates and saves", async () => {
    const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * 3, evalEpisodes: 1, backend: "cpu" } });
    const runDir = join(root, "final-eval");
    await expect(
      train({
        runDir,
        algo: "ppo",
        config,
        store: false,
        callbacks: {
          onEval: () => {
            throw new Error("evaluation failed");
          },
        },
      }),
    ).rejects.toThrow(/evaluation failed/);
    let updates = 0;
    const s = await train({ runDir, resume: true, store: false, callbacks: { onUpdate: () => void updates++ } });
    expect(updates).toBe(0);
    expect(s.iterations).toBe(3);
    expect(Number.isFinite(s.finalEval.meanReturn)).toBe(true);
  });
});
