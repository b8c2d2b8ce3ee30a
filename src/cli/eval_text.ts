import { initBackend, resolveRunBackend, type RunBackend } from "../core/backend.js";
import { simdKernelsAvailable } from "../nn/kernels/simd.js";
import { ConfigError } from "../core/errors.js";
import { combineRewards } from "../envs/text/rewards.js";
import { makeTask } from "../envs/text/registry.js";
import { problemSet } from "../envs/text/task.js";
import { evaluateText, type TextEvalResult } from "../train/text_eval.js";
import { loadTokenPolicyWithSpec } from "../train/text_policy.js";
import type { CliIo } from "./io.js";

export interface TextEvalCliOptions {
  problems: number;
  samples: number;
  k?: number[];
  temperature?: number;
  seed: number;
  best: boolean;
  json: boolean;
}

/**
 * The token policy of a text or multi-turn run, for `refinery eval`, on the backend the run
 * trained on (its config.json records it resolved), so the greedy figures match the run's
 * periodic evaluation. A run from before the key existed ran on wasm, and a kernels run
 * evaluated where WebAssembly SIMD does not run evaluates on wasm.
 */
export async function loadRunTokenPolicy(dir: string, config: Record<string, unknown>, best: boolean): Promise<Awaited<ReturnType<typeof loadTokenPolicyWithSpec>> & { backend: RunBackend }> {
  const simd = simdKernelsAvailable();
  const recorded = resolveRunBackend(config.backend as RunBackend | "auto" | undefined, simd);
  const backend = recorded === "kernels" && !simd ? "wasm" : recorded;
  await initBackend(backend === "kernels" ? "cpu" : backend);
  const loaded = await loadTokenPolicyWithSpec(dir, best ? "best" : "policy");
  if (backend === "kernels") loaded.policy.model.setBackend("kernels");
  return { ...loaded, backend };
}

/**
 * `refinery eval` on a text run: on the first `problems` problems of the task's test split,
 * greedy pass@1, then `samples` sampled completions per problem for pass@1 and pass@k
 * (unbiased estimator), and the mean completion length.
 */
export async function evalTextCommand(dir: string, config: Record<string, unknown>, opts: TextEvalCliOptions, io: CliIo): Promise<void> {
  const tooLarge = (opts.k ?? []).filter((k) => k > opts.samples);
  if (tooLarge.length) {
    throw new ConfigError(`--k ${tooLarge.join(",")} is larger than --samples ${opts.samples}: pass@k needs at least k samples per problem`, `pass --samples ${Math.max(...tooLarge)} or more, or a smaller --k`);
  }
  const { policy, spec, backend } = await loadRunTokenPolicy(dir, config, opts.best);
  const task = makeTask(String(config.task), (config.taskOptions ?? {}) as Record<string, unknown>);
  const rewards = (config.rewards as { name: string; weight: number }[] | undefined) ?? [{ name: "correct", weight: 1 }];
  const reward = combineRewards(rewards.map((r) => ({ fn: r.name, weight: r.weight })));
  const problems = problemSet(task, "test", opts.problems, 0, { upTo: true });
  const maxCompletionLength = (config.maxCompletionLength as number | null | undefined) ?? task.maxCompletionLength;
  const temperature = opts.temperature ?? Number(spec.temperature ?? 1);
  const ks = opts.k ?? [1, opts.samples];
  const greedy = evaluateText(policy, task, reward, problems, { samples: 1, temperature: 0, maxCompletionLength, seed: opts.seed });
  const sampled = evaluateText(policy, task, reward, problems, { samples: opts.samples, temperature, maxCompletionLength, seed: opts.seed, ks: [...new Set([1, ...ks])] });
  const view = (r: TextEvalResult) => ({ pass_at_1: r.passAt1, pass_at_k: r.passAtK, mean_reward: r.meanReward, mean_length: r.meanLength, truncated_fraction: r.truncatedFraction });
  if (opts.json) {
    io.out(JSON.stringify({ task: task.name, task_options: task.options, problems: problems.length, backend, greedy: view(greedy), sampled: { samples: opts.samples, temperature, ...view(sampled) } }) + "\n");
    return;
  }
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const ksText = Object.entries(sampled.passAtK)
    .map(([k, v]) => `pass@${k} ${pct(v)}`)
    .join(", ");
  io.out(
    [
      `${task.name} ${JSON.stringify(task.options)}: ${problems.length} held-out problems (test split)`,
      `  greedy:  pass@1 ${pct(greedy.passAt1)}, mean reward ${greedy.meanReward.toFixed(3)}, mean length ${greedy.meanLength.toFixed(1)} tokens`,
      `  sampled (τ = ${temperature}, ${opts.samples} per problem): ${ksText}, mean reward ${sampled.meanReward.toFixed(3)}, mean length ${sampled.meanLength.toFixed(1)} tokens`,
    ].join("\n") + "\n",
  );
}
