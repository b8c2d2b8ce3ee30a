// iGRPO and SFT end to end, in the style of text_gradients.test.ts: the parameter gradient each
// hands its optimiser against central finite differences of its objective, written out here from
// what the test derives on its own (iGRPO: the best draft of each group and the conditioned prompt
// built from it; SFT: the demonstrations drawn from a copy of the trainer's generator), with the
// log-probabilities of TokenPolicy's forward pass. SFT's objective is evaluated one demonstration
// at a time, so no padding enters it: the trainer's batched, left-padded forward must match.
import { expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { corruptLastDigit, type SFT } from "../../src/algos/sft.js";
import { completionOf, type TextGroupOptimizer } from "../../src/algos/text_engine.js";
import { Rng } from "../../src/core/rng.js";
import { EOS } from "../../src/envs/text/tokenizer.js";
import { registerReward } from "../../src/envs/text/rewards.js";
import type { ArrayAdam } from "../../src/nn/optim.js";
import type { TokenPolicy } from "../../src/policies/token_policy.js";
import type { TextBatch, TextGroupCollector } from "../../src/rollout/text_collector.js";
import { describeEachBackend } from "../loss/backends.js";

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 40, ffWidth: 32, activation: "gelu" as const };

// A reward the untrained model's random completions spread out (an untrained model rarely stops
// early, so a length penalty alone ties): the share of completion characters found in the
// prompt, plus 1 for a completion that stopped (EOS) before the length limit, so the best draft
// is one whose EOS the conditioned prompt must drop. It reads the problem, so a refinement scored
// against the conditioned context would change it.
const SHARE_OF_PROMPT = "test-share-of-prompt-chars";
const shareOfPrompt = (prompt: string, completion: string, maxLength: number) =>
  (completion.length < maxLength ? 1 : 0) + (completion.length ? [...completion].filter((ch) => prompt.includes(ch)).length / completion.length : 0);
registerReward(SHARE_OF_PROMPT, (problem, completion, task) => shareOfPrompt(problem.prompt, completion, task.maxCompletionLength));

interface AppliedStep {
  weights: Record<string, Float32Array>;
  grads: Float32Array[];
}

/** Records the weights and raw (pre-clip) gradients of every optimiser step. */
function recordSteps(policy: TokenPolicy, optimizer: ArrayAdam): AppliedStep[] {
  const steps: AppliedStep[] = [];
  const apply = optimizer.applyGradients.bind(optimizer);
  optimizer.applyGradients = (grads, maxGradNorm) => {
    steps.push({ weights: policy.getWeights(), grads: grads.map((g) => g.slice()) });
    return apply(grads, maxGradNorm);
  };
  return steps;
}

/**
 * The derivative of `objective` along the gradient, and along its part in the first attention
 * matrix, by central differences, equals g·u: a wrong sign, scale, mask or term fails.
 */
function expectGradientOf(objective: (w: Record<string, Float32Array>) => number, step: AppliedStep): void {
  const names = Object.keys(step.weights);
  const g = step.grads;
  const along = (dir: Float32Array[], h: number) => Object.fromEntries(names.map((n, i) => [n, Float32Array.from(step.weights[n], (v, j) => v + h * dir[i][j])]));
  const part = names.findIndex((n) => n.includes("attn"));
  expect(part).toBeGreaterThanOrEqual(0);
  for (const dir of [g, g.map((x, i) => (i === part ? x : new Float32Array(x.length)))]) {
    const norm = Math.hypot(...dir.flatMap((x) => Array.from(x)));
    expect(norm).toBeGreaterThan(1e-6);
    const unit = dir.map((x) => Float32Array.from(x, (v) => v / norm));
    const h = 1e-2;
    const fd = (objective(along(unit, h)) - objective(along(unit, -h))) / (2 * h);
    const gu = g.reduce((s, x, i) => s + x.reduce((a, v, j) => a + v * unit[i][j], 0), 0);
    expect(gu).toBeCloseTo(norm, 4);
    expect(Math.abs(fd - gu)).toBeLessThan(0.02 * Math.abs(gu) + 1e-4);
  }
}

