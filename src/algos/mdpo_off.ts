/**
 * Off-policy MDPO — Mirror Descent Policy Optimization, the SAC-like variant (Tomar et al.),
 * as the authors' `mdpo_off` code, composed from refinery's parts:
 *
 *   OffPolicyAlgorithm (uniform random actions until learningStarts; ReplayBuffer)  with this agent:
 *     every gradient step, from the parameters before the step, ã ~ π_θ(·|s) reparameterised:
 *       actor    L_π = mean[c·(log π_θ(ã) − log π_old(ã)) + λ·log π_old(ã) − Q1(s, ã)] + 1e-3·(mean μ² + mean log σ²)
 *       critics  y = r + γ(1 − d)·V̄(s'),  L = ½·MSE(Q1, y) + ½·MSE(Q2, y) + ½·MSE(V(s), min(Q1, Q2)(s, ã) − λ·log π_θ(ã))
 *       V̄ ← τ·V + (1 − τ)·V̄
 *     every oldPolicyEvery env steps: π_old ← π_θ (the mirror-descent step's anchor)
 *
 * c = klCoef is the mirror-descent weight 1/t_k (constant in the authors' code), λ =
 * entropyWeight (0: the non-entropy version). The actor is the squashed Gaussian of SAC with
 * the authors' settings (log σ clipped to [−20, 2], tanh correction without the action scale).
 * The authors' code acts with the policy's mean after the warm-up; `collect: "mean"` does that,
 * the default "sample" explores with samples as SAC does.
 */
import { z } from "zod";
import { Rng } from "../core/rng.js";
import { MLP } from "../nn/mlp.js";
import { NetworkAdam } from "../nn/network_adam.js";
import { updateTargetNetwork } from "../nn/target.js";
import { ContinuousQ } from "../policies/continuous_q.js";
import { SquashedGaussianActor } from "../policies/squashed_gaussian.js";
import type { ReplayBatch } from "../replay/buffer.js";
import { boundedBox, namedWeights, setNamedWeights, squashedActorShape, squashedSpec } from "./continuous_agent.js";
import { mdpoOffStep, normalNoise, type ContinuousBatch, type MdpoOffNetworks } from "./continuous_update.js";
import { CONTINUOUS_OFF_POLICY_DEFAULTS, OffPolicyAlgorithm, offPolicyShape, validateOffPolicy, type AgentSetup, type OffPolicyAgent, type OffPolicyContext } from "./off_policy.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, AlgorithmPreset } from "./types.js";

export const mdpoOffConfigSchema = z
  .object({
    ...offPolicyShape,
    learningRate: z.number().positive().describe("Adam learning rate of the actor and of the critics (Q1, Q2, V)"),
    klCoef: z.number().min(0).describe("mirror-descent weight c = 1/t_k on log π_θ − log π_old (constant, as the authors' code)"),
    entropyWeight: z.number().min(0).describe("entropy weight λ (0: the non-entropy version)"),
    oldPolicyEvery: z.number().int().positive().describe("copy the actor into π_old every N env steps (the authors' sgd_steps)"),
    tau: z.number().gt(0).max(1).describe("Polyak rate of the target value network V̄"),
    regWeight: z.number().min(0).describe("weight of the mean(μ²) + mean(log σ²) regulariser of the actor"),
    collect: z.enum(["sample", "mean"]).describe("actions after the warm-up: samples of π (explores) or its mean (the authors' code)"),
    hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of the actor, each Q and V (ReLU)"),
    ...squashedActorShape,
  })
  .strict();

export type MdpoOffConfig = z.infer<typeof mdpoOffConfigSchema>;

/** The authors' README example (--sgd_steps=1000 --klcoeff=1.0 --lam=0.2) and their defaults. */
export const MDPO_OFF_DEFAULTS: MdpoOffConfig = {
  ...CONTINUOUS_OFF_POLICY_DEFAULTS,
  learningStarts: 10_000,
  learningRate: 3e-4,
  klCoef: 1,
  entropyWeight: 0.2,
  oldPolicyEvery: 1000,
  tau: 0.005,
  regWeight: 1e-3,
  collect: "sample",
  hidden: [256, 256],
  logStdBounds: "clip",
  logStdMin: -20,
  logStdMax: 2,
  scaleInCorrection: false,
};

export const MDPO_OFF_PRESETS: AlgorithmPreset[] = [{ name: "authors", description: "the authors' mdpo_off settings (the default)", forEnv: () => ({}) }];

export function validateMdpoOff(c: MdpoOffConfig): void {
  validateOffPolicy(c);
}

export class MdpoOffAgent implements OffPolicyAgent {
  readonly randomWarmup = true;
  readonly nets: MdpoOffNetworks;
  readonly actorOptimizer: NetworkAdam;
  readonly criticOptimizer: NetworkAdam;
  private readonly kernels: boolean;
  private actBuf = new Float32Array(0);

