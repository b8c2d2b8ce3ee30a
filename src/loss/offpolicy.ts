/**
 * The update rules of the continuous off-policy methods (SAC, TD3, off-policy MDPO) as pure
 * functions on typed arrays: targets, losses and each loss's derivative by the quantities the
 * networks produce. The algorithms carry those derivatives back through the networks.
 * A done flag marks true terminal transitions only: a time-limit truncation bootstraps.
 * All losses are minimised; batch means are over the rows.
 */
import { ConfigError } from "../core/errors.js";

/**
 * Bellman target y = r + discount·(1 − done)·next per row, for a bootstrap value already
 * computed (SAC: min(Q̄1, Q̄2)(s', a') − α·log π(a'|s'); TD3: min(Q̄1, Q̄2)(s', ã'); MDPO: V̄(s')).
 * `discount` is γ for one-step transitions, γ^m for m-step returns; `done` marks termination only.
 */
export function bellmanTarget(rewards: ArrayLike<number>, dones: ArrayLike<number>, discounts: ArrayLike<number>, next: ArrayLike<number>): Float32Array {
  const n = rewards.length;
  if (dones.length !== n || discounts.length !== n || next.length !== n) {
    throw new ConfigError(`bellmanTarget: ${n} rewards, ${dones.length} done flags, ${discounts.length} discounts and ${next.length} bootstrap values`, "pass one of each per transition");
  }
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = rewards[i] + discounts[i] * (dones[i] ? 0 : 1) * next[i];
  return y;
}

