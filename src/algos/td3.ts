/**
 * TD3 — Twin Delayed DDPG (Fujimoto et al. 2018), as CleanRL's td3_continuous_action.py,
 * composed from refinery's parts:
 *
 *   OffPolicyAlgorithm (uniform random actions until learningStarts, then
 *                       a = clip(μ(s) + N(0, (explorationNoise·scale)²), low, high); ReplayBuffer)  with this agent:
 *     every gradient step:   ã' = clip(μ̄(s') + clip(policyNoise·ξ, ±noiseClip)·scale, low, high)
 *                            y = r + γ(1 − d)·min(Q̄1, Q̄2)(s', ã'),  L_Q = MSE(Q1, y) + MSE(Q2, y)
 *     every policyFrequency: L_μ = −mean Q1(s, μ(s)); then μ̄, Q̄1, Q̄2 ← τ·θ + (1 − τ)·θ̄
 *
 * The actor is policies/deterministic_actor.ts; the update rules are loss/offpolicy.ts and
 * continuous_update.ts. Defaults are CleanRL's; `--preset zoo` gives the RL Baselines3 Zoo's
 * tuned Pendulum settings.
 */
import { z } from "zod";
import { Rng } from "../core/rng.js";
import { NetworkAdam } from "../nn/network_adam.js";
import { updateTargetNetwork } from "../nn/target.js";
import { DeterministicActor } from "../policies/deterministic_actor.js";
import type { ReplayBatch } from "../replay/buffer.js";
import { boundedBox, namedWeights, setNamedWeights, type ContinuousActorSpec } from "./continuous_agent.js";
import { normalNoise, td3ActorStep, td3CriticStep, type ContinuousBatch, type TwinCritics } from "./continuous_update.js";
import { CONTINUOUS_OFF_POLICY_DEFAULTS, OffPolicyAlgorithm, offPolicyShape, validateOffPolicy, type AgentSetup, type OffPolicyAgent, type OffPolicyContext } from "./off_policy.js";
import { criticWeights, makeTwinCritics, setCriticWeights, updateTwinTargets } from "./sac.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, AlgorithmPreset } from "./types.js";

export const td3ConfigSchema = z
  .object({
    ...offPolicyShape,
    learningRate: z.number().positive().describe("Adam learning rate of the actor and the critics"),
    policyFrequency: z.number().int().positive().describe("actor and target updates every N gradient steps (the delay)"),
    tau: z.number().gt(0).max(1).describe("target update rate θ̄ ← τθ + (1 − τ)θ̄"),
    explorationNoise: z.number().min(0).describe("std of the Gaussian exploration noise, as a fraction of the action half-range"),
    policyNoise: z.number().min(0).describe("std of the target policy smoothing noise, as a fraction of the action half-range"),
    noiseClip: z.number().min(0).describe("the smoothing noise is clipped to ±noiseClip (fraction of the half-range)"),
    hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of the actor and of each critic (ReLU)"),
  })
  .strict();

export type TD3Config = z.infer<typeof td3ConfigSchema>;

/** CleanRL td3_continuous_action.py defaults (its default env is MuJoCo Hopper; ours is Pendulum). */
export const TD3_DEFAULTS: TD3Config = {
  ...CONTINUOUS_OFF_POLICY_DEFAULTS,
  learningStarts: 25_000,
  learningRate: 3e-4,
  policyFrequency: 2,
  tau: 0.005,
  explorationNoise: 0.1,
  policyNoise: 0.2,
  noiseClip: 0.5,
  hidden: [256, 256],
};

/** RL Baselines3 Zoo `hyperparams/td3.yml` where refinery has the env and the Zoo's options (MountainCarContinuous uses Ornstein-Uhlenbeck noise, not in refinery). */
const ZOO: Record<string, Partial<TD3Config>> = {
  "Pendulum-v1": { totalTimesteps: 20_000, gamma: 0.98, bufferSize: 200_000, learningStarts: 10_000, explorationNoise: 0.1, learningRate: 1e-3, hidden: [400, 300] },
};

export const TD3_PRESETS: AlgorithmPreset[] = [
  { name: "cleanrl", description: "CleanRL td3_continuous_action.py defaults (the default)", forEnv: () => ({}) },
  { name: "zoo", description: `RL Baselines3 Zoo's tuned TD3 for ${Object.keys(ZOO).join(", ")}`, forEnv: (env) => ZOO[env] },
];

export function validateTd3(c: TD3Config): void {
  validateOffPolicy(c);
}

export class TD3Agent implements OffPolicyAgent {
  readonly randomWarmup = true;
  readonly actor: DeterministicActor;
  readonly actorTarget: DeterministicActor;
  readonly critics: TwinCritics;
  readonly actorOptimizer: NetworkAdam;
  readonly criticOptimizer: NetworkAdam;
  private readonly kernels: boolean;
  private lastActorLoss = 0;
  private actBuf = new Float32Array(0);

