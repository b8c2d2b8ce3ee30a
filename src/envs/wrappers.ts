import { ConfigError, describeValue, EnvError } from "../core/errors.js";
import { Box, Dict, Discrete, flatDim, flatSize, flattenInto, isNumericArray, Tuple, type BoxValue, type Space } from "../core/spaces.js";
import { Wrapper, type Env, type EnvSpec, type Info, type ResetArgs, type RgbFrame, type StepResult } from "./env.js";
import type { StatefulLayer } from "./state.js";

/**
 * The standard wrappers, with the semantics of Gymnasium 1.3.0's `gymnasium.wrappers`
 * (same constants, same update order). Where refinery is deliberately stricter the class
 * comment says so.
 */

/** Name of an env for error messages: its registered id, else its class name. */
function envName(env: Env<unknown, unknown>): string {
  return env.spec?.id ?? `${env.unwrapped.constructor.name} (unregistered)`;
}

/**
 * Reads a wrapper's saved state (`StatefulLayer.loadState`): checks that it is an object
 * whose listed keys pass their tests, else throws naming the wrapper and the bad key.
 */
function savedState(wrapper: string, state: unknown, tests: Record<string, (v: unknown) => boolean>): Record<string, unknown> {
  const bad = (why: string): never => {
    throw new ConfigError(`malformed saved state for ${wrapper}: ${why}`, "pass the object returned by saveState() of the same wrapper (resume with the same config)");
  };
  if (state === null || typeof state !== "object" || Array.isArray(state)) bad(`expected an object, got ${describeValue(state)}`);
  const obj = state as Record<string, unknown>;
  for (const [key, ok] of Object.entries(tests)) {
    if (!ok(obj[key])) bad(`${key} = ${describeValue(obj[key])}`);
  }
  return obj;
}

const isCount = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isFiniteNumber = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v);
const isNumberList = (v: unknown): boolean => Array.isArray(v) && v.every(isFiniteNumber);

// ---------------------------------------------------------------------------------------
// TimeLimit
// ---------------------------------------------------------------------------------------

/**
 * Truncates episodes after `maxEpisodeSteps` steps: the step whose count reaches the
 * limit returns `truncated = true`. `terminated` is passed through untouched, so both may
 * be true on the same step (as in Gymnasium); learners must treat `terminated` as the
 * stronger signal (no bootstrapping). The count restarts at every `reset`.
 */
export class TimeLimit<O = unknown, A = unknown> extends Wrapper<O, A> implements StatefulLayer {
  readonly maxEpisodeSteps: number;
  /**
   * Steps taken in the current episode. Public and writable so that a collector that
   * restores a sub-env from a snapshot can restore the time budget too.
   */
  elapsedSteps = 0;
  private cachedSpec: EnvSpec | null = null;
  private cachedFrom: EnvSpec | null = null;

  constructor(env: Env<O, A>, maxEpisodeSteps: number) {
    super(env);
    if (!Number.isSafeInteger(maxEpisodeSteps) || maxEpisodeSteps <= 0) {
      throw new ConfigError(
        `TimeLimit maxEpisodeSteps must be a positive integer, got ${describeValue(maxEpisodeSteps)}`,
        "pass e.g. 500, or do not wrap the env in TimeLimit for unlimited episodes",
      );
    }
    this.maxEpisodeSteps = maxEpisodeSteps;
  }

  /** The wrapped env's spec with `maxEpisodeSteps` set to this wrapper's limit (as Gymnasium). */
  override get spec(): EnvSpec | null {
    const inner = this.env.spec;
    if (inner === null) return null;
    if (this.cachedFrom !== inner) {
      this.cachedSpec = { ...inner, maxEpisodeSteps: this.maxEpisodeSteps };
      this.cachedFrom = inner;
    }
    return this.cachedSpec;
  }
  override set spec(s: EnvSpec | null) {
    this.env.spec = s;
  }

  override reset(args?: ResetArgs): [O, Info] {
    this.elapsedSteps = 0;
    return this.env.reset(args);
  }

  override step(action: A): StepResult<O> {
    const result = this.env.step(action);
    this.elapsedSteps += 1;
    if (this.elapsedSteps >= this.maxEpisodeSteps) result[3] = true;
    return result;
  }

  saveState(): { elapsedSteps: number } {
    return { elapsedSteps: this.elapsedSteps };
  }

  loadState(state: unknown): void {
    this.elapsedSteps = savedState("TimeLimit", state, { elapsedSteps: isCount }).elapsedSteps as number;
  }
}