  constructor(
    readonly config: MdpoOffConfig,
    private readonly setup: AgentSetup,
  ) {
    const c = config;
    const kernels = c.backend === "kernels";
    this.kernels = kernels;
    const box = boundedBox(setup, "mdpo-off");
    const actorOptions = {
      obsSize: setup.obsSize,
      low: box.low,
      high: box.high,
      hidden: c.hidden,
      logStdBounds: c.logStdBounds,
      logStdMin: c.logStdMin,
      logStdMax: c.logStdMax,
      scaleInCorrection: c.scaleInCorrection,
      kernels,
    };
    const rng = setup.rng;
    const q = (name: string) => new ContinuousQ({ obsSize: setup.obsSize, actSize: setup.actSize, hidden: c.hidden, rng, name, kernels });
    const v = (name: string, r: Rng) => new MLP({ sizes: [setup.obsSize, ...c.hidden, 1], rng: r, activation: "relu", init: "torch-default", name });
    this.nets = {
      actor: new SquashedGaussianActor({ ...actorOptions, rng, name: "actor" }),
      oldActor: new SquashedGaussianActor({ ...actorOptions, rng: new Rng(0), name: "actor_old" }),
      q1: q("q1"),
      q2: q("q2"),
      value: v("v", rng),
      valueTarget: v("v_target", new Rng(0)),
    };
    updateTargetNetwork(this.nets.oldActor.net, this.nets.actor.net, 1, kernels);
    updateTargetNetwork(this.nets.valueTarget, this.nets.value, 1, kernels);
    this.actorOptimizer = new NetworkAdam([this.nets.actor.net], { learningRate: c.learningRate, epsilon: 1e-8 }, kernels);
    this.criticOptimizer = new NetworkAdam([this.nets.q1.net, this.nets.q2.net, this.nets.value], { learningRate: c.learningRate, epsilon: 1e-8 }, kernels);
  }

  act(obs: Float32Array, numEnvs: number, explore: boolean, ctx: OffPolicyContext): Float32Array {
    const actor = this.nets.actor;
    if (this.actBuf.length !== numEnvs * actor.actSize) this.actBuf = new Float32Array(numEnvs * actor.actSize);
    return actor.act(obs, numEnvs, explore && this.config.collect === "sample" ? ctx.rng : null, this.actBuf);
  }

  update(replay: ReplayBatch, ctx: OffPolicyContext): Record<string, number> {
    const c = this.config;
    const batch = replay as ContinuousBatch;
    const step = mdpoOffStep(this.nets, batch, normalNoise(ctx.rng, batch.size * this.nets.actor.actSize), c.klCoef, c.entropyWeight, c.regWeight);
    this.actorOptimizer.applyAndFree(step.actorGrads);
    const criticGradNorm = this.criticOptimizer.applyAndFree(step.criticGrads);
    this.nets.actor.syncFastWeights();
    updateTargetNetwork(this.nets.valueTarget, this.nets.value, c.tau, this.kernels);
    return { actorLoss: step.actorLoss, qLoss: step.qLoss, valueLoss: step.valueLoss, kl: step.kl, entropy: -step.logProbMean, criticGradNorm };
  }

  afterStep(ctx: OffPolicyContext): void {
    // Counted in env steps, as the authors' `step % sgd_steps == 0`.
    if (ctx.step % this.config.oldPolicyEvery < ctx.numEnvs) updateTargetNetwork(this.nets.oldActor.net, this.nets.actor.net, 1, this.kernels);
  }

  actingPolicy(seed: number): ActingPolicy {
    const rng = new Rng(seed);
    const out = new Float32Array(this.nets.actor.actSize);
    return { actOne: (obs, deterministic) => Float32Array.from(this.nets.actor.act(obs, 1, deterministic ? null : rng, out)) };
  }

  private allNets(): MLP[] {
    const n = this.nets;
    return [n.actor.net, n.oldActor.net, n.q1.net, n.q2.net, n.value, n.valueTarget];
  }

  saveState(): { json: Record<string, unknown>; arrays: NamedArrays } {
    const arrays: NamedArrays = {};
    for (const net of this.allNets()) putWeights(arrays, "nets/", namedWeights(net));
    const json = {
      actorAdam: putAdam(arrays, "actorAdam", this.actorOptimizer.getState()),
      criticAdam: putAdam(arrays, "criticAdam", this.criticOptimizer.getState()),
    };
    return { json, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void {
    const { json, arrays } = state;
    for (const net of this.allNets()) setNamedWeights(net, prefixed(arrays, "nets/"));
    this.actorOptimizer.setState(takeAdam(json, arrays, "actorAdam"));
    this.criticOptimizer.setState(takeAdam(json, arrays, "criticAdam"));
  }

  setActingWeights(weights: NamedArrays): void {
    setNamedWeights(this.nets.actor.net, weights);
    this.nets.actor.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> } {
    const net = this.nets.actor.net;
    return {
      spec: { ...squashedSpec(this.setup, this.nets.actor, this.config.hidden) },
      weights: namedWeights(net),
      shapes: Object.fromEntries(net.paramNames.map((n, i) => [n, [...net.paramShapes[i]]])),
    };
  }

  dispose(): void {
    for (const net of this.allNets()) net.dispose();
  }
}

export function createMdpoOff(config: MdpoOffConfig): Promise<OffPolicyAlgorithm> {
  return OffPolicyAlgorithm.create("mdpo-off", config, (setup, resolved) => new MdpoOffAgent({ ...config, backend: resolved.backend }, setup));
}
