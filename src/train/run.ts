import { createHash } from "node:crypto";
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { ConfigError, RefineryError } from "../core/errors.js";
import { loadWeights, saveWeights, type JsonObject, type NamedArray } from "../nn/io.js";
import { resolveRunsRoot, STORE_FILE } from "../store/root.js";
import { atomicWriteDir, atomicWriteFile, cleanStaleTempFiles } from "./fsutil.js";
import { acquireRunLock, processAlive, type LockOwner, type RunLock } from "./lock.js";

/**
 * A run directory:
 *
 * ```
 * RUN_DIR/
 *   config.json        {"algo", "config": the resolved config, "refinery": version, "createdAt"}
 *   owner.lock         the training process that owns the directory (pid, host, since); see lock.ts
 *   status.json        {"status": running|finished|failed|interrupted, "pid", "iteration", "step", ...}
 *   metrics.jsonl      one JSON object per line: {"kind": "train"|"eval", "iteration", "step", ...}
 *   checkpoints/       latest (names the newest complete checkpoint) and <iteration>/ with
 *                      model.json + weights.bin (tfjs format), the resumable state in its metadata,
 *                      and SHA256SUMS (written last) to verify both
 *   policy/            the final policy (loadPolicy reads it)
 *   best/              the best policy by evaluation return, when evaluations run
 * ```
 * Every file is written atomically (temp + rename); directories are replaced whole.
 *
 * Only the owner writes: `RunDir.create` and `RunDir.openAsOwner` take the directory's
 * owner lock, `RunDir.open` is for readers and never modifies anything.
 */
export class RunDir {
  /** Told about every status and metrics write after it reached the files (the run store mirrors them). */
  observer?: RunObserver;
  private lock: RunLock | null = null;

  constructor(readonly path: string) {}

  /**
   * Creates a new run directory and takes its owner lock. Refused when the directory holds a
   * run already, is owned by another process, or is a place no run may be (see checkRunDirPlace).
   */
  static create(path: string, algo: string, config: Record<string, unknown>): RunDir {
    const abs = resolve(path);
    checkRunDirPlace(abs);
    if (existsSync(abs) && !statSync(abs).isDirectory()) {
      throw new ConfigError(`run directory ${abs} is a file`, "pass a new or empty directory for the run", "run_exists");
    }
    if (existsSync(join(abs, "config.json"))) throw runExists(abs, path);
    mkdirSync(abs, { recursive: true });
    const run = new RunDir(abs);
    run.lock = acquireRunLock(abs);
    try {
      // Checked again under the lock: another process may have created the run meanwhile.
      if (existsSync(join(abs, "config.json"))) throw runExists(abs, path);
      run.cleanLeftovers();
      atomicWriteFile(run.file("config.json"), JSON.stringify({ algo, config, refinery: "0.1.0", createdAt: new Date().toISOString() }, null, 2) + "\n");
      writeFileSync(run.file("metrics.jsonl"), "");
    } catch (err) {
      run.release();
      throw err;
    }
    return run;
  }

  /** Opens a run directory for reading. Readers never modify it (not even temporary files). */
  static open(path: string): RunDir {
    const abs = resolve(path);
    if (!existsSync(join(abs, "config.json"))) {
      throw new ConfigError(`${abs} is not a run directory (no config.json)`, "pass a directory created by `refinery train`", "not_a_run");
    }
    return new RunDir(abs);
  }

  /**
   * Opens a run directory to write in it (resume): takes its owner lock (refused while
   * another process owns it; a dead owner's lock is taken over), then tidies what an
   * interrupted previous owner left half-written.
   */
  static openAsOwner(path: string): RunDir {
    const run = RunDir.open(path);
    run.lock = acquireRunLock(run.path);
    try {
      run.cleanLeftovers();
    } catch (err) {
      run.release();
      throw err;
    }
    return run;
  }

  /** The owner this process replaced when it took the lock (its process was gone), if any. */
  get tookOverFrom(): LockOwner | null {
    return this.lock?.tookOverFrom ?? null;
  }

