/*
 * The algorithms on multi-turn text tasks (a run whose `task` is a registered agent task):
 * sft on demonstration episodes, episode-level grpo and rloo, and the turn-level methods
 * flow-grpo, gigpo and hgpo. Each is a credit rule (which advantage each policy token gets, and
 * whether loss rows are episodes or turns) on the one multi-turn engine.
 */
import { z } from "zod";
import { groupRelativeAdvantage } from "../advantage/group.js";
import { broadcastEpisodeValue } from "../advantage/returns.js";
import { flowGrpoAdvantages, gigpoAdvantages, hgpoAdvantages } from "../advantage/turn.js";
import { parseConfig } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { fileExists } from "../core/platform.js";
import { makeAgentTask } from "../envs/text/agent/task.js";
import "../envs/text/agent/tasks.js";
import type { AgentBatch } from "../rollout/agent_collector.js";
import { agentRlShape, agentTaskShape, AGENT_RL_DEFAULTS, type AgentRlConfig } from "./agent_config.js";
import { AgentGroupOptimizer, turnRowsOf, type AgentCredit } from "./agent_engine.js";
import { AgentSFT, agentSftSchema, AGENT_SFT_DEFAULTS, type AgentSFTConfig } from "./agent_sft.js";
import type { AlgorithmEntry } from "./index.js";

const parse = <S extends z.ZodObject>(schema: S, name: string, config: Record<string, unknown>): z.infer<S> => parseConfig(schema, config, `${name} config`);

/** Start-up checks of every multi-turn run: the task and its options, the init run, the minibatches. */
function validateAgent(c: { task: string; taskOptions: Record<string, unknown>; init: string | null; numPrompts?: number; groupSize?: number; numMinibatches?: number }): void {
  makeAgentTask(c.task, c.taskOptions);
  if (c.init !== null && fileExists(c.init) === false) {
    throw new ConfigError(`init ${c.init} does not exist`, "pass the directory of a finished run on this task (e.g. made by `refinery sft`), or init=null for a fresh model");
  }
  if (c.numMinibatches !== undefined && c.numPrompts !== undefined && c.groupSize !== undefined && c.numMinibatches > c.numPrompts * c.groupSize) {
    throw new ConfigError(`numMinibatches = ${c.numMinibatches} is more than the ${c.numPrompts * c.groupSize} episodes of an iteration (numPrompts × groupSize)`, `set numMinibatches to at most ${c.numPrompts * c.groupSize}`);
  }
}

/** Episode-level credit: every policy token of episode i gets f(episode rewards)_i. */
function episodeCredit(perEpisode: (ab: AgentBatch) => Float32Array): AgentCredit {
  return { turnRows: false, advantages: (ab) => broadcastEpisodeValue(perEpisode(ab), ab.batch.episodeIndex) };
}

/** Turn-level credit: every policy token of a turn gets its row's advantage. */
function turnCredit(perRow: (ab: AgentBatch, rows: ReturnType<typeof turnRowsOf>) => Float32Array, metrics?: AgentCredit["metrics"]): AgentCredit {
  return {
    turnRows: true,
    advantages: (ab) => {
      const rows = turnRowsOf(ab);
      const a = perRow(ab, rows);
      return Float32Array.from(rows.rowOfStep, (r) => a[r]);
    },
    metrics,
  };
}

/** Share of turns that share their anchor (the observation before them) with another turn of their group: GiGPO's step groups that carry a signal. */
function anchorGroupMetrics(ab: AgentBatch): Record<string, number> {
  const rows = turnRowsOf(ab);
  const count = new Map<string, number>();
  rows.anchor.forEach((a, i) => count.set(`${rows.group[i]}\u0000${a}`, (count.get(`${rows.group[i]}\u0000${a}`) ?? 0) + 1));
  const shared = rows.anchor.filter((a, i) => (count.get(`${rows.group[i]}\u0000${a}`) ?? 0) > 1).length;
  return { turnRows: rows.anchor.length, sharedAnchorFraction: rows.anchor.length ? shared / rows.anchor.length : 0 };
}

type Extra = Record<string, z.ZodType>;

/** A multi-turn RL entry: the shared RL schema plus `extra` keys, and its credit rule. */
function rlEntry<E extends Extra>(e: {
  name: string;
  description: string;
  extra: E;
  defaults: Record<string, unknown>;
  credit: (c: AgentRlConfig & z.infer<z.ZodObject<E>>) => AgentCredit;
}): AlgorithmEntry {
  const schema = z.object({ ...agentTaskShape, ...agentRlShape, ...e.extra }).strict();
  type C = AgentRlConfig & z.infer<z.ZodObject<E>>;
  const read = (config: Record<string, unknown>) => parse(schema, e.name, config) as unknown as C;
  return {
    name: e.name,
    description: e.description,
    schema,
    defaults: { ...AGENT_RL_DEFAULTS, ...e.defaults },
    presets: [],
    validate: (config) => validateAgent(read(config)),
    create: (config) => {
      const c = read(config);
      return AgentGroupOptimizer.create(e.name, e.credit(c), c);
    },
  };
}

