import { make } from "../envs/registry.js";
import { evaluatePolicy } from "../train/evaluate.js";
import { loadPolicy } from "../train/load_policy.js";
import { RunDir } from "../train/run.js";
import { evalTextCommand } from "./eval_text.js";
import type { CliIo } from "./io.js";

export interface EvalCliOptions {
  /** Text runs: held-out problems, completions per problem, the k of pass@k, the sampling temperature. */
  problems: number;
  samples: number;
  k?: number[];
  temperature?: number;
  episodes: number;
  deterministic: boolean;
  seed: number;
  best: boolean;
  json: boolean;
}

/** `refinery eval RUN_DIR`: load the saved policy, play episodes on a fresh env, print mean ± std. */
export async function evalCommand(dir: string, opts: EvalCliOptions, io: CliIo): Promise<void> {
  const run = RunDir.open(dir);
  const { config } = run.readConfig();
  if (typeof config.task === "string") return evalTextCommand(dir, config, opts, io);
  const policy = await loadPolicy(dir, { which: opts.best ? "best" : "policy", seed: opts.seed });
  let result;
  try {
    const env = make(policy.env);
    try {
      result = evaluatePolicy(env, { actOne: (obs, det) => policy.act(obs, { deterministic: det }) }, opts.episodes, opts.seed, opts.deterministic);
    } finally {
      env.close();
    }
  } finally {
    policy.dispose();
  }
  if (opts.json) {
    io.out(
      JSON.stringify({
        env: policy.env,
        episodes: opts.episodes,
        deterministic: opts.deterministic,
        mean_return: result.meanReturn,
        std_return: result.stdReturn,
        mean_length: result.meanLength,
        returns: result.returns,
      }) + "\n",
    );
  } else {
    io.out(`${policy.env}: return ${result.meanReturn.toFixed(2)} ± ${result.stdReturn.toFixed(2)} over ${opts.episodes} episodes (${opts.deterministic ? "deterministic" : "sampled"} actions), mean length ${result.meanLength.toFixed(1)}\n`);
  }
}
