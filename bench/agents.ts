/**
 * `npm run bench -- agents`: the multi-turn methods side by side. For each task: one SFT run on
 * demonstration episodes (seed 1), then every method started from it, once per seed, with the
 * same budget of sampled policy tokens (each run stops at the first iteration boundary past
 * it). Every iteration samples 32 episodes (4 problems × 8 episodes; refuel 16 pairs; v0 splits
 * the 32 over the problems it keeps). Every final policy is scored on the same held-out
 * problems: greedy success, and success and pass@4 from 4 sampled episodes at τ = 1, with turns
 * and tool calls per episode. Prints and writes bench/results/agents.{json,md} and one plot per
 * task of the training success (sampled episodes) against tokens, mean of the seeds.
 *
 * Options: --tasks calc,lookup,guess  --seeds 1,2,3  --sft-iterations N  --tokens N (budget)
 *          --problems N  --methods grpo,rloo,...  --name NAME  --work DIR (run directories;
 *          kept, and an SFT run found there is reused)  --append (add to the rows of
 *          results/NAME.json, replacing rows of the same task, seed and method)  --report (only
 *          rewrite the table and the plots from results/NAME.json and the run directories)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../src/algos/index.js";
import { initBackend } from "../src/core/backend.js";
import { agentProblemSet, makeAgentTask } from "../src/envs/text/agent/task.js";
import "../src/envs/text/agent/critique.js";
import { plotRuns } from "../src/plot/plot.js";
import { evaluateAgent } from "../src/train/agent_eval.js";
import { loadTokenPolicy } from "../src/train/text_policy.js";
import { train } from "../src/train/trainer.js";

interface Row {
  task: string;
  seed: number;
  method: string;
  greedy: number;
  sampled: number;
  passAt4: number;
  turns: number;
  toolCalls: number;
  tokens: number;
  iterations: number;
  tokensPerSecond: number;
  seconds: number;
}

const ALL_METHODS = "grpo,rloo,flow-grpo,gigpo,hgpo,refuel,process,v0,epo";

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

/** The overrides of a method's run: 32 episodes an iteration for every method. */
function methodOverrides(method: string): Record<string, unknown> {
  if (method === "refuel") return { numPrompts: 16, groupSize: 2 };
  if (method === "v0") return { numPrompts: 4, groupSize: 8, candidates: 12 };
  return { numPrompts: 4, groupSize: 8 };
}

export async function benchAgents(args: string[]): Promise<void> {
  const tasks = option(args, "tasks", "calc,lookup,guess").split(",");
  const seeds = option(args, "seeds", "1,2,3").split(",").map(Number);
  const sftIterations = Number(option(args, "sft-iterations", "100"));
  const tokenBudget = Number(option(args, "tokens", "12000"));
  const problemsN = Number(option(args, "problems", "30"));
  const methods = option(args, "methods", ALL_METHODS).split(",");
  const name = option(args, "name", "agents");
  const work = option(args, "work", join(tmpdir(), "refinery-bench-agents"));
  const resultsDir = new URL("./results/", import.meta.url);
  const jsonPath = new URL(`${name}.json`, resultsDir);
  await initBackend("wasm");
  mkdirSync(work, { recursive: true });
  let rows: Row[] = [];
  // JSON has no NaN: a missing rate (an SFT row's tokens/s) comes back as null.
  if ((args.includes("--append") || args.includes("--report")) && existsSync(jsonPath)) rows = (JSON.parse(readFileSync(jsonPath, "utf8")) as { rows: Row[] }).rows.map((r) => ({ ...r, tokensPerSecond: r.tokensPerSecond ?? NaN }));
  const put = (row: Row) => {
    rows = rows.filter((r) => !(r.task === row.task && r.seed === row.seed && r.method === row.method));
    rows.push(row);
    report(row);
    write(); // after every run, so a long bench stopped early keeps what it measured
  };
  const write = () => {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(jsonPath, JSON.stringify({ sftIterations, tokenBudget, problems: problemsN, episodesPerIteration: 32, rows }, null, 2));
    writeFileSync(new URL(`${name}.md`, resultsDir), table(rows));
  };
  if (args.includes("--report")) {
    // Only the table and the plots again, from the rows and run directories already there.
    write();
    for (const taskName of tasks) plotTask(work, taskName, rows, resultsDir, name);
    return;
  }
  for (const taskName of tasks) {
    const task = makeAgentTask(taskName);
    const problems = agentProblemSet(task, "test", problemsN, 0);
    const score = async (run: string) => {
      const policy = await loadTokenPolicy(run);
      const common = { seed: 0, maxContextLength: policy.model.config.contextLength };
      const g = evaluateAgent(policy, task, problems, { ...common, samples: 1, temperature: 0 });
      const s = evaluateAgent(policy, task, problems, { ...common, samples: 4, temperature: 1, ks: [1, 4] });
      return { greedy: g.successRate, sampled: s.successRate, passAt4: s.passAtK["4"], turns: s.meanTurns, toolCalls: s.meanToolCalls };
    };
    // One SFT run per task (seed 1), the start of every method and seed.
    const sftDir = join(work, `${taskName}-sft`);
    if (!existsSync(join(sftDir, "policy"))) {
      rmSync(sftDir, { recursive: true, force: true });
      const t0 = performance.now();
      const s = await train({ runDir: sftDir, algo: "sft", config: resolveConfig({ algo: "sft", overrides: { task: taskName, seed: 1, iterations: sftIterations, evalEvery: 0, evalProblems: 10 } }), store: false });
      const seconds = (performance.now() - t0) / 1000;
      put({ task: taskName, seed: 1, method: "sft", ...(await score(sftDir)), tokens: 0, iterations: s.iterations, tokensPerSecond: NaN, seconds });
    }
    for (const method of methods) {
      for (const seed of seeds) {
        const runDir = join(work, `${taskName}-${method}-s${seed}`);
        rmSync(runDir, { recursive: true, force: true });
        const overrides: Record<string, unknown> = { task: taskName, seed, init: sftDir, iterations: 10_000, evalEvery: 0, evalProblems: 10, learningRate: 3e-4, warmupIterations: 0, logCompletionsEvery: 0, ...methodOverrides(method) };
        const t0 = performance.now();
        const summary = await train({
          runDir,
          algo: method,
          config: resolveConfig({ algo: method, overrides }),
          store: false,
          // Equal budgets: stop at the first iteration boundary at or past the token budget.
          callbacks: { onIteration: (_row, algo) => (algo.stepsDone ?? 0) < tokenBudget },
        });
        const seconds = (performance.now() - t0) / 1000;
        put({ task: taskName, seed, method, ...(await score(runDir)), tokens: summary.steps, iterations: summary.iterations, tokensPerSecond: summary.steps / seconds, seconds });
      }
      plotTask(work, taskName, rows, resultsDir, name);
    }
  }
}

