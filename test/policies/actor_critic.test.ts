import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

describe.each<BackendName>(["cpu", "wasm"])("ActorCritic manual gradients on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each(["discrete", "box"] as const)("forwardForLoss/backwardForLoss equal evaluate under tf.variableGrads (%s actions)", (kind) => {
    const rng = new Rng(21);
    const policy = new ActorCritic({
      observationSpace: new Box(-5, 5, [4]),
      actionSpace: kind === "discrete" ? new Discrete(3) : new Box(-1, 1, [2]),
      rng,
      actorHeadGain: 1, // O(1) logits, so log π and its gradient are not all near zero
    });
    expect(policy.supportsManualGradients).toBe(true);
    const batch = 64;
    const obs = randomArray(rng, batch * 4, 2);
    const actions = kind === "discrete" ? Int32Array.from({ length: batch }, () => rng.integer(0, 3)) : randomArray(rng, batch * 2);
    const [dLogProb, dEntropy, dValue] = [randomArray(rng, batch), randomArray(rng, batch), randomArray(rng, batch)];
    const vars = policy.trainableVariables();

    const ref = tf.variableGrads(() => {
      const actT = kind === "discrete" ? tf.tensor1d(actions as Int32Array, "int32") : tf.tensor2d(actions as Float32Array, [batch, 2]);
      const { logProb, entropy, value } = policy.evaluate(tf.tensor2d(obs, [batch, 4]), actT);
      const dot = (t: tf.Tensor1D, d: Float32Array) => tf.sum(tf.mul(t, tf.tensor1d(d)));
      return tf.addN([dot(logProb, dLogProb), dot(entropy, dEntropy), dot(value, dValue)]) as tf.Scalar;
    }, vars);
    tf.tidy(() => {
      const fwd = policy.forwardForLoss(obs, actions, batch);
      const actT = kind === "discrete" ? tf.tensor1d(actions as Int32Array, "int32") : tf.tensor2d(actions as Float32Array, [batch, 2]);
      const ev = policy.evaluate(tf.tensor2d(obs, [batch, 4]), actT);
      for (const [got, want] of [[fwd.logProb, ev.logProb], [fwd.entropy, ev.entropy], [fwd.value, ev.value]] as const) {
        const w = want.dataSync() as Float32Array;
        got.forEach((x, i) => expect(Math.abs(x - w[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w[i]))));
      }
      const grads = policy.backwardForLoss(fwd, dLogProb, dEntropy, dValue);
      expect(grads).toHaveLength(vars.length);
      grads.forEach((g, k) => {
        const want = ref.grads[vars[k].name].dataSync() as Float32Array;
        const got = g.dataSync() as Float32Array;
        const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(scale).toBeGreaterThan(0);
        // Relative, except for entries far below the largest (float32 sums over the batch).
        got.forEach((x, i) => expect(Math.abs(x - want[i])).toBeLessThanOrEqual(2e-4 * Math.max(Math.abs(want[i]), 1e-2 * scale)));
      });
    });
    tf.dispose([ref.value, ...Object.values(ref.grads)]);
    policy.dispose();
  });
});
