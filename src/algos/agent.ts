/*
 * The algorithms on multi-turn text tasks (a run whose `task` is a registered agent task):
 * sft on demonstration episodes, episode-level grpo and rloo, and the turn-level methods
 * flow-grpo, gigpo and hgpo. Each is a credit rule (which advantage each policy token gets, and
 * whether loss rows are episodes or turns) on the one multi-turn engine.
 */
import { z } from "zod";
import { groupRelativeAdvantage } from "../advantage/group.js";
import { broadcastEpisodeValue } from "../advantage/returns.js";
import { flowGrpoAdvantages, gigpoAdvantages, hgpoAdvantages, processRewardAdvantages } from "../advantage/turn.js";
import { allocateBudget, enforceMinGroup, SuccessPredictor } from "../select/v0.js";
import { parseConfig } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { fileExists } from "../core/platform.js";
import { makeAgentTask } from "../envs/text/agent/task.js";
import "../envs/text/agent/critique.js";
import type { AgentBatch } from "../rollout/agent_collector.js";
import { agentRlShape, agentTaskShape, AGENT_RL_DEFAULTS, type AgentRlConfig } from "./agent_config.js";
import { AgentGroupOptimizer, turnRowsOf, type AgentCredit, type AgentEpoSettings } from "./agent_engine.js";
import { EPO_DEFAULTS, epoConfigSchema } from "./epo.js";
import type { AgentGroupCollector } from "../rollout/agent_collector.js";
import type { Rng } from "../core/rng.js";
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
  check?: (c: AgentRlConfig & z.infer<z.ZodObject<E>>) => void;
  /** EPO's entropy regularisation over real turns (the epo method). */
  epo?: (c: AgentRlConfig & z.infer<z.ZodObject<E>>) => AgentEpoSettings;
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
    validate: (config) => {
      const c = read(config);
      e.check?.(c);
      validateAgent(c);
    },
    create: (config) => {
      const c = read(config);
      e.check?.(c);
      return AgentGroupOptimizer.create(e.name, e.credit(c), c, e.epo?.(c) ?? null);
    },
  };
}

const gammaKey = z.number().min(0).max(1).describe("γ of the turn returns Σ γ^(u−t)·r_u the step groups compare");
const normKey = z.enum(["mean_std_norm", "mean_norm"]).describe("mean_std_norm: (R − mean)/(std + eps); mean_norm: R − mean");

/** Episode-level GRPO credit: the episode's reward normalised over its group, on every policy token. */
function grpoCredit(c: AgentRlConfig): AgentCredit {
  return episodeCredit((ab) => groupRelativeAdvantage(ab.batch.episodeReturn, ab.batch.episodeGroup, { scale: c.advantageScale, std: c.advantageStd, eps: c.advantageEps }));
}

/** EPO's own keys, as the single-turn EPO has them (its `turns` is the task's turn limit here). */
const epoShape = (() => {
  const s = epoConfigSchema.shape;
  return { entropyCoef: s.entropyCoef, smoothCoef: s.smoothCoef, kappaLow: s.kappaLow, kappaHigh: s.kappaHigh, outRangePenalty: s.outRangePenalty, smoothing: s.smoothing, phaseWeights: s.phaseWeights };
})();

/**
 * REFUEL's plan: each of the B starts is a fresh problem rolled in by the policy for h turns, h
 * uniform in [0, maxTurns − 1] (fewer when the episode would end), then two episodes continue it.
 */
function refuelPlan(collector: AgentGroupCollector, rng: Rng) {
  const maxTurns = collector.envs[0].task.maxTurns;
  return { starts: collector.rollInStarts(rng, (r) => r.integer(0, maxTurns)) };
}

/** Each policy token's process score: the score of its turn. */
function tokenScores(ab: AgentBatch): Float32Array {
  return Float32Array.from(ab.stepTurn, (turn, s) => ab.turns[ab.batch.episodeIndex[s]].records[turn].score);
}

/**
 * V₀'s plan: draw `candidates` fresh problems, predict the policy's success on each from its
 * recent outcomes, and split the B × G episode budget over them (see select/v0.ts); `observe`
 * records each group's success rate. `uniform` keeps the first B with G episodes each (the same
 * sampling as grpo) while still fitting the predictor, for comparison.
 */
