import { ConfigError, describeValue, EnvError } from "../../../core/errors.js";
import { Rng, type RngState } from "../../../core/rng.js";
import type { Split } from "../task.js";
import { CharTokenizer, EOS, PAD, BOS } from "../tokenizer.js";
import type { AgentProblem, AgentTask, TurnResponse } from "./task.js";

const ENV_NAME = "AgentEnv";

export interface AgentEnvOptions {
  task: AgentTask;
  tokenizer?: CharTokenizer;
  split?: Split;
  /** Tokens the model reads at most (its context length): BOS + prompt + every turn and observation + the next turn must fit. */
  maxContextLength: number;
  /** Reward added for every malformed turn (e.g. −0.1); default 0. */
  malformedPenalty?: number;
}

/** What one turn did, as the env recorded it. */
export interface TurnRecord {
  /** The turn's text (up to EOS). */
  text: string;
  /** Token count of the turn (EOS included when written). */
  length: number;
  /** The observation appended after it ("" when the episode ended with it). */
  observation: string;
  toolCall: boolean;
  malformed: boolean;
  /** Reward of the turn: the malformed penalty, plus the outcome on the last turn. */
  reward: number;
  /** The task's process score of the turn, in [0, 1]. */
  score: number;
  /** Who wrote it: the actor, or the policy as a critic (critique-and-refine tasks). */
  role: "actor" | "critic";
  /** The task's own reward of the turn (included in `reward`). */
  taskReward: number;
}

export interface AgentStepResult {
  /** The observation's tokens (appended to the context; empty when the episode ended). */
  observationTokens: Int32Array;
  reward: number;
  /** The policy gave its final answer. */
  terminated: boolean;
  /** The turn limit or the context limit was reached first. */
  truncated: boolean;
  /** 1 when the final answer verifies (0 when truncated). */
  correct: number;
}

/**
 * A multi-turn text task as an environment whose action is a whole turn (the tokens the policy
 * wrote, up to and including EOS) and whose observation is the text the task answers with.
 *
 * The env keeps the transcript after the context (BOS + prompt): every turn's tokens, then the
 * observation's, and a mask with 1 for what the policy wrote (trained) and 0 for what the env
 * wrote (read, never trained). The episode ends when the policy answers (terminated; reward 1
 * if the verifier accepts the answer), after `task.maxTurns` turns, or when the next turn could
 * not fit the model's context (truncated; reward 0). getState/setState snapshot it at any turn
 * boundary: several episodes can continue from one conversation prefix.
 */
export class AgentEnv {
  readonly task: AgentTask;
  readonly tokenizer: CharTokenizer;
  readonly split: Split;
  readonly maxContextLength: number;
  readonly malformedPenalty: number;
  private current: { problem: AgentProblem; promptIds: Int32Array; drawnFrom: RngState | null } | null = null;
  private rng: Rng = new Rng(0);
  private tokens: number[] = [];
  private mask: number[] = [];
  private records: TurnRecord[] = [];
  private done = false;
  private last: AgentStepResult | null = null;

  constructor(options: AgentEnvOptions) {
    const { task, tokenizer = new CharTokenizer(), split = "train", maxContextLength, malformedPenalty = 0 } = options ?? ({} as AgentEnvOptions);
    if (!task || typeof task.respond !== "function") throw new ConfigError(`${ENV_NAME}: task ${describeValue(task)} is not an AgentTask`, 'pass { task: makeAgentTask("calc") }');
    if (split !== "train" && split !== "test") throw new ConfigError(`${ENV_NAME}: split ${describeValue(split)} is not a split`, 'pass "train" or "test"');
    if (!Number.isFinite(malformedPenalty)) throw new ConfigError(`${ENV_NAME}: malformedPenalty ${describeValue(malformedPenalty)} is not a number`, "pass e.g. -0.1 or 0");
    const least = 1 + task.maxPromptLength + task.maxTurnLength;
    if (!Number.isSafeInteger(maxContextLength) || maxContextLength < least) {
      throw new ConfigError(
        `${ENV_NAME}: maxContextLength ${describeValue(maxContextLength)} cannot hold BOS, a prompt of task ${task.name} (${task.maxPromptLength}) and one turn (${task.maxTurnLength})`,
        `use a model with contextLength ≥ ${least} (better: room for ${task.maxTurns} turns and their observations)`,
      );
    }
    this.task = task;
    this.tokenizer = tokenizer;
    this.split = split;
    this.maxContextLength = maxContextLength;
    this.malformedPenalty = malformedPenalty;
  }

