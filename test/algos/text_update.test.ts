// The text engine's update plumbing in isolation: the gradients `stepLossGradients` scatters
// back to the token forward (EPO's entropy term included when entCoef is 0), the reference
// log-probabilities of a batch larger than one forward chunk (64 completions), and minibatches
// whose tokens selection dropped entirely.
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { EpoSettings, GroupRecipe, Minibatch } from "../../src/algos/group_engine.js";
import { epoTerm, groupStepLoss, stepLossGradients } from "../../src/algos/group_engine.js";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import type { TextGroupOptimizer } from "../../src/algos/text_engine.js";
import { initBackend } from "../../src/core/backend.js";
import type { IterationMetrics } from "../../src/algos/types.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import type { TextBatch } from "../../src/rollout/text_collector.js";
import type { TokenPolicy } from "../../src/policies/token_policy.js";

beforeAll(async () => {
  await initBackend("cpu");
});

describe("stepLossGradients", () => {
  it("carries EPO's entropy gradient back to the picked tokens even with entCoef 0, and zero to the others", () => {
    const epo: EpoSettings = { entropyCoef: 0.5, smoothCoef: 2, kappaLow: 0.9, kappaHigh: 1.1, penalty: 0, smoothing: "differentiable", turns: 2, phaseWeights: false };
    const recipe = { objective: "pg", clipLow: 0.2, clipHigh: 0.2, lossAggregation: "bnpo", entCoef: 0, kl: null, epo } as unknown as GroupRecipe;
    // Two completions of 2 and 1 kept tokens, picked from a forward of 5 tokens.
    const mb = {
      numSteps: 3,
      lengths: [2, 1],
      oldLogProbs: Float32Array.from([-1, -2, -0.5]),
      advantages: Float32Array.from([1, 1, -2]),
      refLogProbs: null,
      turns: Int32Array.from([0, 1, 1]),
      turnReference: Float32Array.from([1, 1, 1]),
    } as unknown as Minibatch;
    const out = { logProb: Float32Array.from([-9, -1.1, -9, -1.9, -0.6]), entropy: Float32Array.from([9, 0.5, 9, 2, 1]) };
    const pick = Int32Array.from([1, 3, 4]);
    const got = stepLossGradients(recipe, out, pick, mb, 4, 0);
    got.diagnostics.dispose();
    // Reference: autodiff of the same loss on the picked tokens.
    const [dlp, dh] = tf.tidy(() => {
      const lp = tf.tensor1d([-1.1, -1.9, -0.6]);
      const h = tf.tensor1d([0.5, 2, 1]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
        const e = epoTerm(epo, b as tf.Tensor1D, mb, 0);
        return groupStepLoss(recipe, a as tf.Tensor1D, b as tf.Tensor1D, mb, 4, e).loss;
      })([lp, h]);
      return g.map((t) => Array.from(t.dataSync()));
    });
    expect(dh.some((x) => Math.abs(x) > 1e-3)).toBe(true);
    const dEntropy = got.dEntropyAll as Float32Array;
    expect(dEntropy).not.toBeNull();
    expect(Array.from(dEntropy)).toEqual([0, dh[0], 0, dh[1], dh[2]].map((x) => expect.closeTo(x, 6)));
    expect(Array.from(got.dLogProbAll)).toEqual([0, dlp[0], 0, dlp[1], dlp[2]].map((x) => expect.closeTo(x, 6)));
  });
});

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

describe("text engine update", () => {
  it("takes no Adam step on a minibatch with no kept token", async () => {
    const config = resolveConfig({
      algo: "grpo",
      overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 2, numPrompts: 2, groupSize: 2, evalProblems: 2, backend: "cpu", numMinibatches: 2, updateEpochs: 2 },
    });
    const algo = (await getAlgorithm("grpo", true).create(config)) as TextGroupOptimizer;
    algo.iterate();
    const internal = algo as unknown as {
      lastSampled: TextBatch;
      update(b: GroupBatch, contexts: Int32Array[], adv: Float32Array, keep: Uint8Array | null, ref: Float32Array | null, progress: number): IterationMetrics;
    };
    const s = internal.lastSampled;
    const contexts = Array.from(s.batch.episodeGroup, (g) => s.contexts[g]);
    const before = algo.policy.getWeights();
    const m = internal.update(s.batch, contexts, new Float32Array(s.batch.numSteps).fill(1), new Uint8Array(s.batch.numSteps), null, 0);
    expect(m.policySteps).toBe(0);
    expect(algo.policy.getWeights()).toEqual(before);
    algo.dispose();
  });
});

describe("text engine reference log-probabilities", () => {
  it("scores every completion of a batch of more than 64 (the forward's chunk), each at its own offset", async () => {
    const config = resolveConfig({
      algo: "grpo",
      overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 1, numPrompts: 2, groupSize: 2, evalProblems: 2, backend: "cpu", temperature: 0.7 },
    });
    const algo = (await getAlgorithm("grpo", true).create(config)) as TextGroupOptimizer;
    const policy = algo.policy as TokenPolicy;
    const numEpisodes = 70;
    const episodeLength = Int32Array.from({ length: numEpisodes }, (_, e) => 1 + (e % 3));
    const episodeStart = new Int32Array(numEpisodes);
    for (let e = 1; e < numEpisodes; e++) episodeStart[e] = episodeStart[e - 1] + episodeLength[e - 1];
    const numSteps = episodeStart[numEpisodes - 1] + episodeLength[numEpisodes - 1];
    const digits = policy.tokenizer.encode("0123456789");
    const actions = Int32Array.from({ length: numSteps }, (_, t) => digits[(7 * t) % digits.length]);
    const contexts = Array.from({ length: numEpisodes }, (_, e) => policy.encodeContext(`${e % 10}+${(3 * e) % 10}=`));
    const batch = { numEpisodes, numSteps, episodeStart, episodeLength, actions } as unknown as GroupBatch;
    const logProbsOf = (algo as unknown as { logProbsOf(p: TokenPolicy, b: GroupBatch, c: Int32Array[]): Float32Array }).logProbsOf.bind(algo);
    const got = logProbsOf(policy, batch, contexts);
    const want = Array.from({ length: numEpisodes }, (_, e) =>
      Array.from(policy.evaluate([contexts[e]], [actions.subarray(episodeStart[e], episodeStart[e] + episodeLength[e])], 0.7, false).logProb),
    ).flat();
    expect(Array.from(got)).toEqual(want.map((x) => expect.closeTo(x, 5)));
    algo.dispose();
  });
});
