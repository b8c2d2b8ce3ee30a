// One polychromic PPO update end to end, as update_gradients.test.ts does for the other
// algorithms: every gradient handed to the optimiser must equal tfjs's autodiff of PPO's loss
// written out here from the vine batch's raw data — GAE per trajectory, the set advantages of
// each vine state's continuations recomputed from their returns and final cells.
import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import type { VineBatch } from "../../src/rollout/vine_collector.js";
import { describeEachBackend } from "../loss/backends.js";
import { clippedLoss, expectSameGradients, forward, readOut, record, referenceGrads, standardise } from "../helpers/update_probe.js";

/** Advantages and value targets of a vine batch, written out independently of the algorithm. */
function reference(b: VineBatch, gamma: number, lambda: number, N: number): { adv: number[]; returns: number[]; setAdvantages: number[] } {
  const adv = new Array<number>(b.numSteps).fill(0);
  b.length.forEach((len, i) => {
    let next = 0;
    for (let k = len - 1; k >= 0; k--) {
      const r = b.start[i] + k;
      const last = k === len - 1;
      const delta = b.rewards[r] + gamma * (last ? b.finalValues[i] : b.values[r + 1]) - b.values[r];
      next = delta + (last ? 0 : gamma * lambda * next);
      adv[r] = next;
    }
  });
  const returns = adv.map((a, r) => a + b.values[r]);
  const setAdvantages: number[] = [];
  for (let v = 0; v < b.vineRollout.length; v++) {
    const m = Array.from({ length: N }, (_, j) => b.summaries[b.numRollouts + v * N + j]);
    const pairs: [number, number][] = [];
    for (let x = 0; x < N; x++) for (let y = x + 1; y < N; y++) pairs.push([x, y]);
    const f = pairs.map(([x, y]) => ((m[x].return + m[y].return) / 2) * (m[x].finalCell!.join() === m[y].finalCell!.join() ? 0.5 : 1));
    const V = f.reduce((a, s) => a + s, 0) / f.length;
    for (let j = 0; j < N; j++) {
      const mine = pairs.map((p, k) => (p.includes(j) ? f[k] : NaN)).filter((s) => !Number.isNaN(s));
      const A = mine.reduce((a, s) => a + s, 0) / mine.length - V;
      setAdvantages.push(A);
      const i = b.numRollouts + v * N + j;
      for (let k = 0; k < b.length[i]; k++) adv[b.start[i] + k] = A;
    }
  }
  return { adv, returns, setAdvantages };
}

describeEachBackend("polychromic PPO: the gradient it applies equals autodiff of PPO's loss on set and GAE advantages", (backend) => {
  // MiniGrid-Empty-5x5 gives action masks: with actionMasking auto they enter sampling and the
  // loss (log π and H under each step's mask); with off the same env trains unmasked.
  for (const actionMasking of ["auto", "off"] as const) {
    it(`clipped surrogate on normalised advantages, clipped value loss, entropy bonus; two epochs on one minibatch (actionMasking ${actionMasking})`, async () => {
      const o = { clipCoef: 0.1, entCoef: 0.3, vfCoef: 0.7, gamma: 0.9, gaeLambda: 0.8 };
      const N = 3;
      const r = await record<VineBatch>(
        "polychromic",
        { ...o, numRollouts: 2, vineStatesPerRollout: 2, numVines: N, setSize: 2, diversity: "final-cells", numMinibatches: 1, updateEpochs: 2, learningRate: 0.03, annealLr: false, totalTimesteps: 50, hidden: [16], actionMasking },
        backend,
        1,
        "MiniGrid-Empty-5x5-v0",
      );
      const { policy, optimizer } = r.internals;
      const b = r.batches[0];
      const n = b.numSteps;
      const masks = b.actionMasks ?? null;
      expect(masks !== null).toBe(actionMasking === "auto");
      const ref = reference(b, o.gamma, o.gaeLambda, N);
      // The set advantages were not all zero: some continuations succeeded and some did not.
      expect(ref.setAdvantages.some((a) => Math.abs(a) > 1e-3)).toBe(true);
      const adv = standardise(ref.adv);
      const objective = () => {
        const { logProb, entropy, value } = forward(policy, b.obs, b.actions, n, masks);
        const pg = tf.mean(clippedLoss(logProb, b.logProbs, adv, o.clipCoef, o.clipCoef));
        const R = tf.tensor1d(ref.returns);
        const vOld = tf.tensor1d(b.values);
        const vClipped = tf.add(vOld, tf.clipByValue(tf.sub(value, vOld), -o.clipCoef, o.clipCoef));
        const vl = tf.mul(0.5, tf.mean(tf.maximum(tf.square(tf.sub(value, R)), tf.square(tf.sub(vClipped, R)))));
        return tf.add(tf.sub(pg, tf.mul(o.entCoef, tf.mean(entropy))), tf.mul(o.vfCoef, vl)) as tf.Scalar;
      };
      expect(r.policySteps).toHaveLength(2);
      for (const step of r.policySteps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));

      // Empty rooms have nothing to pick up, drop or toggle, and done does nothing: actions 3–6
      // are masked in every state. Masked, their logits get exactly zero gradient (so do the
      // output layer's weights and biases for them), they are never taken and have probability 0.
      const never = [3, 4, 5, 6];
      const head = policy.actor.variables.length - 2; // the actor's output kernel [hidden, 7], then its bias [7]
      const kernel = optimizer.variables.indexOf(policy.actor.variables[head]);
      const bias = optimizer.variables.indexOf(policy.actor.variables[head + 1]);
      const headGrads = (g: Float32Array[]) => [...never.map((a) => g[bias][a]), ...Array.from(g[kernel]).filter((_, i) => never.includes(i % 7))];
      if (masks) {
        for (let row = 0; row < n; row++) {
          for (const a of never) expect(masks[row * 7 + a]).toBe(0);
          expect(masks[row * 7 + b.actions[row]]).toBe(1);
        }
        for (const step of r.policySteps) expect(headGrads(step.grads).every((x) => x === 0)).toBe(true);
        const probs = readOut(() => tf.exp(tf.stack(never.map((a) => forward(policy, b.obs, new Int32Array(n).fill(a), n, masks).logProb))));
        expect(probs.every((p) => p === 0)).toBe(true);
      } else {
        expect(never.some((a) => Array.from(b.actions).includes(a))).toBe(true);
        for (const step of r.policySteps) expect(headGrads(step.grads).some((x) => Math.abs(x) > 1e-6)).toBe(true);
      }
      r.algo.dispose();
    });
  }

  it("actionMasking on with an env that gives no masks is PPO's one-line error", async () => {
    await expect(record("polychromic", { actionMasking: "on", success: "threshold", numRollouts: 1, totalTimesteps: 10 }, backend, 0, "CartPole-v1")).rejects.toThrow(
      /^actionMasking=on but .* provides no action masks .*Fix: /,
    );
  });
});
