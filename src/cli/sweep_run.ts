import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../core/errors.js";
import type { Redis } from "ioredis";
import { connectRedis } from "../scale/redis.js";
import { expandTrials, readSweepSpec, toSets, type SweepSpec, type Trial, type TrialResult } from "../scale/sweep.js";
import { enqueueSweep, readResults, readSweepMeta, runningTrials, runWorker, SWEEPS_SET } from "../scale/sweep_queue.js";
import { resolveRunsRoot } from "../store/root.js";
import { atomicWriteFile } from "../train/fsutil.js";
import { InterruptedError, type CliIo } from "./io.js";

export interface SweepCliOptions {
  redis?: string;
  local?: number;
  out?: string;
  detach: boolean;
  json: boolean;
}

/** `refinery sweep FILE`: expand and check every trial, then queue them (--redis) or run them here (--local N). */
export async function sweepCommand(file: string, opts: SweepCliOptions, io: CliIo): Promise<void> {
  const spec = readSweepSpec(file);
  const trials = expandTrials(spec);
  const dir = opts.out ?? join(resolveRunsRoot(), `sweep-${spec.name}`);
  mkdirSync(dir, { recursive: true });
  atomicWriteFile(join(dir, "sweep.json"), JSON.stringify({ spec, trials }, null, 2) + "\n");
  io.err(`refinery: sweep ${spec.name}: ${trials.length} trial(s); results in ${dir}\n`);
  const results = opts.local !== undefined ? await runLocal(trials, dir, opts.local, io) : await runOnRedis(opts.redis as string, spec, trials, dir, opts.detach, io);
  if (!results) return;
  const summary = { name: spec.name, trials: trials.length, results: [...results.values()].sort((a, b) => a.id.localeCompare(b.id)) };
  atomicWriteFile(join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  printResults(summary.results, opts.json, io);
}

async function runOnRedis(url: string, spec: SweepSpec, trials: Trial[], dir: string, detach: boolean, io: CliIo): Promise<Map<string, TrialResult> | null> {
  const redis = connectRedis(url, (s) => io.err(s));
  try {
    await enqueueSweep(redis, spec, trials);
    io.err(`refinery: queued; start workers with \`refinery worker --redis URL\` (progress: \`refinery sweep status ${spec.name} --redis URL\`)\n`);
    if (detach) return null;
    const seen = new Set<string>();
    const stop = interruptible(redis);
    try {
      for (;;) {
        const results = await readResults(redis, spec.name);
        for (const r of [...results.values()].filter((x) => !seen.has(x.id))) {
          seen.add(r.id);
          appendFileSync(join(dir, "results.jsonl"), JSON.stringify(r) + "\n");
          io.err(`refinery: ${r.id} ${r.status} on ${r.worker} (${seen.size}/${trials.length})\n`);
        }
        if (results.size >= trials.length) return results;
        if (stop.signal.aborted) {
          throw new InterruptedError(`stopped following sweep ${spec.name} (${seen.size}/${trials.length} done); its trials stay queued`, `follow it with \`refinery sweep status ${spec.name} --redis URL\``, 130);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      if (stop.signal.aborted && !(err instanceof InterruptedError)) {
        throw new InterruptedError(`stopped following sweep ${spec.name} while Redis was unreachable; its trials stay queued`, `follow it with \`refinery sweep status ${spec.name} --redis URL\``, 130);
      }
      throw err;
    } finally {
      stop.dispose();
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** Trials in child processes (`refinery train`), `parallel` at a time. */
async function runLocal(trials: Trial[], dir: string, parallel: number, io: CliIo): Promise<Map<string, TrialResult>> {
  const bin = fileURLToPath(new URL("../../bin/refinery.js", import.meta.url));
  const results = new Map<string, TrialResult>();
  const queue = [...trials];
  const one = async (t: Trial) => {
    const runDir = join(dir, t.id);
    const args = [bin, "train", "--algo", t.algo, ...(t.preset ? ["--preset", t.preset] : []), ...toSets(t.overrides).flatMap((s) => ["--set", s]), "--json", "--quiet"];
    if (existsSync(join(runDir, "config.json"))) args.splice(2, args.length - 2, "train", "--resume", runDir, "--json", "--quiet");
    else args.push("--out", runDir);
    const { code, out, err } = await runChild(args);
    let r: TrialResult;
    try {
      if (code !== 0) throw new Error(err.trim().split("\n").at(-1) ?? `exit ${code}`);
      const s = JSON.parse(out.trim().split("\n").at(-1) as string);
      r = { id: t.id, overrides: t.overrides, status: "finished", worker: "local", runDir, steps: s.steps, finalMeanReturn: s.final_mean_return, evalMeanReturn: s.eval_mean_return, stepsToThreshold: s.steps_to_threshold, wallSeconds: s.wall_s };
    } catch (e) {
      r = { id: t.id, overrides: t.overrides, status: "failed", worker: "local", runDir, error: (e as Error).message };
    }
    results.set(t.id, r);
    appendFileSync(join(dir, "results.jsonl"), JSON.stringify(r) + "\n");
    io.err(`refinery: ${t.id} ${r.status} (${results.size}/${trials.length})\n`);
  };
  const lanes = Array.from({ length: Math.min(parallel, trials.length) }, async () => {
    for (let t = queue.shift(); t; t = queue.shift()) await one(t);
  });
  await Promise.all(lanes);
  return results;
}

function runChild(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => resolve({ code, out, err }));
  });
}

function printResults(results: TrialResult[], json: boolean, io: CliIo): void {
  if (json) {
    io.out(JSON.stringify({ results }) + "\n");
    return;
  }
  for (const r of results) {
    const ret = r.status === "finished" ? `eval ${fmt(r.evalMeanReturn)}  train ${fmt(r.finalMeanReturn)}` : `failed: ${r.error}`;
    io.out(`${r.id}  ${JSON.stringify(r.overrides)}  ${ret}\n`);
  }
}

function fmt(x: number | null | undefined): string {
  return typeof x === "number" ? x.toFixed(1) : "n/a";
}

/** `refinery sweep status [NAME]`: per sweep, trials done / running / queued; with a name, one line per trial. */
export async function sweepStatusCommand(url: string, name: string | undefined, json: boolean, io: CliIo): Promise<void> {
  const redis = connectRedis(url, (s) => io.err(s));
  try {
    const names = name ? [name] : (await redis.smembers(SWEEPS_SET)).sort();
    const out = [];
    for (const n of names) {
      const meta = await readSweepMeta(redis, n);
      if (!meta) {
        if (name) throw new ConfigError(`no sweep named ${n} in this Redis`, "list the sweeps with `refinery sweep status --redis URL`");
        continue;
      }
      const results = await readResults(redis, n);
      const running = await runningTrials(redis, n);
      const trials = meta.trials.map((t) => {
        const r = results.get(t.id);
        const state = r ? r.status : running.has(t.id) ? "running" : "queued";
        return { id: t.id, state, worker: r?.worker ?? running.get(t.id) ?? null, overrides: t.overrides, evalMeanReturn: r?.evalMeanReturn ?? null };
      });
      out.push({ name: n, total: trials.length, done: results.size, running: trials.filter((t) => t.state === "running").length, trials });
    }
    if (json) {
      io.out(JSON.stringify({ sweeps: out }) + "\n");
      return;
    }
    if (!out.length) io.out("no sweeps in this Redis\n");
    for (const s of out) {
      io.out(`${s.name}: ${s.done}/${s.total} done, ${s.running} running, ${s.total - s.done - s.running} queued\n`);
      if (name) for (const t of s.trials) io.out(`  ${t.id}  ${t.state.padEnd(8)} ${t.worker ?? ""}  ${JSON.stringify(t.overrides)}${t.evalMeanReturn === null ? "" : `  eval ${fmt(t.evalMeanReturn)}`}\n`);
    }
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}

export interface WorkerCliOptions {
  redis: string;
  sweep?: string;
  name?: string;
  claimAfter: number;
  quiet: boolean;
}

/** `refinery worker`: SIGINT/SIGTERM stop it after a checkpoint of the current trial, which another worker then resumes. */
export async function workerCommand(opts: WorkerCliOptions, io: CliIo): Promise<void> {
  const redis = connectRedis(opts.redis, (s) => io.err(s));
  const stop = interruptible(redis);
  try {
    const stats = await runWorker(redis, {
      sweep: opts.sweep,
      name: opts.name,
      runsRoot: resolveRunsRoot(),
      claimAfterMs: opts.claimAfter * 1000,
      signal: stop.signal,
      log: (s) => {
        if (!opts.quiet || s.includes("rejected") || s.includes("failed")) io.err(s);
      },
    }).catch((err: unknown) => {
      if (stop.signal.aborted) throw new InterruptedError("worker stopped by a signal while Redis was unreachable", "start it again to rejoin the sweeps", 130);
      throw err;
    });
    io.out(JSON.stringify({ worker: opts.name ?? null, trials: stats.trials, rejected_messages: stats.rejected }) + "\n");
  } finally {
    stop.dispose();
    await redis.quit().catch(() => redis.disconnect());
  }
}

/** SIGINT/SIGTERM abort; waiting on an unreachable Redis is cut off by dropping the connection. */
function interruptible(redis: Redis): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = () => {
    controller.abort();
    if (redis.status !== "ready") redis.disconnect();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    dispose() {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
    },
  };
}
