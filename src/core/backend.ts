import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "./errors.js";
import { loadNodeBuiltin } from "./platform.js";

/**
 * Tensor backend set-up: the one place that decides which tfjs backend runs and makes
 * sure gradients exist before anything trains.
 *
 * - Gradients: tfjs-core's Node build registers no gradient functions (`variableGrads`
 *   throws "gradient function not found"); its `register_all_gradients` module is ESM with
 *   extension-less imports that plain Node cannot load. The build bundles that module into
 *   vendor/tfjs-gradients.js (scripts/vendor-tfjs.mjs), which registers them on the
 *   shared tfjs-core engine; we import it once, lazily, here.
 * - Backends load lazily too: importing refinery loads no backend; `initBackend("cpu")`
 *   loads tfjs-backend-cpu and `initBackend("wasm")` tfjs-backend-wasm.
 * - wasm in Node: the `.wasm` binaries ship inside `@tensorflow/tfjs-backend-wasm`; we
 *   point the backend at that folder on disk so nothing is fetched over the network.
 * - wasm in a browser: the page must serve those `.wasm` files and pass their URL prefix
 *   as `initBackend("wasm", { wasmPaths })`; the "cpu" backend needs nothing.
 */

export type BackendName = "cpu" | "wasm";
export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "wasm"];

export interface InitBackendOptions {
  /**
   * Folder or URL (a trailing "/" is added) holding the tfjs-backend-wasm `.wasm` files.
   * Defaults to the installed package's `dist/` folder in Node; browsers must pass it
   * unless their bundler serves the files next to the script.
   */
  wasmPaths?: string;
}

let gradientsReady: Promise<void> | null = null;
let wasmPathsConfigured = false;
// Serialises initBackend calls so concurrent callers never interleave setBackend.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Selects and initialises the tfjs backend; idempotent and safe to call from many places.
 * Returns the active backend's name.
 */
export function initBackend(name: BackendName = "wasm", options: InitBackendOptions = {}): Promise<BackendName> {
  if (!BACKEND_NAMES.includes(name)) {
    return Promise.reject(
      new ConfigError(
        `unknown tensor backend ${describeValue(name)}`,
        `use one of: ${BACKEND_NAMES.join(", ")}`,
        "unknown_backend",
      ),
    );
  }
  const run = queue.then(() => activate(name, options));
  queue = run.catch(() => undefined);
  return run;
}

/**
 * Name of the active backend; throws if `initBackend` has not completed. Networks call
 * it before creating variables so a missing initBackend is reported in refinery's words.
 */
export function backendName(): BackendName {
  // `tf.getBackend()` would silently initialise the highest-priority backend; read the
  // engine's field instead so an uninitialised state is reported, not papered over.
  const current = tf.engine().backendName as string | null;
  if (gradientsReady === null || current === null || !BACKEND_NAMES.includes(current as BackendName)) {
    throw new RefineryError(
      "backend_not_initialised",
      `no refinery tensor backend is active (tfjs reports ${describeValue(current)})`,
      'call `await initBackend("wasm")` (or "cpu") before creating networks',
    );
  }
  return current as BackendName;
}

async function activate(name: BackendName, options: InitBackendOptions): Promise<BackendName> {
  await registerGradients();
  if (tf.engine().backendName === name) return name;
  if (name === "wasm") await configureWasmPaths(options.wasmPaths);
  else await import("#tfjs-backend-cpu");
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new RefineryError(
      "backend_init_failed",
      `the tfjs "${name}" backend failed to initialise`,
      name === "wasm"
        ? "check that @tensorflow/tfjs-backend-wasm is installed with its dist/*.wasm files, or use --backend cpu"
        : "reinstall @tensorflow/tfjs-backend-cpu",
    );
  }
  await tf.ready();
  return name;
}

function registerGradients(): Promise<void> {
  gradientsReady ??= (async () => {
    // Production mode only silences tfjs's console advice (e.g. "install tfjs-node").
    tf.enableProdMode();
    await import("../../vendor/tfjs-gradients.js");
  })();
  return gradientsReady;
}

async function configureWasmPaths(explicit: string | undefined): Promise<void> {
  if (wasmPathsConfigured) return;
  const { setWasmPaths } = await import("#tfjs-backend-wasm");
  // A folder given without its trailing "/" would be used as a file-name prefix by tfjs.
  const folder = explicit !== undefined && !explicit.endsWith("/") && !explicit.endsWith(".wasm") ? `${explicit}/` : explicit;
  const prefix = folder ?? (await nodeWasmFolder());
  if (prefix !== null) setWasmPaths(prefix);
  wasmPathsConfigured = true;
}

/** `…/node_modules/@tensorflow/tfjs-backend-wasm/dist/` in Node, null elsewhere (then tfjs looks next to the script). */
async function nodeWasmFolder(): Promise<string | null> {
  const nodeModule = await loadNodeBuiltin<typeof import("node:module")>("module");
  const path = await loadNodeBuiltin<typeof import("node:path")>("path");
  if (!nodeModule || !path) return null;
  const require = nodeModule.createRequire(import.meta.url);
  const entry = require.resolve("@tensorflow/tfjs-backend-wasm");
  return path.dirname(entry) + path.sep;
}

/** What a run computes on once its `backend: "auto"` is resolved. */
export type RunBackend = BackendName | "kernels";

/**
 * A run's `backend` as it computes: `auto` is `kernels` where refinery's WebAssembly SIMD
 * kernels run (and `kernelsFit`, the model having kernel gradients), else `wasm`; an
 * explicit choice stays. A config from before the key existed (no `backend`) ran on wasm,
 * and still does.
 */
export function resolveRunBackend(requested: RunBackend | "auto" | undefined, kernelsAvailable: boolean, kernelsFit = true): RunBackend {
  if (requested === "auto") return kernelsAvailable && kernelsFit ? "kernels" : "wasm";
  return requested ?? "wasm";
}

/**
 * Refuses to continue a checkpoint on another backend than it was written on when the run
 * asked for `auto`: an explicit backend may continue any checkpoint (equal to float
 * rounding), but `auto` must not quietly switch (e.g. a run moved to a host without SIMD).
 */
export function checkCheckpointBackend(requested: string | undefined, resolved: RunBackend, written: unknown): void {
  if (requested !== "auto" || typeof written !== "string" || written === resolved) return;
  throw new ConfigError(
    `this checkpoint was written on the ${written} backend, but backend auto resolved to ${resolved} here`,
    `set backend to ${written} to continue it exactly (or to ${resolved} to continue on it, equal only to float rounding)`,
    "checkpoint_mismatch",
  );
}
