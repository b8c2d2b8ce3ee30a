import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { Discrete, flatSize } from "../core/spaces.js";
import { readActionMask, resolveActionMasking, writeMaskRow, type ActionMaskingMode } from "../envs/action_mask.js";
import { hasSnapshots, type Env, type Info } from "../envs/env.js";
import { captureEnvState, restoreEnvState, type EnvState } from "../envs/state.js";
import { writeObservationRow } from "../envs/vector.js";
import type { ActBuffers } from "../policies/actor_critic.js";

/**
 * The part of a policy the group collector uses; `ActorCritic` satisfies it. `act` writes
 * `batch` actions (row-major, `actSize` values each for Box actions), their log-probs and,
 * when `withValues`, V(obs) into `out`.
 */
export interface GroupPolicy {
  readonly obsSize: number;
  readonly actSize: number;
  readonly discrete: boolean;
  buffers(batch: number): ActBuffers;
  act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, deterministic?: boolean, withValues?: boolean, masks?: Uint8Array | null): void;
}

/**
 * Where the B start states of an iteration come from:
 * - `"reset"`: a reset with a seed drawn from the collector's Rng; the start is the reset state.
 * - `"reset+random-steps"`: the same, then `randomSteps` uniformly random actions, so groups
 *   also start mid-episode. A random step that would end the episode is undone (the start is
 *   the last state before it), so a start state is never terminal.
 */
export type StartStateMode = "reset" | "reset+random-steps";
export const START_STATE_MODES: readonly StartStateMode[] = ["reset", "reset+random-steps"];

export interface GroupCollectorOptions {
  /** Default `"reset"`. */
  startState?: StartStateMode;
  /** k for `"reset+random-steps"`. Default 10 (our choice; no paper fixes it). */
  randomSteps?: number;
  /**
   * Cap on an episode's length counted from the start state; an episode cut by it is
   * `truncated`. Default: the env's time limit (`env.spec.maxEpisodeSteps`); required when
   * the env has none, since an episode could otherwise never end.
   */
  maxSteps?: number;
  /** Take the policy's mode instead of sampling (evaluation, tests); log-probs are then not meaningful. Default false. */
  deterministic?: boolean;
  /** Record V(obs) per step (REINFORCE with a learned baseline). Default false: critic-free methods skip the critic. */
  recordValues?: boolean;
  /**
   * Mask actions with the env's action masks (its `actionMasks()`, else `info.action_mask`):
   * "auto" (default) when the env provides them, "on" requires them, "off" ignores them.
   */
  actionMasking?: ActionMaskingMode;
}

/**
 * B groups of G complete episodes, each group started from one env snapshot. Steps are
 * laid out episode-contiguous, group-major: episode `e = b·G + g` (group b, member g)
 * occupies steps `episodeStart[e] .. episodeStart[e] + episodeLength[e] − 1`.
 * Only typed arrays and numbers, so it can cross threads and processes.
 */
export interface GroupBatch {
  numGroups: number;
  groupSize: number;
  numEpisodes: number;
  /** Total steps over all episodes. */
  numSteps: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
  // Per step.
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  logProbs: Float32Array;
  /** V(obs) per step, present when the collector records values. */
  values?: Float32Array;
  /** Raw env rewards (no bootstrap added; see `finalObs`). */
  rewards: Float32Array;
  /** 1 at the last step of every episode (terminated or truncated). */
  dones: Uint8Array;
  episodeIndex: Int32Array;
  groupIndex: Int32Array;
  // Per episode.
  /** Undiscounted sum of the episode's rewards, from the start state on. */
  episodeReturn: Float32Array;
  episodeLength: Int32Array;
  episodeStart: Int32Array;
  episodeGroup: Int32Array;
  terminated: Uint8Array;
  /** Cut by the env's time limit or the collector's `maxSteps` (and not terminated). */
  truncated: Uint8Array;
  /** The observation after each episode's last step (`obsSize` per episode), to bootstrap truncated ones. */
  finalObs: Float32Array;
  // Per group.
  /** The reset seed of each group's start state (float64: seeds use up to 53 bits). */
  groupSeed: Float64Array;
  /** With action masking: the mask each step's action was chosen under, numActions flags per step. */
  actionMasks?: Uint8Array;
}

