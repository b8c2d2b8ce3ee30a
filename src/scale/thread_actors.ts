import { workerEntry } from "./worker_entry.js";
import { OFF_POLICY_ALGOS } from "./offpolicy_actors.js";
import { Worker } from "node:worker_threads";
import type { Algorithm } from "../algos/types.js";
import { ConfigError, RefineryError } from "../core/errors.js";
import type { MetricLogger } from "../train/metric_logger.js";
import { learnerFamily, type LearnerFamily, type Piece, type RemoteFamily } from "./families.js";
import { checkRemoteConfig, type RemoteVia } from "./learner.js";
import { PieceBook, recordStaleness } from "./piece_book.js";
import { userModules } from "./user_modules.js";
import type { WireArray } from "./wire.js";

/** What an actor thread is started with. */
export interface ActorThreadInit {
  algo: string;
  family: RemoteFamily;
  config: Record<string, unknown>;
  shards: number;
  seed: number;
  /** The user's --import modules, imported first so their envs and tasks exist in the thread. */
  imports: string[];
}

/** Main thread → actor thread: new weights, or collect a piece of an iteration with the newest weights. */
export type MainToThread = { kind: "weights"; version: number; weights: Record<string, Float32Array> } | { kind: "collect"; iteration: number };

/** Actor thread → main thread. A piece carries what a remote actor would put on the wire, unencoded. */
export type ThreadToMain =
  | { kind: "ready" }
  | { kind: "error"; message: string }
  | { kind: "piece"; iteration: number; weights: number; header: Record<string, unknown>; arrays: Record<string, WireArray> };

export interface ThreadActorOptions {
  /**
   * How many weight versions a piece may lag behind the update that uses it (group and text
   * algorithms; ppo refuses > 0). 0: exactly on-policy, weights v collect batch v.
   */
  maxStaleness?: number;
  /** Modules each thread imports first (default: the CLI's --import modules). */
  imports?: string[];
  /** Stops waiting for the threads (the trainer then stops at this iteration, as on any signal). */
  signal?: AbortSignal;
}

const VIA: RemoteVia = { what: "--actor-threads", flag: "--actor-threads", families: ["step", "group", "text"] };

/**
 * Actors in worker threads on one machine, the update in the main thread: the Redis
 * actor–learner protocol without Redis. An iteration is split into `threads` shards as a
 * remote learner splits it (ppo: numEnvs; group algorithms on envs: numStarts; text:
 * numPrompts); thread k always collects shard k with its own envs or prompts and its own
 * seed (run seed + k + 1), built by the same code as a remote actor (buildActorAlgo), and
 * the pieces are checked and merged by the same code as on the remote learner
 * (learnerFamily). The weights go to the threads as typed arrays with their version.
 *
 * When iteration n starts, every thread gets weights n and requests for iterations up to
 * n + maxStaleness (each once). With maxStaleness 0 a thread collects iteration n with
 * weights n, so runs are deterministic. With N > 0 the threads collect the next N
 * iterations with the newest weights they have while the main thread updates; a piece of
 * iteration n collected with weights w is used only when n − N ≤ w ≤ n (PieceBook, the
 * Redis learner's rule), otherwise dropped, counted and asked for again. The threads'
 * envs are not in checkpoints: a resumed run starts new episodes.
 */
export class ThreadActors {
  readonly family: RemoteFamily;
  private readonly book: PieceBook<Piece>;
  private kind: LearnerFamily | null = null;
  private published = -1;
  /** Highest iteration already requested from every thread. */
  private tasksUpTo = -1;
  /** The iteration the learner is at (older pieces are stale). */
  private current = 0;
  private ready = 0;
  private failure: RefineryError | null = null;
  private waiting: { done: () => boolean; resolve: () => void; reject: (e: Error) => void } | null = null;
  private closing = false;
  private aborted = false;
  private staleCount = 0;
  private iter = { waitSeconds: 0, lags: [] as number[] };
  private lastUpdateAt = performance.now();
  private used = 0;
  private readonly workers: Worker[];

  private constructor(
    readonly algo: string,
    readonly config: Record<string, unknown>,
    readonly threads: number,
    readonly maxStaleness: number,
    imports: string[],
  ) {
    // Off-policy algorithms have their own actor threads (offpolicy_actors.ts): chunks of transitions, not whole iterations.
    if (OFF_POLICY_ALGOS.includes(algo)) {
      throw new ConfigError(`--actor-threads trains ppo, grpo, rloo, reinforce, epo and text igrpo through whole iterations, got --algo ${algo}`, "use offPolicyThreadHooks (src/scale/offpolicy_actors.ts) for dqn, sac, td3 and mdpo-off");
    }
    this.family = checkRemoteConfig(algo, config, threads, VIA, maxStaleness);
    if (config.vectorEnv === "async") {
      // The main thread steps no envs, and env threads inside actor threads would only compete for the cores.
      throw new ConfigError("vectorEnv=async has nothing to do with --actor-threads (each actor thread steps its own envs)", "drop --set vectorEnv=async, or drop --actor-threads");
    }
    this.book = new PieceBook(threads, maxStaleness);
    const entry = workerEntry("actor_thread");
    this.workers = Array.from({ length: threads }, (_, k) => {
      const init: ActorThreadInit = { algo, family: this.family, config, shards: threads, seed: (config.seed as number) + k + 1, imports };
      const w = new Worker(entry.entry, { eval: entry.eval, workerData: init, execArgv: [] });
      w.on("message", (m: ThreadToMain) => this.onMessage(k, m));
      w.on("error", (err: Error) => this.fail(k, err.message));
      w.on("exit", (code) => {
        if (!this.closing) this.fail(k, `it exited (code ${code})`);
      });
      return w;
    });
  }