/** SAC's soft bootstrap value min(q1, q2) − α·log π, per row. */
export function softBootstrap(q1: ArrayLike<number>, q2: ArrayLike<number>, logProb: ArrayLike<number>, alpha: number): Float32Array {
  const out = new Float32Array(q1.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(q1[i], q2[i]) - alpha * logProb[i];
  return out;
}

/** Element-wise min(q1, q2) (TD3's clipped double-Q bootstrap). */
export function minOf(q1: ArrayLike<number>, q2: ArrayLike<number>): Float32Array {
  const out = new Float32Array(q1.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(q1[i], q2[i]);
  return out;
}

/**
 * Regression of Q onto a fixed target: weight·mean((q − y)²) and its derivative by q. CleanRL's
 * SAC/TD3 use weight 1 per critic (the twin losses are summed); the MDPO code uses ½.
 */
export function qRegression(q: ArrayLike<number>, y: ArrayLike<number>, weight = 1): { loss: number; dQ: Float32Array } {
  const n = q.length;
  const dQ = new Float32Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const e = q[i] - y[i];
    loss += e * e;
    dQ[i] = (2 * weight * e) / n;
  }
  return { loss: (weight * loss) / n, dQ };
}

/**
 * SAC's actor loss mean(α·log π(ã|s) − min(Q1, Q2)(s, ã)) and its derivatives: by log π
 * (α/n) and by each critic's value (−1/n on the row where that critic is the smaller;
 * the first on ties, as torch.min's gradient).
 */
export function sacActorLoss(logProb: ArrayLike<number>, q1: ArrayLike<number>, q2: ArrayLike<number>, alpha: number): { loss: number; dLogProb: Float32Array; dQ1: Float32Array; dQ2: Float32Array } {
  const n = logProb.length;
  const dLogProb = new Float32Array(n).fill(alpha / n);
  const dQ1 = new Float32Array(n);
  const dQ2 = new Float32Array(n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const first = q1[i] <= q2[i];
    loss += alpha * logProb[i] - (first ? q1[i] : q2[i]);
    if (first) dQ1[i] = -1 / n;
    else dQ2[i] = -1 / n;
  }
  return { loss: loss / n, dLogProb, dQ1, dQ2 };
}

/**
 * CleanRL's temperature loss −mean(exp(log α)·(log π + H̄)) with H̄ the target entropy
 * (−|A| by default), and its derivative by log α. log π comes from a sample that carries no
 * gradient. The gradient pushes α up when the policy's entropy −log π falls below H̄.
 */
export function alphaLoss(logAlpha: number, logProb: ArrayLike<number>, targetEntropy: number): { loss: number; dLogAlpha: number } {
  let mean = 0;
  for (let i = 0; i < logProb.length; i++) mean += logProb[i] + targetEntropy;
  mean /= logProb.length;
  const loss = -Math.exp(logAlpha) * mean;
  return { loss, dLogAlpha: loss };
}

/**
 * TD3's target policy smoothing: ã' = clip(μ̄(s') + clip(σ·ξ, −c, c)·scale, low, high), with ξ
 * standard normal noise, σ = policyNoise and c = noiseClip, per action dimension j.
 */
export function smoothTargetActions(
  targetActions: ArrayLike<number>,
  noise: ArrayLike<number>,
  bounds: { low: ArrayLike<number>; high: ArrayLike<number> },
  policyNoise: number,
  noiseClip: number,
): Float32Array {
  const A = bounds.low.length;
  const out = new Float32Array(targetActions.length);
  for (let k = 0; k < out.length; k++) {
    const j = k % A;
    const scale = (bounds.high[j] - bounds.low[j]) / 2;
    const eps = Math.min(noiseClip, Math.max(-noiseClip, policyNoise * noise[k])) * scale;
    out[k] = Math.min(bounds.high[j], Math.max(bounds.low[j], targetActions[k] + eps));
  }
  return out;
}

/** TD3's actor loss −mean Q1(s, μ(s)) and its derivative by Q1 (−1/n per row). */
export function deterministicActorLoss(q1: ArrayLike<number>): { loss: number; dQ1: Float32Array } {
  const n = q1.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += q1[i];
  return { loss: -sum / n, dQ1: new Float32Array(n).fill(-1 / n) };
}

/**
 * Off-policy MDPO's actor loss, per row with ã ~ π_θ reparameterised:
 *   c·(log π_θ(ã) − log π_old(ã)) + λ·log π_old(ã) − Q1(s, ã)
 * averaged, where c is the mirror-descent (KL) coefficient and λ the entropy weight; plus the
 * 1e-3·mean(μ²) + 1e-3·mean(log σ²) regulariser of the authors' code. Derivatives by log π_θ
 * (c/n), by log π_old at the sample ((λ − c)/n), by Q1 (−1/n), by μ and by log σ.
 */
export function mdpoOffActorLoss(
  logProb: ArrayLike<number>,
  oldLogProb: ArrayLike<number>,
  q1: ArrayLike<number>,
  mean: ArrayLike<number>,
  logStd: ArrayLike<number>,
  klCoef: number,
  entropyWeight: number,
  regWeight = 1e-3,
): { loss: number; klTerm: number; dLogProb: Float32Array; dOldLogProb: Float32Array; dQ1: Float32Array; dMean: Float32Array; dLogStd: Float32Array } {
  const n = logProb.length;
  const m = mean.length;
  let loss = 0;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    kl += logProb[i] - oldLogProb[i];
    loss += klCoef * (logProb[i] - oldLogProb[i]) + entropyWeight * oldLogProb[i] - q1[i];
  }
  loss /= n;
  const dMean = new Float32Array(m);
  const dLogStd = new Float32Array(m);
  let reg = 0;
  for (let k = 0; k < m; k++) {
    reg += mean[k] * mean[k] + logStd[k] * logStd[k];
    dMean[k] = (2 * regWeight * mean[k]) / m;
    dLogStd[k] = (2 * regWeight * logStd[k]) / m;
  }
  return {
    loss: loss + (regWeight * reg) / m,
    klTerm: kl / n,
    dLogProb: new Float32Array(n).fill(klCoef / n),
    dOldLogProb: new Float32Array(n).fill((entropyWeight - klCoef) / n),
    dQ1: new Float32Array(n).fill(-1 / n),
    dMean,
    dLogStd,
  };
}

/** Off-policy MDPO's state-value target min(Q1, Q2)(s, ã) − λ·log π_θ(ã|s). */
export function mdpoValueTarget(q1: ArrayLike<number>, q2: ArrayLike<number>, logProb: ArrayLike<number>, entropyWeight: number): Float32Array {
  return softBootstrap(q1, q2, logProb, entropyWeight);
}

/** Polyak averaging θ̄ ← τ·θ + (1 − τ)·θ̄ in place on weight arrays (τ = 1: a hard copy). */
export function polyakUpdate(target: Float32Array[], online: readonly Float32Array[], tau: number): void {
  if (target.length !== online.length) throw new ConfigError(`polyakUpdate: ${target.length} target and ${online.length} online arrays`, "pass weights of the same network shape");
  target.forEach((t, a) => {
    const o = online[a];
    for (let i = 0; i < t.length; i++) t[i] = tau * o[i] + (1 - tau) * t[i];
  });
}
