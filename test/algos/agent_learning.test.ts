import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { agentProblemSet, makeAgentTask } from "../../src/envs/text/agent/task.js";
import { evaluateAgent } from "../../src/train/agent_eval.js";
import { loadTokenPolicy } from "../../src/train/text_policy.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-agent-e2e-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * SFT on calculator demonstrations, stopped early (160 steps), gives a policy that uses the
 * calculator and is right greedily but often wrong when it samples (τ = 1); episode-level GRPO
 * with the verifier must raise held-out sampled success (fixed seed; it can fail).
 */
describe("SFT → GRPO on the calculator task", () => {
  it("raises held-out success of sampled episodes", async () => {
    const task = makeAgentTask("calc");
    const problems = agentProblemSet(task, "test", 100, 0);
    const score = async (dir: string) => {
      const policy = await loadTokenPolicy(dir);
      return evaluateAgent(policy, task, problems, { samples: 4, temperature: 1, seed: 0, maxContextLength: policy.model.config.contextLength });
    };
    const sftDir = join(root, "sft");
    await train({ runDir: sftDir, algo: "sft", config: resolveConfig({ algo: "sft", overrides: { task: "calc", seed: 1, iterations: 160, evalEvery: 0, evalProblems: 10 } }), store: false });
    const before = await score(sftDir);
    const grpoDir = join(root, "grpo");
    await train({
      runDir: grpoDir,
      algo: "grpo",
      config: resolveConfig({ algo: "grpo", overrides: { task: "calc", seed: 1, init: sftDir, iterations: 40, learningRate: 3e-4, evalEvery: 0, evalProblems: 10 } }),
      store: false,
    });
    const after = await score(grpoDir);
    // The SFT policy calls the calculator and is partly right when sampling: room to improve.
    expect(before.meanToolCalls).toBeGreaterThan(1);
    expect(before.successRate).toBeGreaterThan(0.2);
    expect(before.successRate).toBeLessThan(0.85);
    expect(after.successRate).toBeGreaterThan(before.successRate + 0.03);
  }, 1_800_000);
});
