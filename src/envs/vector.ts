import { ConfigError, describeValue, EnvError } from "../core/errors.js";
import { validateSeed } from "../core/rng.js";
import { Box, Discrete, flatSize, isNumericArray, type Space } from "../core/spaces.js";
import { withActionMask } from "./action_mask.js";
import type { Env, Info } from "./env.js";
import { make, type MakeOptions } from "./registry.js";
import { captureEnvState, restoreEnvState, type EnvState } from "./state.js";
import type { EpisodeStatistics } from "./wrappers.js";

/** Per-env infos of a vector `reset`. */
export interface VecResetInfo {
  /** `envInfos[i]` is the info env i returned from its reset. */
  envInfos: Info[];
}

/** Per-env infos of a vector `step` (arrays of length numEnvs). */
export interface VecStepInfo {
  /**
   * `envInfos[i]` is env i's info for the row returned in `obs`: its step info, or, for an
   * env that ended this step, the info of the reset that started its new episode. Its
   * `action_mask` is therefore the mask of the returned row; an env's `actionMasks()` method,
   * when it has one, overrides it (src/envs/action_mask.ts).
   */
  envInfos: Info[];
  /** Last observation of the episode that ended in env i this step (a copy), else null. */
  finalObs: (Float32Array | null)[];
  /** Step info of the episode that ended in env i this step, else null. */
  finalInfo: (Info | null)[];
  /** `info.episode` of env i's ended episode (set by RecordEpisodeStatistics), else null. */
  episode: (EpisodeStatistics | null)[];
}

/** `[obs, rewards, terminated, truncated, info]` for all envs, row i = env i. */
export type VecStepResult = [obs: Float32Array, rewards: Float64Array, terminated: Uint8Array, truncated: Uint8Array, info: VecStepInfo];

export interface VecResetArgs {
  /** A number s seeds env i with s + i (Gymnasium); an array gives one seed per env (undefined: keep its stream). */
  seed?: number | (number | undefined)[];
  /** Passed to every sub-env's reset. */
  options?: Record<string, unknown>;
}

/**
 * What collectors and trainers need from a vector env: `SyncVectorEnv` (this thread) and
 * `AsyncVectorEnv` (worker threads, src/scale/) both implement it with the same semantics.
 */
export interface VectorEnv {
  readonly numEnvs: number;
  readonly singleObservationSpace: Space<unknown>;
  readonly singleActionSpace: Space<unknown>;
  readonly obsSize: number;
  readonly actSize: number;
  reset(args?: VecResetArgs): [Float32Array, VecResetInfo];
  step(actions: ArrayLike<number>): VecStepResult;
  /** Checkpoint state of every sub-env (see captureEnvState), env i first-to-last. */
  getEnvStates(): EnvState[];
  /** Restore every sub-env from `getEnvStates()` output, then behave as after `markReset()`. */
  setEnvStates(states: EnvState[]): void;
  markReset(): void;
  close(): void;
}

/**
 * Runs `numEnvs` copies of an env one after the other in this thread and batches their
 * data into typed arrays: observations in one Float32Array (numEnvs × obsSize, row i =
 * env i), rewards in a Float64Array, terminated/truncated flags in Uint8Arrays.
 *
 * Autoreset mode: SAME STEP (Gymnasium's `AutoresetMode.SAME_STEP`). When env i
 * terminates or truncates, it is reset inside the same `step` call: row i of the returned
 * observations is already the first observation of the new episode, while the reward and
 * the terminated/truncated flags are those of the step that ended the old one. The last
 * observation and info of the old episode are in `info.finalObs[i]` and `info.finalInfo[i]`
 * (null for envs that did not end). This mode is chosen because PPO's GAE must bootstrap a
 * truncated episode from V(final observation), which must therefore be available in the
 * step that truncates; with Gymnasium's default NEXT_STEP mode it would arrive one call
 * late together with a dummy transition.
 *
 * Timeline of one env that terminates on its 3rd step (o0..o3 old episode, p0 new one):
 *
 * ```
 * call            returned obs row   reward  terminated  finalObs
 * reset()         o0                 -       -           -
 * step(a0)        o1                 r1      0           null
 * step(a1)        o2                 r2      0           null
 * step(a2)        p0  (reset obs)    r3      1           o3 (terminal obs)
 * step(a3)        p1                 r'1     0           null
 * ```
 *
 * Sub-envs are public (`vec.envs[i]`) so collectors can snapshot and restore them.
 */
