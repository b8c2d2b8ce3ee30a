import { existsSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { RefineryError } from "../core/errors.js";
import { RunDir } from "../train/run.js";
import { configDifferences, experimentKey } from "../store/compare.js";
import type { ChartSeries } from "./svg.js";

/** Short names accepted for `--metric`. */
export const METRIC_ALIASES: Record<string, string> = {
  return: "episodeReturnMean",
  length: "episodeLengthMean",
  eval: "evalReturnMean",
  kl: "approxKl",
  lr: "learningRate",
};

/** A run's data as the plots need it. */
export interface RunCurveData {
  id: string;
  algo: string;
  config: Record<string, unknown>;
  rows: Record<string, unknown>[];
}

/** One line of a plot: a single run, or the mean (with min/max band) of the seeds of one experiment. */
export interface Curve extends ChartSeries {
  runIds: string[];
}

export function metricName(metric: string): string {
  return METRIC_ALIASES[metric] ?? metric;
}

/** Metrics whose name starts with "eval" live in the evaluation rows, the others in the training rows. */
export function metricKind(metric: string): "train" | "eval" {
  return metric.startsWith("eval") ? "eval" : "train";
}

/**
 * Reads the runs named on the command line: each is a run directory, or the id (directory
 * name) of a run in the runs root. The run directories are read directly, so plotting
 * needs no store.
 */
export function loadRuns(specs: string[], runsRoot: string): RunCurveData[] {
  return specs.map((spec) => {
    const dir = existsSync(join(spec, "config.json")) ? resolve(spec) : join(runsRoot, spec);
    if (!existsSync(join(dir, "config.json"))) {
      throw new RefineryError("unknown_run", `"${spec}" is neither a run directory nor the id of a run in ${runsRoot}`, "pass run directories, or ids listed by `refinery runs` (set the root with --runs-root or REFINERY_RUNS)");
    }
    const run = new RunDir(dir);
    const { algo, config } = run.readConfig();
    return { id: basename(dir), algo, config, rows: run.readMetrics() };
  });
}

/**
 * The curves of `metric` against the env step. Runs whose algorithm and config are equal
 * except for the seed form one experiment, drawn as the mean across seeds with a min/max
 * band over the steps that every seed reached; other runs are drawn alone. `smoothing` in
 * [0, 1) is an exponential moving average applied to each run before aggregation (0: none).
 */
export function buildCurves(runs: RunCurveData[], metricOrAlias: string, smoothing = 0): Curve[] {
  const metric = metricName(metricOrAlias);
  if (!(smoothing >= 0 && smoothing < 1)) throw new RefineryError("invalid_option", `smoothing ${smoothing} is outside [0, 1)`, "pass a value such as 0 (none), 0.6 or 0.9");
  const kind = metricKind(metric);
  const groups = new Map<string, RunCurveData[]>();
  for (const run of runs) {
    const key = experimentKey(run.algo, run.config);
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  const members = [...groups.values()];
  const labels = experimentLabels(members);
  const curves: Curve[] = [];
  members.forEach((group, i) => {
    const series = group.map((run) => smooth(seriesOf(run, metric, kind), smoothing)).filter((s) => s.x.length > 0);
    if (!series.length) return;
    const label = series.length > 1 ? `${labels[i]} (mean of ${series.length} seeds, min–max)` : labels[i] + (group.length === 1 ? ` seed ${String(group[0].config.seed ?? "?")}` : "");
    if (series.length === 1) {
      curves.push({ label, runIds: group.map((r) => r.id), x: series[0].x, y: series[0].y });
      return;
    }
    curves.push({ label, runIds: group.map((r) => r.id), ...aggregate(series) });
  });
  if (!curves.length) {
    throw new RefineryError("no_data", `none of the runs has values of "${metric}" in its ${kind} rows`, `check the name (training rows hold episodeReturnMean, episodeLengthMean, policyLoss, valueLoss, entropy, approxKl, clipFraction, learningRate, sps, …; evaluation rows evalReturnMean, evalLengthMean) or use an alias: ${Object.keys(METRIC_ALIASES).join(", ")}`);
  }
  return curves;
}

/**
 * Labels that tell the experiments apart: the algorithm (and env, when several), then the
 * config keys that differ among experiments of the same algorithm — comparing configs of
 * different algorithms key by key would list every option.
 */
function experimentLabels(groups: RunCurveData[][]): string[] {
  const base = (g: RunCurveData[]) => `${g[0].algo} ${String(g[0].config.env ?? "")}`.trim();
  if (groups.length === 1) return [base(groups[0])];
  const envs = new Set(groups.map((g) => String(g[0].config.env ?? "")));
  const algos = new Set(groups.map((g) => g[0].algo));
  return groups.map((g) => {
    const same = groups.filter((h) => h[0].algo === g[0].algo && (envs.size === 1 || h[0].config.env === g[0].config.env));
    const i = same.indexOf(g);
    const diffs = same.length > 1 ? configDifferences(same.map((h) => h[0].config)).filter((d) => d.key !== "seed" && d.key !== "env") : [];
    const parts = [
      ...(envs.size > 1 ? [String(g[0].config.env ?? "")] : []),
      ...(algos.size > 1 || diffs.length === 0 ? [g[0].algo] : []),
      ...diffs.map((d) => `${d.key}=${d.values[i]}`),
    ];
    return parts.join(" ");
  });
}

function seriesOf(run: RunCurveData, metric: string, kind: string): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  const rows = run.rows.filter((r) => (r.kind ?? "train") === kind).sort((a, b) => Number(a.step) - Number(b.step));
  for (const r of rows) {
    const v = r[metric];
    if (typeof v === "number" && Number.isFinite(v) && typeof r.step === "number") {
      x.push(r.step);
      y.push(v);
    }
  }
  return { x, y };
}

/** TensorBoard's smoothing: an exponential moving average, debiased so the start is not pulled to 0. */
export function smooth(s: { x: number[]; y: number[] }, weight: number): { x: number[]; y: number[] } {
  if (weight <= 0) return s;
  let avg = 0;
  let norm = 0;
  const y = s.y.map((v) => {
    avg = avg * weight + v * (1 - weight);
    norm = norm * weight + (1 - weight);
    return avg / norm;
  });
  return { x: s.x, y };
}

/** Mean, min and max across runs at every step any of them logged inside the range all of them reached. */
function aggregate(series: { x: number[]; y: number[] }[]): { x: Float64Array; y: Float64Array; low: Float64Array; high: Float64Array } {
  const start = Math.max(...series.map((s) => s.x[0]));
  const end = Math.min(...series.map((s) => s.x[s.x.length - 1]));
  const grid = [...new Set(series.flatMap((s) => s.x.filter((v) => v >= start && v <= end)))].sort((a, b) => a - b);
  const x = Float64Array.from(grid);
  const y = new Float64Array(grid.length);
  const low = new Float64Array(grid.length);
  const high = new Float64Array(grid.length);
  grid.forEach((g, k) => {
    const values = series.map((s) => interpolate(s, g));
    y[k] = values.reduce((a, b) => a + b, 0) / values.length;
    low[k] = Math.min(...values);
    high[k] = Math.max(...values);
  });
  return { x, y, low, high };
}

/** Linear interpolation of a series at `at` (inside its range). */
function interpolate(s: { x: number[]; y: number[] }, at: number): number {
  let lo = 0;
  let hi = s.x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (s.x[mid] <= at) lo = mid;
    else hi = mid;
  }
  if (s.x[lo] === at || hi === lo) return s.y[lo];
  if (s.x[hi] === at) return s.y[hi];
  const t = (at - s.x[lo]) / (s.x[hi] - s.x[lo]);
  return s.y[lo] + t * (s.y[hi] - s.y[lo]);
}
