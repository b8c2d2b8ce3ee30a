import { getAlgorithm, isTextConfig } from "../algos/index.js";
import { registry } from "../envs/registry.js";
import type { Algorithm, IterationMetrics } from "../algos/types.js";
import { attachRunStore } from "../store/sink.js";
import { evaluatePolicy, type EvalResult } from "./evaluate.js";
import { RunDir } from "./run.js";
import { checkBudget } from "./budget.js";
import { resolve } from "node:path";

/** Hooks called by the trainer; all optional. Returning `false` from onIteration stops training. */
export interface Callbacks {
  /** After every vector-env step of a rollout (step-collector algorithms: ppo, mdpo). Keep it cheap. */
  onStep?(step: { obs: Float32Array; rewards: Float64Array; terminated: Uint8Array; truncated: Uint8Array }): void;
  /** After each rollout is collected, before the update: env steps and finished episodes. */
  onRollout?(rollout: { steps: number; episodes: { return: number; length: number }[] }, algo: Algorithm): void;
  /** After every update (= iteration: rollout + update), with its metrics row. Returning `false` stops training. */
  onUpdate?(row: TrainRow, algo: Algorithm): void | boolean;
  /** The same as onUpdate (kept for readability of loops that think in iterations). */
  onIteration?(row: TrainRow, algo: Algorithm): void | boolean;
  /** After every evaluation. */
  onEval?(result: EvalResult & { iteration: number; step: number }, algo: Algorithm): void;
  /** After a checkpoint is written. */
  onCheckpoint?(iteration: number, algo: Algorithm): void;
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
}

export interface TrainOptions {
  /** Run directory: created for a new run, or an existing one with `resume`. */
  runDir: string;
  algo?: string;
  /** Resolved config (see resolveConfig); ignored on resume, which reads the run's own. */
  config?: Record<string, unknown>;
  resume?: boolean;
  /** Stop after this many iterations in this process (for tests of interruption); the run stays resumable. */
  stopAfterIterations?: number;
  callbacks?: Callbacks;
  /** Reward threshold for stepsToThreshold (defaults to the env spec's; envs without one, like Pendulum-v1, report null unless it is given). */
  threshold?: number;
  /** Register the run in the run store of its parent directory (`runs.db`) and mirror its metrics there (default true). */
  store?: boolean;
}

/**
 * The training loop: iterate the algorithm, log metrics (one JSON line per iteration),
 * evaluate every `evalEvery` iterations (and at the end), checkpoint every
 * `checkpointEvery` iterations (and at the end), keep the best policy by evaluation,
 * save the final policy. A resumed run continues from the last checkpoint exactly.
 */
