import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { bestIndex, igrpoSampler } from "../../src/algos/igrpo.js";
import { corruptLastDigit } from "../../src/algos/sft.js";
import { completionOf, textLearningRate, type TextGroupOptimizer } from "../../src/algos/text_engine.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { defineTask, makeTask, registerTask } from "../../src/envs/text/registry.js";
import { TextEnv } from "../../src/envs/text/text_env.js";
import { EOS } from "../../src/envs/text/tokenizer.js";
import { TextGroupCollector, type TextBatch } from "../../src/rollout/text_collector.js";
import { rlooAdvantages } from "../../src/algos/rloo.js";
import { newTextPolicy } from "../../src/train/text_policy.js";

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

function textConfig(algo: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return resolveConfig({
    algo,
    overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 3, numPrompts: 4, groupSize: 4, evalProblems: 8, backend: "cpu", ...extra },
  });
}

async function create(algo: string, extra: Record<string, unknown> = {}): Promise<TextGroupOptimizer> {
  const config = textConfig(algo, extra);
  return (await getAlgorithm(algo, true).create(config)) as TextGroupOptimizer;
}

beforeAll(async () => {
  await initBackend("cpu");
});

describe("text configs", () => {
  it("resolve a group algorithm on a task, without the env keys", () => {
    const c = textConfig("grpo");
    expect(c.task).toBe("addition");
    expect(c).not.toHaveProperty("env");
    expect(c).not.toHaveProperty("hidden");
    expect(c.lossAggregation).toBe("grpo");
  });
  it("reject an env and a task together, ppo on a task, sft on an env and an unknown task", () => {
    expect(() => resolveConfig({ algo: "grpo", task: "addition", overrides: { env: "CartPole-v1" } })).toThrow(/env or a text task/);
    expect(() => resolveConfig({ algo: "ppo", task: "addition" })).toThrow(/runs on envs/);
    expect(() => resolveConfig({ algo: "sft", env: "CartPole-v1" })).toThrow(/text tasks: give one with --task/);
    expect(() => resolveConfig({ algo: "grpo", task: "additoin" })).toThrow(/addition/);
  });
  it("take kernelThreads auto (the default), 1 or 2, and reject anything else", () => {
    expect(textConfig("grpo").kernelThreads).toBe("auto");
    expect(resolveConfig({ algo: "sft", task: "addition", overrides: { kernelThreads: 1 } }).kernelThreads).toBe(1);
    expect(resolveConfig({ algo: "grpo", task: "addition", overrides: { kernelThreads: 2 } }).kernelThreads).toBe(2);
    expect(() => resolveConfig({ algo: "grpo", task: "addition", overrides: { kernelThreads: 3 } })).toThrow(/kernelThreads/);
  });
  it("reject reinforce's value baseline on text and an init run that does not exist", () => {
    expect(() => resolveConfig({ algo: "reinforce", task: "addition", overrides: { baseline: "value" } })).toThrow(/no critic/);
    expect(() => resolveConfig({ algo: "grpo", task: "addition", overrides: { init: "/no/such/run" } })).toThrow(/does not exist/);
  });
});

