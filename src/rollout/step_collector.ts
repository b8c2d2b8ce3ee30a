import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { resolveActionMasking, writeMaskRow, type ActionMaskingMode } from "../envs/action_mask.js";
import type { Info } from "../envs/env.js";
import type { VectorEnv } from "../envs/vector.js";
import type { ActBuffers, ActorCritic } from "../policies/actor_critic.js";

/**
 * A rollout in flat typed arrays, time-major: index `t * numEnvs + e` is step t of env e
 * (observations and actions have `obsSize` / `actSize` values per index). Holds only
 * typed arrays and numbers, so it can cross threads and processes.
 */
export interface RolloutBatch {
  numSteps: number;
  numEnvs: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  logProbs: Float32Array;
  values: Float32Array;
  /** Rewards, with γ·V(final obs) already added on truncated steps (see `gae`). */
  rewards: Float32Array;
  /** 1 where the episode ended at this step (terminated or truncated). */
  dones: Uint8Array;
  /** V of the observation following the last step, per env (the GAE bootstrap). */
  lastValues: Float32Array;
  /** Episodes that finished during this rollout: raw return and length (RecordEpisodeStatistics). */
  episodes: { return: number; length: number }[];
  /**
   * With action masking: the mask each action was chosen under, `numActions` flags per index
   * (1 = allowed), so the update scores the actions under the masks seen at collection.
   */
  actionMasks?: Uint8Array;
}

/**
 * Collects `numSteps` steps from every env of a vector env with an actor-critic policy —
 * PPO's rollout phase. It keeps the current observation between calls, so consecutive
 * rollouts continue the same episodes.
 *
 * Truncation vs termination: on a truncated (not terminated) step the collector adds
 * γ·V(final observation) to the reward, so GAE (which stops at every episode end)
 * bootstraps time-limited episodes from their true last state and terminal ones from 0.
 * With `bootstrapTruncated: false` it treats truncation as termination, as CleanRL does.
 *
 * gSDE policies: the collector owns the exploration noise, as SB3's PPO does. It draws one
 * exploration matrix per env at the start of every rollout and, when `sdeSampleFreq` > 0,
 * again every `sdeSampleFreq` steps of the rollout (SB3 counts the steps from the rollout's
 * start too); −1 keeps one draw for the whole rollout.
 */
export class StepCollector {
  readonly numEnvs: number;
  readonly obsSize: number;
  private obs: Float32Array | null = null;
  private readonly act: ActBuffers;
  private readonly finalValue = new Float32Array(1);
  /** The action mask of each env's current observation (numEnvs × numActions), when masking. */
  private masks: Uint8Array | null = null;
  /** Whether actions are masked; decided by `reset` from `actionMasking` and the env's reset infos. */
  masking = false;
  /** Per-env mask width (the Discrete action count), 0 for other action spaces. */
  readonly numActions: number;

  constructor(
    readonly vec: VectorEnv,
    readonly policy: ActorCritic,
    readonly numSteps: number,
    readonly gamma: number,
    readonly bootstrapTruncated = true,
    readonly sdeSampleFreq = -1,
    readonly actionMasking: ActionMaskingMode = "auto",
  ) {
    if (!Number.isSafeInteger(sdeSampleFreq) || (sdeSampleFreq < 1 && sdeSampleFreq !== -1)) {
      throw new ConfigError(
        `sdeSampleFreq must be −1 or a positive integer, got ${describeValue(sdeSampleFreq)}`,
        "pass −1 (new gSDE noise once per rollout) or N > 0 (every N steps)",
      );
    }
    this.numEnvs = vec.numEnvs;
    this.obsSize = vec.obsSize;
    this.act = policy.buffers(this.numEnvs);
    const space = vec.singleActionSpace as { n?: number };
    this.numActions = policy.discrete && typeof space.n === "number" ? space.n : 0;
  }

  /**
   * Starts the first episodes (seed s gives env i the seed s + i). Also decides whether
   * actions are masked: `actionMasking` "auto" masks when env 0's reset info has an
   * `action_mask`; "on" without one is an error.
   */
  reset(seed?: number): void {
    const [obs, info] = this.vec.reset(seed === undefined ? {} : { seed });
    this.obs = obs;
    const provides = info.envInfos[0]?.action_mask !== undefined && info.envInfos[0]?.action_mask !== null;
    this.masking = resolveActionMasking(this.actionMasking, provides, String(this.vec), this.policy.discrete);
    this.masks = this.masking ? this.readMasks(info.envInfos) : null;
  }

