import type { ActingPolicy } from "../algos/types.js";
import { describeValue } from "../core/errors.js";
import { flatSize, isNumericArray } from "../core/spaces.js";
import { readActionMask } from "../envs/action_mask.js";
import { writeObservationRow } from "../envs/vector.js";
import type { Env, Info } from "../envs/env.js";

export interface EvalResult {
  returns: number[];
  lengths: number[];
  meanReturn: number;
  stdReturn: number;
  meanLength: number;
}

/**
 * Plays `episodes` full episodes with `policy` on `env` and reports raw returns. The
 * first reset is seeded with `seed`, so an evaluation is reproducible; later episodes
 * continue the env's stream (Gymnasium's rule).
 */
export function evaluatePolicy(env: Env<unknown, unknown>, policy: ActingPolicy, episodes: number, seed: number, deterministic: boolean): EvalResult {
  const returns: number[] = [];
  const lengths: number[] = [];
  for (let ep = 0; ep < episodes; ep++) {
    const [obs, info] = env.reset(ep === 0 ? { seed } : {});
    const played = playEpisode(env, policy, obs, deterministic, undefined, info);
    returns.push(played.return);
    lengths.push(played.length);
  }
  return { returns, lengths, ...summarize(returns), meanLength: mean(lengths) };
}

/**
 * Plays one episode from `obs`, the observation of the reset that began it (`info` its
 * info), until it terminates or is truncated; `afterStep` runs after every step (the
 * terminal one too). The policy gets each observation's action mask (the env's
 * `actionMasks()`, else `info.action_mask`) and uses it if it was trained with masks.
 */
export function playEpisode(
  env: Env<unknown, unknown>,
  policy: ActingPolicy,
  obs: unknown,
  deterministic: boolean,
  afterStep?: () => void,
  info?: Info,
): { return: number; length: number } {
  let total = 0;
  let length = 0;
  const size = flatSize(env.observationSpace);
  const row = new Float32Array(size);
  for (;;) {
    const mask = readActionMask(env, info);
    // A Dict observation (grid features) reaches the policy as the raw row a vector env writes.
    const input = isNumericArray(obs) ? (obs as Float32Array) : rawRow(obs, row, env);
    const [next, reward, terminated, truncated, nextInfo] = env.step(policy.actOne(input, deterministic, mask));
    afterStep?.();
    total += reward;
    length++;
    if (terminated || truncated) return { return: total, length };
    obs = next;
    info = nextInfo;
  }
}

function rawRow(obs: unknown, row: Float32Array, env: Env<unknown, unknown>): Float32Array {
  writeObservationRow(row, 0, row.length, obs, () => `${String(env)} returned observation ${describeValue(obs)}, which does not fit ${String(env.observationSpace)}`);
  return row;
}

export function summarize(xs: number[]): { meanReturn: number; stdReturn: number } {
  const m = mean(xs);
  const sd = xs.length ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length) : NaN;
  return { meanReturn: m, stdReturn: sd };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}
