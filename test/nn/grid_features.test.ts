import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { policyFromSaved } from "../../src/train/load_policy.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Discrete, flatSize } from "../../src/core/spaces.js";
import { make } from "../../src/envs/registry.js";
import { writeObservationRow } from "../../src/envs/vector.js";
import { GridFeatures } from "../../src/nn/grid_features.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";

// The grid feature extractor: its typed-array forward equals its tensor forward, and its
// hand-written backward (and the actor-critic's with features) equals tfjs's autodiff.

/** Raw rows of real grid observations (BabyAI-GoToLocal has missions; random steps vary the view). */
function gridRows(id: string, n: number, seed: number): { rows: Float32Array; masks: Uint8Array; space: ReturnType<typeof make>["observationSpace"] } {
  const env = make(id, { observation: "dict" });
  const size = flatSize(env.observationSpace);
  const rows = new Float32Array(n * size);
  const masks = new Uint8Array(n * 7);
  const rng = new Rng(seed);
  let [obs, info] = env.reset({ seed });
  for (let i = 0; i < n; i++) {
    writeObservationRow(rows, i * size, size, obs, () => "bad row");
    masks.set(info.action_mask as Int8Array, i * 7);
    const [next, , te, tr, nextInfo] = env.step(rng.integer(0, 3));
    [obs, info] = te || tr ? env.reset() : [next, nextInfo];
  }
  return { rows, masks, space: env.observationSpace };
}

