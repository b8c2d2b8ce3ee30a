import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

// Seeded learning tests on grid worlds: fixed seeds, returns checked, never time.
// Both use the registered default observation (the one-hot 7×7 view, Box(980)). The long
// timeouts are for a loaded CI machine; on 2 idle cores the pair takes about 1.5 min of CPU.
const root = mkdtempSync(join(tmpdir(), "refinery-grid-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("PPO learns grid worlds", () => {
  it("solves MiniGrid-Empty-8x8-v0 with CleanRL's defaults in 60k steps (greedy eval ≥ 0.95; optimum 0.961)", async () => {
    const config = resolveConfig({ algo: "ppo", env: "MiniGrid-Empty-8x8-v0", overrides: { seed: 1, totalTimesteps: 59_904, evalEpisodes: 10 } });
    const s = await train({ runDir: join(root, "empty"), algo: "ppo", config });
    expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(0.95);
  }, 900_000);

  it("solves MiniGrid-DoorKey-5x5-v0 in 123k steps (8 envs, lr 1e-3; greedy eval ≥ 0.9, random ≈ 0)", async () => {
    const config = resolveConfig({
      algo: "ppo",
      env: "MiniGrid-DoorKey-5x5-v0",
      overrides: { seed: 1, totalTimesteps: 122_880, numEnvs: 8, learningRate: 1e-3, evalEpisodes: 20 },
    });
    const s = await train({ runDir: join(root, "doorkey"), algo: "ppo", config });
    expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(0.9);
  }, 900_000);
});