// ---------------------------------------------------------------------------------------
// OrderEnforcing
// ---------------------------------------------------------------------------------------

/**
 * Enforces the call order `reset → step … step (until terminated or truncated) → reset`.
 *
 * - `step` before the first `reset` throws EnvError `reset_needed` (as Gymnasium's ResetNeeded).
 * - `step` after an episode ended, without a `reset` in between, throws EnvError
 *   `episode_over`. **This is stricter than Gymnasium**, which lets the call through and
 *   leaves the result undefined (CartPole only logs a warning). Stepping a finished episode
 *   is always a bug in a collector, and its results would silently corrupt returns and
 *   advantages, so refinery fails loudly and says where.
 */
type EpisodeEnd = "terminated" | "truncated" | "terminated and truncated";
const EPISODE_ENDS: readonly (EpisodeEnd | null)[] = ["terminated", "truncated", "terminated and truncated", null];

export class OrderEnforcing<O = unknown, A = unknown> extends Wrapper<O, A> implements StatefulLayer {
  private resetCalled = false;
  private episodeSteps = 0;
  /** How the current episode ended, or null while it runs. */
  private endedBy: EpisodeEnd | null = null;

  /** True once `reset` has been called. */
  get hasReset(): boolean {
    return this.resetCalled;
  }

  override reset(args?: ResetArgs): [O, Info] {
    const result = this.env.reset(args);
    this.resetCalled = true;
    this.episodeSteps = 0;
    this.endedBy = null;
    return result;
  }

  override step(action: A): StepResult<O> {
    if (!this.resetCalled) {
      throw new EnvError(
        "reset_needed",
        `${envName(this)}: step() was called before reset()`,
        "call env.reset() (optionally with a seed) before the first step()",
      );
    }
    if (this.endedBy !== null) {
      throw new EnvError(
        "episode_over",
        `${envName(this)}: step() was called after the episode ended (${this.endedBy} at step ${this.episodeSteps}) without reset()`,
        "call env.reset() once terminated or truncated is true before stepping again (SyncVectorEnv does this automatically)",
      );
    }
    const result = this.env.step(action);
    this.episodeSteps += 1;
    const terminated = result[2], truncated = result[3];
    if (terminated || truncated) {
      this.endedBy = terminated && truncated ? "terminated and truncated" : terminated ? "terminated" : "truncated";
    }
    return result;
  }

  /** As Gymnasium's OrderEnforcing: there is nothing to draw before the first reset. */
  override render(): RgbFrame {
    if (!this.resetCalled) {
      throw new EnvError("reset_needed", `${envName(this)}: render() was called before reset()`, "call env.reset() (optionally with a seed) before render()");
    }
    return super.render();
  }

  saveState(): { hasReset: boolean; episodeSteps: number; endedBy: EpisodeEnd | null } {
    return { hasReset: this.resetCalled, episodeSteps: this.episodeSteps, endedBy: this.endedBy };
  }

  loadState(state: unknown): void {
    const s = savedState("OrderEnforcing", state, {
      hasReset: (v) => typeof v === "boolean",
      episodeSteps: isCount,
      endedBy: (v) => EPISODE_ENDS.includes(v as EpisodeEnd | null),
    });
    this.resetCalled = s.hasReset as boolean;
    this.episodeSteps = s.episodeSteps as number;
    this.endedBy = s.endedBy as EpisodeEnd | null;
  }
}

// ---------------------------------------------------------------------------------------
// PassiveEnvChecker
// ---------------------------------------------------------------------------------------

/**
 * Checks every action and observation that passes through, cheaply (one loop, no
 * allocation unless something is wrong). Gymnasium's version only checks the first
 * reset and step and only warns; refinery checks every call and throws, because a NaN
 * that reaches the learner poisons the whole run far from its cause.
 *
 * - Actions must be elements of the action space. For a Box only the length and the
 *   absence of NaN are checked: out-of-bound continuous actions pass through, since the
 *   envs clip them exactly where Gymnasium's do. A Discrete action may be a number or a
 *   length-1 array holding it (the envs accept both). → EnvError `invalid_action`.
 * - Observations must not contain NaN, nor ±Infinity where the Box bound on that side is
 *   finite (any non-finite value for non-Box spaces). → EnvError `nan_observation`, naming
 *   the env id, the episode step and the index.
 */
export class PassiveEnvChecker<O = unknown, A = unknown> extends Wrapper<O, A> implements StatefulLayer {
  private episodeStep = 0;
  private readonly actionBox: Box | null;
  private readonly actionDiscrete: Discrete | null;
  private readonly obsBox: Box | null;

