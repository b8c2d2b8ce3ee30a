import type { Rng } from "../core/rng.js";
import type { SyncVectorEnv } from "../envs/vector.js";
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
 */
export class StepCollector {
  readonly numEnvs: number;
  readonly obsSize: number;
  private obs: Float32Array | null = null;
  private readonly act: ActBuffers;
  private readonly finalValue = new Float32Array(1);

  constructor(
    readonly vec: SyncVectorEnv,
    readonly policy: ActorCritic,
    readonly numSteps: number,
    readonly gamma: number,
    readonly bootstrapTruncated = true,
  ) {
    this.numEnvs = vec.numEnvs;
    this.obsSize = vec.obsSize;
    this.act = policy.buffers(this.numEnvs);
  }

  /** Starts the first episodes (seed s gives env i the seed s + i). */
  reset(seed?: number): void {
    this.obs = this.vec.reset(seed === undefined ? {} : { seed })[0];
  }

  /** The current observations (row per env); for checkpoints. */
  get currentObs(): Float32Array | null {
    return this.obs;
  }

  set currentObs(obs: Float32Array | null) {
    this.obs = obs ? Float32Array.from(obs) : null;
  }

  collect(rng: Rng): RolloutBatch {
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
    let obs = this.obs as Float32Array;
    for (let t = 0; t < numSteps; t++) {
      const row = t * numEnvs;
      batch.obs.set(obs, row * obsSize);
      policy.act(obs, numEnvs, rng, act);
      batch.actions.set(act.actions, row * actSize);
      batch.logProbs.set(act.logProbs, row);
      batch.values.set(act.values, row);
      const [next, rewards, terminated, truncated, info] = this.vec.step(act.actions);
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