  /** Starts the threads and waits until each has built its algorithm; a ConfigError for a run they cannot collect. */
  static async create(algo: string, config: Record<string, unknown>, threads: number, opts: ThreadActorOptions = {}): Promise<ThreadActors> {
    const actors = new ThreadActors(algo, config, threads, opts.maxStaleness ?? 0, opts.imports ?? userModules());
    opts.signal?.addEventListener("abort", () => actors.stopWaiting(), { once: true });
    try {
      await actors.until(() => actors.ready === threads);
    } catch (err) {
      await actors.close();
      throw err;
    }
    return actors;
  }

  /** Env steps (sampled completion tokens for text, without iGRPO's drafts) of the pieces the updates used so far. */
  get stepsUsed(): number {
    return this.used;
  }

  /** The trainer's beforeIteration: weights n and requests up to n + maxStaleness out, then every shard of n in. */
  async beforeIteration(algo: Algorithm): Promise<void> {
    if (this.failure) throw this.failure;
    const kind = (this.kind ??= learnerFamily(this.family, algo, this.config, this.threads));
    const version = algo.iteration;
    this.current = version;
    const t0 = performance.now();
    if (this.published !== version) {
      const weights = kind.weights();
      for (const w of this.workers) w.postMessage({ kind: "weights", version, weights } satisfies MainToThread);
      this.published = version;
    }
    for (let it = Math.max(version, this.tasksUpTo + 1); it <= version + this.maxStaleness; it++) {
      for (const w of this.workers) w.postMessage({ kind: "collect", iteration: it } satisfies MainToThread);
    }
    this.tasksUpTo = Math.max(this.tasksUpTo, version + this.maxStaleness);
    await this.until(() => this.book.complete(version));
    if (!this.book.complete(version)) return; // aborted: the trainer stops
    const { pieces, lags } = this.book.take(version);
    this.iter = { waitSeconds: (performance.now() - t0) / 1000, lags };
    for (const p of pieces) this.used += kind.steps(p);
    kind.install(pieces);
  }

  /** The trainer's onUpdate: the same staleness numbers as a remote learner's, and how long the update waited. */
  recordMetrics(logger: MetricLogger): void {
    const now = performance.now();
    const wall = (now - this.lastUpdateAt) / 1000;
    this.lastUpdateAt = now;
    logger.record("remote/waitSeconds", this.iter.waitSeconds);
    recordStaleness(logger, this.iter.lags, this.staleCount);
    // Share of the iteration's wall time the main thread did not spend waiting for the threads.
    logger.record("remote/learnerBusy", wall > 0 ? Math.max(0, 1 - this.iter.waitSeconds / wall) : NaN);
    this.staleCount = 0;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onMessage(k: number, m: ThreadToMain): void {
    if (m.kind === "ready") this.ready++;
    else if (m.kind === "error") return this.fail(k, m.message);
    else this.accept(k, m);
    if (this.waiting?.done()) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve();
    }
  }

  private accept(k: number, m: Extract<ThreadToMain, { kind: "piece" }>): void {
    const kind = this.kind;
    if (!kind) return this.fail(k, "it sent a piece before any was asked for");
    let verdict;
    try {
      verdict = this.book.offer(this.current, m.iteration, k, m.weights, () => ({ piece: kind.decode({ header: m.header, arrays: m.arrays }), bytes: 0, weights: m.weights }));
    } catch (err) {
      return this.fail(k, `its piece does not fit the run: ${(err as Error).message}`);
    }
    if (verdict === "stale" || verdict === "requeue") this.staleCount++;
    // Too stale to use: thread k collects that piece again (with the weights it has now, posted before this request).
    if (verdict === "requeue") this.workers[k].postMessage({ kind: "collect", iteration: m.iteration } satisfies MainToThread);
  }

  private fail(k: number, message: string): void {
    if (this.closing) return;
    this.failure ??= new RefineryError(
      "actor_thread_failed",
      `actor thread ${k + 1} of --actor-threads ${this.threads} failed: ${message}`,
      "run without --actor-threads to see the error (with its stack) in the main thread",
    );
    const w = this.waiting;
    this.waiting = null;
    w?.reject(this.failure);
  }

  private stopWaiting(): void {
    this.aborted = true;
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }

  private until(done: () => boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (done() || this.aborted) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting = { done, resolve, reject };
    });
  }
}

