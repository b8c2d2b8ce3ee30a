/**
 * SAC — Soft Actor-Critic (Haarnoja et al. 2018) with automatic temperature, as CleanRL's
 * sac_continuous_action.py, composed from refinery's parts:
 *
 *   OffPolicyAlgorithm (uniform random actions until learningStarts, then a ~ π(·|s); ReplayBuffer)  with this agent:
 *     every gradient step:   critic step   y = r + γ(1 − d)·[min(Q̄1, Q̄2)(s', a') − α·log π(a'|s')],  a' ~ π(·|s')
 *                                          L_Q = MSE(Q1, y) + MSE(Q2, y)                 (one Adam, lr qLearningRate)
 *     every policyFrequency: that many actor steps   L_π = mean(α·log π(ã|s) − min(Q1, Q2)(s, ã))
 *                            each followed, with autotune, by   L_α = −mean(α·(log π(ã'|s) + H̄)),  H̄ = −|A|
 *     every targetNetworkFrequency: Q̄ ← τ·Q + (1 − τ)·Q̄
 *
 * The actor is a tanh-squashed Gaussian (policies/squashed_gaussian.ts); the update rules are
 * loss/offpolicy.ts and continuous_update.ts. Defaults are CleanRL's; `--preset zoo` gives the
 * RL Baselines3 Zoo's Pendulum settings with SB3's variants (clipped log σ, unscaled tanh
 * correction, log α in the temperature loss, an actor step every gradient step).
 */
import { z } from "zod";
import { Rng } from "../core/rng.js";
import { NetworkAdam } from "../nn/network_adam.js";
import { ArrayAdam } from "../nn/optim.js";
import { updateTargetNetwork } from "../nn/target.js";
import { ContinuousQ } from "../policies/continuous_q.js";
import { SquashedGaussianActor } from "../policies/squashed_gaussian.js";
import type { ReplayBatch } from "../replay/buffer.js";
import { boundedBox, namedWeights, setNamedWeights, squashedActorShape, squashedSpec } from "./continuous_agent.js";
import { normalNoise, sacActorStep, sacAlphaStep, sacCriticStep, type ContinuousBatch, type TwinCritics } from "./continuous_update.js";
import { CONTINUOUS_OFF_POLICY_DEFAULTS, OffPolicyAlgorithm, offPolicyShape, validateOffPolicy, type AgentSetup, type OffPolicyAgent, type OffPolicyContext } from "./off_policy.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, AlgorithmPreset } from "./types.js";

export const sacConfigSchema = z
  .object({
    ...offPolicyShape,
    policyLearningRate: z.number().positive().describe("Adam learning rate of the actor"),
    qLearningRate: z.number().positive().describe("Adam learning rate of the twin critics (and of α with autotune)"),
    policyFrequency: z.number().int().positive().describe("every N gradient steps, N actor (and α) steps (delayed, TD3-style)"),
    targetNetworkFrequency: z.number().int().positive().describe("Polyak-update the target critics every N gradient steps"),
    tau: z.number().gt(0).max(1).describe("target update rate θ̄ ← τθ + (1 − τ)θ̄"),
    alpha: z.number().min(0).describe("entropy temperature α when autotune is off"),
    autotune: z.boolean().describe("learn α so the policy's entropy tracks the target −|A| (starts at α = 1)"),
    targetEntropy: z.number().nullable().describe("entropy target of autotune (null: −|A|, minus the action dimension)"),
    alphaLoss: z.enum(["alpha", "log-alpha"]).describe("temperature loss: −mean(α·(log π + H̄)) (CleanRL) or −mean(log α·(log π + H̄)) (SB3)"),
    hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of the actor and of each critic (ReLU)"),
    ...squashedActorShape,
  })
  .strict();

export type SACConfig = z.infer<typeof sacConfigSchema>;

/** CleanRL sac_continuous_action.py defaults (its default env is MuJoCo Hopper; ours is Pendulum). */
export const SAC_DEFAULTS: SACConfig = {
  ...CONTINUOUS_OFF_POLICY_DEFAULTS,
  learningStarts: 5000,
  policyLearningRate: 3e-4,
  qLearningRate: 1e-3,
  policyFrequency: 2,
  targetNetworkFrequency: 1,
  tau: 0.005,
  alpha: 0.2,
  autotune: true,
  targetEntropy: null,
  alphaLoss: "alpha",
  hidden: [256, 256],
  logStdBounds: "tanh",
  logStdMin: -5,
  logStdMax: 2,
  scaleInCorrection: true,
};

/** SB3's SAC wherever the Zoo leaves its defaults: one learning rate, actor every step, its log σ clip and α loss. */
const SB3: Partial<SACConfig> = {
  learningStarts: 100, policyFrequency: 1, targetNetworkFrequency: 1, alphaLoss: "log-alpha",
  logStdBounds: "clip", logStdMin: -20, logStdMax: 2, scaleInCorrection: false, hidden: [256, 256],
};

