import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { PPO } from "../../src/algos/ppo.js";
import type { PPOConfig } from "../../src/algos/ppo_config.js";
import { makeTrainingVecEnv } from "../../src/algos/env_stack.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";
import { StepCollector, type RolloutBatch } from "../../src/rollout/step_collector.js";
import { lossAt, ppoLoss, record } from "../helpers/update_probe.js";

/** The Zoo's Pendulum preset (gSDE, noise every 4 steps), shrunk to 2 × 32 steps per iteration. */
const small = (overrides: Record<string, unknown> = {}) =>
  resolveConfig({
    algo: "ppo",
    env: "Pendulum-v1",
    preset: "zoo",
    overrides: { numEnvs: 2, numSteps: 32, numMinibatches: 2, updateEpochs: 2, totalTimesteps: 640, backend: "cpu", ...overrides },
  }) as PPOConfig;

describe("PPO with gSDE", () => {
  it("uses gSDE in the zoo presets for Pendulum and MountainCarContinuous, as the Zoo does", () => {
    const pendulum = small();
    expect([pendulum.useSde, pendulum.sdeSampleFreq, pendulum.orthoInit, pendulum.initLogStd]).toEqual([true, 4, true, 0]);
    const mcc = resolveConfig({ algo: "ppo", env: "MountainCarContinuous-v0", preset: "zoo" }) as PPOConfig;
    expect([mcc.useSde, mcc.sdeSampleFreq, mcc.orthoInit, mcc.initLogStd]).toEqual([true, -1, false, -3.29]);
    const plain = resolveConfig({ algo: "ppo", env: "Pendulum-v1" }) as PPOConfig;
    expect([plain.useSde, plain.sdeSampleFreq, plain.orthoInit]).toEqual([false, -1, true]);
    expect(() => resolveConfig({ algo: "ppo", env: "Pendulum-v1", overrides: { sdeSampleFreq: 0 } })).toThrow(/sdeSampleFreq/);
  });

  it("runs iterations that learn the gSDE log-std, with the gSDE entropy", async () => {
    const ppo = await PPO.create(small());
    expect(ppo.policy.usesSde).toBe(true);
    const logStd0 = ppo.policy.getWeights()["actor/gsde/log_std"];
    const m = ppo.iterate();
    for (const key of ["policyLoss", "valueLoss", "entropy", "approxKl", "gradNorm"]) expect(Number.isFinite(m[key])).toBe(true);
    // gSDE's entropy ½ + ½ log 2π + ½ log(Σ z²σ² + ε): with σ ≈ 1 and |z| < 1 over 64 features it
    // lies below ½ log(2πe · 64) and differs from the state-independent Gaussian's 1.419.
    expect(m.entropy).toBeLessThan(0.5 + 0.5 * Math.log(2 * Math.PI * 64) + 0.05);
    expect(Math.abs(m.entropy - (0.5 + 0.5 * Math.log(2 * Math.PI)))).toBeGreaterThan(0.05);
    expect(m.approxKl).toBeGreaterThanOrEqual(0);
    expect(m.epochs).toBe(2);
    const logStd1 = ppo.policy.getWeights()["actor/gsde/log_std"];
    expect(Array.from(logStd1)).not.toEqual(Array.from(logStd0));
    ppo.dispose();
  });

  it("takes a step that lowers both parts of PPO's loss on the batch (gSDE log-probs, entropy and value written out in the test)", async () => {
    const overrides = { numEnvs: 2, numSteps: 32, numMinibatches: 1, updateEpochs: 1, totalTimesteps: 640 };
    const c = small(overrides);
    const r = await record<RolloutBatch>("ppo", overrides, "cpu", 1, "Pendulum-v1", "zoo");
    const { policy } = r.internals;
    expect(policy.usesSde).toBe(true);
    const after = policy.getWeights();
    // Actor and critic are separate networks: each part of the loss must fall on its own.
    for (const part of ["actor", "critic"] as const) {
      const loss = ppoLoss(policy, r.batches[0], c, part);
      expect(lossAt(policy, after, loss), part).toBeLessThan(lossAt(policy, r.policySteps[0].weights, loss));
    }
    r.algo.dispose();
  });

  it("is deterministic for a seed and differs across seeds", async () => {
    const run = async (seed: number) => {
      const ppo = await PPO.create(small({ seed }));
      const rows = [ppo.iterate(), ppo.iterate()].map((m) => [m.policyLoss, m.valueLoss, m.entropy, m.approxKl]);
      ppo.dispose();
      return rows;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(await run(6)).not.toEqual(a);
  });

  it("does not leak tensors across iterations", async () => {
    const ppo = await PPO.create(small());
    ppo.iterate();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) ppo.iterate();
    expect(tf.memory().numTensors).toBe(before);
    ppo.dispose();
  });

  it("restores the noise generator and matrices from saveState: a loaded copy continues identically", async () => {
    const a = await PPO.create(small({ seed: 8 }));
    a.iterate();
    a.iterate();
    const state = a.saveState();
    expect(state.arrays["gsde/noise"]).toHaveLength(2 * 64 * 1); // one matrix per env
    const b = await PPO.create(small({ seed: 8 }));
    b.loadState(structuredClone(state));
    // Stochastic evaluation acts with the current matrices: equal right after loading.
    const obs = Float32Array.from([0.3, -0.9, 1.2]);
    const actA = a.actingPolicy(1).actOne(obs, false) as Float32Array;
    expect(Array.from(b.actingPolicy(1).actOne(obs, false) as Float32Array)).toEqual(Array.from(actA));
    const fresh = await PPO.create(small({ seed: 8 }));
    expect(Array.from(fresh.actingPolicy(1).actOne(obs, false) as Float32Array)).not.toEqual(Array.from(actA));
    const ma = a.iterate();
    const mb = b.iterate();
    expect(mb).toMatchObject({ policyLoss: ma.policyLoss, valueLoss: ma.valueLoss, entropy: ma.entropy, approxKl: ma.approxKl });
    [a, b, fresh].forEach((p) => p.dispose());
  });
});

