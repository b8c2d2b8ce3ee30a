import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { combineRewards } from "../../src/envs/text/rewards.js";
import { makeTask } from "../../src/envs/text/registry.js";
import { problemSet } from "../../src/envs/text/task.js";
import { evaluateText } from "../../src/train/text_eval.js";
import { loadTokenPolicy } from "../../src/train/text_policy.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-text-e2e-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * SFT then GRPO on 2-digit addition (seeded). The SFT demonstrations are imperfect: 30 % of
 * them have their last digit off by one (demoNoise), so the SFT model earns the reward only
 * partly; GRPO with the exact verifier must raise held-out pass@1 of the policy's own samples.
 */
describe("SFT → GRPO on 2-digit addition", () => {
  it("raises held-out pass@1", async () => {
    const task = makeTask("addition", { digits: 2 });
    const reward = combineRewards([{ fn: "correct", weight: 1 }]);
    const problems = problemSet(task, "test", 200, 0);
    const score = async (dir: string) => {
      const policy = await loadTokenPolicy(dir);
      return evaluateText(policy, task, reward, problems, { samples: 8, temperature: 1, maxCompletionLength: task.maxCompletionLength, seed: 0 });
    };
    const sftDir = join(root, "sft");
    const sftConfig = resolveConfig({ algo: "sft", overrides: { task: "addition", taskOptions: { digits: 2 }, seed: 1, iterations: 600, learningRate: 4e-3, demoNoise: 0.3, evalEvery: 0, evalProblems: 20 } });
    await train({ runDir: sftDir, algo: "sft", config: sftConfig, store: false });
    const before = await score(sftDir);
    const grpoDir = join(root, "grpo");
    const grpoConfig = resolveConfig({ algo: "grpo", overrides: { task: "addition", taskOptions: { digits: 2 }, seed: 1, init: sftDir, iterations: 100, evalEvery: 0, evalProblems: 20 } });
    await train({ runDir: grpoDir, algo: "grpo", config: grpoConfig, store: false });
    const after = await score(grpoDir);
    // The SFT model is partly right, so there is room to improve.
    expect(before.passAt1).toBeGreaterThan(0.05);
    expect(before.passAt1).toBeLessThan(0.8);
    expect(after.passAt1).toBeGreaterThan(before.passAt1 + 0.03);
  }, 600_000);
});
