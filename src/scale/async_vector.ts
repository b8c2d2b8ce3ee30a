import { workerEntry } from "./worker_entry.js";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { makeTrainingEnv } from "../algos/env_stack.js";
import { ConfigError, describeValue, EnvError, RefineryError } from "../core/errors.js";
import { Box, Discrete, flatSize, type Space } from "../core/spaces.js";
import type { Env, Info } from "../envs/env.js";
import { make, prepareEnv } from "../envs/registry.js";
import type { EnvState } from "../envs/state.js";
import { checkStateCount, checkVectorActions, vectorResetSeeds, type VecResetArgs, type VecResetInfo, type VecStepResult, type VectorEnv } from "../envs/vector.js";
import type { EpisodeStatistics, RunningMeanStdState } from "../envs/wrappers.js";
import { ACT_KIND, CMD, CTRL, REPLY, type EnvRecipe, type StepReply, type WireError, type WorkerInit, type WorkerRequest } from "./protocol.js";
import { userModules } from "./user_modules.js";

export interface AsyncVectorEnvOptions {
  /** Worker threads; envs are split over them in contiguous slices (default min(2, numEnvs)). */
  workers?: number;
  /** file: URLs of modules to import in each worker before making envs (default: the CLI's `--import` modules). */
  imports?: string[];
  /** How long to wait for a worker to start, in ms (default 60 000). */
  startTimeoutMs?: number;
}

interface WorkerSlot {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  start: number;
  count: number;
  seq: number;
}