function v0Credit(c: AgentRlConfig & { candidates: number; delta: number; allocation: string; historySize: number; neighbours: number }): AgentCredit {
  const predictor = new SuccessPredictor(c.historySize, c.neighbours);
  const base = episodeCredit((ab) => groupRelativeAdvantage(ab.batch.episodeReturn, ab.batch.episodeGroup, { scale: c.advantageScale, std: c.advantageStd, eps: c.advantageEps }));
  let last: { predicted: number[]; kept: number } = { predicted: [], kept: 0 };
  return {
    ...base,
    plan: (collector, rng) => {
      const budget = c.numPrompts * c.groupSize;
      const candidates = collector.drawStarts(rng, c.candidates);
      const pHat = candidates.map((s) => predictor.predict(s.problem.prompt));
      let sizes = c.allocation === "variance" ? enforceMinGroup(allocateBudget(pHat, budget, c.delta), 2) : [];
      if (sizes.reduce((a, b) => a + b, 0) === 0) sizes = candidates.map((_, i) => (i < c.numPrompts ? c.groupSize : 0));
      const keep = sizes.map((n, i) => (n > 0 ? i : -1)).filter((i) => i >= 0);
      last = { predicted: keep.map((i) => pHat[i]), kept: keep.length };
      return { starts: keep.map((i) => candidates[i]), groupSizes: keep.map((i) => sizes[i]) };
    },
    observe: (ab) => {
      for (let g = 0; g < ab.starts.length; g++) {
        let sum = 0;
        let n = 0;
        for (let e = 0; e < ab.batch.numEpisodes; e++) {
          if (ab.batch.episodeGroup[e] !== g) continue;
          sum += ab.correct[e];
          n++;
        }
        predictor.record(ab.starts[g].problem.prompt, n ? sum / n : 0);
      }
    },
    metrics: (ab) => {
      // Brier score of the predictions against the groups' observed success rates.
      let brier = 0;
      ab.starts.forEach((_, g) => {
        let sum = 0;
        let n = 0;
        for (let e = 0; e < ab.batch.numEpisodes; e++) {
          if (ab.batch.episodeGroup[e] !== g) continue;
          sum += ab.correct[e];
          n++;
        }
        brier += ((last.predicted[g] ?? 0.5) - (n ? sum / n : 0)) ** 2;
      });
      return { keptPrompts: last.kept, predictedSuccessMean: last.predicted.reduce((a, b) => a + b, 0) / Math.max(1, last.predicted.length), predictionBrier: brier / Math.max(1, ab.starts.length) };
    },
  };
}

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
    credit: (c) => grpoCredit(c),
  }),
  epo: rlEntry({
    name: "epo",
    description:
      "EPO on episode-level GRPO: an entropy bonus c_H·(H̄ − c_s·w·P) over all turns, P the distance of each token's entropy to the band around the historical mean entropy of its real turn",
    extra: epoShape,
    defaults: {
      lossAggregation: EPO_DEFAULTS.lossAggregation,
      entropyCoef: EPO_DEFAULTS.entropyCoef,
      smoothCoef: EPO_DEFAULTS.smoothCoef,
      kappaLow: EPO_DEFAULTS.kappaLow,
      kappaHigh: EPO_DEFAULTS.kappaHigh,
      outRangePenalty: EPO_DEFAULTS.outRangePenalty,
      smoothing: EPO_DEFAULTS.smoothing,
      phaseWeights: EPO_DEFAULTS.phaseWeights,
    },
    check: (c) => {
      if (c.kappaHigh < c.kappaLow) throw new ConfigError(`kappaHigh = ${c.kappaHigh} is below kappaLow = ${c.kappaLow}, so the entropy band is empty`, "set kappaHigh ≥ kappaLow (EPO: 0.8 and 1.2)");
    },
    credit: (c) => grpoCredit(c),
    epo: (c) => ({
      entropyCoef: c.entropyCoef,
      smoothCoef: c.smoothCoef,
      kappaLow: c.kappaLow,
      kappaHigh: c.kappaHigh,
      penalty: c.outRangePenalty,
      smoothing: c.smoothing,
      phaseWeights: c.phaseWeights,
    }),
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
  refuel: rlEntry({
    name: "refuel",
    description: "REFUEL: pairs of episodes continuing one rolled-in prefix; least squares of the change of the turn's log-probability difference on η × the difference of the rewards from that turn on",
    extra: { eta: z.number().positive().describe("η: scale of the reward difference the log-ratio difference regresses on") },
    defaults: { eta: 1, groupSize: 2, numPrompts: 32 },
    check: (c) => {
      if (c.groupSize !== 2) throw new ConfigError(`refuel compares pairs of continuations, so groupSize must be 2, got ${c.groupSize}`, "drop groupSize (2 is the default for refuel) and raise numPrompts for more pairs");
    },
    credit: (c) => ({ turnRows: false, advantages: (ab) => new Float32Array(ab.batch.numSteps), plan: refuelPlan, regression: { eta: c.eta as number } }),
  }),
  process: rlEntry({
    name: "process",
    description: "ProRAG-style process reward: the episode's outcome advantage plus β × the turn's process score normalised over all tokens of the problem's episodes",
    extra: { processWeight: z.number().min(0).describe("β: weight of the normalised process score (ProRAG: 0.5 by default, 0.3 in its script)") },
    defaults: { processWeight: 0.5, advantageEps: 1e-4 },
    credit: (c) => ({
      turnRows: false,
      advantages: (ab) => processRewardAdvantages(ab.batch.episodeReturn, ab.batch.episodeGroup, tokenScores(ab), ab.batch.episodeIndex, { beta: c.processWeight as number, eps: c.advantageEps }),
      metrics: (ab) => {
        const s = tokenScores(ab);
        return { processScoreMean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
      },
    }),
  }),
  v0: rlEntry({
    name: "v0",
    description: "episode-level GRPO with a V₀-style budget: predict each candidate problem's success from the policy's recent outcomes, skip near-certain ones, split B × G episodes in proportion to p̂(1 − p̂)",
    extra: {
      candidates: z.number().int().positive().describe("fresh problems drawn per iteration before the budget is split"),
      allocation: z.enum(["variance", "uniform"]).describe("variance: skip p̂ outside [δ, 1 − δ], episodes ∝ p̂(1 − p̂), groups of ≥ 2 (our documented default; the paper's rule is not published); uniform: the first numPrompts candidates × groupSize"),
      delta: z.number().min(0).max(0.5).describe("δ: problems predicted below δ or above 1 − δ get no episodes"),
      historySize: z.number().int().positive().describe("recent (problem, group success) records the predictor keeps"),
      neighbours: z.number().int().positive().describe("k of the k-nearest-neighbour predictor (prompts compared by their character counts)"),
    },
    defaults: { candidates: 24, allocation: "variance", delta: 0.05, historySize: 512, neighbours: 16 },
    check: (c) => {
      if ((c.candidates as number) < c.numPrompts) throw new ConfigError(`v0 draws candidates = ${c.candidates} problems, fewer than numPrompts = ${c.numPrompts}`, `set candidates to at least ${c.numPrompts}`);
    },
    credit: (c) => v0Credit(c as AgentRlConfig & { candidates: number; delta: number; allocation: string; historySize: number; neighbours: number }),
  }),
  critique: rlEntry({
    name: "critique",
    description: "critique-and-refine (Critique-RL / RefCritic) on --task critique: the policy's verdict turns are rewarded for matching the verifier (discriminability) and for the refinement they lead to; its answer turns for the outcome",
    extra: { helpfulnessWeight: z.number().min(0).describe("weight of the outcome advantage on the critic's turns (0: stage I, discriminability only; > 0: stage II adds helpfulness)") },
    defaults: { task: "critique", helpfulnessWeight: 1 },
    check: (c) => {
      if (c.task !== "critique") throw new ConfigError(`critique trains the verdict turns of the critique task, got task ${c.task}`, "use --task critique (its taskOptions.base picks the underlying task, e.g. calc)");
    },
    credit: (c) => ({
      turnRows: false,
      advantages: (ab) => critiqueAdvantages(ab, c.helpfulnessWeight as number, { scale: c.advantageScale, std: c.advantageStd, eps: c.advantageEps }),
      metrics: (ab) => {
        let verdicts = 0;
        let right = 0;
        for (const t of ab.turns) {
          for (const r of t.records) {
            if (r.role !== "critic" || r.malformed) continue;
            verdicts++;
            if (r.taskReward > 0) right++;
          }
        }
        return { verdictsPerEpisode: verdicts / Math.max(1, ab.turns.length), verdictAccuracy: verdicts ? right / verdicts : NaN };
      },
    }),
  }),
};

/**
 * Critique-and-refine credit: the outcome (episode reward without the verdict rewards) is
 * group-normalised per episode and given to the actor's turns; each critic turn gets its verdict
 * reward normalised over the critic turns of its group, plus helpfulnessWeight × its episode's
 * outcome advantage.
 */
export function critiqueAdvantages(ab: AgentBatch, helpfulnessWeight: number, norm: { scale: "std" | "none"; std: "unbiased" | "population"; eps: number }): Float32Array {
  const b = ab.batch;
  const outcome = Float32Array.from(ab.turns, (t, e) => b.episodeReturn[e] - t.records.reduce((s, r) => s + r.taskReward, 0));
  const outcomeAdv = groupRelativeAdvantage(outcome, b.episodeGroup, norm);
  const rows = turnRowsOf(ab);
  const criticRows: number[] = [];
  const flat = ab.turns.flatMap((t) => t.records);
  flat.forEach((r, i) => {
    if (r.role === "critic") criticRows.push(i);
  });
  const verdictAdv = groupRelativeAdvantage(
    criticRows.map((i) => flat[i].taskReward),
    criticRows.map((i) => rows.group[i]),
    norm,
  );
  const rowAdv = Float32Array.from(flat, (r, i) => outcomeAdv[rows.episode[i]]);
  criticRows.forEach((i, k) => (rowAdv[i] = verdictAdv[k] + helpfulnessWeight * outcomeAdv[rows.episode[i]]));
  return Float32Array.from(rows.rowOfStep, (r) => rowAdv[r]);
}
