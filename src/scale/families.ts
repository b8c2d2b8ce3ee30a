import { GroupPolicyOptimizer } from "../algos/group_engine.js";
import { getAlgorithm, isTextConfig } from "../algos/index.js";
import { PPO } from "../algos/ppo.js";
import type { PPOConfig } from "../algos/ppo_config.js";
import { TextGroupOptimizer } from "../algos/text_engine.js";
import type { Algorithm } from "../algos/types.js";
import { ConfigError } from "../core/errors.js";
import { isAgentTask } from "../envs/text/agent/task.js";
import type { RolloutBatch } from "../rollout/step_collector.js";
import { decodeGroupBatch, decodeTextPiece, groupPayload, mergeGroupBatches, mergeTextPieces, textPayload, type GroupShape, type TextPiece } from "./group_shards.js";
import { mergeShards, shardBatch, type ShardShape } from "./shards.js";
import { decodeChunk, offPolicyActorSide, offPolicyLearnerSide } from "./offpolicy_wire.js";
import { WireError, type WireArray, type WireMessage } from "./wire.js";
import { OffPolicyAlgorithm, type OffPolicyChunk } from "../algos/off_policy.js";
import type { GroupBatch } from "../rollout/group_collector.js";

/**
 * What a remote actor collects for each algorithm family, and how the learner puts the
 * pieces of an iteration together:
 * - `step` (ppo): numEnvs × numSteps steps, split over envs (numEnvs / shards each);
 * - `group` (grpo, rloo, reinforce, epo on envs): numStarts × groupSize episodes from env
 *   snapshots, split over start states (numStarts / shards groups each);
 * - `text` (grpo, rloo, reinforce, epo, igrpo on a text task): numPrompts × groupSize
 *   completions, split over prompts (numPrompts / shards prompts each);
 * - `offpolicy` (dqn, sac, td3, mdpo-off): iterationSteps transitions, split into chunks of
 *   iterationSteps / shards transitions, each from one actor's own numEnvs envs.
 */
export type RemoteFamily = "step" | "group" | "text" | "offpolicy";

/** Off-policy algorithms: actors send chunks of transitions for the learner's replay buffer (src/scale/offpolicy_wire.ts). */
const OFF_POLICY_ALGOS = ["dqn", "sac", "td3", "mdpo-off"];

const GROUP_ALGOS = ["grpo", "rloo", "reinforce", "epo"];
const TEXT_ALGOS = [...GROUP_ALGOS, "igrpo"];

/** The config key an iteration is split along. */
export function splitKey(family: RemoteFamily): "numEnvs" | "numStarts" | "numPrompts" | "iterationSteps" {
  return family === "step" ? "numEnvs" : family === "group" ? "numStarts" : family === "text" ? "numPrompts" : "iterationSteps";
}

/** Pieces per iteration when --shards is not given: one per env, start state or prompt; one chunk per iteration for off-policy runs. */
export function defaultShards(family: RemoteFamily, config: Record<string, unknown>): number {
  return family === "offpolicy" ? 1 : (config[splitKey(family)] as number);
}

/** The family of a run, or a ConfigError naming what runs remotely. */
export function remoteFamily(algo: string, config: Record<string, unknown>, what: string): RemoteFamily {
  if (isTextConfig(config)) {
    if (TEXT_ALGOS.includes(algo) && !isAgentTask(config.task)) return "text";
    const why = isAgentTask(config.task) ? `multi-turn tasks (${String(config.task)}) do not run with ${what} yet` : `${what} does not run ${algo} on text tasks`;
    throw new ConfigError(why, `train it with refinery train, or use one of ${TEXT_ALGOS.join(", ")} on a single-turn task`);
  }
  if (algo === "ppo") return "step";
  if (GROUP_ALGOS.includes(algo)) return "group";
  if (OFF_POLICY_ALGOS.includes(algo)) return "offpolicy";
  throw new ConfigError(`${what} trains ppo, ${GROUP_ALGOS.join(", ")}, ${OFF_POLICY_ALGOS.join(", ")} (envs) and ${TEXT_ALGOS.join(", ")} (text tasks), got --algo ${algo}`, `train ${algo} with refinery train`);
}

/** A piece of an iteration as the learner holds it until the iteration is complete. */
export type Piece = RolloutBatch | GroupBatch | TextPiece | OffPolicyChunk;

/** The learner's side of a family: check a piece against the run's layout, put an iteration together. */
export interface LearnerFamily {
  decode(msg: WireMessage): Piece;
  /** Env steps (tokens for text) of a piece. */
  steps(piece: Piece): number;
  /** The pieces of one iteration, in shard order, become the algorithm's next batch. */
  install(pieces: Piece[]): void;
  weights(): Record<string, Float32Array>;
}

