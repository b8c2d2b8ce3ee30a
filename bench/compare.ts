/**
 * Side-by-side comparison of every algorithm, each also with D³S selection where it
 * applies, on the same envs with the same env-step budget per env. Prints steps to
 * threshold, final deterministic eval return (median and range over seeds), SPS and wall
 * time; writes bench/results/compare.json|.md|-curves.csv. Asserts nothing.
 *
 *   npm run bench -- compare --env CartPole-v1,Acrobot-v1,Pendulum-v1 --seeds 3 [--steps 100000]
 *                            [--algos ppo,grpo,rloo,reinforce,mdpo,epo] [--no-d3s]
 */
import { parseArgs } from "node:util";
import { ALGORITHMS } from "../src/algos/index.js";
import { runJobs, type BenchJob, parseSeeds } from "./ppo.js";

export async function benchCompare(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: "string", default: "CartPole-v1,Acrobot-v1,Pendulum-v1" },
      seeds: { type: "string", default: "3" },
      steps: { type: "string", default: "100000" },
      algos: { type: "string", default: "ppo,grpo,rloo,reinforce,mdpo,epo" },
      "no-d3s": { type: "boolean", default: false },
      backend: { type: "string", default: "wasm" },
      out: { type: "string", default: "bench/results" },
      name: { type: "string", default: "compare" },
    },
  });
  const envs = values.env!.split(",").map((s) => s.trim()).filter(Boolean);
  const algos = values.algos!.split(",").map((s) => s.trim()).filter(Boolean);
  const seeds = parseSeeds(values.seeds!);
  const budget = Number(values.steps);
  const jobs: BenchJob[] = [];
  for (const env of envs) {
    for (const algo of algos) {
      const base = { totalTimesteps: budget };
      jobs.push({ label: `${env} ${algo}`, algo, env, overrides: base });
      // D³S needs groups: only the group-collector algorithms accept it.
      const hasGroups = "selection" in (ALGORITHMS[algo]?.schema.shape ?? {});
      if (!values["no-d3s"] && hasGroups) jobs.push({ label: `${env} ${algo}+d3s`, algo, env, overrides: { ...base, selection: "d3s" } });
    }
  }
  await runJobs(jobs, seeds, { backend: values.backend!, out: values.out!, name: values.name! });
}
