/**
 * PPO benchmark: per env and seed, train with a preset and report steps until the mean
 * of the last 10 training returns reached the env's threshold, the final deterministic
 * evaluation (mean of 10 episodes), SPS and wall time; then medians and ranges over seeds.
 * Writes bench/results/ppo.json, ppo.md and per-run learning curves (ppo-curves.csv).
 * Prints what it measured; asserts nothing.
 *
 *   npm run bench -- ppo [--envs CartPole-v1,Pendulum-v1] [--seeds 3|2,3] [--preset zoo]
 *                        [--steps N] [--backend wasm|cpu] [--cleanrl-cartpole] [--name ppo]
 * (--name sets the output file names: bench/results/<name>.json|.md|-curves.csv)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/algos/index.js";
import { RunDir } from "../src/train/run.js";
import { plotRuns } from "../src/plot/plot.js";
import { train } from "../src/train/trainer.js";

export const THRESHOLDS: Record<string, number> = {
  "CartPole-v1": 475,
  "Acrobot-v1": -100,
  "MountainCar-v0": -110,
  "MountainCarContinuous-v0": 90,
  "Pendulum-v1": -200,
};

export async function benchPpo(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      envs: { type: "string", default: Object.keys(THRESHOLDS).join(",") },
      seeds: { type: "string", default: "3" },
      preset: { type: "string", default: "zoo" },
      steps: { type: "string" },
      backend: { type: "string", default: "wasm" },
      "cleanrl-cartpole": { type: "boolean", default: false },
      out: { type: "string", default: "bench/results" },
      name: { type: "string", default: "ppo" },
    },
  });
  const envs = values.envs!.split(",").map((s) => s.trim()).filter(Boolean);
  const seeds = parseSeeds(values.seeds!);
  const jobs: { label: string; env: string; preset: string }[] = envs.map((env) => ({ label: `${env} (${values.preset})`, env, preset: values.preset! }));
  if (values["cleanrl-cartpole"]) jobs.unshift({ label: "CartPole-v1 (cleanrl)", env: "CartPole-v1", preset: "cleanrl" });
  await runJobs(
    jobs.map((j) => ({ ...j, algo: "ppo", overrides: values.steps ? { totalTimesteps: Number(values.steps) } : {} })),
    seeds,
    { backend: values.backend!, out: values.out!, name: values.name! },
  );
}

export interface BenchJob {
  label: string;
  algo: string;
  env: string;
  preset?: string;
  overrides?: Record<string, unknown>;
}

/**
 * Trains every job for every seed and writes `<out>/<name>.json|.md|-curves.csv`, rewriting
 * them after each run so a long benchmark leaves results even if stopped early.
 */
/**
 * `--seeds`: a count N (seeds 1..N) or a comma-separated list ("2,3") to run or rerun
 * particular seeds.
 */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter(Boolean);
  const nums = parts.map(Number);
  if (!nums.length || nums.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`--seeds ${JSON.stringify(text)}: give a count (3 → seeds 1, 2, 3) or a list of integer seeds (2,3)`);
  }
  return parts.length === 1 ? Array.from({ length: nums[0] }, (_, i) => i + 1) : nums;
}

