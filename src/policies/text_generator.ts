import { ConfigError, describeValue } from "../core/errors.js";
import { Rng, validateSeed } from "../core/rng.js";
import { EOS } from "../envs/text/tokenizer.js";
import type { TokenPolicy } from "./token_policy.js";

/**
 * Text generation from a trained text policy: prompts in, completions out, with the
 * policy's own sampler (batched, key/value cache). This file has no Node dependency, so a
 * browser can wrap a policy it rebuilt from `TokenPolicy.fromSpec` + `setWeights`;
 * `loadTextPolicy` (Node) builds one from a run directory.
 */

export interface GenerateOptions {
  /** τ: 0 (default) decodes greedily (argmax, ties to the lowest id); otherwise samples from softmax(z/τ). */
  temperature?: number;
  /**
   * The most completion tokens to generate (EOS included); generation also stops at EOS.
   * Default: the run's `maxCompletionLength`, capped by what the model's context leaves
   * after the prompt.
   */
  maxTokens?: number;
  /** Sample only among the k most likely tokens (0, the default: all). Ignored when greedy. */
  topK?: number;
  /**
   * Seed of this call's sampling: the same seed, prompt(s) and options give the same
   * completions. Without it, calls draw from the policy's own stream (seeded at load).
   */
  seed?: number;
}

/** One completion with what produced it. */
export interface Generation {
  /** The completion's text (EOS not included). */
  text: string;
  /** Its token ids, EOS included when it was generated. */
  tokens: Int32Array;
  /** Sum of the tokens' log-probabilities under softmax(z/τ) (under softmax(z) when greedy). */
  logProb: number;
  /** "eos": the model ended the completion; "length": it hit maxTokens first. */
  finish: "eos" | "length";
}

/** What a saved text run says about its policy (all optional for a policy built in code). */
export interface TextPolicyInfo {
  /** The task the policy was trained on, and its options. */
  task?: string;
  taskOptions?: Record<string, unknown>;
  /** The sampling temperature of training (generation itself defaults to greedy). */
  temperature?: number;
  /** The completion length limit of training: the default `maxTokens`. */
  maxCompletionLength?: number;
}

export interface LoadedTextPolicy extends Readonly<TextPolicyInfo> {
  /** The token policy itself (model, tokenizer, batched sampling and log-probabilities). */
  readonly policy: TokenPolicy;
  /** Every character a prompt may contain. */
  readonly chars: string;
  /** The completion of one prompt (greedy by default). */
  generate(prompt: string, options?: GenerateOptions): string;
  /** The completions of several prompts, in one batched pass per 64 prompts. */
  generateBatch(prompts: readonly string[], options?: GenerateOptions): string[];
  /** As generateBatch, with each completion's tokens, log-probability and why it stopped. */
  generateDetailed(prompts: readonly string[], options?: GenerateOptions): Generation[];
}

const OPTION_KEYS = ["temperature", "maxTokens", "topK", "seed"] as const;
/** Rows per batched sampling call: bounds the key/value cache's memory for long prompt lists. */
const BATCH_ROWS = 64;

/** Wraps a token policy with `generate`; `seed` starts the stream that unseeded calls draw from. */
export function textPolicy(policy: TokenPolicy, info: TextPolicyInfo = {}, seed = 0): LoadedTextPolicy {
  validateSeed(seed, "textPolicy seed");
  const stream = new Rng(seed);
  const generateDetailed = (prompts: readonly string[], options: GenerateOptions = {}): Generation[] => {
    if (!Array.isArray(prompts)) {
      throw new ConfigError(`prompts must be an array of strings, got ${describeValue(prompts)}`, 'pass e.g. ["12+34=", "7+8="]', "invalid_prompt");
    }
    const opts = checkOptions(options);
    const contexts = prompts.map((p, i) => encodePrompt(policy, p, prompts.length > 1 ? `prompt ${i}` : "the prompt"));
    const longest = Math.max(0, ...contexts.map((c) => c.length));
    const maxTokens = resolveMaxTokens(policy, info, opts.maxTokens, longest);
    const rng = opts.seed === undefined ? stream : new Rng(opts.seed);
    const out: Generation[] = [];
    for (let i0 = 0; i0 < contexts.length; i0 += BATCH_ROWS) {
      const chunk = contexts.slice(i0, i0 + BATCH_ROWS);
      const s = policy.sample(
        chunk,
        rng,
        { temperature: opts.temperature, topK: opts.temperature > 0 ? opts.topK : 0, maxNewTokens: maxTokens },
        (_rows, tokens) => Uint8Array.from(tokens, (t) => (t === EOS ? 1 : 0)),
      );
      s.tokens.forEach((tokens, j) => {
        let logProb = 0;
        for (const lp of s.logProbs[j]) logProb += lp;
        out.push({ text: policy.tokenizer.decode(tokens), tokens, logProb, finish: tokens[tokens.length - 1] === EOS ? "eos" : "length" });
      });
    }
    return out;
  };
  return {
    policy,
    chars: policy.tokenizer.chars,
    task: info.task,
    taskOptions: info.taskOptions,
    temperature: info.temperature,
    maxCompletionLength: info.maxCompletionLength,
    generate(prompt, options) {
      return generateDetailed([prompt], options)[0].text;
    },
    generateBatch(prompts, options) {
      return generateDetailed(prompts, options).map((g) => g.text);
    },
    generateDetailed,
  };
}

