import { workerEntry } from "./worker_entry.js";
import { Worker } from "node:worker_threads";
import { chunkSteps, maskedActorsError, OffPolicyAlgorithm, type FedStep, type OffPolicyChunk } from "../algos/off_policy.js";
import type { NamedArrays } from "../algos/state.js";
import type { Algorithm } from "../algos/types.js";
import { MAX_SEED } from "../core/config.js";
import { ConfigError, RefineryError } from "../core/errors.js";
import type { MetricLogger } from "../train/metric_logger.js";
import type { ChunkReply, ChunkRequest, OffPolicyThreadInit } from "./offpolicy_actor_thread.js";

/** The algorithms whose actors run this way (the off-policy loop of src/algos/off_policy.ts). */
export const OFF_POLICY_ALGOS = ["dqn", "sac", "td3", "mdpo-off"];

export interface OffPolicyThreadOptions {
  threads: number;
  /** Versions a chunk's weights may lag behind the learner's when it is stored (default: threads). */
  maxStaleness?: number;
  /** Gradient steps per weight version (default: the gradient steps of one chunk). */
  publishEvery?: number;
  /** Vector steps per chunk (default: 64 transitions, rounded up to whole training rounds). */
  chunkSteps?: number;
  /** Test aid: thread `thread` fails on its request number `request` (0-based). */
  failAt?: { thread: number; request: number };
}

/** The options after defaults, as the learner uses them. */
export interface OffPolicyThreadPlan {
  threads: number;
  maxStaleness: number;
  publishEvery: number;
  chunkSteps: number;
}

const FLAG_FIX = "run without --actor-threads to see the error in this thread; the run resumes from its last checkpoint with refinery train --resume DIR --actor-threads N";

/**
 * Options that actor threads cannot honour, refused before anything is built; returns the
 * plan with its defaults. A version is `publishEvery` gradient steps; a chunk is
 * `chunkSteps` vector steps of one thread's numEnvs envs.
 */
export function planOffPolicyThreads(algo: string, config: Record<string, unknown>, opts: OffPolicyThreadOptions): OffPolicyThreadPlan {
  if (!OFF_POLICY_ALGOS.includes(algo)) throw new ConfigError(`off-policy actor threads run ${OFF_POLICY_ALGOS.join(", ")}, got ${algo}`, "use --actor-threads without off-policy options for ppo");
  const { threads } = opts;
  const intAtLeast = (v: number, min: number, flag: string, example: string) => {
    if (!Number.isSafeInteger(v) || v < min) throw new ConfigError(`${flag} must be an integer ≥ ${min}, got ${v}`, `pass e.g. ${flag} ${example}`);
  };
  intAtLeast(threads, 1, "--actor-threads", "2");
  if (config.vectorEnv === "async") {
    throw new ConfigError(
      "vectorEnv=async with --actor-threads: the actor threads step the envs, so the learner's own env workers would sit idle",
      "drop --set vectorEnv=async (or drop --actor-threads to step the envs in env worker threads)",
    );
  }
  const numEnvs = config.numEnvs as number;
  const trainFreq = config.trainFreq as number;
  const gradientSteps = config.gradientSteps as number;
  const chunkSteps = opts.chunkSteps ?? trainFreq * Math.ceil(64 / (numEnvs * trainFreq));
  intAtLeast(chunkSteps, 1, "--chunk-steps", "64");
  const perRound = gradientSteps === -1 ? trainFreq * numEnvs : gradientSteps;
  const publishEvery = opts.publishEvery ?? Math.max(1, Math.floor((chunkSteps / trainFreq) * perRound));
  intAtLeast(publishEvery, 1, "--publish-every", String(publishEvery));
  const maxStaleness = opts.maxStaleness ?? threads;
  intAtLeast(maxStaleness, 0, "--max-staleness", "1");
  return { threads, maxStaleness, publishEvery, chunkSteps };
}

/** A chunk asked of a thread, in the order the learner stores chunks. */
interface Request {
  id: number;
  thread: number;
  steps: number;
  startStep: number;
  version: number;
  chunk: OffPolicyChunk | null;
}

/**
 * Off-policy actors in worker threads on one machine (dqn, sac, td3, mdpo-off). Each thread
 * runs the algorithm's own envs (numEnvs of them, its own seed) and acts with the newest
 * weights the learner sent it — random warm-up before learningStarts and ε or noise exactly
 * as the single-process loop, driven by the learner's step count — and answers each request
 * with a chunk of transitions. The learner (this thread) stores the chunks in request order,
 * vector step by vector step, and trains on the loop's own schedule (learningStarts,
 * trainFreq, gradientSteps, target syncs, all counted in transitions stored), so its step
 * count is exact: a transition counts once it is stored, and a thread that fails stops the
 * run with an error (its chunk never counted; the checkpoint resumes it).
 *
 * Versions: weights version v are the weights after v·publishEvery gradient steps. A request
 * carries the current version (its weights, if the thread lacks them). A chunk is requested
 * only when the version the learner will have when it starts storing it — known in advance,
 * since the schedule of gradient steps depends only on counts — is at most maxStaleness
 * ahead of the current one, and at most two chunks per thread are outstanding. So threads
 * run ahead by at most maxStaleness versions, no chunk is collected in vain, and the run is
 * deterministic for a seed and thread count (chunk k always goes to thread k mod threads).
 * A chunk still found too stale when stored is dropped, counted in remote/staleBatches and
 * asked for again.
 */
