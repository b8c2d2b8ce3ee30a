import { getAlgorithm, isTextConfig } from "../algos/index.js";
import { prepareEnv, registry } from "../envs/registry.js";
import type { Algorithm, IterationMetrics } from "../algos/types.js";
import { attachRunStore } from "../store/sink.js";
import { evaluatePolicy, type EvalResult } from "./evaluate.js";
import { parseLogFormats, RunLogger, type LogFormat, type MetricLogger } from "./logger.js";
import type { LockOwner } from "./lock.js";
import { checkpointName, RunDir } from "./run.js";
import { checkBudget } from "./budget.js";
import { stepsOf, trainRow } from "./loop.js";
import { resolve } from "node:path";

/**
 * Hooks called by the trainer; all optional. Returning `false` from onIteration stops training.
 * Each hook gets the run's logger last: `logger.record(name, value)` adds a number to the
 * metrics row being built (see MetricLogger), which then reaches every log of the run.
 */
export interface Callbacks {
  /** After every vector-env step of a rollout (step-collector algorithms: ppo, mdpo). Keep it cheap. */
  onStep?(step: { obs: Float32Array; rewards: Float64Array; terminated: Uint8Array; truncated: Uint8Array }, logger: MetricLogger): void;
  /** After each rollout is collected, before the update: env steps and finished episodes. */
  onRollout?(rollout: { steps: number; episodes: { return: number; length: number }[] }, algo: Algorithm, logger: MetricLogger): void;
  /** After every update (= iteration: rollout + update), with its metrics row, before the row is written. Returning `false` stops training. */
  onUpdate?(row: TrainRow, algo: Algorithm, logger: MetricLogger): void | boolean;
  /** The same as onUpdate (kept for readability of loops that think in iterations). */
  onIteration?(row: TrainRow, algo: Algorithm, logger: MetricLogger): void | boolean;
  /** After every evaluation, before its row is written. */
  onEval?(result: EvalResult & { iteration: number; step: number }, algo: Algorithm, logger: MetricLogger): void;
  /** After a checkpoint is written. */
  onCheckpoint?(iteration: number, algo: Algorithm, logger: MetricLogger): void;
  /** Once the run directory is owned and the state loaded, before the first iteration. */
  onStart?(info: StartInfo): void;
}

/** How a run starts: fresh, resumed from a checkpoint, or restarted on purpose. */
export interface StartInfo {
  runDir: string;
  /** Set when the run continues from a checkpoint. */
  resumed: { iteration: number; step: number; checkpoint: string; skipped: string[] } | null;
  /** A resumed run with neither checkpoints nor metrics (stopped before its first iteration) starts at step 0. */
  restarted: "on_request" | "nothing_done" | null;
  /** The owner whose stale lock was taken over (its process was gone), if any. */
  tookOverFrom: LockOwner | null;
}

export interface TrainRow extends IterationMetrics {
  iteration: number;
  step: number;
  episodes: number;
  episodeReturnMean: number;
  episodeLengthMean: number;
  sps: number;
  wallSeconds: number;
}

export interface TrainSummary {
  runDir: string;
  algo: string;
  env: string;
  steps: number;
  iterations: number;
  wallSeconds: number;
  sps: number;
  /** Mean raw return of the last (up to) 100 finished training episodes. */
  finalMeanReturn: number;
  /** Final evaluation (deterministic unless configured otherwise); text runs: greedy pass@1 too. */
  finalEval: EvalResult & { passAt1?: number };
  /** First step at which the mean of the last 10 training returns reached the env's threshold, or null. */
  stepsToThreshold: number | null;
  /** True when training stopped early (`signal`, `stopAfterIterations`); the run is resumable. */
  interrupted?: boolean;
  /** The newest checkpoint of the run when it stopped (e.g. "000000012"), if any. */
  checkpoint?: string | null;
}

export interface TrainOptions {
  /** Run directory: created for a new run, or an existing one with `resume`. */
  runDir: string;
  algo?: string;
  /** Resolved config (see resolveConfig); ignored on resume, which reads the run's own. */
  config?: Record<string, unknown>;
  resume?: boolean;
  /** With `resume`: start the run over from step 0 with its saved config, deleting its checkpoints, policies and metrics. */
  restart?: boolean;
  /**
   * Stops training at the next iteration boundary: a checkpoint is written, the run is
   * marked interrupted and the summary says so. `train` installs no signal handlers; the
   * CLI aborts this on SIGINT/SIGTERM.
   */
  signal?: AbortSignal;
  /** Stop after this many iterations in this process (for tests of interruption); the run stays resumable. */
  stopAfterIterations?: number;
  callbacks?: Callbacks;
  /** Reward threshold for stepsToThreshold (defaults to the env spec's; envs without one, like Pendulum-v1, report null unless it is given). */
  threshold?: number;
  /** Register the run in the run store of its parent directory (`runs.db`) and mirror its metrics there (default true). */
  store?: boolean;
  /**
   * Also write the metrics as TensorBoard event files (RUN/tb/) and/or CSV (RUN/progress.csv).
   * A resumed run keeps writing the formats its directory already has.
   */
  log?: LogFormat[];
  /**
   * Awaited before every iteration, after the stop checks: a remote learner publishes the
   * weights and waits for the rollout there (src/scale/). It may return early when `signal`
   * aborts; the trainer then stops as for any signal.
   */
  beforeIteration?: (algo: Algorithm) => Promise<void>;
}

