/**
 * MuJoCo learning benchmark: PPO (CleanRL's `ppo_continuous_action.py` preset), SAC and TD3
 * (CleanRL's defaults) on HalfCheetah-v5, Hopper-v5 and Walker2d-v5, by default for 300k env
 * steps and 3 seeds. Per run: final deterministic evaluation (10 episodes), steps to the env's
 * threshold, SPS and wall time, then medians over seeds; a learning-curve plot per env; and a
 * table next to the published CleanRL (v4, 3 seeds, training returns) and RL Zoo (v3, one run,
 * deterministic evaluation) results. Those are at 1M steps: no published curve values at
 * 300k are available offline, so the table says which budget each column used.
 * Writes bench/results/<name>.json|.md|-curves.csv. Prints; asserts nothing.
 *
 *   npm run bench -- mujoco [--algos ppo,sac,td3] [--envs HalfCheetah-v5,Hopper-v5,Walker2d-v5]
 *                           [--seeds 3|2,3] [--steps 300000] [--backend wasm|cpu|kernels] [--name mujoco]
 *
 * For env steps per second of each MuJoCo env (bare and vectorised) see `bench -- mujoco-envs`.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runJobs, THRESHOLDS, type BenchJob, type Row, parseSeeds } from "./ppo.js";

/** CleanRL `docs/benchmark/{sac,td3,ppo_continuous_action}.md` (MuJoCo v4, 1M steps, 3 seeds, training returns). */
export const CLEANRL_MUJOCO: Record<string, { mean: number; std: number }> = {
  "sac/HalfCheetah": { mean: 9634.89, std: 1423.73 },
  "sac/Walker2d": { mean: 3591.45, std: 911.33 },
  "sac/Hopper": { mean: 2310.46, std: 342.82 },
  "td3/HalfCheetah": { mean: 9583.22, std: 126.09 },
  "td3/Walker2d": { mean: 4057.59, std: 658.78 },
  "td3/Hopper": { mean: 3134.61, std: 360.18 },
  "ppo/HalfCheetah": { mean: 1442.64, std: 46.03 },
  "ppo/Walker2d": { mean: 2287.95, std: 571.78 },
  "ppo/Hopper": { mean: 2382.86, std: 271.74 },
};

/** RL Baselines3 Zoo `benchmark.md` (MuJoCo v3, 1M steps, one agent, deterministic evaluation). */
export const ZOO_MUJOCO: Record<string, { mean: number; std: number }> = {
  "sac/HalfCheetah": { mean: 9535.451, std: 100.47 },
  "sac/Hopper": { mean: 2325.547, std: 1129.676 },
  "sac/Walker2d": { mean: 3863.203, std: 254.347 },
  "td3/HalfCheetah": { mean: 9655.666, std: 969.916 },
  "td3/Hopper": { mean: 3606.39, std: 4.027 },
  "td3/Walker2d": { mean: 4717.823, std: 46.303 },
  "ppo/HalfCheetah": { mean: 5819.099, std: 663.53 },
  "ppo/Hopper": { mean: 2410.435, std: 10.026 },
  "ppo/Walker2d": { mean: 3478.798, std: 821.708 },
};

/** Gymnasium's registered reward thresholds (Walker2d has none). */
const MUJOCO_THRESHOLDS: Record<string, number> = { "HalfCheetah-v5": 4800, "Hopper-v5": 3800 };

/** The preset each algorithm runs with: CleanRL's script for that algorithm. */
const PRESETS: Record<string, string> = { ppo: "cleanrl-continuous", sac: "cleanrl", td3: "cleanrl" };

export async function benchMujoco(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      algos: { type: "string", default: "ppo,sac,td3" },
      envs: { type: "string", default: "HalfCheetah-v5,Hopper-v5,Walker2d-v5" },
      seeds: { type: "string", default: "3" },
      steps: { type: "string", default: "300000" },
      backend: { type: "string", default: "wasm" },
      out: { type: "string", default: "bench/results" },
      name: { type: "string", default: "mujoco" },
    },
  });
  const algos = values.algos!.split(",").map((s) => s.trim()).filter(Boolean);
  const envs = values.envs!.split(",").map((s) => s.trim()).filter(Boolean);
  const seeds = parseSeeds(values.seeds!);
  for (const [env, t] of Object.entries(MUJOCO_THRESHOLDS)) THRESHOLDS[env] ??= t;
  const jobs: BenchJob[] = [];
  for (const algo of algos) {
    const preset = PRESETS[algo];
    if (!preset) throw new Error(`no MuJoCo preset for ${algo}; use one of ${Object.keys(PRESETS).join(", ")}`);
    for (const env of envs) jobs.push({ label: `${algo} ${env} (${preset})`, algo, env, preset, overrides: { totalTimesteps: Number(values.steps) } });
  }
  const rows = await runJobs(jobs, seeds, { backend: values.backend!, out: values.out!, name: values.name! });
  const table = publishedTable(jobs, rows);
  appendFileSync(join(values.out!, `${values.name}.md`), `\n${table}\n`);
  console.log(`\n${table}`);
}

/** Our final evaluations next to CleanRL's and the Zoo's published 1M-step results. */
function publishedTable(jobs: BenchJob[], rows: Row[]): string {
  const lines = [
    "| algo, env | our steps | our final eval: median over seeds [min, max] | CleanRL at 1M (v4, 3 seeds) | RL Zoo at 1M (v3, one run) |",
    "|---|--:|---|---|---|",
  ];
  const fmt = (r?: { mean: number; std: number }) => (r ? `${r.mean.toFixed(0)} ± ${r.std.toFixed(0)}` : "—");
  for (const job of jobs) {
    const ev = rows.filter((r) => r.job === job.label).map((r) => r.evalMean).sort((a, b) => a - b);
    if (!ev.length) continue;
    const mid = ev.length % 2 ? ev[(ev.length - 1) / 2] : (ev[ev.length / 2 - 1] + ev[ev.length / 2]) / 2;
    const key = `${job.algo}/${job.env.replace(/-v\d+$/, "")}`;
    const steps = rows.find((r) => r.job === job.label)!.steps;
    lines.push(
      `| ${job.algo}, ${job.env} | ${steps.toLocaleString("en-US")} | ${mid.toFixed(0)} [${ev[0].toFixed(0)}, ${ev[ev.length - 1].toFixed(0)}] | ${fmt(CLEANRL_MUJOCO[key])} | ${fmt(ZOO_MUJOCO[key])} |`,
    );
  }
  return lines.join("\n");
}