export class OffPolicyThreadActors {
  private readonly order: Request[] = [];
  private readonly byId = new Map<number, Request>();
  private current: { steps: FedStep[]; k: number } | null = null;
  private nextId = 0;
  /** Vector steps requested and not yet stored. */
  private pending = 0;
  private version = 0;
  private weights: NamedArrays = {};
  private readonly sent: number[];
  private readonly reseed: boolean[];
  private started = false;
  private closing = false;
  private failure: Error | null = null;
  private waiter: { id: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private obsSize = 0;
  private actSize = 0;
  private iter = { stale: 0, chunks: 0, stalenessSum: 0, stalenessMax: 0, waitMs: 0 };

  private constructor(
    private readonly workers: Worker[],
    readonly plan: OffPolicyThreadPlan,
    private readonly seed: number,
    private readonly signal?: AbortSignal,
  ) {
    this.sent = workers.map(() => -1);
    this.reseed = workers.map(() => false);
    workers.forEach((w, k) => {
      w.on("message", (m: ChunkReply | { ready: true }) => this.onMessage(k, m));
      w.on("error", (err: Error) => this.fail(k, err.message));
      w.on("exit", (code) => {
        if (!this.closing) this.fail(k, `the thread exited (code ${code})`);
      });
    });
  }

  static async create(algo: string, config: Record<string, unknown>, opts: OffPolicyThreadOptions, signal?: AbortSignal): Promise<OffPolicyThreadActors> {
    const plan = planOffPolicyThreads(algo, config, opts);
    const seed = config.seed as number;
    const entry = workerEntry("offpolicy_actor_thread");
    const workers = Array.from({ length: plan.threads }, (_, k) => {
      const init: OffPolicyThreadInit = { algo, config, seed: actorSeed(seed, k, 0), ...(opts.failAt?.thread === k ? { failAtRequest: opts.failAt.request } : {}) };
      return new Worker(entry.entry, { eval: entry.eval, workerData: init, execArgv: [] });
    });
    const ready = workers.map(
      (w, k) =>
        new Promise<void>((resolve, reject) => {
          const onMessage = (msg: { masked?: boolean }) => {
            w.off("error", onError);
            // Refused here, before the trainer makes the run directory.
            if (msg.masked) reject(maskedActorsError());
            else resolve();
          };
          const onError = (err: Error) => {
            w.off("message", onMessage);
            reject(new RefineryError("actor_thread_failed", `--actor-threads: actor thread ${k} failed to start: ${err.message}`, FLAG_FIX));
          };
          w.once("message", onMessage);
          w.once("error", onError);
        }),
    );
    try {
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new OffPolicyThreadActors(workers, plan, seed, signal);
  }

  /** The trainer's beforeIteration: stores the iteration's transitions as the threads deliver them, training as it goes. */
  async beforeIteration(algo: Algorithm): Promise<void> {
    if (!(algo instanceof OffPolicyAlgorithm)) throw new ConfigError(`off-policy actor threads run ${OFF_POLICY_ALGOS.join(", ")}, got ${algo.name}`, "use one of them, or --actor-threads with ppo");
    if (this.signal?.aborted) return; // the trainer stops before this iteration
    if (!this.started) this.start(algo);
    const K = this.plan.publishEvery;
    const onGradientStep = (updates: number) => {
      if (updates % K === 0) this.publish(algo, updates / K);
    };
    const want = algo.stepsPerIteration / algo.vec.numEnvs;
    this.iter = { stale: 0, chunks: 0, stalenessSum: 0, stalenessMax: 0, waitMs: 0 };
    // Once begun, the iteration is stored whole (a stop signal takes effect after it), so a checkpoint never holds half of one.
    algo.beginFedIteration();
    while (algo.fedVectorSteps < want) {
      if (this.failure) throw this.failure;
      this.pump(algo);
      const step = this.current && this.current.k < this.current.steps.length ? this.current.steps[this.current.k++] : await this.nextChunkStep(algo);
      this.pending--;
      algo.feed(step, onGradientStep);
    }
  }

  private start(algo: OffPolicyAlgorithm): void {
    this.started = true;
    this.obsSize = algo.vec.obsSize;
    this.actSize = algo.buffer.actSize;
    this.version = Math.floor(algo.gradientStepsDone / this.plan.publishEvery);
    this.weights = algo.agent.exportPolicy().weights;
    // A resumed run's threads start new episodes from seeds of the step it resumes at.
    if (algo.stepsDone > 0) this.reseed.fill(true);
  }

  private publish(algo: OffPolicyAlgorithm, version: number): void {
    this.version = version;
    this.weights = algo.agent.exportPolicy().weights;
  }

  /** Requests chunks while the budget, the per-thread limit and the staleness bound allow. */
  private pump(algo: OffPolicyAlgorithm): void {
    const n = algo.vec.numEnvs;
    const budget = (algo.totalIterations * algo.stepsPerIteration) / n;
    const { threads, chunkSteps, publishEvery, maxStaleness } = this.plan;
    while (this.order.length < 2 * threads) {
      const remaining = budget - algo.stepsDone / n - this.pending;
      if (remaining <= 0) return;
      // The version when this chunk's first step is stored: what it will be stale against.
      const atStore = Math.floor((algo.gradientStepsDone + algo.updatesAhead(this.pending)) / publishEvery);
      if (atStore - this.version > maxStaleness) return;
      const req = this.request(Math.min(chunkSteps, remaining), algo.stepsDone + this.pending * n);
      this.order.push(req);
      this.pending += req.steps;
    }
  }

  private request(steps: number, startStep: number): Request {
    const id = this.nextId++;
    const thread = id % this.plan.threads;
    const req: Request = { id, thread, steps, startStep, version: this.version, chunk: null };
    this.byId.set(id, req);
    const msg: ChunkRequest = { id, steps, startStep, version: this.version };
    if (this.sent[thread] !== this.version) msg.weights = this.weights;
    if (this.reseed[thread]) msg.reseed = actorSeed(this.seed, thread, startStep);
    this.sent[thread] = this.version;
    this.reseed[thread] = false;
    this.workers[thread].postMessage(msg);
    return req;
  }

  /** Waits for the next chunk in order and returns its first step; a chunk too stale is dropped and asked for again. */
  private async nextChunkStep(algo: OffPolicyAlgorithm): Promise<FedStep> {
    for (;;) {
      const req = this.order[0];
      if (!req) throw new Error("off-policy actor threads: no chunk was requested although steps remain");
      if (!req.chunk) await this.arrival(req.id);
      this.order.shift();
      this.byId.delete(req.id);
      const staleness = this.version - req.version;
      if (staleness > this.plan.maxStaleness) {
        this.iter.stale++;
        this.order.unshift(this.request(req.steps, req.startStep));
        continue;
      }
      this.iter.chunks++;
      this.iter.stalenessSum += staleness;
      this.iter.stalenessMax = Math.max(this.iter.stalenessMax, staleness);
      const chunk = req.chunk as OffPolicyChunk;
      if (chunk.steps !== req.steps || chunk.numEnvs !== algo.vec.numEnvs) throw new Error(`off-policy actor thread ${req.thread} sent ${chunk.steps} steps of ${chunk.numEnvs} envs for ${req.steps} of ${algo.vec.numEnvs}`);
      this.current = { steps: chunkSteps(chunk, this.obsSize, this.actSize), k: 1 };
      return this.current.steps[0];
    }
  }

  private arrival(id: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const t0 = performance.now();
    return new Promise<void>((resolve, reject) => {
      this.waiter = { id, resolve, reject };
    }).finally(() => {
      this.iter.waitMs += performance.now() - t0;
    });
  }

  private onMessage(thread: number, m: ChunkReply | { ready: true }): void {
    if ("ready" in m) return;
    if ("error" in m) return this.fail(thread, m.error);
    const req = this.byId.get(m.id);
    if (!req) return;
    req.chunk = m.chunk;
    if (this.waiter?.id === m.id) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve();
    }
  }

  private fail(thread: number, message: string): void {
    if (this.failure) return;
    this.failure = new RefineryError("actor_thread_failed", `--actor-threads: actor thread ${thread} failed: ${message}`, FLAG_FIX);
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.failure);
  }