/**
 * The training loop: iterate the algorithm, log metrics (one JSON line per iteration),
 * evaluate every `evalEvery` iterations (and at the end), checkpoint at the start, every
 * `checkpointEvery` iterations, every `checkpointSeconds` of wall time and at the end,
 * keep the best policy by evaluation, save the final policy. A resumed run continues from
 * its newest verified checkpoint exactly; with no usable checkpoint it is an error, never
 * a silent restart. The process owns the run directory (its lock) until this returns.
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  if (opts.log) parseLogFormats(opts.log, "TrainOptions.log"); // a bad format fails before the run directory is made
  // A new run builds its algorithm before its directory exists, so every error the
  // constructor finds (model shapes, tokenizer, --init run, seeds) leaves nothing behind.
  // The config goes through JSON as it would through config.json.
  const fresh = opts.resume ? undefined : (JSON.parse(JSON.stringify(opts.config ?? {})) as Record<string, unknown>);
  await prepareEnv(fresh?.env); // e.g. load the MuJoCo module, so the env can be made
  if (fresh) checkBudget(opts.algo ?? "ppo", fresh);
  const prebuilt = fresh ? await getAlgorithm(opts.algo ?? "ppo", isTextConfig(fresh), fresh.task).create(fresh) : undefined;
  const started = { created: false, prebuiltTaken: false };
  try {
    return await trainRun(opts, started, prebuilt);
  } catch (err) {
    if (prebuilt && !started.prebuiltTaken) prebuilt.dispose();
    markFailedAtStart(opts, started.created, err);
    throw err;
  }
}

/**
 * A run that fails after its directory exists but before its loop ran (where the loop's own
 * handler records it) is marked failed with the reason, never left "running" or status-less.
 */
function markFailedAtStart(opts: TrainOptions, created: boolean, err: unknown): void {
  try {
    const run = new RunDir(resolve(opts.runDir));
    const status = run.readStatus();
    const ours = created ? status === null || status.status === "running" : status?.status === "running" && status.pid === process.pid;
    if (!ours) return;
    const store = opts.store === false ? null : attachRunStore(run);
    run.writeStatus({ ...(status ?? {}), status: "failed", pid: process.pid, error: (err as Error)?.message ?? String(err) });
    store?.detach();
  } catch {
    // The directory itself is unwritable: the error being thrown already says why.
  }
}

async function trainRun(opts: TrainOptions, started: { created: boolean; prebuiltTaken: boolean }, prebuilt?: Algorithm): Promise<TrainSummary> {
  // config.json records what the algorithm resolved at create time (PPO's backend "auto"), so a resume resolves nothing again.
  const run = opts.resume ? RunDir.openAsOwner(opts.runDir) : RunDir.create(opts.runDir, opts.algo ?? "ppo", prebuilt?.recordedConfig?.() ?? opts.config ?? {});
  started.created = !opts.resume;
  try {
    return await trainOwned(run, opts, started, prebuilt);
  } finally {
    run.release();
  }
}

