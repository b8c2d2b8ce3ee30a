import { Redis } from "ioredis";
import { ConfigError } from "../core/errors.js";

/**
 * Redis through ioredis (Node only). A URL carries the password (`redis://:pw@host:6379`),
 * the user (`redis://user:pw@…`), the database (`/2`) and TLS (`rediss://…`); ioredis
 * honours all of them. Commands wait across a Redis restart (reconnect with back-off and
 * resend), so neither side of a run has to restart with it.
 */
export function connectRedis(url: string, log: (s: string) => void = () => {}): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`--redis ${JSON.stringify(url)} is not a URL`, "pass e.g. redis://127.0.0.1:6379 (rediss://… for TLS, redis://:PASSWORD@host:6379 with a password)");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ConfigError(`--redis ${url} is not a redis:// or rediss:// URL`, "pass e.g. redis://127.0.0.1:6379");
  }
  const redis = new Redis(url, {
    // null: a command waits for the reconnect instead of failing after 20 retries.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    lazyConnect: false,
  });
  // Connection errors are retried; say so once per outage (a wrong host would otherwise look like a hang).
  let down = false;
  redis.on("error", (err: Error) => {
    if (down) return;
    down = true;
    log(`refinery: cannot reach Redis at ${redactUrl(url)} (${err.message}); retrying until it answers (Ctrl-C to stop)\n`);
  });
  redis.on("ready", () => {
    if (down) log(`refinery: reconnected to Redis at ${redactUrl(url)}\n`);
    down = false;
  });
  return redis;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "the Redis URL";
  }
}

/** The keys of one run (actor–learner) in Redis. */
export function runKeys(run: string) {
  const p = `refinery:run:${run}:`;
  return {
    /** JSON: algo, config, session, shards, status. */
    meta: p + "meta",
    /** Wire message: the latest weights and their version. */
    weights: p + "weights",
    /** "session:version" of `weights`, to check without fetching them. */
    weightsTag: p + "weights-tag",
    /** Stream of collection tasks (one per shard of a version); group ACTORS. */
    tasks: p + "tasks",
    /** Stream of collected shards; group LEARNER. */
    batches: p + "batches",
    /** The live learner's lease: JSON {host, pid, session}, expiring unless refreshed. */
    learner: p + "learner",
  };
}

export const ACTORS_GROUP = "actors";
export const LEARNER_GROUP = "learner";

/** Run names become key parts and directory names: keep them plain. */
export function checkRunName(run: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(run)) {
    throw new ConfigError(`--run ${JSON.stringify(run)} is not a valid run name`, "use 1–100 letters, digits, '.', '_' or '-'");
  }
  return run;
}

/** Creates a stream's consumer group (and the stream) unless it exists. */
export async function ensureGroup(redis: Redis, stream: string, group: string): Promise<void> {
  try {
    await redis.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM");
  } catch (err) {
    if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
  }
}

/** The stream or its group is gone (deleted, or Redis restarted without its data) — also while blocked on it. */
export function isNoGroup(err: unknown): boolean {
  const m = String((err as Error)?.message);
  return m.includes("NOGROUP") || m.includes("UNBLOCKED");
}

/** One stream entry with its fields as buffers. */
export interface StreamEntry {
  id: string;
  fields: Map<string, Buffer>;
}

/** Parses the reply of XREADGROUP (one stream) or XAUTOCLAIM into entries; deleted entries (null fields) are kept with no fields. */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: StreamEntry[] = [];
  for (const item of raw) {
    if (!Array.isArray(item) || item.length < 2) continue;
    const id = String(item[0]);
    const fields = new Map<string, Buffer>();
    const list = item[1];
    if (Array.isArray(list)) for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), Buffer.from(list[i + 1] as Buffer));
    out.push({ id, fields });
  }
  return out;
}

/** XREADGROUP of new entries on one stream, blocking up to `blockMs`. */
export async function readGroup(redis: Redis, stream: string, group: string, consumer: string, count: number, blockMs: number): Promise<StreamEntry[]> {
  const reply = (await redis.callBuffer("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "BLOCK", blockMs, "STREAMS", stream, ">")) as unknown;
  if (!Array.isArray(reply) || reply.length === 0) return [];
  const first = reply[0] as unknown[];
  return parseEntries(first[1]);
}

/** XAUTOCLAIM: entries pending on other consumers for at least `minIdleMs` become ours. */
export async function autoClaim(redis: Redis, stream: string, group: string, consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
  const reply = (await redis.callBuffer("XAUTOCLAIM", stream, group, consumer, minIdleMs, "0-0", "COUNT", count)) as unknown;
  if (!Array.isArray(reply) || reply.length < 2) return [];
  return parseEntries(reply[1]).filter((e) => e.fields.size > 0);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
