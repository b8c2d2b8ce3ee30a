/**
 * The group algorithms on multi-turn text tasks. The same GroupRecipe machinery as the
 * single-turn engine (groupStepLoss, runEpochs, gatherMinibatch, stepLossGradients) with an
 * episode in place of a completion:
 *
 *   AgentGroupCollector: B problems × G episodes, turn by turn (the env's observations appended
 *   to the context)  →  credit.advantages (per policy token: episode-level, or per turn)
 *   → for μ epochs, for minibatches of whole episodes:
 *       one batched forward over context + transcript gives logπ_θ and H of every token,
 *       groupStepLoss on the policy's tokens only (the env's tokens carry no loss and no gradient),
 *       the transformer's backward, Adam.
 *
 * Rows of the loss aggregation are episodes, or turns for the turn-level methods (Flow-GRPO,
 * GiGPO, HGPO treat every turn as a training row).
 */
import { zeroVarianceGroupFraction } from "../advantage/group.js";
import type { TurnRows } from "../advantage/turn.js";
import { checkCheckpointBackend, type RunBackend } from "../core/backend.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import { AgentEnv } from "../envs/text/agent/env.js";
import { agentProblemSet, makeAgentTask, replayDemonstration, type AgentTask } from "../envs/text/agent/task.js";
import { EntropyHistory, type EntropyHistoryState } from "../loss/epo.js";
import "../envs/text/agent/critique.js";
import { ArrayAdam } from "../nn/optim.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import { AgentGroupCollector, type AgentBatch, type AgentStart } from "../rollout/agent_collector.js";
import { evaluateAgent, type AgentEvalResult } from "../train/agent_eval.js";
import { loadTokenPolicy, newTextPolicy } from "../train/text_policy.js";
import type { AgentRlConfig } from "./agent_config.js";
import type { GroupCommonConfig } from "./group_config.js";
import { gatherMinibatch, perTurnEntropy, readDiagnostics, runEpochs, stepLossGradients, type EpoSettings, type GroupRecipe, type Minibatch, type StepDiagnostics } from "./group_engine.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ModelConfig } from "./text_config.js";
import { initTextBackend, placeOnBackend, resolveTextBackend, spreadCompletions, textActingPolicy, textLearningRate } from "./text_engine.js";
import type { ActingPolicy, Algorithm, CompletionTurn, IterationMetrics, SampledCompletion } from "./types.js";

/** How a method turns an iteration's episodes into per-token advantages. */
export interface AgentCredit {
  /** One advantage per policy token of the batch. */
  advantages(ab: AgentBatch): Float32Array;
  /** Loss rows are turns (true) or whole episodes (false). */
  turnRows: boolean;
  /** Extra metrics of the credit (e.g. the share of turns with a step-level group). */
  metrics?(ab: AgentBatch): IterationMetrics;
  /** Where an iteration's groups start and how many episodes each gets (default: B fresh problems × G). */
  plan?(collector: AgentGroupCollector, rng: Rng): { starts: AgentStart[]; groupSizes?: number[] };
  /** Called with each iteration's batch after the update (e.g. to record outcomes). */
  observe?(ab: AgentBatch): void;
  /**
   * REFUEL's regression in place of the clipped surrogate: groups are pairs, and the loss is
   * mean over pairs of ((Δlogπ_θ(y) − Δlogπ_θ(y')) − η·(Q̂(y) − Q̂(y')))², Δlogπ_θ the change of
   * the first turn's sequence log-probability since sampling.
   */
  regression?: { eta: number };
}

/** EPO's settings on a multi-turn run: those of the single-turn EPO, with J = the task's turn limit (real turns, not buckets). */
export type AgentEpoSettings = Omit<EpoSettings, "turns">;

/** Everything a multi-turn run needs built before training. */
export interface AgentSetup {
  task: AgentTask;
  policy: TokenPolicy;
  maxContextLength: number;
  malformedPenalty: number;
  makeEnv(split: "train" | "test"): AgentEnv;
}

/** The keys of a multi-turn run the setup reads. */
export interface AgentSetupConfig {
  task: string;
  taskOptions: Record<string, number | string | boolean>;
  init: string | null;
  chars: string | null;
  model: ModelConfig;
  seed: number;
  /** Resolved (resolveTextBackend): never "auto". */
  backend: RunBackend;
  kernelThreads?: "auto" | 1 | 2;
  malformedPenalty: number;
}

