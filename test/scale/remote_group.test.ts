import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRedis } from "../helpers/redis_server.js";
import { ctx, expectExactlyOnce, lastJson, remoteRun, start } from "../helpers/remote_cli.js";

// Group batches (grpo on CartPole) collected by remote actors
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

describe("refinery learner + refinery actor: group batches", () => {
  it("grpo on CartPole with 2 actors (one killed mid-task), one version ahead, learns like one process; exact steps", async () => {
    const args = ["--algo", "grpo", "--env", "CartPole-v1", "--steps", "24000", "--set", "numStarts=2", "--seed", "1"];
    const single = start(["train", ...args, "--out", join(dir, "grpo-single"), "--json", "--quiet"]);
    const { learner, b, rows } = await remoteRun("grpo", args, 6);
    expect(await single.exit).toBe(0);
    const summary = lastJson(learner);
    const base = lastJson(single);
    expectExactlyOnce(rows, summary, "iterationSteps");
    expect(summary.steps).toBeGreaterThanOrEqual(24_000);
    expect(lastJson(b).reason).toBe("finished");
    expect(lastJson(b).reclaimed).toBeGreaterThanOrEqual(1);
    // Seed noise at 24k steps is large; random play scores about 22.
    expect(summary.final_mean_return).toBeGreaterThan(0.4 * base.final_mean_return);
    expect(summary.final_mean_return).toBeGreaterThan(80);
  });

  it("refuses what remote actors cannot run, before making the run directory", async () => {
    const out = join(dir, "refused");
    const cases: [string[], RegExp][] = [
      [["--max-staleness", "1"], /--max-staleness 1: ppo stays exactly on-policy.*Fix: drop --max-staleness/],
      [["--algo", "mdpo"], /refinery learner trains ppo, grpo, rloo, reinforce, epo, dqn, sac, td3, mdpo-off \(envs\).*got --algo mdpo.*Fix: train mdpo with refinery train/],
      [["--algo", "grpo", "--set", "numStarts=2", "--shards", "3"], /--shards 3 does not divide numStarts 2/],
    ];
    const procs = cases.map(([extra]) => start(["learner", "--redis", ctx.redis.url, "--run", "bad", ...extra, "--out", out]));
    for (const [i, p] of procs.entries()) {
      expect(await p.exit).toBe(2);
      expect(p.err).toMatch(cases[i][1]);
    }
    expect(existsSync(out)).toBe(false);
  });
});
