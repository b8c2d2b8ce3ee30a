/**
 * The off-policy algorithms on `backend: "kernels"` (refinery's WebAssembly SIMD kernels,
 * typed-array gradients, Adam and Polyak on arrays): the Q-network's backward equals tfjs
 * autodiff, a whole run tracks the tfjs run step for step to float rounding (the same
 * applied updates), and runs resume exactly. The per-update gradient checks of SAC, TD3 and
 * off-policy MDPO on the kernels are in continuous_update.test.ts and offpolicy_nets.test.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import type { OffPolicyAlgorithm } from "../../src/algos/off_policy.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { QNetwork } from "../../src/policies/q_network.js";
import { expectClose } from "../policies/offpolicy_reference.js";
import { create, expectExactResume, learningNumbers } from "../helpers/algos.js";

const DQN = { learningStarts: 200, bufferSize: 1000, batchSize: 32, trainFreq: 4, targetNetworkFrequency: 100, iterationSteps: 200, totalTimesteps: 2000, hidden: [32, 32] };
const CONTINUOUS = { hidden: [16, 16], batchSize: 16, learningStarts: 100, iterationSteps: 100, totalTimesteps: 1000, bufferSize: 1000, seed: 3 };

describe("QNetwork on the kernels", () => {
  it.each([false, true])("forwardArrays/backwardArrays equal tf.variableGrads of the same loss (dueling %s)", async (dueling) => {
    await initBackend("cpu");
    const rng = new Rng(21);
    const net = new QNetwork({ obsSize: 5, numActions: 3, hidden: [24, 16], dueling, rng, kernels: true });
    const batch = 19;
    const obs = Float32Array.from({ length: batch * 5 }, () => rng.normal());
    const upstream = Float32Array.from({ length: batch * 3 }, () => rng.normal());
    const x = tf.tensor2d(obs, [batch, 5]);
    const up = tf.tensor2d(upstream, [batch, 3]);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(net.apply(x), up)), net.variables);
    const fwd = net.forwardArrays(obs, batch);
    expectClose(fwd.q, tf.tidy(() => net.apply(x).dataSync()), 1e-5, 0.1);
    expectClose(net.evaluate(obs, batch), fwd.q, 1e-6, 0.1);
    const grads = net.backwardArrays(fwd, upstream);
    expect(grads).toHaveLength(net.variables.length);
    grads.forEach((g, i) => expectClose(g, ref.grads[net.variables[i].name].dataSync()));
    tf.dispose([x, up, ref.value, ...Object.values(ref.grads)]);
    net.dispose();
  });
});

/** Every parameter of a run's exported policy and checkpoint, by name. */
function allArrays(a: OffPolicyAlgorithm): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(a.saveState().arrays).filter(([k]) => k.startsWith("agent/") && !k.includes("Adam/") && !k.includes("adam/")));
}

describe.each([
  ["dqn", DQN, "CartPole-v1"],
  ["dqn", { ...DQN, double: true, dueling: true, nStep: 3, loss: "huber", maxGradNorm: 1, tau: 0.5 }, "CartPole-v1"],
  ["sac", CONTINUOUS, "Pendulum-v1"],
  ["td3", CONTINUOUS, "Pendulum-v1"],
  ["mdpo-off", CONTINUOUS, "Pendulum-v1"],
] as const)("%s on the kernels (%j)", (algo, overrides, env) => {
  it("applies the same updates as the tfjs path: weights, targets and losses agree to float rounding after training", async () => {
    const tfjs = (await create(algo, { ...overrides, backend: "cpu" }, env)) as OffPolicyAlgorithm;
    const kern = (await create(algo, { ...overrides, backend: "kernels" }, env)) as OffPolicyAlgorithm;
    expect(allArrays(kern)).toEqual(allArrays(tfjs)); // the same initial weights
    tfjs.iterate();
    kern.iterate();
    // One training iteration: a few dozen (DQN) to a hundred (SAC/TD3) gradient steps.
    const a = tfjs.iterate();
    const b = kern.iterate();
    expect(b.gradientSteps).toBe(a.gradientSteps);
    expect(a.gradientSteps).toBeGreaterThan(0);
    const wa = allArrays(tfjs);
    const wb = allArrays(kern);
    expect(Object.keys(wb).sort()).toEqual(Object.keys(wa).sort());
    // Summation order differs between the kernels and tfjs, and rounding differences grow
    // over the steps; a wrong gradient, Adam or target update would be off by far more.
    for (const k of Object.keys(wa)) if (!k.startsWith("agent/logAlpha")) expectClose(wb[k], wa[k], 2e-3, 0.05);
    const loss = algo === "dqn" ? "loss" : "qLoss";
    expect(Math.abs(b[loss] - a[loss])).toBeLessThanOrEqual(1e-3 * Math.abs(a[loss]) + 1e-5);
    tfjs.dispose();
    kern.dispose();
  });

  it("resumes exactly from saveState and is deterministic per seed", async () => {
    await expectExactResume(algo, { ...overrides, backend: "kernels" }, env);
    const run = async () => {
      const a = await create(algo, { ...overrides, backend: "kernels" }, env);
      const rows = learningNumbers([a.iterate(), a.iterate()]);
      a.dispose();
      return rows;
    };
    expect(await run()).toEqual(await run());
  });
});
