import { MAX_SEED } from "../core/config.js";
import { z } from "zod";

/*
 * Config of the text runs (issue 6): the group algorithms (grpo, rloo, reinforce, epo, igrpo)
 * on a text task, and SFT. A text config is its control config without the keys that describe
 * an env, episodes in env steps and the MLP, plus the keys below (task, model, sampling).
 */

/** Keys of the control group configs that have no meaning for a text task. */
export const CONTROL_ONLY_KEYS = [
  "env",
  "totalTimesteps",
  "numStarts",
  "startState",
  "randomSteps",
  "maxEpisodeSteps",
  "hidden",
  "activation",
  "initLogStd",
  "evalEpisodes",
  "evalDeterministic",
] as const;

export const modelSchema = z
  .object({
    layers: z.number().int().positive().describe("transformer blocks"),
    width: z.number().int().positive().describe("model width d (a multiple of heads)"),
    heads: z.number().int().positive().describe("attention heads"),
    contextLength: z.number().int().positive().describe("longest context + completion in tokens"),
    ffWidth: z.number().int().positive().describe("hidden width of each block's MLP (GPT: 4·width)"),
    activation: z.enum(["gelu", "relu"]).describe("MLP activation"),
  })
  .strict();
export type ModelConfig = z.infer<typeof modelSchema>;

export const rewardTermSchema = z
  .object({
    name: z.string().min(1).describe("a registered reward function: correct, format, ..."),
    weight: z.number().describe("its weight in the sum"),
  })
  .strict();

/** The task and the text-specific run keys every text run has. */
export const taskShape = {
  task: z.string().min(1).describe("text task (refinery list): addition, multiplication, sorting, countdown, parity, or a registered one"),
  taskOptions: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).describe("options of the task, e.g. taskOptions.digits=3 for addition"),
  seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, sampled prompts and tokens"),
  iterations: z.number().int().positive().describe("iterations to train for (an RL iteration: numPrompts × groupSize completions and the update; SFT: one batch)"),
  init: z.string().min(1).nullable().describe("a run directory (e.g. an SFT run) whose saved policy to start from; null: a fresh model of size model.*"),
  chars: z
    .string().min(1).nullable()
    .describe("characters of the tokenizer of a fresh model (null: the built-in set: digits, ' +-*/=()<>,:;.', a-z, '?'); a task with other characters needs them here"),
  model: modelSchema.describe("model size when init is null: model.layers, model.width, model.heads, model.contextLength, model.ffWidth, model.activation"),
  maxCompletionLength: z
    .number().int().positive().nullable()
    .describe("completion tokens before the episode is cut (null: the task's own limit); also L_max of dr_grpo"),
  evalProblems: z.number().int().positive().describe("held-out (test split) problems of each evaluation (greedy pass@1); all of them if the split has fewer"),
  // A default in the schema too, so runs created before this key existed still resume.
  kernelThreads: kernelThreadsShape(),
};

/** The kernels backend's threads: see KernelBackendOptions.threads. */
export function kernelThreadsShape() {
  return z
    .union([z.literal("auto"), z.literal(1), z.literal(2)])
    .default("auto")
    .describe("threads of backend kernels: 2 runs half of each large matrix product (and, in the transformer, of attention) on a helper thread (bit-identical to 1; needs shared WebAssembly memory, so a page without cross-origin isolation runs 1); auto: 2 where available on a host with ≥ 2 cores");
}

export const warmupShape = {
  warmupIterations: z.number().int().min(0).describe("linear learning-rate warm-up from 0 over the first N iterations"),
};

/** Sampling and rewards of the RL text runs. */
export const samplingShape = {
  numPrompts: z.number().int().positive().describe("B: prompts (groups) per iteration"),
  temperature: z.number().positive().describe("τ of the policy softmax(z/τ) used for sampling and for the update's log-probabilities"),
  topK: z.number().int().min(0).describe("sample only among the k most likely tokens (0: all); not part of the log-probabilities"),
  rewards: z.array(rewardTermSchema).min(1).describe("reward functions summed with weights, e.g. [{name: correct, weight: 1}, {name: format, weight: 0.1}]"),
  // Defaults in the schema too, so runs created before these keys existed still resume.
  logCompletionsEvery: z.number().int().min(0).default(10).describe("write logCompletionsCount sampled completions (prompt, completion, reward) to RUN/completions.jsonl every N iterations (0: never)"),
  logCompletionsCount: z.number().int().min(1).max(64).default(4).describe("completions written each time, spread over the iteration's prompts"),
};

