import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

// A seeded learning test: a fixed seed and backend, returns checked, never time.
const root = mkdtempSync(join(tmpdir(), "refinery-dqn-learn-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("DQN learns", () => {
  it("solves CartPole-v1 (a deterministic evaluation of 10 episodes ≥ 475) within 100k steps", async () => {
    // The Zoo's CartPole settings with a 64-64 network (a quarter of the Zoo's 256-256 cost per
    // gradient step), evaluated after every 1000 steps; the run stops once solved.
    const config = resolveConfig({
      algo: "dqn",
      preset: "zoo",
      env: "CartPole-v1",
      overrides: { seed: 1, hidden: [64, 64], totalTimesteps: 50_000, backend: "cpu", evalEvery: 1, evalEpisodes: 10, checkpointSeconds: 0 },
    });
    let solvedAt: number | null = null;
    const s = await train({
      runDir: join(root, "cartpole"),
      algo: "dqn",
      config,
      store: false,
      callbacks: {
        onEval: (e) => {
          if (solvedAt === null && e.meanReturn >= 475) solvedAt = e.step;
        },
        onUpdate: () => solvedAt === null,
      },
    });
    expect(solvedAt).not.toBeNull();
    expect(solvedAt as unknown as number).toBeLessThanOrEqual(100_000);
    expect(s.steps).toBeLessThanOrEqual(100_000);
    // A generous limit, not a claim about speed: about 36k steps of training and 36 evaluations
    // take ~1-2 minutes on two idle cores and many more on a loaded machine.
  }, 1_800_000);
});
