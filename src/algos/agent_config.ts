import { z } from "zod";
import { MAX_SEED } from "../core/config.js";
import { aggregationShape, clipKlShape } from "./group_config.js";
import { kernelThreadsShape, modelSchema, textBackendShape, type ModelConfig } from "./text_config.js";

/*
 * Config of the multi-turn text runs (a run whose `task` is a registered agent task: calc,
 * lookup, guess, ...): SFT on demonstrations, and the group algorithms on whole episodes.
 */

/** What every multi-turn run has: the task, the model and the run. */
export const agentTaskShape = {
  task: z.string().min(1).describe("multi-turn task (refinery list): calc, lookup, guess, or one registered with registerAgentTask"),
  taskOptions: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).describe("options of the task, e.g. taskOptions.ops=3 for calc"),
  seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, sampled problems and tokens"),
  iterations: z.number().int().positive().describe("iterations to train for (RL: numPrompts × groupSize episodes and the update; SFT: one batch)"),
  init: z.string().min(1).nullable().describe("a run directory (e.g. an SFT run) whose saved policy to start from; null: a fresh model of size model.*"),
  chars: z.string().min(1).nullable().describe("characters of the tokenizer of a fresh model (null: the built-in set); a task with other characters needs them here"),
  model: modelSchema.describe("model size when init is null; model.contextLength bounds the whole episode (prompt, turns, observations)"),
  malformedPenalty: z.number().max(0).describe("reward of each malformed turn (neither a tool call nor an answer), e.g. -0.1; 0: none"),
  evalProblems: z.number().int().positive().describe("held-out (test split) problems of each evaluation (greedy success); all of them if the split has fewer"),
  learningRate: z.number().positive().describe("Adam learning rate (eps 1e-8)"),
  annealLr: z.boolean().describe("decay the learning rate linearly to 0 over the iterations"),
  warmupIterations: z.number().int().min(0).describe("linear learning-rate warm-up from 0 over the first N iterations"),
  maxGradNorm: z.number().positive().describe("global gradient-norm clip"),
  backend: textBackendShape,
  kernelThreads: kernelThreadsShape(),
  evalEvery: z.number().int().min(0).describe("evaluate (greedy success on evalProblems test problems) every N iterations (0: only at the end)"),
  checkpointEvery: z.number().int().min(0).describe("write a checkpoint every N iterations (0: only at the end)"),
  checkpointSeconds: z.number().min(0).describe("write a checkpoint every N seconds of wall time as well (0: off)"),
};

/** The group RL keys of a multi-turn run. */
export const agentRlShape = {
  numPrompts: z.number().int().positive().describe("B: problems (groups) per iteration"),
  groupSize: z.number().int().min(2).describe("G: episodes played from each problem"),
  temperature: z.number().positive().describe("τ of the policy softmax(z/τ) for sampling and the update's log-probabilities"),
  topK: z.number().int().min(0).describe("sample only among the k most likely tokens (0: all)"),
  updateEpochs: z.number().int().positive().describe("μ: passes over each batch"),
  numMinibatches: z.number().int().positive().describe("minibatches per pass; a minibatch holds whole episodes"),
  ...clipKlShape,
  ...aggregationShape,
  lossAggregation: aggregationShape.lossAggregation.describe(
    "per-token losses to one number over rows (episodes, or turns for the turn-level methods): grpo (mean of row means), bnpo (mean over all tokens), dr_grpo (sum / (rows·L_max))",
  ),
  advantageScale: z.enum(["std", "none"]).describe("std: divide by the group's std; none: only subtract the group mean"),
  advantageStd: z.enum(["unbiased", "population"]).describe("which std scales episode-level advantages: unbiased (n − 1) or population (n)"),
  advantageEps: z.number().min(0).describe("added to the std before dividing"),
  logCompletionsEvery: z.number().int().min(0).describe("write logCompletionsCount sampled episodes (prompt, transcript, reward) to RUN/completions.jsonl every N iterations (0: never)"),
  logCompletionsCount: z.number().int().min(1).max(64).describe("episodes written each time, spread over the iteration's problems"),
};

export const AGENT_MODEL_DEFAULTS: ModelConfig = { layers: 2, width: 64, heads: 4, contextLength: 96, ffWidth: 256, activation: "gelu" };

export const AGENT_TASK_DEFAULTS = {
  task: "calc",
  taskOptions: {},
  seed: 1,
  init: null,
  chars: null,
  model: AGENT_MODEL_DEFAULTS,
  malformedPenalty: 0,
  evalProblems: 100,
  maxGradNorm: 1,
  backend: "auto" as "auto" | "kernels" | "wasm" | "cpu",
  kernelThreads: "auto" as "auto" | 1 | 2,
  checkpointEvery: 0,
  checkpointSeconds: 60,
};

/** The RL defaults: small learning rate after SFT as on single-turn text, fewer prompts (episodes are longer). */
export const AGENT_RL_DEFAULTS = {
  ...AGENT_TASK_DEFAULTS,
  iterations: 60,
  numPrompts: 8,
  groupSize: 8,
  temperature: 1,
  topK: 0,
  learningRate: 3e-5,
  annealLr: false,
  warmupIterations: 5,
  updateEpochs: 1,
  numMinibatches: 2,
  clipLow: 0.2,
  clipHigh: 0.2,
  beta: 0,
  klEstimator: "k3" as const,
  refUpdateEvery: 0,
  lossAggregation: "grpo",
  entCoef: 0,
  advantageScale: "std" as const,
  advantageStd: "unbiased" as const,
  advantageEps: 1e-6,
  evalEvery: 20,
  logCompletionsEvery: 10,
  logCompletionsCount: 4,
};

export const agentRlSchema = z.object({ ...agentTaskShape, ...agentRlShape }).strict();
export type AgentRlConfig = z.infer<typeof agentRlSchema>;
