/**
 * What default checkpointing costs PPO on CartPole-v1 (CleanRL's defaults): the time of one
 * checkpoint write (median of many), the training SPS with the wall-clock schedule off
 * (`checkpointSeconds=0`), at its default (60 s) and at an aggressive 1 s, interleaved so
 * host drift hits all variants alike. Overhead of the default = checkpoint time / 60 s.
 * Asserts nothing.
 *
 *   node --import tsx bench/checkpoint_overhead.ts [--runs 3] [--steps 51200] [--backend wasm|cpu]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getAlgorithm, resolveConfig } from "../src/algos/index.js";
import { RunDir } from "../src/train/run.js";
import { train } from "../src/train/trainer.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    steps: { type: "string", default: "51200" },
    backend: { type: "string", default: "wasm" },
  },
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const root = mkdtempSync(join(tmpdir(), "refinery-ckpt-bench-"));
try {
  const base = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { totalTimesteps: Number(values.steps), backend: values.backend } });

  // One checkpoint write, as the trainer does it (saveState + writeCheckpoint).
  const algo = await getAlgorithm("ppo", false).create(base);
  const run = RunDir.create(join(root, "write"), "ppo", base);
  const times: number[] = [];
  for (let i = 0; i < 40; i++) {
    const t = performance.now();
    const s = algo.saveState();
    await run.writeCheckpoint(i, s.json, s.arrays);
    times.push(performance.now() - t);
  }
  run.release();
  algo.dispose();
  const writeMs = median(times);

  const variants = [0, 60, 1];
  const sps: Record<number, number[]> = { 0: [], 60: [], 1: [] };
  for (let r = 0; r < Number(values.runs); r++) {
    for (const seconds of variants) {
      const s = await train({ runDir: join(root, `r${r}-s${seconds}`), algo: "ppo", config: { ...base, checkpointSeconds: seconds }, store: false });
      sps[seconds].push(s.sps);
    }
  }
  console.log(`checkpoint write (PPO CartPole, saveState + files): median ${writeMs.toFixed(2)} ms over 40`);
  console.log(`overhead of the default schedule (one write per 60 s): ${((writeMs / 60_000) * 100).toFixed(4)} %`);
  for (const seconds of variants) {
    console.log(`checkpointSeconds=${seconds}: SPS median ${Math.round(median(sps[seconds]))} (runs: ${sps[seconds].map((x) => Math.round(x)).join(", ")})`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
