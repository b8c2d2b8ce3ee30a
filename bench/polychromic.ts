/**
 * `npm run bench -- polychromic [--envs A,B] [--steps N] [--seeds 1,2,3] [--configs C] [--attempts n] [--ks 1,4,16] [--only ppo|polychromic] [--out DIR]`
 *
 * PPO vs polychromic PPO at equal env steps: after training, pass@k (unbiased, n attempts from
 * each of C seeded start states, sampled actions), coverage (start states solved at least once),
 * distinct successful classes (success × quadrants visited) and paths per start state. The
 * paper's claimed direction: higher pass@k and coverage at a similar pass@1.
 * Writes polychromic-<env>.json/.md (one file per env and --only, so runs can be split across
 * processes), polychromic-<env>-passk.svg/.png and polychromic-<env>-curve.svg/.png.
 * Prints numbers and asserts nothing.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ALGORITHMS, resolveConfig } from "../src/algos/index.js";
import type { Algorithm } from "../src/algos/types.js";
import { Rng } from "../src/core/rng.js";
import type { ActorCritic } from "../src/policies/actor_critic.js";
import { renderChart, type ChartSeries } from "../src/plot/svg.js";
import { svgToPng } from "../src/plot/png.js";
import { goalReached } from "../src/rollout/vine_collector.js";
import { controlPassAtK, type ControlPassAtKResult } from "../src/train/control_pass_at_k.js";

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: {
    envs: { type: "string", default: "MiniGrid-FourRooms-v0,MiniGrid-DoorKey-8x8-v0" },
    steps: { type: "string", default: "80000" },
    seeds: { type: "string", default: "1,2,3" },
    configs: { type: "string", default: "20" },
    attempts: { type: "string", default: "16" },
    ks: { type: "string", default: "1,4,16" },
    only: { type: "string" },
    out: { type: "string", default: "bench/results" },
  },
});

/** Equal settings where the two share a meaning; PPO's grid settings are those of docs/grid-worlds.md. */
const OVERRIDES: Record<string, Record<string, unknown>> = {
  ppo: { numEnvs: 8, numSteps: 128, learningRate: 1e-3 },
  polychromic: { learningRate: 1e-3, numRollouts: 8, vineStatesPerRollout: 2, numVines: 4, setSize: 2, diversity: "outcome-classes" },
};

interface RunResult {
  algo: string;
  seed: number;
  steps: number;
  seconds: number;
  curve: { steps: number; ret: number }[];
  eval: ControlPassAtKResult;
}

export async function benchPolychromic(args: string[]): Promise<void> {
  void args;
  const envs = values.envs!.split(",");
  const seeds = values.seeds!.split(",").map(Number);
  const ks = values.ks!.split(",").map(Number);
  const steps = Number(values.steps);
  const algos = values.only ? [values.only] : ["ppo", "polychromic"];
  mkdirSync(values.out!, { recursive: true });
  for (const env of envs) {
    const results: RunResult[] = [];
    for (const algo of algos) {
      for (const seed of seeds) {
        const r = await runOne(algo, env, seed, steps, ks);
        results.push(r);
        const p = r.eval.passAtK;
        console.log(`${env} ${algo} seed ${seed}: ${r.steps} steps in ${r.seconds.toFixed(0)} s; ${ks.map((k) => `pass@${k} ${p[k].toFixed(3)}`).join(", ")}, coverage ${r.eval.coverage.toFixed(2)}, classes ${r.eval.distinctClasses.toFixed(2)}, paths ${r.eval.distinctPaths.toFixed(2)}`);
      }
    }
    const tag = `polychromic-${env}${values.only ? `-${values.only}` : ""}`;
    writeFileSync(join(values.out!, `${tag}.json`), JSON.stringify({ env, steps, seeds, ks, configs: Number(values.configs), attempts: Number(values.attempts), overrides: OVERRIDES, results }, null, 1));
    writeFileSync(join(values.out!, `${tag}.md`), table(env, results, algos, ks));
    plots(env, results, algos, ks, tag);
    console.log(table(env, results, algos, ks));
  }
}