export class SyncVectorEnv implements VectorEnv {
  readonly envs: Env<unknown, unknown>[];
  readonly numEnvs: number;
  readonly singleObservationSpace: Space<unknown>;
  readonly singleActionSpace: Space<unknown>;
  /** Number of floats per observation row. */
  readonly obsSize: number;
  /** Number of action values per env (1 for Discrete). */
  readonly actSize: number;
  private readonly discreteActions: boolean;
  private hasReset = false;
  private closed = false;

  constructor(envFns: (() => Env<unknown, unknown>)[]) {
    if (!Array.isArray(envFns) || envFns.length === 0 || envFns.some((f) => typeof f !== "function")) {
      throw new ConfigError(
        `SyncVectorEnv needs a non-empty array of env factories, got ${describeValue(envFns)}`,
        'pass e.g. [() => make("CartPole-v1"), () => make("CartPole-v1")], or use makeVec(id, n)',
      );
    }
    this.envs = envFns.map((fn) => fn());
    this.numEnvs = this.envs.length;
    this.singleObservationSpace = this.envs[0].observationSpace;
    this.singleActionSpace = this.envs[0].actionSpace;
    this.checkSameSpaces();
    this.obsSize = flatSize(this.singleObservationSpace);
    this.actSize = flatSize(this.singleActionSpace);
    this.discreteActions = this.singleActionSpace instanceof Discrete;
  }

  private checkSameSpaces(): void {
    const obs0 = JSON.stringify(this.singleObservationSpace.toJSON());
    const act0 = JSON.stringify(this.singleActionSpace.toJSON());
    this.envs.forEach((env, i) => {
      if (JSON.stringify(env.observationSpace.toJSON()) !== obs0 || JSON.stringify(env.actionSpace.toJSON()) !== act0) {
        throw new ConfigError(
          `SyncVectorEnv env ${i} has spaces ${String(env.observationSpace)} / ${String(env.actionSpace)} but env 0 has ${String(this.singleObservationSpace)} / ${String(this.singleActionSpace)}`,
          "build every sub-env from the same id and options",
        );
      }
    });
  }

  /** Readable name for error messages, e.g. `SyncVectorEnv(4 × CartPole-v1)`. */
  toString(): string {
    return `SyncVectorEnv(${this.numEnvs} × ${this.envs[0].spec?.id ?? this.envs[0].unwrapped.constructor.name})`;
  }

  /** Reset all envs. Seed s gives env i the seed s + i; without a seed each env continues its stream. */
  reset(args: VecResetArgs = {}): [Float32Array, VecResetInfo] {
    this.requireOpen();
    const seeds = this.seedsFor(args.seed);
    const obs = new Float32Array(this.numEnvs * this.obsSize);
    const envInfos: Info[] = new Array(this.numEnvs);
    for (let i = 0; i < this.numEnvs; i++) {
      const [o, info] = this.envs[i].reset({ seed: seeds[i], options: args.options });
      this.writeRow(obs, i, o);
      envInfos[i] = withActionMask(this.envs[i], info);
    }
    this.hasReset = true;
    return [obs, { envInfos }];
  }

  private seedsFor(seed: VecResetArgs["seed"]): (number | undefined)[] {
    return vectorResetSeeds(String(this), seed, this.numEnvs);
  }


