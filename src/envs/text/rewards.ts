import { ConfigError, describeValue, RefineryError } from "../../core/errors.js";
import type { TextProblem, TextTask } from "./task.js";

/** The reward of a finished completion (the text decoded up to EOS). */
export type RewardFn = (problem: TextProblem, completion: string, task: TextTask) => number;

/** The task's outcome reward: 1 correct, 0 otherwise. */
export const correctnessReward: RewardFn = (problem, completion, task) => task.verify(problem, completion);

/** 1 when the completion has the task's answer format, else 0. */
export const formatReward: RewardFn = (problem, completion, task) => task.formatOk(problem, completion);

/**
 * −min(length, maxLen) / maxLen: 0 for an empty completion down to −1 at maxLen
 * characters; with a small weight it favours short answers.
 */
export function lengthPenalty(maxLen: number): RewardFn {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new ConfigError(`lengthPenalty(maxLen) needs a positive integer, got ${describeValue(maxLen)}`, "pass e.g. task.maxCompletionLength");
  }
  return (_problem, completion) => -Math.min(completion.length, maxLen) / maxLen;
}

/**
 * Partial credit for lists: the fraction of the solution's space-separated items that
 * the completion has at the same position, over the longer of the two lists (so extra
 * items cost too). "1 1 3 4 5" against "1 1 3 5 4" scores 3/5. Meant for `sorting`;
 * works for any task whose solution is a space-separated list.
 */
export const sortingPartial: RewardFn = (problem, completion) => {
  if (completion.length === 0 || completion.length > 4 * problem.solution.length + 16) return 0;
  const want = problem.solution.split(" ");
  const got = completion.split(" ");
  let right = 0;
  for (let i = 0; i < Math.min(want.length, got.length); i++) if (got[i] === want[i]) right++;
  return right / Math.max(want.length, got.length);
};

/** A term of a combined reward: a function, or the name of a registered reward. */
export interface WeightedReward {
  fn: RewardFn | string;
  weight: number;
}

const rewards = new Map<string, RewardFn>();

/** Make a reward available by name (for configs and `combineRewards`). A name is registered once. */
export function registerReward(name: string, fn: RewardFn): void {
  if (typeof name !== "string" || name.length === 0) {
    throw new ConfigError(`reward name ${describeValue(name)} is not a non-empty string`, 'pass a name such as "my-reward"');
  }
  if (typeof fn !== "function") {
    throw new ConfigError(`reward ${name}: ${describeValue(fn)} is not a function`, "pass (problem, completion, task) => number");
  }
  if (rewards.has(name)) {
    throw new ConfigError(`reward ${JSON.stringify(name)} is already registered`, "choose another name", "duplicate_reward");
  }
  rewards.set(name, fn);
}

/** The reward registered under `name`. */
export function getReward(name: string): RewardFn {
  const fn = rewards.get(name);
  if (!fn) {
    throw new ConfigError(
      `unknown reward ${describeValue(name)}`,
      `use one of the registered rewards: ${listRewards().join(", ")} (or registerReward(name, fn) first)`,
      "unknown_reward",
    );
  }
  return fn;
}

/** Names of the registered rewards, sorted. */
export function listRewards(): string[] {
  return [...rewards.keys()].sort();
}

/**
 * Σ weight · fn(problem, completion, task), as TRL's `reward_funcs` with
 * `reward_weights`. Names are resolved now, so a typo fails at start-up. A term that
 * returns a non-finite value is an error naming the term, not a silent NaN in training.
 */
export function combineRewards(terms: WeightedReward[]): RewardFn {
  if (!Array.isArray(terms) || terms.length === 0) {
    throw new ConfigError("combineRewards needs at least one term", 'pass e.g. [{ fn: "correct", weight: 1 }, { fn: "format", weight: 0.1 }]');
  }
  const resolved = terms.map((term, i) => {
    if (!term || !Number.isFinite(term.weight)) {
      throw new ConfigError(`reward term ${i} has weight ${describeValue(term?.weight)}`, "give every term a finite number weight");
    }
    const fn = typeof term.fn === "string" ? getReward(term.fn) : term.fn;
    if (typeof fn !== "function") {
      throw new ConfigError(`reward term ${i}: fn ${describeValue(term.fn)} is neither a function nor a reward name`, "pass a RewardFn or a registered name");
    }
    return { fn, weight: term.weight, label: typeof term.fn === "string" ? term.fn : `term ${i}` };
  });
  return (problem, completion, task) => {
    let sum = 0;
    for (const { fn, weight, label } of resolved) {
      const r = fn(problem, completion, task);
      if (typeof r !== "number" || !Number.isFinite(r)) {
        throw new RefineryError("invalid_reward", `reward ${label} returned ${describeValue(r)} for completion ${JSON.stringify(completion)}`, "make the reward function return a finite number");
      }
      sum += weight * r;
    }
    return sum;
  };
}

registerReward("correct", correctnessReward);
registerReward("format", formatReward);
registerReward("sorting-partial", sortingPartial);
registerReward("length-penalty", (problem, completion, task) => lengthPenalty(task.maxCompletionLength)(problem, completion, task));