  /** The trainer's onUpdate: this iteration's numbers join its metrics row. */
  recordMetrics(logger: MetricLogger): void {
    logger.record("remote/staleBatches", this.iter.stale);
    logger.record("remote/staleness", this.iter.chunks ? this.iter.stalenessSum / this.iter.chunks : 0);
    logger.record("remote/stalenessMax", this.iter.stalenessMax);
    logger.record("remote/chunks", this.iter.chunks);
    logger.record("remote/version", this.version);
    logger.record("remote/waitSeconds", this.iter.waitMs / 1000);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Seed of thread k's envs and acting draws, also from the step a resumed run starts at. */
export function actorSeed(seed: number, thread: number, startStep: number): number {
  return (seed + 1 + thread + 104_729 * startStep) % MAX_SEED;
}


/** `refinery train --actor-threads N` for an off-policy algorithm: the trainer's hooks (see TrainHooks in src/cli/train.ts). */
export async function offPolicyThreadHooks(algo: string, config: Record<string, unknown>, opts: OffPolicyThreadOptions, signal?: AbortSignal) {
  const actors = await OffPolicyThreadActors.create(algo, config, opts, signal);
  return {
    beforeIteration: (a: Algorithm) => actors.beforeIteration(a),
    onUpdate: (_row: unknown, _algo: Algorithm, logger: MetricLogger) => actors.recordMetrics(logger),
    finish: async () => {},
    close: () => actors.close(),
  };
}
