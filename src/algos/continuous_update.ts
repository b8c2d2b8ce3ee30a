/**
 * One gradient computation of each continuous off-policy method on a fixed batch: the critic,
 * actor and temperature updates of SAC, TD3's critic and actor, and off-policy MDPO's joint
 * update. Each is a function of the networks, the batch and the noise it draws (passed in, so a
 * test can replay it), returning the parameter gradients in the optimiser's variable order.
 * The losses and their derivatives come from loss/offpolicy.ts; the backward passes from the
 * networks' hand-written ones (test/algos/continuous_update.test.ts checks them against tfjs
 * autodiff of independently written objectives).
 */
import * as tf from "#tfjs-core";
import type { Rng } from "../core/rng.js";
import type { ReplayBatch } from "../replay/buffer.js";
import {
  alphaLoss,
  bellmanTarget,
  deterministicActorLoss,
  mdpoOffActorLoss,
  mdpoValueTarget,
  minOf,
  qRegression,
  sacActorLoss,
  smoothTargetActions,
  softBootstrap,
} from "../loss/offpolicy.js";
import { MLP, type MLPArrayTrace, type MLPTrace } from "../nn/mlp.js";
import type { Gradient } from "../nn/network_adam.js";
import type { ContinuousQ } from "../policies/continuous_q.js";
import type { DeterministicActor } from "../policies/deterministic_actor.js";
import type { SquashedGaussianActor } from "../policies/squashed_gaussian.js";

/** A replay batch of continuous actions (ReplayBuffer.sample of a Box env). */
export type ContinuousBatch = Omit<ReplayBatch, "actions" | "indices"> & { actions: Float32Array };

/** Standard normal noise, n numbers from the generator. */
export function normalNoise(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

/**
 * tf.tidy for a result object that holds tensors (kept) next to plain numbers; on the
 * kernels there are no tensors, and the result is not handed to tidy (which would walk
 * every typed-array gradient element by element looking for tensors).
 */
function tidyKeep<T>(kernels: boolean, fn: () => T): T {
  if (kernels) return fn();
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}

function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return x.length ? s / x.length : 0;
}

export interface TwinCritics {
  q1: ContinuousQ;
  q2: ContinuousQ;
  q1Target: ContinuousQ;
  q2Target: ContinuousQ;
}

export interface CriticStep {
  /** Gradients of both critics, q1's variables then q2's (tensors on tfjs, Float32Arrays on the kernels). */
  grads: Gradient[];
  loss: number;
  q1Mean: number;
  q2Mean: number;
}

/** Twin-critic regression on targets y: weight·MSE per critic, summed; gradients q1's then q2's. Call inside tf.tidy. */
function twinRegression(critics: Pick<TwinCritics, "q1" | "q2">, batch: ContinuousBatch, y: Float32Array, weight: number): CriticStep {
  const n = batch.size;
  const f1 = critics.q1.forward(batch.obs, batch.actions, n);
  const f2 = critics.q2.forward(batch.obs, batch.actions, n);
  const l1 = qRegression(f1.q, y, weight);
  const l2 = qRegression(f2.q, y, weight);
  return {
    grads: [...critics.q1.backward(f1, l1.dQ), ...critics.q2.backward(f2, l2.dQ)],
    loss: l1.loss + l2.loss,
    q1Mean: mean(f1.q),
    q2Mean: mean(f2.q),
  };
}

/**
 * SAC's critic update: a' ~ π(·|s') with `nextNoise`,
 *   y = r + γ(1 − d)·[min(Q̄1, Q̄2)(s', a') − α·log π(a'|s')],  L = MSE(Q1, y) + MSE(Q2, y).
 * Tensors of the returned gradients belong to the caller.
 */
export function sacCriticStep(actor: SquashedGaussianActor, critics: TwinCritics, batch: ContinuousBatch, nextNoise: Float32Array, alpha: number): CriticStep {
  return tidyKeep(actor.kernels, () => {
    const n = batch.size;
    const next = actor.sample(batch.nextObs, n, nextNoise);
    const q1 = critics.q1Target.predict(batch.nextObs, next.actions, n);
    const q2 = critics.q2Target.predict(batch.nextObs, next.actions, n);
    const y = bellmanTarget(batch.rewards, batch.dones, batch.discounts, softBootstrap(q1, q2, next.logProb, alpha));
    return twinRegression(critics, batch, y, 1);
  });
}