async function runOne(algoName: string, env: string, seed: number, steps: number, ks: number[]): Promise<RunResult> {
  const entry = ALGORITHMS[algoName];
  const config = resolveConfig({ algo: algoName, env, overrides: { ...OVERRIDES[algoName], seed, totalTimesteps: steps } });
  const algo: Algorithm & { policy?: ActorCritic } = await entry.create(config);
  const t0 = performance.now();
  const curve: { steps: number; ret: number }[] = [];
  try {
    while (algo.iteration < algo.totalIterations) {
      algo.iterate();
      const eps = algo.drainEpisodes();
      const done = algo.stepsDone ?? algo.iteration * algo.stepsPerIteration;
      if (eps.length) curve.push({ steps: done, ret: eps.reduce((a, e) => a + e.return, 0) / eps.length });
    }
    const seconds = (performance.now() - t0) / 1000;
    const policy = algo.policy as ActorCritic;
    const rng = new Rng(10_000 + seed);
    const sample = (obs: Float32Array[]) => {
      const flat = new Float32Array(obs.length * policy.obsSize);
      obs.forEach((o, i) => flat.set(o, i * policy.obsSize));
      const buf = policy.buffers(obs.length);
      policy.act(flat, obs.length, rng, buf, false, false);
      return Array.from(buf.actions.subarray(0, obs.length));
    };
    // Held-out start states: seeds far from any training reset's.
    const evalResult = controlPassAtK(() => algo.makeEvalEnv(), sample, { configs: Number(values.configs), attempts: Number(values.attempts), ks, seed: 900_000, success: goalReached });
    return { algo: algoName, seed, steps: algo.stepsDone ?? algo.iteration * algo.stepsPerIteration, seconds, curve, eval: evalResult };
  } finally {
    algo.dispose();
  }
}

function meanStd(xs: number[]): string {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
  return `${m.toFixed(3)} ± ${sd.toFixed(3)}`;
}

function table(env: string, results: RunResult[], algos: string[], ks: number[]): string {
  const head = `| algorithm | env steps | ${ks.map((k) => `pass@${k}`).join(" | ")} | coverage | distinct classes | distinct paths |`;
  const rows = algos.map((a) => {
    const rs = results.filter((r) => r.algo === a);
    const col = (f: (r: RunResult) => number) => meanStd(rs.map(f));
    return `| ${a} | ${Math.round(rs.reduce((s, r) => s + r.steps, 0) / rs.length)} | ${ks.map((k) => col((r) => r.eval.passAtK[k])).join(" | ")} | ${col((r) => r.eval.coverage)} | ${col((r) => r.eval.distinctClasses)} | ${col((r) => r.eval.distinctPaths)} |`;
  });
  return `### ${env}\n\n${head}\n|${"---|".repeat(ks.length + 5)}\n${rows.join("\n")}\n`;
}

function plots(env: string, results: RunResult[], algos: string[], ks: number[], tag: string): void {
  const passk: ChartSeries[] = algos.map((a) => {
    const rs = results.filter((r) => r.algo === a);
    const at = (k: number, f: (xs: number[]) => number) => f(rs.map((r) => r.eval.passAtK[k]));
    return {
      label: a,
      x: ks,
      y: ks.map((k) => at(k, (xs) => xs.reduce((s, x) => s + x, 0) / xs.length)),
      low: ks.map((k) => at(k, (xs) => Math.min(...xs))),
      high: ks.map((k) => at(k, (xs) => Math.max(...xs))),
    };
  });
  const svg1 = renderChart(passk, { title: `pass@k after training, ${env}`, xLabel: "k (attempts from one start state)", yLabel: "pass@k", subtitle: `mean and min/max over ${new Set(results.map((r) => r.seed)).size} seeds` });
  writeFileSync(join(values.out!, `${tag}-passk.svg`), svg1);
  writeFileSync(join(values.out!, `${tag}-passk.png`), svgToPng(svg1));
  const curves: ChartSeries[] = results.map((r) => ({ label: `${r.algo} s${r.seed}`, x: r.curve.map((p) => p.steps), y: r.curve.map((p) => p.ret), color: r.algo === "ppo" ? "#0072B2" : "#D55E00" }));
  const svg2 = renderChart(curves, { title: `Training return of base episodes, ${env}`, xLabel: "env steps", yLabel: "episode return", subtitle: "ppo blue, polychromic orange; one line per seed" });
  writeFileSync(join(values.out!, `${tag}-curve.svg`), svg2);
  writeFileSync(join(values.out!, `${tag}-curve.png`), svgToPng(svg2));
}
