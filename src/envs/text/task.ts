import { ConfigError, describeValue } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";

export type Split = "train" | "test";

/** One problem of a task. */
export interface TextProblem {
  /** What the model sees, ending with the cue after which it answers, e.g. "12+34=". */
  prompt: string;
  /** One correct completion (without EOS), used as the SFT demonstration, e.g. "46". */
  solution: string;
  /** The task's numbers, JSON-safe (for verifiers and logs). */
  data: Record<string, number | number[] | string>;
}

/** A family of problems with a verifier: the text counterpart of an environment. */
export interface TextTask {
  /** e.g. "addition". */
  readonly name: string;
  readonly description: string;
  /** Resolved options (defaults filled in), JSON-safe. */
  readonly options: Record<string, number | string | boolean>;
  /** Enough tokens for any correct completion (before EOS), plus a little slack. */
  readonly maxCompletionLength: number;
  /** Longest prompt in characters. */
  readonly maxPromptLength: number;
  /** A problem of the split; deterministic given the rng state. Train and test problems never overlap (split by a hash of the prompt). */
  sample(rng: Rng, split: Split): TextProblem;
  /** Outcome reward of a completion (text up to EOS): 1 correct, 0 otherwise. Never throws: malformed text scores 0. */
  verify(problem: TextProblem, completion: string): number;
  /** 1 when the completion has the task's answer format, else 0 (for the optional format reward). Never throws. */
  formatOk(problem: TextProblem, completion: string): number;
}

/** Share of prompts that fall into the test split: those whose hash mod 10 is below this. */
const TEST_BUCKETS = 2;
/** Draws before `sample` gives up finding a problem of the split. */
const MAX_SPLIT_DRAWS = 1000;

/** 32-bit FNV-1a hash of the string's UTF-16 code units (its bytes, for ASCII text). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The split a prompt belongs to: "test" iff fnv1a(prompt) mod 10 < 2 (about 20 %).
 * A function of the prompt alone, so train and test never share a problem, whatever
 * the seeds, and a task needs no list of held-out problems.
 */
export function splitOf(prompt: string): Split {
  return fnv1a(prompt) % 10 < TEST_BUCKETS ? "test" : "train";
}

function checkSplit(split: unknown, taskName: string): asserts split is Split {
  if (split !== "train" && split !== "test") {
    throw new ConfigError(`task ${taskName}: split ${describeValue(split)} is not a split`, 'pass "train" or "test"');
  }
}

/** What `defineTask` needs: a generator of problems and a verifier. */
export interface TaskDefinition {
  name: string;
  description: string;
  /** Resolved options, shown in logs and `task.options`. */
  options?: Record<string, number | string | boolean>;
  maxCompletionLength: number;
  maxPromptLength: number;
  /** Draw one problem of either split; deterministic given the rng state. */
  generate(rng: Rng): TextProblem;
  /** 1 for a correct completion, 0 otherwise (values in between for documented partial credit). */
  verify(problem: TextProblem, completion: string): number;
  /** Default: 1 for a non-empty completion without invalid tokens. */
  formatOk?(problem: TextProblem, completion: string): number;
}

/**
 * Build a TextTask from a generator and a verifier. It adds the train/test split
 * (redrawing until the prompt's hash puts it in the requested split), checks each
 * generated problem against the declared lengths, and makes `verify` and `formatOk`
 * total: a throw or a non-finite result scores 0.
 */
