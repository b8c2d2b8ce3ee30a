import { getAlgorithm, isTextConfig } from "../algos/index.js";
import { prepareEnv } from "../envs/registry.js";
import type { Algorithm, IterationMetrics } from "../algos/types.js";
import { PendingMetrics } from "./metric_logger.js";
import type { Callbacks, TrainRow } from "./trainer.js";

/**
 * Training without files: create an algorithm from a resolved config and run its
 * iterations, with the trainer's per-iteration rows and callbacks. It writes nothing,
 * touches no process state and runs in Node, browsers and workers alike. `train()` (from
 * `refinery-rl/node`) adds the run directory, checkpoints, evaluations and saved policies.
 */

export type LoopCallbacks = Pick<Callbacks, "onStep" | "onRollout" | "onUpdate" | "onIteration">;

export interface RunIterationsOptions {
  /** Iterations to run in this call (default: until the algorithm's totalIterations). */
  iterations?: number;
  callbacks?: LoopCallbacks;
  /** Stops before the next iteration once aborted. */
  signal?: AbortSignal;
}

export interface RunIterationsResult {
  /** Iterations run in this call. */
  iterations: number;
  /** Rows of this call's iterations, in order. */
  rows: TrainRow[];
  /** Why the call ended. */
  stoppedBy: "done" | "iterations" | "callback" | "signal";
}

/** A fresh algorithm for a resolved config (see resolveConfig); dispose() it when done. */
export async function createAlgorithm(algo: string, config: Record<string, unknown>): Promise<Algorithm> {
  await prepareEnv(config.env); // e.g. load the MuJoCo module, so the env can be made
  return getAlgorithm(algo, isTextConfig(config), config.task).create(config);
}

/**
 * Runs iterations of `algo` (rollout + update each), yielding to the event loop between
 * them so a page can repaint and a signal can stop it. Call it again to continue: the
 * algorithm keeps its state.
 */
export async function runIterations(algo: Algorithm, opts: RunIterationsOptions = {}): Promise<RunIterationsResult> {
  const cb = opts.callbacks;
  // Values callbacks record go into the iteration's row, as with train().
  const logger = new PendingMetrics();
  if (cb?.onStep || cb?.onRollout) {
    algo.setHooks?.({
      onStep: cb.onStep ? (step) => cb.onStep?.(step, logger) : undefined,
      onRollout: cb.onRollout ? (r) => cb.onRollout?.(r, algo, logger) : undefined,
    });
  }
  const rows: TrainRow[] = [];
  const t0 = now();
  const startSteps = stepsOf(algo);
  const limit = opts.iterations ?? Infinity;
  let stoppedBy: RunIterationsResult["stoppedBy"] = "done";
  while (algo.iteration < algo.totalIterations) {
    if (rows.length >= limit) {
      stoppedBy = "iterations";
      break;
    }
    await yieldToEventLoop();
    if (opts.signal?.aborted) {
      stoppedBy = "signal";
      break;
    }
    const metrics = algo.iterate();
    const episodes = algo.drainEpisodes();
    const row = trainRow(algo, metrics, episodes, startSteps, (now() - t0) / 1000);
    rows.push(row);
    Object.assign(row, logger.take());
    const stop = cb?.onUpdate?.(row, algo, logger) === false || cb?.onIteration?.(row, algo, logger) === false;
    Object.assign(row, logger.take());
    if (stop) {
      stoppedBy = "callback";
      break;
    }
  }
  return { iterations: rows.length, rows, stoppedBy };
}

/** The row of one iteration: its metrics, its finished episodes' means, and throughput since `startSteps`. */
export function trainRow(algo: Algorithm, metrics: IterationMetrics, episodes: { return: number; length: number }[], startSteps: number, wallSeconds: number): TrainRow {
  return {
    iteration: algo.iteration,
    step: stepsOf(algo),
    ...metrics,
    episodes: episodes.length,
    episodeReturnMean: episodes.length ? mean(episodes.map((e) => e.return)) : NaN,
    episodeLengthMean: episodes.length ? mean(episodes.map((e) => e.length)) : NaN,
    sps: (stepsOf(algo) - startSteps) / Math.max(wallSeconds, 1e-9),
    wallSeconds,
  };
}

/** Env steps consumed so far: exact for algorithms whose iterations vary in size (group collectors). */
export function stepsOf(a: Algorithm): number {
  return a.stepsDone ?? a.iteration * a.stepsPerIteration;
}

/**
 * Lets timers, I/O, signals and (in a browser) rendering run between synchronous
 * iterations. setImmediate where it exists (Node); a MessageChannel turn in browsers,
 * which, unlike setTimeout(0), is not clamped to 4 ms.
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => void };
  if (typeof g.setImmediate === "function") return new Promise((resolve) => g.setImmediate?.(resolve));
  if (typeof MessageChannel === "function") {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
