import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

// Seeded learning test on a MuJoCo env: fixed seed, returns checked, never time.
const root = mkdtempSync(join(tmpdir(), "refinery-ppo-mujoco-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("PPO learns a MuJoCo task", () => {
  it("balances InvertedPendulum-v5 (deterministic eval >= 950, the reward threshold) in 32k steps with CleanRL's continuous defaults", { timeout: 600_000 }, async () => {
    // train() loads the MuJoCo module itself (prepareEnv), as the CLI does.
    const config = resolveConfig({ algo: "ppo", preset: "cleanrl-continuous", env: "InvertedPendulum-v5", overrides: { seed: 1, totalTimesteps: 32_768, evalEpisodes: 5 } });
    const s = await train({ runDir: join(root, "ip"), algo: "ppo", config });
    expect(s.steps).toBe(32_768);
    expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(950);
  });
});
