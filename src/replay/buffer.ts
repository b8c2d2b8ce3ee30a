import { ConfigError, describeValue, RefineryError } from "../core/errors.js";
import type { Rng } from "../core/rng.js";
import { writeMaskRow } from "../envs/action_mask.js";

export interface ReplayBufferOptions {
  /** Transitions the ring holds (rounded down to a multiple of numEnvs). */
  capacity: number;
  /** Rows per `add` (the vector env's numEnvs). */
  numEnvs: number;
  /** Floats per observation. */
  obsSize: number;
  /** Values per action: 1 for a Discrete index, the Box size for continuous actions. */
  actSize: number;
  /** Discrete actions are stored as Int32 indices, continuous ones as Float32 rows. */
  discrete: boolean;
  /** Discount γ; sampled batches carry γ^m per row. */
  gamma: number;
  /** Steps of the n-step return (default 1). */
  nStep?: number;
  /**
   * Action-mask entries per row (the Discrete action count) to store the mask of each row's
   * next observation, so targets can max over the allowed next actions; 0 (default): none.
   */
  maskWidth?: number;
}

/** One vector-env step as the buffer takes it (rows per env, as the vector env returns them). */
export interface ReplayStep {
  /** Observations the actions were chosen on (numEnvs × obsSize). */
  obs: Float32Array;
  /** Actions taken: numEnvs indices (Discrete) or numEnvs × actSize values (Box). */
  actions: ArrayLike<number>;
  rewards: ArrayLike<number>;
  /** The observations the vector env returned (for ended envs: the reset observation). */
  nextObs: Float32Array;
  terminated: ArrayLike<number>;
  truncated: ArrayLike<number>;
  /** The vector env's `info.finalObs`: the true last observation of envs whose episode ended. */
  finalObs?: readonly (Float32Array | null)[];
  /** With `maskWidth`: the action masks of the returned rows `nextObs` (numEnvs × maskWidth, 1 = allowed). */
  nextMasks?: Uint8Array;
  /**
   * With `maskWidth`: the mask of each ended env's true last observation (the vector env's
   * `info.finalInfo[i].action_mask`), else null; stored as `finalObs` is.
   */
  finalMasks?: readonly (ArrayLike<number | boolean> | null | undefined)[];
}

/** A sampled minibatch: `size` rows, row-major. */
export interface ReplayBatch {
  size: number;
  obs: Float32Array;
  /** Int32 indices (discrete) or size × actSize floats (continuous). */
  actions: Int32Array | Float32Array;
  /** One-step reward, or the discounted n-step sum. */
  rewards: Float32Array;
  /** The observation to bootstrap from (true final observation at a truncation). */
  nextObs: Float32Array;
  /** The action mask of `nextObs` (size × maskWidth, 1 = allowed); only in a buffer with maskWidth. */
  nextMasks?: Uint8Array;
  /** 1 where the bootstrap is masked: the episode terminated (never for truncation). */
  dones: Float32Array;
  /** γ^m, m = steps summed in `rewards` (γ for one-step). */
  discounts: Float32Array;
  /** Row each sample came from (slot·numEnvs + env). */
  indices: Int32Array;
}

/** What `saveState` returns: JSON-safe numbers plus float arrays (the checkpoint format). */
export interface ReplayBufferState {
  json: Record<string, unknown>;
  arrays: Record<string, Float32Array>;
}

const STATE_VERSION = 1;

