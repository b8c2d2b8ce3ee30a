import { Option, type Command } from "commander";
import { RefineryError } from "../core/errors.js";
import { configDifferences, flattenConfig } from "../store/compare.js";
import { RUNS_ROOT_ENV, STORE_FILE, resolveRunsRoot } from "../store/root.js";
import { RUN_STATUSES, RunStore, storeError, unknownRun, type RunFilter, type RunRecord } from "../store/store.js";
import type { CliIo } from "./io.js";

export interface RunsListOptions extends RunFilter {
  json?: boolean;
  runsRoot?: string;
  rebuild?: boolean;
}

/** The numbers shown for a run, in this order (others follow in `show`). */
export const SUMMARY_KEYS = [
  "step",
  "finalMeanReturn",
  "evalReturnMean",
  "evalReturnStd",
  "episodeReturnMean",
  "episodeLengthMean",
  "stepsToThreshold",
  "policyLoss",
  "valueLoss",
  "entropy",
  "approxKl",
  "clipFraction",
  "explainedVariance",
  "learningRate",
  "sps",
  "wallSeconds",
] as const;

/**
 * Opens the store of a runs root for reading and brings it up to date with the run
 * directories (new or removed directories, dead processes).
 */
export function openStoreForReading(runsRoot?: string): RunStore {
  const store = RunStore.open(resolveRunsRoot(runsRoot), { create: false });
  try {
    store.sync();
  } catch (err) {
    store.close();
    throw storeError(err, store.path);
  }
  return store;
}

/** Runs `fn` on the store (brought up to date), closes it, and reports a damaged database as such. */
function withStore<T>(store: RunStore, fn: (store: RunStore) => T): T {
  try {
    return fn(store);
  } catch (err) {
    throw storeError(err, store.path);
  } finally {
    store.close();
  }
}

/** `refinery runs`: the runs of a root, newest first, optionally filtered. */
export function runsListCommand(opts: RunsListOptions, io: CliIo): void {
  if (opts.status && !RUN_STATUSES.includes(opts.status as never)) {
    throw new RefineryError("invalid_option", `--status "${opts.status}" is not a run status`, `pass one of ${RUN_STATUSES.join(", ")}`);
  }
  let store: RunStore;
  if (opts.rebuild) {
    const r = RunStore.rebuild(resolveRunsRoot(opts.runsRoot));
    store = r.store;
    if (r.movedAside) io.err(`refinery: the damaged store was moved to ${r.movedAside}\n`);
    io.err(`refinery: rebuilt ${store.path} from ${r.imported.length} run director${r.imported.length === 1 ? "y" : "ies"}\n`);
    for (const s of r.skipped) io.err(`refinery: skipped ${s.dir}: ${s.reason}\n`);
  } else {
    store = openStoreForReading(opts.runsRoot);
  }
  withStore(store, (store) => {
    const runs = store.listRuns({ algo: opts.algo, env: opts.env, status: opts.status });
    if (opts.json) {
      io.out(JSON.stringify(runs.map((r) => ({ ...publicRun(r), metrics: store.summary(r.id) }))) + "\n");
      return;
    }
    if (!runs.length) {
      io.out(`no runs in ${store.root}${opts.algo || opts.env || opts.status ? " matching the filters" : ""}\n`);
      return;
    }
    const rows = runs.map((r) => {
      const m = store.summary(r.id);
      return [r.id, r.status, r.algo, r.env, String(r.seed ?? "–"), r.step.toLocaleString("en-US"), num(m.finalMeanReturn ?? m.episodeReturnMean), num(m.evalReturnMean), shortTime(r.startedAt)];
    });
    io.out(table([["ID", "STATUS", "ALGO", "ENV", "SEED", "STEPS", "RETURN", "EVAL", "STARTED"], ...rows], new Set([4, 5, 6, 7])).join("\n") + "\n");
  });
}

/** `refinery runs show ID`: what the run is (config) and where it got (metrics). */
export function runsShowCommand(id: string, opts: { json?: boolean; runsRoot?: string }, io: CliIo): void {
  withStore(openStoreForReading(opts.runsRoot), (store) => {
    const run = requireRun(store, id);
    const metrics = store.summary(id);
    if (opts.json) {
      io.out(JSON.stringify({ ...publicRun(run), metrics }) + "\n");
      return;
    }
    const lines = [
      `run ${run.id}  (${run.status})`,
      ...table(
        [
          ["name", run.name],
          ["algo", run.algo],
          ["env", run.env],
          ["seed", String(run.seed ?? "–")],
          ["status", run.status + (run.status === "running" && run.pid ? ` (pid ${run.pid})` : "") + (run.error ? `: ${run.error}` : "")],
          ["started", run.startedAt ?? "–"],
          ["ended", run.endedAt ?? "–"],
          ["progress", `${run.step.toLocaleString("en-US")} steps, ${run.iteration} iterations`],
          ["directory", run.dir],
        ],
        new Set(),
        "  ",
      ),
      "",
      run.finalMetrics ? "final metrics" : "latest metrics",
      ...table(orderedMetricKeys(metrics).map((k) => [k, num(metrics[k], 6)]), new Set(), "  "),
      "",
      "config",
      ...table(Object.entries(flattenConfig(run.config)), new Set(), "  "),
    ];
    if (run.status === "interrupted") lines.push("", `continue it with: refinery train --resume ${run.dir}`);
    io.out(lines.join("\n") + "\n");
  });
}