export function defineTask(def: TaskDefinition): TextTask {
  const name = def?.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`task name ${describeValue(name)} is malformed`, 'use letters, digits, "-", "_" or ".", e.g. "my-task"');
  }
  for (const key of ["maxCompletionLength", "maxPromptLength"] as const) {
    const v = def[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ConfigError(`task ${name}: ${key} must be a positive integer, got ${describeValue(v)}`, `set ${key} to the longest length in characters`);
    }
  }
  for (const key of ["generate", "verify"] as const) {
    if (typeof def[key] !== "function") {
      throw new ConfigError(`task ${name}: ${key} is not a function`, `pass ${key}: ${key === "generate" ? "(rng) => ({ prompt, solution, data })" : "(problem, completion) => 0 or 1"}`);
    }
  }
  const userFormatOk = def.formatOk ?? ((_p: TextProblem, c: string) => (c.length > 0 && !c.includes("\uFFFD") ? 1 : 0));

  const checked = (problem: TextProblem): TextProblem => {
    if (!problem || typeof problem.prompt !== "string" || typeof problem.solution !== "string") {
      throw new ConfigError(`task ${name}: generate() returned ${describeValue(problem)}`, "return { prompt: string, solution: string, data: {...} }");
    }
    if (problem.prompt.length > def.maxPromptLength || problem.solution.length > def.maxCompletionLength) {
      throw new ConfigError(
        `task ${name}: generated prompt ${JSON.stringify(problem.prompt)} (length ${problem.prompt.length}) or solution ${JSON.stringify(problem.solution)} (length ${problem.solution.length}) is longer than maxPromptLength ${def.maxPromptLength} / maxCompletionLength ${def.maxCompletionLength}`,
        "raise maxPromptLength / maxCompletionLength to the longest lengths the generator can produce",
      );
    }
    return problem;
  };

  return Object.freeze({
    name,
    description: String(def.description ?? ""),
    options: Object.freeze({ ...(def.options ?? {}) }),
    maxCompletionLength: def.maxCompletionLength,
    maxPromptLength: def.maxPromptLength,
    sample(rng: Rng, split: Split): TextProblem {
      checkSplit(split, name);
      for (let i = 0; i < MAX_SPLIT_DRAWS; i++) {
        const problem = checked(def.generate(rng));
        if (splitOf(problem.prompt) === split) return problem;
      }
      throw new ConfigError(
        `task ${name}: no ${split} problem in ${MAX_SPLIT_DRAWS} draws; the problem space is too small for a ${split === "test" ? "20 %" : "80 %"} ${split} split`,
        "choose options that give more distinct problems (e.g. more digits or a longer input)",
        "empty_split",
      );
    },
    verify: (problem: TextProblem, completion: string) => total(() => def.verify(problem, completion)),
    formatOk: (problem: TextProblem, completion: string) => total(() => userFormatOk(problem, completion)),
  });
}

/** Runs a scoring function, turning a throw or a non-number into 0. */
function total(score: () => number): number {
  try {
    const v = score();
    return typeof v === "number" && Number.isFinite(v) ? v : 0;
  } catch {
    return 0;
  }
}

/**
 * `n` distinct problems (distinct prompts) of the split, deterministic for
 * (task, split, n, seed): the held-out set an evaluation uses. A split with fewer distinct
 * problems (parity with 8 bits has about 51 test prompts) is a ConfigError, or with
 * `upTo` the problems found in 100·n + 1000 draws.
 */
export function problemSet(task: TextTask, split: Split, n: number, seed: number, options: { upTo?: boolean } = {}): TextProblem[] {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ConfigError(`problemSet size must be a non-negative integer, got ${describeValue(n)}`, "pass e.g. 100");
  }
  checkSplit(split, task.name);
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: TextProblem[] = [];
  const maxDraws = 100 * n + 1000;
  for (let draws = 0; out.length < n; draws++) {
    if (draws >= maxDraws) {
      if (options.upTo) break;
      throw new ConfigError(
        `task ${task.name}: found only ${out.length} distinct ${split} problems in ${maxDraws} draws, fewer than the ${n} asked for`,
        "ask for fewer problems or choose options that give more distinct problems",
        "empty_split",
      );
    }
    const problem = task.sample(rng, split);
    if (seen.has(problem.prompt)) continue;
    seen.add(problem.prompt);
    out.push(problem);
  }
  return out;
}

/** Range and default of one integer option of a task. */
export interface IntOptionSpec {
  default: number;
  min: number;
  max: number;
}

/**
 * Reads a task's integer options: fills defaults, and throws a ConfigError for an
 * unknown key or a value that is not an integer in [min, max] (naming the option and
 * the range).
 */
export function intOptions<K extends string>(
  taskName: string,
  options: Record<string, unknown> | undefined,
  specs: Record<K, IntOptionSpec>,
): Record<K, number> {
  const given = options ?? {};
  if (typeof given !== "object" || Array.isArray(given)) {
    throw new ConfigError(`task ${taskName}: options must be an object, got ${describeValue(given)}`, "pass e.g. {}");
  }
  const keys = Object.keys(specs) as K[];
  for (const key of Object.keys(given)) {
    if (!keys.includes(key as K)) {
      throw new ConfigError(
        `task ${taskName}: unknown option ${JSON.stringify(key)}`,
        `use only ${keys.map((k) => `${k} (${specs[k].min}..${specs[k].max}, default ${specs[k].default})`).join(", ")}`,
        "unknown_option",
      );
    }
  }
  const out = {} as Record<K, number>;
  for (const key of keys) {
    const { min, max } = specs[key];
    const value = given[key] ?? specs[key].default;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new ConfigError(`task ${taskName}: option ${key}=${describeValue(value)} is not an integer in [${min}, ${max}]`, `pass an integer ${key} from ${min} to ${max}`);
    }
    out[key] = value;
  }
  return out;
}

/** Tokens a built-in task allows beyond its longest correct completion (room for a near miss). */
export const SLACK = 2;

/** A non-negative integer written as digits without leading zeros, at most maxLength characters. */
export function isCanonicalInteger(text: string, maxLength: number): boolean {
  return text.length <= maxLength && /^(0|[1-9][0-9]*)$/.test(text);
}
