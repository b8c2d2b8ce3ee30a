/**
 * Generalised Advantage Estimation (Schulman et al., 2016), on flat typed arrays laid out
 * time-major: index `t * numEnvs + e` is step t of env e.
 *
 *   δ_t = r_t + γ·V(s_{t+1})·(1 − done_t) − V(s_t)
 *   A_t = δ_t + γ·λ·(1 − done_t)·A_{t+1}
 *   R_t = A_t + V(s_t)          (the value target)
 *
 * `dones[t]` is 1 when the episode ended *at* step t (terminated or truncated), so
 * s_{t+1} belongs to a new episode and nothing is bootstrapped across it. Truncation is
 * handled by the collector, which adds γ·V(final observation) to the reward of a
 * truncated step before calling this (as Stable-Baselines3 does), so a truncated episode
 * is still bootstrapped from its true last state while a terminated one is not.
 * `lastValues[e]` is V of the observation after the final step (the bootstrap).
 */
export interface GaeInput {
  rewards: ArrayLike<number>;
  values: ArrayLike<number>;
  dones: ArrayLike<number>;
  lastValues: ArrayLike<number>;
  numEnvs: number;
  gamma: number;
  lambda: number;
}

export function gae(input: GaeInput): { advantages: Float32Array; returns: Float32Array } {
  const { rewards, values, dones, lastValues, numEnvs, gamma, lambda } = input;
  const n = rewards.length;
  const steps = n / numEnvs;
  const advantages = new Float32Array(n);
  const returns = new Float32Array(n);
  for (let e = 0; e < numEnvs; e++) {
    let next = 0; // A_{t+1}
    let nextValue = lastValues[e];
    for (let t = steps - 1; t >= 0; t--) {
      const i = t * numEnvs + e;
      const notDone = 1 - dones[i];
      const delta = rewards[i] + gamma * nextValue * notDone - values[i];
      next = delta + gamma * lambda * notDone * next;
      advantages[i] = next;
      returns[i] = next + values[i];
      nextValue = values[i];
    }
  }
  return { advantages, returns };
}
