/**
 * Each update of SAC, TD3 and off-policy MDPO on a fixed batch: the gradient it applies
 * equals tfjs autodiff of the objective written here independently in tensor ops.
 */
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mdpoOffStep, sacActorStep, sacAlphaStep, sacCriticStep, td3ActorStep, td3CriticStep, type ContinuousBatch, type TwinCritics } from "../../src/algos/continuous_update.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { MLP } from "../../src/nn/mlp.js";
import type { Gradient } from "../../src/nn/network_adam.js";
import { ContinuousQ } from "../../src/policies/continuous_q.js";
import { DeterministicActor } from "../../src/policies/deterministic_actor.js";
import { SquashedGaussianActor } from "../../src/policies/squashed_gaussian.js";
import { expectClose, randomArray, tfSquashed } from "../policies/offpolicy_reference.js";

const OBS = 3;
const A = 2;
const N = 24;
const LOW = [-2, -1];
const HIGH = [2, 3];

function makeBatch(rng: Rng): ContinuousBatch {
  return {
    size: N,
    obs: randomArray(rng, N * OBS),
    actions: Float32Array.from({ length: N * A }, (_, k) => rng.uniform(LOW[k % A], HIGH[k % A])),
    rewards: randomArray(rng, N),
    nextObs: randomArray(rng, N * OBS),
    dones: Float32Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1 : 0)),
    discounts: new Float32Array(N).fill(0.99),
  };
}

function critics(rng: Rng, kernels: boolean): TwinCritics {
  const q = (name: string) => new ContinuousQ({ obsSize: OBS, actSize: A, hidden: [16, 16], rng, name, kernels });
  return { q1: q("q1"), q2: q("q2"), q1Target: q("q1t"), q2Target: q("q2t") };
}

const tfQ = (q: ContinuousQ, obs: Float32Array, actions: tf.Tensor) => tf.squeeze(q.net.apply(tf.concat([tf.tensor2d(obs, [N, OBS]), actions as tf.Tensor2D], 1)), [1]);
const col = (x: ArrayLike<number>) => tf.tensor1d(Float32Array.from(x));

/** Our gradients (variable order of `vars`) against tf.variableGrads of `loss`; also the loss value. */
function expectGradsMatch(ours: Gradient[], oursLoss: number, vars: readonly tf.Variable[], loss: () => tf.Scalar): void {
  const ref = tf.variableGrads(loss, vars as tf.Variable[]);
  expect(oursLoss).toBeCloseTo(ref.value.dataSync()[0], 4);
  expect(ours).toHaveLength(vars.length);
  ours.forEach((g, i) => expectClose(g instanceof Float32Array ? g : g.dataSync(), ref.grads[vars[i].name].dataSync()));
  tf.dispose([ref.value, ...Object.values(ref.grads), ...ours.filter((g): g is tf.Tensor => !(g instanceof Float32Array))]);
}