function fromWire(e: WireError): Error {
  if (e.code !== undefined && e.problem !== undefined && e.fix !== undefined) {
    const err = e.name === "ConfigError" ? new ConfigError(e.problem, e.fix, e.code) : e.name === "EnvError" ? new EnvError(e.code, e.problem, e.fix) : new RefineryError(e.code, e.problem, e.fix);
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** Local env used for the spaces and the name only. */
function makeLocal(recipe: EnvRecipe): Env<unknown, unknown> {
  return recipe.kind === "make" ? make(recipe.id, recipe.options ?? {}) : makeTrainingEnv(recipe.stack, true);
}

/**
 * `SyncVectorEnv`'s API and semantics (same-step autoreset, `info.finalObs`/`finalInfo`,
 * seeds s + i) with the envs stepped in worker threads: env i lives in the worker whose
 * contiguous slice holds i, and each worker steps its slice one env after the other.
 * Actions, observations, rewards and flags travel through SharedArrayBuffers; `step` posts
 * one Atomics notify per worker and blocks (Atomics.wait) until every worker is done, so
 * it stays synchronous and the results are identical to SyncVectorEnv's for the same
 * seeds. Infos travel as messages only when an env ended or returned a non-empty info.
 *
 * Build it with `await AsyncVectorEnv.create(recipe, numEnvs, { workers })`.
 * Envs are built in each worker from a recipe (`make(id, options)` or the training
 * stack), after importing the user's `--import` modules. Call `close()` when done; the
 * workers are unref'd, so a forgotten close does not keep the process alive.
 */
export class AsyncVectorEnv implements VectorEnv {
  readonly numEnvs: number;
  readonly numWorkers: number;
  readonly singleObservationSpace: Space<unknown>;
  readonly singleActionSpace: Space<unknown>;
  readonly obsSize: number;
  readonly actSize: number;
  private readonly discreteActions: boolean;
  private readonly label: string;
  private readonly slots: WorkerSlot[] = [];
  private readonly actions: Float64Array;
  private readonly obs: Float32Array;
  private readonly finalObs: Float32Array;
  private readonly rewards: Float64Array;
  private readonly flags: Uint8Array;
  private hasReset = false;
  private closed = false;

  private constructor(recipe: EnvRecipe, numEnvs: number, options: AsyncVectorEnvOptions) {
    if (!Number.isSafeInteger(numEnvs) || numEnvs <= 0) {
      throw new ConfigError(`AsyncVectorEnv numEnvs must be a positive integer, got ${describeValue(numEnvs)}`, "pass e.g. 4");
    }
    const workers = options.workers ?? Math.min(2, numEnvs);
    if (!Number.isSafeInteger(workers) || workers <= 0) {
      throw new ConfigError(`AsyncVectorEnv workers must be a positive integer, got ${describeValue(workers)}`, "pass e.g. --set workers=2");
    }
    this.numEnvs = numEnvs;
    this.numWorkers = Math.min(workers, numEnvs);
    const probe = makeLocal(recipe);
    this.singleObservationSpace = probe.observationSpace;
    this.singleActionSpace = probe.actionSpace;
    this.label = `AsyncVectorEnv(${numEnvs} × ${probe.spec?.id ?? probe.unwrapped.constructor.name}, ${this.numWorkers} workers)`;
    probe.close();
    this.obsSize = flatSize(this.singleObservationSpace);
    this.actSize = flatSize(this.singleActionSpace);
    this.discreteActions = this.singleActionSpace instanceof Discrete;
    const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));
    const buffers = {
      actions: sab(numEnvs * this.actSize * 8),
      obs: sab(numEnvs * this.obsSize * 4),
      finalObs: sab(numEnvs * this.obsSize * 4),
      rewards: sab(numEnvs * 8),
      flags: sab(numEnvs * 2),
    };
    this.actions = new Float64Array(buffers.actions, 0, numEnvs * this.actSize);
    this.obs = new Float32Array(buffers.obs, 0, numEnvs * this.obsSize);
    this.finalObs = new Float32Array(buffers.finalObs, 0, numEnvs * this.obsSize);
    this.rewards = new Float64Array(buffers.rewards, 0, numEnvs);
    this.flags = new Uint8Array(buffers.flags, 0, numEnvs * 2);
    this.startWorkers(recipe, buffers, options.imports ?? userModules());
  }

  /**
   * Start the workers and wait until each has made its envs. Asynchronous because a worker
   * thread needs the main thread's event loop to start (module loading).
   */
  static async create(recipe: EnvRecipe, numEnvs: number, options: AsyncVectorEnvOptions = {}): Promise<AsyncVectorEnv> {
    await prepareEnv(recipe.kind === "make" ? recipe.id : recipe.stack.env); // the local env for the spaces
    const vec = new AsyncVectorEnv(recipe, numEnvs, options);
    try {
      await Promise.all(vec.slots.map((slot) => vec.waitReady(slot, options.startTimeoutMs ?? 60_000)));
    } catch (e) {
      vec.closed = true;
      vec.terminateAll();
      throw e;
    }
    return vec;
  }

  private startWorkers(recipe: EnvRecipe, buffers: Record<"actions" | "obs" | "finalObs" | "rewards" | "flags", SharedArrayBuffer>, imports: string[]): void {
    const { entry, eval: isEval } = workerEntry("env_worker");
    const base = Math.floor(this.numEnvs / this.numWorkers), extra = this.numEnvs % this.numWorkers;
    let start = 0;
    for (let w = 0; w < this.numWorkers; w++) {
      const count = base + (w < extra ? 1 : 0);
      const ctrlBuf = new SharedArrayBuffer(CTRL.length * 4);
      const ctrl = new Int32Array(ctrlBuf);
      ctrl[CTRL.doneSeq] = -1;
      const channel = new MessageChannel();
      const init: WorkerInit & { port: MessagePort } = {
        recipe, start, count, numEnvs: this.numEnvs, obsSize: this.obsSize, actSize: this.actSize,
        discrete: this.discreteActions, box: this.singleActionSpace instanceof Box, imports,
        ctrl: ctrlBuf, ...buffers, name: this.label, port: channel.port2,
      };
      const worker = new Worker(entry, { workerData: init, transferList: [channel.port2], eval: isEval, execArgv: [] });
      worker.unref();
      // Errors are read from the shared control block; keep the event from crashing the process.
      worker.on("error", () => undefined);
      this.slots.push({ worker, port: channel.port1, ctrl, start, count, seq: 0 });
      start += count;
    }
  }

  private async waitReady(slot: WorkerSlot, timeoutMs: number): Promise<void> {
    let exitCode: number | null = null;
    let failure = "";
    slot.worker.once("exit", (code: number) => (exitCode = code));
    slot.worker.once("error", (e: Error) => (failure = `: ${e.message.split("\n")[0]}`));
    const t0 = Date.now();
    while (Atomics.load(slot.ctrl, CTRL.doneSeq) === -1) {
      if (exitCode !== null) {
        throw new RefineryError("worker_start", `${this.label}: a worker exited (code ${exitCode}) before its envs were made${failure}`, "check that the env can be made in a fresh thread (its module imported with --import), or use vectorEnv=sync");
      }
      if (Date.now() - t0 > timeoutMs) {
        throw new RefineryError("worker_start", `${this.label}: a worker did not start within ${timeoutMs} ms`, "check that the env can be made in a fresh thread (its module imported with --import), or use vectorEnv=sync");
      }
      await new Promise((res) => setTimeout(res, 2));
    }
    if (Atomics.load(slot.ctrl, CTRL.reply) === REPLY.error) throw this.readError(slot);
  }

  private readError(slot: WorkerSlot): Error {
    const msg = receiveMessageOnPort(slot.port);
    return msg ? fromWire(msg.message as WireError) : new Error(`${this.label}: a worker failed without a message`);
  }

  toString(): string {
    return this.label;
  }

  /** Send a command to every worker (a message first when `req` is given). */
  private send(cmd: number, req?: WorkerRequest): void {
    for (const slot of this.slots) {
      if (req) slot.port.postMessage(req);
      Atomics.store(slot.ctrl, CTRL.cmd, cmd);
      slot.seq += 1;
      Atomics.store(slot.ctrl, CTRL.cmdSeq, slot.seq);
      Atomics.notify(slot.ctrl, CTRL.cmdSeq);
    }
  }

  /** Wait for every worker; returns each worker's reply message (undefined if none). Throws the first error. */
  private collect(): unknown[] {
    const replies: unknown[] = [];
    let error: Error | null = null;
    for (const slot of this.slots) {
      for (;;) {
        const done = Atomics.load(slot.ctrl, CTRL.doneSeq);
        if (done === slot.seq) break;
        if (Atomics.load(slot.ctrl, CTRL.dead) === 1) {
          this.closed = true;
          this.terminateAll();
          throw new RefineryError(
            "worker_exited",
            `${this.label}: the worker of envs ${slot.start}–${slot.start + slot.count - 1} ended while stepping them (did the env call process.exit?)`,
            "fix the env, or run it with vectorEnv=sync to see its error in this thread",
          );
        }
        Atomics.wait(slot.ctrl, CTRL.doneSeq, done, 1000);
      }
      const reply = Atomics.load(slot.ctrl, CTRL.reply);
      if (reply === REPLY.error) error ??= this.readError(slot);
      else replies.push(reply === REPLY.ok ? receiveMessageOnPort(slot.port)?.message : undefined);
    }
    if (error) throw error;
    return replies;
  }

  private request(req: WorkerRequest): unknown[] {
    this.requireOpen();
    this.send(CMD.message, req);
    return this.collect();
  }

  reset(args: VecResetArgs = {}): [Float32Array, VecResetInfo] {
    this.requireOpen();
    const seeds = this.seedsFor(args.seed);
    const replies = this.request({ type: "reset", seeds, options: args.options }) as Info[][];
    this.hasReset = true;
    return [this.obs.slice(), { envInfos: replies.flat() }];
  }

  private seedsFor(seed: VecResetArgs["seed"]): (number | undefined)[] {
    return vectorResetSeeds(String(this), seed, this.numEnvs);
  }


  step(actions: ArrayLike<number>): VecStepResult {
    this.requireOpen();
    if (!this.hasReset) {
      throw new EnvError("reset_needed", `${this}: step() was called before reset()`, "call vec.reset({ seed }) first");
    }
    this.checkActions(actions);
    this.actions.set(actions);
    const kind = actions instanceof Float32Array ? ACT_KIND.f32 : actions instanceof Float64Array ? ACT_KIND.f64 : actions instanceof Int32Array ? ACT_KIND.i32 : ACT_KIND.other;
    for (const slot of this.slots) Atomics.store(slot.ctrl, CTRL.actKind, kind);
    this.send(CMD.step);
    const replies = this.collect() as (StepReply | undefined)[];
    return this.assemble(replies);
  }

  private assemble(replies: (StepReply | undefined)[]): VecStepResult {
    const n = this.numEnvs, k = this.obsSize;
    const terminated = this.flags.slice(0, n);
    const truncated = this.flags.slice(n, 2 * n);
    const envInfos: Info[] = new Array(n);
    const finalObs: (Float32Array | null)[] = new Array(n).fill(null);
    const finalInfo: (Info | null)[] = new Array(n).fill(null);
    const episode: (EpisodeStatistics | null)[] = new Array(n).fill(null);
    this.slots.forEach((slot, w) => {
      const reply = replies[w];
      for (let j = 0; j < slot.count; j++) {
        const i = slot.start + j;
        envInfos[i] = reply ? reply.infos[j] : {};
        if (terminated[i] || truncated[i]) {
          finalObs[i] = this.finalObs.slice(i * k, (i + 1) * k);
          const info = reply?.finalInfos[j] ?? {};
          finalInfo[i] = info;
          episode[i] = (info.episode as EpisodeStatistics | undefined) ?? null;
        }
      }
    });
    return [this.obs.slice(), this.rewards.slice(), terminated, truncated, { envInfos, finalObs, finalInfo, episode }];
  }

  private checkActions(actions: ArrayLike<number>): void {
    checkVectorActions(String(this), actions, this.numEnvs, this.actSize, this.singleActionSpace, this.discreteActions);
  }


  getEnvStates(): EnvState[] {
    return (this.request({ type: "getStates" }) as EnvState[][]).flat();
  }

  setEnvStates(states: EnvState[]): void {
    this.requireOpen();
    checkStateCount(String(this), states, this.numEnvs);
    this.request({ type: "setStates", states });
    this.markReset();
  }

  /** Statistics of env 0's NormalizeObservation layer (training envs), or null. */
  obsNormStatistics(): RunningMeanStdState | null {
    return (this.request({ type: "obsNorm" })[0] as RunningMeanStdState | null | undefined) ?? null;
  }

  markReset(): void {
    this.requireOpen();
    this.hasReset = true;
  }

  private requireOpen(): void {
    if (this.closed) throw new EnvError("env_closed", `${this}: used after close()`, "create a new vector env");
  }

  /** Close the envs and end the worker threads. Calling it twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.send(CMD.close);
    for (const slot of this.slots) {
      // Wait briefly so the envs' close() runs; terminate() ends the thread in any case.
      const t0 = Date.now();
      while (Atomics.load(slot.ctrl, CTRL.doneSeq) !== slot.seq && Date.now() - t0 < 2000) Atomics.wait(slot.ctrl, CTRL.doneSeq, Atomics.load(slot.ctrl, CTRL.doneSeq), 50);
    }
    this.terminateAll();
  }

  private terminateAll(): void {
    for (const slot of this.slots) {
      slot.port.close();
      void slot.worker.terminate();
    }
  }

  /** Promises that resolve when every worker thread has exited (for tests and clean shutdown). */
  exited(): Promise<void[]> {
    return Promise.all(this.slots.map((s) => (s.worker.threadId === -1 ? Promise.resolve() : new Promise<void>((res) => s.worker.once("exit", () => res())))));
  }
}
