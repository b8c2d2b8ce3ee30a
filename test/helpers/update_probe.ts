// Probes for tests of what an algorithm's update does: spies that record the batches it
// collects and every gradient it hands its optimiser (with the weights the step started from),
// and the plain pieces from which tests write the objectives out independently.
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import type { Algorithm } from "../../src/algos/types.js";
import type { BackendName } from "../../src/core/backend.js";
import type { Rng } from "../../src/core/rng.js";
import type { Adam } from "../../src/nn/optim.js";
import type { ActorCritic } from "../../src/policies/actor_critic.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import type { RolloutBatch } from "../../src/rollout/step_collector.js";

/** What an algorithm exposes to this test (its private parts reached by name). */
export interface Internals {
  policy: ActorCritic;
  optimizer: Adam;
  criticOptimizer: Adam | null;
  collector: { collect: (...args: unknown[]) => unknown };
  rng: Rng;
}

/** One optimiser step: the weights it started from and the gradient it was given (variable order). */
export interface Step {
  weights: Record<string, Float32Array>;
  grads: Float32Array[];
}

export interface Recorded<B> {
  algo: Algorithm;
  internals: Internals;
  batches: B[];
  policySteps: Step[];
  criticSteps: Step[];
  permutations: Int32Array[];
}

export function recordSteps(optimizer: Adam, policy: ActorCritic): Step[] {
  const steps: Step[] = [];
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads, maxGradNorm) => {
    const weights = Object.fromEntries(Object.entries(policy.getWeights()).map(([k, v]) => [k, v.slice()]));
    steps.push({ weights, grads: grads.map((g, i) => (g ? Float32Array.from(g.dataSync()) : new Float32Array(optimizer.variables[i].size))) });
    return apply(grads, maxGradNorm);
  };
  return steps;
}

/** A fresh run of `algo` with the spies in place, after `iterations` iterations (backend "kernels" for algorithms that have it). */
export async function record<B>(algo: string, overrides: Record<string, unknown>, backend: BackendName | "kernels", iterations = 1, env = "CartPole-v1", preset?: string): Promise<Recorded<B>> {
  const config = resolveConfig({ algo, env, preset, overrides: { backend, ...overrides } });
  const a = await ALGORITHMS[algo].create(config);
  const internals = a as unknown as Internals;
  const batches: B[] = [];
  const collect = internals.collector.collect.bind(internals.collector);
  internals.collector.collect = (...args: unknown[]) => {
    const b = collect(...args) as B;
    batches.push(b);
    return b;
  };
  const permutations: Int32Array[] = [];
  const permutation = internals.rng.permutation.bind(internals.rng);
  internals.rng.permutation = (n: number) => {
    const p = permutation(n);
    permutations.push(p.slice());
    return p;
  };
  const policySteps = recordSteps(internals.optimizer, internals.policy);
  const criticSteps = internals.criticOptimizer ? recordSteps(internals.criticOptimizer, internals.policy) : [];
  for (let i = 0; i < iterations; i++) a.iterate();
  return { algo: a, internals, batches, policySteps, criticSteps, permutations };
}

/** tfjs autodiff of `loss` with respect to the optimiser's variables, at `weights`. */
export function referenceGrads(policy: ActorCritic, optimizer: Adam, weights: Record<string, Float32Array>, loss: () => tf.Scalar): Float32Array[] {
  policy.setWeights(weights);
  const out: Float32Array[] = [];
  tf.tidy(() => {
    const { grads } = tf.variableGrads(loss, optimizer.variables as tf.Variable[]);
    for (const v of optimizer.variables) out.push(grads[v.name] ? Float32Array.from(grads[v.name].dataSync()) : new Float32Array(v.size));
  });
  return out;
}

/** Every component within 1e-4 of the largest one (float32 noise is ~1e-6; a wrong term is ≫ 1e-3). */
export function expectSameGradients(got: Float32Array[], want: Float32Array[]): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  let err = 0;
  got.forEach((g, i) => {
    expect(g.length).toBe(want[i].length);
    for (let j = 0; j < g.length; j++) {
      scale = Math.max(scale, Math.abs(want[i][j]));
      err = Math.max(err, Math.abs(g[j] - want[i][j]));
    }
  });
  expect(scale).toBeGreaterThan(1e-6);
  expect(err / scale).toBeLessThan(1e-4);
}

