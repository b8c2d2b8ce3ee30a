import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, RefineryError } from "../core/errors.js";
import { loadWeights, saveWeights, type JsonObject, type NamedArray } from "../nn/io.js";
import { atomicWriteDir, atomicWriteFile, cleanTempFiles } from "./fsutil.js";

/**
 * A run directory:
 *
 * ```
 * RUN_DIR/
 *   config.json        {"algo", "config": the resolved config, "refinery": version, "createdAt"}
 *   status.json        {"status": running|finished|failed|interrupted, "pid", "iteration", "step", ...}
 *   metrics.jsonl      one JSON object per line: {"kind": "train"|"eval", "iteration", "step", ...}
 *   checkpoints/       latest (names the newest complete checkpoint) and <iteration>/ with
 *                      model.json + weights.bin (tfjs format), the resumable state in its metadata
 *   policy/            the final policy (loadPolicy reads it)
 *   best/              the best policy by evaluation return, when evaluations run
 * ```
 * Every file is written atomically (temp + rename); directories are replaced whole.
 */
export class RunDir {
  /** Told about every status and metrics write after it reached the files (the run store mirrors them). */
  observer?: RunObserver;

  constructor(readonly path: string) {}

  static create(path: string, algo: string, config: Record<string, unknown>): RunDir {
    const abs = resolve(path);
    if (existsSync(join(abs, "config.json"))) {
      throw new ConfigError(
        `run directory ${abs} already holds a run`,
        `continue it with --resume ${path}, or pass another --out directory`,
        "run_exists",
      );
    }
    mkdirSync(abs, { recursive: true });
    const run = new RunDir(abs);
    atomicWriteFile(run.file("config.json"), JSON.stringify({ algo, config, refinery: "0.1.0", createdAt: new Date().toISOString() }, null, 2) + "\n");
    writeFileSync(run.file("metrics.jsonl"), "");
    return run;
  }

  static open(path: string): RunDir {
    const abs = resolve(path);
    if (!existsSync(join(abs, "config.json"))) {
      throw new ConfigError(`${abs} is not a run directory (no config.json)`, "pass a directory created by `refinery train`", "not_a_run");
    }
    cleanTempFiles(abs);
    cleanTempFiles(join(abs, "checkpoints"));
    return new RunDir(abs);
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

  /** Keeps only metric rows up to `iteration` (used on resume, so replayed iterations are not logged twice). */
  truncateMetrics(iteration: number): void {
    const rows = this.readMetrics().filter((r) => typeof r.iteration === "number" && r.iteration <= iteration);
    atomicWriteFile(this.file("metrics.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join(""));
    this.observer?.truncated(iteration);
  }

  /**
   * Writes a checkpoint as a new directory `checkpoints/<iteration>/`, then points
   * `checkpoints/latest` at it (an atomic file write), then deletes older ones. A kill at
   * any moment leaves `latest` naming a complete checkpoint.
   */
  async writeCheckpoint(iteration: number, json: Record<string, unknown>, arrays: Record<string, Float32Array>): Promise<void> {
    const name = String(iteration).padStart(9, "0");
    const root = this.file("checkpoints");
    await atomicWriteDir(join(root, name), (dir) => saveWeights(dir, toNamed(arrays), json as JsonObject));
    atomicWriteFile(join(root, "latest"), name + "\n");
    for (const old of readdirSync(root)) {
      if (/^\d{9}$/.test(old) && old !== name) rmSync(join(root, old), { recursive: true, force: true });
    }
  }

  private latestCheckpoint(): string | null {
    const pointer = join(this.file("checkpoints"), "latest");
    if (!existsSync(pointer)) return null;
    const dir = join(this.file("checkpoints"), readFileSync(pointer, "utf8").trim());
    return existsSync(join(dir, "model.json")) ? dir : null;
  }

  hasCheckpoint(): boolean {
    return this.latestCheckpoint() !== null;
  }

  async readCheckpoint(): Promise<{ json: Record<string, unknown>; arrays: Record<string, Float32Array> }> {
    const dir = this.latestCheckpoint();
    if (!dir) throw new RefineryError("no_checkpoint", `${this.path} has no checkpoint yet`, "train longer before resuming, or start a new run");
    const { arrays, extra } = await loadWeights(dir);
    return { json: extra as Record<string, unknown>, arrays: fromNamed(arrays) };
  }

  /** Saves a policy in the tfjs weights format, with each parameter's shape when `shapes` gives it. */
  async writePolicy(name: "policy" | "best", spec: Record<string, unknown>, weights: Record<string, Float32Array>, shapes: Record<string, number[]> = {}): Promise<void> {
    const named = toNamed(weights).map((a) => (shapes[a.name] ? { ...a, shape: shapes[a.name] } : a));
    await atomicWriteDir(this.file(name), (dir) => saveWeights(dir, named, spec as JsonObject));
  }
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