describe("text group engine", () => {
  it("runs grpo iterations with finite metrics and no tensor leak", async () => {
    const algo = await create("grpo");
    algo.iterate();
    const before = tf.memory().numTensors;
    const m = algo.iterate();
    expect(tf.memory().numTensors).toBe(before);
    expect(m.iterationTokens).toBeGreaterThanOrEqual(16);
    for (const k of ["policyLoss", "approxKl", "gradNorm", "rewardMean", "entropy"]) expect(Number.isFinite(m[k])).toBe(true);
    expect(m.policySteps).toBe(2);
    algo.dispose();
  });

  it("has zero KL to the reference on the first iteration (π_ref = the initial policy)", async () => {
    const algo = await create("grpo", { beta: 0.04, numMinibatches: 1 });
    const m = algo.iterate();
    expect(m.klRef).toBeLessThan(1e-6);
    expect(Math.abs(m.approxKl)).toBeLessThan(1e-6);
    algo.dispose();
  });

  it("updates the policy when the rewards of a group differ, in the direction that raises the surrogate on the batch", async () => {
    // A fresh model is never right; a length penalty gives its completions different rewards.
    const algo = await create("rloo", { learningRate: 1e-2, numMinibatches: 1, rewards: [{ name: "length-penalty", weight: 1 }] });
    const w0 = algo.policy.getWeights();
    const m = algo.iterate();
    expect(m.zeroVarianceGroups).toBeLessThan(1);
    const w1 = algo.policy.getWeights();
    const changed = Object.keys(w0).filter((k) => w0[k].some((v, i) => v !== w1[k][i]));
    expect(changed.length).toBeGreaterThan(0);
    // In the right direction: the aggregated surrogate Σ w_t·A_t·π_θ/π_old over the batch's tokens went up.
    const sampled = (algo as unknown as { lastSampled: TextBatch }).lastSampled;
    const b = sampled.batch;
    const adv = rlooAdvantages(b, "none");
    expect(algo.recipe.lossAggregation).toBe("bnpo");
    const surrogate = (weights: Record<string, Float32Array>) => {
      algo.policy.setWeights(weights);
      const contexts = Array.from(b.episodeGroup, (g) => sampled.contexts[g]);
      const completions = Array.from({ length: b.numEpisodes }, (_, e) => completionOf(b, e));
      const { logProb } = algo.policy.evaluate(contexts, completions, 1, false);
      return logProb.reduce((s, lp, t) => s + adv[t] * Math.exp(lp - b.logProbs[t]), 0) / b.numSteps;
    };
    expect(surrogate(w1)).toBeGreaterThan(surrogate(w0));
    algo.dispose();
  });

  it("keeps only part of the tokens with D³S at the token level", async () => {
    const algo = await create("grpo", { selection: "d3s", d3s: { levels: "step", keepRatioStart: 0.5, keepRatioEnd: 0.5, schedule: "linear", minGroupKeep: 2, recomputeAdvantages: false } });
    const m = algo.iterate();
    expect(m.selectedFraction).toBeGreaterThan(0.3);
    expect(m.selectedFraction).toBeLessThan(0.75);
    algo.dispose();
  });

  it("resumes exactly from saveState", async () => {
    const a = await create("epo");
    a.iterate();
    const state = a.saveState();
    a.iterate();
    const b = await create("epo");
    b.loadState(state);
    b.iterate();
    const wa = a.policy.getWeights();
    const wb = b.policy.getWeights();
    for (const k of Object.keys(wa)) expect(Array.from(wb[k])).toEqual(Array.from(wa[k]));
    a.dispose();
    b.dispose();
  });

  it("evaluates on every test problem when the split has fewer than evalProblems (parity, 8 bits)", async () => {
    const config = resolveConfig({ algo: "sft", overrides: { task: "parity", model: TINY, iterations: 1, batchSize: 2, backend: "cpu", evalProblems: 200 } });
    const sft = await getAlgorithm("sft", true).create(config);
    const result = sft.evaluate?.() as unknown as { problems: number };
    expect(result.problems).toBeGreaterThan(30);
    expect(result.problems).toBeLessThan(200);
    sft.dispose();
  });

  it("reinforce runs without a critic", async () => {
    const algo = await create("reinforce");
    expect(Number.isFinite(algo.iterate().policyLoss)).toBe(true);
    algo.dispose();
  });
});

