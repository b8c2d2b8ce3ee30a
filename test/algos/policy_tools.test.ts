import { describe, expect, it } from "vitest";
import { fitCritic } from "../../src/algos/policy_tools.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { Adam } from "../../src/nn/optim.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";

/** A fresh critic, its Adam, and 10 fixed regression rows (targets far from the initial V ≈ 0). */
function setup() {
  const policy = new ActorCritic({ observationSpace: new Box(-1, 1, [2]), actionSpace: new Discrete(2), hidden: [8], rng: new Rng(3) });
  const optimizer = new Adam(policy.critic.variables, { learningRate: 1e-3, epsilon: 1e-5 });
  const obs = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i));
  const targets = Float32Array.from({ length: 10 }, (_, i) => 5 + i);
  return { policy, optimizer, data: { obs, targets } };
}

describe("fitCritic options (MDPO's authors vs CleanRL)", () => {
  it("lossScale 1 reports twice the ½·MSE of the same first step", async () => {
    await initBackend("cpu");
    const one = (lossScale: number) => {
      const { policy, optimizer, data } = setup();
      const loss = fitCritic(policy, optimizer, data, { epochs: 1, minibatchSize: 10, clip: null, maxGradNorm: null, lossScale }, new Rng(1));
      policy.dispose();
      optimizer.dispose();
      return loss;
    };
    const half = one(0.5);
    expect(half).toBeGreaterThan(10); // targets 5..14 against V ≈ 0
    expect(one(1)).toBeCloseTo(2 * half, 4);
  });

  it("dropLast skips the partial minibatch; without it the partial one is a step too", async () => {
    await initBackend("cpu");
    const steps = (dropLast: boolean) => {
      const { policy, optimizer, data } = setup();
      fitCritic(policy, optimizer, data, { epochs: 2, minibatchSize: 4, clip: null, maxGradNorm: 0.5, dropLast }, new Rng(1));
      const n = optimizer.getState().step;
      policy.dispose();
      optimizer.dispose();
      return n;
    };
    expect(steps(true)).toBe(4); // 2 epochs × ⌊10/4⌋
    expect(steps(false)).toBe(6); // 2 epochs × ⌈10/4⌉
  });
});
