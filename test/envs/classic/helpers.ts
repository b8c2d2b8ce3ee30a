/**
 * Helpers shared by the classic-control env tests: error-code checks, float32 tolerances,
 * and the replay of golden fixtures recorded from real Gymnasium 1.3.0.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { RefineryError } from "../../../src/core/errors.js";
import type { Box, Discrete, SpaceJSON } from "../../../src/core/spaces.js";
import type { Env, Snapshotable } from "../../../src/envs/env.js";

/** Asserts that `fn` throws an instance of `type` carrying the error code `code`. */
export function expectCode(fn: () => unknown, type: new (...args: never[]) => RefineryError, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    expect((e as RefineryError).code).toBe(code);
    return;
  }
  throw new Error(`expected a ${type.name} with code ${code}, but nothing was thrown`);
}

/** Distance to the next float32 away from zero: one unit in the last place of `x` as a float32. */
function f32Ulp(x: number): number {
  const f = new Float32Array([Math.abs(x)]);
  const bits = new Int32Array(f.buffer);
  bits[0] += 1;
  return f[0] - Math.abs(x);
}

/** Distance in float32 units in the last place between two float32 values. */
function f32UlpDistance(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  // Map the sign-magnitude bit patterns onto a monotonic integer line.
  const ord = (x: number) => (x < 0 ? -0x80000000 - x : x);
  return Math.abs(ord(i[0]) - ord(i[1]));
}

/** Decodes the fixtures' "inf"/"-inf" strings (JSON has no infinities). */
const decodeInf = (v: number | string): number => (v === "inf" ? Infinity : v === "-inf" ? -Infinity : (v as number));

/** Steps `env` through `actions` and records `[...obs, reward, terminated]` per step. */
export function rollout<A>(env: Env<Float32Array, A>, actions: readonly A[]): number[][] {
  return actions.map((a) => {
    const [obs, reward, terminated] = env.step(a);
    return [...obs, reward, Number(terminated)];
  });
}

/** `rollout` for a one-element float32 Box action space, each number sent as a Float32Array. */
export function rolloutFloat32(env: Env<Float32Array, Float32Array>, actions: readonly number[]): number[][] {
  return rollout(env, actions.map((a) => Float32Array.of(a)));
}

// ---------------------------------------------------------------------------------------
// CartPole / Acrobot fixtures: one-step transitions.

/** `[state, action, nextState, obs (float32 values), reward, terminated]`, from real Gymnasium 1.3.0. */
export type Transition = [number[], number, number[], number[], number, boolean];

/** What the CartPole and Acrobot fixtures have in common. */
export interface TransitionFixture {
  gymnasium: string;
  observationSpace: { shape: number[]; dtype: string; low: (number | string)[]; high: (number | string)[] };
  actionSpace: { n: number; start: number };
  transitions: Transition[];
}

/** Asserts that a Box observation space and a Discrete action space equal the fixture's (Gymnasium's). */
export function expectFixtureSpaces(env: { observationSpace: Box; actionSpace: Discrete }, fixture: TransitionFixture): void {
  const ref = fixture.observationSpace;
  expect([...env.observationSpace.shape]).toEqual(ref.shape);
  expect(env.observationSpace.dtype).toBe(ref.dtype);
  expect(Array.from(env.observationSpace.low)).toEqual(ref.low.map(decodeInf));
  expect(Array.from(env.observationSpace.high)).toEqual(ref.high.map(decodeInf));
  expect(env.actionSpace.n).toBe(fixture.actionSpace.n);
  expect(env.actionSpace.start).toBe(fixture.actionSpace.start);
}

export interface GoldenReport {
  count: number;
  flagOrRewardMismatches: string[];
  maxStateDiff: number;
  exactStates: number;
  obsValues: number;
  exactObs: number;
  badObs: string[];
}

/**
 * Replays fixture transitions through setState + step and compares with Gymnasium's
 * results. `obsSource[i]` is the state component observation entry `i` is computed from.
 */
