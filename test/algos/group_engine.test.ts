import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { gatherMinibatch, padByEpisode, perTurnEntropy } from "../../src/algos/group_engine.js";
import { aggregate } from "../../src/loss/aggregate.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { create } from "../helpers/algos.js";
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
