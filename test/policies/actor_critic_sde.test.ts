import * as tf from "@tensorflow/tfjs-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { ConfigError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { linearDefault } from "../../src/nn/init.js";
import { saveWeights, type JsonObject } from "../../src/nn/io.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";
import { loadPolicy } from "../../src/train/load_policy.js";

const OBS = 3;
const ACT = 2;
const HIDDEN = [16, 8];

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

function sdePolicy(seed: number, extra: { orthoInit?: boolean; initLogStd?: number; actorHeadGain?: number } = {}): ActorCritic {
  return new ActorCritic({
    observationSpace: new Box(-5, 5, [OBS]),
    actionSpace: new Box(-2, 2, [ACT]),
    hidden: HIDDEN,
    rng: new Rng(seed),
    useSde: true,
    ...extra,
  });
}

/** |a − b| ≤ rel · max(1, |b|) entrywise. */
function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, rel: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(b[i])));
}

describe.each<BackendName>(["cpu", "wasm"])("ActorCritic with gSDE on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("builds the actor as a tanh trunk + mean head with a [latent, actions] log-std, and names it in the spec", () => {
    const policy = sdePolicy(1, { initLogStd: -1.5 });
    expect(policy.usesSde).toBe(true);
    expect(policy.gsde?.latentDim).toBe(8);
    expect(policy.gsde?.logStd.shape).toEqual([8, ACT]);
    expect(policy.spec.useSde).toBe(true);
    expect(policy.spec.orthoInit).toBe(true);
    const names = Object.keys(policy.getWeights());
    expect(names).toEqual([
      "actor/dense_0/kernel", "actor/dense_0/bias", "actor/dense_1/kernel", "actor/dense_1/bias", "actor/dense_2/kernel", "actor/dense_2/bias",
      "critic/dense_0/kernel", "critic/dense_0/bias", "critic/dense_1/kernel", "critic/dense_1/bias", "critic/dense_2/kernel", "critic/dense_2/bias",
      "actor/gsde/log_std",
    ]);
    expect(Array.from(policy.getWeights()["actor/gsde/log_std"])).toEqual(new Array(8 * ACT).fill(-1.5));
    expect(policy.trainableVariables()).toHaveLength(13);
    expect(policy.trainableVariables()[12]).toBe(policy.gsde?.logStd);
    // Code written for Categorical/DiagGaussian gets a clear error, not a wrong distribution.
    expect(() => policy.dist).toThrow(ConfigError);
    policy.dispose();
  });

  it("writes log-probs of sampled actions equal to evaluate's and forwardForLoss's", () => {
    const policy = sdePolicy(2, { initLogStd: -0.5 });
    const rng = new Rng(3);
    const batch = 6;
    policy.gsde?.resampleNoise(rng, batch);
    const obs = randomArray(rng, batch * OBS, 2);
    const out = policy.buffers(batch);
    policy.act(obs, batch, rng, out);
    const actions = out.actions as Float32Array;
    const tensorLp = tf.tidy(() => {
      const ev = policy.evaluate(tf.tensor2d(obs, [batch, OBS]), tf.tensor2d(actions, [batch, ACT]));
      expectClose(out.values, ev.value.dataSync(), 1e-5);
      return Array.from(ev.logProb.dataSync());
    });
    expectClose(out.logProbs, tensorLp, 1e-5);
    const lean = tf.tidy(() => Array.from(policy.forwardForLoss(obs, actions, batch).logProb));
    expectClose(lean, tensorLp, 1e-5);
    // Each env has its own exploration matrix: the same observation explores differently per row.
    const same = new Float32Array(batch * OBS);
    for (let r = 0; r < batch; r++) same.set(obs.subarray(0, OBS), r * OBS);
    policy.act(same, batch, rng, out);
    expect(out.actions[0]).not.toBe(out.actions[ACT]);
    policy.dispose();
  });

  it("acts with the mean when deterministic, and keeps the noise fixed until resampleNoise", () => {
    const policy = sdePolicy(4);
    const rng = new Rng(5);
    const obs = randomArray(rng, 2 * OBS, 2);
    const means = tf.tidy(() => Array.from(policy.actor.apply(tf.tensor2d(obs, [2, OBS])).dataSync()));
    const out = policy.buffers(2);
    policy.gsde?.resampleNoise(rng, 2);
    policy.act(obs, 2, rng, out, true);
    expectClose(out.actions, means, 1e-5);

    const state = rng.getState();
    policy.act(obs, 2, rng, out);
    const first = Array.from(out.actions);
    policy.act(obs, 2, rng, out);
    expect(Array.from(out.actions)).toEqual(first);
    expect(rng.getState()).toEqual(state); // gSDE acting draws nothing per step
    expect(first.some((a, i) => Math.abs(a - means[i]) > 1e-3)).toBe(true); // log-std 0 explores visibly

    policy.gsde?.resampleNoise(new Rng(6), 2);
    policy.act(obs, 2, rng, out);
    expect(Array.from(out.actions)).not.toEqual(first);
    policy.dispose();
  });

  it("forwardForLoss/backwardForLoss equal evaluate under tf.variableGrads", () => {
    const policy = sdePolicy(7, { actorHeadGain: 1, initLogStd: -0.7 });
    const rng = new Rng(8);
    // Perturb the log-std so each entry has its own gradient.
    policy.gsde?.setWeights([randomArray(rng, 8 * ACT, 0.3).map((x) => x - 0.7)]);
    const batch = 32;
    const obs = randomArray(rng, batch * OBS, 2);
    const actions = randomArray(rng, batch * ACT);
    const [dLogProb, dEntropy, dValue] = [randomArray(rng, batch), randomArray(rng, batch), randomArray(rng, batch)];
    const vars = policy.trainableVariables();
    const ref = tf.variableGrads(() => {
      const { logProb, entropy, value } = policy.evaluate(tf.tensor2d(obs, [batch, OBS]), tf.tensor2d(actions, [batch, ACT]));
      const dot = (t: tf.Tensor1D, d: Float32Array) => tf.sum(tf.mul(t, tf.tensor1d(d)));
      return tf.addN([dot(logProb, dLogProb), dot(entropy, dEntropy), dot(value, dValue)]) as tf.Scalar;
    }, vars);
    tf.tidy(() => {
      const fwd = policy.forwardForLoss(obs, actions, batch);
      const ev = policy.evaluate(tf.tensor2d(obs, [batch, OBS]), tf.tensor2d(actions, [batch, ACT]));
      expectClose(fwd.logProb, ev.logProb.dataSync(), 1e-5);
      expectClose(fwd.entropy, ev.entropy.dataSync(), 1e-5);
      const grads = policy.backwardForLoss(fwd, dLogProb, dEntropy, dValue);
      expect(grads).toHaveLength(vars.length);
      grads.forEach((g, k) => {
        expect(g.shape).toEqual(vars[k].shape);
        const want = ref.grads[vars[k].name].dataSync() as Float32Array;
        const got = g.dataSync() as Float32Array;
        const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(scale).toBeGreaterThan(0);
        got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(2e-4 * Math.max(Math.abs(want[i]), 1e-2 * scale)));
      });
    });
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    policy.dispose();
  });

  it("round-trips its weights: a policy given another's weights and noise acts identically", () => {
    const a = sdePolicy(9, { initLogStd: -2 });
    const b = sdePolicy(10);
    const rng = new Rng(11);
    a.gsde?.setWeights([randomArray(rng, 8 * ACT, 0.5)]);
    a.gsde?.resampleNoise(rng, 3);
    b.setWeights(a.getWeights());
    b.gsde?.setNoise(a.gsde?.getNoise() as Float32Array);
    const wa = a.getWeights();
    const wb = b.getWeights();
    for (const k of Object.keys(wa)) expect(Array.from(wb[k])).toEqual(Array.from(wa[k]));
    const obs = randomArray(rng, 3 * OBS, 2);
    const [oa, ob] = [a.buffers(3), b.buffers(3)];
    a.act(obs, 3, rng, oa);
    b.act(obs, 3, rng, ob);
    expect(Array.from(ob.actions)).toEqual(Array.from(oa.actions));
    expect(Array.from(ob.logProbs)).toEqual(Array.from(oa.logProbs));
    // Weights of a policy without gSDE lack the gSDE log-std: a clear error.
    const plain = new ActorCritic({ observationSpace: new Box(-5, 5, [OBS]), actionSpace: new Box(-2, 2, [ACT]), hidden: HIDDEN, rng: new Rng(1) });
    expect(() => b.setWeights(plain.getWeights())).toThrow(/actor\/gsde\/log_std/);
    [a, b, plain].forEach((p) => p.dispose());
  });

  it("does not leak tensors through act, evaluate and the lean loss path", () => {
    const policy = sdePolicy(12);
    const rng = new Rng(13);
    const obs = randomArray(rng, 4 * OBS);
    const actions = randomArray(rng, 4 * ACT);
    const before = tf.memory().numTensors;
    const out = policy.buffers(4);
    for (let i = 0; i < 3; i++) {
      policy.gsde?.resampleNoise(rng, 4);
      policy.act(obs, 4, rng, out);
      tf.tidy(() => {
        policy.evaluate(tf.tensor2d(obs, [4, OBS]), tf.tensor2d(actions, [4, ACT]));
        const fwd = policy.forwardForLoss(obs, actions, 4);
        policy.backwardForLoss(fwd, new Float32Array(4).fill(1), new Float32Array(4), new Float32Array(4));
      });
      policy.syncFastWeights();
    }
    expect(tf.memory().numTensors).toBe(before);
    policy.dispose();
  });
});

