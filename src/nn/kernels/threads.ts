import { nodeBuiltin } from "../../core/platform.js";

/**
 * The second core for the kernels: one helper thread (a Node worker thread, or a Web
 * Worker in a cross-origin-isolated page) that instantiates the same kernel modules on the
 * same shared WebAssembly memory and runs one half of each large product while the calling
 * thread runs the other. Calls are synchronised through a control block of 32 words in
 * that memory — the caller writes the task and bumps a sequence word, the helper spins
 * briefly on it and then sleeps in Atomics.wait — so a split costs a few microseconds and
 * no message passing. Each half computes whole output rows (or columns) with the kernels'
 * own summation order, so a split result is bit-identical to the one-thread result. A
 * half the helper has not picked up by the time the caller finishes its own is taken back
 * by the caller (see `split`), so a busy host costs little more than one thread.
 *
 * Until the helper has started (tens of milliseconds after the arena is made), and
 * wherever threads are unavailable, every call runs on the calling thread.
 */

/** Words of the control block (Int32 indices from its start). */
const TASK = 0; // s > 0: task s posted and unclaimed; 0: none. Claimed by whoever swaps s → 0 first.
const DONE = 1; // set to s by the helper when it has finished task s
const STATE = 2; // 0 starting, 1 ready, 2 stopped
const OP = 3;
const ERROR = 4; // 1 when the last task threw in the helper
const ARGS = 8; // up to 16 i32 arguments; f32 arguments are read through a Float32Array at the same words
export const CONTROL_WORDS = 32;

/** Tasks the helper runs (the OP word). */
export const HelperOp = { Exit: 0, Gemm: 1, GemmTn: 2, Attention: 3, AttentionBack: 4, Gelu: 5, GeluBack: 6 } as const;
export type HelperOp = (typeof HelperOp)[keyof typeof HelperOp];

/**
 * The helper's code, self-contained so it runs from a string (`eval` in Node, a Blob URL
 * in a browser) without a second file to ship or resolve.
 */
const HELPER_SOURCE = `
"use strict";
function serve(data) {
  const memory = data.memory;
  const g = new WebAssembly.Instance(data.gemm, { env: { memory } }).exports;
  const t = new WebAssembly.Instance(data.transformer, { env: { memory } }).exports;
  const w = new Int32Array(memory.buffer, data.control, ${CONTROL_WORDS});
  const f = new Float32Array(memory.buffer, data.control, ${CONTROL_WORDS});
  const A = ${ARGS};
  Atomics.store(w, ${STATE}, 1);
  Atomics.notify(w, ${STATE});
  for (;;) {
    let spins = 0;
    let task = Atomics.load(w, ${TASK});
    while (task === 0) {
      if (++spins > data.spins) { Atomics.wait(w, ${TASK}, 0); spins = 0; }
      task = Atomics.load(w, ${TASK});
    }
    if (Atomics.compareExchange(w, ${TASK}, task, 0) !== task) continue; // the caller took it back
    const op = w[${OP}];
    if (op === ${HelperOp.Exit}) break;
    try {
      if (op === ${HelperOp.Gemm}) g.gemm_s(w[A], w[A + 1], w[A + 2], w[A + 3], w[A + 4], w[A + 5], w[A + 6], w[A + 7], w[A + 8], w[A + 9], w[A + 10], w[A + 11]);
      else if (op === ${HelperOp.GemmTn}) g.gemm_tn_s(w[A], w[A + 1], w[A + 2], w[A + 3], w[A + 4], w[A + 5], w[A + 6], w[A + 7], w[A + 8], w[A + 9], w[A + 10], w[A + 11]);
      else if (op === ${HelperOp.Attention}) t.attention(w[A], w[A + 1], w[A + 2], w[A + 3], w[A + 4], w[A + 5], w[A + 6], w[A + 7], w[A + 8], f[A + 9]);
      else if (op === ${HelperOp.AttentionBack}) t.attention_back(w[A], w[A + 1], w[A + 2], w[A + 3], w[A + 4], w[A + 5], w[A + 6], w[A + 7], w[A + 8], w[A + 9], f[A + 10]);
      else if (op === ${HelperOp.Gelu}) t.gelu(w[A], w[A + 1], w[A + 2], w[A + 3]);
      else if (op === ${HelperOp.GeluBack}) t.gelu_back(w[A], w[A + 1], w[A + 2], w[A + 3]);
      w[${ERROR}] = 0;
    } catch (err) {
      w[${ERROR}] = 1;
    }
    Atomics.store(w, ${DONE}, task);
    Atomics.notify(w, ${DONE});
  }
  Atomics.store(w, ${STATE}, 2);
}
// Node (≥ 20.16, as nodeBuiltin needs to have started it): the data came as workerData.
if (typeof process === "object" && typeof process.getBuiltinModule === "function") serve(process.getBuiltinModule("worker_threads").workerData);
else self.onmessage = (e) => serve(e.data);
`;

