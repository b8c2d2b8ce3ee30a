import { ConfigError, describeValue, EnvError } from "../../core/errors.js";
import { Rng, type RngState } from "../../core/rng.js";
import { Discrete, MultiDiscrete } from "../../core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type Snapshotable, type StepResult } from "../env.js";
import { discreteAction, requireReset } from "../validate.js";
import { makeTask } from "./registry.js";
import { correctnessReward, type RewardFn } from "./rewards.js";
import type { Split, TextProblem, TextTask } from "./task.js";
import { BOS, CharTokenizer, EOS } from "./tokenizer.js";

const ENV_NAME = "TextEnv";

export interface TextEnvOptions {
  task: TextTask;
  /** Default: `new CharTokenizer()` (DEFAULT_CHARS). */
  tokenizer?: CharTokenizer;
  /** Which problems reset draws. Default "train". */
  split?: Split;
  /** Reward of the finished completion. Default: `correctnessReward` (task.verify). */
  reward?: RewardFn;
  /** Tokens the policy may generate before the episode is truncated. Default `task.maxCompletionLength`. */
  maxCompletionLength?: number;
}

/**
 * Snapshot layout (`getState()`), all numbers:
 *   [0]      split (0 train, 1 test)
 *   [1..6]   generator state before the problem was drawn: 4 words, has-spare flag, spare
 *   [7..12]  generator state now (the same layout)
 *   [13..]   the tokens generated so far (EOS last if the policy ended the episode)
 * The problem is not stored but re-drawn from [1..6]: a task's `sample` is deterministic
 * given the generator state.
 */
const HEADER = 13;

/**
 * A text task as an environment: an episode is one completion, an action is one token.
 *
 * - Observation: Int32Array of `contextLength = 1 + maxPromptLength + maxCompletionLength + 1`
 *   token ids — BOS, the prompt, the completion so far, PAD to the right
 *   (MultiDiscrete with every entry in [0, vocabSize)).
 * - Action: Discrete(vocabSize), a token id. EOS ends the completion (terminated); after
 *   `maxCompletionLength` other tokens the episode is truncated. PAD and BOS are legal
 *   actions but become "\uFFFD" in the completion, which no verifier accepts.
 * - Reward: 0 on every step but the last, which gets `reward(problem, completion, task)`;
 *   its info holds `{ completion, correct }` (correct = task.verify).
 * - reset draws a problem of the split from `npRandom`; info `{ prompt, problem }`.
 * - getState/setState snapshot the problem, the completion so far and the generator.
 */
export class TextEnv extends BaseEnv<Int32Array, number> implements Snapshotable {
  readonly task: TextTask;
  readonly tokenizer: CharTokenizer;
  readonly split: Split;
  readonly maxCompletionLength: number;
  readonly contextLength: number;
  readonly observationSpace: MultiDiscrete;
  readonly actionSpace: Discrete;
  private readonly reward: RewardFn;

  private current: { problem: TextProblem; promptIds: Int32Array; drawnFrom: RngState } | null = null;
  private tokens: number[] = [];
  private done = false;

  constructor(options: TextEnvOptions) {
    super();
    const { task, tokenizer = new CharTokenizer(), split = "train", reward = correctnessReward } = options ?? ({} as TextEnvOptions);
    if (!task || typeof task.sample !== "function" || typeof task.verify !== "function") {
      throw new ConfigError(`${ENV_NAME}: task ${describeValue(task)} is not a TextTask`, 'pass { task: makeTask("addition") } or use makeTextEnv(name)');
    }
    if (split !== "train" && split !== "test") throw new ConfigError(`${ENV_NAME}: split ${describeValue(split)} is not a split`, 'pass "train" or "test"');
    if (typeof reward !== "function") throw new ConfigError(`${ENV_NAME}: reward ${describeValue(reward)} is not a function`, "pass a RewardFn, e.g. combineRewards([...])");
    const maxCompletionLength = options.maxCompletionLength ?? task.maxCompletionLength;
    if (!Number.isSafeInteger(maxCompletionLength) || maxCompletionLength < 1) {
      throw new ConfigError(`${ENV_NAME}: maxCompletionLength ${describeValue(maxCompletionLength)} is not a positive integer`, "pass e.g. task.maxCompletionLength");
    }
    this.task = task;
    this.tokenizer = tokenizer;
    this.split = split;
    this.reward = reward;
    this.maxCompletionLength = maxCompletionLength;
    this.contextLength = 1 + task.maxPromptLength + maxCompletionLength + 1;
    this.observationSpace = new MultiDiscrete(new Array<number>(this.contextLength).fill(tokenizer.vocabSize));
    this.actionSpace = new Discrete(tokenizer.vocabSize);
    this.probe();
  }

  /** Fails at construction, not mid-training, when the tokenizer or the lengths do not fit the task. */
  private probe(): void {
    const problem = this.task.sample(new Rng(0), this.split);
    this.encodePrompt(problem.prompt);
    const solution = this.tokenizer.encode(problem.solution);
    if (solution.length > this.maxCompletionLength) {
      throw new ConfigError(
        `${ENV_NAME}: the solution ${JSON.stringify(problem.solution)} of task ${this.task.name} has ${solution.length} tokens, more than maxCompletionLength ${this.maxCompletionLength}`,
        "raise maxCompletionLength",
      );
    }
  }

  private encodePrompt(prompt: string): Int32Array {
    const ids = this.tokenizer.encode(prompt);
    if (ids.length > this.task.maxPromptLength) {
      throw new ConfigError(
        `${ENV_NAME}: prompt ${JSON.stringify(prompt)} of task ${this.task.name} has ${ids.length} tokens, more than its maxPromptLength ${this.task.maxPromptLength}`,
        "fix the task's maxPromptLength",
      );
    }
    return ids;
  }

