import { totalmem } from "node:os";
import { ConfigError } from "../core/errors.js";
import { flatSize } from "../core/spaces.js";
import { make, registry } from "../envs/registry.js";
import { ReplayBuffer } from "../replay/buffer.js";

/**
 * Budgets checked before anything is allocated: a config whose buffers and networks
 * cannot fit in memory, or whose minibatches would be empty, is refused with the estimate
 * instead of growing until the process dies.
 */

/** The largest share of the machine's memory one run may plan to use. */
export const MEMORY_SHARE = 0.5;

/** Bytes held per network parameter: the weights, the gradient and Adam's two moments (float32). */
const BYTES_PER_PARAM = 16;
/** Per stored rollout step besides the observation and action: reward, done flags, value, log-prob, advantage, return, … (float64 at worst). */
const BYTES_PER_STEP_EXTRA = 12 * 8;
/** A single env copy with its wrappers (objects, small buffers): a generous round number. */
const BYTES_PER_ENV = 4096;

export interface MemoryEstimate {
  bytes: number;
  /** The parts, largest first, for the message: [what, bytes]. */
  parts: [string, number][];
}

/** Memory limit in bytes: MEMORY_SHARE of this machine's RAM, or REFINERY_MEMORY_LIMIT_MB when set. */
export function memoryLimit(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.REFINERY_MEMORY_LIMIT_MB);
  return Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : MEMORY_SHARE * totalmem();
}

/**
 * Refuses a config that cannot run: minibatches larger in number than the batch has items,
 * or a memory estimate above the limit. Throws a ConfigError naming the estimate.
 */
export function checkBudget(algo: string, config: Record<string, unknown>, limit = memoryLimit()): void {
  checkMinibatches(algo, config);
  const estimate = estimateMemory(algo, config);
  if (estimate.bytes > limit) {
    const parts = estimate.parts.slice(0, 3).map(([what, b]) => `${what} ${formatBytes(b)}`).join(", ");
    throw new ConfigError(
      `this ${algo} config needs about ${formatBytes(estimate.bytes)} of memory (${parts}), more than the ${formatBytes(limit)} allowed (half of this machine's ${formatBytes(totalmem())})`,
      "lower the sizes named above (numEnvs, numSteps, hidden, numStarts, groupSize, numPrompts, batchSize, model.*), or raise the limit with REFINERY_MEMORY_LIMIT_MB",
      "over_budget",
    );
  }
}

function checkMinibatches(algo: string, c: Record<string, unknown>): void {
  const minibatches = num(c.numMinibatches);
  if (!minibatches) return;
  const text = typeof c.task === "string";
  let batch: number;
  let unit: string;
  let keys: string;
  if (typeof c.numEnvs === "number") {
    batch = c.numEnvs * num(c.numSteps);
    unit = "steps";
    keys = `numEnvs × numSteps = ${num(c.numEnvs)} × ${num(c.numSteps)}`;
  } else if (text) {
    batch = num(c.numPrompts) * num(c.groupSize, 1);
    unit = "completions";
    keys = `numPrompts × groupSize = ${num(c.numPrompts)} × ${num(c.groupSize, 1)}`;
  } else {
    batch = num(c.numStarts) * num(c.groupSize, 1);
    unit = "episodes";
    keys = `numStarts × groupSize = ${num(c.numStarts)} × ${num(c.groupSize, 1)}`;
  }
  if (batch > 0 && minibatches > batch) {
    throw new ConfigError(
      `numMinibatches = ${minibatches} is larger than the batch of ${batch} ${unit} (${keys}), so some minibatches would be empty and the rest hold one item each`,
      `set numMinibatches to at most ${batch} (e.g. ${Math.max(1, Math.min(batch, 4))}), or collect a larger batch`,
      "minibatches_too_many",
    );
  }
}

/** An upper-bound-ish estimate of the memory a run of `algo` with `config` allocates. */
export function estimateMemory(algo: string, c: Record<string, unknown>): MemoryEstimate {
  const parts: [string, number][] = typeof c.task === "string" ? textParts(algo, c) : envParts(c);
  parts.sort((a, b) => b[1] - a[1]);
  return { bytes: parts.reduce((s, [, b]) => s + b, 0), parts };
}