interface StartState {
  state: EnvState;
  obs: Float32Array;
  seed: number;
  /** The start observation's action mask (masking only). */
  mask: Uint8Array | null;
}

/**
 * The group collector of GRPO, RLOO/LOOP and REINFORCE (docs/methods.md §2, §3; issue 4):
 * for each of B start states it runs G complete episodes from that exact state, each until
 * termination or truncation, so the G returns of a group differ only through the policy's
 * sampling and their mean is a baseline for that state.
 *
 * A start state is made by resetting env copy b·G with a seed drawn from the Rng (and, in
 * `"reset+random-steps"` mode, taking random steps), then captured with `captureEnvState`:
 * the physical state, the env's own generator and every wrapper's counters (the TimeLimit
 * budget included). All G copies of the group are restored from it before stepping, so
 * env-side randomness is common to the group as well.
 *
 * All B·G episodes run in lock-step on B·G env copies, so the policy acts on one batch of
 * all running episodes per step. Randomness order, for reproducibility: the B seeds (and
 * random steps) first, then the policy's samples, one batched `act` call per step over the
 * still-running episodes in episode order.
 */
export class GroupCollector {
  readonly groupSize: number;
  readonly numStarts: number;
  readonly obsSize: number;
  readonly actSize: number;
  readonly maxSteps: number;
  readonly startState: StartStateMode;
  readonly randomSteps: number;
  private readonly envs: Env<unknown, unknown>[];
  private readonly act: ActBuffers;
  private readonly deterministic: boolean;
  private readonly recordValues: boolean;
  /** Whether actions are masked (resolved from `actionMasking` against the env at construction). */
  readonly masking: boolean;
  /** Mask entries per step: the Discrete action count (0 when not masking). */
  readonly maskWidth: number;

  constructor(
    envFactory: () => Env<unknown, unknown>,
    readonly policy: GroupPolicy,
    groupSize: number,
    numStarts: number,
    options: GroupCollectorOptions = {},
  ) {
    this.groupSize = positiveInteger("groupSize", groupSize);
    this.numStarts = positiveInteger("numStarts", numStarts);
    this.startState = options.startState ?? "reset";
    if (!START_STATE_MODES.includes(this.startState)) {
      throw new ConfigError(
        `group collector: startState ${describeValue(this.startState)} is not a known mode`,
        `use one of: ${START_STATE_MODES.join(", ")}`,
      );
    }
    this.randomSteps = options.randomSteps === undefined ? 10 : nonNegativeInteger("randomSteps", options.randomSteps);
    this.deterministic = options.deterministic ?? false;
    this.recordValues = options.recordValues ?? false;

    const first = envFactory();
    if (!hasSnapshots(first)) {
      first.close();
      throw new ConfigError(
        `group collector needs env snapshots; ${String(first)} has none`,
        "use the step collector (ppo) or implement getState/setState on env.unwrapped (see Snapshotable)",
        "no_snapshots",
      );
    }
    this.envs = [first];
    for (let i = 1; i < this.groupSize * this.numStarts; i++) this.envs.push(envFactory());
    this.obsSize = flatSize(first.observationSpace);
    this.actSize = first.actionSpace instanceof Discrete ? 1 : flatSize(first.actionSpace);
    checkPolicyFits(first, policy, this.obsSize, this.actSize);
    this.maxSteps = resolveMaxSteps(first, options.maxSteps);
    this.act = policy.buffers(this.envs.length);
    // Whether the env provides masks shows in its reset info; every group start resets again.
    const mode = options.actionMasking ?? "auto";
    const provides = mode === "off" ? false : readActionMask(first, first.reset({ seed: 0 })[1]) !== null;
    this.masking = resolveActionMasking(mode, provides, String(first), policy.discrete);
    this.maskWidth = this.masking ? (first.actionSpace as Discrete).n : 0;
  }