describe("ActorCritic gSDE options", () => {
  const root = mkdtempSync(join(tmpdir(), "refinery-sde-policy-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("rejects useSde on a Discrete action space", () => {
    expect(() => new ActorCritic({ observationSpace: new Box(-1, 1, [4]), actionSpace: new Discrete(2), rng: new Rng(0), useSde: true })).toThrow(ConfigError);
  });

  it("keeps the Gaussian path unchanged when useSde is off", () => {
    const policy = new ActorCritic({ observationSpace: new Box(-1, 1, [OBS]), actionSpace: new Box(-1, 1, [ACT]), rng: new Rng(0) });
    expect(policy.usesSde).toBe(false);
    expect(policy.gsde).toBeNull();
    expect(policy.spec.useSde).toBe(false);
    expect(Object.keys(policy.getWeights())).toContain("actor/log_std");
    expect(policy.dist.constructor.name).toBe("DiagGaussian");
    policy.dispose();
  });

  it("initialises every layer as PyTorch's nn.Linear when orthoInit is false", () => {
    const policy = sdePolicy(21, { orthoInit: false });
    expect(policy.spec.orthoInit).toBe(false);
    const w = policy.getWeights();
    for (const net of [policy.actor, policy.critic]) {
      for (let l = 0; l < net.numLayers; l++) {
        const bound = 1 / Math.sqrt(net.sizes[l]);
        for (const part of ["kernel", "bias"]) {
          const values = Array.from(w[`${net === policy.actor ? "actor" : "critic"}/dense_${l}/${part}`]);
          expect(values.every((x) => Math.abs(x) <= bound)).toBe(true);
          // Not zeros, and spread over the range rather than clustered (uniform: max ≈ bound).
          expect(Math.max(...values.map(Math.abs))).toBeGreaterThan(0.5 * bound);
        }
      }
    }
    // The same draws as linearDefault, transposed into our [in, out] kernel layout.
    const ref = linearDefault(OBS, HIDDEN[0], new Rng(21));
    const kernel = w["actor/dense_0/kernel"];
    for (let o = 0; o < HIDDEN[0]; o++) for (let i = 0; i < OBS; i++) expect(kernel[i * HIDDEN[0] + o]).toBe(ref.weight[o * OBS + i]);
    expect(Array.from(w["actor/dense_0/bias"])).toEqual(Array.from(ref.bias));
    // The seed decides the weights.
    const twin = sdePolicy(21, { orthoInit: false });
    expect(Array.from(twin.getWeights()["critic/dense_1/kernel"])).toEqual(Array.from(w["critic/dense_1/kernel"]));
    [policy, twin].forEach((p) => p.dispose());
  });

  it("linearDefault draws uniform(±1/√fan_in) weights and biases", () => {
    const { weight, bias } = linearDefault(64, 200, new Rng(1));
    expect(weight).toHaveLength(200 * 64);
    expect(bias).toHaveLength(200);
    const bound = 1 / 8;
    let sq = 0;
    for (const x of weight) {
      expect(Math.abs(x)).toBeLessThanOrEqual(bound);
      sq += x * x;
    }
    // Var of uniform(±b) is b²/3.
    expect(sq / weight.length).toBeCloseTo(bound * bound / 3, 3);
    expect(() => linearDefault(0, 3, new Rng(1))).toThrow(ConfigError);
  });

  it("saves and loads through loadPolicy: the loaded policy acts like the saved one", async () => {
    const policy = sdePolicy(31, { initLogStd: -1 });
    const rng = new Rng(32);
    policy.gsde?.setWeights([randomArray(rng, 8 * ACT, 0.3)]);
    const dir = join(root, "policy");
    const spec = { ...policy.spec, env: "Pendulum-v1", obsNorm: null, clipObs: null } as unknown as JsonObject;
    await saveWeights(dir, Object.entries(policy.getWeights()).map(([name, data]) => ({ name, data })), spec);
    const loaded = await loadPolicy(dir, { seed: 5 });
    expect(loaded.spec.useSde).toBe(true);
    const obs = randomArray(rng, OBS, 2);
    const out = policy.buffers(1);
    policy.act(obs, 1, rng, out, true);
    expect(Array.from(loaded.act(obs) as Float32Array)).toEqual(Array.from(out.actions));
    // Stochastic acting explores (noise drawn from the seed at load) and is reproducible by seed.
    const sampled = Array.from(loaded.act(obs, { deterministic: false }) as Float32Array);
    expect(sampled).not.toEqual(Array.from(out.actions));
    const again = await loadPolicy(dir, { seed: 5 });
    expect(Array.from(again.act(obs, { deterministic: false }) as Float32Array)).toEqual(sampled);
    [loaded, again].forEach((p) => p.dispose());
    policy.dispose();
  });
});
