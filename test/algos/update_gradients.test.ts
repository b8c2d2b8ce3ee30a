// One update of each algorithm end to end: a tiny run collects its own small batch, and every
// gradient the algorithm hands its optimiser must equal tfjs's autodiff gradient of the
// objective written out here, independently, from the batch's raw data (rewards, returns,
// log-probs) and the policy's forward pass at the weights the step started from. The
// advantages, clipping, value loss, KL (sign, direction, t_k), entropy terms, EPO's penalty,
// D³S's masks and the aggregation are all re-derived in this file, so a flipped sign or a
// reversed direction anywhere between the batch and the optimiser fails these tests.
import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import type { Adam } from "../../src/nn/optim.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import type { RolloutBatch } from "../../src/rollout/step_collector.js";
import { describeEachBackend } from "../loss/backends.js";
import {
  referenceGrads,
  expectSameGradients,
  obsTensor,
  forward,
  allLogProbs,
  critic,
  entropies,
  mean,
  std,
  standardise,
  gaeReference,
  episodeSteps,
  aggregateRows,
  readOut,
  record,
  clippedLoss,
  clippedShare,
  ppoLoss,
} from "../helpers/update_probe.js";

describeEachBackend("one update end to end: the gradient each algorithm applies equals autodiff of its objective written out", (backend) => {
  for (const normAdv of [true, false]) {
    for (const clipVloss of [true, false]) {
      it(`ppo (normAdv ${normAdv}, clipVloss ${clipVloss}): clipped surrogate, value loss, entropy bonus; three epochs on one minibatch`, async () => {
        const o = { clipCoef: 0.1, entCoef: 0.3, vfCoef: 0.7, gamma: 0.9, gaeLambda: 0.8 };
        const r = await record<RolloutBatch>(
          "ppo",
          { ...o, numEnvs: 2, numSteps: 8, numMinibatches: 1, updateEpochs: 3, learningRate: 0.03, annealLr: false, normAdv, clipVloss, totalTimesteps: 160 },
          backend,
        );
        const { policy, optimizer } = r.internals;
        const b = r.batches[0];
        const n = b.numSteps * b.numEnvs;
        const objective = ppoLoss(policy, b, { ...o, normAdv, clipVloss });
        expect(r.policySteps).toHaveLength(3);
        for (const step of r.policySteps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
        // The last step started away from the behaviour policy: the clip branches were taken.
        const last = r.policySteps[2].weights;
        expect(clippedShare(policy, last, b.obs, b.actions, b.logProbs, o.clipCoef, o.clipCoef)).toBeGreaterThan(0);
        policy.setWeights(last);
        const moved = critic(policy, b.obs, n).filter((v, i) => Math.abs(v - b.values[i]) > o.clipCoef).length;
        expect(moved).toBeGreaterThan(0);
        r.algo.dispose();
      });
    }
  }

  for (const preset of [undefined, "zoo"]) {
    it(`ppo on a Box action space (${preset ? "gSDE, the Zoo preset, with its normalisation wrappers" : "Gaussian with its log-std"}): the same objective`, async () => {
      const o = { clipCoef: 0.1, entCoef: 0.3, vfCoef: 0.7, gamma: 0.9, gaeLambda: 0.8, normAdv: true, clipVloss: true };
      const r = await record<RolloutBatch>(
        "ppo",
        { ...o, numEnvs: 2, numSteps: 8, numMinibatches: 1, updateEpochs: 2, learningRate: 0.03, annealLr: false, totalTimesteps: 160 },
        backend,
        1,
        "Pendulum-v1",
        preset,
      );
      const { policy, optimizer } = r.internals;
      expect(policy.usesSde).toBe(preset === "zoo");
      const objective = ppoLoss(policy, r.batches[0], o);
      expect(r.policySteps).toHaveLength(2);
      for (const step of r.policySteps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
      r.algo.dispose();
    });
  }

  it("mdpo: −mean(ρÂ) + (1/t_k)·mean KL(π_θ‖π_θk) − entCoef·H̄ over three SGD steps of two iterations (authors' t_k), and the authors' critic step", async () => {
    const o = { gamma: 0.9, gaeLambda: 0.8, entCoef: 0.1, valueClip: 0.2 };
    const K = 4;
    const r = await record<RolloutBatch>(
      "mdpo",
      { ...o, numEnvs: 1, numSteps: 16, totalTimesteps: 16 * K, sgdSteps: 3, learningRate: 0.03, vfIters: 2, valueMinibatchSize: 16, valueLearningRate: 0.01 },
      backend,
      2,
    );
    const { policy, optimizer, criticOptimizer } = r.internals;
    expect(r.policySteps).toHaveLength(6);
    for (let k = 1; k <= 2; k++) {
      const b = r.batches[k - 1];
      const n = b.numSteps;
      const tk = 1 - (k - 2) / K; // the authors' schedule: t_1 = 1 + 1/K
      const { adv: rawAdv, returns } = gaeReference(b, o.gamma, o.gaeLambda);
      const adv = standardise(rawAdv, false);
      const steps = r.policySteps.slice(3 * (k - 1), 3 * k);
      // π_θk: the policy at the iteration's first step, on the batch's states.
      policy.setWeights(steps[0].weights);
      const oldLogPi = readOut(() => allLogProbs(policy, b.obs, n, 2));
      const objective = () => {
        const { logProb, entropy } = forward(policy, b.obs, b.actions, n);
        const ratioAdv = tf.mul(tf.exp(tf.sub(logProb, tf.tensor1d(b.logProbs))), tf.tensor1d(adv));
        const logPi = allLogProbs(policy, b.obs, n, 2);
        const kl = tf.sum(tf.mul(tf.exp(logPi), tf.sub(logPi, tf.tensor2d(oldLogPi, [n, 2]))), 1); // KL(π_θ ‖ π_θk)
        return tf.sub(tf.add(tf.neg(tf.mean(ratioAdv)), tf.mul(1 / tk, tf.mean(kl))), tf.mul(o.entCoef, tf.mean(entropy))) as tf.Scalar;
      };
      for (const step of steps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
      // Critic (authors): mean of max((V − R)², (V_old + clip(V − V_old, ±c) − R)²), no ½; minibatch = batch.
      const criticObjective = () => {
        const v = tf.reshape(policy.critic.apply(obsTensor(policy, b.obs, n)), [-1]);
        const R = tf.tensor1d(returns);
        const vOld = tf.tensor1d(b.values);
        const vClipped = tf.add(vOld, tf.clipByValue(tf.sub(v, vOld), -o.valueClip, o.valueClip));
        return tf.mean(tf.maximum(tf.square(tf.sub(v, R)), tf.square(tf.sub(vClipped, R)))) as tf.Scalar;
      };
      for (const step of r.criticSteps.slice(2 * (k - 1), 2 * k)) expectSameGradients(step.grads, referenceGrads(policy, criticOptimizer as Adam, step.weights, criticObjective));
    }
    r.algo.dispose();
  });

  for (const baseline of ["none", "value"] as const) {
    for (const normAdv of [true, false]) {
      it(`reinforce (baseline ${baseline}, normAdv ${normAdv}): Σ −A·logπ / (episodes·L_max) with returns-to-go${baseline === "value" ? " − V, truncations bootstrapped, and the critic's ½·MSE" : ""}`, async () => {
        const gamma = 0.9;
        const maxLen = 12;
        const r = await record<GroupBatch>(
          "reinforce",
          { numStarts: 2, groupSize: 2, maxEpisodeSteps: maxLen, gamma, baseline, normAdv, learningRate: 0.01, totalTimesteps: 200, ...(baseline === "value" ? { valueEpochs: 2, valueMinibatchSize: 256 } : {}) },
          backend,
        );
        const { policy, optimizer, criticOptimizer } = r.internals;
        const b = r.batches[0];
        const [step] = r.policySteps;
        expect(r.policySteps).toHaveLength(1);
        policy.setWeights(step.weights);
        const finalV = critic(policy, b.finalObs, b.numEpisodes);
        const V = critic(policy, b.obs, b.numSteps);
        const G = new Array<number>(b.numSteps).fill(0);
        const episodes = Array.from({ length: b.numEpisodes }, (_, e) => episodeSteps(b, e));
        episodes.forEach((rows, e) => {
          let g = baseline === "value" && b.truncated[e] ? finalV[e] : 0;
          for (const t of [...rows].reverse()) G[t] = g = b.rewards[t] + gamma * g;
        });
        if (baseline === "value") expect(Array.from(b.truncated)).toContain(1); // the bootstrap is exercised
        const raw = baseline === "value" ? G.map((g, t) => g - V[t]) : G;
        const adv = normAdv ? standardise(raw) : raw;
        const objective = () => {
          const { logProb } = forward(policy, b.obs, b.actions, b.numSteps);
          return aggregateRows(tf.neg(tf.mul(tf.tensor1d(adv), logProb)) as tf.Tensor1D, episodes, "dr_grpo", maxLen);
        };
        expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
        if (baseline === "value") {
          const criticObjective = () => {
            const v = tf.reshape(policy.critic.apply(obsTensor(policy, b.obs, b.numSteps)), [-1]);
            return tf.mul(0.5, tf.mean(tf.square(tf.sub(v, tf.tensor1d(G))))) as tf.Scalar;
          };
          expect(r.criticSteps).toHaveLength(2);
          for (const s of r.criticSteps) expectSameGradients(s.grads, referenceGrads(policy, criticOptimizer as Adam, s.weights, criticObjective));
        } else {
          expect(r.criticSteps).toHaveLength(0);
        }
        r.algo.dispose();
      });
    }
  }

  /** Leave-one-out advantages per episode: r_i − mean of the other returns of its group. */
  const leaveOneOut = (b: GroupBatch) =>
    Array.from(b.episodeReturn, (ret, e) => {
      const others = Array.from(b.episodeReturn).filter((_, j) => j !== e && b.episodeGroup[j] === b.episodeGroup[e]);
      return ret - mean(others);
    });

  for (const advantageNorm of ["none", "batch"] as const) {
    it(`rloo (plain, advantageNorm ${advantageNorm}): one step on mean over all steps of −A_i·logπ`, async () => {
      const r = await record<GroupBatch>("rloo", { numStarts: 2, groupSize: 3, maxEpisodeSteps: 15, clip: false, advantageNorm, learningRate: 0.01, totalTimesteps: 300 }, backend);
      const { policy, optimizer } = r.internals;
      const b = r.batches[0];
      const perEpisode = advantageNorm === "batch" ? standardise(leaveOneOut(b)) : leaveOneOut(b);
      const adv = Array.from(b.episodeIndex, (e) => perEpisode[e]);
      const episodes = Array.from({ length: b.numEpisodes }, (_, e) => episodeSteps(b, e));
      expect(new Set(b.episodeLength).size).toBeGreaterThan(1); // lengths differ, so the aggregation matters
      const objective = () => aggregateRows(tf.neg(tf.mul(tf.tensor1d(adv), forward(policy, b.obs, b.actions, b.numSteps).logProb)) as tf.Tensor1D, episodes, "bnpo", 15);
      expect(r.policySteps).toHaveLength(1);
      expectSameGradients(r.policySteps[0].grads, referenceGrads(policy, optimizer, r.policySteps[0].weights, objective));
      r.algo.dispose();
    });
  }

  it("LOOP (rloo clip on) with a k3 KL to the initial policy: 2 epochs × 2 minibatches of whole episodes, clipped ratio, asymmetric clip, dr_grpo; two iterations", async () => {
    const o = { clipLow: 0.05, clipHigh: 0.1, beta: 0.5, maxLen: 15 };
    const r = await record<GroupBatch>(
      "rloo",
      { numStarts: 2, groupSize: 3, maxEpisodeSteps: o.maxLen, clip: true, updateEpochs: 2, numMinibatches: 2, clipLow: o.clipLow, clipHigh: o.clipHigh, beta: o.beta, lossAggregation: "dr_grpo", learningRate: 0.03, annealLr: false, totalTimesteps: 300 },
      backend,
      2,
    );
    const { policy, optimizer } = r.internals;
    expect(r.permutations).toHaveLength(4);
    expect(r.policySteps).toHaveLength(8);
    let s = 0;
    r.batches.forEach((b, k) => {
      const perEpisode = leaveOneOut(b);
      const adv = Array.from(b.episodeIndex, (e) => perEpisode[e]);
      policy.setWeights(r.policySteps[0].weights); // π_ref stays the initial policy (refUpdateEvery 0)
      const refLogProb = readOut(() => forward(policy, b.obs, b.actions, b.numSteps).logProb);
      for (const perm of r.permutations.slice(2 * k, 2 * k + 2)) {
        for (const episodes of [perm.subarray(0, 3), perm.subarray(3, 6)]) {
          const rows = Array.from(episodes, (e) => episodeSteps(b, e));
          const objective = () => {
            const lp = forward(policy, b.obs, b.actions, b.numSteps).logProb;
            const x = tf.sub(tf.tensor1d(refLogProb), lp); // log π_ref − log π_θ
            const k3 = tf.sub(tf.sub(tf.exp(x), x), 1); // estimates KL(π_θ ‖ π_ref) ≥ 0
            const perStep = tf.add(clippedLoss(lp, b.logProbs, adv, o.clipLow, o.clipHigh), tf.mul(o.beta, k3)) as tf.Tensor1D;
            return aggregateRows(perStep, rows, "dr_grpo", o.maxLen);
          };
          expectSameGradients(r.policySteps[s].grads, referenceGrads(policy, optimizer, r.policySteps[s].weights, objective));
          s++;
        }
      }
      expect(clippedShare(policy, r.policySteps[s - 1].weights, b.obs, b.actions, b.logProbs, o.clipLow, o.clipHigh)).toBeGreaterThan(0);
    });
    r.algo.dispose();
  });

  /** GRPO's outcome advantage per episode: (r − mean_g) / (unbiased std_g + 1e-4). */
  const grpoEpisodeAdvantages = (b: GroupBatch, episodes: number[]) => {
    const out = new Map<number, number>();
    for (const g of new Set(episodes.map((e) => b.episodeGroup[e]))) {
      const members = episodes.filter((e) => b.episodeGroup[e] === g);
      const rs = members.map((e) => b.episodeReturn[e]);
      members.forEach((e, i) => out.set(e, (rs[i] - mean(rs)) / (std(rs) + 1e-4)));
    }
    return out;
  };

  it("epo (differentiable smoothing): GRPO's clipped loss (bnpo) − c_H·(H̄ − c_s·w·P), P the relu distance to the band around Ĥ of each step's turn", async () => {
    const epo = { entropyCoef: 0.5, smoothCoef: 2, kappaLow: 0.99, kappaHigh: 1.01, turns: 3 };
    const o = { ...epo, maxLen: 12, clip: 0.2 };
    const r = await record<GroupBatch>(
      "epo",
      { numStarts: 1, groupSize: 4, maxEpisodeSteps: o.maxLen, updateEpochs: 2, numMinibatches: 1, learningRate: 0.03, annealLr: false, totalTimesteps: 400, ...epo },
      backend,
    );
    const { policy, optimizer } = r.internals;
    const b = r.batches[0];
    const n = b.numSteps;
    const episodes = Array.from({ length: b.numEpisodes }, (_, e) => episodeSteps(b, e));
    const epAdv = grpoEpisodeAdvantages(b, episodes.map((_, e) => e));
    const adv = Array.from(b.episodeIndex, (e) => epAdv.get(e) as number);
    // Ĥ_j after the first iteration's append: the mean entropy of turn j's steps before the update.
    const turn = new Array<number>(n);
    episodes.forEach((rows) => rows.forEach((t, k) => (turn[t] = Math.min(o.turns - 1, Math.floor((k * o.turns) / o.maxLen)))));
    policy.setWeights(r.policySteps[0].weights);
    const h0 = entropies(policy, b.obs, b.actions, n);
    const turnMean: number[] = [];
    for (let j = 0; j < o.turns; j++) {
      const hs = Array.from(h0).filter((_, t) => turn[t] === j);
      turnMean.push(hs.length ? mean(hs) : turnMean[j - 1]);
    }
    expect(Math.max(...turn)).toBeGreaterThanOrEqual(o.turns / 2); // P applies (a step of turn ≥ J/2)
    const Hhat = tf.tensor1d(turn.map((j) => turnMean[j]));
    const objective = () => {
      const { logProb, entropy } = forward(policy, b.obs, b.actions, n);
      const base = aggregateRows(clippedLoss(logProb, b.logProbs, adv, o.clip, o.clip), episodes, "bnpo", o.maxLen);
      const below = tf.relu(tf.sub(tf.mul(o.kappaLow, Hhat), entropy));
      const above = tf.relu(tf.sub(entropy, tf.mul(o.kappaHigh, Hhat)));
      const P = tf.mean(tf.add(below, above));
      const w = 1; // phase weight at progress 0
      return tf.sub(base, tf.mul(o.entropyCoef, tf.sub(tf.mean(entropy), tf.mul(o.smoothCoef * w, P)))) as tf.Scalar;
    };
    expect(r.policySteps).toHaveLength(2);
    for (const step of r.policySteps) expectSameGradients(step.grads, referenceGrads(policy, optimizer, step.weights, objective));
    // The second step started with steps outside the band, so the penalty had a gradient there.
    policy.setWeights(r.policySteps[1].weights);
    const h1 = entropies(policy, b.obs, b.actions, n);
    const out = Array.from(h1).filter((h, t) => h < o.kappaLow * turnMean[turn[t]] || h > o.kappaHigh * turnMean[turn[t]]).length;
    expect(out).toBeGreaterThan(0);
    r.algo.dispose();
  });

  it("grpo with D³S (both levels): max-variance episodes per group, then the top ⌈r·n⌉ steps by |A|·H; grpo aggregation over the episodes that kept steps", async () => {
    const o = { groupSize: 4, numStarts: 2, maxLen: 60, clip: 0.2 };
    const r = await record<GroupBatch>(
      "grpo",
      { numStarts: o.numStarts, groupSize: o.groupSize, maxEpisodeSteps: o.maxLen, updateEpochs: 1, numMinibatches: 1, selection: "d3s", learningRate: 0.01, annealLr: false, totalTimesteps: 2000, seed: 3 },
      backend,
    );
    const { policy, optimizer } = r.internals;
    const b = r.batches[0];
    const all = Array.from({ length: b.numEpisodes }, (_, e) => e);
    const epAdv = grpoEpisodeAdvantages(b, all);
    // Sample level at progress 0 (keep ratio 0.5): in each group the 2 of 4 episodes whose advantages vary most.
    const keptEpisodes: number[] = [];
    for (let g = 0; g < o.numStarts; g++) {
      const members = all.filter((e) => b.episodeGroup[e] === g);
      const pairs = members.flatMap((x, i) => members.slice(i + 1).map((y) => [x, y]));
      const variance = (p: number[]) => std(p.map((e) => epAdv.get(e) as number), false) ** 2;
      pairs.sort((p, q) => variance(q) - variance(p));
      expect(variance(pairs[0]) - variance(pairs[1])).toBeGreaterThan(1e-6); // a unique best pair
      keptEpisodes.push(...pairs[0]);
    }
    keptEpisodes.sort((x, y) => x - y);
    // Step level: of the kept episodes' steps, the ⌈0.5·n⌉ with the largest |A|·H (H before the update).
    const rows = keptEpisodes.flatMap((e) => episodeSteps(b, e));
    policy.setWeights(r.policySteps[0].weights);
    const H = entropies(policy, b.obs, b.actions, b.numSteps);
    const score = (t: number) => Math.abs(epAdv.get(b.episodeIndex[t]) as number) * H[t];
    const top = new Set([...rows].sort((x, y) => score(y) - score(x)).slice(0, Math.ceil(0.5 * rows.length)));
    const perEpisodeRows = keptEpisodes.map((e) => episodeSteps(b, e).filter((t) => top.has(t)));
    const adv = Array.from(b.episodeIndex, (e) => epAdv.get(e) as number);
    const objective = () => {
      const { logProb } = forward(policy, b.obs, b.actions, b.numSteps);
      return aggregateRows(clippedLoss(logProb, b.logProbs, adv, o.clip, o.clip), perEpisodeRows, "grpo", o.maxLen);
    };
    expect(r.policySteps).toHaveLength(1);
    expectSameGradients(r.policySteps[0].grads, referenceGrads(policy, optimizer, r.policySteps[0].weights, objective));
    r.algo.dispose();
  });
});
