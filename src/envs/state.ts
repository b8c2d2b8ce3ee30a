import { RefineryError } from "../core/errors.js";
import type { RngState } from "../core/rng.js";
import { BaseEnv, hasSnapshots, type Env } from "./env.js";

/**
 * Whole-env state for checkpoints: the physical state and generator of the innermost env
 * plus the state of every wrapper layer (time-limit counters, episode statistics,
 * normalisation statistics, …). Plain JSON, so it goes into a checkpoint as is.
 *
 * A layer takes part by implementing `StatefulLayer`; layers without state are skipped.
 */
export interface StatefulLayer {
  saveState(): unknown;
  loadState(state: unknown): void;
}

export interface EnvState {
  /** Outermost first; null for layers without state. */
  layers: unknown[];
  base: { state: number[] | null; rng: RngState | null };
  /**
   * True when the innermost env has no getState()/setState(): the wrapper layers are saved
   * but the env itself is not, so a restore must start it again with a seeded reset.
   */
  noSnapshot?: boolean;
}

function isStateful(x: unknown): x is StatefulLayer {
  return !!x && typeof (x as StatefulLayer).saveState === "function" && typeof (x as StatefulLayer).loadState === "function";
}

function layersOf(env: Env<unknown, unknown>): unknown[] {
  const out: unknown[] = [];
  const base: unknown = env.unwrapped;
  let cur: unknown = env;
  while (cur !== base && cur !== null && typeof cur === "object" && "env" in cur) {
    out.push(cur);
    cur = (cur as { env: unknown }).env;
  }
  return out;
}

/**
 * The state of an env and its wrappers. An env without getState()/setState() is not an
 * error: its wrapper layers are captured and the result says `noSnapshot`, so a
 * checkpoint of a run on a plain reset/step env still saves everything else.
 */
export function captureEnvState(env: Env<unknown, unknown>): EnvState {
  const base = env.unwrapped;
  const layers = layersOf(env).map((l) => (isStateful(l) ? l.saveState() : null));
  if (!hasSnapshots(env)) return { layers, base: { state: null, rng: null }, noSnapshot: true };
  let state: number[] | null;
  try {
    state = (base as unknown as { getState(): number[] }).getState();
  } catch {
    state = null; // never reset yet
  }
  return { layers, base: { state, rng: base instanceof BaseEnv ? base.npRandom.getState() : null } };
}

/** Whether restoring these states cannot put the envs back where they were (see EnvState.noSnapshot). */
export function needsFreshReset(states: readonly EnvState[]): boolean {
  return states.some((s) => s.noSnapshot === true);
}

export function restoreEnvState(env: Env<unknown, unknown>, s: EnvState): void {
  const layers = layersOf(env);
  if (layers.length !== s.layers.length) {
    throw new RefineryError(
      "env_state_mismatch",
      `saved env state has ${s.layers.length} wrapper layers but the env has ${layers.length}`,
      "resume with the same config the run was started with",
    );
  }
  layers.forEach((l, i) => {
    if (isStateful(l) && s.layers[i] !== null) l.loadState(s.layers[i]);
  });
  const base = env.unwrapped;
  if (s.base.state && hasSnapshots(env)) (base as unknown as { setState(x: number[]): void }).setState(s.base.state);
  if (s.base.rng && base instanceof BaseEnv) base.npRandom.setState(s.base.rng);
}

/**
 * The reset seed of envs restarted on resume (no snapshots): a function of the run's seed
 * and the iteration only, different from the seeds of the run's first reset (seed + i).
 */
export function freshResetSeed(seed: number, iteration: number, numEnvs: number): number {
  return (seed + 7919 * (iteration + 1) * Math.max(1, numEnvs)) % 2_147_483_647;
}
