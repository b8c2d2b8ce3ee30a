import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { runKeys } from "../../src/scale/redis.js";
import { encodeMessage } from "../../src/scale/wire.js";
import type { TestRedis } from "./redis_server.js";

// CLI processes of actor–learner tests. The CLI runs from dist/ (npm run build), as a user runs it.
const BIN = resolve("bin/refinery.js");

/** Where processes run (REFINERY_RUNS) and which Redis they use; set by the test file's beforeAll. */
export const ctx: { redis: TestRedis; dir: string; children: ChildProcess[] } = { redis: null as unknown as TestRedis, dir: "", children: [] };

export interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
}

export function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, REFINERY_RUNS: ctx.dir, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  ctx.children.push(child);
  const p: Proc = { child, out: "", err: "", exit: Promise.resolve(null) };
  child.stdout?.on("data", (d) => (p.out += d));
  child.stderr?.on("data", (d) => (p.err += d));
  p.exit = new Promise((res) => child.on("exit", (code) => res(code)));
  return p;
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function trainRows(runDir: string): Record<string, number>[] {
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

export const sum = (rows: Record<string, number>[], key: string) => rows.reduce((a, r) => a + (r[key] ?? 0), 0);
export const lastJson = (p: Proc) => JSON.parse(p.out.trim().split("\n").at(-1) as string);

/**
 * A learner and actors A (slow: it holds a task most of the time) and B; A is killed with
 * SIGKILL while it holds a task after `killAfterRows` iterations, and B takes its task over.
 * Meanwhile the test pushes a piece whose weights are older than the bound allows.
 */
export async function remoteRun(run: string, learnerArgs: string[], killAfterRows: number): Promise<{ learner: Proc; b: Proc; rows: Record<string, number>[] }> {
  const runDir = join(ctx.dir, run);
  const learner = start(["learner", "--redis", ctx.redis.url, "--run", run, ...learnerArgs, "--shards", "2", "--max-staleness", "1", "--out", runDir, "--json", "--quiet"]);
  const a = start(["actor", "--redis", ctx.redis.url, "--run", run, "--name", "A", "--seed", "11"], { REFINERY_ACTOR_DELAY_MS: "150" });
  const b = start(["actor", "--redis", ctx.redis.url, "--run", run, "--name", "B", "--seed", "12", "--claim-after", "1"]);
  const client = ctx.redis.client();
  const keys = runKeys(run);
  try {
    // Iteration n ≥ 2 is being collected: a piece for n + 1 collected with weights n − 1 lags by 2 > 1.
    let tag = "";
    await until("iteration 2", async () => {
      tag = (await client.get(keys.weightsTag)) ?? "";
      return Number(tag.split(":")[1]) >= 2;
    });
    const [session, n] = [tag.split(":")[0], Number(tag.split(":")[1])];
    await client.xadd(keys.batches, "*", "shard", encodeMessage({ kind: "shard", run, session, version: n + 1, shard: 0, weights: n - 1 }));
    await client.xadd(keys.batches, "*", "shard", Buffer.from("not a message"));
    await until("actor A holding a task after some progress", async () => {
      const pending = (await client.call("XPENDING", keys.tasks, "actors", "-", "+", "10", "A")) as unknown[];
      return trainRows(runDir).length >= killAfterRows && pending.length > 0;
    });
    a.child.kill("SIGKILL");
    expect(await a.exit).toBe(null);
    expect(await learner.exit).toBe(0);
    expect(await b.exit).toBe(0);
  } finally {
    for (const p of [learner, a, b]) p.child.kill("SIGKILL");
    client.disconnect();
  }
  return { learner, b, rows: trainRows(runDir) };
}

/** Exactly once: every iteration once, two pieces each, the step count the sum of the iterations' batches. */
export function expectExactlyOnce(rows: Record<string, number>[], summary: { steps: number }, sizeKey: string): void {
  expect(rows.map((r) => r.iteration)).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1));
  expect(rows.every((r) => r["remote/shards"] === 2)).toBe(true);
  expect(sum(rows, sizeKey)).toBe(summary.steps);
  expect(rows.at(-1)?.step).toBe(summary.steps);
  // The bound holds for every consumed piece, the crafted piece was dropped as stale, the garbage rejected.
  expect(Math.max(...rows.map((r) => r["remote/stalenessMax"]))).toBeLessThanOrEqual(1);
  expect(sum(rows, "remote/staleness")).toBeGreaterThan(0); // actors did run ahead
  expect(sum(rows, "remote/staleBatches")).toBeGreaterThanOrEqual(1);
  expect(sum(rows, "remote/rejectedMessages")).toBe(1);
  expect(rows.every((r) => r["remote/bytesPerShard"] > 0)).toBe(true);
}

