import type { TrialResult } from "../scale/sweep.js";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import { RunStore, type RunRecord } from "../store/store.js";

/**
 * Sweeps under a runs root, for the dashboard. `refinery sweep` and `refinery worker` put a
 * sweep in a directory of the root (RUNS/sweep-NAME): sweep.json (the spec and its trials),
 * results.jsonl (one line per trial as it ends), summary.json (at the end), and one run
 * directory per trial, with the sweep directory's own runs.db. Sweep and trial names from a
 * request are only ever looked up among what was found here, never joined into a path.
 */

/** One trial as the dashboard shows it. */
export interface SweepTrial {
  id: string;
  /** The config keys the sweep set for this trial (its point and seed). */
  overrides: Record<string, unknown>;
  /** queued (no run yet), running, finished, failed or interrupted. */
  status: string;
  worker: string | null;
  step: number;
  /** Whether the trial has a run directory here (so its curves can be served). */
  hasRun: boolean;
  /** Final numbers: the sweep's result line (evalMeanReturn, …) over the run's latest metrics. */
  metrics: Record<string, number | null>;
  error: string | null;
}

export interface SweepListing {
  /** The sweep directory's name under the runs root: the key of /api/sweeps/NAME. */
  name: string;
  /** The sweep's own name (from its spec), when known. */
  sweep: string | null;
  algo: string | null;
  total: number;
  done: number;
  running: number;
  failed: number;
  /** Result lines that did not parse (a line being written, or damage). */
  skippedLines: number;
}

export interface SweepDetail extends SweepListing {
  /** The keys the trials vary over, in order (the table's config columns). */
  keys: string[];
  trials: SweepTrial[];
}

const SWEEP_FILES = ["sweep.json", "results.jsonl", "summary.json"];

/** The real path of `p` if it lies inside `rootReal` (no symlink out of the root), else null. */
export function insideRoot(rootReal: string, p: string): string | null {
  try {
    const real = realpathSync(p);
    return real.startsWith(rootReal + sep) ? real : null;
  } catch {
    return null;
  }
}

/**
 * The sweep directories directly under `root`: directories that are not runs themselves and
 * hold a sweep's files, or are named sweep-* and hold trial runs (a worker's machine, where
 * only the trials' run directories are written). Symlinks are not followed.
 */
export function findSweepDirs(root: string): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    const dir = join(root, name);
    try {
      if (!lstatSync(dir).isDirectory() || existsSync(join(dir, "config.json"))) continue;
      if (SWEEP_FILES.some((f) => existsSync(join(dir, f))) || (name.startsWith("sweep-") && hasRunDir(dir))) out.set(name, dir);
    } catch {
      // Removed while listing: skip.
    }
  }
  return out;
}

function hasRunDir(dir: string): boolean {
  return readdirSync(dir).some((n) => {
    try {
      return statSync(join(dir, n)).isDirectory() && existsSync(join(dir, n, "config.json"));
    } catch {
      return false;
    }
  });
}

/** A line of results.jsonl as read back: the sweep's TrialResult, every field but the id unchecked. */
type ResultLine = Partial<Omit<TrialResult, "id" | "status">> & { id: string; status?: string };

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

function isResult(x: unknown): x is ResultLine {
  return typeof x === "object" && x !== null && typeof (x as ResultLine).id === "string";
}

/** The sweep's result lines by trial (later lines win); a line that does not parse (half written) is skipped and counted. */
function readResults(dir: string): { results: Map<string, ResultLine>; skipped: number } {
  const results = new Map<string, ResultLine>();
  let skipped = 0;
  const summary = readJson(join(dir, "summary.json")) as { results?: unknown[] } | null;
  for (const r of Array.isArray(summary?.results) ? summary.results : []) if (isResult(r)) results.set(r.id, r);
  let text = "";
  try {
    text = readFileSync(join(dir, "results.jsonl"), "utf8");
  } catch {
    // No results yet.
  }
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    if (isResult(parsed)) results.set(parsed.id, parsed);
    else skipped++;
  }
  return { results, skipped };
}

/** Trials of the sweep's spec file, in order. */
function readSpec(dir: string): { name: string | null; algo: string | null; trials: { id: string; overrides: Record<string, unknown> }[] } {
  const saved = readJson(join(dir, "sweep.json")) as { spec?: { name?: unknown; algo?: unknown }; trials?: unknown[] } | null;
  const trials = (Array.isArray(saved?.trials) ? saved.trials : []).filter(isResult).map((t) => ({ id: t.id, overrides: t.overrides ?? {} }));
  return { name: typeof saved?.spec?.name === "string" ? saved.spec.name : null, algo: typeof saved?.spec?.algo === "string" ? saved.spec.algo : null, trials };
}

const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);

/**
 * One sweep: its trials from the spec, the result lines and the trial runs (any may be
 * missing: a sweep still queuing, a worker machine without the spec, a trial not started).
 */
export function readSweep(name: string, dir: string, store: RunStore | null, rootReal: string): SweepDetail {
  const spec = readSpec(dir);
  const { results, skipped } = readResults(dir);
  const runs = new Map<string, RunRecord>();
  for (const r of store?.listRuns() ?? []) if (insideRoot(rootReal, r.dir)) runs.set(r.id, r);
  const ids = [...new Set([...spec.trials.map((t) => t.id), ...results.keys(), ...runs.keys()])].sort();
  const specOverrides = new Map(spec.trials.map((t) => [t.id, t.overrides]));
  const trials = ids.map((id): SweepTrial => {
    const res = results.get(id);
    const run = runs.get(id);
    const metrics: Record<string, number | null> = { ...(run && store ? store.summary(id) : {}) };
    if (res) {
      for (const k of ["evalMeanReturn", "finalMeanReturn", "stepsToThreshold", "wallSeconds"] as const) if (k in res) metrics[k] = num(res[k]);
    }
    return {
      id,
      overrides: specOverrides.get(id) ?? res?.overrides ?? {},
      status: res?.status ?? run?.status ?? "queued",
      worker: res?.worker ?? null,
      step: num(res?.steps) ?? run?.step ?? 0,
      hasRun: Boolean(run),
      metrics,
      error: res?.error ?? run?.error ?? null,
    };
  });
  const keys = [...new Set(trials.flatMap((t) => Object.keys(t.overrides)))];
  // Keys every trial sets to the same value (the sweep's fixed `set`) say nothing about the differences.
  const varying = keys.filter((k) => new Set(trials.map((t) => JSON.stringify(t.overrides[k]))).size > 1);
  return {
    name,
    sweep: spec.name,
    algo: spec.algo,
    total: trials.length,
    done: trials.filter((t) => t.status === "finished" || t.status === "failed").length,
    running: trials.filter((t) => t.status === "running").length,
    failed: trials.filter((t) => t.status === "failed").length,
    skippedLines: skipped,
    keys: varying.length ? varying : keys,
    trials,
  };
}

/** The trials' run stores, one per sweep directory, opened when first needed and kept in step with the directory. */
export class SweepStores {
  private stores = new Map<string, RunStore>();

  /** The sweep's store, synced with its trial directories; null while it has no trial run. */
  get(dir: string): RunStore | null {
    let store = this.stores.get(dir);
    if (!store) {
      if (!existsSync(join(dir, "runs.db")) && !hasRunDir(dir)) return null;
      store = RunStore.open(dir);
      this.stores.set(dir, store);
    }
    if (store.reopenIfReplaced()) store.sync();
    store.sync();
    return store;
  }

  close(): void {
    for (const s of this.stores.values()) s.close();
    this.stores.clear();
  }
}
