import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRedis } from "../helpers/redis_server.js";
import { ctx, expectExactlyOnce, lastJson, remoteRun, start } from "../helpers/remote_cli.js";

// Text batches (grpo on parity: prompts, completions, token log-probs and rewards) collected by remote actors
// through a real redis-server, with actors running one weight version ahead (--max-staleness 1).
let dir: string;

beforeAll(async () => {
  ctx.redis = await TestRedis.start();
  dir = ctx.dir = mkdtempSync(join(tmpdir(), "refinery-remote-"));
});

afterAll(async () => {
  for (const c of ctx.children) c.kill("SIGKILL");
  await ctx.redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("refinery learner + refinery actor: text batches", () => {
  it("grpo on a text task (parity, format reward, fresh tiny model) with 2 actors, one killed, reaches the one-process reward", async () => {
    const config = join(dir, "parity.json");
    writeFileSync(
      config,
      JSON.stringify({
        task: "parity",
        taskOptions: { bits: 4 },
        chars: "01?",
        model: { layers: 1, width: 16, heads: 2, contextLength: 16, ffWidth: 32, activation: "gelu" },
        rewards: [{ name: "format", weight: 1 }],
        numPrompts: 4,
        groupSize: 8,
        learningRate: 0.003,
        warmupIterations: 0,
        evalEvery: 0,
        evalProblems: 16,
        backend: "cpu",
      }),
    );
    const args = ["--algo", "grpo", "--config", config, "--iterations", "40"];
    const single = start(["train", ...args, "--out", join(dir, "text-single"), "--json", "--quiet"]);
    // Killed early (4 of 40 iterations): a text iteration of this tiny model takes ~0.1 s, and B
    // only takes over a task idle for 1 s, so a late kill can let the run end before it does.
    const { learner, b, rows } = await remoteRun("text", args, 4);
    expect(await single.exit).toBe(0);
    const summary = lastJson(learner);
    const base = lastJson(single);
    expectExactlyOnce(rows, summary, "iterationTokens");
    expect(rows.length).toBe(40);
    expect(lastJson(b).reclaimed).toBeGreaterThanOrEqual(1);
    // A fresh model gives a one-character answer about 6% of the time; both runs end near 0.8.
    expect(rows[0].rewardMean).toBeLessThan(0.3);
    expect(summary.final_mean_return).toBeGreaterThan(0.6 * base.final_mean_return);
    expect(summary.final_mean_return).toBeGreaterThan(0.5);
  });

});
