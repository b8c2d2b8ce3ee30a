/**
 * What the continuous off-policy agents (sac, td3, mdpo-off) share: the Box check, named
 * weights for checkpoints and exports, the schema entries of their networks, and the saved
 * policy spec that `loadPolicy` rebuilds an actor from.
 */
import { z } from "zod";
import { ConfigError, describeValue } from "../core/errors.js";
import { Box, spaceFromJSON, type SpaceJSON } from "../core/spaces.js";
import type { MLP } from "../nn/mlp.js";
import { DeterministicActor } from "../policies/deterministic_actor.js";
import { SquashedGaussianActor, type LogStdBounds } from "../policies/squashed_gaussian.js";
import { Rng } from "../core/rng.js";
import type { NamedArrays } from "./state.js";
import type { AgentSetup } from "./off_policy.js";

/** The bounded Box an actor squashes into, or a one-line error naming the algorithm. */
export function boundedBox(setup: AgentSetup, algo: string): Box {
  const space = setup.actionSpace;
  if (!(space instanceof Box) || !space.isBounded()) {
    throw new ConfigError(`${algo} needs a bounded Box action space, got ${String(space)}`, "use a continuous-action env such as Pendulum-v1 or MountainCarContinuous-v0 (dqn for Discrete actions)");
  }
  return space;
}

/** A network's parameters by their stable names. */
export function namedWeights(net: MLP): NamedArrays {
  const w = net.getWeights();
  return Object.fromEntries(net.paramNames.map((name, i) => [name, w[i]]));
}

/** Sets a network's parameters from `namedWeights` output; a missing array is a checkpoint mismatch. */
export function setNamedWeights(net: MLP, arrays: NamedArrays): void {
  net.setWeights(
    net.paramNames.map((name) => {
      const a = arrays[name];
      if (!a) throw new ConfigError(`the checkpoint has no array ${name}`, "resume with the config the run was started with (same algorithm and network sizes)", "checkpoint_mismatch");
      return a;
    }),
  );
}

/** Schema entries of the squashed Gaussian actor (SAC, mdpo-off). */
export const squashedActorShape = {
  logStdBounds: z.enum(["tanh", "clip"]).describe("how the actor's log σ is kept in [logStdMin, logStdMax]: tanh rescaling (CleanRL) or clipping (SB3)"),
  logStdMin: z.number().describe("lower bound of the actor's log σ"),
  logStdMax: z.number().describe("upper bound of the actor's log σ"),
  scaleInCorrection: z
    .boolean()
    .describe("include the action scale in the tanh correction of log π, log(scale·(1 − tanh²u)) (CleanRL), or not (SB3: log π of the action in [−1, 1])"),
};

/** What a saved squashed-Gaussian or deterministic actor needs besides its weights. */
export interface ContinuousActorSpec {
  kind: "squashed-gaussian" | "deterministic-actor";
  observationSpace: SpaceJSON;
  actionSpace: SpaceJSON;
  hidden: number[];
  logStdBounds?: LogStdBounds;
  logStdMin?: number;
  logStdMax?: number;
  scaleInCorrection?: boolean;
  /** Deterministic actor: the exploration noise of stochastic acting (fraction of the half-range). */
  explorationNoise?: number;
}

export function squashedSpec(setup: AgentSetup, actor: SquashedGaussianActor, hidden: readonly number[]): ContinuousActorSpec {
  return {
    kind: "squashed-gaussian",
    observationSpace: setup.observationSpace.toJSON(),
    actionSpace: setup.actionSpace.toJSON(),
    hidden: [...hidden],
    logStdBounds: actor.logStdBounds,
    logStdMin: actor.logStdMin,
    logStdMax: actor.logStdMax,
    scaleInCorrection: actor.scaleInCorrection,
  };
}

/** Rebuilds a saved actor (no trainer): `act(obs, deterministic)` for one observation. */
export function continuousActorFromSpec(spec: ContinuousActorSpec, obsSize: number, weights: NamedArrays, seed: number): { act(obs: Float32Array, deterministic: boolean): Float32Array; dispose(): void } {
  const box = spaceFromJSON(spec.actionSpace);
  if (!(box instanceof Box) || !box.isBounded()) {
    throw new ConfigError(`a saved ${spec.kind} policy needs a bounded Box action space, its spec has ${describeValue(spec.actionSpace)}`, "load a policy saved by sac, td3 or mdpo-off");
  }
  const rng = new Rng(seed);
  if (spec.kind === "squashed-gaussian") {
    const actor = new SquashedGaussianActor({
      obsSize,
      low: box.low,
      high: box.high,
      hidden: spec.hidden,
      rng: new Rng(0),
      logStdBounds: spec.logStdBounds,
      logStdMin: spec.logStdMin,
      logStdMax: spec.logStdMax,
      scaleInCorrection: spec.scaleInCorrection,
    });
    setNamedWeights(actor.net, weights);
    const out = new Float32Array(actor.actSize);
    return { act: (obs, det) => Float32Array.from(actor.act(obs, 1, det ? null : rng, out)), dispose: () => actor.dispose() };
  }
  const actor = new DeterministicActor({ obsSize, low: box.low, high: box.high, hidden: spec.hidden, rng: new Rng(0) });
  setNamedWeights(actor.net, weights);
  const out = new Float32Array(actor.actSize);
  const noise = spec.explorationNoise ?? 0.1;
  return { act: (obs, det) => Float32Array.from(actor.act(obs, 1, det ? null : rng, noise, out)), dispose: () => actor.dispose() };
}
