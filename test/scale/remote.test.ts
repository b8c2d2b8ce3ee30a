import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/scale/wire.js";
import { runKeys } from "../../src/scale/redis.js";
import { TestRedis } from "../helpers/redis_server.js";

// Actor–learner PPO through a real redis-server (started here on a free loopback port).
// The CLI runs from dist/ (npm run build), as a user runs it.
const BIN = resolve("bin/refinery.js");
let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  redis = await TestRedis.start();
  dir = mkdtempSync(join(tmpdir(), "refinery-remote-"));
});

afterAll(async () => {
  // A test that timed out leaves its processes running: end them here.
  for (const c of children) c.kill("SIGKILL");
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, REFINERY_RUNS: dir, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const p: Proc = { child, out: "", err: "", exit: Promise.resolve(null) };
  child.stdout?.on("data", (d) => (p.out += d));
  child.stderr?.on("data", (d) => (p.err += d));
  p.exit = new Promise((res) => child.on("exit", (code) => res(code)));
  return p;
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The train rows written so far (a line being written is skipped). */
function trainRows(runDir: string): Record<string, number>[] {
  const file = join(runDir, "metrics.jsonl");
  if (!existsSync(file)) return [];
  const rows: Record<string, number>[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    try {
      const r = JSON.parse(line);
      if (r.kind === "train") rows.push(r);
    } catch {
      // empty or partial line
    }
  }
  return rows;
}

const sum = (rows: Record<string, number>[], key: string) => rows.reduce((a, r) => a + (r[key] ?? 0), 0);

describe("refinery learner + refinery actor", () => {
  it("trains PPO on CartPole with 2 actors, one killed mid-batch, to the single-process return; exact steps; bad messages counted", async () => {
    const steps = 16_384; // 32 iterations of 4 envs × 128 steps
    const runDir = join(dir, "two-actors");
    const single = start(["train", "--steps", String(steps), "--out", join(dir, "single"), "--json", "--quiet"]);
    const learner = start(["learner", "--redis", redis.url, "--run", "two", "--steps", String(steps), "--shards", "4", "--out", runDir, "--json", "--quiet"]);
    // A slows down after taking each task, so it is almost always holding one when killed.
    const a = start(["actor", "--redis", redis.url, "--run", "two", "--name", "A", "--seed", "11"], { REFINERY_ACTOR_DELAY_MS: "150" });
    const b = start(["actor", "--redis", redis.url, "--run", "two", "--name", "B", "--seed", "12", "--claim-after", "1"]);
    const client = redis.client();
    const keys = runKeys("two");
    try {
      await until("the learner's streams", async () => (await client.exists(keys.batches)) === 1);
      // Garbage, a shard of another run, and a task nobody can parse.
      await client.xadd(keys.batches, "*", "shard", Buffer.from("not a message"));
      await client.xadd(keys.batches, "*", "shard", encodeMessage({ kind: "shard", run: "other", session: "x", version: 0, shard: 0 }));
      await client.xadd(keys.tasks, "*", "task", "{oops");
      // Kill A while it holds a task (pending in the group, not acknowledged).
      await until("actor A holding a task after some progress", async () => {
        const rows = trainRows(runDir).length;
        const pending = (await client.call("XPENDING", keys.tasks, "actors", "-", "+", "10", "A")) as unknown[];
        return rows >= 4 && pending.length > 0;
      });
      a.child.kill("SIGKILL");
      expect(await a.exit).toBe(null);
      expect(await learner.exit).toBe(0);
      expect(await b.exit).toBe(0);
      expect(await single.exit).toBe(0);
    } finally {
      for (const p of [learner, a, b, single]) p.child.kill("SIGKILL");
      client.disconnect();
    }
    const summary = JSON.parse(learner.out.trim().split("\n").at(-1) as string);
    const base = JSON.parse(single.out.trim().split("\n").at(-1) as string);
    expect(summary.steps).toBe(steps);
    const rows = trainRows(runDir);
    expect(rows.map((r) => r.iteration)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(rows.at(-1)?.step).toBe(steps);
    // Exactly one shard of each number per iteration, so 4 × 32 accepted; copies are dropped.
    expect(rows.every((r) => r["remote/bytesPerShard"] > 0)).toBe(true);
    expect(sum(rows, "remote/rejectedMessages")).toBe(2);
    const bReport = JSON.parse(b.out.trim().split("\n").at(-1) as string);
    expect(bReport.reason).toBe("finished");
    expect(bReport.reclaimed).toBeGreaterThanOrEqual(1); // A's task, taken over by B
    // The same learning as in one process (same seed, same sizes; actors' envs differ): within seed noise.
    expect(summary.final_mean_return).toBeGreaterThan(0.6 * base.final_mean_return);
    expect(summary.final_mean_return).toBeGreaterThan(40); // a random policy scores about 22
  });

  it("continues after Redis restarts empty and after the learner is killed (kill -9, --resume), with the same actor", async () => {
    const steps = 8_192; // 16 iterations
    const runDir = join(dir, "resume");
    const args = ["learner", "--redis", redis.url, "--run", "res", "--steps", String(steps), "--shards", "2", "--set", "checkpointEvery=2", "--json", "--quiet"];
    let learner = start([...args, "--out", runDir]);
    const actor = start(["actor", "--redis", redis.url, "--run", "res", "--name", "solo", "--claim-after", "1"]);
    const rowsNow = () => trainRows(runDir).length;
    try {
      await until("3 iterations", () => rowsNow() >= 3);
      const runId = async () => {
        const c = redis.client();
        const info = await c.info("server");
        c.disconnect();
        return /run_id:(\w+)/.exec(info)?.[1];
      };
      const before = await runId();
      // A new redis-server without persistence: no weights, no streams, no groups. Both sides rebuild them.
      await redis.restart();
      expect(await runId()).not.toBe(before);
      await until("progress after the Redis restart", () => rowsNow() >= 7);
      learner.child.kill("SIGKILL");
      expect(await learner.exit).toBe(null);
      const checkpoints = readdirSync(join(runDir, "checkpoints")).filter((n) => /^\d+$/.test(n));
      expect(checkpoints.length).toBeGreaterThan(0);
      learner = start(["learner", "--redis", redis.url, "--run", "res", "--out", runDir, "--resume", "--json", "--quiet"]);
      expect(await learner.exit).toBe(0);
      expect(await actor.exit).toBe(0);
    } finally {
      learner.child.kill("SIGKILL");
      actor.child.kill("SIGKILL");
    }
    const summary = JSON.parse(learner.out.trim().split("\n").at(-1) as string);
    expect(summary.steps).toBe(steps);
    const rows = trainRows(runDir);
    // The resumed run dropped the rows past its checkpoint and wrote them again: each iteration once.
    expect(rows.map((r) => r.iteration)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    // (remote/republished counts the restarts the learner met while waiting; one during an update needs no republishing.)
    expect(JSON.parse(actor.out.trim()).reason).toBe("finished");
  });

  it("refuses options a remote actor cannot reproduce, before making the run directory", async () => {
    const out = join(dir, "refused");
    const p = start(["learner", "--redis", redis.url, "--run", "bad", "--set", "normObs=true", "--out", out]);
    expect(await p.exit).toBe(2);
    expect(p.err).toMatch(/normObs is not supported with refinery learner.*Fix: set normObs=false/);
    expect(existsSync(out)).toBe(false);
    const q = start(["learner", "--redis", redis.url, "--run", "bad", "--shards", "3", "--out", out]);
    expect(await q.exit).toBe(2);
    expect(q.err).toMatch(/--shards 3 does not divide numEnvs 4/);
    // A live learner of the same run (here: this test process holds the lease) refuses a second one.
    const client = redis.client();
    await client.set(runKeys("busy").learner, JSON.stringify({ host: hostname(), pid: process.pid, session: "s" }), "PX", 60_000);
    const r = start(["learner", "--redis", redis.url, "--run", "busy", "--out", out]);
    expect(await r.exit).toBe(2);
    expect(r.err).toMatch(new RegExp(`another learner \\(pid ${process.pid} on .*\\) is training run busy`));
    expect(existsSync(out)).toBe(false);
    client.disconnect();
  });
});
