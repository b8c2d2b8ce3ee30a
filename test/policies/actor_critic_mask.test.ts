import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";

// Masked actor-critic: the hand-written backward passes (tfjs tensors and SIMD kernels) with
// action masks equal tfjs's autodiff of `evaluate` with the same masks.

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

const N = 5;

function setup(seed: number, batch: number) {
  const rng = new Rng(seed);
  const policy = new ActorCritic({ observationSpace: new Box(-5, 5, [4]), actionSpace: new Discrete(N), rng, actorHeadGain: 1 });
  const obs = randomArray(rng, batch * 4, 2);
  const masks = Uint8Array.from({ length: batch * N }, () => (rng.uniform() < 0.6 ? 1 : 0));
  for (let r = 0; r < batch; r++) masks[r * N + (r % N)] = 1; // every row allows something
  const actions = Int32Array.from({ length: batch }, (_, r) => {
    const allowed = [...Array(N).keys()].filter((i) => masks[r * N + i]);
    return allowed[rng.integer(0, allowed.length)];
  });
  const [dLogProb, dEntropy, dValue] = [randomArray(rng, batch), randomArray(rng, batch), randomArray(rng, batch)];
  return { policy, obs, masks, actions, dLogProb, dEntropy, dValue };
}

function autodiff(s: ReturnType<typeof setup>, batch: number) {
  const vars = s.policy.trainableVariables();
  const ref = tf.variableGrads(() => {
    const { logProb, entropy, value } = s.policy.evaluate(tf.tensor2d(s.obs, [batch, 4]), tf.tensor1d(s.actions, "int32"), tf.tensor2d(s.masks, [batch, N], "int32"));
    const dot = (t: tf.Tensor1D, d: Float32Array) => tf.sum(tf.mul(t, tf.tensor1d(d)));
    return tf.addN([dot(logProb, s.dLogProb), dot(entropy, s.dEntropy), dot(value, s.dValue)]) as tf.Scalar;
  }, vars);
  const want = vars.map((v) => Float32Array.from(ref.grads[v.name].dataSync()));
  tf.dispose([ref.value, ...Object.values(ref.grads)]);
  return want;
}

function expectClose(got: ArrayLike<number>[], want: Float32Array[]): void {
  expect(got).toHaveLength(want.length);
  got.forEach((g, k) => {
    const scale = want[k].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(scale).toBeGreaterThan(0);
    for (let i = 0; i < want[k].length; i++) expect(Math.abs(g[i] - want[k][i])).toBeLessThanOrEqual(5e-4 * Math.max(Math.abs(want[k][i]), 1e-2 * scale));
  });
}

describe("ActorCritic with action masks", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("forwardForLoss/backwardForLoss with masks equal evaluate with masks under tf.variableGrads", () => {
    const batch = 23;
    const s = setup(41, batch);
    const want = autodiff(s, batch);
    const got = tf.tidy(() => {
      const fwd = s.policy.forwardForLoss(s.obs, s.actions, batch, s.masks);
      // Masked logits are kept masked: the masked entries' probability is 0.
      for (let i = 0; i < batch * N; i++) if (!s.masks[i]) expect(fwd.params[i]).toBe(-1e8);
      return s.policy.backwardForLoss(fwd, s.dLogProb, s.dEntropy, s.dValue).map((g) => Float32Array.from(g.dataSync()));
    });
    expectClose(got, want);
    // The masks change the gradient: without them it differs.
    const unmasked = tf.tidy(() => {
      const fwd = s.policy.forwardForLoss(s.obs, s.actions, batch);
      return s.policy.backwardForLoss(fwd, s.dLogProb, s.dEntropy, s.dValue).map((g) => Float32Array.from(g.dataSync()));
    });
    const last = s.policy.actor.variables.length - 1; // the actor's output bias
    expect(Math.max(...unmasked[last].map((x, i) => Math.abs(x - want[last][i])))).toBeGreaterThan(1e-3);
    s.policy.dispose();
  });

  it("forwardForLossKernels/backwardForLossKernels with masks equal autodiff too (PPO's kernels backend)", () => {
    const batch = 37;
    const s = setup(43, batch);
    const want = autodiff(s, batch);
    const fwd = s.policy.forwardForLossKernels(s.obs, s.actions, batch, s.masks);
    const ev = tf.tidy(() => {
      const e = s.policy.evaluate(tf.tensor2d(s.obs, [batch, 4]), tf.tensor1d(s.actions, "int32"), tf.tensor2d(s.masks, [batch, N], "int32"));
      return [Float32Array.from(e.logProb.dataSync()), Float32Array.from(e.entropy.dataSync())];
    });
    fwd.logProb.forEach((x, i) => expect(x).toBeCloseTo(ev[0][i], 4));
    fwd.entropy.forEach((x, i) => expect(x).toBeCloseTo(ev[1][i], 4));
    expectClose(s.policy.backwardForLossKernels(fwd, s.dLogProb, s.dEntropy, s.dValue), want);
    s.policy.dispose();
  });

  it("act samples and takes the mode among the allowed actions only", () => {
    const batch = 64;
    const s = setup(47, batch);
    const out = s.policy.buffers(batch);
    const rng = new Rng(1);
    for (const deterministic of [false, true]) {
      for (let k = 0; k < 20; k++) {
        s.policy.act(s.obs, batch, rng, out, deterministic, false, s.masks);
        for (let r = 0; r < batch; r++) expect(s.masks[r * N + out.actions[r]]).toBe(1);
      }
    }
    // The log-probs written by act are those evaluate gives under the same masks.
    s.policy.act(s.obs, batch, rng, out, false, false, s.masks);
    const lp = tf.tidy(() => Float32Array.from(s.policy.evaluate(tf.tensor2d(s.obs, [batch, 4]), tf.tensor1d(out.actions as Int32Array, "int32"), tf.tensor2d(s.masks, [batch, N], "int32")).logProb.dataSync()));
    out.logProbs.forEach((x, i) => expect(x).toBeCloseTo(lp[i], 4));
    s.policy.dispose();
  });

  it("rejects masks on a continuous policy with a one-line fix", () => {
    const p = new ActorCritic({ observationSpace: new Box(-1, 1, [2]), actionSpace: new Box(-1, 1, [2]), rng: new Rng(0) });
    expect(() => p.act(new Float32Array(2), 1, new Rng(0), p.buffers(1), false, false, new Uint8Array([1, 1]))).toThrow(/actionMasking=off/);
    p.dispose();
  });
});