/**
 * Replay buffer for off-policy learning: a ring of typed arrays.
 *
 * Layout: `slots` time slots × `numEnvs` rows; one vector-env step fills one slot (row
 * `slot·numEnvs + e` is env e's transition), so the next transition of the same env is the
 * next slot, which is what n-step returns walk along. The capacity is `slots·numEnvs`
 * transitions, `slots = floor(capacity / numEnvs)`; when full the oldest slot is
 * overwritten.
 *
 * Termination vs truncation: both flags are stored apart. A sampled batch carries
 * `dones` = terminated only, so a target `y = r + discount·(1 − done)·bootstrap(nextObs)`
 * masks the bootstrap at real terminal states and keeps it at time limits. For that,
 * `nextObs` of a row whose episode ended must be the episode's true last observation —
 * the vector env's `finalObs` — not the first observation of the next episode (which the
 * vector env returns in the same row after its same-step autoreset). `add` takes the
 * vector env's rows and its `finalObs` and stores the right one.
 *
 * n-step returns (`nStep` > 1), computed when sampling: from row (slot t, env e) the
 * rewards of the same env at t, t+1, … are summed with γ^k until n steps, the end of the
 * episode (terminated or truncated) or the newest slot, whichever comes first; the row
 * then bootstraps from the `nextObs` of the last step used, with `discount` = γ^m (m =
 * steps used) and `done` = its terminated flag. Walking forward from a stored slot never
 * reaches overwritten data (the newest slot comes first), so the ring wrap is safe. With
 * nStep = 1 this is the plain one-step transition with discount γ.
 *
 * Action masks (`maskWidth` > 0, DQN with action masking): each row also stores the mask of
 * its `nextObs`, chosen as `nextObs` is: the returned row's mask, or for a row whose episode
 * ended the mask of the true last observation (`finalMasks`, from the vector env's
 * `finalInfo`). A batch's `nextMasks` is the mask of the observation it bootstraps from (the
 * last step an n-step sum used), so a target can max over the allowed next actions only.
 *
 * Sampling is uniform with replacement over the stored rows, from the caller's seeded
 * generator. `saveState`/`loadState` round-trip the filled part exactly (checkpoints).
 */
export class ReplayBuffer {
  readonly numEnvs: number;
  readonly obsSize: number;
  readonly actSize: number;
  readonly discrete: boolean;
  readonly gamma: number;
  readonly nStep: number;
  /** Time slots (each holds numEnvs rows). */
  readonly slots: number;
  /** Transitions the buffer can hold: slots × numEnvs. */
  readonly capacity: number;
  /** Mask entries per row (0: no masks stored). */
  readonly maskWidth: number;
  private readonly obs: Float32Array;
  private readonly nextObs: Float32Array;
  /** The mask of each row's bootstrap observation (its `nextObs`), maskWidth per row. */
  private readonly nextMasks: Uint8Array;
  private readonly actions: Int32Array | Float32Array;
  private readonly rewards: Float32Array;
  private readonly terminated: Uint8Array;
  private readonly truncated: Uint8Array;
  /** Next slot to write. */
  private pos = 0;
  private full = false;

  constructor(options: ReplayBufferOptions) {
    const { capacity, numEnvs, obsSize, actSize, discrete, gamma } = options;
    const nStep = options.nStep ?? 1;
    const maskWidth = options.maskWidth ?? 0;
    positiveInt(numEnvs, "numEnvs", "pass the vector env's numEnvs");
    positiveInt(obsSize, "obsSize", "pass the observation's flat size");
    positiveInt(actSize, "actSize", "pass 1 for Discrete actions, the Box size otherwise");
    positiveInt(nStep, "nStep", "pass 1 for one-step transitions, e.g. 3 for 3-step returns");
    if (!Number.isSafeInteger(capacity) || capacity < numEnvs) {
      throw new ConfigError(
        `replay buffer capacity must be an integer of at least numEnvs (${numEnvs}), got ${describeValue(capacity)}`,
        "set bufferSize to e.g. 10000",
      );
    }
    if (!(gamma >= 0 && gamma <= 1)) throw new ConfigError(`replay buffer gamma must be in [0, 1], got ${describeValue(gamma)}`, "pass e.g. 0.99");
    if (!Number.isSafeInteger(maskWidth) || maskWidth < 0) throw new ConfigError(`replay buffer maskWidth must be an integer ≥ 0, got ${describeValue(maskWidth)}`, "pass the Discrete action count, or 0 for no masks");
    if (discrete && actSize !== 1) throw new ConfigError(`a discrete replay buffer stores one action index per row, got actSize ${actSize}`, "pass actSize 1 with discrete: true");
    this.numEnvs = numEnvs;
    this.obsSize = obsSize;
    this.actSize = actSize;
    this.discrete = discrete;
    this.gamma = gamma;
    this.nStep = nStep;
    this.maskWidth = maskWidth;
    this.slots = Math.floor(capacity / numEnvs);
    this.capacity = this.slots * numEnvs;
    const rows = this.capacity;
    this.obs = new Float32Array(rows * obsSize);
    this.nextObs = new Float32Array(rows * obsSize);
    this.actions = discrete ? new Int32Array(rows) : new Float32Array(rows * actSize);
    this.rewards = new Float32Array(rows);
    this.terminated = new Uint8Array(rows);
    this.truncated = new Uint8Array(rows);
    this.nextMasks = new Uint8Array(rows * maskWidth);
  }