describe("a task of your own", () => {
  it("trains when `chars` covers its characters, and says which are missing otherwise", async () => {
    registerTask("shout", () =>
      defineTask({
        name: "shout",
        description: "upper-case a letter",
        options: {},
        maxPromptLength: 3,
        maxCompletionLength: 3,
        generate: (rng) => {
          const c = "abcdefghijklmnopqrstuvwxyz"[rng.integer(0, 26)];
          return { prompt: `${c}!:`, solution: c.toUpperCase(), data: { c } };
        },
        verify: (p, completion) => (completion === p.solution ? 1 : 0),
      }),
    );
    const base = { task: "shout", model: TINY, iterations: 2, batchSize: 4, backend: "cpu", evalProblems: 4 };
    const missing = resolveConfig({ algo: "sft", overrides: base });
    await expect(getAlgorithm("sft", true).create(missing)).rejects.toThrow(/lacks: .*"[A-Z]"[\s\S]*set chars/);
    const ok = resolveConfig({ algo: "sft", overrides: { ...base, chars: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!:" } });
    const sft = await getAlgorithm("sft", true).create(ok);
    expect(Number.isFinite(sft.iterate().loss)).toBe(true);
    sft.dispose();
  });
});

describe("sft", () => {
  it("corrupts the last digit of a demonstration for demoNoise", () => {
    expect(corruptLastDigit("46")).toBe("47");
    expect(corruptLastDigit("109")).toBe("100");
    expect(corruptLastDigit("3*5+7")).toBe("3*5+8");
    expect(corruptLastDigit("abc")).toBe("abc");
  });

  it("warms the learning rate up linearly, then decays it to 0", () => {
    const c = { learningRate: 1e-3, annealLr: true, warmupIterations: 10, iterations: 100 };
    expect(textLearningRate(c, 0)).toBeCloseTo(1e-4, 12);
    expect(textLearningRate(c, 9)).toBeCloseTo(1e-3 * 0.91, 12);
    expect(textLearningRate({ ...c, annealLr: false }, 50)).toBe(1e-3);
  });

  it("lowers the loss on its demonstrations", async () => {
    const config = resolveConfig({ algo: "sft", overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 30, batchSize: 16, warmupIterations: 0, backend: "cpu", evalProblems: 8 } });
    const sft = await getAlgorithm("sft", true).create(config);
    const first = sft.iterate().loss;
    let last = first;
    for (let i = 1; i < 30; i++) last = sft.iterate().loss;
    expect(last).toBeLessThan(first - 0.5);
    sft.dispose();
  });
});

describe("text runs on the kernels backend", () => {
  it("sft and grpo take the same steps as on cpu (float32 rounding apart), with the transformer and Adam on the kernels", async () => {
    for (const algo of ["sft", "grpo"]) {
      const runs = await Promise.all(
        (["cpu", "kernels"] as const).map(async (backend) => {
          // grpo with a length penalty: a fresh model is never right, this gives its completions different rewards.
          const common = { model: TINY, iterations: 3, evalProblems: 8, backend, task: "addition", taskOptions: { digits: 1 } };
          const config = resolveConfig({
            algo,
            overrides: algo === "sft" ? { ...common, batchSize: 8 } : { ...common, numPrompts: 8, groupSize: 4, rewards: [{ name: "length-penalty", weight: 1 }] },
          });
          const run = (await getAlgorithm(algo, true).create(config)) as unknown as { iterate(): { gradNorm: number }; optimizer: { usesKernels: boolean }; policy: { model: { backend: string } }; dispose(): void };
          const losses = [run.iterate().gradNorm, run.iterate().gradNorm, run.iterate().gradNorm]; // a function of every gradient
          const state = { losses, adam: run.optimizer.usesKernels, model: run.policy.model.backend };
          run.dispose();
          return state;
        }),
      );
      expect(runs[0]).toMatchObject({ adam: false, model: "js" });
      expect(runs[1]).toMatchObject({ adam: true, model: "kernels" });
      runs[0].losses.forEach((norm, i) => expect(Math.abs(runs[1].losses[i] - norm)).toBeLessThanOrEqual(1e-3 * norm));
      expect(Math.max(...runs[0].losses)).toBeGreaterThan(0);
      expect(runs[0].losses[2]).not.toBe(runs[0].losses[0]); // the steps moved the weights
    }
  });
});

describe("igrpo", () => {
  it("runs an iteration and counts the drafts' tokens as sampled", async () => {
    const algo = await create("igrpo", { numDrafts: 2, groupSize: 2 });
    const m = algo.iterate();
    expect(m.draftTokens).toBeGreaterThanOrEqual(8);
    expect(algo.stepsDone).toBe(m.iterationTokens + m.draftTokens);
    algo.dispose();
  });

  it("picks the best draft, first on ties (docs/methods.md §8)", () => {
    expect(bestIndex([0, 1, 0, 0])).toBe(1);
    expect(bestIndex([1, 1, 0, 1])).toBe(0);
    expect(bestIndex([0, 0, 1, 0, 1, 1], 2, 4)).toBe(0);
    // A window never looks past its end, into the next group's drafts.
    expect(bestIndex([0, 0, 1, 5], 0, 2)).toBe(0);
    expect(bestIndex([3, 0, 1, 5], 1, 2)).toBe(1);
  });

  it("conditions on the draft with the highest reward (not the first) and scores refinements against the original problem", () => {
    // A reward the untrained model's random completions spread out: the share of completion
    // characters that occur in the prompt. It depends on the prompt, so scoring a refinement
    // against the conditioned context (prompt ⊕ draft ⊕ ";") instead would change it.
    const task = defineTask({
      name: "share-of-prompt-chars",
      description: "test task",
      maxCompletionLength: 6,
      maxPromptLength: 8,
      generate: (rng) => ({ prompt: `${rng.integer(100, 1000)}+=`, solution: "1", data: {} }),
      verify: (problem, completion) => (completion.length ? [...completion].filter((ch) => problem.prompt.includes(ch)).length / completion.length : 0),
    });
    const policy = newTextPolicy(TINY, new Rng(3));
    const collector = new TextGroupCollector(() => new TextEnv({ task, tokenizer: policy.tokenizer }), policy, { numPrompts: 4, groupSize: 2, temperature: 1, topK: 0, maxGroupSize: 4 });
    let drafts: ReturnType<TextGroupCollector["collect"]> | null = null;
    const collect = collector.collect.bind(collector);
    collector.collect = (...args: Parameters<TextGroupCollector["collect"]>) => {
      const out = collect(...args);
      drafts ??= out; // the first call samples the drafts
      return out;
    };
    const { batch, metrics } = igrpoSampler(4, ";").sample(collector, new Rng(8));
    const d = drafts as unknown as ReturnType<TextGroupCollector["collect"]>;
    let notFirst = 0;
    let bestSum = 0;
    batch.starts.forEach((s, g) => {
      const returns = Array.from(d.batch.episodeReturn.subarray(g * 4, g * 4 + 4));
      const best = returns.indexOf(Math.max(...returns));
      if (best > 0) notFirst++;
      bestSum += returns[best];
      let tokens = completionOf(d.batch, g * 4 + best);
      if (tokens.length && tokens[tokens.length - 1] === EOS) tokens = tokens.subarray(0, tokens.length - 1);
      expect(policy.tokenizer.decode(batch.contexts[g])).toBe(s.problem.prompt + policy.tokenizer.decode(tokens) + ";");
    });
    expect(notFirst).toBeGreaterThan(0); // the data exercise a best draft other than the first
    const draftReturns = Array.from(d.batch.episodeReturn);
    expect(metrics.draftRewardMean).toBeCloseTo(draftReturns.reduce((a, b) => a + b, 0) / draftReturns.length, 6);
    expect(metrics.bestDraftRewardMean).toBeCloseTo(bestSum / batch.starts.length, 6);
    expect(metrics.bestDraftRewardMean).toBeGreaterThan(metrics.draftRewardMean);
    for (let e = 0; e < batch.batch.numEpisodes; e++) {
      const problem = batch.starts[batch.batch.episodeGroup[e]].problem;
      expect(batch.batch.episodeReturn[e]).toBeCloseTo(task.verify(problem, batch.completions[e]), 6); // stored as float32
    }
    expect(new Set(Array.from(batch.batch.episodeReturn)).size).toBeGreaterThan(1); // rewards that can tell problems apart
  });

  it("conditions the refinements on prompt ⊕ best draft ⊕ separator and scores them against the prompt", () => {
    const task = makeTask("addition", { digits: 1 });
    const policy = newTextPolicy(TINY, new Rng(3));
    const collector = new TextGroupCollector(() => new TextEnv({ task, tokenizer: policy.tokenizer }), policy, { numPrompts: 3, groupSize: 2, temperature: 1, topK: 0, maxGroupSize: 4 });
    const { batch, metrics } = igrpoSampler(4, ";").sample(collector, new Rng(5));
    expect(batch.batch.numEpisodes).toBe(6);
    expect(metrics.draftTokens).toBeGreaterThanOrEqual(12);
    batch.starts.forEach((s, g) => {
      const context = policy.tokenizer.decode(batch.contexts[g]);
      expect(context.startsWith(s.problem.prompt)).toBe(true);
      expect(context.endsWith(";")).toBe(true);
    });
    // The reward of a refinement is the verifier's verdict on the original problem.
    for (let e = 0; e < 6; e++) {
      const problem = batch.starts[batch.batch.episodeGroup[e]].problem;
      expect(batch.batch.episodeReturn[e]).toBe(task.verify(problem, batch.completions[e]));
    }
  });
});
