import { policyEnvOptions } from "../train/load_policy.js";
import { ConfigError } from "../core/errors.js";
import { make, prepareEnv, registry } from "../envs/registry.js";
import { evaluatePolicy } from "../train/evaluate.js";
import { loadPolicy } from "../train/load_policy.js";
import { RunDir } from "../train/run.js";
import { evalTextCommand } from "./eval_text.js";
import { evalAgentCommand } from "./eval_agent.js";
import { isAgentTask } from "../envs/text/agent/task.js";
import "../envs/text/agent/critique.js";
import type { CliIo } from "./io.js";
import { controlPassAtK, type ControlPassAtKResult } from "../train/control_pass_at_k.js";
import { goalReached, returnAtLeast } from "../rollout/vine_collector.js";

export interface EvalCliOptions {
  /** Text runs: held-out problems, completions per problem, the k of pass@k, the sampling temperature. */
  problems: number;
  samples: number;
  k?: number[];
  temperature?: number;
  episodes: number;
  /** Sample actions; the default takes the policy's most likely action (mean of a Gaussian). */
  stochastic?: boolean;
  /** Accepted for scripts written when sampling was the default; deterministic is the default now. */
  deterministic?: boolean;
  seed: number;
  /** Env runs: the k of pass@k; --episodes then counts start states, each played --attempts times. */
  passAt?: number[];
  attempts?: number;
  success?: "goal" | "threshold";
  best: boolean;
  json: boolean;
  /** Options typed on the command line (not defaults), so options of the other kind of run are refused. */
  given?: Set<string>;
}

/** Options that only mean something on a text run, and only on an env run. */
const TEXT_ONLY = ["problems", "samples", "k", "temperature"];
const ENV_ONLY = ["episodes", "stochastic", "deterministic", "passAt", "attempts", "success"];

/**
 * `refinery eval RUN_DIR`: load the saved policy and play episodes on a fresh env, taking
 * the most likely action (as SB3's evaluate_policy and the trainer's final evaluation do;
 * --stochastic samples), and print mean ± std and whether the env's threshold is reached.
 */
export async function evalCommand(dir: string, opts: EvalCliOptions, io: CliIo): Promise<void> {
  if (opts.stochastic && opts.deterministic) {
    throw new ConfigError("--stochastic and --deterministic contradict each other", "pass one of them (deterministic is the default)");
  }
  const run = RunDir.open(dir);
  const { config } = run.readConfig();
  const text = typeof config.task === "string";
  rejectOptionsOfOtherKind(opts.given ?? new Set(), text);
  if (text && isAgentTask(config.task)) return evalAgentCommand(dir, config, opts, io);
  if (text) return evalTextCommand(dir, config, opts, io);
  if (opts.passAt) return passAtCommand(dir, opts, io);
  if (opts.attempts !== undefined || opts.success !== undefined) {
    throw new ConfigError(`--${opts.attempts !== undefined ? "attempts" : "success"} applies to pass@k`, "add --pass-at K,... (e.g. --pass-at 1,4,16), or drop it");
  }
  const deterministic = !opts.stochastic;
  const policy = await loadPolicy(dir, { which: opts.best ? "best" : "policy", seed: opts.seed });
  let result;
  try {
    await prepareEnv(policy.env);
    const env = make(policy.env, policyEnvOptions(policy));
    try {
      result = evaluatePolicy(env, { actOne: (obs, det, mask) => policy.act(obs, { deterministic: det, mask }) }, opts.episodes, opts.seed, deterministic);
    } finally {
      env.close();
    }
  } finally {
    policy.dispose();
  }
  const threshold = registry.get(policy.env)?.rewardThreshold;
  const reached = threshold === undefined ? null : result.meanReturn >= threshold;
  if (opts.json) {
    io.out(
      JSON.stringify({
        env: policy.env,
        episodes: opts.episodes,
        deterministic,
        mean_return: result.meanReturn,
        std_return: result.stdReturn,
        mean_length: result.meanLength,
        reward_threshold: threshold ?? null,
        threshold_reached: reached,
        returns: result.returns,
      }) + "\n",
    );
  } else {
    const verdict = threshold === undefined ? "no reward threshold registered for this env" : `threshold ${threshold}: ${reached ? "reached" : "not reached"}`;
    io.out(
      `${policy.env}: return ${result.meanReturn.toFixed(2)} ± ${result.stdReturn.toFixed(2)} over ${opts.episodes} episodes (${deterministic ? "deterministic" : "sampled"} actions), mean length ${result.meanLength.toFixed(1)}; ${verdict}\n`,
    );
  }
}