/** Builds the task and the policy, and checks that the tokenizer and the context fit the task. */
export async function agentSetup(c: AgentSetupConfig, rng: Rng): Promise<AgentSetup> {
  await initTextBackend(c.backend);
  const task = makeAgentTask(c.task, c.taskOptions);
  const policy = c.init ? await loadTokenPolicy(c.init) : newTextPolicy(c.model, rng, c.chars);
  placeOnBackend(policy, c);
  const maxContextLength = policy.model.config.contextLength;
  const makeEnv = (split: "train" | "test") => new AgentEnv({ task, tokenizer: policy.tokenizer, split, maxContextLength, malformedPenalty: c.malformedPenalty });
  makeEnv("train");
  // A task whose text (prompt, turns, observations) the tokenizer cannot encode fails here.
  const sample = task.sample(new Rng(0), "train");
  const history: string[] = [];
  let text = sample.prompt;
  sample.demonstration.forEach((turn, i) => {
    const r = task.respond(sample, turn, i, history);
    history.push(turn);
    text += turn + r.observation;
  });
  const unknown = [...new Set(text)].filter((ch) => !policy.tokenizer.chars.includes(ch));
  if (unknown.length) {
    throw new ConfigError(
      `task ${task.name} uses characters the policy's tokenizer lacks: ${unknown.map((ch) => JSON.stringify(ch)).join(", ")}`,
      c.init ? "start from a run whose tokenizer has them, or train a fresh model (init=null) with chars set" : `set chars to every character the task uses, e.g. --set 'chars=${JSON.stringify(policy.tokenizer.chars + unknown.join(""))}'`,
    );
  }
  // The demonstration must fit the context, or SFT could not show it.
  const env = makeEnv("train");
  env.startFrom(sample);
  for (const turn of sample.demonstration) {
    const ids = [...policy.tokenizer.encode(turn), 2];
    if (env.isDone || ids.length > env.turnBudget) {
      throw new ConfigError(
        `task ${task.name}: a demonstration (${sample.demonstration.length} turns) does not fit the model's context of ${maxContextLength} tokens`,
        `use a model with a longer model.contextLength (e.g. ${2 * maxContextLength})`,
      );
    }
    env.step(ids);
  }
  if (replayDemonstration(task, sample).score !== 1) throw new ConfigError(`task ${task.name}: its demonstration does not verify`, "fix the task");
  return { task, policy, maxContextLength, malformedPenalty: c.malformedPenalty, makeEnv };
}

/** The evaluation of every multi-turn run: greedy success (and turns, tool calls) on the first `evalProblems` test problems. */
export function greedyAgentEvaluation(setup: AgentSetup, evalProblems: number): AgentEvalResult {
  const problems = agentProblemSet(setup.task, "test", evalProblems, 0);
  return evaluateAgent(setup.policy, setup.task, problems, { samples: 1, temperature: 0, seed: 0, maxContextLength: setup.maxContextLength, malformedPenalty: setup.malformedPenalty });
}

/** The turn rows of a batch (episode after episode, turns in order) and each step's row. */
export function turnRowsOf(ab: AgentBatch): TurnRows & { rowOfStep: Int32Array; rowStart: Int32Array } {
  const group: number[] = [];
  const episode: number[] = [];
  const reward: number[] = [];
  const anchor: string[] = [];
  const rowStart: number[] = [];
  ab.turns.forEach((t, e) => {
    rowStart.push(group.length);
    t.records.forEach((r, k) => {
      group.push(ab.batch.episodeGroup[e]);
      episode.push(e);
      reward.push(r.reward);
      anchor.push(t.anchors[k]);
    });
  });
  const rs = Int32Array.from(rowStart);
  const rowOfStep = Int32Array.from(ab.stepTurn, (turn, s) => rs[ab.batch.episodeIndex[s]] + turn);
  return { group: Int32Array.from(group), episode: Int32Array.from(episode), reward: Float32Array.from(reward), anchor, rowOfStep, rowStart: rs };
}