  /** Gives up ownership (idempotent). */
  release(): void {
    this.lock?.release();
    this.lock = null;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  readConfig(): { algo: string; config: Record<string, unknown> } {
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(this.file("config.json"), "utf8"));
    } catch (err) {
      throw new RefineryError("corrupt_run", `cannot read ${this.file("config.json")}: ${(err as Error).message}`, "the run directory is damaged; start a new run");
    }
    // `{}`, `null` or a hand-edited file would otherwise fail later, far from the cause.
    const obj = saved as { algo?: unknown; config?: unknown } | null;
    if (!obj || typeof obj !== "object" || typeof obj.algo !== "string" || !obj.config || typeof obj.config !== "object" || Array.isArray(obj.config)) {
      throw new RefineryError(
        "corrupt_run",
        `${this.file("config.json")} is not a run config (expected {"algo": NAME, "config": {...}}, got ${JSON.stringify(saved)?.slice(0, 60)})`,
        "the run directory is damaged; restore config.json or start a new run",
      );
    }
    return obj as { algo: string; config: Record<string, unknown> };
  }

  writeStatus(status: Record<string, unknown>): void {
    this.assertPresent();
    const full = { ...status, updatedAt: new Date().toISOString() };
    atomicWriteFile(this.file("status.json"), JSON.stringify(full) + "\n");
    this.observer?.status(full);
  }

  readStatus(): Record<string, unknown> | null {
    try {
      return JSON.parse(readFileSync(this.file("status.json"), "utf8"));
    } catch {
      return null;
    }
  }

  appendMetrics(row: Record<string, unknown>): void {
    this.assertPresent();
    appendFileSync(this.file("metrics.jsonl"), JSON.stringify(row) + "\n");
    this.observer?.metrics(row);
  }

  readMetrics(): Record<string, unknown>[] {
    if (!existsSync(this.file("metrics.jsonl"))) return [];
    if (statSync(this.file("metrics.jsonl")).isDirectory()) {
      throw new RefineryError("corrupt_run", `${this.file("metrics.jsonl")} is a directory, not the run's metrics file`, "the run directory is damaged; remove that directory (the run's metrics are lost) or the run");
    }
    return readFileSync(this.file("metrics.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return []; // a line cut by a kill mid-write
        }
      });
  }

  /**
   * Keeps only metric rows up to `iteration` (used on resume, so replayed iterations are not
   * logged twice). `dropEvalAt` also drops the evaluation row of that iteration: the final
   * evaluation comes after the final checkpoint, so a run resumed from that checkpoint
   * evaluates again and must not log the row twice.
   */
  truncateMetrics(iteration: number, opts: { dropEvalAt?: number } = {}): void {
    this.assertPresent();
    const rows = this.readMetrics().filter(
      (r) => typeof r.iteration === "number" && r.iteration <= iteration && !(r.kind === "eval" && r.iteration === opts.dropEvalAt),
    );
    atomicWriteFile(this.file("metrics.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join(""));
    this.observer?.truncated(iteration);
  }

  /**
   * Writes a checkpoint as a new directory `checkpoints/<iteration>/` (weights, then
   * SHA256SUMS of both files last), then points `checkpoints/latest` at it (an atomic file
   * write), then deletes the checkpoints it supersedes, keeping the one before it as a
   * fallback. A kill at any moment leaves at least one complete, verifiable checkpoint once
   * the first one exists.
   */
  async writeCheckpoint(iteration: number, json: Record<string, unknown>, arrays: Record<string, Float32Array>): Promise<void> {
    this.assertPresent();
    const name = checkpointName(iteration);
    const root = this.file("checkpoints");
    await atomicWriteDir(join(root, name), async (dir) => {
      await saveWeights(dir, toNamed(arrays), json as JsonObject);
      atomicWriteFile(join(dir, CHECKSUM_FILE), CHECKSUMMED.map((f) => `${sha256File(join(dir, f))}  ${f}\n`).join(""));
    });
    atomicWriteFile(join(root, "latest"), name + "\n");
    const older = readdirSync(root)
      .filter((e) => CHECKPOINT_NAME.test(e) && e < name)
      .sort()
      .reverse();
    for (const old of older.slice(1)) rmSync(join(root, old), { recursive: true, force: true });
  }

  /**
   * The checkpoint to resume from: the one `latest` names if it verifies, else the newest
   * one that does. `skipped` says what was wrong with the pointer and the checkpoints passed
   * over. Null when no checkpoint verifies.
   */
  findCheckpoint(): { dir: string; name: string; skipped: string[] } | null {
    const root = this.file("checkpoints");
    const skipped: string[] = [];
    if (!existsSync(root)) return null;
    const realRoot = realpathSync(root);
    if (!isInside(realpathSync(this.path), realRoot)) {
      skipped.push("checkpoints/ leads outside the run directory");
      return null;
    }
    const candidates: string[] = [];
    const pointer = readPointer(join(root, "latest"));
    if (pointer.name) candidates.push(pointer.name);
    else skipped.push(`checkpoints/latest ${pointer.problem}`);
    const dirs = readdirSync(root).filter((e) => CHECKPOINT_NAME.test(e)).sort().reverse();
    if (pointer.name && !dirs.includes(pointer.name)) skipped.push(`checkpoints/latest names ${pointer.name}, which does not exist`);
    for (const d of dirs) if (!candidates.includes(d)) candidates.push(d);
    for (const name of candidates) {
      const dir = join(root, name);
      if (!existsSync(dir) && name === pointer.name) continue;
      const problem = verifyCheckpoint(dir, realRoot);
      if (problem === null) return { dir, name, skipped };
      skipped.push(`checkpoint ${name} ${problem}`);
    }
    return null;
  }

  /** Whether any checkpoint directory exists, usable or not. */
  hasCheckpointDirs(): boolean {
    const root = this.file("checkpoints");
    return existsSync(root) && readdirSync(root).some((e) => CHECKPOINT_NAME.test(e));
  }

  hasCheckpoint(): boolean {
    return this.findCheckpoint() !== null;
  }

  /** Reads the checkpoint findCheckpoint chooses; a `no_checkpoint` error naming what is wrong when there is none. */
  async readCheckpoint(): Promise<{ json: Record<string, unknown>; arrays: Record<string, Float32Array>; name: string; skipped: string[] }> {
    const found = this.findCheckpoint();
    if (!found) throw noCheckpoint(this.path, this.checkpointProblems());
    const { arrays, extra } = await loadWeights(found.dir);
    return { json: extra as Record<string, unknown>, arrays: fromNamed(arrays), name: found.name, skipped: found.skipped };
  }

  /** Why no checkpoint can be used, for messages. */
  checkpointProblems(): string[] {
    const root = this.file("checkpoints");
    if (!existsSync(root)) return ["no checkpoint was written"];
    const out: string[] = [];
    const dirs = readdirSync(root).filter((e) => CHECKPOINT_NAME.test(e));
    const pointer = readPointer(join(root, "latest"));
    if (!pointer.name) out.push(`checkpoints/latest ${pointer.problem}`);
    else if (!dirs.includes(pointer.name)) out.push(`checkpoints/latest names ${pointer.name}, which does not exist`);
    const realRoot = realpathSync(root);
    for (const d of dirs) {
      const problem = verifyCheckpoint(join(root, d), realRoot);
      if (problem) out.push(`checkpoint ${d} ${problem}`);
    }
    if (!dirs.length) out.push("no checkpoint was written");
    return out;
  }

  /** Deletes everything a run has produced (checkpoints, policies, metrics): `--restart`. Owner only. */
  clearForRestart(): void {
    this.assertPresent();
    for (const d of ["checkpoints", "policy", "best"]) rmSync(this.file(d), { recursive: true, force: true });
    atomicWriteFile(this.file("metrics.jsonl"), "");
    this.observer?.truncated(0);
  }

  /** Saves a policy in the tfjs weights format, with each parameter's shape when `shapes` gives it. */
  async writePolicy(name: "policy" | "best", spec: Record<string, unknown>, weights: Record<string, Float32Array>, shapes: Record<string, number[]> = {}): Promise<void> {
    this.assertPresent();
    const named = toNamed(weights).map((a) => (shapes[a.name] ? { ...a, shape: shapes[a.name] } : a));
    await atomicWriteDir(this.file(name), (dir) => saveWeights(dir, named, spec as JsonObject));
  }

  /** Leftovers of an interrupted previous owner (dead processes' temp files); never a live process's. */
  private cleanLeftovers(): void {
    const gone = (pid: number) => !processAlive(pid);
    cleanStaleTempFiles(this.path, gone);
    cleanStaleTempFiles(this.file("checkpoints"), gone);
  }

  /**
   * Writes fail, rather than recreate a run directory that was removed (`runs rm`) while
   * training: a half-recreated directory without config.json would be invisible to `runs`.
   */
  private assertPresent(): void {
    if (!existsSync(this.file("config.json"))) {
      throw new RefineryError("run_removed", `the run directory ${this.path} was removed while the run was writing to it`, "start a new run");
    }
  }
}

const CHECKPOINT_NAME = /^\d{9}$/;
const CHECKSUM_FILE = "SHA256SUMS";
const CHECKSUMMED = ["model.json", "weights.bin"];

export function checkpointName(iteration: number): string {
  return String(iteration).padStart(9, "0");
}

/** The checkpoint name in `checkpoints/latest`, or what is wrong with the pointer. */
function readPointer(path: string): { name: string | null; problem: string } {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return { name: null, problem: "is missing" };
  }
  if (stat.isSymbolicLink()) return { name: null, problem: "is a symbolic link (a run only trusts its own files)" };
  if (!stat.isFile()) return { name: null, problem: "is not a file" };
  const text = readFileSync(path, "utf8").trim();
  if (!text) return { name: null, problem: "is empty" };
  // Only a bare checkpoint name: never a path, so the pointer cannot lead outside the run.
  if (!CHECKPOINT_NAME.test(text)) return { name: null, problem: `does not name a checkpoint (${JSON.stringify(text.slice(0, 40))})` };
  return { name: text, problem: "" };
}

