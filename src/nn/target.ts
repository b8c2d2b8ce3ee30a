import * as tf from "#tfjs-core";
import { ConfigError, describeValue } from "../core/errors.js";
import type { MLP } from "./mlp.js";

/**
 * Target networks of off-policy learners: a frozen copy Q̄ of a network Q that the
 * bootstrap targets read, moved towards Q by Polyak averaging
 *   θ̄ ← τ·θ + (1 − τ)·θ̄
 * (SAC and TD3: τ = 0.005 every update) or copied outright (τ = 1: DQN's hard update every
 * N steps). τ = 1 copies the values exactly instead of computing 1·θ + 0·θ̄.
 */
export function updateTarget(target: readonly tf.Variable[], online: readonly tf.Variable[], tau: number): void {
  if (!(tau > 0 && tau <= 1)) {
    throw new ConfigError(`the target-network rate tau must be in (0, 1], got ${describeValue(tau)}`, "use 1 for a hard copy or e.g. 0.005 for Polyak averaging");
  }
  if (target.length !== online.length || target.some((v, i) => v.size !== online[i].size)) {
    throw new ConfigError(
      `target network has ${target.length} parameters of sizes [${target.map((v) => v.size).join(", ")}] but the online one [${online.map((v) => v.size).join(", ")}]`,
      "build the target with the same sizes as the network it follows",
    );
  }
  tf.tidy(() => {
    target.forEach((t, i) => {
      const o = online[i];
      t.assign(tau === 1 ? o.clone() : tf.add(tf.mul(o, tau), tf.mul(t, 1 - tau)));
    });
  });
}

/**
 * `updateTarget` of whole networks on either backend: with `kernels`, on the networks'
 * typed-array weights in place (θ̄ ← τ·θ + (1 − τ)·θ̄ in float64, rounded once; τ = 1
 * copies), the variables following lazily; otherwise on the tfjs variables.
 */
export function updateTargetNetwork(target: MLP, online: MLP, tau: number, kernels: boolean): void {
  if (!kernels) {
    updateTarget(target.variables, online.variables, tau);
    return;
  }
  if (!(tau > 0 && tau <= 1)) {
    throw new ConfigError(`the target-network rate tau must be in (0, 1], got ${describeValue(tau)}`, "use 1 for a hard copy or e.g. 0.005 for Polyak averaging");
  }
  const t = target.kernelWeights();
  const o = online.kernelWeights();
  if (t.length !== o.length || t.some((w, i) => w.length !== o[i].length)) {
    throw new ConfigError(`target network sizes [${target.sizes.join(", ")}] differ from the online network's [${online.sizes.join(", ")}]`, "build the target with the same sizes as the network it follows");
  }
  for (let a = 0; a < t.length; a++) polyakArray(t[a], o[a], tau);
  target.kernelWeightsChanged();
}

function polyakArray(t: Float32Array, o: Float32Array, tau: number): void {
  if (tau === 1) {
    t.set(o);
    return;
  }
  const keep = 1 - tau;
  for (let i = 0; i < t.length; i++) t[i] = tau * o[i] + keep * t[i];
}

/**
 * When a target update is due: `every` counts calls (env steps, or gradient steps, as the
 * algorithm decides), so `due(count)` is true on counts every, 2·every, …
 */
export function targetUpdateDue(count: number, every: number): boolean {
  return every > 0 && count > 0 && count % every === 0;
}
