import { ConfigError } from "../core/errors.js";
import { agentProblemSet, makeAgentTask } from "../envs/text/agent/task.js";
import "../envs/text/agent/critique.js";
import { evaluateAgent, type AgentEvalResult } from "../train/agent_eval.js";
import type { CliIo } from "./io.js";
import { loadRunTokenPolicy, type TextEvalCliOptions } from "./eval_text.js";

/**
 * `refinery eval` on a multi-turn run: on the first `problems` problems of the task's test
 * split, greedy success, then `samples` sampled episodes per problem for success and pass@k,
 * with turns, tool calls and malformed turns per episode, and a few greedy transcripts.
 */
export async function evalAgentCommand(dir: string, config: Record<string, unknown>, opts: TextEvalCliOptions, io: CliIo): Promise<void> {
  const tooLarge = (opts.k ?? []).filter((k) => k > opts.samples);
  if (tooLarge.length) {
    throw new ConfigError(`--k ${tooLarge.join(",")} is larger than --samples ${opts.samples}: pass@k needs at least k samples per problem`, `pass --samples ${Math.max(...tooLarge)} or more, or a smaller --k`);
  }
  const { policy, spec, backend } = await loadRunTokenPolicy(dir, config, opts.best);
  const task = makeAgentTask(String(config.task), (config.taskOptions ?? {}) as Record<string, unknown>);
  const problems = agentProblemSet(task, "test", opts.problems, 0);
  const temperature = opts.temperature ?? Number(spec.temperature ?? 1);
  const ks = opts.k ?? [1, opts.samples];
  const common = { seed: opts.seed, maxContextLength: policy.model.config.contextLength, malformedPenalty: Number(config.malformedPenalty ?? 0) };
  const greedy = evaluateAgent(policy, task, problems, { ...common, samples: 1, temperature: 0 });
  const sampled = evaluateAgent(policy, task, problems, { ...common, samples: opts.samples, temperature, ks: [...new Set([1, ...ks])] });
  const view = (r: AgentEvalResult) => ({
    success_rate: r.successRate,
    pass_at_k: r.passAtK,
    mean_reward: r.meanReward,
    mean_turns: r.meanTurns,
    mean_tool_calls: r.meanToolCalls,
    mean_malformed_turns: r.meanMalformed,
    truncated_fraction: r.truncatedFraction,
  });
  if (opts.json) {
    io.out(JSON.stringify({ task: task.name, task_options: task.options, problems: problems.length, backend, greedy: view(greedy), sampled: { samples: opts.samples, temperature, ...view(sampled) }, transcripts: greedy.transcripts }) + "\n");
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const line = (r: AgentEvalResult) =>
    `success ${pct(r.successRate)}, ${r.meanTurns.toFixed(2)} turns, ${r.meanToolCalls.toFixed(2)} tool calls, ${r.meanMalformed.toFixed(2)} malformed turns per episode, ${pct(r.truncatedFraction)} cut by a limit`;
  const ksText = Object.entries(sampled.passAtK)
    .map(([k, v]) => `pass@${k} ${pct(v)}`)
    .join(", ");
  io.out(
    [
      `${task.name} ${JSON.stringify(task.options)} (multi-turn): ${problems.length} held-out problems (test split)`,
      `  greedy:  ${line(greedy)}`,
      `  sampled (τ = ${temperature}, ${opts.samples} per problem): ${ksText}; ${line(sampled)}`,
      `  greedy transcripts (observations in [brackets]):`,
      ...greedy.transcripts.slice(0, 3).map((t) => `    ${t.correct ? "✓" : "✗"} ${t.prompt}  ${t.transcript}`),
    ].join("\n") + "\n",
  );
}