function rejectOptionsOfOtherKind(given: Set<string>, text: boolean): void {
  const wrong = (text ? ENV_ONLY : TEXT_ONLY).filter((k) => given.has(k)).map((k) => `--${k}`);
  if (!wrong.length) return;
  const verb = wrong.length === 1 ? "applies" : "apply";
  throw new ConfigError(
    text ? `${wrong.join(", ")} ${verb} to env runs, and this is a text run` : `${wrong.join(", ")} ${verb} to text runs, and this run trained on an env`,
    text ? `drop ${wrong.join(", ")}; a text run is evaluated with --problems, --samples, --k and --temperature` : `drop ${wrong.join(", ")}; an env run is evaluated with --episodes, --stochastic and --seed`,
  );
}

/**
 * `refinery eval RUN --pass-at 1,4,16`: --episodes start states (reset seeds --seed, --seed + 1, …),
 * each played --attempts times (default the largest k) from the same state with sampled
 * actions; prints the unbiased pass@k, coverage and the distinct successful goals, classes
 * and paths per start state.
 */
async function passAtCommand(dir: string, opts: EvalCliOptions, io: CliIo): Promise<void> {
  const ks = opts.passAt as number[];
  if (opts.deterministic) throw new ConfigError("--deterministic contradicts --pass-at: pass@k samples its attempts", "drop --deterministic");
  const policy = await loadPolicy(dir, { which: opts.best ? "best" : "policy", seed: opts.seed });
  let result: ControlPassAtKResult;
  let success: "goal" | "threshold";
  try {
    await prepareEnv(policy.env);
    const threshold = registry.get(policy.env)?.rewardThreshold;
    success = opts.success ?? (threshold === undefined ? "goal" : "threshold");
    if (success === "threshold" && threshold === undefined) {
      throw new ConfigError(`--success threshold: ${policy.env} has no reward threshold registered`, "use --success goal (terminated with a positive last reward)");
    }
    const attempts = opts.attempts ?? Math.max(...ks);
    result = controlPassAtK(() => make(policy.env), (obs) => obs.map((o) => policy.act(o, { deterministic: false })), {
      configs: opts.episodes,
      attempts,
      ks,
      seed: opts.seed,
      success: success === "goal" ? goalReached : returnAtLeast(threshold as number),
    });
  } finally {
    policy.dispose();
  }
  if (opts.json) {
    io.out(
      JSON.stringify({
        env: policy.env,
        start_states: result.configs,
        attempts: result.attempts,
        success,
        pass_at_k: result.passAtK,
        coverage: result.coverage,
        distinct_goals: result.distinctGoals,
        distinct_classes: result.distinctClasses,
        distinct_paths: result.distinctPaths,
        mean_return: result.meanReturn,
      }) + "\n",
    );
    return;
  }
  const pk = Object.entries(result.passAtK).map(([k, v]) => `pass@${k} ${v.toFixed(3)}`).join(", ");
  io.out(
    `${policy.env}: ${pk} over ${result.configs} start states × ${result.attempts} sampled attempts (success: ${success}); ` +
      `coverage ${result.coverage.toFixed(3)}; per start state ${result.distinctGoals.toFixed(2)} distinct goals, ${result.distinctClasses.toFixed(2)} classes, ${result.distinctPaths.toFixed(2)} paths among successes; mean return ${result.meanReturn.toFixed(3)}\n`,
  );
}
