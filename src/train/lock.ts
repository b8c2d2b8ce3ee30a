import { linkSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { RefineryError } from "../core/errors.js";

/** The owner lock of a run directory: `RUN/owner.lock`. */
export const LOCK_FILE = "owner.lock";

/** Who holds a run directory. */
export interface LockOwner {
  pid: number;
  host: string;
  /** When the owner took the lock (ISO time). */
  since: string;
  /** The process's start time in clock ticks since boot (Linux), to tell a reused pid from the owner. */
  processStart: number | null;
  /** Random, so an owner releases only its own lock. */
  token: string;
}

/** A held lock; `release()` is idempotent. */
export interface RunLock {
  readonly owner: LockOwner;
  /** The owner this lock replaced because its process was gone, if any. */
  readonly tookOverFrom: LockOwner | null;
  release(): void;
}

const HOST = hostname();
const held = new Set<{ path: string; token: string }>();
let exitHookInstalled = false;

/**
 * Takes the owner lock of `dir` (which must exist). The lock file is written in full to a
 * temporary name and then hard-linked to `owner.lock`: the link either creates the lock
 * with its complete contents or fails because a lock exists, so two processes can never
 * both own a directory and nobody ever reads a half-written lock.
 *
 * A lock whose process is gone (same host, pid dead or reused) is stale and taken over;
 * a live one (or one of another host, whose process cannot be checked) is a `run_locked`
 * error naming the owner.
 */
export function acquireRunLock(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: HOST, since: new Date().toISOString(), processStart: processStartTime(process.pid), token: Math.random().toString(36).slice(2, 12) };
  const tmp = join(dir, `.${LOCK_FILE}.tmp-${process.pid}-${me.token}`);
  writeFileSync(tmp, JSON.stringify(me) + "\n");
  let tookOverFrom: LockOwner | null = null;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkOrCreate(tmp, path, me);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const owner = readRunLock(dir);
      if (owner === "unreadable") {
        // Written by hand or by something else than refinery: do not guess.
        throw new RefineryError("run_locked", `${path} exists but is not a refinery lock`, `if no process is training in ${dir}, delete ${path} and try again`);
      }
      if (owner && !lockIsStale(owner)) throw lockedError(dir, owner);
      if (attempt >= 20) throw new RefineryError("run_locked", `could not take the lock ${path}: other processes keep taking it`, "try again when the other processes have started");
      if (owner) {
        if (removeStaleLock(dir, owner)) tookOverFrom = owner;
        else sleepMs(5 + attempt * 5);
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  const entry = { path, token: me.token };
  held.add(entry);
  if (!exitHookInstalled) {
    // Not a signal handler: it only runs when the process exits anyway (process.exit, end of
    // the event loop), so a lock never outlives its process when it can be helped.
    process.on("exit", () => {
      for (const h of held) releaseFile(h.path, h.token);
    });
    exitHookInstalled = true;
  }
  return {
    owner: me,
    tookOverFrom,
    release() {
      if (!held.has(entry)) return;
      held.delete(entry);
      releaseFile(path, me.token);
    },
  };
}

/** The owner recorded in `dir/owner.lock`: null when there is none, "unreadable" when it is not a lock. */
export function readRunLock(dir: string): LockOwner | null | "unreadable" {
  let text: string;
  try {
    text = readFileSync(join(dir, LOCK_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    return "unreadable";
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== "number" || typeof o.host !== "string" || typeof o.token !== "string") return "unreadable";
    return { pid: o.pid, host: o.host, since: String(o.since ?? "?"), processStart: typeof o.processStart === "number" ? o.processStart : null, token: o.token };
  } catch {
    return "unreadable";
  }
}

/** Whether the process that took this lock is gone: same host, and its pid is dead or now names another process. */
export function lockIsStale(owner: LockOwner): boolean {
  if (owner.host !== HOST) return false;
  if (!processAlive(owner.pid)) return true;
  if (owner.processStart === null) return false;
  const now = processStartTime(owner.pid);
  return now !== null && now !== owner.processStart;
}

/** The one-line description of an owner used in messages: "pid 123 on host since 2026-…". */
export function describeOwner(owner: LockOwner): string {
  return `pid ${owner.pid} on ${owner.host} since ${owner.since}`;
}

function lockedError(dir: string, owner: LockOwner): RefineryError {
  const local = owner.host === HOST;
  return new RefineryError(
    "run_locked",
    `${dir} is in use by another training process (${describeOwner(owner)})`,
    local
      ? `wait for it to finish or stop it (kill ${owner.pid}), or pass another --out directory`
      : `wait for it to finish; if that process is gone, delete ${join(dir, LOCK_FILE)}`,
  );
}

/**
 * Deletes a stale lock, unless someone replaced it meanwhile. Several processes may find
 * the same stale lock at once: `owner.lock.takeover` (a directory, created atomically)
 * lets one of them check and delete it; the others retry.
 */
function removeStaleLock(dir: string, stale: LockOwner): boolean {
  const guard = join(dir, `${LOCK_FILE}.takeover`);
  try {
    mkdirSync(guard);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    // A process killed while holding the guard leaves it behind: it is only held for microseconds.
    try {
      if (Date.now() - statSync(guard).mtimeMs > 10_000) rmdirSync(guard);
    } catch {
      // Gone meanwhile.
    }
    return false;
  }
  try {
    const current = readRunLock(dir);
    if (current && current !== "unreadable" && current.token === stale.token) {
      unlinkSync(join(dir, LOCK_FILE));
      return true;
    }
    return false;
  } finally {
    rmdirSync(guard);
  }
}

/**
 * Publishes the lock: a hard link of the complete temporary file, or, on file systems
 * without hard links, an exclusive create (`wx`) followed by the write. Both fail with
 * EEXIST when a lock exists.
 */
function linkOrCreate(tmp: string, path: string, me: LockOwner): void {
  try {
    linkSync(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw err;
    writeFileSync(path, JSON.stringify(me) + "\n", { flag: "wx" });
  }
}

function releaseFile(path: string, token: string): void {
  try {
    const o = JSON.parse(readFileSync(path, "utf8")) as { token?: string };
    if (o.token === token) unlinkSync(path);
  } catch {
    // Already gone (the directory was removed) or replaced: nothing of ours to release.
  }
}

/** Whether a pid names a live process on this host (EPERM: alive, but someone else's). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null where there is no /proc. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may contain spaces: count from its end.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