describe("StepCollector gSDE noise", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it.each([
    [-1, 1],
    [4, 3],
    [1, 10],
  ])("with sdeSampleFreq %i redraws the matrices %i times in a 10-step rollout, from the noise generator only", (freq, draws) => {
    const vec = makeTrainingVecEnv({ env: "Pendulum-v1", normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: 0.9 }, 2);
    const policy = new ActorCritic({ observationSpace: vec.singleObservationSpace, actionSpace: vec.singleActionSpace, rng: new Rng(1), useSde: true });
    const gsde = policy.gsde as NonNullable<typeof policy.gsde>;
    const calls: number[] = [];
    const original = gsde.resampleNoise.bind(gsde);
    gsde.resampleNoise = (rng, n) => {
      calls.push(n ?? 1);
      original(rng, n);
    };
    const collector = new StepCollector(vec, policy, 10, 0.9, true, freq);
    collector.reset(0);
    const rng = new Rng(2);
    const noiseRng = new Rng(3);
    const rngState = rng.getState();
    const batch = collector.collect(rng, noiseRng);
    expect(calls).toEqual(new Array(draws).fill(2));
    expect(rng.getState()).toEqual(rngState);
    expect(noiseRng.getState()).not.toEqual(new Rng(3).getState());
    // Between redraws the action is a fixed function of the state: with freq −1 the whole
    // rollout is one draw, so re-acting on a stored observation gives the stored action.
    if (freq === -1) {
      const out = policy.buffers(2);
      policy.act(batch.obs.subarray(5 * 2 * 3, 6 * 2 * 3), 2, rng, out);
      expect(Array.from(out.actions)).toEqual(Array.from(batch.actions.subarray(5 * 2, 6 * 2)));
    }
    vec.close();
    policy.dispose();
  });

  it("rejects an sdeSampleFreq that is neither −1 nor positive", () => {
    const vec = makeTrainingVecEnv({ env: "Pendulum-v1", normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: 0.9 }, 1);
    const policy = new ActorCritic({ observationSpace: vec.singleObservationSpace, actionSpace: vec.singleActionSpace, rng: new Rng(1), useSde: true });
    expect(() => new StepCollector(vec, policy, 10, 0.9, true, 0)).toThrow(/sdeSampleFreq/);
    vec.close();
    policy.dispose();
  });
});