export function replayTransitions(
  env: Env<Float32Array, number> & Snapshotable,
  transitions: Transition[],
  obsSource: readonly number[],
): GoldenReport {
  const report: GoldenReport = {
    count: transitions.length,
    flagOrRewardMismatches: [],
    maxStateDiff: 0,
    exactStates: 0,
    obsValues: 0,
    exactObs: 0,
    badObs: [],
  };
  transitions.forEach(([state, action, nextState, obsRef, rewardRef, termRef], k) => {
    env.setState(state);
    const [obs, reward, terminated, truncated] = env.step(action);
    const next = env.getState();
    if (terminated !== termRef || reward !== rewardRef || truncated !== false) {
      report.flagOrRewardMismatches.push(`#${k}: got (${reward}, ${terminated}, ${truncated}), want (${rewardRef}, ${termRef}, false)`);
    }
    let stateExact = true;
    for (let i = 0; i < next.length; i++) {
      report.maxStateDiff = Math.max(report.maxStateDiff, Math.abs(next[i] - nextState[i]));
      if (next[i] !== nextState[i]) stateExact = false;
    }
    if (stateExact) report.exactStates++;
    for (let i = 0; i < obsSource.length; i++) {
      report.obsValues++;
      if (obs[i] === obsRef[i]) {
        report.exactObs++;
        continue;
      }
      // Only last-bit noise in the float64 state (Math.cos/sin vs numpy's) may move a
      // float32 observation, and then by one float32 ulp at most.
      const j = obsSource[i];
      const stateDiffers = next[j] !== nextState[j];
      if (!stateDiffers || f32UlpDistance(obs[i], obsRef[i]) > 1) {
        report.badObs.push(`#${k}[${i}]: got ${obs[i]}, want ${obsRef[i]} (state ${next[j]} vs ${nextState[j]})`);
      }
    }
  });
  return report;
}

export function expectGolden(report: GoldenReport, label: string): void {
  console.info(
    `${label}: ${report.count} transitions, max |Δstate| = ${report.maxStateDiff.toExponential(2)}, ` +
      `${report.exactStates} states bit-identical, ${report.exactObs}/${report.obsValues} obs values identical`,
  );
  expect(report.flagOrRewardMismatches).toEqual([]);
  expect(report.maxStateDiff).toBeLessThan(1e-12);
  expect(report.badObs).toEqual([]);
  expect(report.exactObs / report.obsValues).toBeGreaterThanOrEqual(0.99);
}

// ---------------------------------------------------------------------------------------
// MountainCar / MountainCarContinuous / Pendulum fixture: labelled cases per kwargs group.
// Golden data from real Gymnasium 1.3.0 + numpy 2.4.6 (test/fixtures/gen_classic_mc_pendulum.py).

export interface GoldenCase<A> {
  label: string;
  state: number[];
  /** numpy dtype of Gymnasium's state array before the step (MountainCarContinuous: float64 after reset, float32 after a step). */
  dtype: string;
  action: A;
  nextState: number[];
  obs: number[];
  reward: number;
  terminated: boolean;
}

export interface GoldenFixture<A> {
  versions: { gymnasium: string; numpy: string };
  spaces: Record<string, { observation: SpaceJSON; action: SpaceJSON }>;
  groups: { env: string; kwargs: Record<string, unknown>; cases: GoldenCase<A>[] }[];
}

/** The fixture shared by MountainCar-v0, MountainCarContinuous-v0 and Pendulum-v1, with the groups of `envId`. */
export function loadGoldenCases<A>(envId: string): { fixture: GoldenFixture<A>; groups: GoldenFixture<A>["groups"] } {
  const fixture = JSON.parse(
    readFileSync(new URL("../../fixtures/classic_mc_pendulum.json", import.meta.url), "utf8"),
  ) as GoldenFixture<A>;
  return { fixture, groups: fixture.groups.filter((g) => g.env === envId) };
}

/** Hand-picked cases have descriptive labels; trajectory cases are "s<seed>t<step>" or "reset<seed>". */
export function isBoundaryCase(label: string): boolean {
  return !/^(s\d+t\d+|reset\d+)$/.test(label);
}

/**
 * Compares one float32 observation value with Gymnasium's and returns whether they are
 * bit-identical. On trajectory states sin/cos come from V8 here and numpy/glibc there, so
 * last-bit noise may flip a float32 rounding (1 ulp is allowed); hand-picked boundary
 * cases probe exact roundings and must match bit for bit.
 */
export function matchesGoldenObs(got: number, want: number, label: string): boolean {
  if (got === want) return true;
  if (isBoundaryCase(label)) expect(got, label).toBe(want);
  else expect(Math.abs(got - want), label).toBeLessThanOrEqual(f32Ulp(want));
  return false;
}