// ---- forward pass pieces (the policy's network, nothing of the algorithm) ----

export function obsTensor(policy: ActorCritic, obs: Float32Array, n: number): tf.Tensor2D {
  return tf.tensor2d(obs.subarray(0, n * policy.obsSize), [n, policy.obsSize]);
}

export function actTensor(policy: ActorCritic, actions: Int32Array | Float32Array, n: number): tf.Tensor {
  return policy.discrete ? tf.tensor1d(actions.subarray(0, n) as Int32Array, "int32") : tf.tensor2d(actions.subarray(0, n * policy.actSize) as Float32Array, [n, policy.actSize]);
}

/** log π, H and V of n steps; `masks` ([n, numActions] 0/1, Discrete) masks the logits first. */
export function forward(policy: ActorCritic, obs: Float32Array, actions: Int32Array | Float32Array, n: number, masks?: Uint8Array | null) {
  const masksT = masks ? tf.tensor2d(Int32Array.from(masks), [n, masks.length / n], "int32") : null;
  return policy.evaluate(obsTensor(policy, obs, n), actTensor(policy, actions, n), masksT);
}

/** Log-probabilities of every action of a Discrete policy, [n, A], from log π(a|s) of constant actions. */
export function allLogProbs(policy: ActorCritic, obs: Float32Array, n: number, numActions: number): tf.Tensor2D {
  const cols = Array.from({ length: numActions }, (_, a) => policy.evaluate(obsTensor(policy, obs, n), tf.fill([n], a, "int32")).logProb);
  return tf.stack(cols, 1) as tf.Tensor2D;
}

/** Values of a tensor computed (and freed) in a tidy scope, as plain numbers. */
export function readOut(f: () => tf.Tensor): number[] {
  const t = tf.tidy(f);
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

export function critic(policy: ActorCritic, obs: Float32Array, n: number): number[] {
  return readOut(() => tf.reshape(policy.critic.apply(obsTensor(policy, obs, n)), [-1]));
}

export function entropies(policy: ActorCritic, obs: Float32Array, actions: Int32Array | Float32Array, n: number): number[] {
  return readOut(() => forward(policy, obs, actions, n).entropy);
}

// ---- plain-number pieces of the objectives ----

export const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);
export const mean = (xs: ArrayLike<number>) => sum(xs) / xs.length;
export function std(xs: ArrayLike<number>, unbiased = true): number {
  const m = mean(xs);
  return Math.sqrt(sum(Array.from(xs, (x) => (x - m) ** 2)) / (xs.length - (unbiased ? 1 : 0)));
}
export const standardise = (xs: ArrayLike<number>, unbiased = true, eps = 1e-8) => {
  const m = mean(xs);
  const s = std(xs, unbiased);
  return Array.from(xs, (x) => (x - m) / (s + eps));
};

/** GAE over a time-major [numSteps, numEnvs] rollout whose `dones` mark the step an episode ended at. */
export function gaeReference(b: RolloutBatch, gamma: number, lambda: number): { adv: number[]; returns: number[] } {
  const E = b.numEnvs;
  const adv = new Array<number>(b.numSteps * E).fill(0);
  for (let e = 0; e < E; e++) {
    let next = 0;
    for (let t = b.numSteps - 1; t >= 0; t--) {
      const i = t * E + e;
      const alive = b.dones[i] ? 0 : 1;
      const nextValue = t === b.numSteps - 1 ? b.lastValues[e] : b.values[i + E];
      const delta = b.rewards[i] + gamma * nextValue * alive - b.values[i];
      next = delta + gamma * lambda * alive * next;
      adv[i] = next;
    }
  }
  return { adv, returns: adv.map((a, i) => a + b.values[i]) };
}

/** The steps of each episode of a group batch. */
export function episodeSteps(b: GroupBatch, e: number): number[] {
  return Array.from({ length: b.episodeLength[e] }, (_, k) => b.episodeStart[e] + k);
}

