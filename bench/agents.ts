/**
 * `npm run bench -- agents`: the multi-turn methods side by side. For each task and seed: an SFT
 * run on demonstration episodes, then every method started from it with the same budget
 * (iterations × 64 episodes: 8 problems × 8 episodes; refuel 32 pairs; v0 splits the same 64
 * over its chosen problems; critique runs on the critique task over the same base). Every policy
 * is scored on the same held-out problems: greedy success, and success and pass@4 from 4 sampled
 * episodes at τ = 1, with turns and tool calls per episode. Prints and writes
 * bench/results/agents.{json,md}.
 *
 * Options: --tasks calc,lookup,guess  --seeds 1,2,3  --sft-iterations N  --iterations N
 *          --problems N  --methods grpo,flow-grpo,gigpo,hgpo,refuel,process,v0,rloo  --name NAME
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../src/algos/index.js";
import { initBackend } from "../src/core/backend.js";
import { agentProblemSet, makeAgentTask } from "../src/envs/text/agent/task.js";
import "../src/envs/text/agent/critique.js";
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
  tokensPerSecond: number;
  seconds: number;
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

export async function benchAgents(args: string[]): Promise<void> {
  const tasks = option(args, "tasks", "calc,lookup,guess").split(",");
  const seeds = option(args, "seeds", "1,2,3").split(",").map(Number);
  const sftIterations = Number(option(args, "sft-iterations", "160"));
  const iterations = Number(option(args, "iterations", "40"));
  const problemsN = Number(option(args, "problems", "100"));
  const methods = option(args, "methods", "grpo,rloo,flow-grpo,gigpo,hgpo,refuel,process,v0").split(",");
  const name = option(args, "name", "agents");
  await initBackend("wasm");
  const dir = mkdtempSync(join(tmpdir(), "refinery-bench-agents-"));
  const rows: Row[] = [];
  try {
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
      for (const seed of seeds) {
        const sftDir = join(dir, `${taskName}-s${seed}-sft`);
        let t0 = performance.now();
        await train({ runDir: sftDir, algo: "sft", config: resolveConfig({ algo: "sft", overrides: { task: taskName, seed, iterations: sftIterations, evalEvery: 0, evalProblems: 10 } }), store: false });
        const sftRow = { task: taskName, seed, method: "sft", ...(await score(sftDir)), tokensPerSecond: NaN, seconds: (performance.now() - t0) / 1000 };
        rows.push(sftRow);
        report(sftRow);
        for (const method of methods) {
          const runDir = join(dir, `${taskName}-s${seed}-${method}`);
          const overrides: Record<string, unknown> = { task: taskName, seed, init: sftDir, iterations, evalEvery: 0, evalProblems: 10, learningRate: 3e-4 };
          t0 = performance.now();
          const summary = await train({ runDir, algo: method, config: resolveConfig({ algo: method, overrides }), store: false });
          const seconds = (performance.now() - t0) / 1000;
          const tokens = summary.steps;
          const row = { task: taskName, seed, method, ...(await score(runDir)), tokensPerSecond: tokens / seconds, seconds };
          rows.push(row);
          report(row);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(new URL(`./results/${name}.json`, import.meta.url), JSON.stringify({ sftIterations, iterations, problems: problemsN, rows }, null, 2));
  const md = ["| task | seed | method | greedy | sampled | pass@4 | turns | tool calls | tokens/s | s |", "|---|---|---|---|---|---|---|---|---|---|"];
  for (const r of rows) md.push(`| ${r.task} | ${r.seed} | ${r.method} | ${pct(r.greedy)} | ${pct(r.sampled)} | ${pct(r.passAt4)} | ${r.turns.toFixed(2)} | ${r.toolCalls.toFixed(2)} | ${Number.isFinite(r.tokensPerSecond) ? r.tokensPerSecond.toFixed(0) : "—"} | ${r.seconds.toFixed(0)} |`);
  writeFileSync(new URL(`./results/${name}.md`, import.meta.url), md.join("\n") + "\n");
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function report(r: Row): void {
  console.log(`${r.task} s${r.seed} ${r.method.padEnd(9)} greedy ${pct(r.greedy)}  sampled ${pct(r.sampled)}  pass@4 ${pct(r.passAt4)}  turns ${r.turns.toFixed(2)}  tools ${r.toolCalls.toFixed(2)}  ${r.seconds.toFixed(0)} s`);
}
