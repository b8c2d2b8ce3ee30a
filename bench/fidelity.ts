/**
 * What each method claims, measured at our small scale. Prints a table and writes
 * bench/results/fidelity.json|.md and SVG figures. Asserts nothing: where a claim does not
 * show here, the table says so.
 *
 *   npm run bench -- fidelity [--seeds 3] [--steps 100000] [--env CartPole-v1]
 *
 * 1. D³S (selection) reaches the threshold in fewer updates than GRPO from the same samples:
 *    grpo vs grpo + selection=d3s, iterations (= updates; one batch of B·G episodes each) and
 *    env steps until the mean of the last 10 training returns reaches the env's threshold.
 * 2. EPO keeps the policy's entropy from collapsing: entropy per iteration of epo (differentiable
 *    smoothing, the default) against grpo with the same settings.
 * 3. RLOO's leave-one-out advantages vary less than REINFORCE's returns-to-go: on the very same
 *    batches (collected by an rloo run), the variance of the per-step advantages of both.
 * 4. iGRPO is measured on text tasks by `npm run bench -- text` (docs/text.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ALGORITHMS, resolveConfig } from "../src/algos/index.js";
import type { GroupPolicyOptimizer, GroupRecipe } from "../src/algos/group_engine.js";
import { rlooAdvantages } from "../src/algos/rloo.js";
import { discountedReturnsToGo } from "../src/advantage/returns.js";
import { registry } from "../src/envs/registry.js";
import { renderChart, type ChartSeries } from "../src/plot/svg.js";
import { parseSeeds } from "./ppo.js";

interface Trace {
  iterations: number;
  steps: number[];
  entropy: number[];
  reachedAtIteration: number | null;
  reachedAtStep: number | null;
}

async function trace(algo: string, env: string, seed: number, overrides: Record<string, unknown>, threshold: number): Promise<Trace> {
  const config = resolveConfig({ algo, env, overrides: { seed, backend: "wasm", ...overrides } });
  const a = (await ALGORITHMS[algo].create(config)) as GroupPolicyOptimizer;
  const recent: number[] = [];
  const out: Trace = { iterations: 0, steps: [], entropy: [], reachedAtIteration: null, reachedAtStep: null };
  while (a.iteration < a.totalIterations && (a.stepsDone ?? 0) < (config.totalTimesteps as number)) {
    const m = a.iterate();
    out.iterations++;
    out.steps.push(a.stepsDone ?? 0);
    out.entropy.push(m.entropy);
    for (const ep of a.drainEpisodes()) {
      recent.push(ep.return);
      if (recent.length > 10) recent.shift();
    }
    if (out.reachedAtIteration === null && recent.length === 10 && recent.reduce((s, r) => s + r, 0) / 10 >= threshold) {
      out.reachedAtIteration = out.iterations;
      out.reachedAtStep = a.stepsDone ?? 0;
    }
  }
  a.dispose();
  return out;
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((p, q) => p - q);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const variance = (xs: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m += xs[i];
  m /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2;
  return v / xs.length;
};
const fmt = (x: number | null, digits = 0) => (x === null || Number.isNaN(x) ? "never" : x.toFixed(digits));

export async function benchFidelity(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: "string", default: "3" },
      steps: { type: "string", default: "100000" },
      env: { type: "string", default: "CartPole-v1" },
      out: { type: "string", default: "bench/results" },
    },
  });
  const env = values.env!;
  const seeds = parseSeeds(values.seeds!);
  const budget = Number(values.steps);
  const threshold = registry.get(env)?.rewardThreshold;
  if (threshold === undefined) throw new Error(`${env} has no reward threshold`);
  mkdirSync(values.out!, { recursive: true });
  const lines: string[] = [];
  const say = (s = "") => {
    console.log(s);
    lines.push(s);
  };
  const results: Record<string, unknown> = { env, seeds, budget, threshold };

  // 1. D³S vs GRPO.
  say(`## 1. D³S: updates to threshold (${env}, mean of last 10 returns ≥ ${threshold}, ${budget} steps, seeds ${seeds.join(",")})`);
  say("");
  say("| method | iterations to threshold: median [each seed] | env steps to threshold: median | reached |");
  say("|---|---|---|--:|");
  const d3s: Record<string, Trace[]> = {};
  for (const [label, overrides] of [["grpo", {}], ["grpo+d3s", { selection: "d3s" }]] as const) {
    d3s[label] = [];
    for (const seed of seeds) d3s[label].push(await trace("grpo", env, seed, { totalTimesteps: budget, ...overrides }, threshold));
    const its = d3s[label].map((t) => t.reachedAtIteration);
    const reached = its.filter((x): x is number => x !== null);
    const steps = d3s[label].map((t) => t.reachedAtStep).filter((x): x is number => x !== null);
    say(`| ${label} | ${fmt(reached.length === seeds.length ? median(reached) : null)} [${its.map((x) => fmt(x)).join(", ")}] | ${fmt(steps.length === seeds.length ? median(steps) : null)} | ${reached.length}/${seeds.length} |`);
  }
  results.d3s = Object.fromEntries(Object.entries(d3s).map(([k, ts]) => [k, ts.map((t) => ({ reachedAtIteration: t.reachedAtIteration, reachedAtStep: t.reachedAtStep }))]));

  // 2. EPO vs GRPO entropy.
  say("");
  say(`## 2. EPO: policy entropy per iteration (${env}, ${budget} steps)`);
  say("");
  const entropy: Record<string, Trace[]> = {};
  for (const algo of ["grpo", "epo"]) {
    entropy[algo] = [];
    for (const seed of seeds) entropy[algo].push(await trace(algo, env, seed, { totalTimesteps: budget }, threshold));
  }
  say("| method | entropy at the start | minimum (median over seeds) | at the end (median) |");
  say("|---|--:|--:|--:|");
  const series: ChartSeries[] = [];
  for (const [algo, ts] of Object.entries(entropy)) {
    say(`| ${algo} | ${median(ts.map((t) => t.entropy[0])).toFixed(3)} | ${median(ts.map((t) => Math.min(...t.entropy))).toFixed(3)} | ${median(ts.map((t) => t.entropy[t.entropy.length - 1])).toFixed(3)} |`);
    const n = Math.min(...ts.map((t) => t.entropy.length));
    const x = Array.from({ length: n }, (_, i) => i + 1);
    series.push({
      label: algo,
      x,
      y: x.map((_, i) => median(ts.map((t) => t.entropy[i]))),
      low: x.map((_, i) => Math.min(...ts.map((t) => t.entropy[i]))),
      high: x.map((_, i) => Math.max(...ts.map((t) => t.entropy[i]))),
    });
  }
  const svg = renderChart(series, { title: `Policy entropy per iteration, ${env}`, xLabel: "iteration", yLabel: "entropy (nats)", subtitle: `median and min/max over ${seeds.length} seeds` });
  writeFileSync(join(values.out!, "fidelity-entropy.svg"), svg);
  results.entropy = Object.fromEntries(Object.entries(entropy).map(([k, ts]) => [k, ts.map((t) => t.entropy)]));

  // 3. RLOO vs REINFORCE advantage variance, on the same batches.
  say("");
  say(`## 3. RLOO vs REINFORCE: variance of the per-step advantages on the same batches (${env}, the batches of an rloo run)`);
  say("");
  const ratios: number[] = [];
  const perSeed: { seed: number; rloo: number; reinforce: number }[] = [];
  for (const seed of seeds) {
    const config = resolveConfig({ algo: "rloo", env, overrides: { seed, backend: "wasm", totalTimesteps: budget / 4 } });
    const a = (await ALGORITHMS.rloo.create(config)) as GroupPolicyOptimizer;
    const recipe = a.recipe as GroupRecipe;
    const original = recipe.advantages.bind(recipe);
    const vr: number[] = [];
    const vf: number[] = [];
    recipe.advantages = (batch, ctx) => {
      vr.push(variance(rlooAdvantages(batch, "none")));
      vf.push(variance(discountedReturnsToGo(batch.rewards, batch, 1)));
      return original(batch, ctx);
    };
    while (a.iteration < a.totalIterations && (a.stepsDone ?? 0) < (config.totalTimesteps as number)) {
      a.iterate();
      a.drainEpisodes();
    }
    a.dispose();
    const r = median(vr);
    const f = median(vf);
    perSeed.push({ seed, rloo: r, reinforce: f });
    ratios.push(r / f);
  }
  say("| seed | RLOO (leave-one-out, median over iterations) | REINFORCE (returns-to-go, no baseline) | ratio |");
  say("|--:|--:|--:|--:|");
  for (const p of perSeed) say(`| ${p.seed} | ${p.rloo.toFixed(1)} | ${p.reinforce.toFixed(1)} | ${(p.rloo / p.reinforce).toFixed(3)} |`);
  results.advantageVariance = perSeed;
  say("");
  say(`median ratio RLOO / REINFORCE: ${median(ratios).toFixed(3)}`);

  writeFileSync(join(values.out!, "fidelity.md"), lines.join("\n") + "\n");
  writeFileSync(join(values.out!, "fidelity.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwrote ${join(values.out!, "fidelity.md")}, fidelity.json, fidelity-entropy.svg`);
}