/**
 * Per-step losses [N] aggregated over episodes given as lists of step rows, as a weighted sum
 * (a gather's gradient needs a kernel wasm lacks): grpo weighs a step 1/(|o_i|·episodes), bnpo
 * 1/(steps), dr_grpo 1/(episodes·L_max); episodes without rows do not count.
 */
export function aggregateRows(perStep: tf.Tensor1D, episodes: number[][], mode: string, maxLen: number): tf.Scalar {
  const kept = episodes.filter((rows) => rows.length > 0);
  const steps = kept.reduce((s, rows) => s + rows.length, 0);
  const w = new Float32Array(perStep.shape[0]);
  for (const rows of kept) {
    for (const t of rows) w[t] = mode === "grpo" ? 1 / (rows.length * kept.length) : mode === "bnpo" ? 1 / steps : 1 / (kept.length * maxLen);
  }
  return tf.sum(tf.mul(perStep, tf.tensor1d(w))) as tf.Scalar;
}

/** −min(ρA, clip(ρ, 1 − lo, 1 + hi)·A) per step. */
export function clippedLoss(logProb: tf.Tensor1D, old: ArrayLike<number>, adv: ArrayLike<number>, lo: number, hi: number): tf.Tensor1D {
  const ratio = tf.exp(tf.sub(logProb, tf.tensor1d(Array.from(old))));
  const A = tf.tensor1d(Array.from(adv));
  return tf.neg(tf.minimum(tf.mul(ratio, A), tf.mul(tf.clipByValue(ratio, 1 - lo, 1 + hi), A))) as tf.Tensor1D;
}

/** Fraction of the steps whose ratio at `weights` lies outside [1 − lo, 1 + hi] (to know the clip branch ran). */
export function clippedShare(policy: ActorCritic, weights: Record<string, Float32Array>, obs: Float32Array, actions: Int32Array | Float32Array, old: ArrayLike<number>, lo: number, hi: number): number {
  policy.setWeights(weights);
  const lp = readOut(() => forward(policy, obs, actions, old.length).logProb);
  return mean(lp.map((l, i) => (Math.exp(l - old[i]) < 1 - lo || Math.exp(l - old[i]) > 1 + hi ? 1 : 0)));
}


/** The value of `loss` at `weights` (the policy keeps them). */
export function lossAt(policy: ActorCritic, weights: Record<string, Float32Array>, loss: () => tf.Scalar): number {
  policy.setWeights(weights);
  return readOut(loss)[0];
}

/**
 * PPO's full-batch loss as CleanRL writes it, from the batch's raw data (GAE here, not the
 * algorithm's); `part` picks the actor's terms (surrogate − entropy bonus), the critic's
 * (vfCoef·value loss) or their sum.
 */
export function ppoLoss(
  policy: ActorCritic,
  b: RolloutBatch,
  o: { clipCoef: number; entCoef: number; vfCoef: number; gamma: number; gaeLambda: number; normAdv: boolean; clipVloss: boolean },
  part: "actor" | "critic" | "all" = "all",
): () => tf.Scalar {
  const n = b.numSteps * b.numEnvs;
  const { adv: rawAdv, returns } = gaeReference(b, o.gamma, o.gaeLambda);
  const adv = o.normAdv ? standardise(rawAdv) : rawAdv;
  return () => {
    const { logProb, entropy, value } = forward(policy, b.obs, b.actions, n);
    const pg = tf.mean(clippedLoss(logProb, b.logProbs, adv, o.clipCoef, o.clipCoef));
    const R = tf.tensor1d(returns);
    const unclipped = tf.square(tf.sub(value, R));
    const vOld = tf.tensor1d(b.values);
    const vClipped = tf.add(vOld, tf.clipByValue(tf.sub(value, vOld), -o.clipCoef, o.clipCoef));
    const vl = tf.mul(0.5, tf.mean(o.clipVloss ? tf.maximum(unclipped, tf.square(tf.sub(vClipped, R))) : unclipped));
    const actor = tf.sub(pg, tf.mul(o.entCoef, tf.mean(entropy)));
    const critic = tf.mul(o.vfCoef, vl);
    return (part === "actor" ? actor : part === "critic" ? critic : tf.add(actor, critic)) as tf.Scalar;
  };
}