function checkOptions(options: GenerateOptions): Required<Omit<GenerateOptions, "seed" | "maxTokens">> & Pick<GenerateOptions, "seed" | "maxTokens"> {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(`generate options must be an object, got ${describeValue(options)}`, "pass e.g. { temperature: 0.7, maxTokens: 8, seed: 1 }");
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown generate option ${JSON.stringify(key)}`, `use ${OPTION_KEYS.join(", ")}`);
    }
  }
  const { temperature = 0, topK = 0, maxTokens, seed } = options;
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature < 0) {
    throw new ConfigError(`temperature must be a finite number ≥ 0, got ${describeValue(temperature)}`, "pass 0 for greedy decoding or e.g. 1 to sample");
  }
  if (!Number.isSafeInteger(topK) || topK < 0) {
    throw new ConfigError(`topK must be an integer ≥ 0, got ${describeValue(topK)}`, "pass 0 (all tokens) or e.g. 5");
  }
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 1)) {
    throw new ConfigError(`maxTokens must be an integer ≥ 1, got ${describeValue(maxTokens)}`, "pass e.g. 8, or leave it out for the run's completion length");
  }
  if (seed !== undefined) validateSeed(seed, "generate seed");
  return { temperature, topK, maxTokens, seed };
}

/** BOS + the prompt's tokens, with an error that names the character the model cannot read. */
function encodePrompt(policy: TokenPolicy, prompt: unknown, what: string): Int32Array {
  if (typeof prompt !== "string") {
    throw new ConfigError(`${what} must be a string, got ${describeValue(prompt)}`, 'pass the prompt text, e.g. "12+34="', "invalid_prompt");
  }
  const known = new Set(Array.from(policy.tokenizer.chars));
  const symbols = Array.from(prompt);
  const bad = symbols.findIndex((c) => !known.has(c));
  if (bad >= 0) {
    throw new ConfigError(
      `${what} ${JSON.stringify(prompt.length > 60 ? `${prompt.slice(0, 60)}…` : prompt)} has ${JSON.stringify(symbols[bad])} at position ${bad}, which this model's tokenizer cannot encode (it reads ${JSON.stringify(policy.tokenizer.chars)})`,
      "remove or replace that character; a model reads only the characters it was trained with (a run's `chars` key sets them)",
      "unknown_char",
    );
  }
  return policy.encodeContext(prompt);
}

function resolveMaxTokens(policy: TokenPolicy, info: TextPolicyInfo, requested: number | undefined, contextTokens: number): number {
  const C = policy.model.config.contextLength;
  const room = C - contextTokens;
  if (room < 1) {
    throw new ConfigError(
      `a prompt of ${contextTokens - 1} characters fills the model's context of ${C} tokens (BOS + prompt), leaving no room for a completion`,
      `shorten the prompt to at most ${C - 2} characters, or train a model with a larger model.contextLength`,
      "prompt_too_long",
    );
  }
  if (requested !== undefined) {
    if (requested > room) {
      throw new ConfigError(
        `maxTokens ${requested} does not fit: the model's context is ${C} tokens and the longest prompt takes ${contextTokens} (BOS included)`,
        `pass maxTokens ≤ ${room}, or shorten the prompt`,
        "prompt_too_long",
      );
    }
    return requested;
  }
  return Math.min(room, info.maxCompletionLength ?? room);
}
