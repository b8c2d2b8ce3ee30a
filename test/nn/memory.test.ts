import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Categorical, DiagGaussian } from "../../src/nn/distributions.js";
import { MLP } from "../../src/nn/mlp.js";
import { Adam } from "../../src/nn/optim.js";

describe.each<BackendName>(["cpu", "wasm"])("tensor memory on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it("frees everything a network, distribution and optimiser allocate when disposed", () => {
    const before = tf.memory();
    const net = new MLP({ sizes: [4, 16, 2], rng: new Rng(1) });
    const gauss = new DiagGaussian(2);
    const opt = new Adam([...net.variables, gauss.logStd], { learningRate: 1e-3 });
    expect(tf.memory().numTensors).toBeGreaterThan(before.numTensors);
    net.dispose();
    gauss.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it("does not grow over 200 forward + backward + Adam steps", () => {
    const rng = new Rng(0);
    const actor = new MLP({ sizes: [4, 64, 64, 2], rng, name: "actor", outputGain: 0.01 });
    const critic = new MLP({ sizes: [4, 64, 64, 1], rng, name: "critic" });
    const opt = new Adam([...actor.variables, ...critic.variables], { learningRate: 2.5e-4 });
    const dist = new Categorical(2);
    const batch = 32;
    const obs = new Float32Array(batch * 4);
    const actions = new Int32Array(batch);
    const returns = new Float32Array(batch);

    const step = () => {
      for (let i = 0; i < obs.length; i++) obs[i] = rng.normal();
      for (let i = 0; i < batch; i++) {
        actions[i] = rng.integer(0, 2);
        returns[i] = rng.normal();
      }
      tf.tidy(() => {
        const x = tf.tensor2d(obs, [batch, 4]);
        const a = tf.tensor1d(actions, "int32");
        const ret = tf.tensor1d(returns);
        opt.minimize(() => {
          const pg = tf.neg(tf.mean(tf.mul(dist.logProb(actor.apply(x), a), ret)));
          const v = tf.mean(tf.square(tf.sub(tf.squeeze(critic.apply(x), [1]), ret)));
          const ent = tf.mean(dist.entropy(actor.apply(x)));
          return tf.sub(tf.add(pg, tf.mul(0.5, v)), tf.mul(0.01, ent)) as tf.Scalar;
        }, 0.5);
      });
      actor.syncFastWeights();
      critic.syncFastWeights();
    };

    step();
    const afterFirst = tf.memory().numTensors;
    const bytesAfterFirst = tf.memory().numBytes;
    const before = actor.getWeights()[0].slice();
    for (let i = 0; i < 199; i++) step();
    expect(tf.memory().numTensors).toBe(afterFirst);
    expect(tf.memory().numBytes).toBe(bytesAfterFirst);
    expect(actor.getWeights()[0]).not.toEqual(before); // training really happened
    actor.dispose();
    critic.dispose();
    opt.dispose();
  });
});