  constructor(
    readonly config: TD3Config,
    private readonly setup: AgentSetup,
  ) {
    const c = config;
    const kernels = c.backend === "kernels";
    this.kernels = kernels;
    const box = boundedBox(setup, "td3");
    const actorOptions = { obsSize: setup.obsSize, low: box.low, high: box.high, hidden: c.hidden, kernels };
    this.actor = new DeterministicActor({ ...actorOptions, rng: setup.rng, name: "actor" });
    this.actorTarget = new DeterministicActor({ ...actorOptions, rng: new Rng(0), name: "actor_target" });
    updateTargetNetwork(this.actorTarget.net, this.actor.net, 1, kernels);
    this.critics = makeTwinCritics(setup.obsSize, setup.actSize, c.hidden, setup.rng, kernels);
    this.actorOptimizer = new NetworkAdam([this.actor.net], { learningRate: c.learningRate, epsilon: 1e-8 }, kernels);
    this.criticOptimizer = new NetworkAdam([this.critics.q1.net, this.critics.q2.net], { learningRate: c.learningRate, epsilon: 1e-8 }, kernels);
  }

  act(obs: Float32Array, numEnvs: number, explore: boolean, ctx: OffPolicyContext): Float32Array {
    if (this.actBuf.length !== numEnvs * this.actor.actSize) this.actBuf = new Float32Array(numEnvs * this.actor.actSize);
    return this.actor.act(obs, numEnvs, explore ? ctx.rng : null, this.config.explorationNoise, this.actBuf);
  }

  update(replay: ReplayBatch, ctx: OffPolicyContext): Record<string, number> {
    const c = this.config;
    const batch = replay as ContinuousBatch;
    const critic = td3CriticStep(this.actorTarget, this.critics, batch, normalNoise(ctx.rng, batch.size * this.actor.actSize), c.policyNoise, c.noiseClip);
    const criticGradNorm = this.criticOptimizer.applyAndFree(critic.grads);
    if ((ctx.updates + 1) % c.policyFrequency === 0) {
      const actor = td3ActorStep(this.actor, this.critics.q1, batch);
      this.actorOptimizer.applyAndFree(actor.grads);
      this.actor.syncFastWeights();
      this.lastActorLoss = actor.loss;
      updateTargetNetwork(this.actorTarget.net, this.actor.net, c.tau, this.kernels);
      updateTwinTargets(this.critics, c.tau);
    }
    return { qLoss: critic.loss, q1: critic.q1Mean, q2: critic.q2Mean, criticGradNorm, actorLoss: this.lastActorLoss };
  }

  actingPolicy(seed: number): ActingPolicy {
    const rng = new Rng(seed);
    const out = new Float32Array(this.actor.actSize);
    return { actOne: (obs, deterministic) => Float32Array.from(this.actor.act(obs, 1, deterministic ? null : rng, this.config.explorationNoise, out)) };
  }

  saveState(): { json: Record<string, unknown>; arrays: NamedArrays } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "actor/", { ...namedWeights(this.actor.net), ...namedWeights(this.actorTarget.net) });
    putWeights(arrays, "critics/", criticWeights(this.critics));
    const json = {
      actorAdam: putAdam(arrays, "actorAdam", this.actorOptimizer.getState()),
      criticAdam: putAdam(arrays, "criticAdam", this.criticOptimizer.getState()),
      lastActorLoss: this.lastActorLoss,
    };
    return { json, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void {
    const { json, arrays } = state;
    setNamedWeights(this.actor.net, prefixed(arrays, "actor/"));
    setNamedWeights(this.actorTarget.net, prefixed(arrays, "actor/"));
    setCriticWeights(this.critics, prefixed(arrays, "critics/"));
    this.actorOptimizer.setState(takeAdam(json, arrays, "actorAdam"));
    this.criticOptimizer.setState(takeAdam(json, arrays, "criticAdam"));
    this.lastActorLoss = json.lastActorLoss as number;
  }

  setActingWeights(weights: NamedArrays): void {
    setNamedWeights(this.actor.net, weights);
    this.actor.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> } {
    const net = this.actor.net;
    const spec: ContinuousActorSpec = {
      kind: "deterministic-actor",
      observationSpace: this.setup.observationSpace.toJSON(),
      actionSpace: this.setup.actionSpace.toJSON(),
      hidden: [...this.config.hidden],
      explorationNoise: this.config.explorationNoise,
    };
    return { spec: { ...spec }, weights: namedWeights(net), shapes: Object.fromEntries(net.paramNames.map((n, i) => [n, [...net.paramShapes[i]]])) };
  }

  dispose(): void {
    this.actor.dispose();
    this.actorTarget.dispose();
    for (const q of [this.critics.q1, this.critics.q2, this.critics.q1Target, this.critics.q2Target]) q.dispose();
  }
}

export function createTd3(config: TD3Config): Promise<OffPolicyAlgorithm> {
  return OffPolicyAlgorithm.create("td3", config, (setup, resolved) => new TD3Agent({ ...config, backend: resolved.backend }, setup));
}