export class AgentGroupOptimizer implements Algorithm {
  readonly name: string;
  readonly optimizer: ArrayAdam;
  private readonly reference: TokenPolicy | null;
  private readonly collector: AgentGroupCollector;
  private rng: Rng;
  private iterationsDone = 0;
  private tokenCount = 0;
  private episodes: { return: number; length: number }[] = [];
  private lastSampled: AgentBatch | null = null;
  /** EPO: the mean entropy of each real turn, over the iterations so far. */
  private readonly history: EntropyHistory | null;

  private constructor(
    readonly recipe: GroupRecipe,
    readonly credit: AgentCredit,
    /** The config with its backend resolved (never "auto"). */
    readonly config: AgentRlConfig & { backend: RunBackend },
    /** The backend the caller asked for ("auto" refuses a checkpoint of another backend). */
    readonly requestedBackend: AgentRlConfig["backend"],
    readonly setup: AgentSetup,
    rng: Rng,
    reference: TokenPolicy | null,
  ) {
    this.name = recipe.name;
    this.rng = rng;
    this.reference = reference;
    this.optimizer = new ArrayAdam(setup.policy.model.parameters(), { learningRate: config.learningRate, epsilon: 1e-8, kernels: setup.policy.model.backend === "kernels" });
    this.history = recipe.epo ? new EntropyHistory(recipe.epo.turns) : null;
    this.collector = new AgentGroupCollector(() => setup.makeEnv("train"), setup.policy, {
      numPrompts: config.numPrompts,
      groupSize: config.groupSize,
      temperature: config.temperature,
      topK: config.topK,
    });
  }

  static async create(name: string, credit: AgentCredit, requested: AgentRlConfig, epo: AgentEpoSettings | null = null): Promise<AgentGroupOptimizer> {
    const config = { ...requested, backend: resolveTextBackend(requested.backend) };
    const root = new Rng(config.seed);
    const setup = await agentSetup(config, root.split());
    let reference: TokenPolicy | null = null;
    if (config.beta > 0) {
      reference = config.init ? await loadTokenPolicy(config.init) : newTextPolicy(config.model, new Rng(0), config.chars);
      reference.setWeights(setup.policy.getWeights());
      placeOnBackend(reference, config);
    }
    const recipe = { ...agentRecipe(name, config), epo: epo ? { ...epo, turns: setup.task.maxTurns } : null };
    return new AgentGroupOptimizer(recipe, credit, config, requested.backend, setup, root.split(), reference);
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  get policy(): TokenPolicy {
    return this.setup.policy;
  }
  get iteration(): number {
    return this.iterationsDone;
  }
  get totalIterations(): number {
    return this.config.iterations;
  }
  /** Policy tokens sampled so far. */
  get stepsDone(): number {
    return this.tokenCount;
  }
  get stepsPerIteration(): number {
    return this.iterationsDone > 0 ? this.tokenCount / this.iterationsDone : this.config.numPrompts * this.config.groupSize;
  }

  /** One iteration from given starts (the default draws B new problems): V₀-style budgets pass their own group sizes. */
  iterate(): IterationMetrics {
    return this.iterateOn();
  }

  protected iterateOn(starts?: AgentStart[], groupSizes?: number[]): IterationMetrics {
    const c = this.config;
    const lr = textLearningRate(c, this.iterationsDone);
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));
    const kl = this.recipe.kl;
    if (this.reference && kl && kl.refUpdateEvery > 0 && this.iterationsDone > 0 && this.iterationsDone % kl.refUpdateEvery === 0) this.reference.setWeights(this.policy.getWeights());

    const t0 = performance.now();
    if (!starts && this.credit.plan) ({ starts, groupSizes } = this.credit.plan(this.collector, this.rng));
    const ab = this.collector.collect(this.rng, starts, groupSizes);
    this.lastSampled = ab;
    const t1 = performance.now();
    const batch = ab.batch;
    const adv = this.credit.advantages(ab);
    const refLogProbs = this.reference ? this.logProbsOf(this.reference, ab) : null;
    // EPO: this iteration's mean entropy per real turn joins the history before the update, as on single-turn tasks.
    const turns = this.history ? epoTurnsOf(ab, this.history.turns) : null;
    if (this.history && turns) this.history.append(perTurnEntropy(batch, ab.entropy, turns, this.history.turns));
    const reference = this.history ? this.history.reference() : null;
    const progress = Math.min(1, this.iterationsDone / c.iterations);
    const regression = this.credit.regression;
    const units = regression ? batch.numGroups : batch.numEpisodes;
    const numMinibatches = Math.max(1, Math.min(this.recipe.numMinibatches, units));
    const stats = runEpochs(this.recipe, units, numMinibatches, this.rng, (picked) => {
      if (regression) return this.regressionStep(ab, picked, regression.eta);
      const mb = gatherMinibatch(batch, picked, adv, null, refLogProbs, turns, reference);
      if (this.credit.turnRows) mb.lengths = turnLengths(ab, mb.rows);
      return mb.numSteps === 0 ? null : this.policyStep(ab, picked, mb, progress);
    });
    this.credit.observe?.(ab);
    const t2 = performance.now();