  constructor(env: Env<O, A>) {
    super(env);
    requireSpace(env.actionSpace, "actionSpace", env);
    requireSpace(env.observationSpace, "observationSpace", env);
    const act: unknown = env.actionSpace;
    const obs: unknown = env.observationSpace;
    this.actionBox = act instanceof Box ? act : null;
    this.actionDiscrete = act instanceof Discrete ? act : null;
    this.obsBox = obs instanceof Box ? obs : null;
  }

  override reset(args?: ResetArgs): [O, Info] {
    const result = this.env.reset(args);
    this.episodeStep = 0;
    if (!Array.isArray(result)) {
      throw new EnvError(
        "invalid_env_api",
        `${envName(this)}: reset() returned ${describeValue(result)} instead of [obs, info]`,
        "return a two-element array [observation, info] from reset()",
      );
    }
    this.checkObservation(result[0], "reset()");
    return result;
  }

  override step(action: A): StepResult<O> {
    this.checkAction(action);
    const result = this.env.step(action);
    this.episodeStep += 1;
    if (!Array.isArray(result)) {
      throw new EnvError(
        "invalid_env_api",
        `${envName(this)}: step() returned ${describeValue(result)} instead of [obs, reward, terminated, truncated, info]`,
        "return a five-element array from step()",
      );
    }
    this.checkObservation(result[0], "step()");
    return result;
  }

  /** The episode step count used in error messages. */
  saveState(): { episodeStep: number } {
    return { episodeStep: this.episodeStep };
  }

  loadState(state: unknown): void {
    this.episodeStep = savedState("PassiveEnvChecker", state, { episodeStep: isCount }).episodeStep as number;
  }

  private checkAction(action: unknown): void {
    const space = this.actionSpace;
    if (this.actionBox) {
      const box = this.actionBox;
      if (typeof action === "number" && box.size === 1) {
        if (action === action) return;
      } else if (isNumericArray(action) && action.length === box.size) {
        let ok = true;
        for (let i = 0; i < box.size; i++) {
          const v = action[i];
          if (typeof v !== "number" || v !== v) {
            ok = false;
            break;
          }
        }
        if (ok) return;
      }
      this.badAction(action, `pass a Float32Array or number[] of length ${box.size} without NaN (values outside the bounds are clipped by the env)`);
    } else if (this.actionDiscrete) {
      const d = this.actionDiscrete;
      const a = typeof action === "number" ? action : isNumericArray(action) && action.length === 1 ? action[0] : action;
      if (typeof a === "number" && Number.isInteger(a) && a >= d.start && a < d.start + d.n) return;
      this.badAction(action, `pass an integer in [${d.start}, ${d.start + d.n - 1}]`);
    } else if (!space.contains(action)) {
      this.badAction(action, "pass an element of the action space, e.g. env.actionSpace.sample(rng)");
    }
  }

  private badAction(action: unknown, fix: string): never {
    throw new EnvError(
      "invalid_action",
      `${envName(this)}: action ${describeValue(action)} at episode step ${this.episodeStep + 1} is not valid for ${this.actionSpace.toString()}`,
      fix,
    );
  }

  private checkObservation(obs: unknown, where: string): void {
    const box = this.obsBox;
    if (typeof obs === "number") {
      if (!Number.isFinite(obs) && (obs !== obs || !box || boundIsFinite(box, 0, obs))) this.badObservation(obs, 0, where);
      return;
    }
    if (!isNumericArray(obs)) return;
    if (box && obs.length !== box.size) {
      throw new EnvError(
        "invalid_observation",
        `${envName(this)}: observation from ${where} at episode step ${this.episodeStep} has ${obs.length} values but ${box.toString()} has ${box.size}`,
        `return an array of length ${box.size} matching the observation space`,
      );
    }
    for (let i = 0; i < obs.length; i++) {
      const v = obs[i];
      // Finite values are the common case: one comparison and move on.
      if (v - v === 0) continue;
      if (v !== v || !box || boundIsFinite(box, i, v)) this.badObservation(v, i, where);
    }
  }

  private badObservation(v: number, index: number, where: string): never {
    const what = v !== v ? "NaN" : String(v);
    throw new EnvError(
      "nan_observation",
      `${envName(this)}: observation from ${where} at episode step ${this.episodeStep} has ${what} at index ${index}`,
      "look for a division by zero, an overflow or a NaN action in the env's dynamics; reset the env before continuing",
    );
  }
}

/** True when the Box bound on the side `v` overflowed to is finite (so ±Infinity lies outside the space). */
function boundIsFinite(box: Box, i: number, v: number): boolean {
  return v > 0 ? Number.isFinite(box.high[i]) : Number.isFinite(box.low[i]);
}