export async function runJobs(jobs: BenchJob[], seeds: number[], opts: { backend: string; out: string; name: string }): Promise<Row[]> {
  const tmp = mkdtempSync(join(tmpdir(), "refinery-bench-"));
  const rows: Row[] = [];
  const curves: string[] = ["job,seed,step,episode_return_mean"];
  const runDirs: { env: string; dir: string }[] = [];
  mkdirSync(opts.out, { recursive: true });
  const write = () => {
    const table = summarize(rows, jobs.map((j) => j.label), seeds.length);
    writeFileSync(join(opts.out, `${opts.name}.json`), JSON.stringify({ date: new Date().toISOString(), node: process.version, backend: opts.backend, rows }, null, 2));
    writeFileSync(join(opts.out, `${opts.name}.md`), table + "\n");
    writeFileSync(join(opts.out, `${opts.name}-curves.csv`), curves.join("\n") + "\n");
    return table;
  };
  for (const job of jobs) {
    for (const seed of seeds) {
      const overrides: Record<string, unknown> = { seed, backend: opts.backend, evalEpisodes: 10, ...(job.overrides ?? {}) };
      const config = resolveConfig({ algo: job.algo, env: job.env, preset: job.preset, overrides });
      const runDir = join(tmp, `${job.label.replace(/[^A-Za-z0-9.-]+/g, "_")}-${seed}`);
      const s = await train({ runDir, algo: job.algo, config, threshold: THRESHOLDS[job.env], store: false });
      runDirs.push({ env: job.env, dir: runDir });
      for (const r of new RunDir(runDir).readMetrics()) {
        if (r.kind === "train" && typeof r.episodeReturnMean === "number") curves.push(`${job.label},${seed},${r.step},${r.episodeReturnMean}`);
      }
      const row: Row = {
        job: job.label,
        env: job.env,
        seed,
        steps: s.steps,
        stepsToThreshold: s.stepsToThreshold,
        evalMean: s.finalEval.meanReturn,
        evalStd: s.finalEval.stdReturn,
        sps: s.sps,
        wallSeconds: s.wallSeconds,
      };
      rows.push(row);
      write();
      console.error(
        `${job.label} seed ${seed}: eval ${row.evalMean.toFixed(1)} ± ${row.evalStd.toFixed(1)}, threshold at ${row.stepsToThreshold ?? "never"}, ${Math.round(row.sps)} SPS, ${row.wallSeconds.toFixed(1)} s`,
      );
    }
  }
  // Figures: one learning-curve plot per env (mean and min/max band over seeds), via `refinery plot`'s renderer.
  for (const env of [...new Set(jobs.map((j) => j.env))]) {
    const dirs = runDirs.filter((r) => r.env === env).map((r) => r.dir);
    const { png } = plotRuns({ runs: dirs, runsRoot: tmp, metric: "episodeReturnMean", out: join(opts.out, `${opts.name}-${env}.png`), smoothing: 0.6, title: `${env}: training return` });
    console.error(`wrote ${png}`);
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(write());
  return rows;
}

export interface Row {
  job: string;
  env: string;
  seed: number;
  steps: number;
  stepsToThreshold: number | null;
  evalMean: number;
  evalStd: number;
  sps: number;
  wallSeconds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summarize(rows: Row[], jobs: string[], nSeeds: number): string {
  const k = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(0)}k` : String(x));
  const lines = [
    `| env (preset) | steps | steps to threshold: median [min, max] (reached) | final eval return: median [min, max] | SPS (median) | wall s (median) |`,
    `|---|--:|---|---|--:|--:|`,
  ];
  for (const job of jobs) {
    const rs = rows.filter((r) => r.job === job);
    if (!rs.length) continue;
    const reached = rs.filter((r) => r.stepsToThreshold !== null).map((r) => r.stepsToThreshold as number);
    // Runs that never reached the threshold count as "more than the budget" for the median.
    const stt = rs.map((r) => r.stepsToThreshold ?? Infinity);
    const med = median(stt);
    const sttText = reached.length
      ? `${Number.isFinite(med) ? k(med) : "—"} [${k(Math.min(...reached))}, ${stt.some((x) => !Number.isFinite(x)) ? "never" : k(Math.max(...reached))}] (${reached.length}/${nSeeds})`
      : `never (0/${nSeeds})`;
    const ev = rs.map((r) => r.evalMean);
    lines.push(
      `| ${job} | ${k(rs[0].steps)} | ${sttText} | ${median(ev).toFixed(1)} [${Math.min(...ev).toFixed(1)}, ${Math.max(...ev).toFixed(1)}] | ${Math.round(median(rs.map((r) => r.sps))).toLocaleString("en-US")} | ${median(rs.map((r) => r.wallSeconds)).toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}
