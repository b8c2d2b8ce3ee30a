import { make } from "../envs/registry.js";
import { evaluatePolicy } from "../train/evaluate.js";
import { loadPolicy } from "../train/load_policy.js";
import { RunDir } from "../train/run.js";

export interface EvalCliOptions {
  episodes: number;
  deterministic: boolean;
  seed: number;
  best: boolean;
  json: boolean;
}

/** `refinery eval RUN_DIR`: load the saved policy, play episodes on a fresh env, print mean ± std. */
export async function evalCommand(dir: string, opts: EvalCliOptions, out: (s: string) => void): Promise<void> {
  RunDir.open(dir);
  const policy = await loadPolicy(dir, { which: opts.best ? "best" : "policy", seed: opts.seed });
  const env = make(policy.env);
  const result = evaluatePolicy(env, { actOne: (obs, det) => policy.act(obs, { deterministic: det }) }, opts.episodes, opts.seed, opts.deterministic);
  env.close();
  policy.dispose();
  if (opts.json) {
    out(
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
    out(`${policy.env}: return ${result.meanReturn.toFixed(2)} ± ${result.stdReturn.toFixed(2)} over ${opts.episodes} episodes (${opts.deterministic ? "deterministic" : "sampled"} actions), mean length ${result.meanLength.toFixed(1)}\n`);
  }
}
