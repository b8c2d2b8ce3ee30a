import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

// Seeded learning tests: fixed seeds, returns checked, never time.
const root = mkdtempSync(join(tmpdir(), "refinery-ppo-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("PPO learns", () => {
  it("solves CartPole-v1 (deterministic eval mean >= 475) with the Zoo preset in 100k steps", async () => {
    const config = resolveConfig({ algo: "ppo", preset: "zoo", env: "CartPole-v1", overrides: { seed: 1, evalEpisodes: 10 } });
    const s = await train({ runDir: join(root, "cartpole"), algo: "ppo", config });
    expect(s.steps).toBeGreaterThanOrEqual(99_000);
    expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(475);
  });

  it("improves Pendulum-v1 far past a random policy (about -1200) in 60k steps", async () => {
    const config = resolveConfig({
      algo: "ppo",
      preset: "zoo",
      env: "Pendulum-v1",
      overrides: { seed: 1, totalTimesteps: 61_440, evalEpisodes: 10 },
    });
    const s = await train({ runDir: join(root, "pendulum"), algo: "ppo", config });
    expect(s.finalEval.meanReturn).toBeGreaterThan(-600);
  });
});