function requireSpace(space: unknown, name: string, env: Env<unknown, unknown>): void {
  const s = space as Partial<Space<unknown>> | null | undefined;
  if (!s || typeof s.contains !== "function" || typeof s.sample !== "function" || !Array.isArray(s.shape)) {
    throw new EnvError(
      "invalid_space",
      `${envName(env)}: ${name} is ${describeValue(space)}, not a space`,
      `set ${name} to a Discrete, Box or MultiDiscrete from core/spaces`,
    );
  }
}

// ---------------------------------------------------------------------------------------
// RecordEpisodeStatistics
// ---------------------------------------------------------------------------------------

/** Gymnasium's `info["episode"]`: return, length and wall-clock seconds of a finished episode. */
export interface EpisodeStatistics {
  /** Undiscounted sum of rewards. */
  r: number;
  /** Number of steps. */
  l: number;
  /** Seconds since the episode's reset, rounded to microseconds. */
  t: number;
}

/**
 * At the end of each episode (terminated or truncated) adds `info.episode = { r, l, t }`
 * and appends to `returnQueue`, `lengthQueue` and `timeQueue` (the last `bufferLength`
 * episodes). The returned info is a new object, so an env that reuses one info object
 * is not mutated.
 */
export class RecordEpisodeStatistics<O = unknown, A = unknown> extends Wrapper<O, A> implements StatefulLayer {
  readonly bufferLength: number;
  episodeCount = 0;
  readonly returnQueue: number[] = [];
  readonly lengthQueue: number[] = [];
  readonly timeQueue: number[] = [];
  /** Return and length of the episode in progress. */
  episodeReturn = 0;
  episodeLength = 0;
  private episodeStart = -1;

  constructor(env: Env<O, A>, bufferLength = 100) {
    super(env);
    if (!Number.isSafeInteger(bufferLength) || bufferLength <= 0) {
      throw new ConfigError(`RecordEpisodeStatistics bufferLength must be a positive integer, got ${describeValue(bufferLength)}`, "pass e.g. 100");
    }
    this.bufferLength = bufferLength;
  }

  override reset(args?: ResetArgs): [O, Info] {
    const result = this.env.reset(args);
    this.episodeStart = performance.now();
    this.episodeReturn = 0;
    this.episodeLength = 0;
    return result;
  }

  override step(action: A): StepResult<O> {
    const result = this.env.step(action);
    this.episodeReturn += result[1];
    this.episodeLength += 1;
    if (result[2] || result[3]) {
      const info = result[4];
      if (typeof info === "object" && info !== null && "episode" in info) {
        throw new EnvError(
          "duplicate_episode_statistics",
          `${envName(this)}: info already has an "episode" key at the end of the episode`,
          "wrap the env in RecordEpisodeStatistics only once",
        );
      }
      const t = Math.round((performance.now() - this.episodeStart) * 1000) / 1e6;
      const episode: EpisodeStatistics = { r: this.episodeReturn, l: this.episodeLength, t };
      result[4] = { ...info, episode };
      push(this.returnQueue, episode.r, this.bufferLength);
      push(this.lengthQueue, episode.l, this.bufferLength);
      push(this.timeQueue, episode.t, this.bufferLength);
      this.episodeCount += 1;
      this.episodeStart = performance.now();
    }
    return result;
  }

  /** Counters, queues and the current episode's progress (its clock as elapsed seconds). */
  saveState(): RecordEpisodeStatisticsState {
    return {
      episodeCount: this.episodeCount,
      episodeReturn: this.episodeReturn,
      episodeLength: this.episodeLength,
      elapsedSeconds: this.episodeStart < 0 ? 0 : (performance.now() - this.episodeStart) / 1000,
      returnQueue: [...this.returnQueue],
      lengthQueue: [...this.lengthQueue],
      timeQueue: [...this.timeQueue],
    };
  }

  loadState(state: unknown): void {
    const s = savedState("RecordEpisodeStatistics", state, {
      episodeCount: isCount,
      episodeReturn: isFiniteNumber,
      episodeLength: isCount,
      elapsedSeconds: (v) => isFiniteNumber(v) && (v as number) >= 0,
      returnQueue: isNumberList,
      lengthQueue: isNumberList,
      timeQueue: isNumberList,
    }) as unknown as RecordEpisodeStatisticsState;
    this.episodeCount = s.episodeCount;
    this.episodeReturn = s.episodeReturn;
    this.episodeLength = s.episodeLength;
    this.episodeStart = performance.now() - s.elapsedSeconds * 1000;
    const keep = (q: number[]) => q.slice(Math.max(0, q.length - this.bufferLength));
    this.returnQueue.splice(0, this.returnQueue.length, ...keep(s.returnQueue));
    this.lengthQueue.splice(0, this.lengthQueue.length, ...keep(s.lengthQueue));
    this.timeQueue.splice(0, this.timeQueue.length, ...keep(s.timeQueue));
  }
}