export function learnerFamily(family: RemoteFamily, algo: Algorithm, config: Record<string, unknown>, shards: number): LearnerFamily {
  if (family === "offpolicy") {
    if (!(algo instanceof OffPolicyAlgorithm)) throw new ConfigError(`an off-policy run needs an off-policy algorithm, got ${algo.name}`, `use one of ${OFF_POLICY_ALGOS.join(", ")}`);
    const side = offPolicyLearnerSide(algo, shards);
    return {
      decode: (msg) => decodeChunk(msg, side.shape),
      steps: (p) => (p as OffPolicyChunk).steps * (p as OffPolicyChunk).numEnvs,
      install: (pieces) => side.install(pieces as OffPolicyChunk[]),
      weights: () => algo.agent.exportPolicy().weights,
    };
  }
  if (family === "step") {
    if (!(algo instanceof PPO)) throw new ConfigError(`a step-collector run needs ppo, got ${algo.name}`, "use --algo ppo");
    const c = algo.config;
    const shape: ShardShape = { numSteps: c.numSteps, numEnvs: c.numEnvs / shards, obsSize: algo.vec.obsSize, actSize: algo.policy.actSize, discrete: algo.policy.discrete };
    return {
      decode: (msg) => shardBatch(msg, shape),
      steps: (p) => (p as RolloutBatch).numSteps * (p as RolloutBatch).numEnvs,
      install: (pieces) => oneShot((b) => algo.setBatchSource(b), mergeShards(pieces as RolloutBatch[])),
      weights: () => algo.policy.getWeights(),
    };
  }
  if (family === "group") {
    if (!(algo instanceof GroupPolicyOptimizer)) throw new ConfigError(`a group run needs a group algorithm, got ${algo.name}`, `use one of ${GROUP_ALGOS.join(", ")}`);
    const shape: GroupShape = {
      numGroups: (config.numStarts as number) / shards,
      groupSize: config.groupSize as number,
      obsSize: algo.policy.obsSize,
      actSize: algo.policy.actSize,
      discrete: algo.policy.discrete,
      values: algo.recipe.critic !== null,
    };
    return {
      decode: (msg) => decodeGroupBatch(msg, shape),
      steps: (p) => (p as GroupBatch).numSteps,
      install: (pieces) => oneShot((b) => algo.setBatchSource(b), mergeGroupBatches(pieces as GroupBatch[])),
      weights: () => algo.policy.getWeights(),
    };
  }
  if (!(algo instanceof TextGroupOptimizer)) throw new ConfigError(`a text run needs a text group algorithm, got ${algo.name}`, `use one of ${TEXT_ALGOS.join(", ")}`);
  const shape: GroupShape = { numGroups: (config.numPrompts as number) / shards, groupSize: config.groupSize as number, obsSize: 0, actSize: 1, discrete: true, values: false };
  return {
    decode: (msg) => decodeTextPiece(msg, shape),
    steps: (p) => (p as TextPiece).batch.batch.numSteps,
    install: (pieces) => oneShot((b) => algo.setBatchSource(b), mergeTextPieces(pieces as TextPiece[])),
    weights: () => algo.policy.getWeights(),
  };
}

/** The source serves one batch (one iteration), then the algorithm collects on its own again. */
function oneShot<B>(set: (source: (() => B) | null) => void, batch: B): void {
  set(() => {
    set(null);
    return batch;
  });
}

/** An actor's algorithm: load weights, collect one piece (header fields and arrays for the wire). */
export interface ActorAlgo {
  setWeights(w: Record<string, Float32Array>): void;
  /** Collects the piece of a task (off-policy actors need it: they act as the learner would at that task's env step). */
  collect(task?: { version: number; shard: number }): { header: Record<string, unknown>; arrays: Record<string, WireArray>; steps: number };
  dispose(): void;
}

/**
 * The run's algorithm on an actor: the learner's config with the actor's share of the
 * iteration (numEnvs, numStarts or numPrompts divided by shards) and its own seed. Actors
 * never update, so their minibatch count is set to 1 (a share may hold fewer episodes than
 * the learner's numMinibatches, which the start-up checks would refuse).
 */
export async function buildActorAlgo(algoName: string, family: RemoteFamily, config: Record<string, unknown>, shards: number, seed: number): Promise<ActorAlgo> {
  if (family === "offpolicy") return offPolicyActorSide(algoName, config, shards, seed);
  const key = splitKey(family);
  const share: Record<string, unknown> = { ...config, [key]: (config[key] as number) / shards, seed };
  if (family === "step") {
    const algo = await PPO.create(share as PPOConfig);
    return {
      setWeights: (w) => {
        algo.policy.setWeights(w);
        algo.policy.syncFastWeights();
      },
      collect: () => {
        const b = algo.collectRollout();
        return { ...stepPayload(b), steps: b.numSteps * b.numEnvs };
      },
      dispose: () => algo.dispose(),
    };
  }
  if ("numMinibatches" in share) share.numMinibatches = 1;
  const algo = await getAlgorithm(algoName, family === "text", config.task).create(share);
  if (family === "group") {
    if (!(algo instanceof GroupPolicyOptimizer)) throw new WireError(`run algorithm ${algoName} is not a group algorithm`);
    return {
      setWeights: (w) => {
        algo.policy.setWeights(w);
        algo.policy.syncFastWeights();
      },
      collect: () => {
        const b = algo.collectBatch();
        return { ...groupPayload(b), steps: b.numSteps };
      },
      dispose: () => algo.dispose(),
    };
  }
  if (!(algo instanceof TextGroupOptimizer)) throw new WireError(`run algorithm ${algoName} is not a text group algorithm`);
  return {
    setWeights: (w) => algo.policy.setWeights(w),
    collect: () => {
      const p = algo.sampleBatch();
      return { ...textPayload(p), steps: p.batch.batch.numSteps };
    },
    dispose: () => algo.dispose(),
  };
}

function stepPayload(b: RolloutBatch): { header: Record<string, unknown>; arrays: Record<string, WireArray> } {
  return {
    header: { numSteps: b.numSteps, numEnvs: b.numEnvs, obsSize: b.obsSize, actSize: b.actSize, discrete: b.discrete, episodes: b.episodes },
    arrays: {
      obs: b.obs, actions: b.actions, logProbs: b.logProbs, values: b.values, rewards: b.rewards, dones: b.dones, lastValues: b.lastValues,
      // The masks the actions were chosen under, so the update scores them under the same masks.
      ...(b.actionMasks ? { actionMasks: b.actionMasks } : {}),
    },
  };
}
