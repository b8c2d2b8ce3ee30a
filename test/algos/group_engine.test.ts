import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { epoTerm, gatherMinibatch, padByEpisode, perTurnEntropy, readDiagnostics, runEpochs, turnIndexOf, type Minibatch, type StepDiagnostics } from "../../src/algos/group_engine.js";
import { reinforceRecipe } from "../../src/algos/reinforce.js";
import type { ReinforceConfig } from "../../src/algos/reinforce.js";
import { rlooRecipe, type RLOOConfig } from "../../src/algos/rloo.js";
import { Rng } from "../../src/core/rng.js";
import { aggregate } from "../../src/loss/aggregate.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { create, smallConfig } from "../helpers/algos.js";
import { describeEachBackend } from "../loss/backends.js";

describeEachBackend("padByEpisode", () => {
  it("lays consecutive episodes out as [episodes, T] so aggregate gives the §2 numbers", () => {
    tf.tidy(() => {
      // Episodes of lengths 2 and 4 with per-step losses 1 and 2 (docs/methods.md §2).
      const { padded, mask } = padByEpisode(tf.tensor1d([1, 1, 2, 2, 2, 2]), [2, 4]);
      expect(padded.shape).toEqual([2, 4]);
      expect(Array.from(padded.dataSync())).toEqual([1, 1, 0, 0, 2, 2, 2, 2]);
      expect(Array.from(mask.dataSync())).toEqual([1, 1, 0, 0, 1, 1, 1, 1]);
      expect(aggregate(padded, mask, "grpo").dataSync()[0]).toBeCloseTo(1.5, 6);
      expect(aggregate(padded, mask, "bnpo").dataSync()[0]).toBeCloseTo(1.666667, 6);
      expect(aggregate(padded, mask, "dr_grpo", 4).dataSync()[0]).toBeCloseTo(1.25, 6);
    });
  });

  it("passes gradients back to the per-step values with each mode's weights, empty episodes included", () => {
    const x = tf.variable(tf.tensor1d([1, 1, 2, 2, 2, 2]));
    const lengths = [2, 0, 4];
    const grad = (mode: "grpo" | "bnpo" | "dr_grpo") =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const { padded, mask } = padByEpisode(x as unknown as tf.Tensor1D, lengths);
          return aggregate(padded, mask, mode, 4);
        }, [x]);
        return Array.from(grads[x.name].dataSync());
      });
    // grpo: 1/(B·len_i) with B = 3 (the empty episode still counts); bnpo: 1/6; dr_grpo: 1/(3·4).
    expect(grad("grpo")).toEqual([1 / 6, 1 / 6, 1 / 12, 1 / 12, 1 / 12, 1 / 12].map((v) => expect.closeTo(v, 6)));
    expect(grad("bnpo")).toEqual(new Array(6).fill(expect.closeTo(1 / 6, 6)));
    expect(grad("dr_grpo")).toEqual(new Array(6).fill(expect.closeTo(1 / 12, 6)));
    x.dispose();
  });
});

describe("perTurnEntropy", () => {
  it("averages entropy per turn and carries the last reached turn forward", () => {
    const batch = { numSteps: 5 } as GroupBatch;
    const out = perTurnEntropy(batch, Float32Array.from([1, 3, 2, 4, 6]), Int32Array.from([0, 0, 1, 1, 1]), 4);
    expect(Array.from(out)).toEqual([2, 4, 4, 4]);
  });
});

describe("group engine step accounting", () => {
  it("counts whole episodes: stepsDone is the sum of the iterations, and training ends at the first boundary past the budget", async () => {
    const algo = await create("grpo", { totalTimesteps: 300, numStarts: 1, groupSize: 4, numMinibatches: 1, updateEpochs: 1 });
    let steps = 0;
    let last = 0;
    while (algo.iteration < algo.totalIterations) {
      const m = algo.iterate();
      const episodes = algo.drainEpisodes();
      expect(episodes).toHaveLength(4);
      expect(episodes.reduce((s, e) => s + e.length, 0)).toBe(m.iterationSteps);
      steps += m.iterationSteps;
      last = m.iterationSteps;
      expect(algo.stepsDone).toBe(steps);
      expect(algo.iteration * algo.stepsPerIteration).toBeCloseTo(steps, 6);
    }
    expect(steps).toBeGreaterThanOrEqual(300);
    expect(steps - last).toBeLessThan(300); // the last iteration started inside the budget
    expect(algo.totalIterations).toBe(algo.iteration);
    algo.dispose();
  });
});

