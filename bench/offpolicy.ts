/**
 * Off-policy benchmark: DQN, SAC and TD3 with the
 * `zoo` preset on the envs the RL Baselines3 Zoo tunes them for, next to the Zoo's published
 * results. Per env and seed: steps until the mean of the last 10 training returns reached the
 * threshold, the final deterministic evaluation (10 episodes), SPS and wall time. Writes
 * bench/results/<name>.json|.md|-curves.csv and a plot per env. Prints; asserts nothing.
 *
 *   npm run bench -- offpolicy [--algos dqn,sac,td3] [--envs CartPole-v1,Acrobot-v1,MountainCar-v0]
 *                              [--seeds 3|2,3] [--steps N] [--backend wasm|cpu|kernels] [--name offpolicy]
 *
 * Without --steps each run gets the Zoo's budget; with it, every run gets N steps (say so
 * when quoting the numbers: a shorter budget is not the Zoo's protocol).
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { registry } from "../src/envs/registry.js";
import { runJobs, THRESHOLDS, type BenchJob, type Row, parseSeeds } from "./ppo.js";

/** RL Baselines3 Zoo `benchmark.md`: one trained agent per row, deterministic evaluation (LunarLander rows are v2). */
export const ZOO_PUBLISHED: Record<string, { mean: number; std: number; steps: number }> = {
  "dqn/CartPole-v1": { mean: 500.0, std: 0.0, steps: 50_000 },
  "dqn/Acrobot-v1": { mean: -76.639, std: 11.752, steps: 100_000 },
  "dqn/MountainCar-v0": { mean: -100.849, std: 9.925, steps: 120_000 },
  "dqn/LunarLander-v3": { mean: 154.382, std: 79.241, steps: 100_000 },
  "sac/Pendulum-v1": { mean: -156.995, std: 88.714, steps: 20_000 },
  "sac/MountainCarContinuous-v0": { mean: 94.679, std: 1.134, steps: 50_000 },
  "sac/LunarLanderContinuous-v3": { mean: 260.39, std: 65.467, steps: 500_000 },
  "td3/Pendulum-v1": { mean: -151.855, std: 90.227, steps: 20_000 },
  "td3/MountainCarContinuous-v0": { mean: 93.483, std: 0.075, steps: 300_000 },
  "td3/LunarLanderContinuous-v3": { mean: 207.451, std: 67.562, steps: 300_000 },
};

const DEFAULT_ENVS: Record<string, string[]> = {
  dqn: ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3"],
  // The Zoo's other SAC/TD3 settings need gSDE or Ornstein-Uhlenbeck noise, which refinery's SAC/TD3 lack.
  sac: ["Pendulum-v1"],
  td3: ["Pendulum-v1"],
};

export async function benchOffPolicy(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      algos: { type: "string", default: "dqn" },
      envs: { type: "string" },
      seeds: { type: "string", default: "3" },
      steps: { type: "string" },
      backend: { type: "string", default: "wasm" },
      out: { type: "string", default: "bench/results" },
      name: { type: "string", default: "offpolicy" },
    },
  });
  const algos = values.algos!.split(",").map((s) => s.trim()).filter(Boolean);
  const seeds = parseSeeds(values.seeds!);
  const jobs: BenchJob[] = [];
  for (const algo of algos) {
    const envs = values.envs ? values.envs.split(",").map((s) => s.trim()) : (DEFAULT_ENVS[algo] ?? []);
    for (const env of envs) {
      if (!registry.has(env)) {
        console.error(`skipping ${algo} on ${env}: no such env in this build`);
        continue;
      }
      jobs.push({ label: `${algo} ${env} (zoo)`, algo, env, preset: "zoo", overrides: values.steps ? { totalTimesteps: Number(values.steps) } : {} });
    }
  }
  if (!THRESHOLDS["LunarLander-v3"]) THRESHOLDS["LunarLander-v3"] = 200;
  const rows = await runJobs(jobs, seeds, { backend: values.backend!, out: values.out!, name: values.name! });
  const table = publishedTable(jobs, rows);
  appendFileSync(join(values.out!, `${values.name}.md`), `\n${table}\n`);
  console.log(`\n${table}`);
}

/** Our final evaluations next to the Zoo's published result for the same algorithm and env. */
function publishedTable(jobs: BenchJob[], rows: Row[]): string {
  const lines = ["| algo, env | our steps | our final eval: mean over seeds (min, max) | Zoo (one run) | Zoo steps |", "|---|--:|---|---|--:|"];
  for (const job of jobs) {
    const rs = rows.filter((r) => r.job === job.label);
    if (!rs.length) continue;
    const ev = rs.map((r) => r.evalMean);
    const mean = ev.reduce((a, b) => a + b, 0) / ev.length;
    const zoo = ZOO_PUBLISHED[`${job.algo}/${job.env}`];
    lines.push(
      `| ${job.algo}, ${job.env} | ${rs[0].steps.toLocaleString("en-US")} | ${mean.toFixed(1)} (${Math.min(...ev).toFixed(1)}, ${Math.max(...ev).toFixed(1)}) | ${zoo ? `${zoo.mean.toFixed(1)} ± ${zoo.std.toFixed(1)}` : "—"} | ${zoo ? zoo.steps.toLocaleString("en-US") : "—"} |`,
    );
  }
  return lines.join("\n");
}
