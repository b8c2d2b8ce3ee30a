// PPO's update plumbing: the rows a permutation picks (observations and actions of more than
// one entry per step, action masks), the epoch loop's KL stop, and the step on refinery's SIMD
// kernels (backend "kernels"), whose gradient must equal autodiff of PPO's objective too.
import { describe, expect, it } from "vitest";
import { Minibatch } from "../../src/algos/ppo.js";
import type { RolloutBatch } from "../../src/rollout/step_collector.js";
import { iterations } from "../helpers/algos.js";
import { expectSameGradients, ppoLoss, record, referenceGrads, type Step } from "../helpers/update_probe.js";

/** A rollout of `n` steps whose every entry encodes its step t (obs 10·t + j, actions 100·t + j, log-prob −1 − t, masks (t + j) % 2). */
function rollout(n: number, obsSize: number, actSize: number, discrete: boolean, maskWidth: number): RolloutBatch {
  return {
    numSteps: n,
    numEnvs: 1,
    obsSize,
    actSize,
    discrete,
    obs: Float32Array.from({ length: n * obsSize }, (_, i) => 10 * Math.floor(i / obsSize) + (i % obsSize)),
    actions: discrete ? Int32Array.from({ length: n }, (_, t) => 100 * t) : Float32Array.from({ length: n * actSize }, (_, i) => 100 * Math.floor(i / actSize) + (i % actSize)),
    logProbs: Float32Array.from({ length: n }, (_, t) => -1 - t),
    values: Float32Array.from({ length: n }, (_, t) => 2 * t),
    rewards: new Float32Array(n),
    dones: new Uint8Array(n),
    lastValues: new Float32Array(1),
    episodes: [],
    ...(maskWidth > 0 ? { actionMasks: Uint8Array.from({ length: n * maskWidth }, (_, i) => (Math.floor(i / maskWidth) + (i % maskWidth)) % 2) } : {}),
  };
}

describe("PPO's Minibatch.gather", () => {
  const n = 6;
  const perm = [4, 1, 5, 0, 3, 2];
  const advantages = Float32Array.from({ length: n }, (_, t) => 0.5 * t);
  const returns = Float32Array.from({ length: n }, (_, t) => 3 * t);

  it("copies rows perm[start..start+size) with every obs and action entry (obs 3, actions 2 per step)", () => {
    const batch = rollout(n, 3, 2, false, 0);
    const mb = new Minibatch(3, 3, 2, false);
    mb.gather(batch, advantages, returns, perm, 1); // rows 1, 5, 0
    const rows = [1, 5, 0];
    expect(Array.from(mb.obs)).toEqual(rows.flatMap((t) => [10 * t, 10 * t + 1, 10 * t + 2]));
    expect(Array.from(mb.actions)).toEqual(rows.flatMap((t) => [100 * t, 100 * t + 1]));
    expect(Array.from(mb.logProbs)).toEqual(rows.map((t) => -1 - t));
    expect(Array.from(mb.advantages)).toEqual(rows.map((t) => 0.5 * t));
    expect(Array.from(mb.returns)).toEqual(rows.map((t) => 3 * t));
    expect(Array.from(mb.values)).toEqual(rows.map((t) => 2 * t));
    expect(mb.masks).toBeNull();
  });

  it("gathers each step's action mask with it (discrete actions, 3 flags per step)", () => {
    const batch = rollout(n, 2, 1, true, 3);
    const mb = new Minibatch(2, 2, 1, true, 3);
    mb.gather(batch, advantages, returns, perm, 0); // rows 4, 1
    expect(Array.from(mb.actions)).toEqual([400, 100]);
    const flags = (t: number) => [0, 1, 2].map((j) => (t + j) % 2);
    expect(Array.from(mb.masks as Uint8Array)).toEqual([...flags(4), ...flags(1)]);
  });

  it("leaves the masks out when the learner does not mask, even if the rollout carries them", () => {
    const mb = new Minibatch(2, 2, 1, true, 0);
    mb.gather(rollout(n, 2, 1, true, 3), advantages, returns, perm, 0);
    expect(mb.masks).toBeNull();
    expect(Array.from(mb.obs)).toEqual([40, 41, 10, 11]);
  });
});

describe("PPO's epochs", () => {
  it("runs every epoch while approx-KL stays under targetKl (and stops after one when it does not)", async () => {
    const overrides = { numSteps: 32, totalTimesteps: 1280, learningRate: 1e-2, updateEpochs: 3 };
    const [loose] = await iterations("ppo", { ...overrides, targetKl: 1e9 }, 1);
    expect(loose.epochs).toBe(3);
    const [tight] = await iterations("ppo", { ...overrides, targetKl: 1e-9 }, 1);
    expect(tight.epochs).toBe(1);
  });
});

describe("PPO on the SIMD kernels", () => {
  it("applies the gradient of the clipped surrogate, value loss and entropy bonus, and reports the step's metrics", async () => {
    const o = { clipCoef: 0.1, entCoef: 0.3, vfCoef: 0.7, gamma: 0.9, gaeLambda: 0.8, normAdv: true, clipVloss: true };
    const r = await record<RolloutBatch>("ppo", { ...o, numEnvs: 2, numSteps: 8, numMinibatches: 1, updateEpochs: 2, learningRate: 0.03, annealLr: false, totalTimesteps: 32 }, "kernels", 0);
    const { policy, optimizer } = r.internals;
    // The kernel path hands Adam typed arrays (applyGradientArrays), not tensors.
    const steps: Step[] = [];
    const apply = optimizer.applyGradientArrays.bind(optimizer);
    optimizer.applyGradientArrays = (grads, ...rest) => {
      steps.push({ weights: policy.getWeights(), grads: grads.map((g) => g.slice()) });
      return apply(grads, ...rest);
    };
    const m = r.algo.iterate();
    expect(steps).toHaveLength(2);
    const objective = ppoLoss(policy, r.batches[0], o);
    for (const step of steps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
    expect(m.gradNorm).toBeGreaterThan(0);
    expect(m.entropy).toBeCloseTo(Math.log(2), 1); // a fresh 2-action policy
    expect(Number.isFinite(m.policyLoss) && Number.isFinite(m.valueLoss)).toBe(true);
    r.algo.dispose();
  });
});
