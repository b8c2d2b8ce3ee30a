import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestRedis } from "../helpers/redis_server.js";
import { ctx, lastJson, remoteRun, start, sum } from "../helpers/remote_cli.js";

// Off-policy chunks (dqn on CartPole) collected by remote actors through a real redis-server
// (started here on a free loopback port), one weight version ahead (--max-staleness 1).
let dir: string;

beforeAll(async () => {
  ctx.redis = await TestRedis.start();
  dir = ctx.dir = mkdtempSync(join(tmpdir(), "refinery-remote-offpolicy-"));
});

afterAll(async () => {
  for (const c of ctx.children) c.kill("SIGKILL");
  await ctx.redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("refinery learner + refinery actor: off-policy chunks", () => {
  it("dqn on CartPole with 2 actors (one killed mid-task), one version ahead: every transition stored once, the bound held, and it learns", async () => {
    const args = ["--algo", "dqn", "--preset", "zoo", "--env", "CartPole-v1", "--steps", "20000", "--set", "hidden=[64,64]", "--seed", "1"];
    const { learner, b, rows } = await remoteRun("dqn", args, 6);
    const summary = lastJson(learner);
    expect(summary.steps).toBe(20_000);
    expect(rows.map((r) => r.iteration)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 * (i + 1)));
    expect(rows.every((r) => r["remote/shards"] === 2)).toBe(true);
    // The Zoo's schedule on stored transitions: 128 gradient steps every 256 past learningStarts 1000, as in one process.
    expect(sum(rows, "gradientSteps")).toBe((Math.floor(20_000 / 256) - Math.floor(1000 / 256)) * 128);
    expect(Math.max(...rows.map((r) => r["remote/stalenessMax"]))).toBeLessThanOrEqual(1);
    expect(sum(rows, "remote/staleBatches")).toBeGreaterThanOrEqual(1); // the crafted piece
    expect(sum(rows, "remote/rejectedMessages")).toBe(1);
    expect(lastJson(b).reason).toBe("finished");
    expect(lastJson(b).reclaimed).toBeGreaterThanOrEqual(1);
    // One process at this budget ends with a training return of 97.7 (mean of its last 100 episodes); random play scores about 22.
    expect(summary.final_mean_return).toBeGreaterThan(0.4 * 97.7);
  });

  it("refuses --shards that do not divide an iteration's vector steps, before making the run directory", async () => {
    const out = join(dir, "refused");
    const p = start(["learner", "--redis", ctx.redis.url, "--run", "bad", "--algo", "sac", "--set", "iterationSteps=1000", "--shards", "3", "--out", out]);
    expect(await p.exit).toBe(2);
    expect(p.err).toMatch(/--shards 3 does not divide the 1000 vector steps of an iteration \(iterationSteps \/ numEnvs\)/);
    expect(existsSync(out)).toBe(false);
  });
});