  /** Env `env`'s mask after a reset or step that returned `info`, into `out` at `offset`. */
  private writeMask(env: Env<unknown, unknown>, info: Info, out: Uint8Array, offset: number): void {
    writeMaskRow(readActionMask(env, info), this.maskWidth, out, offset, `group collector: ${String(env)}`);
  }

  /** Collects B groups of G episodes; see `GroupBatch` for the layout. */
  collect(rng: Rng): GroupBatch {
    const starts: StartState[] = [];
    for (let b = 0; b < this.numStarts; b++) starts.push(this.makeStart(this.envs[b * this.groupSize], rng));
    const steps = this.runEpisodes(starts, rng);
    return this.assemble(steps, starts);
  }

  /** Closes every env copy. */
  close(): void {
    for (const env of this.envs) env.close();
  }

  private makeStart(env: Env<unknown, unknown>, rng: Rng): StartState {
    const seed = rng.nextSeed();
    const [o, info] = env.reset({ seed });
    const obs = new Float32Array(this.obsSize);
    this.writeObs(o, env, obs, 0);
    const mask = this.masking ? new Uint8Array(this.maskWidth) : null;
    if (mask) this.writeMask(env, info, mask, 0);
    let state = captureEnvState(env);
    if (this.startState === "reset+random-steps") {
      for (let i = 0; i < this.randomSteps; i++) {
        const [next, , terminated, truncated, stepInfo] = env.step(env.actionSpace.sample(rng));
        if (terminated || truncated) break; // keep the last live state as the start
        this.writeObs(next, env, obs, 0);
        if (mask) this.writeMask(env, stepInfo, mask, 0);
        state = captureEnvState(env);
      }
    }
    return { state, obs, seed, mask };
  }

  /** Steps all B·G episodes to their end, recording each step in the order it happened. */
  private runEpisodes(starts: StartState[], rng: Rng): StepLog {
    const { obsSize, actSize, groupSize, policy, act } = this;
    const numEpisodes = this.envs.length;
    const current = new Float32Array(numEpisodes * obsSize);
    const w = this.maskWidth;
    const currentMask = this.masking ? new Uint8Array(numEpisodes * w) : null;
    for (let e = 0; e < numEpisodes; e++) {
      const start = starts[Math.floor(e / groupSize)];
      restoreEnvState(this.envs[e], start.state);
      current.set(start.obs, e * obsSize);
      if (currentMask && start.mask) currentMask.set(start.mask, e * w);
    }
    const log = new StepLog(numEpisodes, obsSize, actSize, policy.discrete, this.recordValues, w);
    const running = Int32Array.from({ length: numEpisodes }, (_, e) => e);
    let numRunning = numEpisodes;
    const batchObs = new Float32Array(numEpisodes * obsSize);
    const batchMask = currentMask ? new Uint8Array(numEpisodes * w) : null;
    while (numRunning > 0) {
      for (let p = 0; p < numRunning; p++) {
        const e = running[p];
        batchObs.set(current.subarray(e * obsSize, (e + 1) * obsSize), p * obsSize);
        if (batchMask && currentMask) batchMask.set(currentMask.subarray(e * w, (e + 1) * w), p * w);
      }
      policy.act(batchObs, numRunning, rng, act, this.deterministic, this.recordValues, batchMask);
      let kept = 0;
      for (let p = 0; p < numRunning; p++) {
        const e = running[p];
        const action = policy.discrete ? act.actions[p] : act.actions.subarray(p * actSize, (p + 1) * actSize);
        const env = this.envs[e];
        const [next, reward, terminated, envTruncated, info] = env.step(action);
        const length = log.record(e, batchObs, p, act, reward, batchMask);
        const truncated = !terminated && (envTruncated || length >= this.maxSteps);
        if (terminated || truncated) {
          this.writeObs(next, env, log.finalObs, e * obsSize);
          log.finish(e, terminated, truncated);
        } else {
          this.writeObs(next, env, current, e * obsSize);
          if (currentMask) this.writeMask(env, info, currentMask, e * w);
          running[kept++] = e;
        }
      }
      numRunning = kept;
    }
    return log;
  }