  /** Bytes of the arrays of a buffer with these sizes (what it allocates; a checkpoint of a full buffer stores about as much). */
  static bytesFor(capacity: number, obsSize: number, actSize: number, maskWidth = 0): number {
    return capacity * (2 * 4 * obsSize + 4 * actSize + 4 + 2 + maskWidth);
  }

  /** Transitions stored. */
  get size(): number {
    return (this.full ? this.slots : this.pos) * this.numEnvs;
  }

  /** Vector steps stored (filled slots). */
  get filledSlots(): number {
    return this.full ? this.slots : this.pos;
  }

  /** Stores one vector-env step: numEnvs transitions in the next slot. */
  add(step: ReplayStep): void {
    const { numEnvs, obsSize, actSize } = this;
    const rowsObs = numEnvs * obsSize;
    if (step.obs.length !== rowsObs || step.nextObs.length !== rowsObs) {
      throw new ConfigError(
        `replay add: obs and nextObs need ${rowsObs} values (${numEnvs} envs × ${obsSize}), got ${step.obs.length} and ${step.nextObs.length}`,
        "pass the vector env's observation rows",
      );
    }
    if (step.actions.length !== numEnvs * actSize || step.rewards.length !== numEnvs || step.terminated.length !== numEnvs || step.truncated.length !== numEnvs) {
      throw new ConfigError(
        `replay add: needs ${numEnvs * actSize} action values and ${numEnvs} rewards and flags, got ${step.actions.length}, ${step.rewards.length}, ${step.terminated.length}, ${step.truncated.length}`,
        "pass one row per env of the vector step",
      );
    }
    const w = this.maskWidth;
    if (w > 0 && step.nextMasks?.length !== numEnvs * w) {
      throw new ConfigError(
        `replay add: this buffer stores action masks, so nextMasks needs ${numEnvs * w} values (${numEnvs} envs × ${w}), got ${describeValue(step.nextMasks)}`,
        "pass the masks of the returned rows (info.envInfos[i].action_mask) as nextMasks",
      );
    }
    const base = this.pos * numEnvs;
    this.obs.set(step.obs, base * obsSize);
    this.nextObs.set(step.nextObs, base * obsSize);
    if (w > 0) this.nextMasks.set(step.nextMasks as Uint8Array, base * w);
    for (let e = 0; e < numEnvs; e++) {
      const row = base + e;
      const term = step.terminated[e] ? 1 : 0;
      const trunc = step.truncated[e] ? 1 : 0;
      this.rewards[row] = step.rewards[e];
      this.terminated[row] = term;
      this.truncated[row] = trunc;
      if (term || trunc) {
        const fin = step.finalObs?.[e] ?? null;
        if (fin) {
          this.nextObs.set(fin.subarray(0, obsSize), row * obsSize);
        } else if (trunc && !term) {
          // Bootstrapping a truncation from the next episode's first observation is wrong, silently.
          throw new ConfigError(
            `replay add: env ${e} was truncated but no finalObs was given, so its true last observation is unknown`,
            "pass the vector env's info.finalObs as finalObs",
          );
        }
        if (w > 0) this.storeFinalMask(step.finalMasks?.[e], row, term === 1, e);
      }
    }
    for (let j = 0; j < numEnvs * actSize; j++) this.actions[base * actSize + j] = step.actions[j];
    this.pos++;
    if (this.pos === this.slots) {
      this.pos = 0;
      this.full = true;
    }
  }