export interface ActorStep {
  grads: Gradient[];
  loss: number;
  /** Mean log π of the reparameterised sample (−entropy estimate). */
  logProbMean: number;
}

/**
 * SAC's actor update: ã ~ π(·|s) reparameterised with `noise`, L = mean(α·log π(ã|s) − min(Q1, Q2)(s, ã));
 * the critics are not trained here (only dQ/dã flows back).
 */
export function sacActorStep(actor: SquashedGaussianActor, critics: TwinCritics, batch: ContinuousBatch, noise: Float32Array, alpha: number): ActorStep {
  return tidyKeep(actor.kernels, () => {
    const n = batch.size;
    const s = actor.sample(batch.obs, n, noise);
    const f1 = critics.q1.forward(batch.obs, s.actions, n);
    const f2 = critics.q2.forward(batch.obs, s.actions, n);
    const l = sacActorLoss(s.logProb, f1.q, f2.q, alpha);
    const dA1 = critics.q1.actionGradient(f1, l.dQ1);
    const dA2 = critics.q2.actionGradient(f2, l.dQ2);
    const dActions = new Float32Array(dA1.length);
    for (let k = 0; k < dActions.length; k++) dActions[k] = dA1[k] + dA2[k];
    return { grads: actor.backward(s, { dActions, dLogProb: l.dLogProb }), loss: l.loss, logProbMean: mean(s.logProb) };
  });
}

/**
 * SAC's temperature update on a fresh sample (no gradient into the actor): L = −mean(α·(log π + H̄)),
 * returning dL/d(log α).
 */
export function sacAlphaStep(actor: SquashedGaussianActor, batch: ContinuousBatch, noise: Float32Array, logAlpha: number, targetEntropy: number): { loss: number; dLogAlpha: number } {
  const logProb = tidyKeep(actor.kernels, () => actor.sample(batch.obs, batch.size, noise).logProb);
  return alphaLoss(logAlpha, logProb, targetEntropy);
}

/**
 * TD3's critic update: ã' = clip(μ̄(s') + clip(σξ, ±c)·scale, low, high),
 * y = r + γ(1 − d)·min(Q̄1, Q̄2)(s', ã'), L = MSE(Q1, y) + MSE(Q2, y).
 */
export function td3CriticStep(
  actorTarget: DeterministicActor,
  critics: TwinCritics,
  batch: ContinuousBatch,
  noise: Float32Array,
  policyNoise: number,
  noiseClip: number,
): CriticStep {
  return tidyKeep(actorTarget.kernels, () => {
    const n = batch.size;
    const mu = actorTarget.forward(batch.nextObs, n).actions;
    const next = smoothTargetActions(mu, noise, actorTarget, policyNoise, noiseClip);
    const q1 = critics.q1Target.predict(batch.nextObs, next, n);
    const q2 = critics.q2Target.predict(batch.nextObs, next, n);
    return twinRegression(critics, batch, bellmanTarget(batch.rewards, batch.dones, batch.discounts, minOf(q1, q2)), 1);
  });
}

/** TD3's (delayed) actor update: L = −mean Q1(s, μ(s)). */
export function td3ActorStep(actor: DeterministicActor, q1: ContinuousQ, batch: ContinuousBatch): { grads: Gradient[]; loss: number } {
  return tidyKeep(actor.kernels, () => {
    const n = batch.size;
    const fwd = actor.forward(batch.obs, n);
    const fq = q1.forward(batch.obs, fwd.actions, n);
    const l = deterministicActorLoss(fq.q);
    return { grads: actor.backward(fwd, q1.actionGradient(fq, l.dQ1)), loss: l.loss };
  });
}

/** Off-policy MDPO's networks: the actor and its frozen copy π_old, twin Q, and V with a target V̄. */
export interface MdpoOffNetworks {
  actor: SquashedGaussianActor;
  oldActor: SquashedGaussianActor;
  q1: ContinuousQ;
  q2: ContinuousQ;
  value: MLP;
  valueTarget: MLP;
}