/** The training success (sampled episodes of each iteration) against tokens, one curve per method (mean of its seeds). */
function plotTask(work: string, task: string, rows: Row[], resultsDir: URL, name: string): void {
  const runs = rows.filter((r) => r.task === task && r.method !== "sft").map((r) => join(work, `${task}-${r.method}-s${r.seed}`)).filter((d) => existsSync(join(d, "metrics.jsonl")));
  if (!runs.length) return;
  plotRuns({ runs, runsRoot: work, metric: "correctFraction", out: new URL(`${name}-${task}.png`, resultsDir).pathname, smoothing: 0.6, title: `${task}: success of the sampled training episodes (mean of seeds)` });
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "—";
}

function meanOf(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Means over seeds, with the per-seed values of the sampled success. */
function table(rows: Row[]): string {
  const md = [
    `| task | method | greedy | sampled (per seed) | pass@4 | turns | tool calls | tokens | tokens/s | s |`,
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const tasks = [...new Set(rows.map((r) => r.task))];
  for (const task of tasks) {
    const methods = [...new Set(rows.filter((r) => r.task === task).map((r) => r.method))];
    for (const method of methods) {
      const rs = rows.filter((r) => r.task === task && r.method === method);
      const m = (f: (r: Row) => number) => meanOf(rs.map(f));
      const perSeed = method === "sft" ? "" : ` (${rs.map((r) => pct(r.sampled)).join(", ")})`;
      md.push(
        `| ${task} | ${method} | ${pct(m((r) => r.greedy))} | ${pct(m((r) => r.sampled))}${perSeed} | ${pct(m((r) => r.passAt4))} | ${m((r) => r.turns).toFixed(2)} | ${m((r) => r.toolCalls).toFixed(2)} | ${m((r) => r.tokens).toFixed(0)} | ${Number.isFinite(m((r) => r.tokensPerSecond)) ? m((r) => r.tokensPerSecond).toFixed(0) : "—"} | ${m((r) => r.seconds).toFixed(0)} |`,
      );
    }
  }
  return md.join("\n") + "\n";
}

function report(r: Row): void {
  console.log(
    `${r.task} s${r.seed} ${r.method.padEnd(9)} greedy ${pct(r.greedy)}  sampled ${pct(r.sampled)}  pass@4 ${pct(r.passAt4)}  turns ${r.turns.toFixed(2)}  tools ${r.toolCalls.toFixed(2)}  tokens ${r.tokens}  ${r.seconds.toFixed(0)} s`,
  );
}