/** RL Baselines3 Zoo `hyperparams/sac.yml` where refinery has the env and the Zoo's options (MountainCarContinuous needs gSDE, not in refinery's SAC). */
const ZOO: Record<string, Partial<SACConfig>> = {
  "Pendulum-v1": { ...SB3, totalTimesteps: 20_000, policyLearningRate: 1e-3, qLearningRate: 1e-3 },
};

export const SAC_PRESETS: AlgorithmPreset[] = [
  { name: "cleanrl", description: "CleanRL sac_continuous_action.py defaults (the default)", forEnv: () => ({}) },
  { name: "zoo", description: `RL Baselines3 Zoo's tuned SAC (SB3 variants) for ${Object.keys(ZOO).join(", ")}`, forEnv: (env) => ZOO[env] },
];

export function validateSac(c: SACConfig): void {
  validateOffPolicy(c);
}

/** Twin critics and their targets, the targets starting as copies; `kernels`: passes on the SIMD kernels. */
export function makeTwinCritics(obsSize: number, actSize: number, hidden: readonly number[], rng: Rng, kernels = false): TwinCritics {
  const make = (name: string, r: Rng) => new ContinuousQ({ obsSize, actSize, hidden, rng: r, name, kernels });
  const critics = { q1: make("q1", rng), q2: make("q2", rng), q1Target: make("q1_target", new Rng(0)), q2Target: make("q2_target", new Rng(0)) };
  updateTwinTargets(critics, 1);
  return critics;
}

/** Q̄ ← τ·Q + (1 − τ)·Q̄ for both critics, on the backend the critics run on. */
export function updateTwinTargets(c: TwinCritics, tau: number): void {
  updateTargetNetwork(c.q1Target.net, c.q1.net, tau, c.q1.kernels);
  updateTargetNetwork(c.q2Target.net, c.q2.net, tau, c.q2.kernels);
}

export function criticWeights(c: TwinCritics): NamedArrays {
  return { ...namedWeights(c.q1.net), ...namedWeights(c.q2.net), ...namedWeights(c.q1Target.net), ...namedWeights(c.q2Target.net) };
}

export function setCriticWeights(c: TwinCritics, arrays: NamedArrays): void {
  for (const q of [c.q1, c.q2, c.q1Target, c.q2Target]) setNamedWeights(q.net, arrays);
}

export class SACAgent implements OffPolicyAgent {
  readonly randomWarmup = true;
  readonly actor: SquashedGaussianActor;
  readonly critics: TwinCritics;
  readonly actorOptimizer: NetworkAdam;
  readonly criticOptimizer: NetworkAdam;
  /** log α as a one-entry parameter of its own Adam. */
  readonly logAlpha = new Float32Array([0]);
  readonly alphaOptimizer: ArrayAdam;
  readonly targetEntropy: number;
  private last = { actorLoss: 0, alphaLoss: 0, logProb: 0 };
  private actBuf = new Float32Array(0);

  constructor(
    readonly config: SACConfig,
    private readonly setup: AgentSetup,
  ) {
    const c = config;
    const kernels = c.backend === "kernels";
    const box = boundedBox(setup, "sac");
    this.actor = new SquashedGaussianActor({
      obsSize: setup.obsSize,
      low: box.low,
      high: box.high,
      hidden: c.hidden,
      rng: setup.rng,
      logStdBounds: c.logStdBounds,
      logStdMin: c.logStdMin,
      logStdMax: c.logStdMax,
      scaleInCorrection: c.scaleInCorrection,
      kernels,
    });
    this.critics = makeTwinCritics(setup.obsSize, setup.actSize, c.hidden, setup.rng, kernels);
    // torch.optim.Adam's defaults (eps 1e-8), as CleanRL.
    this.actorOptimizer = new NetworkAdam([this.actor.net], { learningRate: c.policyLearningRate, epsilon: 1e-8 }, kernels);
    this.criticOptimizer = new NetworkAdam([this.critics.q1.net, this.critics.q2.net], { learningRate: c.qLearningRate, epsilon: 1e-8 }, kernels);
    this.alphaOptimizer = new ArrayAdam([this.logAlpha], { learningRate: c.qLearningRate, epsilon: 1e-8 });
    this.targetEntropy = c.targetEntropy ?? -setup.actSize;
  }

  get alpha(): number {
    return this.config.autotune ? Math.exp(this.logAlpha[0]) : this.config.alpha;
  }

  act(obs: Float32Array, numEnvs: number, explore: boolean, ctx: OffPolicyContext): Float32Array {
    if (this.actBuf.length !== numEnvs * this.actor.actSize) this.actBuf = new Float32Array(numEnvs * this.actor.actSize);
    return this.actor.act(obs, numEnvs, explore ? ctx.rng : null, this.actBuf);
  }