/** Null when `dir` is a complete checkpoint inside `realRoot` whose files match SHA256SUMS; else what is wrong. */
function verifyCheckpoint(dir: string, realRoot: string): string | null {
  try {
    return checkCheckpointFiles(dir, realRoot);
  } catch (err) {
    // A reader can race the owner deleting a superseded checkpoint.
    return `could not be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

function checkCheckpointFiles(dir: string, realRoot: string): string | null {
  let stat;
  try {
    stat = lstatSync(dir);
  } catch {
    return "is missing";
  }
  if (stat.isSymbolicLink() || !stat.isDirectory()) return "is not a directory of this run";
  if (!isInside(realRoot, realpathSync(dir))) return "leads outside the run directory";
  const sums = join(dir, CHECKSUM_FILE);
  if (!existsSync(sums)) {
    // Checkpoints written before checksums existed: model.json records weights.bin's SHA-256,
    // which loadWeights verifies.
    return existsSync(join(dir, "model.json")) ? null : "is incomplete (no model.json)";
  }
  const expected = new Map<string, string>();
  for (const line of readFileSync(sums, "utf8").split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line.trim());
    if (m) expected.set(m[2], m[1]);
  }
  for (const f of CHECKSUMMED) {
    const path = join(dir, f);
    const want = expected.get(f);
    if (!want) return `has no checksum for ${f}`;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      return `is incomplete (no ${f})`;
    }
    if (!st.isFile()) return `has a ${f} that is not a plain file`;
    if (sha256File(path) !== want) return `is damaged (${f} does not match its checksum)`;
  }
  return null;
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function isInside(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

/**
 * A run directory is never the current directory, the runs root, a directory holding a
 * run store, or an ancestor of any of them: removing the run would remove them too, and
 * a run there would mix its files with theirs.
 */
export function checkRunDirPlace(abs: string): void {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : p);
  const target = real(abs);
  const places: [string, string][] = [
    [real(process.cwd()), "the current directory"],
    [real(resolveRunsRoot()), "the runs root"],
  ];
  for (const [place, what] of places) {
    if (isInside(target, place)) {
      const relation = target === place ? `is ${what}` : `is an ancestor of ${what} (${place})`;
      throw new ConfigError(`run directory ${abs} ${relation}`, "pass a new directory for the run, e.g. --out runs/my-run", "bad_run_dir");
    }
  }
  if (existsSync(join(abs, STORE_FILE))) {
    throw new ConfigError(`run directory ${abs} holds a run store (${STORE_FILE}): it is a runs root`, `pass a new directory inside it, e.g. --out ${join(abs, "my-run")}`, "bad_run_dir");
  }
}

function runExists(abs: string, given: string): ConfigError {
  return new ConfigError(`run directory ${abs} already holds a run`, `continue it with --resume ${given}, or pass another --out directory`, "run_exists");
}

function noCheckpoint(path: string, problems: string[]): RefineryError {
  return new RefineryError(
    "no_checkpoint",
    `${path} has no usable checkpoint to resume from (${problems.join("; ")})`,
    `start it over from step 0 with \`refinery train --resume ${path} --restart\` (this empties its metrics), or start a new run`,
  );
}

/** Receives a run directory's writes; implementations must not throw (see store/sink.ts). */
export interface RunObserver {
  status(status: Record<string, unknown>): void;
  metrics(row: Record<string, unknown>): void;
  truncated(iteration: number): void;
}

function toNamed(arrays: Record<string, Float32Array>): NamedArray[] {
  return Object.entries(arrays).map(([name, data]) => ({ name, data }));
}

function fromNamed(arrays: NamedArray[]): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const a of arrays) out[a.name] = a.data as Float32Array;
  return out;
}