  private assemble(log: StepLog, starts: StartState[]): GroupBatch {
    const { groupSize, obsSize, actSize } = this;
    const numEpisodes = this.envs.length;
    const numSteps = log.count;
    const episodeLength = Int32Array.from(log.lengths);
    const episodeStart = new Int32Array(numEpisodes);
    for (let e = 1; e < numEpisodes; e++) episodeStart[e] = episodeStart[e - 1] + episodeLength[e - 1];
    const batch: GroupBatch = {
      numGroups: this.numStarts,
      groupSize,
      numEpisodes,
      numSteps,
      obsSize,
      actSize,
      discrete: this.policy.discrete,
      obs: new Float32Array(numSteps * obsSize),
      actions: this.policy.discrete ? new Int32Array(numSteps) : new Float32Array(numSteps * actSize),
      logProbs: new Float32Array(numSteps),
      ...(this.recordValues ? { values: new Float32Array(numSteps) } : {}),
      rewards: new Float32Array(numSteps),
      dones: new Uint8Array(numSteps),
      episodeIndex: new Int32Array(numSteps),
      groupIndex: new Int32Array(numSteps),
      episodeReturn: new Float32Array(numEpisodes),
      episodeLength,
      episodeStart,
      episodeGroup: Int32Array.from({ length: numEpisodes }, (_, e) => Math.floor(e / groupSize)),
      terminated: log.terminated,
      truncated: log.truncated,
      finalObs: log.finalObs,
      groupSeed: Float64Array.from(starts, (s) => s.seed),
      ...(log.masks ? { actionMasks: new Uint8Array(numSteps * this.maskWidth) } : {}),
    };
    const w = this.maskWidth;
    // Scatter the chronological log into episode-contiguous order. Steps of one episode were
    // logged in time order, so a per-episode cursor keeps them in order.
    const cursor = Int32Array.from(episodeStart);
    const returns = new Float64Array(numEpisodes);
    for (let i = 0; i < numSteps; i++) {
      const e = log.episode[i];
      const t = cursor[e]++;
      batch.obs.set(log.obs.subarray(i * obsSize, (i + 1) * obsSize), t * obsSize);
      batch.actions.set(log.actions.subarray(i * actSize, (i + 1) * actSize), t * actSize);
      batch.logProbs[t] = log.logProbs[i];
      if (batch.values && log.values) batch.values[t] = log.values[i];
      if (batch.actionMasks && log.masks) batch.actionMasks.set(log.masks.subarray(i * w, (i + 1) * w), t * w);
      batch.rewards[t] = log.rewards[i];
      batch.episodeIndex[t] = e;
      batch.groupIndex[t] = batch.episodeGroup[e];
      returns[e] += log.rewards[i];
    }
    for (let e = 0; e < numEpisodes; e++) {
      batch.dones[episodeStart[e] + episodeLength[e] - 1] = 1;
      batch.episodeReturn[e] = returns[e];
    }
    return batch;
  }

  /** Copies an observation (a number, numeric array or Dict, see writeObservationRow) to `out[offset ..]`. */
  private writeObs(o: unknown, env: Env<unknown, unknown>, out: Float32Array, offset: number): void {
    const k = this.obsSize;
    writeObservationRow(out, offset, k, o, () => `group collector: ${String(env)} returned observation ${describeValue(o)} but ${String(env.observationSpace)} has ${k} values`);
  }
}

type Column = Float32Array | Int32Array | Uint8Array;

/** A copy of `arr` with room for at least `need` elements (doubling), or `arr` itself. */
function withCapacity<T extends Column>(arr: T, need: number): T {
  if (arr.length >= need) return arr;
  const next = new (arr.constructor as new (n: number) => T)(Math.max(need, arr.length * 2));
  next.set(arr);
  return next;
}

