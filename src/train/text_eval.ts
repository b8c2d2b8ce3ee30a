import { Rng } from "../core/rng.js";
import type { RewardFn } from "../envs/text/rewards.js";
import type { TextProblem, TextTask } from "../envs/text/task.js";
import { EOS } from "../envs/text/tokenizer.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import type { EvalResult } from "./evaluate.js";

/**
 * pass@k, the unbiased estimator of Chen et al. (2021, "Evaluating Large Language Models
 * Trained on Code"): with n samples of which c are correct, the probability that at least one
 * of k samples drawn without replacement is correct, 1 − C(n−c, k)/C(n, k), computed as a
 * product to stay exact for large n. Requires k ≤ n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n) {
    throw new RangeError(`passAtK needs integers 1 ≤ k ≤ n and 0 ≤ c ≤ n, got n=${n}, c=${c}, k=${k}`);
  }
  if (n - c < k) return 1;
  let miss = 1;
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

export interface TextEvalOptions {
  /** Completions per problem (n): 1 with temperature 0 is greedy pass@1. */
  samples: number;
  /** 0: greedy (argmax; all samples are then the same); otherwise the sampling temperature. */
  temperature: number;
  topK?: number;
  maxCompletionLength: number;
  /** Seed of the sampling. */
  seed: number;
  /** The k of the reported pass@k values (each ≤ samples); default [1, samples]. */
  ks?: number[];
  /** Contexts per batched sampling call. */
  batchSize?: number;
}

export interface TextEvalResult extends EvalResult {
  problems: number;
  samples: number;
  /** Fraction of all completions the verifier accepts (= pass@1 estimated from n samples). */
  passAt1: number;
  /** pass@k for each requested k (unbiased estimator over the n samples). */
  passAtK: Record<string, number>;
  /** Mean reward (the run's weighted reward functions) per completion. */
  meanReward: number;
  /** Completions that hit the length limit without EOS. */
  truncatedFraction: number;
}

/**
 * Samples `samples` completions for each problem (batched, with the key/value cache) and
 * scores them: the verifier decides correctness (a completion passes when task.verify gives 1),
 * the reward function gives the reward. A completion ends at EOS or after
 * `maxCompletionLength` tokens, as in the TextEnv. `returns` are the per-completion rewards.
 */
export function evaluateText(policy: TokenPolicy, task: TextTask, reward: RewardFn, problems: TextProblem[], opts: TextEvalOptions): TextEvalResult {
  const n = opts.samples;
  const ks = opts.ks ?? [...new Set([1, n])];
  const rng = new Rng(opts.seed);
  const batchSize = Math.max(1, Math.floor((opts.batchSize ?? 256) / n));
  const returns: number[] = [];
  const lengths: number[] = [];
  const passK: Record<string, number> = Object.fromEntries(ks.map((k) => [String(k), 0]));
  let correctTotal = 0;
  let truncated = 0;
  for (let p0 = 0; p0 < problems.length; p0 += batchSize) {
    const chunk = problems.slice(p0, p0 + batchSize);
    const contexts = chunk.flatMap((pr) => Array.from({ length: n }, () => policy.encodeContext(pr.prompt)));
    const out = policy.sample(
      contexts,
      rng,
      { temperature: opts.temperature, topK: opts.topK ?? 0, maxNewTokens: opts.maxCompletionLength },
      (_rows, tokens) => Uint8Array.from(tokens, (t) => (t === EOS ? 1 : 0)),
    );
    chunk.forEach((pr, j) => {
      let c = 0;
      for (let s = 0; s < n; s++) {
        const tokens = out.tokens[j * n + s];
        const text = policy.tokenizer.decode(tokens);
        const ok = task.verify(pr, text) >= 1 ? 1 : 0;
        c += ok;
        returns.push(reward(pr, text, task));
        lengths.push(tokens.length);
        if (tokens[tokens.length - 1] !== EOS) truncated++;
      }
      correctTotal += c;
      for (const k of ks) passK[String(k)] += passAtK(n, c, k);
    });
  }
  const total = returns.length;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const meanReturn = mean(returns);
  const std = Math.sqrt(mean(returns.map((r) => (r - meanReturn) ** 2)));
  for (const k of ks) passK[String(k)] /= Math.max(1, problems.length);
  return {
    returns,
    lengths,
    meanReturn,
    stdReturn: std,
    meanLength: mean(lengths),
    problems: problems.length,
    samples: n,
    passAt1: total ? correctTotal / total : NaN,
    passAtK: passK,
    meanReward: meanReturn,
    truncatedFraction: total ? truncated / total : NaN,
  };
}
