import { ConfigError, EnvError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { Discrete, flatSize, isNumericArray } from "../core/spaces.js";
import { readActionMask, resolveActionMasking, writeMaskRow, type ActionMaskingMode } from "../envs/action_mask.js";
import { hasSnapshots, type Env, type Info } from "../envs/env.js";
import { captureEnvState, restoreEnvState, type EnvState } from "../envs/state.js";
import type { TrajectorySummary } from "../advantage/set.js";
import { allSubsets } from "../advantage/set.js";
import type { ActBuffers } from "../policies/actor_critic.js";
import type { GroupPolicy } from "./group_collector.js";

/** The group collector's policy plus V(obs) (GAE on the base trajectories); `ActorCritic` satisfies it. */
export interface VinePolicy extends GroupPolicy {
  values(obs: Float32Array, batch: number, out: Float32Array): Float32Array;
}

/**
 * Whether a trajectory succeeded, from its return, its last reward and how it ended.
 * `goalReached` (grid worlds): it terminated with a positive last reward.
 */
export type SuccessPredicate = (t: { return: number; lastReward: number; terminated: boolean }) => boolean;
export const goalReached: SuccessPredicate = (t) => t.terminated && t.lastReward > 0;
/** Success as "the return reached `threshold`" (an env's reward threshold). */
export const returnAtLeast = (threshold: number): SuccessPredicate => (t) => t.return >= threshold;

export interface VineOptions {
  /** B: trajectories rolled out from fresh start states (env resets) per collect. */
  numRollouts: number;
  /** p: vine states picked per base trajectory, uniformly among its states without replacement. */
  vineStatesPerRollout: number;
  /** N: continuations branched from each vine state. */
  numVines: number;
  /** n: size of the sets the polychromic objective scores (≤ N). */
  setSize: number;
  /** `all`: every n-subset of the N continuations; `random`: `numSubsets` uniformly drawn n-subsets. */
  subsetMode: "all" | "random";
  numSubsets: number;
  success: SuccessPredicate;
  /**
   * Mask actions with the env's action masks (its `actionMasks()`, else `info.action_mask`):
   * "auto" (default) when the env provides them, "on" requires them, "off" ignores them.
   */
  actionMasking?: ActionMaskingMode;
}

/**
 * The vine batch. Trajectories are episode-contiguous: first the B base trajectories (full
 * episodes from a reset), then the continuations, vine by vine (vine v owns trajectories
 * B + v·N … B + v·N + N − 1). Only typed arrays, numbers and plain objects.
 */
export interface VineBatch {
  numSteps: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
  numRollouts: number;
  numVines: number;
  // Per step.
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
  rewards: Float32Array;
  /** 1 at the last step of every trajectory. */
  dones: Uint8Array;
  /**
   * With action masking: the mask each step's action was chosen under, numActions flags per
   * step (1 = allowed); a continuation's first mask is its restored vine state's.
   */
  actionMasks?: Uint8Array;
  // Per trajectory.
  start: Int32Array;
  length: Int32Array;
  returns: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** V(obs after the last step), to bootstrap truncated trajectories (0 for terminated ones). */
  finalValues: Float32Array;
  summaries: TrajectorySummary[];
  // Per vine state.
  vineRollout: Int32Array;
  vineTime: Int32Array;
  /** The n-subsets of each vine's continuations (indices 0..N−1). */
  subsets: number[][][];
}

interface Trajectory {
  obs: number[];
  actions: number[];
  logProbs: number[];
  values: number[];
  rewards: number[];
  /** The mask of each step's state (maskWidth flags per step; empty without masking). */
  masks: number[];
  cells: number[];
  snapshots: EnvState[] | null;
  terminated: boolean;
  truncated: boolean;
  finalObs: Float32Array;
}

/**
 * The vine collector of polychromic PPO (docs/methods.md, "polychromic"): rolls B
 * trajectories out from fresh start states, picks p vine states along each, restores N env
 * copies to each vine state (env snapshots) and runs N continuations to the end of the
 * episode, and forms the n-subsets the set objective scores. Every env copy of a stage runs in
 * lock-step, so the policy acts on one batch per step. With action masking every step acts
 * under, and records, the mask of its state; a continuation starts from the mask recorded with
 * its vine state's snapshot (an env's `actionMasks()` method is asked after the restore).
 *
 * Randomness order: the B reset seeds, the base trajectories' actions, the vine times, the
 * continuations' actions, then the random subsets.
 */
export class VineCollector {
  readonly obsSize: number;
  readonly actSize: number;
  readonly maxSteps: number;
  /** Whether actions are masked (resolved from `actionMasking` against the env at construction). */
  readonly masking: boolean;
  /** Mask entries per step: the Discrete action count (0 when not masking). */
  readonly maskWidth: number;
  private readonly envs: Env<unknown, unknown>[] = [];

  constructor(
    private readonly envFactory: () => Env<unknown, unknown>,
    readonly policy: VinePolicy,
    readonly options: VineOptions,
  ) {
    const o = options;
    for (const [k, v] of [["numRollouts", o.numRollouts], ["vineStatesPerRollout", o.vineStatesPerRollout], ["numVines", o.numVines], ["setSize", o.setSize], ["numSubsets", o.numSubsets]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`vine collector: ${k} must be an integer ≥ 1, got ${describeValue(v)}`, `set ${k} to e.g. 4`);
    }
    if (o.setSize > o.numVines) throw new ConfigError(`vine collector: setSize ${o.setSize} is more than numVines ${o.numVines}`, "set setSize to at most numVines (sets are drawn from one vine state's continuations)");
    const first = envFactory();
    if (!hasSnapshots(first)) {
      first.close();
      throw new ConfigError(`vine collector needs env snapshots; ${String(first)} has none`, "use ppo for this env, or implement getState/setState on env.unwrapped", "no_snapshots");
    }
    this.envs.push(first);
    this.obsSize = flatSize(first.observationSpace);
    this.actSize = first.actionSpace instanceof Discrete ? 1 : flatSize(first.actionSpace);
    const limit = first.spec?.maxEpisodeSteps;
    if (limit === undefined) throw new ConfigError(`vine collector: ${String(first)} has no time limit`, "make the env with maxEpisodeSteps");
    this.maxSteps = limit;
    // Whether the env provides masks shows in its reset info; every collect resets again.
    const mode = o.actionMasking ?? "auto";
    const provides = mode === "off" ? false : readActionMask(first, first.reset({ seed: 0 })[1]) !== null;
    this.masking = resolveActionMasking(mode, provides, String(first), policy.discrete);
    this.maskWidth = this.masking ? (first.actionSpace as Discrete).n : 0;
  }

  /**
   * Env `env`'s mask after a reset, step or restore whose info is `info` (for a restore: the
   * mask recorded with the snapshot; an env's `actionMasks()` method reads the restored state).
   */
  private writeMask(env: Env<unknown, unknown>, info: Info | null | undefined, out: Uint8Array, offset: number): void {
    writeMaskRow(readActionMask(env, info), this.maskWidth, out, offset, `vine collector: ${String(env)}`);
  }

  private env(i: number): Env<unknown, unknown> {
    while (this.envs.length <= i) this.envs.push(this.envFactory());
    return this.envs[i];
  }

  collect(rng: Rng): VineBatch {
    const o = this.options;
    const B = o.numRollouts;
    const starts: EnvState[] = [];
    const startObs: Float32Array[] = [];
    const startMasks: (Uint8Array | null)[] = [];
    for (let b = 0; b < B; b++) {
      const env = this.env(b);
      const [obs, info] = env.reset({ seed: rng.nextSeed() });
      startObs.push(this.flat(obs, env));
      starts.push(captureEnvState(env));
      const mask = this.masking ? new Uint8Array(this.maskWidth) : null;
      if (mask) this.writeMask(env, info, mask, 0);
      startMasks.push(mask);
    }
    const base = this.run(starts, startObs, startMasks, rng, true);
    const vineRollout: number[] = [];
    const vineTime: number[] = [];
    base.forEach((t, b) => {
      const len = t.rewards.length;
      const times = rng.permutation(len).subarray(0, Math.min(o.vineStatesPerRollout, len));
      for (const time of Array.from(times).sort((x, y) => x - y)) {
        vineRollout.push(b);
        vineTime.push(time);
      }
    });
    const N = o.numVines;
    const vineStarts: EnvState[] = [];
    const vineObs: Float32Array[] = [];
    const vineMasks: (Uint8Array | null)[] = [];
    const w = this.maskWidth;
    vineRollout.forEach((b, v) => {
      const t = base[b];
      const time = vineTime[v];
      const obs = Float32Array.from(t.obs.slice(time * this.obsSize, (time + 1) * this.obsSize));
      // The mask recorded at the vine state, with its snapshot (taken before that step).
      const mask = this.masking ? Uint8Array.from(t.masks.slice(time * w, (time + 1) * w)) : null;
      for (let j = 0; j < N; j++) {
        vineStarts.push((t.snapshots as EnvState[])[time]);
        vineObs.push(obs);
        vineMasks.push(mask);
      }
    });
    const vines = this.run(vineStarts, vineObs, vineMasks, rng, false);
    const subsets = vineRollout.map(() => (o.subsetMode === "all" ? allSubsets(N, o.setSize) : randomSubsets(N, o.setSize, o.numSubsets, rng)));
    return this.assemble([...base, ...vines], B, Int32Array.from(vineRollout), Int32Array.from(vineTime), subsets);
  }

  /**
   * Runs one episode from each start state to its end, all in lock-step; `snapshots` keeps the
   * state before every step. `startMasks[e]` is the mask recorded with start state e (masking).
   */
  private run(starts: EnvState[], startObs: Float32Array[], startMasks: (Uint8Array | null)[], rng: Rng, snapshots: boolean): Trajectory[] {
    const { obsSize, actSize, policy, maskWidth: w } = this;
    const count = starts.length;
    const trajs: Trajectory[] = [];
    const current = new Float32Array(count * obsSize);
    const currentMask = this.masking ? new Uint8Array(count * w) : null;
    for (let e = 0; e < count; e++) {
      const env = this.env(e);
      restoreEnvState(env, starts[e]);
      current.set(startObs[e], e * obsSize);
      if (currentMask) this.writeMask(env, { action_mask: startMasks[e] }, currentMask, e * w);
      trajs.push({ obs: [], actions: [], logProbs: [], values: [], rewards: [], masks: [], cells: cellOf(env), snapshots: snapshots ? [] : null, terminated: false, truncated: false, finalObs: new Float32Array(obsSize) });
    }
    let running = Array.from({ length: count }, (_, e) => e);
    const buf: ActBuffers = policy.buffers(Math.max(1, count));
    const batchObs = new Float32Array(count * obsSize);
    const batchMask = currentMask ? new Uint8Array(count * w) : null;
    while (running.length > 0) {
      running.forEach((e, p) => {
        batchObs.set(current.subarray(e * obsSize, (e + 1) * obsSize), p * obsSize);
        if (batchMask && currentMask) batchMask.set(currentMask.subarray(e * w, (e + 1) * w), p * w);
      });
      policy.act(batchObs, running.length, rng, buf, false, true, batchMask);
      const next: number[] = [];
      running.forEach((e, p) => {
        const env = this.env(e);
        const t = trajs[e];
        t.snapshots?.push(captureEnvState(env));
        for (let j = 0; j < obsSize; j++) t.obs.push(batchObs[p * obsSize + j]);
        for (let j = 0; j < actSize; j++) t.actions.push(buf.actions[p * actSize + j]);
        t.logProbs.push(buf.logProbs[p]);
        t.values.push(buf.values[p]);
        if (batchMask) for (let j = 0; j < w; j++) t.masks.push(batchMask[p * w + j]);
        const action = policy.discrete ? buf.actions[p] : buf.actions.subarray(p * actSize, (p + 1) * actSize);
        const [obs, reward, terminated, truncated, info] = env.step(action);
        t.rewards.push(reward);
        t.cells.push(...cellOf(env));
        const flat = this.flat(obs, env);
        if (terminated || truncated || t.rewards.length >= this.maxSteps) {
          t.terminated = terminated;
          t.truncated = !terminated;
          t.finalObs = flat;
        } else {
          current.set(flat, e * obsSize);
          if (currentMask) this.writeMask(env, info, currentMask, e * w);
          next.push(e);
        }
      });
      running = next;
    }
    return trajs;
  }

  private assemble(trajs: Trajectory[], B: number, vineRollout: Int32Array, vineTime: Int32Array, subsets: number[][][]): VineBatch {
    const { obsSize, actSize } = this;
    const n = trajs.length;
    const length = Int32Array.from(trajs, (t) => t.rewards.length);
    const start = new Int32Array(n);
    for (let i = 1; i < n; i++) start[i] = start[i - 1] + length[i - 1];
    const numSteps = n ? start[n - 1] + length[n - 1] : 0;
    const batch: VineBatch = {
      numSteps,
      obsSize,
      actSize,
      discrete: this.policy.discrete,
      numRollouts: B,
      numVines: this.options.numVines,
      obs: new Float32Array(numSteps * obsSize),
      actions: this.policy.discrete ? new Int32Array(numSteps) : new Float32Array(numSteps * actSize),
      logProbs: new Float32Array(numSteps),
      values: new Float32Array(numSteps),
      rewards: new Float32Array(numSteps),
      dones: new Uint8Array(numSteps),
      ...(this.masking ? { actionMasks: new Uint8Array(numSteps * this.maskWidth) } : {}),
      start,
      length,
      returns: new Float32Array(n),
      terminated: Uint8Array.from(trajs, (t) => (t.terminated ? 1 : 0)),
      truncated: Uint8Array.from(trajs, (t) => (t.truncated ? 1 : 0)),
      finalValues: new Float32Array(n),
      summaries: [],
      vineRollout,
      vineTime,
      subsets,
    };
    const size = this.gridSize();
    const truncatedObs: number[] = [];
    trajs.forEach((t, i) => {
      const s = start[i];
      batch.obs.set(t.obs, s * obsSize);
      batch.actions.set(t.actions, s * actSize);
      batch.logProbs.set(t.logProbs, s);
      batch.values.set(t.values, s);
      batch.rewards.set(t.rewards, s);
      batch.actionMasks?.set(t.masks, s * this.maskWidth);
      batch.dones[s + length[i] - 1] = 1;
      const ret = t.rewards.reduce((a, r) => a + r, 0);
      batch.returns[i] = ret;
      const cells = Int32Array.from(t.cells);
      batch.summaries.push({
        return: ret,
        success: this.options.success({ return: ret, lastReward: t.rewards[t.rewards.length - 1], terminated: t.terminated }),
        finalCell: cells.length >= 2 ? [cells[cells.length - 2], cells[cells.length - 1]] : null,
        cells,
        gridSize: size,
        finalObs: t.finalObs,
      });
      if (t.truncated) truncatedObs.push(i);
    });
    if (truncatedObs.length) {
      const obs = new Float32Array(truncatedObs.length * obsSize);
      truncatedObs.forEach((i, k) => obs.set(trajs[i].finalObs, k * obsSize));
      const values = this.policy.values(obs, truncatedObs.length, new Float32Array(truncatedObs.length));
      truncatedObs.forEach((i, k) => (batch.finalValues[i] = values[k]));
    }
    return batch;
  }

  private gridSize(): readonly [number, number] | null {
    const u = this.envs[0].unwrapped as unknown as { width?: unknown; height?: unknown; agentX?: unknown };
    return typeof u.agentX === "number" && typeof u.width === "number" && typeof u.height === "number" ? [u.width, u.height] : null;
  }

  private flat(o: unknown, env: Env<unknown, unknown>): Float32Array {
    const k = this.obsSize;
    if (typeof o === "number" && k === 1) return Float32Array.of(o);
    if (!isNumericArray(o) || o.length !== k) {
      throw new EnvError("invalid_observation", `vine collector: ${String(env)} returned observation ${describeValue(o)} but ${String(env.observationSpace)} has ${k} values`, "return flat numeric observations matching the observation space");
    }
    return Float32Array.from(o);
  }

  close(): void {
    for (const env of this.envs) env.close();
  }
}

/** The agent's cell `[x, y]` of a grid env (an env whose unwrapped has agentX/agentY), else nothing. */
export function cellOf(env: Env<unknown, unknown>): number[] {
  const u = env.unwrapped as unknown as { agentX?: unknown; agentY?: unknown };
  return typeof u.agentX === "number" && typeof u.agentY === "number" ? [u.agentX, u.agentY] : [];
}

/** M uniformly drawn n-subsets of 0..N−1 (each sorted; repeats allowed across draws). */
export function randomSubsets(N: number, n: number, M: number, rng: Rng): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < M; m++) out.push(Array.from(rng.permutation(N).subarray(0, n)).sort((a, b) => a - b));
  return out;
}