// "kernels": the same updates with the networks' passes on refinery's SIMD kernels (typed-array gradients).
describe.each(["tfjs", "kernels"] as const)("continuous off-policy updates against autodiff of the written objectives (%s)", (mode) => {
  const kernels = mode === "kernels";
  const rng = new Rng(31);
  const batch = makeBatch(rng);
  let net: TwinCritics;
  let actor: SquashedGaussianActor;
  beforeAll(async () => {
    await initBackend("cpu");
    net = critics(rng, kernels);
    actor = new SquashedGaussianActor({ obsSize: OBS, low: LOW, high: HIGH, hidden: [16, 16], rng, name: "pi", kernels });
  });
  afterAll(() => [actor, net.q1, net.q2, net.q1Target, net.q2Target].forEach((m) => m.dispose()));

  it("SAC critic: y = r + γ(1−d)(min Q̄(s', a') − α log π(a'|s')), L = MSE(Q1, y) + MSE(Q2, y)", () => {
    const noise = randomArray(rng, N * A);
    const alpha = 0.3;
    const step = sacCriticStep(actor, net, batch, noise, alpha);
    const y = tf.tidy(() => {
      const next = tfSquashed(actor, batch.nextObs, N, noise);
      const minQ = tf.minimum(tfQ(net.q1Target, batch.nextObs, next.actions), tfQ(net.q2Target, batch.nextObs, next.actions));
      const mask = tf.sub(1, col(batch.dones));
      return tf.add(col(batch.rewards), tf.mul(tf.mul(col(batch.discounts), mask), tf.sub(minQ, tf.mul(alpha, next.logProb))));
    });
    const act = tf.tensor2d(batch.actions, [N, A]);
    expectGradsMatch(step.grads, step.loss, [...net.q1.variables, ...net.q2.variables], () =>
      tf.add(tf.mean(tf.square(tf.sub(tfQ(net.q1, batch.obs, act), y))), tf.mean(tf.square(tf.sub(tfQ(net.q2, batch.obs, act), y)))) as tf.Scalar,
    );
    tf.dispose([y, act]);
  });

  it("SAC actor: L = mean(α log π(ã|s) − min(Q1, Q2)(s, ã)), reparameterised, critics frozen", () => {
    const noise = randomArray(rng, N * A);
    const step = sacActorStep(actor, net, batch, noise, 0.3);
    expectGradsMatch(step.grads, step.loss, actor.variables, () => {
      const s = tfSquashed(actor, batch.obs, N, noise);
      const minQ = tf.minimum(tfQ(net.q1, batch.obs, s.actions), tfQ(net.q2, batch.obs, s.actions));
      return tf.mean(tf.sub(tf.mul(0.3, s.logProb), minQ)) as tf.Scalar;
    });
  });

  it("SAC temperature: dL/dlogα of −exp(logα)·mean(log π + H̄) matches a central finite difference", () => {
    const noise = randomArray(rng, N * A);
    const logAlpha = Math.log(0.3);
    const step = sacAlphaStep(actor, batch, noise, logAlpha, -A);
    const logProb = tf.tidy(() => Array.from(tfSquashed(actor, batch.obs, N, noise).logProb.dataSync()));
    const f = (la: number) => -Math.exp(la) * (logProb.reduce((s, v) => s + v - A, 0) / N);
    expect(step.loss).toBeCloseTo(f(logAlpha), 4);
    expect(step.dLogAlpha).toBeCloseTo((f(logAlpha + 1e-4) - f(logAlpha - 1e-4)) / 2e-4, 3);
  });

  it("TD3 critic (clipped double-Q, smoothed target actions) and delayed actor −mean Q1(s, μ(s))", () => {
    const pi = new DeterministicActor({ obsSize: OBS, low: LOW, high: HIGH, hidden: [16], rng, name: "mu", kernels });
    const piTarget = new DeterministicActor({ obsSize: OBS, low: LOW, high: HIGH, hidden: [16], rng, name: "mut", kernels });
    const noise = randomArray(rng, N * A, 3); // large, so the noise clip acts on some entries
    const step = td3CriticStep(piTarget, net, batch, noise, 0.2, 0.5);
    const y = tf.tidy(() => {
      const scale = tf.tensor1d([2, 2]);
      const mu = tf.add(tf.mul(tf.tanh(piTarget.net.apply(tf.tensor2d(batch.nextObs, [N, OBS]))), scale), tf.tensor1d([0, 1]));
      const eps = tf.mul(tf.clipByValue(tf.mul(0.2, tf.tensor2d(noise, [N, A])), -0.5, 0.5), scale);
      const next = tf.maximum(tf.minimum(tf.add(mu, eps), tf.tensor1d(HIGH)), tf.tensor1d(LOW));
      const minQ = tf.minimum(tfQ(net.q1Target, batch.nextObs, next), tfQ(net.q2Target, batch.nextObs, next));
      return tf.add(col(batch.rewards), tf.mul(tf.mul(col(batch.discounts), tf.sub(1, col(batch.dones))), minQ));
    });
    const act = tf.tensor2d(batch.actions, [N, A]);
    expectGradsMatch(step.grads, step.loss, [...net.q1.variables, ...net.q2.variables], () =>
      tf.add(tf.mean(tf.square(tf.sub(tfQ(net.q1, batch.obs, act), y))), tf.mean(tf.square(tf.sub(tfQ(net.q2, batch.obs, act), y)))) as tf.Scalar,
    );
    const actorStep = td3ActorStep(pi, net.q1, batch);
    expectGradsMatch(actorStep.grads, actorStep.loss, pi.variables, () => {
      const mu = tf.add(tf.mul(tf.tanh(pi.net.apply(tf.tensor2d(batch.obs, [N, OBS]))), tf.tensor1d([2, 2])), tf.tensor1d([0, 1]));
      return tf.neg(tf.mean(tfQ(net.q1, batch.obs, mu))) as tf.Scalar;
    });
    tf.dispose([y, act]);
    pi.dispose();
    piTarget.dispose();
  });

  it("off-policy MDPO: actor (KL to π_old at the new sample, entropy weight, regulariser), ½-MSE critics on V̄(s'), V on min Q − λ log π", () => {
    const opts = { obsSize: OBS, low: LOW, high: HIGH, hidden: [16, 16], rng, logStdBounds: "clip" as const, scaleInCorrection: false, kernels };
    const pi = new SquashedGaussianActor({ ...opts, name: "mpi" });
    const old = new SquashedGaussianActor({ ...opts, name: "mold" });
    const value = new MLP({ sizes: [OBS, 16, 1], rng, activation: "relu", init: "torch-default", name: "v" });
    const valueTarget = new MLP({ sizes: [OBS, 16, 1], rng, activation: "relu", init: "torch-default", name: "vt" });
    const nets = { actor: pi, oldActor: old, q1: net.q1, q2: net.q2, value, valueTarget };
    const noise = randomArray(rng, N * A);
    const [c, lam] = [0.7, 0.2];
    const step = mdpoOffStep(nets, batch, noise, c, lam);
    const oldLogProbAt = (u: tf.Tensor) => {
      const out = old.net.apply(tf.tensor2d(batch.obs, [N, OBS]));
      const mu = tf.slice(out, [0, 0], [N, A]);
      const logStd = tf.clipByValue(tf.slice(out, [0, A], [N, A]), -20, 2);
      const z = tf.div(tf.sub(u, mu), tf.exp(logStd));
      const y = tf.tanh(u);
      return tf.sum(tf.sub(tf.sub(tf.sub(tf.mul(-0.5, tf.square(z)), logStd), 0.5 * Math.log(2 * Math.PI)), tf.log(tf.add(tf.sub(1, tf.square(y)), 1e-6))), 1);
    };
    expectGradsMatch(step.actorGrads, step.actorLoss, pi.variables, () => {
      const s = tfSquashed(pi, batch.obs, N, noise);
      const oldLp = oldLogProbAt(s.u);
      const q1 = tfQ(net.q1, batch.obs, s.actions);
      const main = tf.mean(tf.sub(tf.add(tf.mul(c, tf.sub(s.logProb, oldLp)), tf.mul(lam, oldLp)), q1));
      return tf.add(main, tf.mul(1e-3, tf.add(tf.mean(tf.square(s.mean)), tf.mean(tf.square(s.logStd))))) as tf.Scalar;
    });
    const targets = tf.tidy(() => {
      const y = tf.add(col(batch.rewards), tf.mul(tf.mul(col(batch.discounts), tf.sub(1, col(batch.dones))), tf.squeeze(valueTarget.apply(tf.tensor2d(batch.nextObs, [N, OBS])), [1])));
      const s = tfSquashed(pi, batch.obs, N, noise);
      const vTarget = tf.sub(tf.minimum(tfQ(net.q1, batch.obs, s.actions), tfQ(net.q2, batch.obs, s.actions)), tf.mul(lam, s.logProb));
      return { y, vTarget };
    });
    const act = tf.tensor2d(batch.actions, [N, A]);
    const half = (a: tf.Tensor, b: tf.Tensor) => tf.mul(0.5, tf.mean(tf.square(tf.sub(a, b))));
    expectGradsMatch(step.criticGrads, step.qLoss + step.valueLoss, [...net.q1.variables, ...net.q2.variables, ...value.variables], () =>
      tf.addN([half(tfQ(net.q1, batch.obs, act), targets.y), half(tfQ(net.q2, batch.obs, act), targets.y), half(tf.squeeze(value.apply(tf.tensor2d(batch.obs, [N, OBS])), [1]), targets.vTarget)]) as tf.Scalar,
    );
    tf.dispose([targets.y, targets.vTarget, act]);
    // π_old = π: the sampled KL estimate is exactly 0.
    old.setWeights(pi.getWeights());
    const same = mdpoOffStep(nets, batch, noise, c, lam);
    expect(Math.abs(same.kl)).toBeLessThan(1e-6);
    tf.dispose([...same.actorGrads, ...same.criticGrads].filter((g): g is tf.Tensor => !(g instanceof Float32Array)));
    [pi, old, value, valueTarget].forEach((m) => m.dispose());
  });

  it("leaks no tensors across steps", () => {
    const noise = randomArray(rng, N * A);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose(sacCriticStep(actor, net, batch, noise, 0.2).grads.filter((g): g is tf.Tensor => !(g instanceof Float32Array)));
      tf.dispose(sacActorStep(actor, net, batch, noise, 0.2).grads.filter((g): g is tf.Tensor => !(g instanceof Float32Array)));
      sacAlphaStep(actor, batch, noise, 0, -A);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
