import { getAlgorithm } from "../algos/index.js";
import { chunkSteps, OffPolicyAlgorithm, type OffPolicyChunk } from "../algos/off_policy.js";
import { ConfigError } from "../core/errors.js";
import { WireError, type WireArray, type WireMessage } from "./wire.js";

/**
 * The off-policy family of the Redis actor–learner (dqn, sac, td3, mdpo-off): iteration v's
 * iterationSteps transitions are `shards` chunks of iterationSteps / shards transitions; an
 * actor collects shard s of task v on its own numEnvs envs, acting with the newest weights
 * it may use, as if it were the learner at env step v·iterationSteps + s·(piece size) (random
 * warm-up and ε schedules follow that count). The learner stores the chunks of iteration v
 * in shard order and trains on the loop's schedule (OffPolicyAlgorithm.feed).
 */

/** The layout every chunk of a run has. */
export interface ChunkShape {
  steps: number;
  numEnvs: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
}

/** Header fields and arrays of a chunk (rewards as float32, as the replay buffer stores them). */
export function chunkPayload(c: OffPolicyChunk, shape: Omit<ChunkShape, "steps" | "numEnvs">): { header: Record<string, unknown>; arrays: Record<string, WireArray> } {
  return {
    header: { numSteps: c.steps, numEnvs: c.numEnvs, obsSize: shape.obsSize, actSize: shape.actSize, discrete: shape.discrete, episodes: c.episodes },
    arrays: {
      obs: c.obs,
      actions: c.actions,
      rewards: Float32Array.from(c.rewards),
      terminated: c.terminated,
      truncated: c.truncated,
      finalIndex: c.finalIndex,
      finalObs: c.finalObs,
    },
  };
}

/** A decoded chunk message checked against the run's layout (WireError otherwise). */
export function decodeChunk(msg: WireMessage, shape: ChunkShape): OffPolicyChunk {
  const h = msg.header;
  const want: Record<string, unknown> = { numSteps: shape.steps, numEnvs: shape.numEnvs, obsSize: shape.obsSize, actSize: shape.actSize, discrete: shape.discrete };
  for (const [key, v] of Object.entries(want)) if (h[key] !== v) throw new WireError(`chunk ${key} ${JSON.stringify(h[key])} is not the run's ${JSON.stringify(v)}`);
  const { steps, numEnvs: n, obsSize: o, actSize: a } = shape;
  const rows = steps * n;
  const need = <T extends WireArray>(name: string, Ctor: new (...args: never[]) => T, length: number | null): T => {
    const x = msg.arrays[name];
    if (!(x instanceof Ctor) || (length !== null && x.length !== length)) throw new WireError(`chunk array ${name} is missing or has the wrong type or length`);
    return x;
  };
  const finalIndex = need("finalIndex", Int32Array, null);
  for (let i = 0; i < finalIndex.length; i++) {
    if (finalIndex[i] < 0 || finalIndex[i] >= rows || (i > 0 && finalIndex[i] <= finalIndex[i - 1])) throw new WireError("chunk finalIndex is out of range or not increasing");
  }
  const episodes = h.episodes;
  if (!Array.isArray(episodes) || !episodes.every((e) => e && Number.isSafeInteger(e.at) && e.at >= 0 && e.at < steps && typeof e.return === "number" && typeof e.length === "number")) {
    throw new WireError("chunk episodes are not a list of {at, return, length}");
  }
  return {
    steps,
    numEnvs: n,
    obs: need("obs", Float32Array, (steps + 1) * n * o),
    actions: shape.discrete ? need("actions", Int32Array, rows) : need("actions", Float32Array, rows * a),
    rewards: Float64Array.from(need("rewards", Float32Array, rows)),
    terminated: need("terminated", Uint8Array, rows),
    truncated: need("truncated", Uint8Array, rows),
    finalIndex,
    finalObs: need("finalObs", Float32Array, finalIndex.length * o),
    episodes: episodes as OffPolicyChunk["episodes"],
  };
}

/** The learner's side: a chunk's layout, and an iteration's chunks stored (with training) before the trainer's iterate reports them. */
export function offPolicyLearnerSide(algo: OffPolicyAlgorithm, shards: number): { shape: ChunkShape; install(chunks: OffPolicyChunk[]): void } {
  const shape: ChunkShape = { steps: algo.stepsPerIteration / algo.vec.numEnvs / shards, numEnvs: algo.vec.numEnvs, obsSize: algo.vec.obsSize, actSize: algo.buffer.actSize, discrete: algo.buffer.discrete };
  return {
    shape,
    install(chunks) {
      algo.beginFedIteration();
      for (const c of chunks) for (const step of chunkSteps(c, shape.obsSize, shape.actSize)) algo.feed(step);
    },
  };
}

/** The actor's side: the run's algorithm on this actor's envs and seed, collecting chunk `shard` of task `version`. */
export async function offPolicyActorSide(algoName: string, config: Record<string, unknown>, shards: number, seed: number) {
  const numEnvs = config.numEnvs as number;
  const iterationSteps = config.iterationSteps as number;
  const built = await getAlgorithm(algoName).create({ ...config, seed, bufferSize: numEnvs, replayInCheckpoint: false });
  if (!(built instanceof OffPolicyAlgorithm) || !built.agent.setActingWeights) {
    built.dispose();
    throw new ConfigError(`${algoName} has no off-policy actor`, "use dqn, sac, td3 or mdpo-off");
  }
  const algo = built;
  const steps = iterationSteps / numEnvs / shards;
  return {
    setWeights: (w: Record<string, Float32Array>) => algo.agent.setActingWeights?.(w),
    collect: (task?: { version: number; shard: number }) => {
      if (!task) throw new Error("an off-policy actor collects for a task (version and shard)");
      const chunk = algo.collectChunk(steps, task.version * iterationSteps + task.shard * steps * numEnvs);
      return { ...chunkPayload(chunk, { obsSize: algo.vec.obsSize, actSize: algo.buffer.actSize, discrete: algo.buffer.discrete }), steps: steps * numEnvs };
    },
    dispose: () => algo.dispose(),
  };
}
