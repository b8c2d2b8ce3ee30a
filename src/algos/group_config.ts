import { MAX_SEED } from "../core/config.js";
import { z } from "zod";
import { AGGREGATION_MODES } from "../loss/aggregate.js";
import { START_STATE_MODES } from "../rollout/group_collector.js";
import { kernelThreadsShape } from "./text_config.js";

/*
 * The config keys the group algorithms (grpo, rloo, reinforce, epo) share, as zod shapes
 * each algorithm spreads into its own `.strict()` schema. Defaults live in each
 * algorithm's DEFAULTS object (written once there); the shared ones below are spread in.
 */

/** Which env, how much training, and the B × G group rollouts of an iteration. */
export const groupRolloutShape = {
  env: z.string().min(1).describe("environment id (refinery list); it needs env snapshots (getState/setState)"),
  seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, actions, start states"),
  totalTimesteps: z
    .number().int().positive()
    .describe("env steps to train for; iterations vary in size (whole episodes), so the last one may overshoot"),
  numStarts: z.number().int().positive().describe("B: start states (groups) per iteration, each a reset with a fresh seed"),
  groupSize: z.number().int().positive().describe("G: complete episodes run from each start state"),
  startState: z.enum(START_STATE_MODES as [string, ...string[]]).describe("where groups start: reset, or reset then randomSteps random actions"),
  randomSteps: z.number().int().min(0).describe("random actions after the reset in startState reset+random-steps"),
  maxEpisodeSteps: z
    .number().int().positive().nullable()
    .describe("cap on an episode's length from its start state (null: the env's time limit); also L_max of dr_grpo"),
};

/** The optimiser and the passes over each batch. */
export const groupOptimShape = {
  learningRate: z.number().positive().describe("Adam learning rate of the policy (eps 1e-5)"),
  annealLr: z.boolean().describe("decay the learning rate linearly to 0 over totalTimesteps"),
  maxGradNorm: z.number().positive().describe("global gradient-norm clip of each policy step"),
  updateEpochs: z.number().int().positive().describe("μ: passes over each batch"),
  numMinibatches: z.number().int().positive().describe("minibatches per pass; a minibatch holds whole episodes"),
};

/** The actor-critic network (the critic is used only where an algorithm says so). */
export const networkShape = {
  hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of actor and critic"),
  activation: z.enum(["tanh", "relu"]).describe("hidden activation"),
  initLogStd: z.number().describe("initial log-std of the Gaussian policy (Box actions)"),
  features: z
    .enum(["flat", "grid"])
    .describe("what the actor and critic MLPs read: flat (the observation as it is) or grid (grid envs: their Dict observation through cell, mission and direction embeddings, docs/grid-worlds.md)"),
  actionMasking: z
    .enum(["auto", "on", "off"])
    .describe("honour the env's action masks (info.action_mask or an actionMasks() method) in sampling, log-probs, entropy and the loss: auto = when the env provides them"),
};

/** Backend, evaluation and checkpoints (read by the trainer). */
export const runShape = {
  backend: z.enum(["wasm", "cpu"]).describe("tfjs backend for the updates"),
  evalEvery: z.number().int().min(0).describe("evaluate every N iterations (0: only at the end)"),
  evalEpisodes: z.number().int().positive().describe("episodes per evaluation"),
  evalDeterministic: z.boolean().describe("evaluate with the mode of the policy instead of sampling"),
  checkpointEvery: z.number().int().min(0).describe("write a checkpoint every N iterations (0: only at the end)"),
  checkpointSeconds: z.number().min(0).describe("write a checkpoint every N seconds of wall time as well (0: off)"),
};

/**
 * D³S options (docs/methods.md §6). The paper does not fix the selection details; every one is
 * a named option with our default.
 */
export const d3sSchema = z
  .object({
    levels: z
      .enum(["sample", "step", "both"])
      .describe("sample: keep k of G episodes per group (max advantage variance); step: keep the steps with top |A|·H; both: sample then step"),
    keepRatioStart: z.number().gt(0).max(1).describe("keep ratio at the start of training (aggressive)"),
    keepRatioEnd: z.number().gt(0).max(1).describe("keep ratio at the end of training (relaxed)"),
    schedule: z.enum(["linear", "cosine"]).describe("how the keep ratio moves from start to end over totalTimesteps"),
    minGroupKeep: z.number().int().min(1).describe("sample level keeps at least this many episodes per group (2: a variance needs two)"),
    recomputeAdvantages: z.boolean().describe("recompute advantages on the kept episodes (UNVERIFIED; default no)"),
  })
  .strict();

