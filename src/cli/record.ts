import { policyEnvOptions } from "../train/load_policy.js";
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { ConfigError } from "../core/errors.js";
import { GifWriter } from "../envs/render/gif.js";
import { make, prepareEnv } from "../envs/registry.js";
import { atomicWriteFile } from "../train/fsutil.js";
import { loadPolicy } from "../train/load_policy.js";
import { LATEST_VIDEO, recordEpisodes } from "../train/record.js";
import { RunDir } from "../train/run.js";
import type { CliIo } from "./io.js";

export interface RecordCliOptions {
  episodes: number;
  out?: string;
  seed: number;
  stochastic: boolean;
  fps?: number;
  best: boolean;
  json: boolean;
}

/**
 * `refinery record RUN`: plays the run's saved policy on its env with rendering on and
 * writes the episodes as one animated GIF, to RUN/videos/latest.gif and to --out.
 */
export async function recordCommand(dir: string, opts: RecordCliOptions, io: CliIo): Promise<void> {
  const run = RunDir.open(dir);
  const { config } = run.readConfig();
  if (typeof config.task === "string") {
    throw new ConfigError(`${dir} is a text run (task ${config.task}); text episodes have no pictures`, "record a run trained on an env, or read its completions with `refinery eval`");
  }
  const policy = await loadPolicy(dir, { which: opts.best ? "best" : "policy", seed: opts.seed });
  let bytes: Uint8Array, result, fps: number;
  try {
    await prepareEnv(policy.env);
    const probe = make(policy.env, { ...policyEnvOptions(policy), disableEnvChecker: true });
    const modes = probe.metadata?.renderModes ?? [];
    probe.close();
    if (!modes.includes("rgb_array")) {
      throw new ConfigError(`${policy.env} cannot render (no "rgb_array" render mode)`, "record a run of an env that draws itself, e.g. CartPole-v1 or Pendulum-v1 (see README, Environments)");
    }
    const env = make(policy.env, { ...policyEnvOptions(policy), renderMode: "rgb_array" });
    try {
      fps = opts.fps ?? env.metadata?.renderFps ?? 30;
      const gif = new GifWriter({ fps });
      result = recordEpisodes(env, { actOne: (obs, det, mask) => policy.act(obs, { deterministic: det, mask }) }, { episodes: opts.episodes, seed: opts.seed, deterministic: !opts.stochastic }, (frame) => gif.add(frame));
      bytes = gif.finish();
    } finally {
      env.close();
    }
  } finally {
    policy.dispose();
  }
  const latest = run.file(LATEST_VIDEO);
  mkdirSync(dirname(latest), { recursive: true });
  atomicWriteFile(latest, bytes);
  const written = [latest];
  if (opts.out !== undefined) {
    const out = resolve(opts.out);
    mkdirSync(dirname(out), { recursive: true });
    atomicWriteFile(out, bytes);
    written.unshift(out);
  }
  if (opts.json) {
    io.out(JSON.stringify({ env: policy.env, episodes: opts.episodes, deterministic: !opts.stochastic, returns: result.returns, lengths: result.lengths, frames: result.frames, fps, bytes: bytes.length, files: written }) + "\n");
  } else {
    const returns = result.returns.map((r) => (Number.isInteger(r) ? String(r) : r.toFixed(2))).join(", ");
    io.out(`${policy.env}: ${opts.episodes} episode${opts.episodes === 1 ? "" : "s"} (${opts.stochastic ? "sampled" : "deterministic"} actions), returns ${returns}; ${result.frames} frames at ${fps} fps, ${(bytes.length / 1e6).toFixed(2)} MB\n`);
    for (const f of written) io.out(`  wrote ${f}\n`);
  }
}

export function registerRecordCommand(program: Command, io: CliIo, intOption: (name: string, min?: number) => (v: string) => number): void {
  program
    .command("record")
    .description("play a trained policy with rendering on and save the episodes as an animated GIF (also kept as RUN/videos/latest.gif for the dashboard)")
    .argument("<run_dir>", "run directory written by `refinery train` (an env run, not a text run)")
    .option("--episodes <n>", "episodes to play, one after another in one GIF", intOption("--episodes", 1), 3)
    .option("--out <file>", "also write the GIF here, e.g. cartpole.gif (default: only RUN/videos/latest.gif)")
    .option("--seed <s>", "seed of the first episode's reset (and of sampled actions)", intOption("--seed"), 0)
    .option("--stochastic", "sample actions from the policy instead of taking the most likely one", false)
    .option("--fps <n>", "playback frames per second, at most 100 (default: the env's real-time rate: 50 for CartPole, 15 for Acrobot, 30 for the others)", (v: string) => {
      const n = Number(v);
      if (!(n > 0 && n <= 100)) throw new InvalidArgumentError(`--fps must be a number in (0, 100], got "${v}".`);
      return n;
    })
    .option("--best", "use the best policy by evaluation (best/) instead of the final one", false)
    .option("--json", "print one JSON object: returns, lengths, frames, fps, bytes and files written", false)
    .action((dir: string, opts: RecordCliOptions) => recordCommand(dir, opts, io));
}
