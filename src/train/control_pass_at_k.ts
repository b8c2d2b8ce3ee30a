import { outcomeClassKey } from "../advantage/diversity.js";
import type { TrajectorySummary } from "../advantage/set.js";
import { ConfigError } from "../core/errors.js";
import { flatSize, isNumericArray } from "../core/spaces.js";
import { hasSnapshots, type Env } from "../envs/env.js";
import { captureEnvState, restoreEnvState } from "../envs/state.js";
import { cellOf, type SuccessPredicate } from "../rollout/vine_collector.js";
import { passAtK } from "./text_eval.js";

/** Samples one action per observation (a batch of them); pass@k always samples. */
export type BatchSampler = (obs: Float32Array[]) => (number | Float32Array)[];

export interface ControlPassAtKOptions {
  /** Start configurations: reset seeds seed, seed + 1, … */
  configs: number;
  /** Attempts per configuration, n ≥ max(ks). */
  attempts: number;
  ks: number[];
  seed: number;
  success: SuccessPredicate;
}

export interface ControlPassAtKResult {
  configs: number;
  attempts: number;
  /** Unbiased pass@k (1 − C(n−c,k)/C(n,k)), averaged over configurations. */
  passAtK: Record<string, number>;
  /** Fraction of configurations with at least one success among the n attempts. */
  coverage: number;
  /** Mean over configurations of the distinct final cells (goals) of the successful attempts. */
  distinctGoals: number;
  /** Mean over configurations of the distinct outcome classes (success × quadrants visited) among successes. */
  distinctClasses: number;
  /** Mean over configurations of the distinct successful paths (exact cell sequences). */
  distinctPaths: number;
  meanReturn: number;
}

/**
 * pass@k for control: for each start configuration (a seeded reset), n attempts are played
 * from that same state (env snapshots), sampling actions; an attempt succeeds by `success`.
 * Attempts of one configuration run in lock-step, so the policy acts on one batch per step.
 */
export function controlPassAtK(makeEnv: () => Env<unknown, unknown>, sample: BatchSampler, o: ControlPassAtKOptions): ControlPassAtKResult {
  const maxK = Math.max(...o.ks);
  if (!o.ks.length || o.ks.some((k) => !Number.isInteger(k) || k < 1)) throw new ConfigError(`pass@k needs integers k ≥ 1, got ${o.ks.join(",")}`, "pass e.g. --pass-at 1,4,16");
  if (o.attempts < maxK) throw new ConfigError(`pass@${maxK} needs at least ${maxK} attempts per start state, got ${o.attempts}`, `raise --attempts to ${maxK} or more, or lower the largest k`);
  const envs = Array.from({ length: o.attempts }, makeEnv);
  try {
    if (!hasSnapshots(envs[0])) throw new ConfigError(`pass@k plays every attempt from the same start state, but ${String(envs[0])} has no snapshots`, "use an env with getState/setState (every built-in env has them)", "no_snapshots");
    const size = flatSize(envs[0].observationSpace);
    const sums: Record<string, number> = Object.fromEntries(o.ks.map((k) => [String(k), 0]));
    let covered = 0, goals = 0, classes = 0, paths = 0, returns = 0;
    for (let i = 0; i < o.configs; i++) {
      const [obs0] = envs[0].reset({ seed: o.seed + i });
      const state = captureEnvState(envs[0]);
      const runs = playAttempts(envs, state, toFlat(obs0, size), sample, o.success);
      const wins = runs.filter((r) => r.success);
      for (const k of o.ks) sums[String(k)] += passAtK(o.attempts, wins.length, k);
      if (wins.length) covered++;
      goals += new Set(wins.map((r) => (r.finalCell ? r.finalCell.join(",") : ""))).size;
      classes += new Set(wins.map(outcomeClassKey)).size;
      paths += new Set(wins.map((r) => r.cells.join(","))).size;
      returns += runs.reduce((a, r) => a + r.return, 0) / runs.length;
    }
    const per = (x: number) => x / o.configs;
    return {
      configs: o.configs,
      attempts: o.attempts,
      passAtK: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, per(v)])),
      coverage: per(covered),
      distinctGoals: per(goals),
      distinctClasses: per(classes),
      distinctPaths: per(paths),
      meanReturn: per(returns),
    };
  } finally {
    for (const env of envs) env.close();
  }
}

function playAttempts(envs: Env<unknown, unknown>[], state: ReturnType<typeof captureEnvState>, obs0: Float32Array, sample: BatchSampler, success: SuccessPredicate): TrajectorySummary[] {
  const size = obs0.length;
  const u = envs[0].unwrapped as unknown as { width?: unknown; height?: unknown };
  const gridSize = typeof u.width === "number" && typeof u.height === "number" && cellOf(envs[0]).length ? ([u.width, u.height] as const) : null;
  const out: TrajectorySummary[] = [];
  const cells: number[][] = [];
  const ret = new Float64Array(envs.length);
  const current: Float32Array[] = [];
  envs.forEach((env, e) => {
    restoreEnvState(env, state);
    current[e] = obs0;
    cells[e] = cellOf(env);
  });
  let running = envs.map((_, e) => e);
  while (running.length) {
    const actions = sample(running.map((e) => current[e]));
    const next: number[] = [];
    running.forEach((e, p) => {
      const [obs, reward, terminated, truncated] = envs[e].step(actions[p]);
      ret[e] += reward;
      cells[e].push(...cellOf(envs[e]));
      current[e] = toFlat(obs, size);
      if (terminated || truncated) {
        const c = Int32Array.from(cells[e]);
        out[e] = {
          return: ret[e],
          success: success({ return: ret[e], lastReward: reward, terminated }),
          finalCell: c.length >= 2 ? [c[c.length - 2], c[c.length - 1]] : null,
          cells: c,
          gridSize,
          finalObs: current[e],
        };
      } else next.push(e);
    });
    running = next;
  }
  return out;
}

function toFlat(o: unknown, size: number): Float32Array {
  if (typeof o === "number" && size === 1) return Float32Array.of(o);
  if (!isNumericArray(o) || o.length !== size) throw new ConfigError(`pass@k needs flat numeric observations of ${size} values`, "use the env's default (flat) observation");
  return Float32Array.from(o);
}