export type D3sConfig = z.infer<typeof d3sSchema>;

/** Selection (select/): none, or D³S on top of any group algorithm. */
export const selectionShape = {
  selection: z.enum(["none", "d3s"]).describe("down-sample the batch before the update: none, or d3s (options under d3s.*)"),
  d3s: d3sSchema.describe(
    "D³S options, set as d3s.KEY: levels (sample|step|both), keepRatioStart, keepRatioEnd, schedule (linear|cosine), minGroupKeep, recomputeAdvantages",
  ),
};

/** The clipped surrogate and the KL to a frozen reference (GRPO, LOOP, EPO). */
export const clipKlShape = {
  clipLow: z.number().min(0).describe("ε_low: the ratio is clipped below at 1 − clipLow"),
  clipHigh: z.number().min(0).describe("ε_high: the ratio is clipped above at 1 + clipHigh"),
  beta: z.number().min(0).describe("weight of the KL to the reference policy, added to the per-step loss (0: no reference)"),
  klEstimator: z.enum(["k3", "k1"]).describe("per-step KL estimator of KL(π_θ‖π_ref): k3 = exp(x) − x − 1 (GRPO), k1 = logπ_θ − logπ_ref"),
  refUpdateEvery: z.number().int().min(0).describe("reset the reference to the current policy every N iterations (0: keep the initial policy)"),
};

export const aggregationShape = {
  lossAggregation: z
    .enum(AGGREGATION_MODES as [string, ...string[]])
    .describe("per-step losses to one number: grpo (mean of episode means), bnpo (mean over all steps), dr_grpo (sum / (episodes·L_max))"),
  entCoef: z.number().min(0).describe("entropy bonus coefficient (−entCoef·H in each step's loss)"),
};

/** The keys every group algorithm has (what the shared engine reads). */
/** runShape with the group algorithms' backend: they can train on refinery's kernels as well. */
export const groupRunShape = {
  ...runShape,
  backend: z
    .enum(["wasm", "cpu", "kernels"])
    .describe("what computes the updates: tfjs's wasm or cpu backend, or kernels (refinery's WebAssembly SIMD kernels for the actor's forward and backward; flat features only; measured no faster than wasm at these minibatch sizes, so not the default)"),
  kernelThreads: kernelThreadsShape(),
};

export const groupCommonSchema = z.object({ ...groupRolloutShape, ...groupOptimShape, ...networkShape, ...groupRunShape, ...selectionShape });
export type GroupCommonConfig = z.infer<typeof groupCommonSchema>;

/** D³S defaults (ours; §6 leaves the schedule UNVERIFIED): half kept at the start, all at the end. */
export const D3S_DEFAULTS: D3sConfig = {
  levels: "both",
  keepRatioStart: 0.5,
  keepRatioEnd: 1,
  schedule: "linear",
  minGroupKeep: 2,
  recomputeAdvantages: false,
};

/** Defaults every group algorithm shares; each algorithm adds the ones it tunes. */
export const COMMON_GROUP_DEFAULTS: Omit<GroupCommonConfig, "totalTimesteps" | "numStarts" | "groupSize" | "learningRate" | "annealLr" | "updateEpochs" | "numMinibatches"> = {
  env: "CartPole-v1",
  seed: 1,
  startState: "reset",
  randomSteps: 10,
  maxEpisodeSteps: null,
  maxGradNorm: 0.5,
  hidden: [64, 64],
  activation: "tanh",
  initLogStd: 0,
  features: "flat",
  actionMasking: "auto",
  backend: "wasm",
  kernelThreads: "auto",
  evalEvery: 0,
  evalEpisodes: 10,
  evalDeterministic: true,
  checkpointEvery: 0,
  checkpointSeconds: 60,
  selection: "none",
  d3s: D3S_DEFAULTS,
};
