import { ConfigError, describeValue } from "../core/errors.js";
import type { Env, EnvSpec, RenderMode } from "./env.js";
import { AcrobotEnv } from "./classic/acrobot.js";
import { CartPoleEnv } from "./classic/cartpole.js";
import { ContinuousMountainCarEnv } from "./classic/continuous_mountain_car.js";
import { MountainCarEnv } from "./classic/mountain_car.js";
import { PendulumEnv } from "./classic/pendulum.js";
import { LunarLanderEnv } from "./box2d/lunar_lander.js";
import { loadMujoco } from "./mujoco/loader.js";
import { AntEnv, HalfCheetahEnv, HopperEnv, SwimmerEnv, Walker2dEnv } from "./mujoco/locomotion.js";
import { InvertedDoublePendulumEnv, InvertedPendulumEnv } from "./mujoco/pendulums.js";
import { ReacherEnv } from "./mujoco/reacher.js";
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
  /**
   * Asynchronous set-up the env needs before `make` can build it synchronously (e.g.
   * loading a WebAssembly physics engine); run by `prepareEnv(id)`.
   */
  prepare?: () => Promise<unknown>;
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

/**
 * Runs the env's one-time asynchronous set-up (MuJoCo envs load their WebAssembly module),
 * so that `make(id)` works synchronously afterwards. A no-op for envs without one and for
 * unknown ids (make reports those). The CLI, the trainers and the env workers call it.
 */
export async function prepareEnv(id: unknown): Promise<void> {
  if (typeof id !== "string") return;
  const reg = entries.get(id);
  if (reg?.prepare) await reg.prepare();
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

// Box2D (on planck, a JavaScript port of Box2D 2.3): Gymnasium's ids, limits and thresholds.
register({
  id: "LunarLander-v3",
  entryPoint: (kw) => new LunarLanderEnv(kw),
  maxEpisodeSteps: 1000,
  rewardThreshold: 200,
  description: "land on the pad between the flags; Discrete(4) engines, shaped reward, ±100 on crash/rest",
});
register({
  id: "LunarLanderContinuous-v3",
  entryPoint: (kw) => new LunarLanderEnv(kw),
  maxEpisodeSteps: 1000,
  rewardThreshold: 200,
  kwargs: { continuous: true },
  description: "LunarLander with throttles; Box(-1, 1, (2,)): main engine 50–100% above 0, side engines beyond ±0.5",
});
// MuJoCo v5 (Gymnasium's ids, limits and thresholds) on the official MuJoCo WebAssembly
// build; `prepare` loads the module on first use, so importing refinery does not.
const mujoco = (id: string, entryPoint: EnvRegistration["entryPoint"], maxEpisodeSteps: number, rewardThreshold: number | undefined, description: string) =>
  register({ id, entryPoint, maxEpisodeSteps, rewardThreshold, description, prepare: () => loadMujoco() });
mujoco("InvertedPendulum-v5", (kw) => new InvertedPendulumEnv(kw), 1000, 950, "MuJoCo: keep a pole upright on a cart; Box(-3, 3, (1,)), +1 per step");
mujoco("InvertedDoublePendulum-v5", (kw) => new InvertedDoublePendulumEnv(kw), 1000, 9100, "MuJoCo: balance two stacked poles on a cart; Box(-1, 1, (1,)), 10 alive − distance − velocity penalties");
mujoco("HalfCheetah-v5", (kw) => new HalfCheetahEnv(kw), 1000, 4800, "MuJoCo: run a planar cheetah forward; Box(-1, 1, (6,)), forward velocity − 0.1·Σa²");
mujoco("Hopper-v5", (kw) => new HopperEnv(kw), 1000, 3800, "MuJoCo: hop forward on one leg; Box(-1, 1, (3,)), forward velocity + 1 healthy − 1e-3·Σa²");
mujoco("Walker2d-v5", (kw) => new Walker2dEnv(kw), 1000, undefined, "MuJoCo: walk forward on two legs; Box(-1, 1, (6,)), forward velocity + 1 healthy − 1e-3·Σa²");
mujoco("Swimmer-v5", (kw) => new SwimmerEnv(kw), 1000, 360, "MuJoCo: swim forward in a viscous fluid; Box(-1, 1, (2,)), forward velocity − 1e-4·Σa²");
mujoco("Reacher-v5", (kw) => new ReacherEnv(kw), 50, -3.75, "MuJoCo: move an arm's tip to a target; Box(-1, 1, (2,)), −distance − Σa²");
mujoco("Ant-v5", (kw) => new AntEnv(kw), 1000, 6000, "MuJoCo: walk a four-legged robot forward; Box(-1, 1, (8,)), forward + 1 healthy − 0.5·Σa² − contact cost");
// Grid worlds: MiniGrid's and BabyAI's ids and semantics (src/envs/grid/, docs/grid-worlds.md).
for (const reg of GRID_REGISTRATIONS) register(reg);