export interface RecordEpisodeStatisticsState {
  episodeCount: number;
  episodeReturn: number;
  episodeLength: number;
  elapsedSeconds: number;
  returnQueue: number[];
  lengthQueue: number[];
  timeQueue: number[];
}

function push(queue: number[], v: number, max: number): void {
  queue.push(v);
  if (queue.length > max) queue.shift();
}

// ---------------------------------------------------------------------------------------
// RunningMeanStd
// ---------------------------------------------------------------------------------------

/** Plain-number snapshot of a RunningMeanStd (for checkpoints). */
export interface RunningMeanStdState {
  mean: number[];
  var: number[];
  count: number;
}

export interface RunningMeanStdOptions {
  /** Initial pseudo-count (Gymnasium: 1e-4), so the first update does not divide by zero. */
  epsilon?: number;
  /**
   * Precision of the statistics. "float32" reproduces numpy's float32 arithmetic op by
   * op (Gymnasium keeps observation statistics in float32 for float32 observations).
   */
  dtype?: "float32" | "float64";
}

const identity = (x: number): number => x;

/**
 * Running mean and (population) variance of vectors, merged batch by batch with the
 * parallel algorithm of Chan et al. (Gymnasium's `RunningMeanStd`): starts at mean 0,
 * var 1, count `epsilon`.
 */
export class RunningMeanStd {
  readonly size: number;
  readonly dtype: "float32" | "float64";
  readonly mean: Float32Array | Float64Array;
  readonly var: Float32Array | Float64Array;
  count: number;
  private readonly round: (x: number) => number;
  private readonly batchMean: Float64Array;
  private readonly batchVar: Float64Array;

  constructor(size = 1, options: RunningMeanStdOptions = {}) {
    const { epsilon = 1e-4, dtype = "float64" } = options;
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new ConfigError(`RunningMeanStd size must be a positive integer, got ${describeValue(size)}`, "pass the number of values per sample, e.g. 4");
    }
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) {
      throw new ConfigError(`RunningMeanStd epsilon must be a positive number, got ${describeValue(epsilon)}`, "pass e.g. 1e-4");
    }
    this.size = size;
    this.dtype = dtype;
    this.round = dtype === "float32" ? Math.fround : identity;
    this.mean = dtype === "float32" ? new Float32Array(size) : new Float64Array(size);
    this.var = dtype === "float32" ? new Float32Array(size).fill(1) : new Float64Array(size).fill(1);
    this.count = epsilon;
    this.batchMean = new Float64Array(size);
    this.batchVar = new Float64Array(size);
  }

  /** Merge a batch of `batchCount` samples stored row-major in `batch` (length batchCount × size). */
  update(batch: ArrayLike<number>, batchCount = 1): void {
    const n = this.size;
    if (!Number.isSafeInteger(batchCount) || batchCount <= 0 || batch.length !== batchCount * n) {
      throw new ConfigError(
        `RunningMeanStd.update got ${batch.length} values for batchCount=${describeValue(batchCount)} rows of size ${n}`,
        `pass batchCount >= 1 rows of ${n} values each, row-major (length batchCount * ${n})`,
      );
    }
    const r = this.round;
    const bc = r(batchCount);
    // Batch mean then variance around it, summed row by row in the statistics' precision (as numpy's axis-0 reduction).
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < batchCount; k++) sum = r(sum + batch[k * n + j]);
      const m = r(sum / bc);
      let sq = 0;
      for (let k = 0; k < batchCount; k++) {
        const d = r(batch[k * n + j] - m);
        sq = r(sq + r(d * d));
      }
      this.batchMean[j] = m;
      this.batchVar[j] = r(sq / bc);
    }
    this.updateFromMoments(this.batchMean, this.batchVar, batchCount);
  }

  /** Merge a batch given by its mean, population variance and size. */
  updateFromMoments(batchMean: ArrayLike<number>, batchVar: ArrayLike<number>, batchCount: number): void {
    const r = this.round;
    const count = this.count;
    const total = count + batchCount;
    // Scalars enter numpy's float32 arithmetic rounded to float32 (NEP 50 weak scalars).
    const countR = r(count), bcR = r(batchCount), totalR = r(total);
    for (let j = 0; j < this.size; j++) {
      const mean = this.mean[j], v = this.var[j];
      const delta = r(batchMean[j] - mean);
      const newMean = r(mean + r(r(delta * bcR) / totalR));
      const mA = r(v * countR);
      const mB = r(batchVar[j] * bcR);
      const m2 = r(r(mA + mB) + r(r(r(r(delta * delta) * countR) * bcR) / totalR));
      this.mean[j] = newMean;
      this.var[j] = r(m2 / totalR);
    }
    this.count = total;
  }

  getState(): RunningMeanStdState {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  setState(state: RunningMeanStdState): void {
    const ok =
      state !== null &&
      typeof state === "object" &&
      Array.isArray(state.mean) &&
      Array.isArray(state.var) &&
      state.mean.length === this.size &&
      state.var.length === this.size &&
      state.mean.every((x) => Number.isFinite(x)) &&
      state.var.every((x) => Number.isFinite(x) && x >= 0) &&
      typeof state.count === "number" &&
      state.count > 0 &&
      Number.isFinite(state.count);
    if (!ok) {
      throw new ConfigError(
        `malformed RunningMeanStd state ${describeValue(state)} for size ${this.size}`,
        `pass { mean, var, count } as returned by getState(): ${this.size} finite means, ${this.size} non-negative variances and a positive count`,
      );
    }
    this.mean.set(state.mean);
    this.var.set(state.var);
    this.count = state.count;
  }
}