  /** Draws a problem of the split (seeded). */
  reset(seed?: number): { prompt: string; problem: AgentProblem } {
    if (seed !== undefined) this.rng = new Rng(seed);
    const drawnFrom = this.rng.getState();
    const problem = this.task.sample(this.rng, this.split);
    this.begin(problem, drawnFrom);
    return { prompt: problem.prompt, problem };
  }

  /** Starts an episode on a given problem (evaluation on a fixed problem set); such an episode has no snapshot. */
  startFrom(problem: AgentProblem): void {
    this.begin(problem, null);
  }

  private begin(problem: AgentProblem, drawnFrom: RngState | null): void {
    this.current = { problem, promptIds: this.tokenizer.encode(problem.prompt), drawnFrom };
    this.tokens = [];
    this.mask = [];
    this.records = [];
    this.done = false;
    this.last = null;
  }

  /** The result of the latest turn (null before the first). */
  get lastResult(): AgentStepResult | null {
    return this.last;
  }

  /** The tokens the model reads before the first turn: BOS + prompt. */
  get context(): Int32Array {
    const p = this.state().promptIds;
    const out = new Int32Array(p.length + 1);
    out[0] = BOS;
    out.set(p, 1);
    return out;
  }

  /** Everything after the context: turns and observations, as token ids (a copy). */
  get transcript(): Int32Array {
    return Int32Array.from(this.tokens);
  }

  /** 1 for each transcript token the policy wrote, 0 for the env's (a copy). */
  get policyMask(): Uint8Array {
    return Uint8Array.from(this.mask);
  }

  get problem(): AgentProblem {
    return this.state().problem;
  }