/** Steps in the order they happened (interleaved across episodes), plus per-episode endings. */
class StepLog {
  count = 0;
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  logProbs = new Float32Array(256);
  values: Float32Array | null;
  /** Action masks per step (maskWidth each), null without masking. */
  masks: Uint8Array | null;
  rewards = new Float32Array(256);
  episode = new Int32Array(256);
  readonly lengths: Int32Array;
  readonly terminated: Uint8Array;
  readonly truncated: Uint8Array;
  readonly finalObs: Float32Array;

  constructor(
    numEpisodes: number,
    private readonly obsSize: number,
    private readonly actSize: number,
    discrete: boolean,
    recordValues: boolean,
    private readonly maskWidth = 0,
  ) {
    this.masks = maskWidth > 0 ? new Uint8Array(256 * maskWidth) : null;
    this.obs = new Float32Array(256 * obsSize);
    this.actions = discrete ? new Int32Array(256) : new Float32Array(256 * actSize);
    this.values = recordValues ? new Float32Array(256) : null;
    this.lengths = new Int32Array(numEpisodes);
    this.terminated = new Uint8Array(numEpisodes);
    this.truncated = new Uint8Array(numEpisodes);
    this.finalObs = new Float32Array(numEpisodes * obsSize);
  }

  /** Logs row `p` of the acting batch as the next step of episode `e`; returns the episode's length so far. */
  record(e: number, batchObs: Float32Array, p: number, act: ActBuffers, reward: number, batchMask: Uint8Array | null = null): number {
    const i = this.count++;
    const { obsSize, actSize } = this;
    this.obs = withCapacity(this.obs, this.count * obsSize);
    this.actions = withCapacity(this.actions, this.count * actSize);
    this.logProbs = withCapacity(this.logProbs, this.count);
    this.rewards = withCapacity(this.rewards, this.count);
    this.episode = withCapacity(this.episode, this.count);
    this.obs.set(batchObs.subarray(p * obsSize, (p + 1) * obsSize), i * obsSize);
    this.actions.set(act.actions.subarray(p * actSize, (p + 1) * actSize), i * actSize);
    this.logProbs[i] = act.logProbs[p];
    if (this.values) {
      this.values = withCapacity(this.values, this.count);
      this.values[i] = act.values[p];
    }
    if (this.masks && batchMask) {
      const w = this.maskWidth;
      this.masks = withCapacity(this.masks, this.count * w);
      this.masks.set(batchMask.subarray(p * w, (p + 1) * w), i * w);
    }
    this.rewards[i] = reward;
    this.episode[i] = e;
    return ++this.lengths[e];
  }

  finish(e: number, terminated: boolean, truncated: boolean): void {
    this.terminated[e] = terminated ? 1 : 0;
    this.truncated[e] = truncated ? 1 : 0;
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`group collector: ${name} must be an integer ≥ 1, got ${describeValue(value)}`, `set ${name} to e.g. 8`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(`group collector: ${name} must be an integer ≥ 0, got ${describeValue(value)}`, `set ${name} to e.g. 10`);
  }
  return value;
}

function resolveMaxSteps(env: Env<unknown, unknown>, maxSteps: number | undefined): number {
  if (maxSteps !== undefined) return positiveInteger("maxSteps", maxSteps);
  const limit = env.spec?.maxEpisodeSteps;
  if (limit === undefined) {
    throw new ConfigError(
      `group collector: ${String(env)} has no time limit, so its episodes might never end`,
      "pass maxSteps (the longest episode to run), or make the env with maxEpisodeSteps",
    );
  }
  return limit;
}

function checkPolicyFits(env: Env<unknown, unknown>, policy: GroupPolicy, obsSize: number, actSize: number): void {
  const discrete = env.actionSpace instanceof Discrete;
  if (policy.obsSize !== obsSize || policy.discrete !== discrete || policy.actSize !== actSize) {
    throw new ConfigError(
      `group collector: the policy (obsSize ${policy.obsSize}, ${policy.discrete ? "discrete" : "continuous"} actions of size ${policy.actSize}) ` +
        `does not fit ${String(env)} (observation ${String(env.observationSpace)}, action ${String(env.actionSpace)})`,
      "build the policy from this env's observation and action spaces",
    );
  }
}