// ---------------------------------------------------------------------------------------
// NormalizeObservation / NormalizeReward
// ---------------------------------------------------------------------------------------

/**
 * Normalises observations to roughly zero mean and unit variance with running statistics
 * updated on every reset and step: `(obs - mean) / sqrt(var + epsilon)`, returned as a
 * Float32Array; the observation space becomes `Box(-inf, inf, shape, float32)`.
 * Set `updateRunningMean = false` to freeze the statistics (evaluation); save and restore
 * them with `getStatistics` / `setStatistics` (checkpoints).
 *
 * As Gymnasium, the statistics are float32 for float32 observations (numpy's arithmetic is
 * reproduced op by op) and float64 otherwise.
 */
export class NormalizeObservation<O = unknown, A = unknown> extends Wrapper<Float32Array, A, O, A> implements StatefulLayer {
  readonly obsRms: RunningMeanStd;
  readonly epsilon: number;
  updateRunningMean = true;
  private readonly space: Box;

  constructor(env: Env<O, A>, epsilon = 1e-8) {
    super(env);
    const inner: unknown = env.observationSpace;
    const size = flatSize(env.observationSpace);
    this.space = new Box(-Infinity, Infinity, env.observationSpace.shape, "float32");
    this.obsRms = new RunningMeanStd(size, { dtype: inner instanceof Box && inner.dtype === "float32" ? "float32" : "float64" });
    this.epsilon = epsilon;
  }

  override get observationSpace(): Space<Float32Array> {
    return this.space as unknown as Space<Float32Array>;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    const [obs, info] = this.env.reset(args);
    return [this.normalize(obs), info];
  }

  override step(action: A): StepResult<Float32Array> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [this.normalize(obs), reward, terminated, truncated, info];
  }

  getStatistics(): RunningMeanStdState {
    return this.obsRms.getState();
  }

  setStatistics(state: RunningMeanStdState): void {
    this.obsRms.setState(state);
  }

  /** Statistics plus the freeze flag, for checkpoints. */
  saveState(): RunningMeanStdState & { updateRunningMean: boolean } {
    return { ...this.getStatistics(), updateRunningMean: this.updateRunningMean };
  }

  loadState(state: unknown): void {
    const s = savedState("NormalizeObservation", state, { updateRunningMean: (v) => typeof v === "boolean" });
    this.setStatistics(s as unknown as RunningMeanStdState);
    this.updateRunningMean = s.updateRunningMean as boolean;
  }

  private normalize(obs: unknown): Float32Array {
    const rms = this.obsRms;
    const x: ArrayLike<number> = typeof obs === "number" ? [obs] : isNumericArray(obs) ? obs : [];
    if (x.length !== rms.size) {
      throw new EnvError(
        "invalid_observation",
        `${envName(this)}: NormalizeObservation got observation ${describeValue(obs)} but expected ${rms.size} numbers`,
        "return observations matching the observation space",
      );
    }
    if (this.updateRunningMean) rms.update(x, 1);
    const out = new Float32Array(rms.size);
    const f32 = rms.dtype === "float32";
    const eps = f32 ? Math.fround(this.epsilon) : this.epsilon;
    for (let i = 0; i < rms.size; i++) {
      if (f32) {
        const num = Math.fround(x[i] - rms.mean[i]);
        const den = Math.fround(Math.sqrt(Math.fround(rms.var[i] + eps)));
        out[i] = num / den;
      } else {
        out[i] = (x[i] - rms.mean[i]) / Math.sqrt(rms.var[i] + eps);
      }
    }
    return out;
  }
}