describe("GridFeatures", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("reads the raw Dict row: direction one-hot, cell embeddings summed per channel, mission mean", () => {
    const { rows, space } = gridRows("BabyAI-GoToLocal-v0", 3, 2);
    const f = new GridFeatures(space, { rng: new Rng(1), cellDim: 2, tokenDim: 3 });
    expect(f.inputSize).toBe(1 + 147 + 16);
    expect(f.outputSize).toBe(49 * 2 + 3 + 4);
    const out = f.forward(rows, 3);
    const [cell, tok] = f.getWeights();
    // Row 0, cell 0: object/colour/state rows of E_cell summed.
    const [o, c, s] = [rows[1], rows[2], rows[3]];
    for (let k = 0; k < 2; k++) expect(out[k]).toBeCloseTo(cell[o * 2 + k] + cell[(11 + c) * 2 + k] + cell[(17 + s) * 2 + k], 5);
    // Mission: mean of the non-pad tokens' embeddings.
    const tokens = Array.from(rows.subarray(148, 164)).filter((t) => t !== 0);
    expect(tokens.length).toBeGreaterThan(2);
    for (let k = 0; k < 3; k++) expect(out[98 + k]).toBeCloseTo(tokens.reduce((a, t) => a + tok[t * 3 + k], 0) / tokens.length, 5);
    // Direction one-hot.
    expect(Array.from(out.subarray(101, 105))).toEqual([0, 1, 2, 3].map((d) => (d === rows[0] ? 1 : 0)));
    f.dispose();
  });

  it("forward (typed arrays) equals apply (tensors), and backward equals tfjs autodiff", () => {
    const n = 12;
    const { rows, space } = gridRows("BabyAI-GoToLocal-v0", n, 5);
    const f = new GridFeatures(space, { rng: new Rng(3) });
    const typed = f.forward(rows, n);
    const rng = new Rng(4);
    const dF = Float32Array.from({ length: n * f.outputSize }, () => rng.normal());
    const { tensorOut, grads } = tf.tidy(() => {
      const x = tf.tensor2d(rows, [n, f.inputSize]);
      const tensorOut = Float32Array.from(f.apply(x).dataSync());
      const g = tf.variableGrads(() => tf.sum(tf.mul(f.apply(x), tf.tensor2d(dF, [n, f.outputSize]))) as tf.Scalar, f.variables);
      return { tensorOut, grads: f.variables.map((v) => Float32Array.from(g.grads[v.name].dataSync())) };
    });
    typed.forEach((v, i) => expect(v).toBeCloseTo(tensorOut[i], 4));
    const mine = f.backward(rows, n, dF);
    expect(mine).toHaveLength(2);
    mine.forEach((g, k) => {
      const scale = grads[k].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale).toBeGreaterThan(0);
      g.forEach((x, i) => expect(Math.abs(x - grads[k][i])).toBeLessThanOrEqual(1e-4 * Math.max(1, scale)));
    });
    f.dispose();
  });

  it("an actor-critic with grid features: forwardForLoss/backwardForLoss (with masks) equal evaluate under tf.variableGrads", () => {
    const n = 16;
    const { rows, masks, space } = gridRows("MiniGrid-GoToDoor-5x5-v0", n, 7);
    const policy = new ActorCritic({ observationSpace: space, actionSpace: new Discrete(7), rng: new Rng(8), features: "grid", hidden: [16], actorHeadGain: 1 });
    expect(policy.obsSize).toBe(164);
    const rng = new Rng(9);
    const actions = Int32Array.from({ length: n }, (_, r) => {
      const allowed = [...Array(7).keys()].filter((i) => masks[r * 7 + i]);
      return allowed[rng.integer(0, allowed.length)];
    });
    const [dLogProb, dEntropy, dValue] = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => rng.normal()));
    const vars = policy.trainableVariables();
    expect(vars.map((v) => v.name).slice(-2)).toEqual(["features/cell_embed", "features/token_embed"]);
    const ref = tf.variableGrads(() => {
      const e = policy.evaluate(tf.tensor2d(rows, [n, 164]), tf.tensor1d(actions, "int32"), tf.tensor2d(masks, [n, 7], "int32"));
      const dot = (t: tf.Tensor1D, d: Float32Array) => tf.sum(tf.mul(t, tf.tensor1d(d)));
      return tf.addN([dot(e.logProb, dLogProb), dot(e.entropy, dEntropy), dot(e.value, dValue)]) as tf.Scalar;
    }, vars);
    const want = vars.map((v) => Float32Array.from(ref.grads[v.name].dataSync()));
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    const got = tf.tidy(() => {
      const fwd = policy.forwardForLoss(rows, actions, n, masks);
      return policy.backwardForLoss(fwd, dLogProb, dEntropy, dValue).map((g) => Float32Array.from(g.dataSync()));
    });
    expect(got).toHaveLength(want.length);
    got.forEach((g, k) => {
      const scale = want[k].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale).toBeGreaterThan(0);
      g.forEach((x, i) => expect(Math.abs(x - want[k][i])).toBeLessThanOrEqual(5e-4 * Math.max(Math.abs(want[k][i]), 1e-2 * scale)));
    });
    policy.dispose();
  });

  it("saves and loads: weights round-trip and loadPolicy acts on a Dict observation like the policy", () => {
    const env = make("MiniGrid-GoToDoor-5x5-v0", { observation: "dict" });
    const policy = new ActorCritic({ observationSpace: env.observationSpace, actionSpace: env.actionSpace, rng: new Rng(11), features: "grid" });
    expect(policy.spec.features).toBe("grid");
    const weights = policy.getWeights();
    expect(Object.keys(weights)).toContain("features/cell_embed");
    const spec = { ...policy.spec, env: "MiniGrid-GoToDoor-5x5-v0", obsNorm: null, clipObs: null } as unknown as Record<string, unknown>;
    const loaded = policyFromSaved(Object.entries(weights).map(([name, data]) => ({ name, data, shape: policy.paramShapes()[name] })) as never, spec as never);
    const [obs] = env.reset({ seed: 3 });
    const row = new Float32Array(164);
    writeObservationRow(row, 0, 164, obs, () => "bad");
    const buf = policy.buffers(1);
    policy.act(row, 1, new Rng(0), buf, true, false);
    expect(loaded.act(obs as Record<string, unknown>, { deterministic: true })).toBe(buf.actions[0]);
    expect(() => new ActorCritic({ observationSpace: make("CartPole-v1").observationSpace, actionSpace: new Discrete(2), rng: new Rng(0), features: "grid" })).toThrow(/Dict observation.*Fix: /);
    loaded.dispose();
    policy.dispose();
  });
});
