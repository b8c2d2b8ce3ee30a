import * as tf from "#tfjs-core";
import type { Rng } from "../core/rng.js";
import { valueLoss } from "../loss/value.js";
import { ConfigError } from "../core/errors.js";
import { Categorical, maskLogits } from "../nn/distributions.js";
import type { Adam } from "../nn/optim.js";
import type { ActorCritic } from "../policies/actor_critic.js";

/*
 * Small pieces the algorithms other than PPO share around an ActorCritic: the actor's
 * variables alone, its differentiable log-probs and entropies, batched read-outs without
 * a gradient tape, and fitting the critic to value targets.
 */

/** The policy's trainable variables without the critic's (the actor MLP and, for Box actions, log-std). */
export function actorVariables(policy: ActorCritic): tf.Variable[] {
  const critic = new Set(policy.critic.variables);
  return policy.trainableVariables().filter((v) => !critic.has(v));
}

/** Tensors of one batch of steps (row-major observations, actions as the policy expects). */
export function stepTensors(policy: ActorCritic, obs: Float32Array, actions: Int32Array | Float32Array, n: number): { obs: tf.Tensor2D; actions: tf.Tensor } {
  const obsT = tf.tensor2d(obs.subarray(0, n * policy.obsSize), [n, policy.obsSize]);
  const actT = policy.discrete
    ? tf.tensor1d((actions as Int32Array).subarray(0, n), "int32")
    : tf.tensor2d((actions as Float32Array).subarray(0, n * policy.actSize), [n, policy.actSize]);
  return { obs: obsT, actions: actT };
}

/**
 * Differentiable actor outputs for a batch — the distribution parameters (logits or Gaussian
 * means), log π(a|s) and the entropy — without running the critic (critic-free losses).
 * Call inside tf.tidy or a loss function.
 */
export function actorForward(
  policy: ActorCritic,
  obs: tf.Tensor2D,
  actions: tf.Tensor,
  masks?: tf.Tensor2D | null,
): { params: tf.Tensor2D; logProb: tf.Tensor1D; entropy: tf.Tensor1D } {
  const raw = policy.actorOutput(obs);
  const dist = policy.dist;
  if (masks && !(dist instanceof Categorical)) {
    throw new ConfigError("action masks apply to Discrete (Categorical) policies only", "set actionMasking=off for continuous action spaces", "mask_needs_discrete");
  }
  // Masked logits are the distribution's parameters: KL terms then compare masked policies.
  const params = masks ? maskLogits(raw, masks) : raw;
  const out = dist instanceof Categorical ? dist.logProbEntropy(params, actions as tf.Tensor1D) : dist.logProbEntropy(params, actions as tf.Tensor2D);
  return { params, ...out };
}

/** A [n, width] int32 tensor of action masks (null in, null out). */
export function maskTensor(masks: Uint8Array | null | undefined, n: number): tf.Tensor2D | null {
  if (!masks || n === 0) return null;
  const width = masks.length / n;
  return tf.tensor2d(Int32Array.from(masks.subarray(0, n * width)), [n, width], "int32");
}

/**
 * log π(a|s) and H(π(·|s)) per step under the current weights, as typed arrays (no tape).
 * `masks`: the steps' action masks, [n, numActions] (see maskTensor).
 */
export function actorReadout(
  policy: ActorCritic,
  obs: Float32Array,
  actions: Int32Array | Float32Array,
  n: number,
  masks?: Uint8Array | null,
): { logProb: Float32Array; entropy: Float32Array; params: Float32Array } {
  if (n === 0) return { logProb: new Float32Array(0), entropy: new Float32Array(0), params: new Float32Array(0) };
  return tf.tidy(() => {
    const t = stepTensors(policy, obs, actions, n);
    const { params, logProb, entropy } = actorForward(policy, t.obs, t.actions, maskTensor(masks, n));
    return {
      logProb: Float32Array.from(logProb.dataSync()),
      entropy: Float32Array.from(entropy.dataSync()),
      params: Float32Array.from(params.dataSync()),
    };
  });
}

export interface CriticFitOptions {
  epochs: number;
  minibatchSize: number;
  /** Clip V around the rollout's values by this much (MDPO, CleanRL); null: plain squared error. */
  clip: number | null;
  /** Global gradient-norm clip of each critic step; null: none (MDPO's authors). */
  maxGradNorm: number | null;
  /** Multiplies the mean squared error: 0.5 (CleanRL, the default) or 1 (MDPO's authors). */
  lossScale?: number;
  /** Skip a last minibatch smaller than minibatchSize in each epoch (MDPO's authors); default false. */
  dropLast?: boolean;
}

/**
 * Regresses the critic on value targets: `epochs` shuffled passes of minibatch steps on
 * `valueLoss` (0.5·mean squared error, clipped around `oldValues` when `clip` is set), with
 * the critic's own optimiser. Returns the mean loss. Call `policy.syncFastWeights()` after.
 */
export function fitCritic(
  policy: ActorCritic,
  optimizer: Adam,
  data: { obs: Float32Array; targets: Float32Array; oldValues?: Float32Array },
  options: CriticFitOptions,
  rng: Rng,
): number {
  const n = data.targets.length;
  if (n === 0) return 0;
  const obsSize = policy.obsSize;
  const size = Math.min(options.minibatchSize, n);
  const obs = new Float32Array(size * obsSize);
  const targets = new Float32Array(size);
  const old = new Float32Array(size);
  const clip = options.clip !== null && data.oldValues ? options.clip : undefined;
  const scale = options.lossScale ?? 0.5;
  let sum = 0;
  let count = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const perm = rng.permutation(n);
    for (let start = 0; start < n; start += size) {
      const m = Math.min(size, n - start);
      if (options.dropLast && m < size) break;
      for (let k = 0; k < m; k++) {
        const i = perm[start + k];
        obs.set(data.obs.subarray(i * obsSize, (i + 1) * obsSize), k * obsSize);
        targets[k] = data.targets[i];
        old[k] = data.oldValues ? data.oldValues[i] : 0;
      }
      const { loss } = optimizer.minimize(() => {
        const v = policy.criticValue(tf.tensor2d(obs.subarray(0, m * obsSize), [m, obsSize]));
        const oldT = clip === undefined ? undefined : tf.tensor1d(old.subarray(0, m));
        const loss = valueLoss(v, tf.tensor1d(targets.subarray(0, m)), oldT, clip);
        // valueLoss is 0.5·mean(…); lossScale 1 doubles it.
        return scale === 0.5 ? loss : (tf.mul(loss, scale / 0.5) as tf.Scalar);
      }, options.maxGradNorm ?? undefined);
      sum += loss;
      count++;
    }
  }
  return count ? sum / count : 0;
}

/** Mean and population std of an array (float64 sums); zeros for an empty one. */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  const n = x.length;
  if (n === 0) return { mean: 0, std: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += x[i];
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (x[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n) };
}
