import type { ActingPolicy } from "../algos/types.js";
import { EnvError } from "../core/errors.js";
import type { Env, RgbFrame } from "../envs/env.js";
import { playEpisode } from "./evaluate.js";

/** Where a run directory keeps its latest recording (`refinery record`; the dashboard shows it). */
export const LATEST_VIDEO = "videos/latest.gif";

export interface RecordOptions {
  episodes: number;
  /** Seed of the first reset; later episodes continue the env's stream (as evaluatePolicy). */
  seed: number;
  /** Take the most likely action (true) or sample (false). */
  deterministic: boolean;
}

export interface RecordResult {
  returns: number[];
  lengths: number[];
  /** Frames handed to `onFrame`: one after each reset and one after each step. */
  frames: number;
}

/**
 * Plays `episodes` episodes with `policy` and hands every rendered frame to `onFrame`, as
 * Gymnasium's RecordVideo captures them: the first picture of each episode right after
 * `reset`, then one after every step, the terminal one included. So an episode of n steps
 * gives n + 1 frames. The env must have been made with `renderMode: "rgb_array"`.
 */
export function recordEpisodes(env: Env<unknown, unknown>, policy: ActingPolicy, options: RecordOptions, onFrame: (frame: RgbFrame, episode: number) => void): RecordResult {
  if (env.renderMode !== "rgb_array" || typeof env.render !== "function") {
    const id = env.spec?.id ?? "the env";
    throw new EnvError("no_render_mode", `${id} was made without renderMode "rgb_array", so there is nothing to record`, `create it with make("${id}", { renderMode: "rgb_array" })`);
  }
  const render = (): RgbFrame => env.render!();
  const returns: number[] = [];
  const lengths: number[] = [];
  let frames = 0;
  for (let ep = 0; ep < options.episodes; ep++) {
    const [obs, info] = env.reset(ep === 0 ? { seed: options.seed } : {});
    const frame = () => {
      onFrame(render(), ep);
      frames++;
    };
    frame();
    const played = playEpisode(env, policy, obs, options.deterministic, frame, info);
    returns.push(played.return);
    lengths.push(played.length);
  }
  return { returns, lengths, frames };
}
