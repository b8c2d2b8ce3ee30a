/**
 * `npm run bench -- text`: RL on text tasks with verifiable rewards (issue 6). For each task
 * and seed: an SFT warm-up run, then grpo, rloo, epo, grpo + D³S and igrpo, each started from
 * that SFT model with the same sampling budget (iterations × prompts × 8 completions; iGRPO
 * splits its 8 into drafts + refinements). iGRPO also runs from a second SFT model trained with a
 * quarter of its demonstrations in the refinement format (`refinementRate` 0.25), since the plain
 * one cannot read a draft. Every policy is scored on the same held-out problems
 * (test split): pass@1 greedy, pass@1 and pass@8 from 8 samples at τ = 1. Prints and writes
 * bench/results/text.{json,md}: medians over seeds, sampled tokens/s and training wall time.
 *
 * Options: --tasks addition:3,countdown  --seeds 1,2,3  --sft-iterations N[,N per task]  --iterations N
 *          --prompts B  --problems N  --methods grpo,rloo,epo,grpo+d3s,igrpo  --name NAME
 *          --backend auto|kernels|wasm|cpu (what trains and scores; default auto, the runs' default)
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../src/algos/index.js";
import { resolveTextBackend } from "../src/algos/text_engine.js";
import { initBackend } from "../src/core/backend.js";
import { combineRewards } from "../src/envs/text/rewards.js";
import { makeTask } from "../src/envs/text/registry.js";
import { problemSet } from "../src/envs/text/task.js";
import { evaluateText } from "../src/train/text_eval.js";
import { loadTokenPolicy } from "../src/train/text_policy.js";
import { train } from "../src/train/trainer.js";

interface Method {
  name: string;
  algo: string;
  overrides: Record<string, unknown>;
  /** The SFT model it starts from. */
  base: string;
}

/** SFT warm-ups: plain, and with a quarter of the demonstrations in iGRPO's refinement format. */
const BASES: Record<string, Record<string, unknown>> = { sft: {}, "sft+refine": { refinementRate: 0.25 } };

const METHODS: Method[] = [
  { name: "grpo", algo: "grpo", overrides: {}, base: "sft" },
  { name: "rloo", algo: "rloo", overrides: {}, base: "sft" },
  { name: "epo", algo: "epo", overrides: {}, base: "sft" },
  { name: "grpo+d3s", algo: "grpo", overrides: { selection: "d3s" }, base: "sft" },
  { name: "igrpo", algo: "igrpo", overrides: { numDrafts: 4, groupSize: 4 }, base: "sft" },
  { name: "igrpo (from sft+refine)", algo: "igrpo", overrides: { numDrafts: 4, groupSize: 4 }, base: "sft+refine" },
];

interface Row {
  task: string;
  seed: number;
  method: string;
  /** The SFT model it started from (its own name for an SFT row). */
  base: string;
  greedyPass1: number;
  sampledPass1: number;
  pass8: number;
  meanLength: number;
  trainSeconds: number;
  sampledTokensPerSecond: number | null;
  trainTokensPerSecond: number | null;
}

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

