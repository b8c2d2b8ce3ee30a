import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { resolveConfig } from "../algos/index.js";
import { applySets } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { train, type TrainRow, type TrainSummary } from "../train/trainer.js";

export interface TrainCliOptions {
  algo: string;
  env?: string;
  preset?: string;
  config?: string;
  set: string[];
  steps?: number;
  seed?: number;
  out?: string;
  resume?: string;
  json: boolean;
  quiet?: boolean;
}

/** `refinery train`: resolve the config, train with a progress line, print a summary. */
export async function trainCommand(opts: TrainCliOptions, out: (s: string) => void): Promise<TrainSummary> {
  let runDir: string;
  let config: Record<string, unknown> | undefined;
  if (opts.resume) {
    if (opts.config || opts.set.length || opts.steps !== undefined || opts.seed !== undefined || opts.preset || opts.env) {
      throw new ConfigError("--resume continues a run with its saved config", "drop --env/--preset/--config/--set/--steps/--seed when resuming");
    }
    runDir = opts.resume;
  } else {
    const file = opts.config ? readConfigFile(opts.config) : undefined;
    const flags: Record<string, unknown> = {};
    if (opts.steps !== undefined) flags.totalTimesteps = opts.steps;
    if (opts.seed !== undefined) flags.seed = opts.seed;
    if (opts.env !== undefined) flags.env = opts.env;
    const overrides = applySets(flags, opts.set);
    config = resolveConfig({ algo: opts.algo, preset: opts.preset, file, overrides });
    runDir = opts.out ?? defaultRunDir(opts.algo, config.env as string, config.seed as number);
  }

  const tty = process.stderr.isTTY && !opts.json && !opts.quiet;
  let lastPrint = 0;
  const recent: number[] = [];
  const summary = await train({
    runDir,
    algo: opts.algo,
    config,
    resume: !!opts.resume,
    callbacks: {
      onIteration(row: TrainRow, algo) {
        if (Number.isFinite(row.episodeReturnMean)) recent.push(row.episodeReturnMean);
        if (recent.length > 10) recent.shift();
        const now = Date.now();
        if (opts.json || opts.quiet || (now - lastPrint < 250 && row.iteration < algo.totalIterations)) return;
        lastPrint = now;
        const total = algo.totalIterations * algo.stepsPerIteration;
        const frac = row.step / total;
        const width = 24;
        const bar = "█".repeat(Math.round(frac * width)).padEnd(width, "·");
        const ret = recent.length ? (recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(1) : "–";
        const line = `${bar} ${row.step.toLocaleString("en-US")}/${total.toLocaleString("en-US")} steps  ${Math.round(row.sps).toLocaleString("en-US")} SPS  return ${ret}`;
        if (tty) process.stderr.write(`\r${line}\x1b[K`);
        else if (row.iteration % Math.max(1, Math.floor(algo.totalIterations / 10)) === 0 || row.iteration === algo.totalIterations) process.stderr.write(line + "\n");
      },
    },
  });
  if (tty) process.stderr.write("\n");
  const fe = summary.finalEval;
  if (opts.json) {
    out(
      JSON.stringify({
        run_dir: summary.runDir,
        algo: summary.algo,
        env: summary.env,
        steps: summary.steps,
        wall_s: round(summary.wallSeconds, 3),
        sps: Math.round(summary.sps),
        final_mean_return: nullable(summary.finalMeanReturn),
        eval_mean_return: nullable(fe.meanReturn),
        eval_std_return: nullable(fe.stdReturn),
        steps_to_threshold: summary.stepsToThreshold,
      }) + "\n",
    );
  } else {
    out(
      [
        `trained ${summary.algo} on ${summary.env}: ${summary.steps.toLocaleString("en-US")} steps in ${summary.wallSeconds.toFixed(1)} s (${Math.round(summary.sps).toLocaleString("en-US")} SPS)`,
        `  training return (last 100 episodes): ${fmt(summary.finalMeanReturn)}`,
        `  evaluation: ${fmt(fe.meanReturn)} ± ${fmt(fe.stdReturn)} over ${fe.returns.length} episodes`,
        `  threshold reached at: ${summary.stepsToThreshold === null ? "not reached" : `${summary.stepsToThreshold.toLocaleString("en-US")} steps`}`,
        `  run directory: ${summary.runDir}  (refinery eval ${summary.runDir})`,
      ].join("\n") + "\n",
    );
  }
  return summary;
}

function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`, "pass the path of a .json or .yaml file");
  const text = readFileSync(path, "utf8");
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${path}: ${(err as Error).message}`, "fix the syntax (JSON, or YAML for .yaml/.yml files)");
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold an object of options`, "write e.g. {\"learningRate\": 3e-4}");
  }
  return data as Record<string, unknown>;
}

function defaultRunDir(algo: string, env: string, seed: number): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..+/, "").replace("T", "-");
  let dir = join("runs", `${algo}-${env}-s${seed}-${stamp}`);
  for (let i = 2; existsSync(dir); i++) dir = join("runs", `${algo}-${env}-s${seed}-${stamp}-${i}`);
  return dir;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(2) : "n/a";
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function nullable(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