export const MODEL_DEFAULTS: ModelConfig = { layers: 2, width: 64, heads: 4, contextLength: 48, ffWidth: 256, activation: "gelu" };

/** Defaults every text run shares. */
export const TEXT_DEFAULTS = {
  task: "addition",
  taskOptions: {},
  seed: 1,
  init: null,
  chars: null,
  model: MODEL_DEFAULTS,
  maxCompletionLength: null,
  evalProblems: 200,
  kernelThreads: "auto" as "auto" | 1 | 2,
  backend: "auto" as "auto" | "wasm" | "cpu" | "kernels",
};

export const SAMPLING_DEFAULTS = {
  numPrompts: 16,
  temperature: 1,
  topK: 0,
  rewards: [{ name: "correct", weight: 1 }],
  logCompletionsEvery: 10,
  logCompletionsCount: 4,
};

/** Where a control key means something slightly different on text, its text description. */
const TEXT_DESCRIPTIONS: Record<string, string> = {
  groupSize: "G: completions sampled for each prompt",
  learningRate: "Adam learning rate of the policy (eps 1e-8)",
  annealLr: "decay the learning rate linearly to 0 over the iterations",
  numMinibatches: "minibatches per pass; a minibatch holds whole completions",
  rewardMode: "outcome: every token gets its completion's group-normalised reward; per-step: group-normalised discounted returns-to-go (on text the reward is on the last token)",
  lossAggregation: "per-token losses to one number: grpo (mean of completion means), bnpo (mean over all tokens), dr_grpo (sum / (completions·L_max), L_max the completion length limit)",
  evalEvery: "evaluate (greedy pass@1 on evalProblems test problems) every N iterations (0: only at the end)",
  turns: "J: turns the completion length limit is bucketed into (token t is in turn ⌊t·J / L_max⌋; EPO max_steps 50)",
  baseline: "none only on text (no critic): A = the completion's reward-to-go",
};

/**
 * The backend key of text runs: refinery's WebAssembly SIMD kernels for the transformer's
 * whole forward, backward, sampling and Adam step, or its JS path with tfjs's wasm or cpu
 * backend as the matrix-product fallback; `auto` (the default) is `kernels` where
 * WebAssembly SIMD runs, else `wasm`.
 */
export const textBackendShape = z
  .enum(["auto", "kernels", "wasm", "cpu"])
  .describe("what computes the transformer: kernels (refinery's WebAssembly SIMD kernels for forward, backward, sampling and Adam), or its JS path with tfjs's wasm or cpu backend as the matrix-product fallback; auto: kernels where WebAssembly SIMD runs, else wasm (resolved when the run is created and recorded in its config.json)");

/**
 * The text schema of a control group algorithm: its keys minus the control-only ones, plus
 * the text keys (and `extra`, e.g. iGRPO's).
 */
export function textSchemaOf(controlShape: Record<string, z.ZodType>, extra: Record<string, z.ZodType> = {}): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, v] of Object.entries(controlShape)) {
    if ((CONTROL_ONLY_KEYS as readonly string[]).includes(k)) continue;
    shape[k] = TEXT_DESCRIPTIONS[k] ? v.describe(TEXT_DESCRIPTIONS[k]) : v;
  }
  if ("backend" in shape) shape.backend = textBackendShape;
  return z.object({ ...shape, ...taskShape, ...samplingShape, ...warmupShape, ...extra }).strict();
}

/** A control config's defaults without the control-only keys, with the text defaults over them. */
export function textDefaultsOf(controlDefaults: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(controlDefaults)) if (!(CONTROL_ONLY_KEYS as readonly string[]).includes(k)) out[k] = v;
  return { ...out, ...TEXT_DEFAULTS, ...SAMPLING_DEFAULTS, ...extra };
}