async function trainOwned(run: RunDir, opts: TrainOptions, started: { created: boolean; prebuiltTaken: boolean }, prebuilt?: Algorithm): Promise<TrainSummary> {
  const { algo: algoName, config } = run.readConfig();
  const entry = getAlgorithm(algoName, isTextConfig(config), config.task);
  started.prebuiltTaken = prebuilt !== undefined;
  if (!prebuilt) await prepareEnv(config.env);
  const algo = prebuilt ?? (await entry.create(config));
  const cfg = config as { env: string; seed: number; evalEvery: number; evalEpisodes: number; evalDeterministic: boolean; checkpointEvery: number };
  // A text run names its task where a control run names its env.
  if (isTextConfig(config)) cfg.env = `text:${String(config.task)}`;
  const recent: number[] = [];
  let stepsToThreshold: number | null = null;
  let bestEval = -Infinity;
  let resumed: StartInfo["resumed"] = null;
  let restarted: StartInfo["restarted"] = null;
  try {
    if (opts.resume && opts.restart) {
      restarted = "on_request";
    } else if (opts.resume && !run.hasCheckpoint() && run.readMetrics().length === 0 && !run.hasCheckpointDirs()) {
      // Stopped before its first checkpoint and before any iteration: nothing is lost by starting at 0.
      restarted = "nothing_done";
    } else if (opts.resume) {
      const state = await run.readCheckpoint();
      algo.loadState(state);
      const t = state.json.trainer as { recent: number[]; stepsToThreshold: number | null; bestEval: number | null } | undefined;
      if (t) {
        recent.push(...t.recent);
        stepsToThreshold = t.stepsToThreshold;
        bestEval = t.bestEval ?? -Infinity;
      }
      resumed = { iteration: algo.iteration, step: stepsOf(algo), checkpoint: state.name, skipped: state.skipped };
    }
  } catch (err) {
    algo.dispose();
    throw err;
  }
  const threshold = opts.threshold ?? registry.get(cfg.env)?.rewardThreshold;
  if (resumed && algo.iteration >= algo.totalIterations && run.readStatus()?.status === "finished") {
    // Nothing left to train: report the run as it ended, without touching its files.
    const evals = run.readMetrics().filter((r) => r.kind === "eval");
    const last = evals[evals.length - 1] ?? {};
    const summary = partialSummary(run, algoName, cfg.env, algo, performance.now(), recent, stepsToThreshold);
    summary.finalEval = { returns: [], lengths: [], meanReturn: Number(last.evalReturnMean ?? NaN), stdReturn: Number(last.evalReturnStd ?? NaN), meanLength: Number(last.evalLengthMean ?? NaN) };
    algo.dispose();
    return summary;
  }
  const status = (s: string, extra: Record<string, unknown> = {}) =>
    run.writeStatus({ status: s, pid: process.pid, algo: algoName, env: cfg.env, iteration: algo.iteration, step: stepsOf(algo), ...extra });
  const store = opts.store === false ? null : attachRunStore(run);
  try {
    // After attaching the store, so it drops the rows the files drop; before the logger, which
    // starts CSV and TensorBoard from the rows that remain. The final evaluation follows the
    // final checkpoint: a run resumed from that checkpoint evaluates again.
    if (resumed) run.truncateMetrics(algo.iteration, { dropEvalAt: algo.iteration >= algo.totalIterations ? algo.iteration : undefined });
    if (restarted) run.clearForRestart();
  } catch (err) {
    store?.detach();
    algo.dispose();
    throw err;
  }
  // A restarted run also drops what its logs hold past step 0.
  const logger = RunLogger.open(run, { formats: opts.log, resumed: resumed !== null || restarted !== null, iteration: algo.iteration, step: stepsOf(algo), config });
  status("running");
  opts.callbacks?.onStart?.({ runDir: run.path, resumed, restarted, tookOverFrom: run.tookOverFrom });

  const t0 = performance.now();
  const startIteration = algo.iteration;
  const cb = opts.callbacks;
  if (cb?.onStep || cb?.onRollout) {
    algo.setHooks?.({ onStep: cb.onStep ? (s) => cb.onStep?.(s, logger) : undefined, onRollout: cb.onRollout ? (r) => cb.onRollout?.(r, algo, logger) : undefined });
  }
  const startSteps = stepsOf(algo);
  const evaluateNow = async (): Promise<EvalResult> => {
    const iteration = algo.iteration;
    let result: EvalResult & { passAt1?: number };
    if (algo.evaluate) {
      result = algo.evaluate();
    } else {
      const env = algo.makeEvalEnv();
      // Seeds depend only on the run seed and the iteration, so a resumed run evaluates identically.
      result = evaluatePolicy(env, algo.actingPolicy(cfg.seed + 7919 * iteration), cfg.evalEpisodes, cfg.seed + 100_003 + iteration, cfg.evalDeterministic);
      env.close();
    }
    const step = stepsOf(algo);
    // Before the row is written, so values the callback records join it.
    opts.callbacks?.onEval?.({ ...result, iteration, step }, algo, logger);
    logger.write({
      kind: "eval",
      iteration,
      step,
      evalReturnMean: result.meanReturn,
      evalReturnStd: result.stdReturn,
      evalLengthMean: result.meanLength,
      ...(result.passAt1 === undefined ? {} : { evalPassAt1: result.passAt1 }),
    });
    if (result.meanReturn > bestEval) {
      bestEval = result.meanReturn;
      const p = algo.exportPolicy();
      await run.writePolicy("best", { ...p.spec, evalReturnMean: result.meanReturn, iteration }, p.weights, p.shapes);
    }
    return result;
  };
  const checkpointSeconds = typeof config.checkpointSeconds === "number" ? config.checkpointSeconds : DEFAULT_CHECKPOINT_SECONDS;
  let lastCheckpoint: { iteration: number; at: number } | null = resumed ? { iteration: algo.iteration, at: performance.now() } : null;
  const checkpoint = async () => {
    const s = algo.saveState();
    await run.writeCheckpoint(algo.iteration, { ...s.json, trainer: { recent, stepsToThreshold, bestEval: Number.isFinite(bestEval) ? bestEval : null } }, s.arrays);
    lastCheckpoint = { iteration: algo.iteration, at: performance.now() };
    opts.callbacks?.onCheckpoint?.(algo.iteration, algo, logger);
  };
  const stopEarly = async (): Promise<TrainSummary> => {
    if (lastCheckpoint?.iteration !== algo.iteration) await checkpoint();
    status("interrupted");
    algo.dispose();
    return { ...partialSummary(run, algoName, cfg.env, algo, t0, recent, stepsToThreshold), interrupted: true, checkpoint: checkpointName(algo.iteration) };
  };

  try {
    // A first checkpoint before any training, so a run stopped at any moment can be resumed.
    if (!resumed) await checkpoint();
    while (algo.iteration < algo.totalIterations) {
      if (opts.stopAfterIterations !== undefined && algo.iteration - startIteration >= opts.stopAfterIterations) return await stopEarly();
      // Iterations are synchronous: yield to the event loop so a signal handler can abort now, not after the last one.
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) return await stopEarly();
      if (opts.beforeIteration) {
        await opts.beforeIteration(algo);
        if (opts.signal?.aborted) return await stopEarly();
      }
      const metrics = algo.iterate();
      const episodes = algo.drainEpisodes();
      const step = stepsOf(algo);
      for (const e of episodes) {
        recent.push(e.return);
        if (recent.length > 100) recent.shift();
        if (stepsToThreshold === null && threshold !== undefined && recent.length >= 10 && mean(recent.slice(-10)) >= threshold) stepsToThreshold = step;
      }
      const row = trainRow(algo, metrics, episodes, startSteps, (performance.now() - t0) / 1000);
      // Callbacks run before the row is written, so values they record join it.
      const stop = opts.callbacks?.onUpdate?.(row, algo, logger) === false || opts.callbacks?.onIteration?.(row, algo, logger) === false;
      logger.write({ kind: "train", ...nullifyNaN(row) });
      logger.afterIteration(algo, algo.iteration, step);
      if (stop) break;
      if (cfg.evalEvery > 0 && algo.iteration % cfg.evalEvery === 0 && algo.iteration < algo.totalIterations) await evaluateNow();
      const due = (cfg.checkpointEvery > 0 && algo.iteration % cfg.checkpointEvery === 0) || (checkpointSeconds > 0 && performance.now() - (lastCheckpoint?.at ?? t0) >= checkpointSeconds * 1000);
      if (due && algo.iteration < algo.totalIterations) await checkpoint();
    }
    // Checkpoint first, so a failure in the final evaluation loses no training: resuming
    // the run then only evaluates and saves.
    await checkpoint();
    const finalEval = await evaluateNow();
    const p = algo.exportPolicy();
    await run.writePolicy("policy", p.spec, p.weights, p.shapes);
    const wall = (performance.now() - t0) / 1000;
    const summary: TrainSummary = {
      runDir: run.path,
      algo: algoName,
      env: cfg.env,
      steps: stepsOf(algo),
      iterations: algo.iteration,
      wallSeconds: wall,
      sps: (stepsOf(algo) - startSteps) / Math.max(wall, 1e-9),
      finalMeanReturn: mean(recent),
      finalEval,
      stepsToThreshold,
    };
    status("finished", { finalMeanReturn: summary.finalMeanReturn, evalReturnMean: finalEval.meanReturn, stepsToThreshold });
    algo.dispose();
    return { ...summary, checkpoint: checkpointName(algo.iteration) };
  } catch (err) {
    status("failed", { error: (err as Error).message });
    algo.dispose();
    throw err;
  } finally {
    store?.detach();
    logger.close();
  }
}

/** Wall-clock checkpoint period when a config has no `checkpointSeconds` (runs made before it existed). */
export const DEFAULT_CHECKPOINT_SECONDS = 60;

function partialSummary(run: RunDir, algo: string, env: string, a: Algorithm, t0: number, recent: number[], stepsToThreshold: number | null): TrainSummary {
  const wall = (performance.now() - t0) / 1000;
  return {
    runDir: run.path,
    algo,
    env,
    steps: stepsOf(a),
    iterations: a.iteration,
    wallSeconds: wall,
    sps: NaN,
    finalMeanReturn: mean(recent),
    finalEval: { returns: [], lengths: [], meanReturn: NaN, stdReturn: NaN, meanLength: NaN },
    stepsToThreshold,
  };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function nullifyNaN(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "number" && !Number.isFinite(v) ? null : v;
  return out;
}
