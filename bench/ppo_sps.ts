/**
 * PPO throughput on CartPole-v1 with CleanRL's defaults (4 envs × 128 steps, 4 epochs ×
 * 4 minibatches, 64×64 tanh actor and critic): end-to-end SPS as the trainer reports it
 * (final evaluation and checkpoint included), and the per-iteration split into rollout
 * and update time read from the run's metrics. Median over runs; asserts nothing.
 *
 *   node --import tsx bench/ppo_sps.ts [--runs 3] [--steps 102400] [--backend wasm|cpu] [--json]
 *
 * The host drifts from minute to minute: compare variants by running them interleaved,
 * not against a number measured earlier.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/algos/index.js";
import { RunDir } from "../src/train/run.js";
import { train } from "../src/train/trainer.js";

interface RunResult {
  sps: number;
  evalReturn: number;
  /** Medians over the run's iterations, in milliseconds per iteration. */
  rolloutMs: number;
  updateMs: number;
  stepsPerIteration: number;
}

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    steps: { type: "string", default: "102400" },
    backend: { type: "string", default: "wasm" },
    seed: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function runOnce(seed: number): Promise<RunResult> {
  const tmp = mkdtempSync(join(tmpdir(), "refinery-sps-"));
  try {
    const config = resolveConfig({
      algo: "ppo",
      env: "CartPole-v1",
      overrides: { totalTimesteps: Number(values.steps), seed, backend: values.backend },
    });
    const runDir = join(tmp, "run");
    const summary = await train({ runDir, algo: "ppo", config });
    const rows = new RunDir(runDir).readMetrics().filter((r) => r.kind === "train");
    // The first iterations include JIT warm-up; the median ignores them.
    const ms = (key: string) => 1000 * median(rows.map((r) => Number(r[key])));
    const stepsPerIteration = Number(config.numEnvs) * Number(config.numSteps);
    return { sps: summary.sps, evalReturn: summary.finalEval.meanReturn, rolloutMs: ms("rolloutSeconds"), updateMs: ms("updateSeconds"), stepsPerIteration };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const runs: RunResult[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  const r = await runOnce(Number(values.seed));
  runs.push(r);
  if (!values.json) {
    console.log(
      `run ${i + 1}: ${Math.round(r.sps)} SPS, rollout ${r.rolloutMs.toFixed(2)} ms + update ${r.updateMs.toFixed(2)} ms per iteration, eval return ${r.evalReturn}`,
    );
  }
}
const result = {
  sps: median(runs.map((r) => r.sps)),
  rolloutMs: median(runs.map((r) => r.rolloutMs)),
  updateMs: median(runs.map((r) => r.updateMs)),
  evalReturn: median(runs.map((r) => r.evalReturn)),
  runs: runs.length,
  backend: values.backend,
  node: process.version,
};
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(
    `median of ${runs.length}: ${Math.round(result.sps)} SPS; per iteration of ${runs[0].stepsPerIteration} steps: rollout ${result.rolloutMs.toFixed(2)} ms, update ${result.updateMs.toFixed(2)} ms`,
  );
}
