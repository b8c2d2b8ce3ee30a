import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { train } from "../../src/train/trainer.js";

// Seeded learning tests: every algorithm with its defaults (the ones a user gets) and only
// the step budget set; returns are checked, never time. Budgets are the smallest that solved
// CartPole-v1 on every one of 6–8 seeds tried while tuning the defaults.
const root = mkdtempSync(join(tmpdir(), "refinery-critic-free-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const BUDGETS: [algo: string, steps: number][] = [
  ["grpo", 50_000],
  ["rloo", 60_000],
  ["reinforce", 50_000],
  ["mdpo", 150_000],
];

describe("the critic-free family and MDPO learn", () => {
  for (const [algo, steps] of BUDGETS) {
    it(`${algo} solves CartPole-v1 (deterministic eval mean >= 475) in ${steps / 1000}k steps`, async () => {
      const config = resolveConfig({ algo, env: "CartPole-v1", overrides: { seed: 1, totalTimesteps: steps, evalEpisodes: 10 } });
      const s = await train({ runDir: join(root, algo), algo, config });
      expect(s.steps).toBeGreaterThanOrEqual(steps - 2048); // mdpo stops at whole batches, the group algorithms at whole iterations
      expect(s.steps).toBeLessThan(steps + 8 * 500);
      expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(475);
    });
  }
});
