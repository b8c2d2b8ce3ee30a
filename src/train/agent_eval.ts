import { Rng } from "../core/rng.js";
import { AgentEnv } from "../envs/text/agent/env.js";
import type { AgentProblem, AgentTask } from "../envs/text/agent/task.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import { playEpisodes } from "../rollout/agent_collector.js";
import type { EvalResult } from "./evaluate.js";
import { passAtK } from "./text_eval.js";

export interface AgentEvalOptions {
  /** Episodes per problem (n): 1 with temperature 0 is greedy success. */
  samples: number;
  /** 0: greedy; otherwise the sampling temperature. */
  temperature: number;
  topK?: number;
  seed: number;
  /** The model's context length (the env's context limit). */
  maxContextLength: number;
  malformedPenalty?: number;
  /** The k of the pass@k values (each ≤ samples); default [1, samples]. */
  ks?: number[];
  /** Episodes per batched call. */
  batchSize?: number;
}

export interface AgentEvalResult extends EvalResult {
  problems: number;
  samples: number;
  /** Fraction of episodes whose final answer verified (= pass@1 from n samples). */
  successRate: number;
  passAt1: number;
  passAtK: Record<string, number>;
  meanReward: number;
  /** Per episode: turns, tool calls and malformed turns. */
  meanTurns: number;
  meanToolCalls: number;
  meanMalformed: number;
  /** Episodes cut by the turn or context limit. */
  truncatedFraction: number;
  /** Policy tokens per episode. */
  meanPolicyTokens: number;
  /** A few transcripts (first sample of the first problems): observations in [brackets]. */
  transcripts: { prompt: string; transcript: string; correct: boolean }[];
}

/**
 * Plays `samples` episodes on each problem with the policy and scores them: success (the
 * verifier accepts the final answer), pass@k (unbiased estimator), reward, turns, tool calls.
 * `returns` are the episode rewards and `lengths` the turns per episode.
 */
export function evaluateAgent(policy: TokenPolicy, task: AgentTask, problems: AgentProblem[], opts: AgentEvalOptions): AgentEvalResult {
  const n = opts.samples;
  const ks = opts.ks ?? [...new Set([1, n])];
  const rng = new Rng(opts.seed);
  const perCall = Math.max(1, Math.floor((opts.batchSize ?? 128) / n));
  const returns: number[] = [];
  const lengths: number[] = [];
  const passK: Record<string, number> = Object.fromEntries(ks.map((k) => [String(k), 0]));
  let correct = 0;
  let toolCalls = 0;
  let malformed = 0;
  let truncated = 0;
  let tokens = 0;
  const transcripts: AgentEvalResult["transcripts"] = [];
  for (let p0 = 0; p0 < problems.length; p0 += perCall) {
    const chunk = problems.slice(p0, p0 + perCall);
    const envs = chunk.flatMap((problem) =>
      Array.from({ length: n }, () => {
        const env = new AgentEnv({ task, tokenizer: policy.tokenizer, split: "test", maxContextLength: opts.maxContextLength, malformedPenalty: opts.malformedPenalty ?? 0 });
        env.startFrom(problem);
        return env;
      }),
    );
    const played = playEpisodes(policy, envs, rng, { temperature: opts.temperature, topK: opts.topK ?? 0 });
    chunk.forEach((problem, j) => {
      let c = 0;
      for (let s = 0; s < n; s++) {
        const env = envs[j * n + s];
        const ok = env.lastResult?.correct ?? 0;
        c += ok;
        returns.push(env.turns.reduce((sum, r) => sum + r.reward, 0));
        lengths.push(env.turns.length);
        toolCalls += env.turns.filter((r) => r.toolCall).length;
        malformed += env.turns.filter((r) => r.malformed).length;
        truncated += env.lastResult?.truncated ? 1 : 0;
        tokens += played[j * n + s].logProbs.length;
        if (s === 0 && transcripts.length < 8) transcripts.push({ prompt: problem.prompt, transcript: transcriptText(env), correct: ok > 0 });
      }
      correct += c;
      for (const k of ks) passK[String(k)] += passAtK(n, c, k);
    });
  }
  const total = returns.length;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const meanReturn = mean(returns);
  for (const k of ks) passK[String(k)] /= Math.max(1, problems.length);
  return {
    returns,
    lengths,
    meanReturn,
    stdReturn: Math.sqrt(mean(returns.map((r) => (r - meanReturn) ** 2))),
    meanLength: mean(lengths),
    problems: problems.length,
    samples: n,
    successRate: total ? correct / total : NaN,
    passAt1: total ? correct / total : NaN,
    passAtK: passK,
    meanReward: meanReturn,
    meanTurns: mean(lengths),
    meanToolCalls: total ? toolCalls / total : NaN,
    meanMalformed: total ? malformed / total : NaN,
    truncatedFraction: total ? truncated / total : NaN,
    meanPolicyTokens: total ? tokens / total : NaN,
    transcripts,
  };
}

/** An episode as one line: turns separated by " | ", each observation in [brackets] after its turn. */
export function transcriptText(env: AgentEnv): string {
  return env.turns.map((r) => (r.observation ? `${r.text} [${r.observation}]` : r.text)).join(" | ");
}
