import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { ConfigError } from "../core/errors.js";
import { train } from "../train/trainer.js";
import { autoClaim, ensureGroup, isNoGroup, readGroup, sleep, type StreamEntry } from "./redis.js";
import { trialConfig, type SweepSpec, type Trial, type TrialResult } from "./sweep.js";

/**
 * Sweeps on Redis: the trials of a sweep are entries of a stream read by the consumer group
 * of the workers. A worker holds its trial (pending, refreshed by XCLAIM every few seconds)
 * while it trains; a worker that dies stops refreshing and another takes the trial over
 * (XAUTOCLAIM), resuming the trial's run directory from its checkpoint when it can see it.
 * A result is written once (HSETNX), so a trial counts once even if two workers finish it.
 */
export const SWEEPS_SET = "refinery:sweeps";
export const WORKERS_GROUP = "workers";

export function sweepKeys(name: string) {
  const p = `refinery:sweep:${name}:`;
  return { meta: p + "meta", trials: p + "trials", results: p + "results" };
}

export interface SweepMeta {
  name: string;
  spec: SweepSpec;
  trials: Trial[];
  created: string;
}

/** Queues every trial of a new sweep; a sweep of the same name must not exist. */
export async function enqueueSweep(redis: Redis, spec: SweepSpec, trials: Trial[]): Promise<void> {
  const keys = sweepKeys(spec.name);
  const meta: SweepMeta = { name: spec.name, spec, trials, created: new Date().toISOString() };
  const ok = await redis.set(keys.meta, JSON.stringify(meta), "NX");
  if (ok !== "OK") throw new ConfigError(`a sweep named ${spec.name} already exists in this Redis`, "give the sweep another name (name: in the file), or follow it with `refinery sweep status`");
  await ensureGroup(redis, keys.trials, WORKERS_GROUP);
  const tx = redis.multi();
  for (const t of trials) tx.xadd(keys.trials, "*", "trial", JSON.stringify({ sweep: spec.name, id: t.id }));
  tx.sadd(SWEEPS_SET, spec.name);
  await tx.exec();
}

export async function readSweepMeta(redis: Redis, name: string): Promise<SweepMeta | null> {
  const text = await redis.get(sweepKeys(name).meta);
  return text ? (JSON.parse(text) as SweepMeta) : null;
}

export async function readResults(redis: Redis, name: string): Promise<Map<string, TrialResult>> {
  const all = await redis.hgetall(sweepKeys(name).results);
  const out = new Map<string, TrialResult>();
  for (const [id, text] of Object.entries(all)) out.set(id, JSON.parse(text) as TrialResult);
  return out;
}

/** Trial id → worker, for trials being trained now. */
export async function runningTrials(redis: Redis, name: string): Promise<Map<string, string>> {
  const keys = sweepKeys(name);
  const out = new Map<string, string>();
  let pending: unknown;
  try {
    pending = await redis.call("XPENDING", keys.trials, WORKERS_GROUP, "-", "+", "1000");
  } catch (err) {
    if (isNoGroup(err)) return out;
    throw err;
  }
  if (!Array.isArray(pending) || pending.length === 0) return out;
  const ids = (pending as [string, string][]).map((p) => p[0]);
  const entries = (await redis.call("XRANGE", keys.trials, "-", "+")) as [string, string[]][];
  const byId = new Map(entries.map(([id, f]) => [id, f]));
  for (const [entryId, consumer] of pending as [string, string][]) {
    const fields = byId.get(entryId);
    if (!fields || !ids.includes(entryId)) continue;
    try {
      out.set((JSON.parse(fields[1]) as { id: string }).id, consumer);
    } catch {
      // not a trial
    }
  }
  return out;
}

export interface WorkerOptions {
  /** Only this sweep, and exit when it is complete (default: every queued sweep, until a signal). */
  sweep?: string;
  name?: string;
  /** Where trial run directories go: RUNS/sweep-NAME/TRIAL. */
  runsRoot: string;
  claimAfterMs?: number;
  signal?: AbortSignal;
  log?: (s: string) => void;
}