function parseTask(spec: string): { task: string; taskOptions: Record<string, number> } {
  const [task, digits] = spec.split(":");
  return { task, taskOptions: digits ? { digits: Number(digits) } : {} };
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function benchText(args: string[]): Promise<void> {
  const tasks = arg(args, "tasks", "addition:3,countdown").split(",");
  const seeds = arg(args, "seeds", "1,2,3").split(",").map(Number);
  // One SFT length, or one per task (comma-separated, in --tasks order).
  const sftList = arg(args, "sft-iterations", "1500,600").split(",").map(Number);
  const iterations = Number(arg(args, "iterations", "100"));
  const prompts = Number(arg(args, "prompts", "16"));
  const problems = Number(arg(args, "problems", "200"));
  const methodNames = arg(args, "methods", METHODS.map((m) => m.name).join(",")).split(",");
  const name = arg(args, "name", "text");
  const backend = resolveTextBackend(arg(args, "backend", "auto") as "auto" | "kernels" | "wasm" | "cpu");
  const methods = METHODS.filter((m) => methodNames.includes(m.name));
  await initBackend(backend === "kernels" ? "cpu" : backend);
  const root = mkdtempSync(join(tmpdir(), "refinery-bench-text-"));
  const rows: Row[] = [];
  const log = (s: string) => process.stdout.write(s + "\n");
  const sftIterationsOf = (i: number) => sftList[Math.min(i, sftList.length - 1)];
  log(`text bench (backend ${backend}): tasks ${tasks.join(", ")}; seeds ${seeds.join(", ")}; SFT ${tasks.map((t, i) => `${sftIterationsOf(i)} iterations on ${t}`).join(", ")}; RL ${iterations} iterations × ${prompts} prompts × 8 completions; ${problems} test problems`);
  try {
    for (const [taskIndex, spec] of tasks.entries()) {
      const sftIterations = sftIterationsOf(taskIndex);
      const { task, taskOptions } = parseTask(spec);
      const taskObj = makeTask(task, taskOptions);
      const reward = combineRewards([{ fn: "correct", weight: 1 }]);
      const testSet = problemSet(taskObj, "test", problems, 0);
      const score = async (dir: string) => {
        const policy = await loadTokenPolicy(dir);
        if (backend === "kernels") policy.model.setBackend("kernels");
        const opts = { maxCompletionLength: taskObj.maxCompletionLength, seed: 0 };
        const greedy = evaluateText(policy, taskObj, reward, testSet, { ...opts, samples: 1, temperature: 0 });
        const sampled = evaluateText(policy, taskObj, reward, testSet, { ...opts, samples: 8, temperature: 1, ks: [1, 8] });
        return { greedyPass1: greedy.passAt1, sampledPass1: sampled.passAtK["1"], pass8: sampled.passAtK["8"], meanLength: sampled.meanLength };
      };
      for (const seed of seeds) {
        const baseDirs = new Map<string, string>();
        const baseDir = async (base: string): Promise<string> => {
          const known = baseDirs.get(base);
          if (known) return known;
          const dir = join(root, `${task}-${seed}-${base}`);
          const config = resolveConfig({ algo: "sft", overrides: { task, taskOptions, seed, iterations: sftIterations, evalEvery: 0, evalProblems: 50, backend, ...BASES[base] } });
          let lastTrainTps: number | null = null;
          const run = await train({ runDir: dir, algo: "sft", config, store: false, callbacks: { onIteration: (r) => void (lastTrainTps = Number(r.trainTokensPerSecond)) } });
          const sc = await score(dir);
          rows.push({ task: spec, seed, method: base, base, ...sc, trainSeconds: run.wallSeconds, sampledTokensPerSecond: null, trainTokensPerSecond: lastTrainTps });
          log(`${spec} seed ${seed} ${base}: pass@1 greedy ${sc.greedyPass1.toFixed(3)}, sampled ${sc.sampledPass1.toFixed(3)}, pass@8 ${sc.pass8.toFixed(3)} (${run.wallSeconds.toFixed(1)} s, ${Number(lastTrainTps).toFixed(0)} train tokens/s)`);
          baseDirs.set(base, dir);
          return dir;
        };
        await baseDir("sft");
        for (const m of methods) {
          const dir = join(root, `${task}-${seed}-${m.name.replace(/[^a-z0-9+]/gi, "_")}`);
          const init = await baseDir(m.base);
          const config = resolveConfig({ algo: m.algo, overrides: { task, taskOptions, seed, init, iterations, numPrompts: prompts, groupSize: 8, evalEvery: 0, evalProblems: 50, backend, ...m.overrides } });
          const tps: number[] = [];
          const s = await train({ runDir: dir, algo: m.algo, config, store: false, callbacks: { onIteration: (r) => void tps.push(Number(r.sampledTokensPerSecond)) } });
          const sc = await score(dir);
          rows.push({ task: spec, seed, method: m.name, base: m.base, ...sc, trainSeconds: s.wallSeconds, sampledTokensPerSecond: median(tps), trainTokensPerSecond: null });
          log(`${spec} seed ${seed} ${m.name}: pass@1 greedy ${sc.greedyPass1.toFixed(3)}, sampled ${sc.sampledPass1.toFixed(3)}, pass@8 ${sc.pass8.toFixed(3)} (${s.wallSeconds.toFixed(1)} s, ${median(tps).toFixed(0)} sampled tokens/s)`);
        }
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const table = summarize(rows, seeds.length);
  log("\n" + table);
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(join("bench/results", `${name}.json`), JSON.stringify({ tasks, sftIterations: tasks.map((_, i) => sftIterationsOf(i)), iterations, prompts, problems, seeds, rows }, null, 2) + "\n");
  writeFileSync(join("bench/results", `${name}.md`), table + "\n");
}

function summarize(rows: Row[], numSeeds: number): string {
  const lines = [
    `Medians over ${numSeeds} seeds. pass@1 greedy; pass@1 and pass@8 from 8 samples at τ = 1; Δ = pass@1 minus that of the SFT model the method started from (greedy; sampled), median of the per-seed differences.`,
    "",
    "| task | method | pass@1 greedy | Δ greedy | pass@1 sampled | Δ sampled | pass@8 | mean length | train wall s | tokens/s |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  const tasks = [...new Set(rows.map((r) => r.task))];
  for (const task of tasks) {
    const methods = [...new Set(rows.filter((r) => r.task === task).map((r) => r.method))];
    for (const method of methods) {
      const rs = rows.filter((r) => r.task === task && r.method === method);
      const baseOf = (r: Row) => rows.find((x) => x.task === task && x.seed === r.seed && x.method === r.base);
      const isBase = rs[0].method === rs[0].base;
      const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : "–");
      const signed = (x: number) => (isBase ? "–" : (x >= 0 ? "+" : "") + f(x));
      const dGreedy = median(rs.map((r) => r.greedyPass1 - (baseOf(r)?.greedyPass1 ?? NaN)));
      const dSampled = median(rs.map((r) => r.sampledPass1 - (baseOf(r)?.sampledPass1 ?? NaN)));
      // SFT rows: training tokens/s; RL rows: sampled tokens/s.
      const tps = median(rs.map((r) => (isBase ? (r.trainTokensPerSecond ?? NaN) : (r.sampledTokensPerSecond ?? NaN))));
      lines.push(
        `| ${task} | ${method} | ${f(median(rs.map((r) => r.greedyPass1)))} | ${signed(dGreedy)} | ${f(median(rs.map((r) => r.sampledPass1)))} | ${signed(dSampled)} | ${f(median(rs.map((r) => r.pass8)))} | ${f(median(rs.map((r) => r.meanLength)), 2)} | ${f(median(rs.map((r) => r.trainSeconds)), 1)} | ${f(tps, 0)}${isBase ? " (train)" : ""} |`,
      );
    }
  }
  return lines.join("\n");
}