    this.iterationsDone++;
    this.tokenCount += batch.numSteps;
    for (let e = 0; e < batch.numEpisodes; e++) this.episodes.push({ return: batch.episodeReturn[e], length: ab.turns[e].records.length });
    const mean = (x: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += x[i];
      return x.length ? sum / x.length : 0;
    };
    const perEpisode = (f: (e: number) => number) => mean(Array.from({ length: batch.numEpisodes }, (_, e) => f(e)));
    return {
      learningRate: lr,
      ...stats,
      rewardMean: mean(batch.episodeReturn),
      correctFraction: mean(ab.correct),
      turnsMean: perEpisode((e) => ab.turns[e].records.length),
      toolCallsMean: perEpisode((e) => ab.turns[e].records.filter((r) => r.toolCall).length),
      malformedMean: perEpisode((e) => ab.turns[e].records.filter((r) => r.malformed).length),
      policyTokensMean: mean(batch.episodeLength),
      truncatedFraction: mean(batch.truncated),
      zeroVarianceGroups: zeroVarianceGroupFraction(batch.episodeReturn, batch.episodeGroup),
      ...(this.credit.metrics?.(ab) ?? {}),
      iterationTokens: batch.numSteps,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
      sampledTokensPerSecond: batch.numSteps / Math.max((t1 - t0) / 1000, 1e-9),
    };
  }

  /**
   * One forward over episodes `eps`. The turns played before a mid-episode start (REFUEL's
   * roll-in) go with the transcript, not the context: the forward lays contexts out to the
   * longest one and transcripts after it, so a long roll-in beside a long continuation would
   * not fit the model's context although each episode does.
   */
  private evaluateEpisodes(policy: TokenPolicy, ab: AgentBatch, eps: number[], withTrace: boolean) {
    const cut = (e: number) => ab.prefixLengths?.[e] ?? 0;
    const contexts = eps.map((e) => ab.contexts[e].subarray(0, ab.contexts[e].length - cut(e)));
    const completions = eps.map((e) => {
      const prefix = ab.contexts[e].subarray(ab.contexts[e].length - cut(e));
      const out = new Int32Array(prefix.length + ab.transcripts[e].length);
      out.set(prefix);
      out.set(ab.transcripts[e], prefix.length);
      return out;
    });
    return policy.evaluate(contexts, completions, this.config.temperature, withTrace);
  }

  /** Where each episode's first transcript token sits in the flat output of evaluateEpisodes. */
  private forwardRows(ab: AgentBatch, eps: number[]): { offset: Map<number, number> } {
    const offset = new Map<number, number>();
    let o = 0;
    for (const e of eps) {
      const cut = ab.prefixLengths?.[e] ?? 0;
      offset.set(e, o + cut);
      o += cut + ab.transcripts[e].length;
    }
    return { offset };
  }

  private pickOf(ab: AgentBatch, offset: Map<number, number>, rows: ArrayLike<number>): Int32Array {
    const b = ab.batch;
    return Int32Array.from(rows, (t) => {
      const e = b.episodeIndex[t];
      return (offset.get(e) as number) + ab.policyPositions[e][t - b.episodeStart[e]];
    });
  }

  private policyStep(ab: AgentBatch, episodes: Int32Array, mb: Minibatch, progress: number): StepDiagnostics {
    const eps = Array.from(episodes);
    const out = this.evaluateEpisodes(this.policy, ab, eps, true);
    const { offset } = this.forwardRows(ab, eps);
    const pick = this.pickOf(ab, offset, mb.rows);
    const grads = stepLossGradients(this.recipe, out, pick, mb, this.setup.task.maxTurnLength * (this.credit.turnRows ? 1 : this.setup.task.maxTurns), progress);
    const paramGrads = this.policy.backward(out.pass as NonNullable<typeof out.pass>, grads.dLogProbAll, grads.dEntropyAll);
    const gradNorm = this.optimizer.applyGradients(paramGrads, this.config.maxGradNorm);
    return readDiagnostics(grads.diagnostics, gradNorm);
  }

  /**
   * One Adam step of REFUEL's least squares on some pairs (groups of two episodes from one
   * start). The gradient is by hand: dL/dlogπ of a token of y's first turn is 2·res/P, of y''s
   * −2·res/P (P pairs); every other token gets 0.
   */
  private regressionStep(ab: AgentBatch, groups: Int32Array, eta: number): StepDiagnostics | null {
    const b = ab.batch;
    const pairs: [number, number][] = [];
    for (const g of groups) {
      const members: number[] = [];
      for (let e = 0; e < b.numEpisodes; e++) if (b.episodeGroup[e] === g) members.push(e);
      if (members.length === 2 && b.episodeLength[members[0]] > 0 && b.episodeLength[members[1]] > 0) pairs.push([members[0], members[1]]);
    }
    if (pairs.length === 0) return null;
    const eps = pairs.flat();
    const out = this.evaluateEpisodes(this.policy, ab, eps, true);
    const { offset } = this.forwardRows(ab, eps);
    // The first turn's tokens of each episode: where they sit in the forward, and their sampled log-probabilities.
    const firstTurn = (e: number) => {
      const n = ab.turns[e].records[0].length;
      const rows = Array.from({ length: n }, (_, k) => b.episodeStart[e] + k);
      const pick = this.pickOf(ab, offset, rows);
      let now = 0;
      let old = 0;
      rows.forEach((t, k) => {
        now += out.logProb[pick[k]];
        old += b.logProbs[t];
      });
      return { pick, delta: now - old };
    };
    const dLogProb = new Float32Array(out.logProb.length);
    let loss = 0;
    for (const [y, y2] of pairs) {
      const a = firstTurn(y);
      const c = firstTurn(y2);
      const res = refuelResidual(a.delta, c.delta, b.episodeReturn[y], b.episodeReturn[y2], eta);
      loss += res * res;
      for (const i of a.pick) dLogProb[i] += (2 * res) / pairs.length;
      for (const i of c.pick) dLogProb[i] -= (2 * res) / pairs.length;
    }
    const grads = this.policy.backward(out.pass as NonNullable<typeof out.pass>, dLogProb, null);
    const gradNorm = this.optimizer.applyGradients(grads, this.config.maxGradNorm);
    let entropy = 0;
    for (const x of out.entropy) entropy += x;
    return { policyLoss: loss / pairs.length, entropy: entropy / Math.max(1, out.entropy.length), approxKl: 0, clipFraction: 0, klRef: 0, epoPenalty: 0, epoOutOfBand: 0, gradNorm };
  }

  /** logπ of every policy step of the batch under `policy` (π_ref). */
  private logProbsOf(policy: TokenPolicy, ab: AgentBatch): Float32Array {
    const b = ab.batch;
    const logProb = new Float32Array(b.numSteps);
    const chunk = 32;
    for (let e0 = 0; e0 < b.numEpisodes; e0 += chunk) {
      const eps = Array.from({ length: Math.min(chunk, b.numEpisodes - e0) }, (_, k) => e0 + k);
      const out = this.evaluateEpisodes(policy, ab, eps, false);
      const { offset } = this.forwardRows(ab, eps);
      const first = b.episodeStart[e0];
      const last = e0 + eps.length - 1;
      const rows = Array.from({ length: b.episodeStart[last] + b.episodeLength[last] - first }, (_, k) => first + k);
      this.pickOf(ab, offset, rows).forEach((i, k) => (logProb[first + k] = out.logProb[i]));
    }
    return logProb;
  }

  sampleCompletions(count: number): SampledCompletion[] {
    const s = this.lastSampled;
    return s ? spreadCompletions(s, s.texts, count, (e) => completionTurns(s, e)) : [];
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  evaluate(): AgentEvalResult {
    return greedyAgentEvaluation(this.setup, this.config.evalProblems);
  }

  actingPolicy(seed: number): ActingPolicy {
    return textActingPolicy(this.policy, seed);
  }

  makeEvalEnv(): never {
    throw new ConfigError(`${this.name} on a multi-turn task evaluates with its own episodes (evaluate()), not with a step env`, "use refinery eval RUN_DIR or evaluateAgent");
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "policy/", this.policy.getWeights());
    if (this.reference) putWeights(arrays, "reference/", this.reference.getWeights());
    const adam = putAdam(arrays, "adam", this.optimizer.getState());
    const epo = this.history ? { entropyHistory: this.history.getState() } : {};
    return { json: { iteration: this.iterationsDone, steps: this.tokenCount, rng: this.rng.getState(), adam, backend: this.config.backend, ...epo }, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    checkCheckpointBackend(this.requestedBackend, this.config.backend, json.backend);
    this.policy.setWeights(prefixed(arrays, "policy/"));
    if (this.reference) this.reference.setWeights(prefixed(arrays, "reference/"));
    this.optimizer.setState(takeAdam(json, arrays, "adam"));
    if (this.history) this.history.setState(json.entropyHistory as EntropyHistoryState);
    this.rng = Rng.fromState(json.rng as RngState);
    this.iterationsDone = json.iteration as number;
    this.tokenCount = json.steps as number;
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: agentPolicySpec(this.policy, this.config), weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }

  dispose(): void {}
}