  /**
   * The mask of an ended row's true last observation, in place of the next episode's first
   * (the row's `nextMasks` entry after the same-step autoreset). A terminated row never
   * bootstraps, so without a mask it stores "all allowed"; a truncated one needs its mask.
   */
  private storeFinalMask(mask: ArrayLike<number | boolean> | null | undefined, row: number, terminated: boolean, e: number): void {
    const w = this.maskWidth;
    if (terminated && (!mask || !Array.prototype.some.call(mask, Boolean))) {
      this.nextMasks.fill(1, row * w, (row + 1) * w);
      return;
    }
    if (!mask) {
      throw new ConfigError(
        `replay add: env ${e} was truncated but no final action mask was given, so the allowed actions of its last observation are unknown`,
        "pass the vector env's info.finalInfo[i].action_mask as finalMasks",
      );
    }
    writeMaskRow(mask, w, this.nextMasks, row * w, `replay add: env ${e}'s final observation`);
  }

  /** A batch of `batchSize` rows drawn uniformly with replacement; fills `out` when given (same size). */
  sample(batchSize: number, rng: Rng, out?: ReplayBatch): ReplayBatch {
    positiveInt(batchSize, "batchSize", "pass e.g. 128");
    const stored = this.size;
    if (stored === 0) throw new RefineryError("replay_empty", "cannot sample from an empty replay buffer", "add transitions before sampling (learningStarts)");
    const batch = out && out.size === batchSize ? out : this.allocateBatch(batchSize);
    for (let k = 0; k < batchSize; k++) this.gatherRow(rng.integer(0, stored), k, batch);
    return batch;
  }

  /** The rows at `indices` (each in [0, size)), as a batch; for tests and prioritised variants. */
  gather(indices: ArrayLike<number>): ReplayBatch {
    const batch = this.allocateBatch(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      if (!Number.isSafeInteger(i) || i < 0 || i >= this.size) {
        throw new ConfigError(`replay gather: index ${describeValue(i)} is outside the ${this.size} stored rows`, `pass indices in [0, ${this.size})`);
      }
      this.gatherRow(i, k, batch);
    }
    return batch;
  }

  allocateBatch(size: number): ReplayBatch {
    return {
      size,
      obs: new Float32Array(size * this.obsSize),
      actions: this.discrete ? new Int32Array(size) : new Float32Array(size * this.actSize),
      rewards: new Float32Array(size),
      nextObs: new Float32Array(size * this.obsSize),
      ...(this.maskWidth > 0 ? { nextMasks: new Uint8Array(size * this.maskWidth) } : {}),
      dones: new Float32Array(size),
      discounts: new Float32Array(size),
      indices: new Int32Array(size),
    };
  }

  /** Writes row `index` (slot·numEnvs + env) with its n-step return into position k of `batch`. */
  private gatherRow(index: number, k: number, batch: ReplayBatch): void {
    const { numEnvs, obsSize, actSize, gamma } = this;
    const env = index % numEnvs;
    let slot = (index - env) / numEnvs;
    const newest = (this.pos - 1 + this.slots) % this.slots;
    batch.indices[k] = index;
    batch.obs.set(this.obs.subarray(index * obsSize, (index + 1) * obsSize), k * obsSize);
    for (let j = 0; j < actSize; j++) batch.actions[k * actSize + j] = this.actions[index * actSize + j];
    let ret = 0;
    let discount = 1;
    let row: number;
    for (let m = 0; ; ) {
      row = slot * numEnvs + env;
      ret += discount * this.rewards[row];
      discount *= gamma;
      m++;
      if (this.terminated[row] || this.truncated[row] || m >= this.nStep || slot === newest) break;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    batch.rewards[k] = ret;
    batch.discounts[k] = discount;
    batch.dones[k] = this.terminated[row];
    batch.nextObs.set(this.nextObs.subarray(row * obsSize, (row + 1) * obsSize), k * obsSize);
    const w = this.maskWidth;
    if (w > 0) (batch.nextMasks as Uint8Array).set(this.nextMasks.subarray(row * w, (row + 1) * w), k * w);
  }

  /** Empties the buffer (the arrays stay allocated). */
  clear(): void {
    this.pos = 0;
    this.full = false;
  }

  /**
   * The stored part, for a checkpoint: sizes and the write position as JSON, the filled rows
   * as float arrays (actions and flags converted to floats; exact for indices below 2^24).
   */
  saveState(): ReplayBufferState {
    const rows = this.size;
    const toFloat = (a: ArrayLike<number>, n: number) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = a[i];
      return out;
    };
    return {
      json: {
        version: STATE_VERSION,
        slots: this.slots,
        numEnvs: this.numEnvs,
        obsSize: this.obsSize,
        actSize: this.actSize,
        discrete: this.discrete,
        pos: this.pos,
        full: this.full,
        maskWidth: this.maskWidth,
      },
      arrays: {
        obs: this.obs.slice(0, rows * this.obsSize),
        nextObs: this.nextObs.slice(0, rows * this.obsSize),
        actions: this.discrete ? toFloat(this.actions, rows) : (this.actions as Float32Array).slice(0, rows * this.actSize),
        rewards: this.rewards.slice(0, rows),
        terminated: toFloat(this.terminated, rows),
        truncated: toFloat(this.truncated, rows),
        ...(this.maskWidth > 0 ? { nextMasks: toFloat(this.nextMasks, rows * this.maskWidth) } : {}),
      },
    };
  }