export interface MdpoOffStep {
  actorGrads: Gradient[];
  /** q1's, q2's then V's gradients. */
  criticGrads: Gradient[];
  actorLoss: number;
  qLoss: number;
  valueLoss: number;
  /** mean(log π_θ(ã) − log π_old(ã)): a one-sample KL(π_θ‖π_old) estimate. */
  kl: number;
  logProbMean: number;
}

/** V(s) of a state-value MLP with its trace, on the kernels or on tfjs (inside tf.tidy). */
function valueForward(v: MLP, obs: Float32Array, n: number, obsSize: number, kernels: boolean): { v: Float32Array; trace: MLPTrace | MLPArrayTrace } {
  const x = obs.subarray(0, n * obsSize);
  if (kernels) {
    const { output, trace } = v.forwardTraceArrays(x, n);
    return { v: output, trace };
  }
  const { output, trace } = v.forwardTrace(tf.tensor2d(x, [n, obsSize]));
  return { v: Float32Array.from(output.dataSync() as Float32Array), trace };
}

/** Parameter gradients of a value MLP from dL/dV per row, on the kernels or on tfjs (inside tf.tidy). */
function valueBackward(v: MLP, trace: MLPTrace | MLPArrayTrace, dV: Float32Array, kernels: boolean): Gradient[] {
  if (kernels) return v.backwardArrays(trace as MLPArrayTrace, dV);
  return v.backward(trace as MLPTrace, tf.tensor2d(dV, [dV.length, 1]));
}

/**
 * One off-policy MDPO step (the authors' SAC-like variant), every quantity from the parameters
 * before the step. With ã ~ π_θ(·|s) reparameterised by `noise`, c = klCoef and λ = entropyWeight:
 *   actor  L_π = mean[c·(log π_θ(ã) − log π_old(ã)) + λ·log π_old(ã) − Q1(s, ã)] + 1e-3·(mean μ² + mean log σ²)
 *   critics  y = r + γ(1 − d)·V̄(s'),  L_Q = ½·MSE(Q1, y) + ½·MSE(Q2, y)
 *   value  L_V = ½·MSE(V(s), min(Q1, Q2)(s, ã) − λ·log π_θ(ã))
 * log π_old(ã) depends on θ through ã (π_old's density at the new sample), so it sends gradient too.
 */
export function mdpoOffStep(nets: MdpoOffNetworks, batch: ContinuousBatch, noise: Float32Array, klCoef: number, entropyWeight: number, regWeight = 1e-3): MdpoOffStep {
  const kernels = nets.actor.kernels;
  return tidyKeep(kernels, () => {
    const n = batch.size;
    const obsSize = nets.actor.obsSize;
    const s = nets.actor.sample(batch.obs, n, noise);
    const old = nets.oldActor.logProbAt(batch.obs, n, s.u);
    const f1 = nets.q1.forward(batch.obs, s.actions, n);
    const f2 = nets.q2.forward(batch.obs, s.actions, n);
    const l = mdpoOffActorLoss(s.logProb, old.logProb, f1.q, s.mean, s.logStd, klCoef, entropyWeight, regWeight);
    const dU = new Float64Array(old.dU.length);
    for (let k = 0; k < dU.length; k++) dU[k] = old.dU[k] * l.dOldLogProb[Math.floor(k / nets.actor.actSize)];
    const dActions = nets.q1.actionGradient(f1, l.dQ1);
    const actorGrads = nets.actor.backward(s, { dActions, dLogProb: l.dLogProb, dU, dMean: l.dMean, dLogStd: l.dLogStd });

    const vNext = valueForward(nets.valueTarget, batch.nextObs, n, obsSize, kernels).v;
    const y = bellmanTarget(batch.rewards, batch.dones, batch.discounts, vNext);
    const q = twinRegression(nets, batch, y, 0.5);
    const fv = valueForward(nets.value, batch.obs, n, obsSize, kernels);
    const lv = qRegression(fv.v, mdpoValueTarget(f1.q, f2.q, s.logProb, entropyWeight), 0.5);
    const vGrads = valueBackward(nets.value, fv.trace, lv.dQ, kernels);
    return {
      actorGrads,
      criticGrads: [...q.grads, ...vGrads],
      actorLoss: l.loss,
      qLoss: q.loss,
      valueLoss: lv.loss,
      kl: l.klTerm,
      logProbMean: mean(s.logProb),
    };
  });
}