/** What a saved multi-turn policy's model.json records beside its weights. */
export function agentPolicySpec(policy: TokenPolicy, c: { task: string; taskOptions: Record<string, unknown>; temperature?: number; malformedPenalty: number }): Record<string, unknown> {
  return { ...policy.spec, task: c.task, taskOptions: c.taskOptions, temperature: c.temperature ?? 1, malformedPenalty: c.malformedPenalty, multiTurn: true };
}

/** The clipped-surrogate recipe of a multi-turn run (its advantages come from the credit, not from here). */
export function agentRecipe(name: string, c: AgentRlConfig): GroupRecipe {
  return {
    name,
    config: c as unknown as GroupCommonConfig,
    advantages: () => {
      throw new Error("multi-turn runs take advantages from their credit");
    },
    objective: "clip",
    clipLow: c.clipLow,
    clipHigh: c.clipHigh,
    updateEpochs: c.updateEpochs,
    numMinibatches: c.numMinibatches,
    lossAggregation: c.lossAggregation as GroupRecipe["lossAggregation"],
    entCoef: c.entCoef,
    kl: c.beta > 0 ? { beta: c.beta, estimator: c.klEstimator, refUpdateEvery: c.refUpdateEvery } : null,
    epo: null,
    critic: null,
  };
}

