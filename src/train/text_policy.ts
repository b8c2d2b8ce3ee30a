import { ConfigError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { CharTokenizer, DEFAULT_CHARS } from "../envs/text/tokenizer.js";
import { makeTask } from "../envs/text/registry.js";
import { initBackend, resolveRunBackend, type BackendName } from "../core/backend.js";
import { simdKernelsAvailable } from "../nn/kernels/simd.js";
import { textPolicy, type LoadedTextPolicy, type TextPolicyInfo } from "../policies/text_generator.js";
import { fileExists, joinLocation } from "../core/platform.js";
import { loadWeights } from "../nn/weights_load.js";
import { TokenPolicy, type ModelOptions, type TokenPolicySpec } from "../policies/token_policy.js";

/** A fresh text policy over a character set (default: the built-in tasks' characters). */
export function newTextPolicy(model: ModelOptions, rng: Rng, chars: string | null = null): TokenPolicy {
  return TokenPolicy.create(model, new CharTokenizer(chars ?? DEFAULT_CHARS), rng);
}

/** Where the saved policy of a run directory (or a policy directory) is. */
export function findPolicyDir(dir: string, which: "policy" | "best" = "policy"): string {
  const candidates = [joinLocation(dir, which), dir];
  // fileExists is null where files cannot be checked (a URL): then take the first candidate and let loading report it.
  const found = candidates.find((d) => fileExists(joinLocation(d, "model.json")) !== false);
  if (!found) {
    throw new ConfigError(
      `no saved policy in ${dir} (looked for ${candidates.map((c) => joinLocation(c, "model.json")).join(", ")})`,
      "pass a run directory whose training finished (e.g. one made by `refinery sft`), or a policy directory",
      "policy_not_found",
    );
  }
  return found;
}

/**
 * The saved text policy of a run directory (its `policy/`, or `best/`), with its spec.
 * `wrongKindFix` is the advice when the directory holds a policy of another kind.
 */
export async function loadTokenPolicyWithSpec(
  dir: string,
  which: "policy" | "best" = "policy",
  wrongKindFix = "start a text run from a run made on a text task (refinery sft --task ...)",
): Promise<{ policy: TokenPolicy; spec: TokenPolicySpec & Record<string, unknown> }> {
  const found = findPolicyDir(dir, which);
  const { arrays, extra } = await loadWeights(found);
  const spec = extra as unknown as TokenPolicySpec & Record<string, unknown>;
  if (spec.kind !== "token-lm") {
    const what = spec.kind === "actor-critic" ? `an actor-critic policy (env ${String(spec.env)})` : `a "${String(spec.kind)}" policy`;
    throw new ConfigError(`${found} holds ${what}, not a text policy`, wrongKindFix, "unsupported_policy");
  }
  const policy = TokenPolicy.fromSpec(spec, new Rng(0));
  const weights: Record<string, Float32Array> = {};
  for (const a of arrays) weights[a.name] = a.data as Float32Array;
  policy.setWeights(weights);
  return { policy, spec };
}

/** The saved TokenPolicy of a run (the trainer's `--init`, evaluation and benchmarks use it). */
export async function loadTokenPolicy(dir: string, which: "policy" | "best" = "policy"): Promise<TokenPolicy> {
  return (await loadTokenPolicyWithSpec(dir, which)).policy;
}

export interface LoadTextPolicyOptions {
  /** "policy" (default): the final policy; "best": the best one by periodic evaluation. */
  which?: "policy" | "best";
  /**
   * What computes the transformer: "kernels" (refinery's WebAssembly SIMD kernels), tfjs's
   * "wasm" or "cpu" backend under the JS path (default "wasm"), or "auto" (kernels where
   * WebAssembly SIMD runs, else wasm).
   */
  backend?: BackendName | "kernels" | "auto";
  /** Seed of the stream that sampling calls without their own `seed` draw from (default 0). */
  seed?: number;
}

/**
 * Loads the policy of a text run — a run directory (made by `refinery sft` or `refinery
 * train --task`) or its `policy/` (or `best/`) directory — ready to `generate` completions.
 */
export async function loadTextPolicy(dir: string, options: LoadTextPolicyOptions = {}): Promise<LoadedTextPolicy> {
  const backend = resolveRunBackend(options.backend ?? "wasm", simdKernelsAvailable());
  await initBackend(backend === "kernels" ? "cpu" : backend);
  const { policy, spec } = await loadTokenPolicyWithSpec(dir, options.which ?? "policy", "load it with loadPolicy(dir), which acts on envs; loadTextPolicy loads runs made on a text task");
  if (backend === "kernels") policy.model.setBackend("kernels");
  const info: TextPolicyInfo = {
    task: typeof spec.task === "string" ? spec.task : undefined,
    taskOptions: isRecord(spec.taskOptions) ? spec.taskOptions : undefined,
    temperature: typeof spec.temperature === "number" ? spec.temperature : undefined,
    maxCompletionLength: typeof spec.maxCompletionLength === "number" ? spec.maxCompletionLength : undefined,
  };
  // A run that kept its task's default completion length saves null: ask the task.
  if (info.maxCompletionLength === undefined && info.task !== undefined) info.maxCompletionLength = taskCompletionLength(info.task, info.taskOptions ?? {});
  return textPolicy(policy, info, options.seed ?? 0);
}

/** The task's default completion length, or undefined when the task is not registered here (e.g. a task of your own not imported). */
function taskCompletionLength(name: string, options: Record<string, unknown>): number | undefined {
  try {
    return makeTask(name, options).maxCompletionLength;
  } catch {
    return undefined;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