describe("gatherMinibatch with step-level selection (D³S)", () => {
  it("leaves out an episode whose steps were all dropped, so grpo/dr_grpo aggregation does not count it", () => {
    // Three episodes of 2, 3 and 2 steps; selection drops both steps of episode 1 (batch rows 0–1).
    const batch = {
      numSteps: 7,
      numEpisodes: 3,
      episodeStart: Int32Array.from([0, 2, 5]),
      episodeLength: Int32Array.from([2, 3, 2]),
      obs: Float32Array.from({ length: 7 }, (_, i) => i),
      actions: new Int32Array(7),
      logProbs: new Float32Array(7),
      obsSize: 1,
      actSize: 1,
      discrete: true,
    } as unknown as GroupBatch;
    const adv = Float32Array.from([1, 1, 2, 2, 2, 3, 3]);
    const keep = Uint8Array.from([0, 0, 1, 0, 1, 1, 1]);
    const mb = gatherMinibatch(batch, Int32Array.from([0, 1, 2]), adv, keep, null, null, null);
    expect(mb.lengths).toEqual([2, 2]);
    expect(Array.from(mb.rows)).toEqual([2, 4, 5, 6]);
    expect(Array.from(mb.advantages)).toEqual([2, 2, 3, 3]);
    const none = gatherMinibatch(batch, Int32Array.from([0, 1, 2]), adv, null, null, null, null);
    expect(none.lengths).toEqual([2, 3, 2]);
  });

  it("gathers continuous actions of several dimensions row by row, and each step's turn", () => {
    // Two episodes of 2 and 1 steps, 2-D actions; minibatch = episode 1 then episode 0.
    const batch = {
      numSteps: 3,
      numEpisodes: 2,
      episodeStart: Int32Array.from([0, 2]),
      episodeLength: Int32Array.from([2, 1]),
      obs: Float32Array.from([10, 11, 12]),
      actions: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
      logProbs: Float32Array.from([-1, -2, -3]),
      obsSize: 1,
      actSize: 2,
      discrete: false,
    } as unknown as GroupBatch;
    const turns = Int32Array.from([0, 1, 0]);
    const mb = gatherMinibatch(batch, Int32Array.from([1, 0]), new Float32Array(3), null, null, turns, null);
    expect(Array.from(mb.obs)).toEqual([12, 10, 11]);
    expect(Array.from(mb.actions)).toEqual([0.5, 0.6, 0.1, 0.2, 0.3, 0.4].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(mb.oldLogProbs)).toEqual([-3, -1, -2]);
    expect(Array.from(mb.turns as Int32Array)).toEqual([0, 0, 1]);
    expect(mb.turnReference).toBeNull(); // no history, no Ĥ
    const withRef = gatherMinibatch(batch, Int32Array.from([1, 0]), new Float32Array(3), null, null, turns, Float32Array.from([0.7, 0.9]));
    expect(Array.from(withRef.turnReference as Float32Array)).toEqual([0.7, 0.7, 0.9].map((v) => expect.closeTo(v, 6)));
  });
});