  /**
   * Step every env with its row of `actions`: for a Discrete action space an Int32Array or
   * number[] of length numEnvs; otherwise a Float32Array (Box) or Int32Array (MultiDiscrete)
   * of length numEnvs × actSize, row-major. Ended envs are reset in the same call (see the
   * class comment).
   */
  step(actions: ArrayLike<number>): VecStepResult {
    this.requireOpen();
    if (!this.hasReset) {
      throw new EnvError("reset_needed", `${this}: step() was called before reset()`, "call vec.reset({ seed }) first");
    }
    this.checkActions(actions);
    const n = this.numEnvs;
    const obs = new Float32Array(n * this.obsSize);
    const rewards = new Float64Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const envInfos: Info[] = new Array(n);
    const finalObs: (Float32Array | null)[] = new Array(n).fill(null);
    const finalInfo: (Info | null)[] = new Array(n).fill(null);
    const episode: (EpisodeStatistics | null)[] = new Array(n).fill(null);
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      const [o, r, te, tr, info] = env.step(this.actionOf(actions, i));
      rewards[i] = r;
      terminated[i] = te ? 1 : 0;
      truncated[i] = tr ? 1 : 0;
      if (te || tr) {
        const last = new Float32Array(this.obsSize);
        this.writeRow(last, 0, o);
        finalObs[i] = last;
        // Read before the reset: an actionMasks() method answers for the current state only.
        finalInfo[i] = withActionMask(env, info);
        episode[i] = (info?.episode as EpisodeStatistics | undefined) ?? null;
        const [o2, info2] = env.reset();
        this.writeRow(obs, i, o2);
        envInfos[i] = withActionMask(env, info2);
      } else {
        this.writeRow(obs, i, o);
        envInfos[i] = withActionMask(env, info);
      }
    }
    return [obs, rewards, terminated, truncated, { envInfos, finalObs, finalInfo, episode }];
  }

  private checkActions(actions: ArrayLike<number>): void {
    checkVectorActions(String(this), actions, this.numEnvs, this.actSize, this.singleActionSpace, this.discreteActions);
  }


  private actionOf(actions: ArrayLike<number>, i: number): unknown {
    if (this.discreteActions) return actions[i];
    const k = this.actSize, start = i * k;
    if (actions instanceof Float32Array || actions instanceof Float64Array || actions instanceof Int32Array) {
      return actions.subarray(start, start + k);
    }
    const row = this.singleActionSpace instanceof Box ? new Float32Array(k) : new Int32Array(k);
    for (let j = 0; j < k; j++) row[j] = actions[start + j];
    return row;
  }

  /** Copy one env's observation (number or numeric array) into row `i` of `out`. */
  private writeRow(out: Float32Array, i: number, o: unknown): void {
    writeObservationRow(out, i * this.obsSize, this.obsSize, o, () => `${this}: env ${i} returned observation ${describeValue(o)} but ${String(this.singleObservationSpace)} has ${this.obsSize} values`);
  }


  /**
   * Declare that every sub-env is inside an episode although this vector env did not reset
   * it — after restoring the sub-envs from saved state (checkpoint resume) — so `step` may
   * be called without `reset`.
   */
  markReset(): void {
    this.requireOpen();
    this.hasReset = true;
  }

  getEnvStates(): EnvState[] {
    this.requireOpen();
    return this.envs.map((e) => captureEnvState(e));
  }

  setEnvStates(states: EnvState[]): void {
    this.requireOpen();
    checkStateCount(String(this), states, this.numEnvs);
    states.forEach((s, i) => restoreEnvState(this.envs[i], s));
    this.markReset();
  }

  private requireOpen(): void {
    if (this.closed) throw new EnvError("env_closed", `${this}: used after close()`, "create a new vector env");
  }

  /** Close every sub-env. Calling it twice is harmless. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const env of this.envs) env.close();
  }
}

/** Throws unless `states` holds one saved state per env. */
/** The seed of each sub-env for a vector reset: none, one per env, or `seed + i` for env i. */
export function vectorResetSeeds(name: string, seed: VecResetArgs["seed"], numEnvs: number): (number | undefined)[] {
  if (seed === undefined || seed === null) return new Array(numEnvs).fill(undefined);
  if (Array.isArray(seed)) {
    if (seed.length !== numEnvs) {
      throw new ConfigError(`${name}: reset got ${seed.length} seeds for ${numEnvs} envs`, `pass one seed per env (length ${numEnvs}) or a single number`);
    }
    seed.forEach((s, i) => s !== undefined && validateSeed(s, `seed of env ${i}`));
    return seed;
  }
  validateSeed(seed, "vector reset seed");
  return Array.from({ length: numEnvs }, (_, i) => seed + i);
}

