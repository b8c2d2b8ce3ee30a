import * as tf from "@tensorflow/tfjs-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { Adam } from "../../src/nn/optim.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";
import { train } from "../../src/train/trainer.js";

// The `kernels` backend: the networks' training forward and backward on refinery's
// WebAssembly SIMD kernels, checked against tfjs's autodiff of the same loss.

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

type Kind = "discrete" | "box" | "sde" | "relu";

function makePolicy(kind: Kind, rng: Rng): ActorCritic {
  return new ActorCritic({
    observationSpace: new Box(-5, 5, [4]),
    actionSpace: kind === "discrete" || kind === "relu" ? new Discrete(3) : new Box(-1, 1, [2]),
    rng,
    actorHeadGain: 1,
    useSde: kind === "sde",
    activation: kind === "relu" ? "relu" : "tanh",
  });
}

const root = mkdtempSync(join(tmpdir(), "refinery-kernels-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("ActorCritic on the SIMD kernels", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it.each<Kind>(["discrete", "box", "sde", "relu"])("forwardForLossKernels/backwardForLossKernels equal evaluate under tf.variableGrads (%s)", (kind) => {
    const rng = new Rng(31);
    const policy = makePolicy(kind, rng);
    const batch = 37; // not a multiple of the kernel's 4-row block
    const obs = randomArray(rng, batch * 4, 2);
    const discrete = kind === "discrete" || kind === "relu";
    const actions = discrete ? Int32Array.from({ length: batch }, () => rng.integer(0, 3)) : randomArray(rng, batch * 2, 0.5);
    const [dLogProb, dEntropy, dValue] = [randomArray(rng, batch), randomArray(rng, batch), randomArray(rng, batch)];
    const vars = policy.trainableVariables();
    const actT = () => (discrete ? tf.tensor1d(actions as Int32Array, "int32") : tf.tensor2d(actions as Float32Array, [batch, 2]));
    const ref = tf.variableGrads(() => {
      const { logProb, entropy, value } = policy.evaluate(tf.tensor2d(obs, [batch, 4]), actT());
      const dot = (t: tf.Tensor1D, d: Float32Array) => tf.sum(tf.mul(t, tf.tensor1d(d)));
      return tf.addN([dot(logProb, dLogProb), dot(entropy, dEntropy), dot(value, dValue)]) as tf.Scalar;
    }, vars);

    const fwd = policy.forwardForLossKernels(obs, actions, batch);
    const ev = tf.tidy(() => {
      const e = policy.evaluate(tf.tensor2d(obs, [batch, 4]), actT());
      return [e.logProb, e.entropy, e.value].map((t) => t.dataSync() as Float32Array);
    });
    [fwd.logProb, fwd.entropy, fwd.value].forEach((got, j) => got.forEach((x, i) => expect(Math.abs(x - ev[j][i])).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(ev[j][i])))));

    const grads = policy.backwardForLossKernels(fwd, dLogProb, dEntropy, dValue);
    expect(grads).toHaveLength(vars.length);
    grads.forEach((got, k) => {
      const want = ref.grads[vars[k].name].dataSync() as Float32Array;
      expect(got).toHaveLength(want.length);
      const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale).toBeGreaterThan(0);
      got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(5e-4 * Math.max(Math.abs(want[i]), 1e-2 * scale)));
    });
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    policy.dispose();
  });

  it("applyGradientsKernels makes the same Adam step as applyGradients and refreshes the acting weights", () => {
    const a = makePolicy("box", new Rng(5));
    const b = makePolicy("box", new Rng(5));
    const optA = new Adam(a.trainableVariables(), { learningRate: 0.05 });
    const optB = new Adam(b.trainableVariables(), { learningRate: 0.05 });
    const rng = new Rng(6);
    const grads = a.trainableVariables().map((v) => randomArray(rng, v.size));
    const normA = a.applyGradientsKernels(optA, grads, 0.5);
    const normB = tf.tidy(() => optB.applyGradients(grads.map((g, k) => tf.tensor(g, b.trainableVariables()[k].shape)), 0.5));
    b.syncFastWeights();
    expect(normA).toBeCloseTo(normB, 5);
    expect(normA).toBeGreaterThan(0.5); // the clip acted
    const wa = a.getWeights();
    const wb = b.getWeights();
    for (const name of Object.keys(wb)) expect(Array.from(wa[name])).toEqual(Array.from(wb[name]));
    // The typed-array copies moved with the variables: both act alike after the step.
    const obs = randomArray(rng, 4);
    expect(Array.from(a.forwardForLossKernels(obs, new Float32Array(2), 1).params)).toEqual(Array.from(b.forwardForLossKernels(obs, new Float32Array(2), 1).params));
    a.dispose();
    b.dispose();
  });
});

describe("PPO with backend kernels", () => {
  it("learns CartPole-v1 with the Zoo preset (fixed seed: eval ≥ 400 at 40k steps)", async () => {
    const config = resolveConfig({ algo: "ppo", preset: "zoo", env: "CartPole-v1", overrides: { seed: 1, backend: "kernels", totalTimesteps: 40_960, evalEpisodes: 10 } });
    const s = await train({ runDir: join(root, "cartpole"), algo: "ppo", config });
    expect(s.finalEval.meanReturn).toBeGreaterThanOrEqual(400);
  });

  it("resumes exactly from a checkpoint mid-run (Box actions, Gaussian policy)", async () => {
    const config = resolveConfig({
      algo: "ppo",
      env: "Pendulum-v1",
      overrides: { seed: 3, backend: "kernels", numEnvs: 2, numSteps: 32, numMinibatches: 2, updateEpochs: 2, totalTimesteps: 2 * 32 * 5, checkpointEvery: 1, evalEpisodes: 2, evalDeterministic: false },
    });
    const straight = await train({ runDir: join(root, "straight"), algo: "ppo", config, store: false });
    const stopped = join(root, "stopped");
    await train({ runDir: stopped, algo: "ppo", config, stopAfterIterations: 2, store: false });
    const resumed = await train({ runDir: stopped, resume: true, store: false });
    expect(resumed.steps).toBe(straight.steps);
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
  });
});