/** `refinery runs compare ID ID...`: final metrics side by side, then the config keys that differ. */
export function runsCompareCommand(ids: string[], opts: { json?: boolean; runsRoot?: string }, io: CliIo): void {
  if (ids.length < 2) throw new RefineryError("invalid_option", "runs compare needs at least two run ids", "pass two or more ids (see `refinery runs`)");
  withStore(openStoreForReading(opts.runsRoot), (store) => {
    const runs = ids.map((id) => requireRun(store, id));
    const metrics = runs.map((r) => store.summary(r.id));
    const differences = configDifferences(runs.map((r) => ({ algo: r.algo, ...r.config })));
    if (opts.json) {
      io.out(JSON.stringify({ runs: runs.map((r, i) => ({ id: r.id, status: r.status, metrics: metrics[i] })), configDifferences: differences }) + "\n");
      return;
    }
    const keys = SUMMARY_KEYS.filter((k) => metrics.some((m) => m[k] !== undefined && m[k] !== null));
    const header = ["", ...runs.map((r) => r.id)];
    const lines = [
      ...table([header, ["status", ...runs.map((r) => r.status)], ...keys.map((k) => [k, ...metrics.map((m) => num(m[k]))])], new Set(runs.map((_, i) => i + 1))),
      "",
      differences.length ? "config differences" : "config: identical",
    ];
    if (differences.length) lines.push(...table([header, ...differences.map((d) => [d.key, ...d.values])], new Set()));
    io.out(lines.join("\n") + "\n");
  });
}

/** `refinery runs rm ID...`: deletes runs (directory and rows); a running run needs --force. */
export function runsRemoveCommand(given: string[], opts: { force?: boolean; runsRoot?: string }, io: CliIo): void {
  // `runs rm a a` removes a once (the second would be an unknown run after the first).
  const ids = [...new Set(given)];
  withStore(openStoreForReading(opts.runsRoot), (store) => {
    for (const id of ids) requireRun(store, id);
    for (const id of ids) {
      const run = store.removeRun(id, { force: opts.force });
      io.out(`removed run ${run.id} (${run.dir})\n`);
    }
  });
}

function requireRun(store: RunStore, id: string): RunRecord {
  const run = store.getRun(id);
  if (!run) throw unknownRun(id, store.root);
  return run;
}

/** A run as printed by --json (the same fields the dashboard's API serves). */
export function publicRun(r: RunRecord): Omit<RunRecord, "host"> {
  const { host: _host, ...rest } = r;
  return rest;
}

function orderedMetricKeys(m: Record<string, number | null>): string[] {
  const known = SUMMARY_KEYS.filter((k) => k in m) as string[];
  return [...known, ...Object.keys(m).filter((k) => !known.includes(k)).sort()];
}

/** Integers with thousands separators, other numbers to `digits` significant digits. */
function num(x: number | null | undefined, digits = 5): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  const abs = Math.abs(x);
  if (abs < 1e-3 || abs >= 1e7) return x.toExponential(digits - 2);
  return String(Number(x.toPrecision(digits)));
}

function shortTime(iso: string | null): string {
  return iso ? iso.replace("T", " ").slice(0, 16) : "–";
}

/** Left-aligned columns, right-aligned for the indices in `numeric`, two spaces apart. */
function table(rows: string[][], numeric: Set<number>, indent = ""): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

/** Registers `refinery runs` and its subcommands show, compare and rm. */
export function registerRunsCommand(program: Command, io: CliIo): void {
  const rootOption = () => new Option("--runs-root <dir>", `directory holding the run directories and ${STORE_FILE} (default: $${RUNS_ROOT_ENV}, else ./runs)`);
  const runs = program
    .command("runs")
    .description(`list the runs of a runs root (from its store, ${STORE_FILE}); subcommands show, compare and rm`)
    .option("--algo <name>", "only runs of this algorithm (default: all)")
    .option("--env <id>", "only runs on this environment (default: all)")
    .option("--status <status>", `only runs with this status: ${RUN_STATUSES.join(", ")} (default: all)`)
    .option("--json", "print a JSON array of runs, each with its config and latest metrics", false)
    .option("--rebuild", `recreate ${STORE_FILE} from the run directories first (when it is missing, damaged or out of date)`, false)
    .addOption(rootOption())
    .action((opts: RunsListOptions) => runsListCommand(opts, io));

  runs
    .command("show")
    .description("print a run's status, latest or final metrics and config")
    .argument("<id>", "run id: the name of its directory in the runs root")
    .option("--json", "print one JSON object", false)
    .addOption(rootOption())
    .action((id: string, _opts, cmd: Command) => runsShowCommand(id, cmd.optsWithGlobals(), io));

  runs
    .command("compare")
    .description("print the final metrics of several runs side by side, then the config keys that differ")
    .argument("<ids...>", "two or more run ids")
    .option("--json", "print one JSON object: {runs: [{id, status, metrics}], configDifferences: [{key, values}]}", false)
    .addOption(rootOption())
    .action((ids: string[], _opts, cmd: Command) => runsCompareCommand(ids, cmd.optsWithGlobals(), io));

  runs
    .command("rm")
    .description("remove runs: their directories and their rows in the store (no questions asked)")
    .argument("<ids...>", "run ids")
    .option("--force", "also remove a run that is still training (its process is not stopped)", false)
    .addOption(rootOption())
    .action((ids: string[], _opts, cmd: Command) => runsRemoveCommand(ids, cmd.optsWithGlobals(), io));
}