const gammaKey = z.number().min(0).max(1).describe("γ of the turn returns Σ γ^(u−t)·r_u the step groups compare");
const normKey = z.enum(["mean_std_norm", "mean_norm"]).describe("mean_std_norm: (R − mean)/(std + eps); mean_norm: R − mean");

export const AGENT_ALGORITHMS: Record<string, AlgorithmEntry> = {
  sft: {
    name: "sft",
    description: "supervised fine-tuning on demonstration episodes of a multi-turn task (tool calls included; loss on the policy's tokens only)",
    schema: agentSftSchema,
    defaults: AGENT_SFT_DEFAULTS as unknown as Record<string, unknown>,
    presets: [],
    validate: (config) => validateAgent(parse(agentSftSchema, "sft", config)),
    create: (config) => AgentSFT.create(parse(agentSftSchema, "sft", config) as AgentSFTConfig),
  },
  grpo: rlEntry({
    name: "grpo",
    description: "episode-level GRPO on a multi-turn task: G episodes per problem, the episode's group-normalised reward on every policy token of every turn",
    extra: {},
    defaults: {},
    credit: (c) => episodeCredit((ab) => groupRelativeAdvantage(ab.batch.episodeReturn, ab.batch.episodeGroup, { scale: c.advantageScale, std: c.advantageStd, eps: c.advantageEps })),
  }),
  rloo: rlEntry({
    name: "rloo",
    description: "episode-level RLOO on a multi-turn task: the episode's reward minus the mean of the other G−1 episodes of its problem",
    extra: {},
    defaults: {},
    credit: () =>
      episodeCredit((ab) => {
        const G = groupRelativeAdvantage(ab.batch.episodeReturn, ab.batch.episodeGroup, { scale: "none" });
        const size = new Map<number, number>();
        ab.batch.episodeGroup.forEach((g) => size.set(g, (size.get(g) ?? 0) + 1));
        // r_i − mean_{j≠i} r_j = G/(G−1)·(r_i − mean r).
        return Float32Array.from(G, (a, i) => {
          const n = size.get(ab.batch.episodeGroup[i]) as number;
          return n > 1 ? (a * n) / (n - 1) : 0;
        });
      }),
  }),
  "flow-grpo": rlEntry({
    name: "flow-grpo",
    description: "Flow-GRPO (AgentFlow): every turn is a row carrying its episode's outcome, normalised over all turn rows of the problem (unbiased std, eps 1e-6)",
    extra: {},
    defaults: {},
    credit: (c) => turnCredit((_ab, rows) => flowGrpoAdvantages(rows, { eps: c.advantageEps, scaleByStd: c.advantageScale === "std" })),
  }),
  gigpo: rlEntry({
    name: "gigpo",
    description: "GiGPO: episode advantage over turn rows plus ω × a step advantage among turns written after the same observation",
    extra: { stepWeight: z.number().min(0).describe("ω: weight of the step (anchor-group) advantage"), gamma: gammaKey, normalization: normKey },
    defaults: { stepWeight: 1, gamma: 0.95, normalization: "mean_std_norm" },
    credit: (c) =>
      turnCredit(
        (_ab, rows) => gigpoAdvantages(rows, { mode: c.normalization as "mean_std_norm" | "mean_norm", stepWeight: c.stepWeight as number, gamma: c.gamma as number, eps: c.advantageEps }),
        anchorGroupMetrics,
      ),
  }),
  hgpo: rlEntry({
    name: "hgpo",
    description: "HGPO: step advantages from nested groups of turns whose last k observations match (k = 1 … historyLength+1), weighted (k+1)^α",
    extra: {
      historyLength: z.number().int().min(0).max(8).describe("observations of history beyond the current one: levels k = 1 … historyLength + 1"),
      alpha: z.number().min(0).describe("α of the level weights (k+1)^α"),
      baseGroup: z.boolean().describe("add the episode advantage over turn rows as a level of weight 1"),
      gamma: gammaKey,
      normalization: normKey,
    },
    defaults: { historyLength: 2, alpha: 1, baseGroup: false, gamma: 0.95, normalization: "mean_std_norm" },
    credit: (c) =>
      turnCredit(
        (_ab, rows) =>
          hgpoAdvantages(rows, {
            historyLength: c.historyLength as number,
            alpha: c.alpha as number,
            baseGroup: c.baseGroup as boolean,
            gamma: c.gamma as number,
            mode: c.normalization as "mean_std_norm" | "mean_norm",
            eps: c.advantageEps,
          }),
        anchorGroupMetrics,
      ),
  }),
};