  /**
   * Restores `saveState` output of a buffer with the same sizes. Masks are optional both
   * ways: a state saved without masks (an older checkpoint, or a run without masking) loads
   * into a masking buffer with every action allowed for the restored rows (their targets max
   * over all actions, as before masking, until they are overwritten); saved masks are
   * ignored by a buffer that stores none.
   */
  loadState(state: ReplayBufferState): void {
    const j = state.json;
    const same = j.slots === this.slots && j.numEnvs === this.numEnvs && j.obsSize === this.obsSize && j.actSize === this.actSize && j.discrete === this.discrete;
    if (j.version !== STATE_VERSION || !same) {
      throw new RefineryError(
        "checkpoint_mismatch",
        `saved replay buffer (${describeValue(j.slots)} slots × ${describeValue(j.numEnvs)} envs, obs ${describeValue(j.obsSize)}, actions ${describeValue(j.actSize)}) does not fit this one (${this.slots} × ${this.numEnvs}, obs ${this.obsSize}, actions ${this.actSize})`,
        "resume with the config the run was written with (bufferSize, numEnvs, env)",
      );
    }
    const pos = j.pos as number;
    const full = j.full as boolean;
    const rows = (full ? this.slots : pos) * this.numEnvs;
    const a = state.arrays;
    const need: [string, number][] = [["obs", rows * this.obsSize], ["nextObs", rows * this.obsSize], ["actions", rows * this.actSize], ["rewards", rows], ["terminated", rows], ["truncated", rows]];
    const w = this.maskWidth;
    const savedWidth = j.maskWidth ?? 0;
    const withMasks = w > 0 && a.nextMasks !== undefined;
    if (withMasks) {
      if (savedWidth !== w) {
        throw new RefineryError("checkpoint_mismatch", `saved replay buffer masks have ${describeValue(savedWidth)} entries per row, this buffer ${w}`, "resume with the env the run was written with");
      }
      need.push(["nextMasks", rows * w]);
    }
    for (const [name, len] of need) {
      if (!(a[name] instanceof Float32Array) || a[name].length !== len) {
        throw new RefineryError("checkpoint_mismatch", `saved replay buffer array ${name} should hold ${len} values, got ${describeValue(a[name])}`, "resume from an intact checkpoint");
      }
    }
    this.obs.set(a.obs);
    this.nextObs.set(a.nextObs);
    for (let i = 0; i < a.actions.length; i++) this.actions[i] = a.actions[i];
    this.rewards.set(a.rewards);
    for (let i = 0; i < rows; i++) {
      this.terminated[i] = a.terminated[i];
      this.truncated[i] = a.truncated[i];
    }
    if (withMasks) for (let i = 0; i < rows * w; i++) this.nextMasks[i] = a.nextMasks[i];
    else this.nextMasks.fill(1, 0, rows * w);
    this.pos = pos;
    this.full = full;
  }
}

function positiveInt(x: number, name: string, fix: string): void {
  if (!Number.isSafeInteger(x) || x < 1) throw new ConfigError(`replay buffer ${name} must be a positive integer, got ${describeValue(x)}`, fix);
}
