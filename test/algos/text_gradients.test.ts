// The text engine end to end: the parameter gradient it hands its optimiser (token pick and
// scatter, D³S's token mask, temperature, KL to the reference, entropy bonus, aggregation, and
// TokenPolicy.backward) against central finite differences of the objective written out here
// in plain numbers from the sampled batch and TokenPolicy's forward pass. Finite differences
// run along directions (the gradient itself, and its restriction to one weight matrix): the
// derivative along a unit vector u must equal g·u, so a wrong sign, scale or term fails.
import { expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { completionOf, type TextGroupOptimizer } from "../../src/algos/text_engine.js";
import type { ArrayAdam } from "../../src/nn/optim.js";
import type { TextBatch } from "../../src/rollout/text_collector.js";
import { describeEachBackend } from "../loss/backends.js";

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

describeEachBackend("text engine: the applied gradient equals finite differences of the objective written out", (backend) => {
  it("grpo at τ 0.7 with a k3 KL to the initial model, an entropy bonus and D³S's token mask; two epochs", async () => {
    const o = { temperature: 0.7, beta: 0.5, entCoef: 0.5, clipLow: 0.2, clipHigh: 0.28 };
    const config = resolveConfig({
      algo: "grpo",
      overrides: {
        task: "addition",
        taskOptions: { digits: 1 },
        model: TINY,
        iterations: 2,
        numPrompts: 2,
        groupSize: 4,
        evalProblems: 4,
        backend,
        rewards: [{ name: "length-penalty", weight: 1 }],
        learningRate: 0.01,
        numMinibatches: 1,
        updateEpochs: 2,
        selection: "d3s",
        d3s: { levels: "step", keepRatioStart: 0.5, keepRatioEnd: 0.5, schedule: "linear", minGroupKeep: 2, recomputeAdvantages: false },
        ...o,
      },
    });
    const algo = (await getAlgorithm("grpo", true).create(config)) as TextGroupOptimizer;
    const policy = algo.policy;
    const steps: { weights: Record<string, Float32Array>; grads: Float32Array[] }[] = [];
    const optimizer = algo.optimizer as ArrayAdam;
    const apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads, maxGradNorm) => {
      steps.push({ weights: policy.getWeights(), grads: grads.map((g) => g.slice()) });
      return apply(grads, maxGradNorm);
    };
    algo.iterate();
    expect(steps).toHaveLength(2);
    const sampled = (algo as unknown as { lastSampled: TextBatch }).lastSampled;
    const b = sampled.batch;
    const names = Object.keys(steps[0].weights);
    const contexts = Array.from(b.episodeGroup, (g) => sampled.contexts[g]);
    const completions = Array.from({ length: b.numEpisodes }, (_, e) => completionOf(b, e));
    const readout = (w: Record<string, Float32Array>) => {
      policy.setWeights(w);
      return policy.evaluate(contexts, completions, o.temperature, false);
    };
    // GRPO's outcome advantage per completion, then D³S: the ⌈0.5·n⌉ tokens of largest |A|·H.
    const epAdv = Array.from(b.episodeReturn, (r, e) => {
      const rs = Array.from(b.episodeReturn).filter((_, j) => b.episodeGroup[j] === b.episodeGroup[e]);
      const mean = rs.reduce((s, x) => s + x, 0) / rs.length;
      const std = Math.sqrt(rs.reduce((s, x) => s + (x - mean) ** 2, 0) / (rs.length - 1));
      return (r - mean) / (std + 1e-4);
    });
    expect(new Set(epAdv.map((a) => a.toFixed(6))).size).toBeGreaterThan(1); // rewards differ, so there is a signal
    const adv = Array.from(b.episodeIndex, (e) => epAdv[e]);
    const order = Array.from({ length: b.numSteps }, (_, t) => t).sort((x, y) => Math.abs(adv[y]) * sampled.entropy[y] - Math.abs(adv[x]) * sampled.entropy[x] || x - y);
    const kept = new Set(order.slice(0, Math.ceil(0.5 * b.numSteps)));
    const episodes = Array.from({ length: b.numEpisodes }, (_, e) => Array.from({ length: b.episodeLength[e] }, (_, k) => b.episodeStart[e] + k).filter((t) => kept.has(t))).filter((rows) => rows.length > 0);
    const refLogProb = readout(steps[0].weights).logProb; // π_ref: the initial model
    const mode = algo.recipe.lossAggregation;
    const objective = (w: Record<string, Float32Array>) => {
      const { logProb, entropy } = readout(w);
      const loss = (t: number) => {
        const ratio = Math.exp(logProb[t] - b.logProbs[t]);
        const surrogate = -Math.min(ratio * adv[t], Math.min(Math.max(ratio, 1 - o.clipLow), 1 + o.clipHigh) * adv[t]);
        const x = refLogProb[t] - logProb[t];
        return surrogate + o.beta * (Math.exp(x) - x - 1) - o.entCoef * entropy[t];
      };
      const sums = episodes.map((rows) => rows.reduce((s, t) => s + loss(t), 0));
      if (mode === "grpo") return sums.reduce((s, x, i) => s + x / episodes[i].length, 0) / episodes.length;
      const total = sums.reduce((s, x) => s + x, 0);
      return mode === "bnpo" ? total / episodes.flat().length : total / (episodes.length * algo.maxCompletionLength);
    };
    const along = (w: Record<string, Float32Array>, dir: Float32Array[], h: number) =>
      Object.fromEntries(names.map((n, i) => [n, Float32Array.from(w[n], (v, j) => v + h * dir[i][j])]));
    for (const step of steps) {
      const g = step.grads;
      // Directions: the whole gradient, and its part in the first attention weights only.
      const part = names.findIndex((n) => n.includes("attn"));
      for (const dir of [g, g.map((x, i) => (i === part ? x : new Float32Array(x.length)))]) {
        const norm = Math.hypot(...dir.flatMap((x) => Array.from(x)));
        expect(norm).toBeGreaterThan(1e-6);
        const unit = dir.map((x) => Float32Array.from(x, (v) => v / norm));
        const h = 1e-2;
        const fd = (objective(along(step.weights, unit, h)) - objective(along(step.weights, unit, -h))) / (2 * h);
        const gu = g.reduce((s, x, i) => s + x.reduce((a, v, j) => a + v * unit[i][j], 0), 0);
        expect(gu).toBeCloseTo(norm, 4); // g·u = |dir| for both directions (dir is g or a part of it)
        expect(Math.abs(fd - gu)).toBeLessThan(0.02 * Math.abs(gu) + 1e-4);
      }
    }
    algo.dispose();
  });
});