  get turns(): readonly TurnRecord[] {
    return this.records;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Tokens the next turn may have: the task's turn limit, or less near the end of the context. */
  get turnBudget(): number {
    return Math.min(this.task.maxTurnLength, this.maxContextLength - this.context.length - this.tokens.length);
  }

  /** Plays one turn: the policy's tokens (EOS ends the turn; a turn cut at the length limit has none). */
  step(turnTokens: ArrayLike<number>): AgentStepResult {
    const s = this.state();
    if (this.done) throw new EnvError("episode_over", `${ENV_NAME}: step() after the episode ended (${this.records.length} turns) without reset()`, "call reset() once terminated or truncated is true");
    const ids = Array.from(turnTokens);
    if (ids.length === 0 || ids.length > this.turnBudget) {
      throw new EnvError("invalid_action", `${ENV_NAME}: a turn of ${ids.length} tokens; this turn may have 1..${this.turnBudget}`, "sample at most turnBudget tokens, stopping at EOS");
    }
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= this.tokenizer.vocabSize) throw new EnvError("invalid_action", `${ENV_NAME}: token ${describeValue(t)} is outside the vocabulary`, "pass token ids of the env's tokenizer");
      if (t === EOS && i !== ids.length - 1) throw new EnvError("invalid_action", `${ENV_NAME}: EOS inside a turn (position ${i})`, "end the turn at its first EOS");
    });
    const text = this.textOf(ids);
    const history = this.records.map((r) => r.text);
    const response = this.task.respond(s.problem, text, this.records.length, history);
    const score = this.task.processScore(s.problem, text, response, this.records.length, history);
    return this.apply(ids, text, response, score);
  }

  private apply(ids: number[], text: string, response: TurnResponse, score: number): AgentStepResult {
    const problem = this.state().problem;
    for (const t of ids) {
      this.tokens.push(t);
      this.mask.push(1);
    }
    const taskReward = response.reward ?? 0;
    let reward = (response.malformed ? this.malformedPenalty : 0) + taskReward;
    let correct = 0;
    const terminated = response.done;
    let observation = terminated ? "" : response.observation;
    let obsIds = terminated ? new Int32Array(0) : this.tokenizer.encode(observation);
    const turnsUsed = this.records.length + 1;
    // The next turn needs its full budget after the observation; otherwise the context is full.
    const contextFull = !terminated && this.context.length + this.tokens.length + obsIds.length + this.task.maxTurnLength > this.maxContextLength;
    const truncated = !terminated && (turnsUsed >= this.task.maxTurns || contextFull);
    if (truncated) {
      observation = "";
      obsIds = new Int32Array(0);
    }
    if (terminated) {
      correct = response.answer === undefined ? 0 : this.task.verify(problem, response.answer) >= 1 ? 1 : 0;
      reward += this.task.verify(problem, response.answer ?? "");
    }
    for (const t of obsIds) {
      this.tokens.push(t);
      this.mask.push(0);
    }
    this.records.push({ text, length: ids.length, observation, toolCall: response.toolCall, malformed: response.malformed, reward, score, role: response.role ?? "actor", taskReward });
    this.done = terminated || truncated;
    this.last = { observationTokens: obsIds, reward, terminated, truncated, correct };
    return this.last;
  }

  /** The text of a turn's tokens up to EOS; PAD and BOS read as "\uFFFD" (never a valid call). */
  private textOf(ids: number[]): string {
    let text = "";
    for (const t of ids) {
      if (t === EOS) break;
      text += t === PAD || t === BOS ? "\uFFFD" : this.tokenizer.charOf(t);
    }
    return text;
  }

  /**
   * Snapshot at a turn boundary: [split, 6 numbers of the generator before the problem was drawn,
   * 6 of the generator now, turns, then per turn its token count and tokens]. Observations are
   * not stored: the task's answers are re-derived from the turns.
   */
  getState(): number[] {
    const s = this.state();
    if (s.drawnFrom === null) throw new EnvError("no_snapshot", `${ENV_NAME}: getState() on an episode started from a given problem`, "start it with reset(seed) to take snapshots");
    const out = [this.split === "test" ? 1 : 0, ...rngToNumbers(s.drawnFrom), ...rngToNumbers(this.rng.getState()), this.records.length];
    let at = 0;
    for (const r of this.records) {
      out.push(r.length, ...this.tokens.slice(at, at + r.length));
      at += r.length + this.tokenizer.encode(r.observation).length;
    }
    return out;
  }

  setState(state: number[]): void {
    const bad = (why: string): never => {
      throw new ConfigError(`${ENV_NAME}: setState got ${describeValue(state)}: ${why}`, "pass an array returned by getState() of an env with the same task and split", "invalid_state");
    };
    if (!Array.isArray(state) || state.length < 14 || state.some((v) => typeof v !== "number" || !Number.isFinite(v))) bad("expected at least 14 finite numbers");
    if (state[0] !== (this.split === "test" ? 1 : 0)) bad(`it was taken in another split than ${this.split}`);
    const drawnFrom = rngFromNumbers(state.slice(1, 7));
    const same = this.current !== null && this.current.drawnFrom !== null && sameRng(this.current.drawnFrom, drawnFrom);
    const problem = same ? (this.current as NonNullable<typeof this.current>).problem : this.task.sample(Rng.fromState(drawnFrom), this.split);
    this.begin(problem, drawnFrom);
    this.rng.setState(rngFromNumbers(state.slice(7, 13)));
    const turns = state[13];
    let at = 14;
    for (let i = 0; i < turns; i++) {
      const len = state[at];
      if (!(len >= 1) || at + 1 + len > state.length) bad(`turn ${i} is cut short`);
      const ids = state.slice(at + 1, at + 1 + len);
      at += 1 + len;
      if (this.done) bad("it has turns after the episode ended");
      this.step(ids);
    }
    if (at !== state.length) bad("it has numbers after its last turn");
  }

  private state(): NonNullable<typeof this.current> {
    if (this.current === null) throw new EnvError("reset_needed", `${ENV_NAME}: used before reset()`, "call env.reset(seed) first");
    return this.current;
  }
}

function rngToNumbers(r: RngState): number[] {
  return [...r.s, r.spare === null ? 0 : 1, r.spare ?? 0];
}

function rngFromNumbers(x: number[]): RngState {
  return { s: x.slice(0, 4), spare: x[4] === 1 ? x[5] : null };
}

function sameRng(a: RngState, b: RngState): boolean {
  return a.s.every((w, i) => w === b.s[i]) && a.spare === b.spare;
}
