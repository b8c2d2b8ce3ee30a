import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { ACTORS_GROUP, autoClaim, ensureGroup, isNoGroup, readGroup, runKeys, sleep, type StreamEntry } from "./redis.js";
import type { RunMeta } from "./learner.js";
import { buildActorAlgo, remoteFamily, type ActorAlgo } from "./families.js";
import { decodeMessage, encodeMessage, WireError } from "./wire.js";

export interface ActorOptions {
  run: string;
  /** Consumer name in the tasks group (default host-pid): a restarted actor with the same name takes back its own pending task. */
  name?: string;
  /** Seed of this actor's envs and action draws (default: from the name, so actors differ). */
  seed?: number;
  /** A task held this long by another (silent) actor is taken over: its actor is presumed dead. */
  claimAfterMs?: number;
  signal?: AbortSignal;
  log?: (s: string) => void;
  /** Test aid: wait this long after taking a task, before collecting (a slow env). */
  delayMs?: number;
}

export interface ActorReport {
  shards: number;
  steps: number;
  reclaimed: number;
  staleTasks: number;
  rejectedMessages: number;
  reason: "finished" | "signal";
}

/**
 * One remote actor: takes collection tasks of a run from Redis, collects each with exactly
 * the weights version it names, pushes the shard and acknowledges the task. It keeps its
 * envs (and their episodes) across tasks and across learner restarts, and ends when the
 * learner marks the run finished.
 */
export async function runActor(redis: Redis, opts: ActorOptions): Promise<ActorReport> {
  const keys = runKeys(opts.run);
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  const log = opts.log ?? (() => {});
  const report: ActorReport = { shards: 0, steps: 0, reclaimed: 0, staleTasks: 0, rejectedMessages: 0, reason: "signal" };
  let algo: ActorAlgo | null = null;
  let algoConfig = "";
  let weights: { session: string; version: number } | null = null;
  let waitingSaid = false;
  try {
    while (!opts.signal?.aborted) {
      const meta = await readMeta(redis, keys.meta, opts.run);
      if (!meta) {
        if (!waitingSaid) log(`refinery: actor ${name}: waiting for a learner of run ${opts.run}\n`);
        waitingSaid = true;
        await sleep(300, opts.signal);
        continue;
      }
      if (meta.status === "finished") {
        report.reason = "finished";
        break;
      }
      const configText = JSON.stringify([meta.algo, meta.config, meta.shards]);
      if (!algo || configText !== algoConfig) {
        algo?.dispose();
        algo = null;
        const family = remoteFamily(meta.algo, meta.config, "refinery actor");
        algo = await buildActorAlgo(meta.algo, family, meta.config, meta.shards, opts.seed ?? seedOf(name));
        algoConfig = configText;
        weights = null;
      }
      const task = await nextTask(redis, keys.tasks, name, opts.claimAfterMs ?? 30_000, report);
      if (!task) continue;
      const parsed = parseTask(task, opts.run);
      if (!parsed) {
        report.rejectedMessages++;
        log(`refinery: actor ${name}: rejected task ${task.id} (does not parse or names another run)\n`);
        await done(redis, keys.tasks, task.id);
        continue;
      }
      // The newest weights, if they may collect this task: same session, at most maxStaleness
      // versions before the task's iteration, and not past it (then the learner has trained it).
      const maxStaleness = meta.maxStaleness ?? 0;
      const fits = (w: { session: string; version: number }) => w.session === parsed.session && w.version <= parsed.version && w.version >= parsed.version - maxStaleness;
      const tag = await redis.get(keys.weightsTag);
      if (!weights || tag !== `${weights.session}:${weights.version}`) {
        const w = await fetchWeights(redis, keys.weights, opts.run);
        if (w && fits(w)) {
          algo.setWeights(w.weights);
          weights = { session: w.session, version: w.version };
        }
      }
      if (!weights || !fits(weights)) {
        // The learner has moved on (or restarted): nobody wants this piece any more.
        report.staleTasks++;
        await done(redis, keys.tasks, task.id);
        continue;
      }
      if (opts.delayMs) await sleep(opts.delayMs);
      const piece = algo.collect(parsed);
      const message = encodeMessage(
        { ...piece.header, kind: "shard", run: opts.run, session: parsed.session, version: parsed.version, shard: parsed.shard, weights: weights.version, actor: name },
        piece.arrays,
      );
      // Push, then acknowledge: a crash in between re-collects the piece, and the learner drops the copy.
      await redis.xadd(keys.batches, "*", "shard", message);
      await done(redis, keys.tasks, task.id);
      report.shards++;
      report.steps += piece.steps;
    }
  } finally {
    algo?.dispose();
  }
  return report;
}

async function readMeta(redis: Redis, key: string, run: string): Promise<RunMeta | null> {
  const text = await redis.get(key);
  if (!text) return null;
  try {
    const m = JSON.parse(text) as RunMeta;
    if (m.run === run && typeof m.session === "string" && m.config && typeof m.shards === "number") return m;
  } catch {
    // fall through
  }
  return null;
}

/** A task of a dead actor first (XAUTOCLAIM), else a new one (XREADGROUP, blocking up to 1 s). */
async function nextTask(redis: Redis, stream: string, name: string, claimAfterMs: number, report: ActorReport): Promise<StreamEntry | null> {
  try {
    const claimed = await autoClaim(redis, stream, ACTORS_GROUP, name, claimAfterMs, 1);
    if (claimed.length) {
      report.reclaimed++;
      return claimed[0];
    }
    const fresh = await readGroup(redis, stream, ACTORS_GROUP, name, 1, 1000);
    return fresh[0] ?? null;
  } catch (err) {
    if (!isNoGroup(err)) throw err;
    // No stream yet, or Redis restarted without data: make the group, the learner refills it.
    await ensureGroup(redis, stream, ACTORS_GROUP);
    await sleep(100);
    return null;
  }
}

function parseTask(task: StreamEntry, run: string): { session: string; version: number; shard: number } | null {
  try {
    const t = JSON.parse(task.fields.get("task")?.toString("utf8") ?? "") as Record<string, unknown>;
    if (t.kind !== "task" || t.run !== run || typeof t.session !== "string" || !Number.isSafeInteger(t.version) || !Number.isSafeInteger(t.shard)) return null;
    return { session: t.session, version: t.version as number, shard: t.shard as number };
  } catch {
    return null;
  }
}

async function fetchWeights(redis: Redis, key: string, run: string): Promise<{ session: string; version: number; weights: Record<string, Float32Array> } | null> {
  const raw = await redis.getBuffer(key);
  if (!raw) return null;
  try {
    const msg = decodeMessage(raw);
    const h = msg.header;
    if (h.kind !== "weights" || h.run !== run || typeof h.session !== "string" || typeof h.version !== "number") return null;
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(msg.arrays)) {
      if (!(v instanceof Float32Array)) return null;
      weights[k] = v;
    }
    return { session: h.session, version: h.version, weights };
  } catch (err) {
    if (err instanceof WireError) return null;
    throw err;
  }
}

async function done(redis: Redis, stream: string, id: string): Promise<void> {
  await redis.pipeline().xack(stream, ACTORS_GROUP, id).xdel(stream, id).exec();
}

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % 2_147_483_647;
}