  override reset(args?: ResetArgs): [Int32Array, Info] {
    this.seedFromReset(args);
    const drawnFrom = this.npRandom.getState();
    const problem = this.task.sample(this.npRandom, this.split);
    this.current = { problem, promptIds: this.encodePrompt(problem.prompt), drawnFrom };
    this.tokens = [];
    this.done = false;
    return [this.observation(), { prompt: problem.prompt, problem }];
  }

  override step(action: number): StepResult<Int32Array> {
    const token = discreteAction(action, this.actionSpace, ENV_NAME);
    requireReset(this.current !== null, ENV_NAME);
    if (this.done) {
      throw new EnvError(
        "episode_over",
        `${ENV_NAME}: step() was called after the completion ended (${this.tokens.length} tokens) without reset()`,
        "call env.reset() once terminated or truncated is true",
      );
    }
    this.tokens.push(token);
    const terminated = token === EOS;
    const truncated = !terminated && this.tokens.length >= this.maxCompletionLength;
    if (!terminated && !truncated) return [this.observation(), 0, false, false, {}];

    this.done = true;
    const { problem } = this.current!;
    const completion = this.completion;
    const reward = this.reward(problem, completion, this.task);
    if (typeof reward !== "number" || !Number.isFinite(reward)) {
      throw new EnvError("invalid_reward", `${ENV_NAME}: the reward function returned ${describeValue(reward)} for ${JSON.stringify(completion)}`, "make the reward function return a finite number");
    }
    return [this.observation(), reward, terminated, truncated, { completion, correct: this.task.verify(problem, completion) }];
  }

  /** The current problem. */
  get problem(): TextProblem {
    if (this.current === null) throw new EnvError("reset_needed", `${ENV_NAME}: the problem was read before reset()`, "call env.reset() first");
    return this.current.problem;
  }

  /** Tokens generated so far in this episode (EOS included if generated), a copy. */
  get completionTokens(): Int32Array {
    return Int32Array.from(this.tokens);
  }

  /** The completion so far as text: up to EOS, with "\uFFFD" for PAD and BOS tokens. */
  get completion(): string {
    let text = "";
    for (const t of this.tokens) {
      if (t === EOS) break;
      text += this.tokenizer.charOf(t);
    }
    return text;
  }

  private observation(): Int32Array {
    const obs = new Int32Array(this.contextLength); // PAD = 0
    obs[0] = BOS;
    const prompt = this.current!.promptIds;
    obs.set(prompt, 1);
    for (let i = 0; i < this.tokens.length; i++) obs[1 + prompt.length + i] = this.tokens[i];
    return obs;
  }

  /** See the layout at HEADER. */
  getState(): number[] {
    requireReset(this.current !== null, ENV_NAME, "getState");
    return [this.split === "test" ? 1 : 0, ...rngToNumbers(this.current!.drawnFrom), ...rngToNumbers(this.npRandom.getState()), ...this.tokens];
  }

  setState(state: number[]): void {
    const s = this.checkState(state);
    const drawnFrom = rngFromNumbers(s.slice(1, 7));
    // Groups restore the same snapshot many times: re-draw the problem only when it changed.
    const same = this.current !== null && sameRng(this.current.drawnFrom, drawnFrom);
    if (!same) {
      const problem = this.task.sample(Rng.fromState(drawnFrom), this.split);
      this.current = { problem, promptIds: this.encodePrompt(problem.prompt), drawnFrom };
    }
    this.npRandom.setState(rngFromNumbers(s.slice(7, 13)));
    this.tokens = s.slice(HEADER);
    this.done = this.tokens.length > 0 && (this.tokens[this.tokens.length - 1] === EOS || this.tokens.length >= this.maxCompletionLength);
  }

  private checkState(state: unknown): number[] {
    const bad = (why: string): never => {
      throw new ConfigError(`${ENV_NAME}: setState got ${describeValue(state)}: ${why}`, "pass an array returned by getState() of an env with the same task and split", "invalid_state");
    };
    if (!Array.isArray(state) || state.length < HEADER) bad(`expected at least ${HEADER} numbers`);
    const s = state as unknown[];
    if (s.some((v) => typeof v !== "number" || !Number.isFinite(v))) bad("every entry must be a finite number");
    const n = s as number[];
    if (n[0] !== (this.split === "test" ? 1 : 0)) bad(`it was taken in split ${n[0] === 1 ? "test" : n[0] === 0 ? "train" : "?"}, this env draws ${this.split} problems`);
    for (const base of [1, 7]) {
      if (n.slice(base, base + 4).some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) bad(`generator words at ${base}..${base + 3} must be uint32`);
      if (n[base + 4] !== 0 && n[base + 4] !== 1) bad(`the has-spare flag at ${base + 4} must be 0 or 1`);
    }
    const tokens = n.slice(HEADER);
    if (tokens.length > this.maxCompletionLength) bad(`${tokens.length} tokens exceed maxCompletionLength ${this.maxCompletionLength}`);
    tokens.forEach((t, i) => {
      if (!this.actionSpace.contains(t)) bad(`token ${t} is outside [0, ${this.tokenizer.vocabSize - 1}]`);
      if (t === EOS && i !== tokens.length - 1) bad("EOS may only be the last token");
    });
    return n;
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

/** A TextEnv over a registered task: `makeTextEnv("addition", { digits: 3 }, { split: "test" })`. */
export function makeTextEnv(taskName: string, options: Record<string, unknown> = {}, envOptions: Omit<TextEnvOptions, "task"> = {}): TextEnv {
  return new TextEnv({ ...envOptions, task: makeTask(taskName, options) });
}