  /** The masks of the rows of a reset or step (its infos carry the current rows' masks). */
  private readMasks(infos: Info[], out: Uint8Array = new Uint8Array(this.numEnvs * this.numActions)): Uint8Array {
    for (let e = 0; e < this.numEnvs; e++) writeMaskRow(infos[e]?.action_mask as ArrayLike<number> | undefined, this.numActions, out, e * this.numActions, `${String(this.vec)} env ${e}`);
    return out;
  }

  /** The action masks of the current observations (null without masking); for checkpoints. */
  get currentMasks(): Uint8Array | null {
    return this.masks;
  }

  /** Restores `currentMasks`; null while masking means "all allowed" until the next step's infos. */
  set currentMasks(masks: Uint8Array | null) {
    this.masks = this.masking ? (masks ? Uint8Array.from(masks) : new Uint8Array(this.numEnvs * this.numActions).fill(1)) : null;
  }

  /** The current observations (row per env); for checkpoints. */
  get currentObs(): Float32Array | null {
    return this.obs;
  }

  set currentObs(obs: Float32Array | null) {
    this.obs = obs ? Float32Array.from(obs) : null;
  }

  /**
   * One rollout. `rng` draws the actions of Categorical and Gaussian policies; `noiseRng`
   * (default: `rng`) draws the exploration matrices of a gSDE policy.
   */
  /** Called after every vector step with the step's rows (see RolloutHooks.onStep). */
  onStep: ((step: { obs: Float32Array; rewards: Float64Array; terminated: Uint8Array; truncated: Uint8Array }) => void) | null = null;

  collect(rng: Rng, noiseRng: Rng = rng): RolloutBatch {
    if (!this.obs) this.reset();
    const { numSteps, numEnvs, obsSize, policy, act } = this;
    const actSize = policy.actSize;
    const n = numSteps * numEnvs;
    const batch: RolloutBatch = {
      numSteps,
      numEnvs,
      obsSize,
      actSize,
      discrete: policy.discrete,
      obs: new Float32Array(n * obsSize),
      actions: policy.discrete ? new Int32Array(n) : new Float32Array(n * actSize),
      logProbs: new Float32Array(n),
      values: new Float32Array(n),
      rewards: new Float32Array(n),
      dones: new Uint8Array(n),
      lastValues: new Float32Array(numEnvs),
      episodes: [],
    };
    const masking = this.masking;
    const nA = this.numActions;
    if (masking) {
      batch.actionMasks = new Uint8Array(n * nA);
      if (!this.masks) this.currentMasks = null;
    }
    let obs = this.obs as Float32Array;
    const gsde = policy.gsde;
    const freq = this.sdeSampleFreq;
    for (let t = 0; t < numSteps; t++) {
      const row = t * numEnvs;
      if (gsde && (t === 0 || (freq > 0 && t % freq === 0))) gsde.resampleNoise(noiseRng, numEnvs);
      batch.obs.set(obs, row * obsSize);
      const masks = masking ? (this.masks as Uint8Array) : null;
      if (masks) batch.actionMasks?.set(masks, row * nA);
      policy.act(obs, numEnvs, rng, act, false, true, masks);
      batch.actions.set(act.actions, row * actSize);
      batch.logProbs.set(act.logProbs, row);
      batch.values.set(act.values, row);
      const [next, rewards, terminated, truncated, info] = this.vec.step(act.actions);
      this.onStep?.({ obs: next, rewards, terminated, truncated });
      if (masks) this.readMasks(info.envInfos, masks);
      for (let e = 0; e < numEnvs; e++) {
        let r = rewards[e];
        if (terminated[e] || truncated[e]) {
          batch.dones[row + e] = 1;
          const fin = info.finalObs[e];
          if (truncated[e] && !terminated[e] && this.bootstrapTruncated && fin) {
            r += this.gamma * policy.values(fin, 1, this.finalValue)[0];
          }
          const ep = info.episode[e];
          if (ep) batch.episodes.push({ return: ep.r, length: ep.l });
        }
        batch.rewards[row + e] = r;
      }
      obs = next;
    }
    this.obs = obs;
    policy.values(obs, numEnvs, batch.lastValues);
    return batch;
  }
}