/** Statistics of NormalizeReward: the running variance of discounted returns plus the accumulator. */
export interface NormalizeRewardState extends RunningMeanStdState {
  discountedReward: number;
}

/**
 * Scales rewards by the running standard deviation of the discounted return, Gymnasium
 * 1.x semantics: `G ← G·γ·(1 − terminated) + r`, update the statistics with `G`, return
 * `r / sqrt(var + epsilon)` (the mean is not subtracted). As in Gymnasium, the accumulator
 * is cut only by `terminated`, and on the terminal step itself (G = r there); the next
 * episode continues from that value. Truncation and `reset()` do not touch it.
 */
export class NormalizeReward<O = unknown, A = unknown> extends Wrapper<O, A> implements StatefulLayer {
  readonly returnRms = new RunningMeanStd(1);
  readonly gamma: number;
  readonly epsilon: number;
  discountedReward = 0;
  updateRunningMean = true;
  private readonly scratch = new Float64Array(1);

  constructor(env: Env<O, A>, gamma = 0.99, epsilon = 1e-8) {
    super(env);
    if (!(gamma >= 0 && gamma <= 1)) {
      throw new ConfigError(`NormalizeReward gamma must be in [0, 1], got ${describeValue(gamma)}`, "pass e.g. 0.99");
    }
    this.gamma = gamma;
    this.epsilon = epsilon;
  }

  override step(action: A): StepResult<O> {
    const result = this.env.step(action);
    const reward = result[1];
    this.discountedReward = this.discountedReward * this.gamma * (result[2] ? 0 : 1) + reward;
    if (this.updateRunningMean) {
      this.scratch[0] = this.discountedReward;
      this.returnRms.update(this.scratch, 1);
    }
    result[1] = reward / Math.sqrt(this.returnRms.var[0] + this.epsilon);
    return result;
  }

  getStatistics(): NormalizeRewardState {
    return { ...this.returnRms.getState(), discountedReward: this.discountedReward };
  }

  setStatistics(state: RunningMeanStdState & { discountedReward?: number }): void {
    this.returnRms.setState(state);
    if (state.discountedReward !== undefined) {
      if (!Number.isFinite(state.discountedReward)) {
        throw new ConfigError(`NormalizeReward discountedReward must be finite, got ${describeValue(state.discountedReward)}`, "pass the value returned by getStatistics()");
      }
      this.discountedReward = state.discountedReward;
    }
  }

  /** Statistics, accumulator and freeze flag, for checkpoints. */
  saveState(): NormalizeRewardState & { updateRunningMean: boolean } {
    return { ...this.getStatistics(), updateRunningMean: this.updateRunningMean };
  }

  loadState(state: unknown): void {
    const s = savedState("NormalizeReward", state, { updateRunningMean: (v) => typeof v === "boolean", discountedReward: isFiniteNumber });
    this.setStatistics(s as unknown as NormalizeRewardState);
    this.updateRunningMean = s.updateRunningMean as boolean;
  }
}

// ---------------------------------------------------------------------------------------
// ClipAction, TransformObservation, TransformReward
// ---------------------------------------------------------------------------------------

/**
 * Clips continuous actions to the Box bounds before they reach the env. As Gymnasium 1.x,
 * the wrapper's action space is `Box(-inf, inf)` of the same shape and dtype, since any
 * real action is now acceptable.
 */
export class ClipAction<O = unknown> extends Wrapper<O, BoxValue | number[] | number, O, unknown> {
  private readonly inner: Box;
  private readonly space: Box;

  constructor(env: Env<O, unknown>) {
    super(env);
    const space: unknown = env.actionSpace;
    if (!(space instanceof Box)) {
      throw new ConfigError(
        `ClipAction needs a Box action space, but ${envName(env)} has ${String(env.actionSpace)}`,
        "use ClipAction only with continuous-action envs such as Pendulum-v1",
      );
    }
    this.inner = space;
    this.space = new Box(-Infinity, Infinity, space.shape, space.dtype);
  }

  override get actionSpace(): Space<BoxValue | number[] | number> {
    return this.space as unknown as Space<BoxValue | number[] | number>;
  }

