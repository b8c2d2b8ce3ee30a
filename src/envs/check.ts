import { describeValue } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import { Box, Dict, isNumericArray, Tuple, type Space } from "../core/spaces.js";
import { BaseEnv, hasSnapshots, type Env } from "./env.js";

/**
 * `checkEnv`: an active check that an environment follows the API (after Gymnasium's
 * `utils.env_checker.check_env`). It calls reset and step in the ways learners do and
 * reports every problem as a plain sentence naming the problem and the fix. It never
 * throws: exceptions raised by the env are caught and reported.
 */

export interface CheckEnvOptions {
  /** Do not call `render()` even if the env has one. */
  skipRenderCheck?: boolean;
  /** Report every problem as a warning (the report is then always `ok`). */
  warnOnly?: boolean;
}

export interface CheckReport {
  /** True when no errors were found (warnings allowed). */
  ok: boolean;
  errors: string[];
  warnings: string[];
}

/** Number of random steps taken with actions sampled from the action space. */
const RANDOM_STEPS = 50;

/** Thrown internally to stop a check group once an error makes its later checks meaningless. */
class StopGroup extends Error {}

/** Collects problems; `fail` records an error and aborts the current check group. */
class Reporter {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  constructor(readonly name: string) {}
  error(msg: string): void {
    const m = `${this.name}: ${msg}`;
    if (!this.errors.includes(m)) this.errors.push(m);
  }
  warn(msg: string): void {
    const m = `${this.name}: ${msg}`;
    if (!this.warnings.includes(m)) this.warnings.push(m);
  }
  fail(msg: string): never {
    this.error(msg);
    throw new StopGroup(msg);
  }
  /** Run one group of checks; an exception from the env becomes an error naming `what`. */
  group(what: string, fn: () => void): boolean {
    const before = this.errors.length;
    try {
      fn();
    } catch (e) {
      if (!(e instanceof StopGroup)) this.error(`${what} threw ${errorText(e)}. Fix: make ${what} work, or see the stack trace of the error`);
    }
    return this.errors.length === before;
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return describeValue(e);
}

/** Check an environment; see the module comment. */
export function checkEnv(env: Env<unknown, unknown>, options: CheckEnvOptions = {}): CheckReport {
  const rep = new Reporter(safeName(env));
  try {
    runChecks(env, rep, options);
  } catch (e) {
    // Defensive: runChecks guards each group, but a pathological env (throwing getters) must not escape.
    if (!(e instanceof StopGroup)) rep.error(`the checker stopped on ${errorText(e)}. Fix: make the env's properties readable without throwing`);
  }
  if (options.warnOnly) {
    return { ok: true, errors: [], warnings: [...rep.errors, ...rep.warnings] };
  }
  return { ok: rep.errors.length === 0, errors: rep.errors, warnings: rep.warnings };
}

function safeName(env: unknown): string {
  try {
    const e = env as Env<unknown, unknown>;
    return e.spec?.id ?? e.unwrapped?.constructor?.name ?? (e as object).constructor?.name ?? "env";
  } catch {
    return "env";
  }
}

function runChecks(env: Env<unknown, unknown>, rep: Reporter, options: CheckEnvOptions): void {
  if (env === null || typeof env !== "object") {
    rep.error(`expected an env object, got ${describeValue(env)}. Fix: pass an instance of a class extending BaseEnv`);
    return;
  }
  for (const m of ["reset", "step", "close"] as const) {
    if (typeof (env as unknown as Record<string, unknown>)[m] !== "function") {
      rep.error(`the env has no ${m}() method. Fix: implement the Env interface (reset, step, close), e.g. by extending BaseEnv`);
    }
  }
  if (rep.errors.length > 0) return;
  if (env.unwrapped !== env) {
    rep.warn(`the env is wrapped (${String(env)}), so the checks go through wrappers that may hide or change problems. Fix: nothing for an env from make(); to check an env class itself pass env.unwrapped`);
  }

  const spacesOk = rep.group("reading the spaces", () => {
    checkSpace(env.actionSpace, "actionSpace", rep);
    checkSpace(env.observationSpace, "observationSpace", rep);
  });
  if (!spacesOk) return;

  const resetOk = rep.group("reset()", () => checkResetReturn(env, rep));
  if (!resetOk) {
    rep.warn("the seeding and step checks were skipped because of the reset() errors above. Fix: fix those first and check again");
  } else {
    rep.group("reset({ seed })", () => checkSeedDeterminism(env, rep));
    rep.group("reset({ options: {} })", () => void env.reset({ options: {} }));
    const stepOk = rep.group("step()", () => checkStepReturn(env, rep));
    if (stepOk) {
      rep.group("step() after reset with a seed", () => checkStepDeterminism(env, rep));
      rep.group("step() with sampled actions", () => checkRandomSteps(env, rep));
      if (hasSnapshots(env)) rep.group("getState()/setState()", () => checkSnapshots(env, rep));
    } else {
      rep.warn("the determinism and random-step checks were skipped because of the step() errors above. Fix: fix those first and check again");
    }
  }
  if (!options.skipRenderCheck) checkRender(env, rep);
  rep.group("close()", () => env.close());
  try {
    env.close();
  } catch (e) {
    rep.warn(`calling close() a second time threw ${errorText(e)}. Fix: make close() idempotent`);
  }
}

// ---------------------------------------------------------------------------------------
// Spaces
// ---------------------------------------------------------------------------------------

function checkSpace(space: unknown, name: "actionSpace" | "observationSpace", rep: Reporter): void {
  const s = space as Partial<Space<unknown>> | null | undefined;
  if (!s || typeof s.sample !== "function" || typeof s.contains !== "function" || !Array.isArray(s.shape) || typeof s.toJSON !== "function") {
    rep.fail(`${name} is ${describeValue(space)}, not a space. Fix: set ${name} to a Discrete, Box, MultiDiscrete, MultiBinary, Tuple or Dict from core/spaces`);
  }
  if (name === "actionSpace" && (space instanceof Dict || space instanceof Tuple)) {
    rep.warn(`the action space is ${String(space)}; refinery's policies act in Discrete and Box spaces only. Fix: nothing if you bring your own policy; otherwise flatten the action space`);
  }
  if (space instanceof Dict || space instanceof Tuple) {
    const parts = space instanceof Dict ? space.keys.map((k) => space.spaces[k]) : space.spaces;
    for (const part of parts) checkSpace(part, name, rep);
    return;
  }
  if (!(space instanceof Box)) return;
  const kind = name === "actionSpace" ? "action" : "observation";
  let equal = false, infLow = false, infHigh = false;
  for (let i = 0; i < space.size; i++) {
    if (space.low[i] === space.high[i]) equal = true;
    if (space.low[i] === -Infinity) infLow = true;
    if (space.high[i] === Infinity) infHigh = true;
  }
  if (equal) rep.warn(`the Box ${kind} space has a dimension with low == high, which carries no information. Fix: remove that dimension or widen its bounds`);
  if (infLow) rep.warn(`the Box ${kind} space has a lower bound of -infinity. Fix: nothing if that is intended; finite bounds let wrappers and checks catch overflows`);
  if (infHigh) rep.warn(`the Box ${kind} space has an upper bound of +infinity. Fix: nothing if that is intended; finite bounds let wrappers and checks catch overflows`);
  if (kind === "action" && space.shape.length === 1) {
    let normalized = true;
    for (let i = 0; i < space.size; i++) {
      const lo = space.low[i], hi = space.high[i];
      if ((lo !== 0 && Math.abs(lo) !== Math.abs(hi)) || lo < -1 || hi > 1) normalized = false;
    }
    if (!normalized) {
      rep.warn(`the Box action space ${space.toString()} is not normalised to [-1, 1] or [0, 1]. Fix: nothing if intended; Gaussian policies learn more easily with actions in [-1, 1] (rescale inside the env or with a wrapper)`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// reset
// ---------------------------------------------------------------------------------------

/** Calls reset(args) and checks the `[obs, info]` shape and the observation; returns obs. */
function checkedReset(env: Env<unknown, unknown>, rep: Reporter, args?: { seed?: number; options?: Record<string, unknown> }): unknown {
  const call = args?.seed !== undefined ? `reset({ seed: ${args.seed} })` : "reset()";
  const result: unknown = env.reset(args);
  if (!Array.isArray(result)) {
    rep.fail(`${call} returned ${describeValue(result)} instead of [obs, info]. Fix: return a two-element array, e.g. return [obs, {}]`);
  }
  if (result.length !== 2) {
    rep.fail(`${call} returned an array of ${result.length} elements instead of [obs, info]. Fix: return exactly [obs, info]`);
  }
  const [obs, info] = result as [unknown, unknown];
  checkObservation(env, obs, call, rep);
  if (!isPlainObject(info)) {
    rep.error(`the info returned by ${call} is ${describeValue(info)}, not an object. Fix: return an object (use {} when there is nothing to report)`);
  }
  return obs;
}

function checkResetReturn(env: Env<unknown, unknown>, rep: Reporter): void {
  checkedReset(env, rep);
}

function checkObservation(env: Env<unknown, unknown>, obs: unknown, call: string, rep: Reporter): void {
  const nanAt = firstNonFinite(obs);
  if (nanAt !== null && Number.isNaN(nanAt.value)) {
    rep.error(`the observation returned by ${call} has NaN at index ${nanAt.index}. Fix: look for a division by zero or an uninitialised state in the env`);
    return;
  }
  if (!env.observationSpace.contains(obs)) {
    rep.error(
      `the observation returned by ${call}, ${describeValue(obs)}, is not in the observation space ${String(env.observationSpace)}${outsideDetail(env.observationSpace, obs)}. ` +
        "Fix: return observations of the declared type, length and bounds, or widen the space",
    );
  }
}

/** Where a value leaves a Box (first offending index), for the error message. */
function outsideDetail(space: Space<unknown>, obs: unknown): string {
  if (!(space instanceof Box)) return "";
  if (!isNumericArray(obs)) return ` (expected a typed array of length ${space.size})`;
  if (obs.length !== space.size) return ` (length ${obs.length}, expected ${space.size})`;
  for (let i = 0; i < space.size; i++) {
    const v = obs[i];
    const c = space.dtype === "float32" ? Math.fround(v) : v;
    if (!(c >= space.low[i] && c <= space.high[i])) return ` (index ${i}: ${v} is outside [${space.low[i]}, ${space.high[i]}])`;
  }
  return "";
}

function checkSeedDeterminism(env: Env<unknown, unknown>, rep: Reporter): void {
  const obs1 = copy(checkedReset(env, rep, { seed: 123 }));
  const rng1 = rngState(env);
  const obs2 = copy(checkedReset(env, rep));
  const obs3 = copy(checkedReset(env, rep, { seed: 123 }));
  const rng3 = rngState(env);
  const obs4 = copy(checkedReset(env, rep));
  compare(obs1, obs3, rep, "two calls of reset({ seed: 123 }) returned different observations", "derive all randomness of reset from the seed: call this.seedFromReset(args) first, then draw from this.npRandom only");
  compare(obs2, obs4, rep, "reset({ seed: 123 }) followed by reset() returned different observations the two times", "let reset() without a seed continue the seeded generator (this.npRandom) instead of drawing fresh entropy");
  if (rng1 && rng3 && !sameValue(rng1, rng3, true)) {
    rep.error("the env's generator (npRandom) differs after two reset({ seed: 123 }) calls. Fix: call this.seedFromReset(args) at the start of reset()");
  }
  const obs5 = copy(checkedReset(env, rep, { seed: 456 }));
  const rng5 = rngState(env);
  if (rng1 && rng5 && sameValue(rng1, rng5, true)) {
    rep.error("the env's generator (npRandom) is the same after reset({ seed: 123 }) and reset({ seed: 456 }), so reset ignores its seed. Fix: call this.seedFromReset(args) at the start of reset()");
  }
  if (sameValue(obs1, obs5, true)) {
    rep.warn("reset({ seed: 123 }) and reset({ seed: 456 }) returned the same observation. Fix: nothing if the initial state is fixed by design; otherwise draw it from this.npRandom");
  }
}

// ---------------------------------------------------------------------------------------
// step
// ---------------------------------------------------------------------------------------

/** Calls step(action) and checks the 5-tuple; returns it. */
function checkedStep(env: Env<unknown, unknown>, action: unknown, rep: Reporter): [unknown, number, boolean, boolean, Record<string, unknown>] {
  const call = `step(${describeValue(action)})`;
  const result: unknown = env.step(action);
  if (!Array.isArray(result)) {
    rep.fail(`${call} returned ${describeValue(result)} instead of [obs, reward, terminated, truncated, info]. Fix: return a five-element array`);
  }
  if (result.length === 4) {
    rep.fail(`${call} returned 4 values [obs, reward, done, info] (the old Gym API). Fix: return 5 values [obs, reward, terminated, truncated, info], with terminated for terminal states and truncated for time limits`);
  }
  if (result.length !== 5) {
    rep.fail(`${call} returned ${result.length} values instead of 5. Fix: return [obs, reward, terminated, truncated, info]`);
  }
  const [obs, reward, terminated, truncated, info] = result as unknown[];
  checkObservation(env, obs, call, rep);
  if (typeof reward !== "number") {
    rep.error(`the reward returned by ${call} is ${describeValue(reward)} (${typeof reward}), not a number. Fix: return the reward as a plain number`);
  } else if (!Number.isFinite(reward)) {
    rep.error(`the reward returned by ${call} is ${describeValue(reward)}. Fix: return a finite number; look for a division by zero or an overflow`);
  }
  if (typeof terminated !== "boolean") {
    rep.error(`terminated returned by ${call} is ${describeValue(terminated)} (${typeof terminated}), not a boolean. Fix: return true or false`);
  }
  if (typeof truncated !== "boolean") {
    rep.error(`truncated returned by ${call} is ${describeValue(truncated)} (${typeof truncated}), not a boolean. Fix: return true or false`);
  }
  if (!isPlainObject(info)) {
    rep.error(`the info returned by ${call} is ${describeValue(info)}, not an object. Fix: return an object (use {} when there is nothing to report)`);
  }
  return result as [unknown, number, boolean, boolean, Record<string, unknown>];
}

function checkStepReturn(env: Env<unknown, unknown>, rep: Reporter): void {
  checkedReset(env, rep, { seed: 0 });
  const action = sampleAction(env, new Rng(0), rep);
  checkedStep(env, action, rep);
}

function sampleAction(env: Env<unknown, unknown>, rng: Rng, rep: Reporter): unknown {
  let action: unknown;
  try {
    action = env.actionSpace.sample(rng);
  } catch (e) {
    rep.fail(`actionSpace.sample(rng) threw ${errorText(e)}. Fix: use a space from core/spaces`);
  }
  if (!env.actionSpace.contains(action)) {
    rep.fail(`actionSpace.sample(rng) returned ${describeValue(action)}, which actionSpace.contains rejects. Fix: make sample() and contains() of the action space agree`);
  }
  return action;
}

function checkStepDeterminism(env: Env<unknown, unknown>, rep: Reporter): void {
  const action = sampleAction(env, new Rng(123), rep);
  checkedReset(env, rep, { seed: 123 });
  const first = copyStep(checkedStep(env, action, rep));
  const rng1 = rngState(env);
  checkedReset(env, rep, { seed: 123 });
  const second = copyStep(checkedStep(env, action, rep));
  const rng2 = rngState(env);
  const fix = "derive all randomness from the seed (this.npRandom) and keep no state outside what reset() re-initialises";
  compare(first[0], second[0], rep, `after reset({ seed: 123 }) the same action ${describeValue(action)} gave different observations`, fix);
  compare(first[1], second[1], rep, `after reset({ seed: 123 }) the same action ${describeValue(action)} gave different rewards`, fix);
  if (first[2] !== second[2]) rep.error(`after reset({ seed: 123 }) the same action gave different terminated flags. Fix: ${fix}`);
  if (rng1 && rng2 && !sameValue(rng1, rng2, true)) rep.error(`after reset({ seed: 123 }) and one step the env's generator differs between two runs. Fix: ${fix}`);
  if (first[3] === true && second[3] === true) {
    rep.error("the env truncates after a single step. Fix: check the TimeLimit (maxEpisodeSteps should be far larger than 1) and the env's own truncation rule");
  }
}

function checkRandomSteps(env: Env<unknown, unknown>, rep: Reporter): void {
  const rng = new Rng(0);
  checkedReset(env, rep, { seed: 0 });
  for (let t = 0; t < RANDOM_STEPS; t++) {
    const [, , terminated, truncated] = checkedStep(env, sampleAction(env, rng, rep), rep);
    if (terminated || truncated) checkedReset(env, rep);
  }
}

function checkSnapshots(env: Env<unknown, unknown>, rep: Reporter): void {
  const u = env.unwrapped as Env<unknown, unknown> & { getState(): unknown; setState(s: unknown): void };
  const rng = new Rng(7);
  checkedReset(env, rep, { seed: 7 });
  // Move a few steps into the episode so the snapshot is not just the initial state.
  for (let t = 0; t < 3; t++) {
    const [, , terminated, truncated] = checkedStep(env, sampleAction(env, rng, rep), rep);
    if (terminated || truncated) {
      checkedReset(env, rep, { seed: 7 });
      break;
    }
  }
  const state: unknown = u.getState();
  if (!Array.isArray(state) || state.some((x) => typeof x !== "number")) {
    rep.fail(`getState() returned ${describeValue(state)}, not an array of numbers. Fix: return the physical state as number[] (Gymnasium's state layout)`);
  }
  const saved = [...state] as number[];
  u.setState(saved);
  const again: unknown = u.getState();
  if (!sameValue(saved, again, true)) {
    rep.error(`setState(getState()) changed the state from ${describeValue(saved)} to ${describeValue(again)}. Fix: make setState store exactly the numbers it is given`);
  }
  const action = sampleAction(env, rng, rep);
  const first = copyStep(checkedStep(u, action, rep));
  u.setState([...saved]);
  const second = copyStep(checkedStep(u, action, rep));
  const fix = "make the next step depend only on the state set by setState (restore every quantity the dynamics read)";
  compare(first[0], second[0], rep, `after setState(s) the same action ${describeValue(action)} gave different observations`, fix);
  compare(first[1], second[1], rep, `after setState(s) the same action ${describeValue(action)} gave different rewards`, fix);
  if (first[2] !== second[2]) rep.error(`after setState(s) the same action gave different terminated flags. Fix: ${fix}`);
  // Leave the env in a clean episode for whoever uses it next.
  env.reset();
}

/**
 * Gymnasium's render checks: the metadata lists the render modes (and a positive frame
 * rate), the env's render mode is one of them, and `render()` after a reset returns a
 * frame of that mode. An env made without a render mode is not rendered (as Gymnasium).
 */
function checkRender(env: Env<unknown, unknown>, rep: Reporter): void {
  let metadata: unknown, mode: unknown;
  try {
    metadata = env.metadata;
    mode = env.renderMode;
  } catch (e) {
    rep.error(`reading metadata or renderMode threw ${errorText(e)}. Fix: make them plain properties`);
    return;
  }
  if (metadata !== undefined) {
    const m = metadata as { renderModes?: unknown; renderFps?: unknown };
    if (!Array.isArray(m.renderModes)) {
      rep.error(`metadata.renderModes is ${describeValue(m.renderModes)}, not an array. Fix: set metadata = { renderModes: ["rgb_array"], renderFps: 30 } (or renderModes: [] for an env that does not draw)`);
      return;
    }
    if (m.renderModes.length && m.renderFps !== undefined && !(typeof m.renderFps === "number" && m.renderFps > 0)) {
      rep.warn(`metadata.renderFps is ${describeValue(m.renderFps)}. Fix: give the frame rate of real-time playback as a positive number`);
    }
    if (mode !== undefined && mode !== null && !m.renderModes.includes(mode)) {
      rep.error(`renderMode ${describeValue(mode)} is not in metadata.renderModes ${describeValue(m.renderModes)}. Fix: list it in metadata.renderModes or refuse it in the constructor`);
    }
  }
  if (mode === undefined || mode === null) return;
  if (typeof env.render !== "function") {
    rep.error(`renderMode is ${describeValue(mode)} but the env has no render() method. Fix: implement render() or extend BaseEnv`);
    return;
  }
  rep.group("render()", () => {
    env.reset({ seed: 0 });
    checkFrame(env.render!(), mode, rep);
  });
}

function checkFrame(frame: unknown, mode: unknown, rep: Reporter): void {
  if (mode !== "rgb_array") return;
  const f = frame as { width?: unknown; height?: unknown; data?: unknown } | null;
  const sizeOk = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!f || typeof f !== "object" || !sizeOk(f.width) || !sizeOk(f.height) || !(f.data instanceof Uint8Array)) {
    rep.error(`render() in "rgb_array" mode returned ${describeValue(frame)}. Fix: return { width, height, data } with data a Uint8Array of width·height·3 RGB bytes`);
    return;
  }
  if (f.data.length !== f.width * f.height * 3) {
    rep.error(`render() returned a ${f.width}×${f.height} frame with ${f.data.length} bytes instead of ${f.width * f.height * 3}. Fix: store 3 bytes (R, G, B) per pixel, row-major`);
  }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

function firstNonFinite(obs: unknown): { index: number; value: number } | null {
  if (typeof obs === "number") return Number.isFinite(obs) ? null : { index: 0, value: obs };
  // Dict and Tuple observations: report the first bad value of any part.
  if (isPlainObject(obs)) {
    for (const v of Object.values(obs)) {
      const bad = firstNonFinite(v);
      if (bad) return bad;
    }
    return null;
  }
  if (!isNumericArray(obs)) return null;
  for (let i = 0; i < obs.length; i++) {
    const v = obs[i];
    if (typeof v === "number" && !Number.isFinite(v)) return { index: i, value: v };
  }
  return null;
}

function rngState(env: Env<unknown, unknown>): RngState | null {
  const u = env.unwrapped;
  return u instanceof BaseEnv ? u.npRandom.getState() : null;
}

/** Deep copy of typed arrays and arrays, so later env calls cannot change what we compare. */
function copy(x: unknown): unknown {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return (x as unknown as { slice(): unknown }).slice();
  if (Array.isArray(x)) return x.map(copy);
  if (isPlainObject(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, copy(v)]));
  return x;
}

function copyStep(r: [unknown, number, boolean, boolean, Record<string, unknown>]): [unknown, number, boolean, boolean] {
  return [copy(r[0]), r[1], r[2], r[3]];
}

/** Error when a and b differ beyond 1e-5, warning when they differ only slightly (as Gymnasium's data_equivalence). */
function compare(a: unknown, b: unknown, rep: Reporter, problem: string, fix: string): void {
  if (sameValue(a, b, true)) return;
  if (sameValue(a, b, false)) {
    rep.warn(`${problem} (equal up to 1e-5). Fix: ${fix}`);
    return;
  }
  rep.error(`${problem}: ${describeValue(a)} vs ${describeValue(b)}. Fix: ${fix}`);
}

/** Structural equality of numbers, numeric arrays and plain objects; `exact` false allows np.allclose tolerances. */
export function sameValue(a: unknown, b: unknown, exact: boolean): boolean {
  if (typeof a === "number" && typeof b === "number") return closeNumbers(a, b, exact);
  if (isNumericArray(a) && isNumericArray(b)) {
    if (a.constructor !== b.constructor || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      const x = a[i], y = b[i];
      if (typeof x === "number" && typeof y === "number") {
        if (!closeNumbers(x, y, exact)) return false;
      } else if (!sameValue(x, y, exact)) return false;
    }
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameValue(a[k], b[k], exact));
  }
  return a === b;
}

function closeNumbers(x: number, y: number, exact: boolean): boolean {
  if (x === y) return true;
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  return !exact && Math.abs(x - y) <= 1e-5 + 1e-5 * Math.abs(y);
}

/** Human-readable report, e.g. for `refinery demo`. */
export function formatCheckReport(report: CheckReport, name?: string): string {
  const title = name ? `env check of ${name}` : "env check";
  const lines: string[] = [];
  const w = report.warnings.length, e = report.errors.length;
  const plural = (n: number, s: string) => `${n} ${s}${n === 1 ? "" : "s"}`;
  lines.push(report.ok ? `${title}: passed${w ? ` with ${plural(w, "warning")}` : ""}` : `${title}: FAILED with ${plural(e, "error")}${w ? ` and ${plural(w, "warning")}` : ""}`);
  for (const m of report.errors) lines.push(`  error:   ${m}`);
  for (const m of report.warnings) lines.push(`  warning: ${m}`);
  return lines.join("\n");
}