/** How many times a waiting thread polls before it sleeps (~20–50 µs of spinning). */
const SPINS = 20000;

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  on(event: "error", listener: (err: unknown) => void): void;
}
interface NodeWorkerThreads {
  Worker: new (code: string, options: { eval: true; workerData: unknown; execArgv: string[] }) => NodeWorker;
}
interface WebWorker {
  postMessage(data: unknown): void;
  terminate(): void;
}

/** Whether a shared WebAssembly memory can be made here (not in pages without cross-origin isolation). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== "function") return false;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** Whether a helper thread can be started here (Node's worker_threads, or Web Workers with shared memory). */
export function kernelThreadsAvailable(): boolean {
  if (!sharedMemoryAvailable()) return false;
  if (nodeBuiltin<NodeWorkerThreads>("worker_threads") !== null) return true;
  return typeof (globalThis as { Worker?: unknown }).Worker === "function" && typeof Blob === "function" && typeof URL.createObjectURL === "function";
}

/** Cores this host reports (1 when it does not say). */
export function hostCores(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>("os");
  if (os !== null) return os.availableParallelism?.() ?? os.cpus().length;
  const hc = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof hc === "number" && hc > 0 ? hc : 1;
}

/** 2 where a helper thread can run and the host has at least two cores, else 1. */
export function defaultKernelThreads(): 1 | 2 {
  return hostCores() >= 2 && kernelThreadsAvailable() ? 2 : 1;
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
let mayBlock: boolean | undefined;
function canBlock(word: Int32Array): boolean {
  if (mayBlock === undefined) {
    try {
      Atomics.wait(word, 0, Atomics.load(word, 0) + 1, 0);
      mayBlock = true;
    } catch {
      mayBlock = false;
    }
  }
  return mayBlock;
}

export interface HelperModules {
  gemm: WebAssembly.Module;
  transformer: WebAssembly.Module;
}

/** One helper thread on a shared memory; see the file comment. */
export class KernelHelper {
  private readonly w: Int32Array;
  private readonly f: Float32Array;
  /** Whether `split` may take back an unclaimed half (tests set false so the helper runs every half). */
  takeBack = true;
  private seq = 0;
  private helped = 0;
  private stolen = 0;
  private closed = false;

  private constructor(
    memory: WebAssembly.Memory,
    control: number,
    private readonly stop: () => void,
  ) {
    this.w = new Int32Array(memory.buffer, control, CONTROL_WORDS);
    this.f = new Float32Array(memory.buffer, control, CONTROL_WORDS);
  }

  /**
   * Starts the helper on `memory` (shared) with its control block at byte offset
   * `control` (CONTROL_WORDS zeroed words); null when threads are unavailable here.
   */
  static start(memory: WebAssembly.Memory, control: number, modules: HelperModules): KernelHelper | null {
    if (!(memory.buffer instanceof SharedArrayBuffer)) return null;
    new Int32Array(memory.buffer, control, CONTROL_WORDS).fill(0);
    const data = { memory, control, gemm: modules.gemm, transformer: modules.transformer, spins: SPINS };
    const wt = nodeBuiltin<NodeWorkerThreads>("worker_threads");
    try {
      if (wt !== null) {
        // execArgv []: the helper needs no loaders (e.g. tsx) and starts faster without them.
        const worker = new wt.Worker(HELPER_SOURCE, { eval: true, workerData: data, execArgv: [] });
        worker.unref(); // never keeps the process alive
        const helper = new KernelHelper(memory, control, () => void worker.terminate());
        worker.on("error", () => helper.fail());
        return helper;
      }
      const WorkerCtor = (globalThis as { Worker?: new (url: string) => WebWorker }).Worker;
      if (WorkerCtor === undefined) return null;
      const url = URL.createObjectURL(new Blob([HELPER_SOURCE], { type: "text/javascript" }));
      const worker = new WorkerCtor(url);
      URL.revokeObjectURL(url);
      worker.postMessage(data);
      return new KernelHelper(memory, control, () => worker.terminate());
    } catch {
      return null;
    }
  }

  /** Whether the helper has started and takes tasks. */
  get ready(): boolean {
    return !this.closed && Atomics.load(this.w, STATE) === 1;
  }

  /** Blocks until the helper has started (or `timeoutMs` passed, or this thread may not block); whether it is ready. */
  waitUntilReady(timeoutMs = 10000): boolean {
    const end = performance.now() + timeoutMs;
    while (!this.closed && Atomics.load(this.w, STATE) === 0 && canBlock(this.w)) {
      const left = end - performance.now();
      if (left <= 0) break;
      Atomics.wait(this.w, STATE, 0, left);
    }
    return this.ready;
  }

  /**
   * Runs two independent halves of one task: `theirs` (described by op and arguments for
   * the helper) and `mine` on this thread. The helper takes its half if it picks it up
   * while `mine` runs; if it has not by then (it may be descheduled on a busy host), this
   * thread takes it back and runs `theirs` itself — so a split never waits on a helper that
   * has not started, and costs at worst the one-thread time plus a few atomics.
   */
  split(op: HelperOp, ints: readonly number[], floats: readonly number[], mine: () => void, theirs: () => void): void {
    const w = this.w;
    for (let i = 0; i < ints.length; i++) w[ARGS + i] = ints[i];
    for (let i = 0; i < floats.length; i++) this.f[ARGS + ints.length + i] = floats[i];
    w[OP] = op;
    const task = this.post();
    mine();
    if (this.takeBack && Atomics.compareExchange(w, TASK, task, 0) === task) {
      this.stolen++;
      theirs();
      return;
    }
    this.join(task);
  }

  /** Halves the helper ran, and halves this thread took back (for benchmarks). */
  get counts(): { helped: number; stolen: number } {
    return { helped: this.helped, stolen: this.stolen };
  }

  private post(): number {
    this.seq = this.seq >= 0x3fffffff ? 1 : this.seq + 1;
    Atomics.store(this.w, TASK, this.seq);
    Atomics.notify(this.w, TASK);
    return this.seq;
  }

  /** Waits for task `task`, which the helper has claimed: spins first (it usually ends within microseconds of ours), then sleeps. */
  private join(task: number): void {
    const w = this.w;
    let spins = 0;
    let sleeps = 0;
    const block = canBlock(w);
    for (let done = Atomics.load(w, DONE); done !== task; done = Atomics.load(w, DONE)) {
      if (++spins > SPINS && block) {
        // Half of one product never takes a minute: a helper that silent has died.
        if (Atomics.wait(w, DONE, done, 1000) === "timed-out" && ++sleeps > 60) throw new Error("internal: the kernel helper thread stopped answering");
        spins = 0;
      }
    }
    this.helped++;
    if (w[ERROR] !== 0) throw new Error("internal: a kernel failed in the helper thread");
  }

  /** Stops the helper thread (idempotent); later calls run on the calling thread. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.w[OP] = HelperOp.Exit;
    this.post();
    this.stop();
  }

  private fail(): void {
    Atomics.store(this.w, STATE, 2);
    Atomics.notify(this.w, DONE);
  }
}