  override step(action: BoxValue | number[] | number): StepResult<O> {
    const box = this.inner;
    const a: ArrayLike<number> = typeof action === "number" ? [action] : action;
    if (!isNumericArray(a) || a.length !== box.size) {
      throw new EnvError(
        "invalid_action",
        `${envName(this)}: ClipAction got action ${describeValue(action)} but ${box.toString()} needs ${box.size} numbers`,
        `pass a Float32Array or number[] of length ${box.size}`,
      );
    }
    const out = box.dtype === "float32" ? new Float32Array(box.size) : box.dtype === "float64" ? new Float64Array(box.size) : new Int32Array(box.size);
    for (let i = 0; i < box.size; i++) {
      const v = a[i];
      // NaN passes through unchanged (as np.clip), so the env checker can report it.
      out[i] = v < box.low[i] ? box.low[i] : v > box.high[i] ? box.high[i] : v;
    }
    return this.env.step(out);
  }
}

/** Applies `fn` to every observation (reset and step). Pass `observationSpace` when `fn` changes it. */
export class TransformObservation<O = unknown, A = unknown, WO = unknown> extends Wrapper<O, A, WO, A> {
  private readonly space: Space<O> | null;

  constructor(
    env: Env<WO, A>,
    readonly fn: (obs: WO) => O,
    observationSpace?: Space<O>,
  ) {
    super(env);
    this.space = observationSpace ?? null;
  }

  override get observationSpace(): Space<O> {
    return this.space ?? (this.env.observationSpace as unknown as Space<O>);
  }

  override reset(args?: ResetArgs): [O, Info] {
    const [obs, info] = this.env.reset(args);
    return [this.fn(obs), info];
  }

  override step(action: A): StepResult<O> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [this.fn(obs), reward, terminated, truncated, info];
  }
}

/** Applies `fn` to every reward. */
export class TransformReward<O = unknown, A = unknown> extends Wrapper<O, A> {
  constructor(
    env: Env<O, A>,
    readonly fn: (reward: number) => number,
  ) {
    super(env);
  }

  override step(action: A): StepResult<O> {
    const result = this.env.step(action);
    result[1] = this.fn(result[1]);
    return result;
  }
}

// ---------------------------------------------------------------------------------------
// FlattenObservation
// ---------------------------------------------------------------------------------------

/**
 * Gymnasium's `FlattenObservation`: every observation becomes one float32 vector of
 * `flatDim(space)` values, with Gymnasium's `flatten` rules: Box and MultiBinary values as
 * they are, Discrete and MultiDiscrete one-hot, Tuple and Dict parts concatenated (Dict in
 * sorted key order). The result is a flat Box, the input the MLP policies take.
 */
export class FlattenObservation<A = unknown> extends Wrapper<Float32Array, A, unknown, A> {
  private readonly inner: Space<unknown>;
  private readonly space: Box;

  constructor(env: Env<unknown, A>) {
    super(env);
    this.inner = env.observationSpace;
    const n = flatDim(this.inner);
    // One-hot parts lie in [0, 1]; raw Box parts keep their bounds.
    const low = new Float32Array(n), high = new Float32Array(n).fill(1);
    fillFlatBounds(this.inner, low, high, 0);
    this.space = new Box(low, high, [n], "float32");
  }

  override get observationSpace(): Space<Float32Array> {
    return this.space as unknown as Space<Float32Array>;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    const [obs, info] = this.env.reset(args);
    return [this.flatten(obs), info];
  }

  override step(action: A): StepResult<Float32Array> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [this.flatten(obs), reward, terminated, truncated, info];
  }

  private flatten(obs: unknown): Float32Array {
    if (!this.inner.contains(obs)) {
      throw new EnvError("invalid_observation", `${envName(this)}: FlattenObservation got ${describeValue(obs)}, not in ${String(this.inner)}`, "return observations of the declared space");
    }
    const out = new Float32Array(this.space.size);
    flattenInto(this.inner, obs, out, 0);
    return out;
  }
}

function fillFlatBounds(space: Space<unknown>, low: Float32Array, high: Float32Array, offset: number): number {
  if (space instanceof Box) {
    low.set(space.low, offset);
    high.set(space.high, offset);
    return offset + space.size;
  }
  if (space instanceof Tuple) return space.spaces.reduce((o, s) => fillFlatBounds(s, low, high, o), offset);
  if (space instanceof Dict) return space.keys.reduce((o, k) => fillFlatBounds(space.spaces[k], low, high, o), offset);
  return offset + flatDim(space);
}
