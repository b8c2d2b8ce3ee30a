import type { RolloutBatch } from "../rollout/step_collector.js";
import { encodeMessage, WireError, type WireMessage } from "./wire.js";

/**
 * One iteration's rollout of numEnvs × numSteps is collected as `shards` pieces of
 * numEnvs / shards envs each, by whichever actors take them; the learner puts them back
 * side by side (env axis) in shard order. Batches are time-major (`t * numEnvs + e`).
 */

/** What a shard message says about itself besides its arrays. */
export interface ShardHeader {
  kind: "shard";
  run: string;
  session: string;
  version: number;
  shard: number;
  actor: string;
}

export function encodeShard(head: ShardHeader, b: RolloutBatch): Buffer {
  return encodeMessage(
    { ...head, numSteps: b.numSteps, numEnvs: b.numEnvs, obsSize: b.obsSize, actSize: b.actSize, discrete: b.discrete, episodes: b.episodes },
    {
      obs: b.obs, actions: b.actions, logProbs: b.logProbs, values: b.values, rewards: b.rewards, dones: b.dones, lastValues: b.lastValues,
      ...(b.actionMasks ? { actionMasks: b.actionMasks } : {}),
    },
  );
}

/** The expected layout of every shard of a run. */
export interface ShardShape {
  numSteps: number;
  numEnvs: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
}

/** The batch of a decoded shard message, checked against the run's layout (WireError otherwise). */
export function shardBatch(msg: WireMessage, shape: ShardShape): RolloutBatch {
  const h = msg.header;
  for (const key of ["numSteps", "numEnvs", "obsSize", "actSize", "discrete"] as const) {
    if (h[key] !== shape[key]) throw new WireError(`shard ${key} ${JSON.stringify(h[key])} is not the run's ${JSON.stringify(shape[key])}`);
  }
  const n = shape.numSteps * shape.numEnvs;
  const a = msg.arrays;
  const need = (name: string, Ctor: abstract new (...args: never[]) => unknown, length: number) => {
    const x = a[name];
    if (!(x instanceof Ctor) || x.length !== length) throw new WireError(`shard array ${name} is missing or has the wrong type or length`);
    return x;
  };
  const episodes = h.episodes;
  if (!Array.isArray(episodes) || !episodes.every((e) => e && typeof e.return === "number" && typeof e.length === "number")) {
    throw new WireError("shard episodes are not a list of {return, length}");
  }
  const masks = a.actionMasks;
  if (masks !== undefined && (!(masks instanceof Uint8Array) || masks.length % n !== 0)) throw new WireError("shard array actionMasks has the wrong type or length");
  return {
    ...shape,
    ...(masks ? { actionMasks: masks as Uint8Array } : {}),
    obs: need("obs", Float32Array, n * shape.obsSize) as Float32Array,
    actions: (shape.discrete ? need("actions", Int32Array, n) : need("actions", Float32Array, n * shape.actSize)) as Int32Array | Float32Array,
    logProbs: need("logProbs", Float32Array, n) as Float32Array,
    values: need("values", Float32Array, n) as Float32Array,
    rewards: need("rewards", Float32Array, n) as Float32Array,
    dones: need("dones", Uint8Array, n) as Uint8Array,
    lastValues: need("lastValues", Float32Array, shape.numEnvs) as Float32Array,
    episodes: episodes as { return: number; length: number }[],
  };
}

/** Shards (same numSteps and layout) side by side: env e of shard k becomes env k·m + e. */
export function mergeShards(shards: RolloutBatch[]): RolloutBatch {
  const first = shards[0];
  const { numSteps, obsSize, actSize, discrete } = first;
  const m = first.numEnvs;
  const numEnvs = m * shards.length;
  const n = numSteps * numEnvs;
  const out: RolloutBatch = {
    numSteps, numEnvs, obsSize, actSize, discrete,
    obs: new Float32Array(n * obsSize),
    actions: discrete ? new Int32Array(n) : new Float32Array(n * actSize),
    logProbs: new Float32Array(n),
    values: new Float32Array(n),
    rewards: new Float32Array(n),
    dones: new Uint8Array(n),
    lastValues: new Float32Array(numEnvs),
    episodes: shards.flatMap((s) => s.episodes),
  };
  // Action masks (numActions per step) travel when every shard has them.
  const w = shards.every((s) => s.actionMasks) ? (first.actionMasks as Uint8Array).length / (numSteps * m) : 0;
  if (w > 0) out.actionMasks = new Uint8Array(n * w);
  shards.forEach((s, k) => {
    for (let t = 0; t < numSteps; t++) {
      const src = t * m;
      const dst = t * numEnvs + k * m;
      out.obs.set(s.obs.subarray(src * obsSize, (src + m) * obsSize), dst * obsSize);
      out.actions.set(s.actions.subarray(src * actSize, (src + m) * actSize), dst * actSize);
      out.logProbs.set(s.logProbs.subarray(src, src + m), dst);
      out.values.set(s.values.subarray(src, src + m), dst);
      out.rewards.set(s.rewards.subarray(src, src + m), dst);
      out.dones.set(s.dones.subarray(src, src + m), dst);
      if (out.actionMasks && s.actionMasks) out.actionMasks.set(s.actionMasks.subarray(src * w, (src + m) * w), dst * w);
    }
    out.lastValues.set(s.lastValues, k * m);
  });
  return out;
}