export async function train(opts: TrainOptions): Promise<TrainSummary> {
  // A new run builds its algorithm before its directory exists, so every error the
  // constructor finds (model shapes, tokenizer, --init run, seeds) leaves nothing behind.
  // The config goes through JSON as it would through config.json.
  const fresh = opts.resume ? undefined : (JSON.parse(JSON.stringify(opts.config ?? {})) as Record<string, unknown>);
  if (fresh) checkBudget(opts.algo ?? "ppo", fresh);
  const prebuilt = fresh ? await getAlgorithm(opts.algo ?? "ppo", isTextConfig(fresh)).create(fresh) : undefined;
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
  const run = opts.resume ? RunDir.open(opts.runDir) : RunDir.create(opts.runDir, opts.algo ?? "ppo", opts.config ?? {});
  started.created = !opts.resume;
  const { algo: algoName, config } = run.readConfig();
  const entry = getAlgorithm(algoName, isTextConfig(config));
  started.prebuiltTaken = prebuilt !== undefined;
  const algo = prebuilt ?? (await entry.create(config));
  const cfg = config as { env: string; seed: number; evalEvery: number; evalEpisodes: number; evalDeterministic: boolean; checkpointEvery: number };
  // A text run names its task where a control run names its env.
  if (isTextConfig(config)) cfg.env = `text:${String(config.task)}`;
  const recent: number[] = [];
  let stepsToThreshold: number | null = null;
  let bestEval = -Infinity;
  if (opts.resume && run.hasCheckpoint()) {
    const state = await run.readCheckpoint();
    algo.loadState(state);
    const t = state.json.trainer as { recent: number[]; stepsToThreshold: number | null; bestEval: number | null } | undefined;
    if (t) {
      recent.push(...t.recent);
      stepsToThreshold = t.stepsToThreshold;
      bestEval = t.bestEval ?? -Infinity;
    }
    run.truncateMetrics(algo.iteration);
  } else if (opts.resume) {
    run.truncateMetrics(0);
  }
  const threshold = opts.threshold ?? registry.get(cfg.env)?.rewardThreshold;
  if (opts.resume && algo.iteration >= algo.totalIterations && run.readStatus()?.status === "finished") {
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
  status("running");

  const onSignal = () => {
    status("interrupted");
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const t0 = performance.now();
  const startIteration = algo.iteration;
  const cb = opts.callbacks;
  if (cb?.onStep || cb?.onRollout) {
    algo.setHooks?.({ onStep: cb.onStep, onRollout: cb.onRollout ? (r) => cb.onRollout?.(r, algo) : undefined });
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
    run.appendMetrics({
      kind: "eval",
      iteration,
      step,
      evalReturnMean: result.meanReturn,
      evalReturnStd: result.stdReturn,
      evalLengthMean: result.meanLength,
      ...(result.passAt1 === undefined ? {} : { evalPassAt1: result.passAt1 }),
    });
    opts.callbacks?.onEval?.({ ...result, iteration, step }, algo);
    if (result.meanReturn > bestEval) {
      bestEval = result.meanReturn;
      const p = algo.exportPolicy();
      await run.writePolicy("best", { ...p.spec, evalReturnMean: result.meanReturn, iteration }, p.weights, p.shapes);
    }
    return result;
  };
  const checkpoint = async () => {
    const s = algo.saveState();
    await run.writeCheckpoint(algo.iteration, { ...s.json, trainer: { recent, stepsToThreshold, bestEval: Number.isFinite(bestEval) ? bestEval : null } }, s.arrays);
    opts.callbacks?.onCheckpoint?.(algo.iteration, algo);
  };

  try {
    while (algo.iteration < algo.totalIterations) {
      if (opts.stopAfterIterations !== undefined && algo.iteration - startIteration >= opts.stopAfterIterations) {
        status("interrupted");
        algo.dispose();
        return partialSummary(run, algoName, cfg.env, algo, t0, recent, stepsToThreshold);
      }
      // Iterations are synchronous: yield to the event loop so SIGINT/SIGTERM are handled now, not after the last one.
      await new Promise((resolve) => setImmediate(resolve));
      const metrics = algo.iterate();
      const episodes = algo.drainEpisodes();
      const step = stepsOf(algo);
      for (const e of episodes) {
        recent.push(e.return);
        if (recent.length > 100) recent.shift();
        if (stepsToThreshold === null && threshold !== undefined && recent.length >= 10 && mean(recent.slice(-10)) >= threshold) stepsToThreshold = step;
      }
      const wall = (performance.now() - t0) / 1000;
      const row: TrainRow = {
        iteration: algo.iteration,
        step,
        ...metrics,
        episodes: episodes.length,
        episodeReturnMean: episodes.length ? mean(episodes.map((e) => e.return)) : NaN,
        episodeLengthMean: episodes.length ? mean(episodes.map((e) => e.length)) : NaN,
        sps: (stepsOf(algo) - startSteps) / Math.max(wall, 1e-9),
        wallSeconds: wall,
      };
      run.appendMetrics({ kind: "train", ...nullifyNaN(row) });
      if (opts.callbacks?.onUpdate?.(row, algo) === false || opts.callbacks?.onIteration?.(row, algo) === false) break;
      if (cfg.evalEvery > 0 && algo.iteration % cfg.evalEvery === 0 && algo.iteration < algo.totalIterations) await evaluateNow();
      if (cfg.checkpointEvery > 0 && algo.iteration % cfg.checkpointEvery === 0) await checkpoint();
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
    return summary;
  } catch (err) {
    status("failed", { error: (err as Error).message });
    algo.dispose();
    throw err;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    store?.detach();
  }
}

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


/** Env steps consumed so far: exact for algorithms whose iterations vary in size (group collectors). */
function stepsOf(a: Algorithm): number {
  return a.stepsDone ?? a.iteration * a.stepsPerIteration;
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function nullifyNaN(row: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "number" && !Number.isFinite(v) ? null : v;
  return out;
}