/** `refinery worker`: trains queued trials one after another. */
export async function runWorker(redis: Redis, opts: WorkerOptions): Promise<{ trials: number; rejected: number }> {
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const claimAfter = opts.claimAfterMs ?? 60_000;
  const log = opts.log ?? (() => {});
  const stats = { trials: 0, rejected: 0 };
  while (!opts.signal?.aborted) {
    const sweeps = opts.sweep ? [opts.sweep] : await redis.smembers(SWEEPS_SET);
    let worked = false;
    for (const sweep of sweeps) {
      if (opts.signal?.aborted) break;
      const meta = await readSweepMeta(redis, sweep);
      if (!meta) continue;
      const keys = sweepKeys(sweep);
      if (opts.sweep && (await redis.hlen(keys.results)) >= meta.trials.length) return stats;
      const entry = await nextTrial(redis, keys.trials, name, claimAfter);
      if (!entry) continue;
      worked = true;
      const trial = parseTrial(entry, meta);
      if (!trial) {
        stats.rejected++;
        log(`refinery: worker ${name}: rejected entry ${entry.id} of sweep ${sweep} (does not parse or names no trial of it)\n`);
      } else if (await redis.hexists(keys.results, trial.id)) {
        log(`refinery: worker ${name}: trial ${trial.id} of ${sweep} already has a result; skipped\n`);
      } else {
        // Interrupted by a signal: leave the trial pending, so another worker resumes it.
        if (!(await runTrial(redis, meta, trial, entry.id, name, claimAfter, opts, log))) break;
        stats.trials++;
      }
      await redis.pipeline().xack(keys.trials, WORKERS_GROUP, entry.id).xdel(keys.trials, entry.id).exec();
    }
    if (!worked) await sleep(opts.sweep ? 200 : 1000, opts.signal);
  }
  return stats;
}

async function nextTrial(redis: Redis, stream: string, name: string, claimAfterMs: number): Promise<StreamEntry | null> {
  try {
    const claimed = await autoClaim(redis, stream, WORKERS_GROUP, name, claimAfterMs, 1);
    if (claimed.length) return claimed[0];
    return (await readGroup(redis, stream, WORKERS_GROUP, name, 1, 200))[0] ?? null;
  } catch (err) {
    if (isNoGroup(err)) return null;
    throw err;
  }
}

function parseTrial(entry: StreamEntry, meta: SweepMeta): Trial | null {
  try {
    const t = JSON.parse(entry.fields.get("trial")?.toString("utf8") ?? "") as { sweep?: unknown; id?: unknown };
    if (t.sweep !== meta.name) return null;
    return meta.trials.find((x) => x.id === t.id) ?? null;
  } catch {
    return null;
  }
}

/** Trains one trial and records its result; false when a signal interrupted it. */
async function runTrial(redis: Redis, meta: SweepMeta, trial: Trial, entryId: string, worker: string, claimAfter: number, opts: WorkerOptions, log: (s: string) => void): Promise<boolean> {
  const keys = sweepKeys(meta.name);
  const runDir = join(opts.runsRoot, `sweep-${meta.name}`, trial.id);
  // The run directory of a trial whose worker died: continue it from its checkpoint.
  const resume = existsSync(join(runDir, "config.json"));
  log(`refinery: worker ${worker}: ${resume ? "resuming" : "training"} trial ${trial.id} of ${meta.name} (${JSON.stringify(trial.overrides)}) in ${runDir}\n`);
  // Keeps the trial ours while it trains: XCLAIM resets its idle time (timers run between iterations).
  const beat = setInterval(() => {
    redis.call("XCLAIM", keys.trials, WORKERS_GROUP, worker, "0", entryId, "JUSTID").catch(() => {});
  }, Math.max(250, Math.floor(claimAfter / 4)));
  let result: TrialResult;
  try {
    const summary = resume ? await train({ runDir, resume: true, signal: opts.signal }) : await train({ runDir, algo: trial.algo, config: trialConfig(trial), signal: opts.signal });
    if (summary.interrupted) return false;
    result = {
      id: trial.id, overrides: trial.overrides, status: "finished", worker, runDir,
      steps: summary.steps, finalMeanReturn: finite(summary.finalMeanReturn), evalMeanReturn: finite(summary.finalEval.meanReturn),
      stepsToThreshold: summary.stepsToThreshold, wallSeconds: summary.wallSeconds,
    };
  } catch (err) {
    result = { id: trial.id, overrides: trial.overrides, status: "failed", worker, runDir, error: (err as Error).message };
    log(`refinery: worker ${worker}: trial ${trial.id} failed: ${result.error}\n`);
  } finally {
    clearInterval(beat);
  }
  const first = await redis.hsetnx(keys.results, trial.id, JSON.stringify(result));
  if (!first) log(`refinery: worker ${worker}: trial ${trial.id} was finished by another worker too; the first result stands\n`);
  return true;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
