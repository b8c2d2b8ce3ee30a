import { ConfigError, describeValue } from "../core/errors.js";
import type { Env, EnvSpec, RenderMode } from "./env.js";
import { AcrobotEnv } from "./classic/acrobot.js";
import { CartPoleEnv } from "./classic/cartpole.js";
import { ContinuousMountainCarEnv } from "./classic/continuous_mountain_car.js";
import { MountainCarEnv } from "./classic/mountain_car.js";
import { PendulumEnv } from "./classic/pendulum.js";
import { OrderEnforcing, PassiveEnvChecker, TimeLimit } from "./wrappers.js";
import { GRID_REGISTRATIONS } from "./grid/register.js";

/** How to build an env id: a factory taking the constructor options, and the spec data. */
export interface EnvRegistration {
  id: string;
  entryPoint: (kwargs: Record<string, unknown>) => Env<unknown, unknown>;
  maxEpisodeSteps?: number;
  rewardThreshold?: number;
  /** Default constructor options; `make(id, { ...overrides })` merges over them. */
  kwargs?: Record<string, unknown>;
  /** One line for `refinery list`. */
  description?: string;
}

const entries = new Map<string, EnvRegistration>();

/** All registered env ids with their registration data (read-only view). */
export const registry: ReadonlyMap<string, EnvRegistration> = entries;

/** Register an env id. Re-registering an id replaces it. */
export function register(reg: EnvRegistration): void {
  if (!reg || typeof reg.id !== "string" || !/^[A-Za-z0-9_./:-]+-v\d+$/.test(reg.id)) {
    throw new ConfigError(
      `env id ${describeValue(reg?.id)} is malformed`,
      'use the Gymnasium form "Name-vN", e.g. "MyTask-v0"',
    );
  }
  if (typeof reg.entryPoint !== "function") {
    throw new ConfigError(`env ${reg.id} has no entryPoint function`, "pass entryPoint: (kwargs) => new MyEnv(kwargs)");
  }
  entries.set(reg.id, { ...reg });
}

/** Specs of every registered env, sorted by id. */
export function listEnvs(): (EnvSpec & { description?: string })[] {
  return [...entries.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((r) => ({
      id: r.id,
      maxEpisodeSteps: r.maxEpisodeSteps,
      rewardThreshold: r.rewardThreshold,
      kwargs: { ...(r.kwargs ?? {}) },
      description: r.description,
    }));
}

export interface MakeOptions {
  /** Override the spec's time limit (0 or Infinity: no TimeLimit). */
  maxEpisodeSteps?: number;
  /** Skip the PassiveEnvChecker wrapper (action and observation checks on every step). */
  disableEnvChecker?: boolean;
  /** `"rgb_array"`: `env.render()` returns the current picture as an RGB frame (Gymnasium's `render_mode`). */
  renderMode?: RenderMode;
  /** Anything else is passed to the env's constructor, e.g. `{ g: 9.81 }` for Pendulum-v1. */
  [kwarg: string]: unknown;
}

/**
 * Build a registered env with the standard wrappers, outermost first:
 * `OrderEnforcing(TimeLimit(PassiveEnvChecker(env)))` — the same stack as `gymnasium.make`,
 * with OrderEnforcing outermost so that it also sees time-limit truncations.
 */
export function make<O = unknown, A = unknown>(id: string, options: MakeOptions = {}): Env<O, A> {
  const reg = entries.get(id);
  if (!reg) {
    const close = closeMatches(String(id), [...entries.keys()]);
    throw new ConfigError(
      `unknown env id ${describeValue(id)}`,
      `${close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? Otherwise use` : "use"} one of the registered ids (refinery list): ${[...entries.keys()].sort().join(", ")}`,
      "unknown_env",
    );
  }
  const { maxEpisodeSteps, disableEnvChecker, ...overrides } = options;
  const kwargs = { ...(reg.kwargs ?? {}), ...overrides };
  const limit = maxEpisodeSteps ?? reg.maxEpisodeSteps;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0) && limit !== Infinity && limit !== 0) {
    throw new ConfigError(`maxEpisodeSteps must be a positive integer, got ${describeValue(limit)}`, "pass e.g. 500, or 0 for no limit");
  }
  let env: Env<unknown, unknown> = reg.entryPoint(kwargs);
  env.spec = {
    id: reg.id,
    maxEpisodeSteps: limit && Number.isFinite(limit) ? limit : undefined,
    rewardThreshold: reg.rewardThreshold,
    kwargs,
  };
  if (!disableEnvChecker) env = new PassiveEnvChecker(env);
  if (limit && Number.isFinite(limit)) env = new TimeLimit(env, limit);
  env = new OrderEnforcing(env);
  return env as Env<O, A>;
}

/** Ids within a small edit distance of `id` (case-insensitive), best first. */
export function closeMatches(id: string, ids: string[], max = 3): string[] {
  const q = id.toLowerCase();
  return ids
    .map((c) => {
      const l = c.toLowerCase();
      let d = editDistance(q, l);
      if (l.startsWith(q.split("-")[0]) || l.split("-")[0] === q.split("-")[0]) d = Math.min(d, 2);
      return { c, d };
    })
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 3)))
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
    .slice(0, max)
    .map(({ c }) => c);
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

// Built-in environments: Gymnasium's classic control suite, same ids, limits and thresholds.
register({
  id: "CartPole-v1",
  entryPoint: (kw) => new CartPoleEnv(kw),
  maxEpisodeSteps: 500,
  rewardThreshold: 475,
  description: "balance a pole on a cart; Discrete(2), reward +1 per step",
});
register({
  id: "Acrobot-v1",
  entryPoint: (kw) => new AcrobotEnv(kw),
  maxEpisodeSteps: 500,
  rewardThreshold: -100,
  description: "swing a two-link chain above a line; Discrete(3), reward -1 per step",
});
register({
  id: "MountainCar-v0",
  entryPoint: (kw) => new MountainCarEnv(kw),
  maxEpisodeSteps: 200,
  rewardThreshold: -110,
  description: "drive an underpowered car up a hill; Discrete(3), reward -1 per step",
});
register({
  id: "MountainCarContinuous-v0",
  entryPoint: (kw) => new ContinuousMountainCarEnv(kw),
  maxEpisodeSteps: 999,
  rewardThreshold: 90,
  description: "mountain car with a continuous force; Box(-1, 1, (1,)), +100 at the goal minus 0.1·a²",
});
register({
  id: "Pendulum-v1",
  entryPoint: (kw) => new PendulumEnv(kw),
  maxEpisodeSteps: 200,
  description: "swing a pendulum up and hold it; Box(-2, 2, (1,)), reward -(θ² + 0.1·θ̇² + 0.001·u²)",
});

// Grid worlds: MiniGrid's and BabyAI's ids and semantics (src/envs/grid/, docs/grid-worlds.md).
for (const reg of GRID_REGISTRATIONS) register(reg);
