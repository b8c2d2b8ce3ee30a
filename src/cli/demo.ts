import { Rng } from "../core/rng.js";
import { checkEnv, formatCheckReport } from "../envs/check.js";
import { make, prepareEnv } from "../envs/registry.js";
import type { CliIo } from "./io.js";

export interface DemoOptions {
  env: string;
  episodes: number;
  seed: number;
  json: boolean;
}

/** `refinery demo`: make an env, check it, play random episodes and print their returns. */
export async function demoCommand(opts: DemoOptions, io: CliIo): Promise<void> {
  await prepareEnv(opts.env);
  const out = (s: string) => io.out(s);
  const report = checkEnv(make(opts.env));
  if (opts.json) out(JSON.stringify({ check: report }) + "\n");
  else out(formatCheckReport(report, opts.env) + "\n");

  const env = make(opts.env);
  const rng = new Rng(opts.seed);
  const returns: number[] = [];
  for (let ep = 0; ep < opts.episodes; ep++) {
    env.reset(ep === 0 ? { seed: opts.seed } : {});
    let total = 0;
    let length = 0;
    for (;;) {
      const [, reward, terminated, truncated] = env.step(env.actionSpace.sample(rng));
      total += reward;
      length += 1;
      if (terminated || truncated) {
        returns.push(total);
        const end = terminated ? "terminated" : "truncated";
        if (opts.json) out(JSON.stringify({ episode: ep, return: total, length, end }) + "\n");
        else out(`episode ${ep + 1}: return ${fmt(total)} over ${length} steps (${end})\n`);
        break;
      }
    }
  }
  env.close();
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
  if (opts.json) out(JSON.stringify({ env: opts.env, episodes: returns.length, mean_return: mean, std_return: std }) + "\n");
  else out(`random policy on ${opts.env}: mean return ${fmt(mean)} ± ${fmt(std)} over ${returns.length} episodes\n`);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