describe("runEpochs", () => {
  const diag = (x: number): StepDiagnostics => ({ policyLoss: x, entropy: 2 * x, approxKl: 3 * x, clipFraction: 4 * x, klRef: 5 * x, epoPenalty: 6 * x, epoOutOfBand: 7 * x, gradNorm: 8 * x });

  it("splits each epoch's permutation into contiguous minibatches and averages the diagnostics over the steps taken", () => {
    const seen: number[][] = [];
    let call = 0;
    const m = runEpochs({ updateEpochs: 2, kl: null, epo: null }, 5, 2, new Rng(3), (episodes) => {
      seen.push(Array.from(episodes));
      call++;
      return call === 2 ? null : diag(call); // the second minibatch held no step
    });
    expect(seen.map((e) => e.length)).toEqual([2, 3, 2, 3]);
    for (const epoch of [0, 1]) expect([...seen[2 * epoch], ...seen[2 * epoch + 1]].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(seen[0]).not.toEqual(seen[2]); // a fresh permutation per epoch
    // Steps 1, 3 and 4 ran: means (1 + 3 + 4) / 3 = 8/3 of each diagnostic's multiple.
    const mean = 8 / 3;
    expect(m).toEqual({ policyLoss: mean, entropy: 2 * mean, approxKl: 3 * mean, clipFraction: 4 * mean, gradNorm: 8 * mean, policySteps: 3 });
  });

  it("reports the KL to π_ref with a KL term and EPO's numbers with EPO, and zeros when no step ran", () => {
    const kl = { beta: 0.1, estimator: "k3" as const, refUpdateEvery: 0 };
    const epo = { entropyCoef: 0.1, smoothCoef: 1, kappaLow: 0.8, kappaHigh: 1.2, penalty: 0, smoothing: "differentiable" as const, turns: 2, phaseWeights: false };
    const m = runEpochs({ updateEpochs: 1, kl, epo }, 2, 1, new Rng(1), () => diag(1));
    expect(m).toMatchObject({ klRef: 5, epoPenalty: 6, epoOutOfBand: 7, policySteps: 1 });
    const none = runEpochs({ updateEpochs: 1, kl: null, epo: null }, 2, 1, new Rng(1), () => null);
    expect(none).toEqual({ policyLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0, policySteps: 0 });
  });
});

describeEachBackend("readDiagnostics", () => {
  it("reads groupStepLoss's diagnostics in their order and disposes the tensor", () => {
    const t = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
    expect(readDiagnostics(t, 8)).toEqual({ policyLoss: 1, entropy: 2, approxKl: 3, clipFraction: 4, klRef: 5, epoPenalty: 6, epoOutOfBand: 7, gradNorm: 8 });
    expect(t.isDisposed).toBe(true);
  });
});

describe("turnIndexOf", () => {
  it("buckets each step's time index within its episode so maxSteps spans J turns", () => {
    const batch = { numSteps: 8, numEpisodes: 2, episodeStart: Int32Array.from([0, 5]), episodeLength: Int32Array.from([5, 3]) } as unknown as GroupBatch;
    expect(Array.from(turnIndexOf(batch, 3, 6))).toEqual([0, 0, 1, 1, 2, 0, 0, 1]);
    expect(Array.from(turnIndexOf(batch, 2, 5))).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
  });
});

describeEachBackend("epoTerm", () => {
  it("weighs the smoothing penalty by the phase weight at the run's progress: −c_H·(H̄ − c_s·w·P), w(75 of 100 epochs) = 0.8·e^−1.5", () => {
    const e = { entropyCoef: 0.5, smoothCoef: 2, kappaLow: 0.9, kappaHigh: 1.1, penalty: 0, smoothing: "differentiable" as const, turns: 2, phaseWeights: true };
    const mb = { turns: Int32Array.from([0, 1, 1]), turnReference: Float32Array.from([1, 1, 1]) } as unknown as Minibatch;
    const entropy = [0.5, 2, 1];
    // P = mean(relu(0.9 − H) + relu(H − 1.1)) = (0.4 + 0.9 + 0) / 3.
    const P = 1.3 / 3;
    const meanH = 3.5 / 3;
    for (const [progress, w] of [[0, 1], [0.75, 0.8 * Math.exp(-1.5)]]) {
      const term = epoTerm(e, tf.tensor1d(entropy), mb, progress);
      expect(term.loss.dataSync()[0]).toBeCloseTo(-e.entropyCoef * (meanH - e.smoothCoef * w * P), 5);
      expect(Array.from(term.stats.dataSync())).toEqual([expect.closeTo(P, 6), expect.closeTo(2 / 3, 6)]);
      tf.dispose([term.loss, term.stats]);
    }
  });
});

describe("group recipes", () => {
  it("keep no reference policy without a KL coefficient, and no critic without reinforce's value baseline", () => {
    expect(rlooRecipe(smallConfig("rloo", { beta: 0 }) as RLOOConfig).kl).toBeNull();
    expect(rlooRecipe(smallConfig("rloo", { beta: 0.1 }) as RLOOConfig).kl).toEqual({ beta: 0.1, estimator: expect.any(String), refUpdateEvery: expect.any(Number) });
    expect(reinforceRecipe(smallConfig("reinforce", { baseline: "none" }) as ReinforceConfig).critic).toBeNull();
    expect(reinforceRecipe(smallConfig("reinforce", { baseline: "value" }) as ReinforceConfig).critic).not.toBeNull();
  });
});