describeEachBackend("igrpo and sft: the applied gradient equals finite differences of the objective written out", (backend) => {
  it("igrpo: stage 1 picks each group's best draft (first on ties), stage 2 is GRPO on the refinements given prompt ⊕ draft ⊕ separator", async () => {
    const o = { temperature: 0.8, beta: 0.3, clipLow: 0.2, clipHigh: 0.2, numDrafts: 4, groupSize: 3, separator: ";" };
    const config = resolveConfig({
      algo: "igrpo",
      overrides: {
        task: "addition",
        taskOptions: { digits: 1 },
        model: TINY,
        iterations: 2,
        numPrompts: 3,
        evalProblems: 4,
        backend,
        seed: 6, // a seed whose untrained drafts include some that stop early (EOS)
        rewards: [{ name: SHARE_OF_PROMPT, weight: 1 }],
        learningRate: 0.01,
        numMinibatches: 1,
        updateEpochs: 2,
        ...o,
      },
    });
    const algo = (await getAlgorithm("igrpo", true).create(config)) as TextGroupOptimizer;
    const policy = algo.policy;
    const steps = recordSteps(policy, algo.optimizer);
    const collector = (algo as unknown as { collector: TextGroupCollector }).collector;
    const calls: TextBatch[] = [];
    const collect = collector.collect.bind(collector);
    collector.collect = (...args: Parameters<TextGroupCollector["collect"]>) => {
      const out = collect(...args);
      calls.push(out);
      return out;
    };
    algo.iterate();
    expect(calls).toHaveLength(2); // drafts, then refinements
    expect(steps).toHaveLength(2); // two epochs of one minibatch
    const [drafts, refined] = calls;
    const b = refined.batch;
    expect(drafts.batch.numEpisodes).toBe(3 * o.numDrafts);
    expect(b.numEpisodes).toBe(3 * o.groupSize);

    // Stage 1, derived here: the highest-reward draft of each group (first on ties), its EOS dropped.
    let notFirst = 0;
    let endsWithEos = 0;
    const conditioned = drafts.starts.map((s, g) => {
      let best = 0;
      for (let j = 1; j < o.numDrafts; j++) if (drafts.batch.episodeReturn[g * o.numDrafts + j] > drafts.batch.episodeReturn[g * o.numDrafts + best]) best = j;
      if (best > 0) notFirst++;
      if (completionOf(drafts.batch, g * o.numDrafts + best).at(-1) === EOS) endsWithEos++;
      const draft = Array.from(completionOf(drafts.batch, g * o.numDrafts + best)).filter((t, k, all) => !(t === EOS && k === all.length - 1));
      return Int32Array.from([...policy.encodeContext(s.problem.prompt), ...draft, ...policy.tokenizer.encode(o.separator)]);
    });
    expect(notFirst).toBeGreaterThan(0); // this seed's data exercise a best draft other than the first
    expect(endsWithEos).toBeGreaterThan(0); // and a best draft whose EOS must be dropped
    expect(refined.starts.map((s) => s.problem.prompt)).toEqual(drafts.starts.map((s) => s.problem.prompt));
    expect(refined.contexts.map((c) => Array.from(c))).toEqual(conditioned.map((c) => Array.from(c)));
    // A refinement's reward is the reward of its text on the original problem.
    for (let e = 0; e < refined.batch.numEpisodes; e++) {
      const problem = refined.starts[refined.batch.episodeGroup[e]].problem;
      const completion = refined.completions[e];
      expect(refined.batch.episodeReturn[e]).toBeCloseTo(shareOfPrompt(problem.prompt, completion, algo.maxCompletionLength), 6);
    }

    // Stage 2: GRPO advantages over each group's refinements (unbiased std, eps 1e-4), clipped
    // ratio, k3 KL to the initial model, grpo aggregation — all on log π(o | q ⊕ d* ⊕ ";").
    const epAdv = Array.from(b.episodeReturn, (r, e) => {
      const rs = Array.from(b.episodeReturn).filter((_, j) => b.episodeGroup[j] === b.episodeGroup[e]);
      const mean = rs.reduce((s, x) => s + x, 0) / rs.length;
      const std = Math.sqrt(rs.reduce((s, x) => s + (x - mean) ** 2, 0) / (rs.length - 1));
      return (r - mean) / (std + 1e-4);
    });
    expect(new Set(epAdv.map((a) => a.toFixed(6))).size).toBeGreaterThan(1);
    const contexts = Array.from(b.episodeGroup, (g) => conditioned[g]);
    const completions = Array.from({ length: b.numEpisodes }, (_, e) => completionOf(b, e));
    const logProbAt = (w: Record<string, Float32Array>) => {
      policy.setWeights(w);
      return policy.evaluate(contexts, completions, o.temperature, false).logProb;
    };
    const refLogProb = logProbAt(steps[0].weights);
    expect(algo.recipe.lossAggregation).toBe("grpo");
    const objective = (w: Record<string, Float32Array>) => {
      const logProb = logProbAt(w);
      let total = 0;
      for (let e = 0; e < b.numEpisodes; e++) {
        let sum = 0;
        for (let t = b.episodeStart[e]; t < b.episodeStart[e] + b.episodeLength[e]; t++) {
          const ratio = Math.exp(logProb[t] - b.logProbs[t]);
          const a = epAdv[e];
          const x = refLogProb[t] - logProb[t];
          sum += -Math.min(ratio * a, Math.min(Math.max(ratio, 1 - o.clipLow), 1 + o.clipHigh) * a) + o.beta * (Math.exp(x) - x - 1);
        }
        total += sum / b.episodeLength[e];
      }
      return total / b.numEpisodes;
    };
    for (const step of steps) expectGradientOf(objective, step);
    algo.dispose();
  });

  it("sft: −mean log π of the target tokens (solution + EOS) only, prompt and draft as context, over left-padded rows", async () => {
    const config = resolveConfig({
      algo: "sft",
      overrides: { task: "addition", taskOptions: { digits: 2 }, model: TINY, iterations: 2, batchSize: 4, evalProblems: 4, backend, seed: 3, refinementRate: 0.5, learningRate: 0.01, warmupIterations: 0 },
    });
    const sft = (await getAlgorithm("sft", true).create(config)) as SFT;
    const policy = sft.policy;
    const steps = recordSteps(policy, sft.optimizer);
    // The demonstrations, drawn from a copy of the trainer's generator as SFT documents them.
    const rng = Rng.fromState((sft as unknown as { rng: Rng }).rng.getState());
    const problems = Array.from({ length: 4 }, () => sft.setup.task.sample(rng, "train"));
    const contexts = problems.map((p) => {
      if (rng.uniform() >= 0.5) return policy.encodeContext(p.prompt);
      const draft = rng.uniform() < 0.5 ? corruptLastDigit(p.solution) : p.solution;
      return policy.encodeContext(`${p.prompt}${draft};`);
    });
    const targets = problems.map((p) => Int32Array.from([...policy.tokenizer.encode(p.solution), EOS]));
    // Rows of different lengths, so the trainer's batch is left-padded, and both kinds of context.
    expect(new Set(contexts.map((c) => c.length)).size).toBeGreaterThan(1);
    expect(new Set(targets.map((c) => c.length)).size).toBeGreaterThan(1);
    expect(contexts.some((c) => policy.tokenizer.decode(c).endsWith(";"))).toBe(true);
    expect(contexts.some((c) => !policy.tokenizer.decode(c).endsWith(";"))).toBe(true);
    const N = targets.reduce((s, t) => s + t.length, 0);
    const m = sft.iterate();
    expect(steps).toHaveLength(1);
    expect(m.tokens).toBe(N);
    // One demonstration per forward: no padding, only its target tokens scored, τ = 1.
    const objective = (w: Record<string, Float32Array>) => {
      policy.setWeights(w);
      let nll = 0;
      contexts.forEach((c, i) => {
        for (const lp of policy.evaluate([c], [targets[i]], 1, false).logProb) nll -= lp;
      });
      return nll / N;
    };
    expect(m.loss).toBeCloseTo(objective(steps[0].weights), 4);
    expectGradientOf(objective, steps[0]);
  });
});
