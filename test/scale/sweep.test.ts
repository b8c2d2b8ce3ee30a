import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandTrials, sweepSpecSchema, type SweepSpec } from "../../src/scale/sweep.js";
import { sweepKeys } from "../../src/scale/sweep_queue.js";
import { TestRedis } from "../helpers/redis_server.js";

const BIN = resolve("bin/refinery.js");
let redis: TestRedis;
let dir: string;

beforeAll(async () => {
  redis = await TestRedis.start();
  dir = mkdtempSync(join(tmpdir(), "refinery-sweep-"));
});

afterAll(async () => {
  // A test that timed out leaves its processes running: end them here.
  for (const c of children) c.kill("SIGKILL");
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const children: ChildProcess[] = [];

function start(args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, REFINERY_RUNS: dir }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const p = { child, out: "", err: "", exit: null as unknown as Promise<number | null> };
  child.stdout?.on("data", (d) => (p.out += d));
  child.stderr?.on("data", (d) => (p.err += d));
  p.exit = new Promise((res) => child.on("exit", (code) => res(code)));
  return p;
}

function spec(s: Record<string, unknown>): SweepSpec {
  return { name: "x", ...sweepSpecSchema.parse(s) };
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

describe("sweep trials", () => {
  it("a grid is the product of the parameters, times the seeds", () => {
    const trials = expandTrials(spec({ set: { totalTimesteps: 1024 }, parameters: { learningRate: [1e-3, 3e-4], gaeLambda: [0.9, 0.95, 0.99] }, seeds: [1, 2] }));
    expect(trials).toHaveLength(12);
    expect(trials[0]).toMatchObject({ id: "t000", algo: "ppo", overrides: { totalTimesteps: 1024, learningRate: 1e-3, gaeLambda: 0.9, seed: 1 } });
    expect(trials[11].overrides).toMatchObject({ learningRate: 3e-4, gaeLambda: 0.99, seed: 2 });
    expect(new Set(trials.map((t) => JSON.stringify(t.overrides))).size).toBe(12);
  });

  it("a random search draws the same points for the same searchSeed, inside the ranges", () => {
    const s = spec({ search: "random", trials: 5, searchSeed: 3, parameters: { learningRate: { min: 1e-5, max: 1e-2, log: true }, numMinibatches: [2, 4, 8] } });
    const a = expandTrials(s);
    expect(a).toHaveLength(5);
    expect(expandTrials(s)).toEqual(a);
    for (const t of a) {
      expect(t.overrides.learningRate).toBeGreaterThanOrEqual(1e-5);
      expect(t.overrides.learningRate).toBeLessThanOrEqual(1e-2);
      expect([2, 4, 8]).toContain(t.overrides.numMinibatches);
    }
  });

  it("a bad key fails before anything is queued, naming the trial", () => {
    expect(() => expandTrials(spec({ parameters: { learningRat: [1e-3] } }))).toThrow(/sweep trial t000.*learningRat/);
    expect(() => expandTrials(spec({ search: "grid", parameters: { learningRate: { min: 0, max: 1 } } }))).toThrow(/a grid cannot enumerate/);
  });
});

describe("refinery sweep + refinery worker", () => {
  it("runs 4 trials over 2 workers, one killed mid-trial, each trial exactly once", async () => {
    const file = join(dir, "four.yaml");
    writeFileSync(file, "name: four\nset: { totalTimesteps: 2048, evalEpisodes: 2, checkpointEvery: 1 }\nparameters:\n  learningRate: [0.00025, 0.001]\nseeds: [1, 2]\n");
    const sweep = start(["sweep", file, "--redis", redis.url, "--json"]);
    const a = start(["worker", "--redis", redis.url, "--sweep", "four", "--name", "A"]);
    const b = start(["worker", "--redis", redis.url, "--sweep", "four", "--name", "B", "--claim-after", "2"]);
    const client = redis.client();
    let killedTrial = "";
    try {
      // Kill A once its trial has trained an iteration (it holds the trial, not acknowledged).
      const end = Date.now() + 60_000;
      while (!killedTrial && Date.now() < end) {
        const m = /training trial (t\d+)/.exec(a.err);
        if (m && existsSync(join(dir, "sweep-four", m[1], "metrics.jsonl")) && readFileSync(join(dir, "sweep-four", m[1], "metrics.jsonl"), "utf8").includes('"train"')) killedTrial = m[1];
        else await new Promise((r) => setTimeout(r, 25));
      }
      expect(killedTrial).not.toBe("");
      a.child.kill("SIGKILL");
      expect(await a.exit).toBe(null);
      expect(await b.exit).toBe(0);
      expect(await sweep.exit).toBe(0);
    } finally {
      for (const p of [sweep, a, b]) p.child.kill("SIGKILL");
    }
    const results = await client.hgetall(sweepKeys("four").results);
    client.disconnect();
    expect(Object.keys(results).sort()).toEqual(["t000", "t001", "t002", "t003"]);
    const recorded = lines(join(dir, "sweep-four", "results.jsonl"));
    expect(recorded.map((r) => r.id).sort()).toEqual(["t000", "t001", "t002", "t003"]);
    expect(recorded.every((r) => r.status === "finished" && r.steps === 2048)).toBe(true);
    // The killed trial was resumed by B from its checkpoint: each iteration once in its metrics.
    expect(recorded.find((r) => r.id === killedTrial)?.worker).toBe("B");
    for (const id of ["t000", "t001", "t002", "t003"]) {
      const its = lines(join(dir, "sweep-four", id, "metrics.jsonl")).filter((r) => r.kind === "train").map((r) => r.iteration);
      expect(its).toEqual([1, 2, 3, 4]);
    }
    const summary = JSON.parse(readFileSync(join(dir, "sweep-four", "summary.json"), "utf8"));
    expect(summary.results).toHaveLength(4);
    const status = start(["sweep", "status", "four", "--redis", redis.url, "--json"]);
    expect(await status.exit).toBe(0);
    expect(JSON.parse(status.out).sweeps[0]).toMatchObject({ name: "four", total: 4, done: 4, running: 0 });
  });

  it("--local N runs the trials in local processes without Redis", async () => {
    const file = join(dir, "local.yaml");
    writeFileSync(file, "name: loc\nset: { totalTimesteps: 512, evalEpisodes: 1 }\nparameters:\n  learningRate: [0.00025, 0.001]\n");
    const p = start(["sweep", file, "--local", "2", "--json"]);
    expect(await p.exit).toBe(0);
    const out = JSON.parse(p.out);
    expect(out.results.map((r: { id: string; status: string }) => `${r.id}:${r.status}`)).toEqual(["t000:finished", "t001:finished"]);
    expect(lines(join(dir, "sweep-loc", "results.jsonl"))).toHaveLength(2);
  });
});
