import { ConfigError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { BOS, CharTokenizer, PAD } from "../envs/text/tokenizer.js";
import { logitGradients, sampleToken, tokenLogProbs } from "../nn/lm_math.js";
import { TransformerLM, type KvCache, type TransformerConfig, type TransformerTrace } from "../nn/transformer.js";

/**
 * A text policy: a causal transformer language model over a character tokenizer, whose
 * actions are tokens. The policy's distribution over the next token is softmax(z / τ), z
 * the model's logits and τ the sampling temperature of the run (1 by default), so the
 * log-probabilities the collector records while sampling and the ones the update recomputes
 * are of the same distribution (as TRL divides logits by the temperature). Top-k, when used
 * for sampling, is not part of that distribution (see `sample`).
 *
 * A context is the token ids the model reads before its completion: BOS then the prompt
 * (`encodeContext`). Batches of contexts of different lengths are left-padded with PAD;
 * the transformer masks the padding and numbers positions from each row's first real
 * token, so a row's numbers do not depend on what it is batched with.
 */

/** What a saved text policy records (model.json's spec): enough to rebuild it. */
export interface TokenPolicySpec {
  kind: "token-lm";
  model: Required<TransformerConfig>;
  tokenizer: { chars: string };
}

/** The model size options of a text run (the vocabulary comes from the tokenizer). */
export type ModelOptions = Omit<TransformerConfig, "vocabSize">;

export interface SampleOptions {
  /** τ: 0 samples greedily (argmax); otherwise softmax(z/τ). */
  temperature: number;
  /** Sample only among the k most likely tokens (0: all). */
  topK: number;
  maxNewTokens: number;
}

/** One batched forward over contexts followed by completions: where each completion token sits. */
export interface SequenceLayout {
  /** Rows and columns of the token matrix fed to the model. */
  n: number;
  T: number;
  tokens: Int32Array;
  /** Left padding of each row. */
  start: Int32Array;
  /** For every completion token, in order (row by row): its logit row (row·T + column predicting it) and its id. */
  logitRows: Int32Array;
  targets: Int32Array;
}

export class TokenPolicy {
  constructor(
    readonly model: TransformerLM,
    readonly tokenizer: CharTokenizer,
  ) {
    if (model.config.vocabSize !== tokenizer.vocabSize) {
      throw new ConfigError(
        `the model has ${model.config.vocabSize} tokens but the tokenizer ${tokenizer.vocabSize}`,
        "build the model with vocabSize = tokenizer.vocabSize (TokenPolicy.create does)",
      );
    }
  }

  static create(model: ModelOptions, tokenizer: CharTokenizer, rng: Rng): TokenPolicy {
    return new TokenPolicy(new TransformerLM({ ...model, vocabSize: tokenizer.vocabSize }, rng), tokenizer);
  }

  /** Rebuilds a policy from its spec (weights set separately). */
  static fromSpec(spec: TokenPolicySpec, rng: Rng): TokenPolicy {
    return new TokenPolicy(new TransformerLM(spec.model, rng), new CharTokenizer(spec.tokenizer.chars));
  }

  get spec(): TokenPolicySpec {
    return { kind: "token-lm", model: { ...this.model.config }, tokenizer: { chars: this.tokenizer.chars } };
  }

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  /** BOS followed by the text's tokens. */
  encodeContext(text: string): Int32Array {
    const body = this.tokenizer.encode(text);
    const out = new Int32Array(body.length + 1);
    out[0] = BOS;
    out.set(body, 1);
    return out;
  }

  /** Throws a ConfigError when contexts of `contextTokens` plus `newTokens` do not fit the model's context. */
  checkFits(contextTokens: number, newTokens: number, what: string): void {
    const C = this.model.config.contextLength;
    if (contextTokens + newTokens > C) {
      throw new ConfigError(
        `${what}: ${contextTokens} context tokens + ${newTokens} completion tokens exceed the model's context length ${C}`,
        `train a model with model.contextLength ≥ ${contextTokens + newTokens}, or shorten the completions (maxCompletionLength)`,
      );
    }
  }

  /**
   * Samples one completion per context, token by token with the key/value cache. `step`
   * is called after each token with the tokens just sampled (one per still-running row, in
   * row order) and returns which rows are done (e.g. the env's terminated/truncated); a row
   * also stops at `maxNewTokens`. Returns each row's tokens with their log-probability and
   * the entropy of the policy's distribution softmax(z/τ) at that position. With τ = 0
   * (greedy) both are of softmax(z). Top-k restricts what can be drawn, not the
   * recorded log-probabilities.
   */
  sample(
    contexts: Int32Array[],
    rng: Rng,
    opts: SampleOptions,
    step?: (rows: Int32Array, tokens: Int32Array) => Uint8Array,
  ): { tokens: Int32Array[]; logProbs: Float32Array[]; entropies: Float32Array[] } {
    const n = contexts.length;
    const V = this.vocabSize;
    const P = Math.max(...contexts.map((c) => c.length));
    this.checkFits(P, opts.maxNewTokens, "sampling");
    const { cache, logits: first } = this.prefill(contexts, P);
    let logits: Float32Array = first;
    const tokens: number[][] = contexts.map(() => []);
    const logProbs: number[][] = contexts.map(() => []);
    const entropies: number[][] = contexts.map(() => []);
    const running = new Uint8Array(n).fill(1);
    const scale = opts.temperature > 0 ? 1 / opts.temperature : 1;
    const scaled = new Float32Array(V);
    const feed = new Int32Array(n);
    for (let t = 0; t < opts.maxNewTokens; t++) {
      const rows: number[] = [];
      for (let i = 0; i < n; i++) {
        if (!running[i]) {
          feed[i] = PAD;
          continue;
        }
        for (let v = 0; v < V; v++) scaled[v] = logits[i * V + v] * scale;
        const s = sampleToken(scaled, 0, V, rng, opts.temperature > 0 ? 1 : 0, opts.topK);
        const { logProb, entropy } = logProbAndEntropy(scaled, s.token);
        tokens[i].push(s.token);
        logProbs[i].push(logProb);
        entropies[i].push(entropy);
        feed[i] = s.token;
        rows.push(i);
      }
      if (rows.length === 0) break;
      const rowArr = Int32Array.from(rows);
      const done = step ? step(rowArr, Int32Array.from(rows, (i) => feed[i])) : new Uint8Array(rows.length);
      rows.forEach((i, k) => {
        if (done[k] || t + 1 >= opts.maxNewTokens) running[i] = 0;
      });
      if (!running.some((r) => r === 1)) break;
      logits = this.model.step(cache, feed);
    }
    this.model.releaseCache(cache);
    return {
      tokens: tokens.map((x) => Int32Array.from(x)),
      logProbs: logProbs.map((x) => Float32Array.from(x)),
      entropies: entropies.map((x) => Float32Array.from(x)),
    };
  }

  /**
   * Feeds the left-padded contexts through the cache; returns it and the logits of the first
   * new token. Runs of the same context (a group's G rows share one array) are fed once and
   * the cache is then copied into the run's rows.
   */
  private prefill(contexts: Int32Array[], P: number): { cache: KvCache; logits: Float32Array } {
    const run = sameContextRun(contexts);
    if (run > 1) {
      const unique = contexts.filter((_, i) => i % run === 0);
      const { cache, logits } = this.prefillRows(unique, P);
      const V = this.vocabSize;
      const repeated = new Float32Array(contexts.length * V);
      for (let i = 0; i < contexts.length; i++) repeated.set(logits.subarray(Math.floor(i / run) * V, (Math.floor(i / run) + 1) * V), i * V);
      const repeatedCache = this.model.repeatCache(cache, run);
      this.model.releaseCache(cache);
      return { cache: repeatedCache, logits: repeated };
    }
    return this.prefillRows(contexts, P);
  }

  private prefillRows(contexts: Int32Array[], P: number): { cache: KvCache; logits: Float32Array } {
    const n = contexts.length;
    const start = Int32Array.from(contexts, (c) => P - c.length);
    const cache = this.model.createCache(n, start);
    const column = new Int32Array(n);
    let logits: Float32Array = new Float32Array(0);
    for (let t = 0; t < P; t++) {
      for (let i = 0; i < n; i++) column[i] = t < start[i] ? PAD : contexts[i][t - start[i]];
      logits = this.model.step(cache, column);
    }
    return { cache, logits };
  }

  /** The token matrix of contexts followed by completions (both left-aligned to a common boundary). */
  layout(contexts: Int32Array[], completions: Int32Array[]): SequenceLayout {
    const n = contexts.length;
    const P = Math.max(...contexts.map((c) => c.length));
    const L = Math.max(1, ...completions.map((c) => c.length));
    this.checkFits(P, L, "the update");
    // The last completion token is only a target, never an input: T = P + L − 1 columns.
    const T = P + L - 1;
    const tokens = new Int32Array(n * T).fill(PAD);
    const start = new Int32Array(n);
    let total = 0;
    for (const c of completions) total += c.length;
    const logitRows = new Int32Array(total);
    const targets = new Int32Array(total);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const ctx = contexts[i];
      const comp = completions[i];
      start[i] = P - ctx.length;
      tokens.set(ctx, i * T + start[i]);
      tokens.set(comp.subarray(0, Math.max(0, comp.length - 1)), i * T + P);
      for (let j = 0; j < comp.length; j++) {
        logitRows[k] = i * T + P + j - 1;
        targets[k] = comp[j];
        k++;
      }
    }
    return { n, T, tokens, start, logitRows, targets };
  }

  /**
   * Log-probabilities and entropies of the given completions under softmax(z/τ), in one
   * batched forward (flat, completion after completion). With `withTrace` it keeps what
   * `backward` needs.
   */
  evaluate(
    contexts: Int32Array[],
    completions: Int32Array[],
    temperature: number,
    withTrace: boolean,
  ): { logProb: Float32Array; entropy: Float32Array; pass: ForwardPass | null } {
    const lay = this.layout(contexts, completions);
    const { logits, trace } = this.model.forward(lay.tokens, lay.n, lay.T, lay.start, withTrace);
    const scale = temperature > 0 ? 1 / temperature : 1;
    if (scale !== 1) for (let i = 0; i < logits.length; i++) logits[i] *= scale;
    const logProb = new Float32Array(lay.targets.length);
    const entropy = new Float32Array(lay.targets.length);
    tokenLogProbs(logits, this.vocabSize, lay.logitRows, lay.targets, logProb, entropy);
    return { logProb, entropy, pass: withTrace && trace ? { layout: lay, logits, trace, scale } : null };
  }

  /** Parameter gradients from dLoss/dlogπ and dLoss/dH of each completion token of `evaluate`. */
  backward(pass: ForwardPass, dLogProb: Float32Array, dEntropy: Float32Array | null): Float32Array[] {
    const { layout: lay, logits, trace, scale } = pass;
    const dLogits = new Float32Array(logits.length);
    logitGradients(logits, this.vocabSize, lay.logitRows, lay.targets, dLogProb, dEntropy, dLogits);
    if (scale !== 1) for (let i = 0; i < dLogits.length; i++) dLogits[i] *= scale;
    return this.model.backward(trace, dLogits);
  }

  getWeights(): Record<string, Float32Array> {
    return this.model.getWeights();
  }

  setWeights(w: Record<string, Float32Array>): void {
    this.model.setWeights(w);
  }

  paramShapes(): Record<string, number[]> {
    return this.model.paramShapes();
  }
}