function envParts(c: Record<string, unknown>): [string, number][] {
  const { obs, act, maxSteps } = envShape(String(c.env));
  const hidden = Array.isArray(c.hidden) ? (c.hidden as unknown[]).map((h) => num(h)) : [64, 64];
  // Actor and critic: two MLPs obs → hidden… → act (or → 1).
  const params = mlpParams(obs, hidden, act) + mlpParams(obs, hidden, 1);
  const perStep = 4 * obs + 4 * Math.max(1, act) + BYTES_PER_STEP_EXTRA;
  const parts: [string, number][] = [["network parameters", params * BYTES_PER_PARAM]];
  if (typeof c.bufferSize === "number") {
    // Off-policy: the replay buffer (obs and next obs, action, reward, flags per transition) and one minibatch.
    parts.push(["replay buffer (bufferSize)", ReplayBuffer.bytesFor(c.bufferSize, obs, Math.max(1, act))]);
    parts.push(["envs (numEnvs)", num(c.numEnvs, 1) * BYTES_PER_ENV]);
    parts.push(["minibatch activations", num(c.batchSize, 256) * 2 * sum(hidden) * 4 * 3]);
  } else if (typeof c.numEnvs === "number") {
    const batch = c.numEnvs * num(c.numSteps);
    parts.push(["rollout buffer (numEnvs × numSteps)", batch * perStep]);
    parts.push(["envs (numEnvs)", c.numEnvs * BYTES_PER_ENV]);
    const minibatch = Math.ceil(batch / Math.max(1, num(c.numMinibatches, 1)));
    // Forward and backward activations of one minibatch through both networks (float32, ×3 for gradients and temporaries).
    parts.push(["minibatch activations", minibatch * 2 * sum(hidden) * 4 * 3]);
  } else {
    const episodes = num(c.numStarts) * num(c.groupSize, 1);
    const length = typeof c.maxEpisodeSteps === "number" ? c.maxEpisodeSteps : maxSteps;
    parts.push(["group rollouts (numStarts × groupSize × episode length)", episodes * length * perStep]);
    parts.push(["envs (numStarts × groupSize)", episodes * BYTES_PER_ENV]);
    const minibatch = Math.ceil((episodes * length) / Math.max(1, num(c.numMinibatches, 1)));
    parts.push(["minibatch activations", minibatch * 2 * sum(hidden) * 4 * 3]);
  }
  return parts;
}

function textParts(algo: string, c: Record<string, unknown>): [string, number][] {
  const m = (c.model ?? {}) as Record<string, unknown>;
  const layers = num(m.layers, 2);
  const width = num(m.width, 64);
  const ff = num(m.ffWidth, 4 * width);
  const context = num(m.contextLength, 48);
  const heads = num(m.heads, 4);
  const vocab = typeof c.chars === "string" ? c.chars.length + 4 : 64;
  // Attention (4·w²) and MLP (2·w·ff) per block, embeddings of tokens and positions, the output head.
  const params = layers * (4 * width * width + 2 * width * ff + 4 * width) + 2 * vocab * width + context * width;
  const sequences = algo === "sft" ? num(c.batchSize, 64) : num(c.numPrompts, 16) * num(c.groupSize, 1);
  // Per token and block: the residual stream, q/k/v, attention scores over the context, the MLP; kept for the backward pass.
  const perToken = layers * (8 * width + 2 * ff + heads * context) * 4 * 2 + vocab * 4 * 2;
  const parts: [string, number][] = [
    ["model parameters", params * BYTES_PER_PARAM * (c.init === null || c.init === undefined ? 1 : 2)],
    ["activations (sequences × contextLength)", sequences * context * perToken],
  ];
  return parts;
}

/** Observation size, action-head size and episode-length cap of an env (built once, closed at once). */
function envShape(id: string): { obs: number; act: number; maxSteps: number } {
  const maxSteps = registry.get(id)?.maxEpisodeSteps ?? 1000;
  try {
    const env = make(id);
    try {
      const space = env.actionSpace as { n?: number; shape: readonly number[] };
      const act = typeof space.n === "number" ? space.n : 2 * flatSize(env.actionSpace as never);
      return { obs: flatSize(env.observationSpace as never), act, maxSteps };
    } finally {
      env.close();
    }
  } catch {
    // An env that cannot be built here fails with its own message when the run starts.
    return { obs: 1, act: 1, maxSteps };
  }
}

function mlpParams(input: number, hidden: number[], output: number): number {
  let total = 0;
  let prev = input;
  for (const h of [...hidden, output]) {
    total += prev * h + h;
    prev = h;
  }
  return total;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function num(x: unknown, fallback = 0): number {
  return typeof x === "number" && Number.isFinite(x) ? x : fallback;
}

/** 1536 → "1.5 KB"; 3.2e12 → "3.2 TB" (binary units). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/**
 * Env steps a step-collector run (ppo, mdpo) will train: whole iterations of
 * numEnvs × numSteps. Null for algorithms whose iterations vary in size.
 */
export function plannedSteps(config: Record<string, unknown>): { steps: number; perIteration: number; iterations: number } | null {
  if (typeof config.numEnvs !== "number" || typeof config.numSteps !== "number" || typeof config.totalTimesteps !== "number") return null;
  const perIteration = config.numEnvs * config.numSteps;
  const iterations = Math.max(1, Math.floor(config.totalTimesteps / perIteration));
  return { steps: iterations * perIteration, perIteration, iterations };
}