/** A vector step's actions: numEnvs × actSize numbers, or a one-line error saying what to pass. */
export function checkVectorActions(name: string, actions: ArrayLike<number>, numEnvs: number, actSize: number, actionSpace: Space<unknown>, discrete: boolean): void {
  const need = numEnvs * actSize;
  if (isNumericArray(actions) && actions.length === need) return;
  const space = String(actionSpace);
  const fix = discrete
    ? `pass an Int32Array or number[] of length ${need}, one ${space} action per env`
    : `pass a ${actionSpace instanceof Box ? "Float32Array" : "Int32Array"} of length ${need} (${numEnvs} envs × ${actSize} values of ${space}), row i holding env i's action`;
  throw new EnvError("invalid_action", `${name}: step() got actions ${describeValue(actions)} but ${need} values are needed`, fix);
}

/**
 * Copies one env's observation to `out` at `base`: a number or numeric array of `size`
 * values, or a Dict observation (a plain object), written as its parts' raw values in sorted
 * key order (a Discrete part is one number, arrays as they are; nested dicts likewise) — the
 * "raw" row that feature extractors read (e.g. a grid Dict: direction, image, mission).
 */
export function writeObservationRow(out: Float32Array, base: number, size: number, o: unknown, problem: () => string): void {
  if (typeof o === "number" && size === 1) {
    out[base] = o;
    return;
  }
  if (o !== null && typeof o === "object" && !isNumericArray(o)) {
    const end = writeDictRow(out, base, base + size, o as Record<string, unknown>);
    if (end !== base + size) throw new EnvError("invalid_observation", problem(), "return observations matching the observation space");
    return;
  }
  if (!isNumericArray(o) || o.length !== size) throw new EnvError("invalid_observation", problem(), "return observations matching the observation space");
  for (let j = 0; j < size; j++) out[base + j] = o[j];
}

/** Writes a Dict observation's raw values (sorted keys) from `at`; returns the end, or −1 if it does not fit before `limit`. */
function writeDictRow(out: Float32Array, at: number, limit: number, o: Record<string, unknown>): number {
  for (const key of Object.keys(o).sort()) {
    const v = o[key];
    if (typeof v === "number") {
      if (at >= limit) return -1;
      out[at++] = v;
    } else if (isNumericArray(v)) {
      if (at + v.length > limit) return -1;
      for (let j = 0; j < v.length; j++) out[at++] = v[j];
    } else if (v !== null && typeof v === "object") {
      at = writeDictRow(out, at, limit, v as Record<string, unknown>);
      if (at < 0) return -1;
    } else return -1;
  }
  return at;
}

export function checkStateCount(name: string, states: unknown, numEnvs: number): void {
  if (!Array.isArray(states) || states.length !== numEnvs) {
    throw new ConfigError(
      `${name}: got ${describeValue(states)} as saved env states but there are ${numEnvs} envs`,
      "resume with the numEnvs the run was started with",
    );
  }
}

/**
 * `numEnvs` copies of a registered env, each built by `make(id, options)` (so each has the
 * standard wrappers), optionally wrapped further by `wrap(env, i)` — e.g.
 * `(env) => new RecordEpisodeStatistics(env)`.
 */
export function makeVec(
  id: string,
  numEnvs: number,
  options: MakeOptions = {},
  wrap?: (env: Env<unknown, unknown>, index: number) => Env<unknown, unknown>,
): SyncVectorEnv {
  if (!Number.isSafeInteger(numEnvs) || numEnvs <= 0) {
    throw new ConfigError(`makeVec numEnvs must be a positive integer, got ${describeValue(numEnvs)}`, "pass e.g. 4");
  }
  return new SyncVectorEnv(
    Array.from({ length: numEnvs }, (_, i) => () => {
      const env = make(id, options);
      return wrap ? wrap(env, i) : env;
    }),
  );
}
