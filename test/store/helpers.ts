import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { run, type CliIo } from "../../src/cli/main.js";
import { attachRunStore } from "../../src/store/sink.js";
import { RunDir } from "../../src/train/run.js";

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `refinery ...argv` in-process and captures both streams. */
export async function cli(...argv: string[]): Promise<CliResult> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

/** Starts a TypeScript file of this repository in a child Node process. */
export function spawnTs(file: URL, args: string[], stdio: "pipe" | "ignore" = "pipe"): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", fileURLToPath(file), ...args], { stdio: ["ignore", stdio, stdio] });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on("close", (code) => resolve(code))));
}

/**
 * A run directory with metrics, written through the store like the trainer does, without
 * training: `returns[i]` is the episode return of iteration i + 1.
 */
export function fakeRun(dir: string, opts: { seed: number; learningRate?: number; returns: number[]; status?: string; pid?: number; env?: string }): RunDir {
  const run = RunDir.create(dir, "ppo", { env: opts.env ?? "CartPole-v1", seed: opts.seed, learningRate: opts.learningRate ?? 0.00025, totalTimesteps: 128 * opts.returns.length });
  const store = attachRunStore(run);
  run.writeStatus({ status: "running", pid: process.pid, iteration: 0, step: 0 });
  opts.returns.forEach((ret, i) => run.appendMetrics({ kind: "train", iteration: i + 1, step: 128 * (i + 1), episodeReturnMean: ret, episodeLengthMean: ret, policyLoss: -0.01, sps: 1000 }));
  const last = opts.returns.length;
  run.appendMetrics({ kind: "eval", iteration: last, step: 128 * last, evalReturnMean: opts.returns[last - 1] * 2, evalReturnStd: 1 });
  run.writeStatus({ status: opts.status ?? "finished", pid: opts.pid ?? process.pid, iteration: last, step: 128 * last, finalMeanReturn: opts.returns[last - 1] });
  store.detach();
  // Not a trainer: it lets go of the directory like a trainer that has ended.
  run.release();
  return run;
}