  update(replay: ReplayBatch, ctx: OffPolicyContext): Record<string, number> {
    const c = this.config;
    const batch = replay as ContinuousBatch;
    const noiseSize = batch.size * this.actor.actSize;
    const critic = sacCriticStep(this.actor, this.critics, batch, normalNoise(ctx.rng, noiseSize), this.alpha);
    const criticGradNorm = this.criticOptimizer.applyAndFree(critic.grads);
    const count = ctx.updates + 1;
    if (count % c.policyFrequency === 0) {
      for (let k = 0; k < c.policyFrequency; k++) this.actorAndAlphaStep(batch, ctx.rng, noiseSize);
    }
    if (count % c.targetNetworkFrequency === 0) updateTwinTargets(this.critics, c.tau);
    return {
      qLoss: critic.loss,
      q1: critic.q1Mean,
      q2: critic.q2Mean,
      criticGradNorm,
      actorLoss: this.last.actorLoss,
      alphaLoss: this.last.alphaLoss,
      entropy: -this.last.logProb,
    };
  }

  /** One actor step, then (autotune) one temperature step on a fresh sample, as CleanRL. */
  private actorAndAlphaStep(batch: ContinuousBatch, rng: Rng, noiseSize: number): void {
    const actor = sacActorStep(this.actor, this.critics, batch, normalNoise(rng, noiseSize), this.alpha);
    this.actorOptimizer.applyAndFree(actor.grads);
    this.actor.syncFastWeights();
    this.last.actorLoss = actor.loss;
    this.last.logProb = actor.logProbMean;
    if (!this.config.autotune) return;
    const a = sacAlphaStep(this.actor, batch, normalNoise(rng, noiseSize), this.logAlpha[0], this.targetEntropy);
    // SB3's form −mean(log α·(log π + H̄)) has gradient −mean(log π + H̄) = dL/dlogα / α.
    const grad = this.config.alphaLoss === "alpha" ? a.dLogAlpha : a.dLogAlpha / Math.exp(this.logAlpha[0]);
    this.alphaOptimizer.applyGradients([new Float32Array([grad])]);
    this.last.alphaLoss = this.config.alphaLoss === "alpha" ? a.loss : this.logAlpha[0] * grad;
  }

  metrics(): Record<string, number> {
    return { alpha: this.alpha };
  }

  actingPolicy(seed: number): ActingPolicy {
    const rng = new Rng(seed);
    const out = new Float32Array(this.actor.actSize);
    return { actOne: (obs, deterministic) => Float32Array.from(this.actor.act(obs, 1, deterministic ? null : rng, out)) };
  }

  saveState(): { json: Record<string, unknown>; arrays: NamedArrays } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "actor/", namedWeights(this.actor.net));
    putWeights(arrays, "critics/", criticWeights(this.critics));
    arrays["logAlpha"] = this.logAlpha.slice();
    const json = {
      actorAdam: putAdam(arrays, "actorAdam", this.actorOptimizer.getState()),
      criticAdam: putAdam(arrays, "criticAdam", this.criticOptimizer.getState()),
      alphaAdam: putAdam(arrays, "alphaAdam", this.alphaOptimizer.getState()),
      last: { ...this.last },
    };
    return { json, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void {
    const { json, arrays } = state;
    setNamedWeights(this.actor.net, prefixed(arrays, "actor/"));
    setCriticWeights(this.critics, prefixed(arrays, "critics/"));
    this.logAlpha.set(arrays["logAlpha"]);
    this.actorOptimizer.setState(takeAdam(json, arrays, "actorAdam"));
    this.criticOptimizer.setState(takeAdam(json, arrays, "criticAdam"));
    this.alphaOptimizer.setState(takeAdam(json, arrays, "alphaAdam"));
    this.last = { ...(json.last as typeof this.last) };
  }

  setActingWeights(weights: NamedArrays): void {
    setNamedWeights(this.actor.net, weights);
    this.actor.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> } {
    const net = this.actor.net;
    return {
      spec: { ...squashedSpec(this.setup, this.actor, this.config.hidden) },
      weights: namedWeights(net),
      shapes: Object.fromEntries(net.paramNames.map((n, i) => [n, [...net.paramShapes[i]]])),
    };
  }

  dispose(): void {
    this.actor.dispose();
    for (const q of [this.critics.q1, this.critics.q2, this.critics.q1Target, this.critics.q2Target]) q.dispose();
  }
}

export function createSac(config: SACConfig): Promise<OffPolicyAlgorithm> {
  return OffPolicyAlgorithm.create("sac", config, (setup, resolved) => new SACAgent({ ...config, backend: resolved.backend }, setup));
}