/** What `backward` needs from `evaluate`. */
export interface ForwardPass {
  layout: SequenceLayout;
  /** The scaled logits z/τ. */
  logits: Float32Array;
  trace: TransformerTrace;
  scale: number;
}

/** k when the contexts come in runs of k rows holding the same array (k > 1 divides n), else 1. */
function sameContextRun(contexts: Int32Array[]): number {
  let k = 1;
  while (k < contexts.length && contexts[k] === contexts[0]) k++;
  if (k === 1 || contexts.length % k !== 0) return 1;
  for (let i = 0; i < contexts.length; i++) if (contexts[i] !== contexts[i - (i % k)]) return 1;
  return k;
}

/** log softmax(z)[token] and the entropy of softmax(z), for one row of logits. */
function logProbAndEntropy(z: Float32Array, token: number): { logProb: number; entropy: number } {
  let max = -Infinity;
  for (let v = 0; v < z.length; v++) if (z[v] > max) max = z[v];
  let sum = 0;
  for (let v = 0; v < z.length; v++) sum += Math.exp(z[v] - max);
  const logZ = max + Math.log(sum);
  let entropy = 0;
  for (let v = 0; v < z.length; v++) {
    const lp = z[v] - logZ;
    entropy -= Math.exp(lp) * lp;
  }
  return { logProb: z[token] - logZ, entropy };
}