/** Episode e's turns as completions.jsonl records them: the policy's text and the env's answer apart. */
export function completionTurns(ab: Pick<AgentBatch, "turns">, e: number): CompletionTurn[] {
  return ab.turns[e].records.map((r) => ({ text: r.text, observation: r.observation, toolCall: r.toolCall, malformed: r.malformed, role: r.role }));
}

/**
 * EPO's turn j of each policy token: the real turn of its episode it was written in (0-based),
 * capped at J − 1 (a task may let an episode run past its nominal turn limit, e.g. critique's
 * refinement).
 */
export function epoTurnsOf(ab: Pick<AgentBatch, "stepTurn">, J: number): Int32Array {
  return Int32Array.from(ab.stepTurn, (t) => Math.min(J - 1, t));
}

/** The minibatch's rows split at turn boundaries: one loss row per (episode, turn). */
export function turnLengths(ab: AgentBatch, rows: Int32Array): number[] {
  const lengths: number[] = [];
  let prev = -1;
  for (const t of rows) {
    const key = ab.batch.episodeIndex[t] * 4096 + ab.stepTurn[t];
    if (key !== prev) lengths.push(0);
    lengths[lengths.length - 1]++;
    prev = key;
  }
  return lengths;
}

/**
 * REFUEL's residual for one pair sharing a prefix: (Δ(y) − Δ(y')) − η·(Q̂(y) − Q̂(y')), with
 * Δ = logπ_θ − logπ_t of the turn's tokens summed; the loss is its square.
 */
export function refuelResidual(deltaY: number, deltaY2: number, qY: number, qY2: number, eta: number): number {
  return deltaY - deltaY2 - eta * (qY - qY2);
}
