import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { ConfigError } from "../core/errors.js";
import { METRIC_ALIASES } from "../plot/curves.js";
import { RUNS_ROOT_ENV, resolveRunsRoot } from "../store/root.js";
import type { CliIo } from "./io.js";

interface PlotCliOptions {
  metric: string;
  out: string;
  smooth: number;
  title?: string;
  width: number;
  height: number;
  scale: number;
  runsRoot?: string;
  json: boolean;
}

/** `refinery plot RUN... --metric M --out FILE`: learning curves as PNG and SVG, no browser needed. */
export async function plotCommand(runs: string[], opts: PlotCliOptions, io: CliIo): Promise<void> {
  const { plotRuns } = await import("../plot/plot.js");
  const result = plotRuns({
    runs,
    runsRoot: resolveRunsRoot(opts.runsRoot),
    metric: opts.metric,
    out: outFile(opts.out),
    smoothing: opts.smooth,
    title: opts.title,
    width: opts.width,
    height: opts.height,
    scale: opts.scale,
  });
  if (opts.json) {
    io.out(JSON.stringify(result) + "\n");
    return;
  }
  for (const c of result.curves) io.out(`  ${c.label}: ${c.points} points (${c.runIds.join(", ")})\n`);
  io.out(`wrote ${result.png} and ${result.svg}\n`);
}

/** --out DIR (an existing directory, or a path ending in "/") writes DIR/curves.png and DIR/curves.svg. */
function outFile(out: string): string {
  const isDir = /[\\/]$/.test(out) || (existsSync(out) && statSync(out).isDirectory());
  const file = isDir ? join(out, "curves.png") : out;
  // A parent that is a file would fail deep in the write; say so first.
  let parent = dirname(resolve(file));
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  if (!statSync(parent).isDirectory()) {
    throw new ConfigError(`--out ${out} lies under ${parent}, which is a file, not a directory`, "pass an --out whose parent folders are directories");
  }
  return file;
}

function numberIn(name: string, min: number, max: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!value.trim() || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got "${value}".`);
    }
    return n;
  };
}

export function registerPlotCommand(program: Command, io: CliIo): void {
  program
    .command("plot")
    .description("draw learning curves of runs to a PNG and an SVG; seeds of one config become a mean with a min/max band")
    .argument("<runs...>", "run directories, or run ids in the runs root")
    .option("--metric <name>", `metric to plot against env steps; aliases: ${Object.entries(METRIC_ALIASES).map(([a, m]) => `${a}=${m}`).join(", ")}`, "episodeReturnMean")
    .option("--out <file>", "output file; FILE.png and FILE.svg are written (an existing directory DIR: DIR/curves.png and DIR/curves.svg)", "curves.png")
    .option("--smooth <w>", "exponential moving average weight in [0, 1) applied to each run (0: none)", numberIn("--smooth", 0, 0.999), 0)
    .option("--title <text>", "chart title (default: the metric's name)")
    .option("--width <px>", "width of the chart", numberIn("--width", 200, 4000, true), 900)
    .option("--height <px>", "height of the chart", numberIn("--height", 150, 4000, true), 540)
    .option("--scale <k>", "pixel density of the PNG (2: twice the width and height)", numberIn("--scale", 0.25, 8), 2)
    .option("--runs-root <dir>", `directory in which run ids are looked up (default: $${RUNS_ROOT_ENV}, else ./runs)`)
    .option("--json", "print {png, svg, curves: [{label, runIds, points}]} as one JSON line", false)
    .action((runs: string[], opts: PlotCliOptions) => plotCommand(runs, opts, io));
}
