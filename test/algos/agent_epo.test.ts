// EPO on multi-turn episodes: the smoothing penalty compares each policy token's entropy with
// the historical mean entropy of the real turn it was written in.
//  1. hand-computed numbers through the engine's own pieces (turns of a batch, the per-turn
//     history, the minibatch, the loss term);
//  2. the gradient the engine applies against central finite differences of the objective
//     written out here in plain numbers (two iterations: history of two vectors, phase weight);
//  3. a short learning run.
import * as tf from "#tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { epoTurnsOf, type AgentGroupOptimizer } from "../../src/algos/agent_engine.js";
import { epoTerm, gatherMinibatch, perTurnEntropy, type EpoSettings } from "../../src/algos/group_engine.js";
import { resolveConfig } from "../../src/algos/index.js";
import { initBackend } from "../../src/core/backend.js";
import { defineAgentTask, registerAgentTask } from "../../src/envs/text/agent/task.js";
import { EntropyHistory, epoPhaseWeight } from "../../src/loss/epo.js";
import type { ArrayAdam } from "../../src/nn/optim.js";
import type { AgentBatch } from "../../src/rollout/agent_collector.js";
import type { GroupBatch } from "../../src/rollout/group_collector.js";
import { createAlgorithm } from "../../src/train/loop.js";
import { describeEachBackend } from "../loss/backends.js";

/** Two turns; the second wins when it starts with a digit (a fresh model wins about one time in five). */
registerAgentTask("epo-coin", () =>
  defineAgentTask({
    name: "epo-coin",
    description: "two turns; the second wins when it starts with a digit",
    maxPromptLength: 3,
    maxTurnLength: 3,
    maxObservationLength: 3,
    maxTurns: 2,
    generate: (rng) => ({ prompt: "?", data: { k: rng.integer(0, 1000) }, demonstration: ["a", "1"] }),
    respond: (_p, turn, i) => (i === 0 ? { observation: "=a;", done: false, toolCall: true, malformed: false } : { observation: "", done: true, answer: turn, toolCall: false, malformed: false }),
    verify: (_p, answer) => (/^[0-9]/.test(answer) ? 1 : 0),
  }),
);

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

describe("EPO over real turns: hand-computed", () => {
  beforeAll(() => initBackend("cpu"));
  it("per-turn history, band and penalty of a two-episode batch", () => {
    // Episode 0: turn 0 wrote tokens of entropy 0.5, 1.5; turn 1 one token of 2.0.
    // Episode 1: turn 0 one token of 1.0; turn 1 two tokens of 3.0, 5.0.
    const entropy = Float32Array.from([0.5, 1.5, 2.0, 1.0, 3.0, 5.0]);
    const batch = {
      numEpisodes: 2,
      numSteps: 6,
      obsSize: 1,
      actSize: 1,
      discrete: true,
      obs: new Float32Array(6),
      actions: new Int32Array(6),
      logProbs: new Float32Array(6),
      episodeStart: Int32Array.from([0, 3]),
      episodeLength: Int32Array.from([3, 3]),
      episodeIndex: Int32Array.from([0, 0, 0, 1, 1, 1]),
    } as unknown as GroupBatch;
    const ab = { batch, stepTurn: Int32Array.from([0, 0, 1, 0, 1, 1]), entropy } as unknown as AgentBatch;
    const J = 2;
    const turns = epoTurnsOf(ab, J);
    // This iteration's per-turn means: (0.5 + 1.5 + 1)/3 = 1, (2 + 3 + 5)/3 = 10/3.
    const now = perTurnEntropy(batch, entropy, turns, J);
    expect(now[0]).toBeCloseTo(1, 6);
    expect(now[1]).toBeCloseTo(10 / 3, 6);
    // An earlier iteration had [2, 4]: Ĥ = [1.5, 11/3].
    const history = new EntropyHistory(J);
    history.append([2, 4]);
    history.append(now);
    const ref = history.reference();
    expect(ref[0]).toBeCloseTo(1.5, 6);
    expect(ref[1]).toBeCloseTo(11 / 3, 5);
    const mb = gatherMinibatch(batch, Int32Array.from([0, 1]), new Float32Array(6), null, null, turns, ref);
    expect(Array.from(mb.turnReference as Float32Array)).toEqual(Array.from([ref[0], ref[0], ref[1], ref[0], ref[1], ref[1]]));
    // Bands: turn 0 (1.2, 1.8), turn 1 (2.9333, 4.4). Distances: 0.7, 0, 0.9333, 0.2, 0, 0.6 → P = 2.4333/6.
    const P = (0.7 + 0 + (0.8 * 11) / 3 - 2 + 0.2 + 0 + 5 - (1.2 * 11) / 3) / 6;
    expect(P).toBeCloseTo(0.405556, 5);
    const settings: EpoSettings = { entropyCoef: 0.001, smoothCoef: 1, kappaLow: 0.8, kappaHigh: 1.2, penalty: 0.1, smoothing: "differentiable", turns: J, phaseWeights: false };
    const read = (s: EpoSettings) =>
      tf.tidy(() => {
        const t = epoTerm(s, tf.tensor1d(entropy), mb, 0);
        return { loss: t.loss.dataSync()[0], stats: Array.from(t.stats.dataSync()) };
      });
    const diff = read(settings);
    // −c_H·(H̄ − c_s·P), H̄ = 13/6.
    expect(diff.loss).toBeCloseTo(-0.001 * (13 / 6 - P), 7);
    expect(diff.stats[0]).toBeCloseTo(P, 5);
    expect(diff.stats[1]).toBeCloseTo(4 / 6, 6); // 0.5, 2.0, 1.0, 5.0 lie outside their turn's band
    // As coded: 0.1 outside the band → P = 0.4/6.
    const coded = read({ ...settings, smoothing: "as-coded" });
    expect(coded.stats[0]).toBeCloseTo(0.4 / 6, 6);
    expect(coded.loss).toBeCloseTo(-0.001 * (13 / 6 - 0.4 / 6), 7);
    // With only turn-0 tokens (below J/2 = 1), the authors' gate drops P: the term is −c_H·H̄.
    const early = gatherMinibatch(batch, Int32Array.from([0]), new Float32Array(6), null, null, Int32Array.from([0, 0, 0, 0, 0, 0]), ref);
    const gated = tf.tidy(() => epoTerm(settings, tf.tensor1d(entropy.slice(0, 3)), early, 0).loss.dataSync()[0]);
    expect(gated).toBeCloseTo(-0.001 * ((0.5 + 1.5 + 2) / 3), 7);
    // The turn of a token past the turn limit is capped at J − 1.
    expect(Array.from(epoTurnsOf({ stepTurn: Int32Array.from([0, 1, 2, 5]) }, 2))).toEqual([0, 1, 1, 1]);
  });
});

describeEachBackend("EPO on the multi-turn engine: the applied gradient equals finite differences of the objective written out", (backend) => {
  it("six iterations at τ 0.7 (history of six vectors, phase weights), a narrow band, bnpo", async () => {
    // A fresh model's entropy is nearly uniform; a large step size spreads it, a narrow band puts many tokens outside.
    const o = { temperature: 0.7, entropyCoef: 0.5, smoothCoef: 2, kappaLow: 0.99, kappaHigh: 1.01, clipLow: 0.2, clipHigh: 0.28 };
    const N = 6;
    const config = resolveConfig({
      algo: "epo",
      overrides: { task: "epo-coin", model: TINY, seed: 5, iterations: N, numPrompts: 3, groupSize: 4, numMinibatches: 1, updateEpochs: 1, learningRate: 0.03, warmupIterations: 0, evalProblems: 2, backend, ...o },
    });
    const algo = (await createAlgorithm("epo", config)) as AgentGroupOptimizer;
    const policy = algo.policy;
    const steps: { weights: Record<string, Float32Array>; grads: Float32Array[] }[] = [];
    const optimizer = algo.optimizer as ArrayAdam;
    const apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads, maxGradNorm) => {
      steps.push({ weights: policy.getWeights(), grads: grads.map((g) => g.slice()) });
      return apply(grads, maxGradNorm);
    };
    const batches: AgentBatch[] = [];
    const metrics = [];
    for (let i = 0; i < N; i++) {
      metrics.push(algo.iterate());
      batches.push((algo as unknown as { lastSampled: AgentBatch }).lastSampled);
    }
    expect(steps).toHaveLength(N);
    for (const m of metrics) {
      expect(Number.isFinite(m.epoPenalty) && m.epoPenalty >= 0).toBe(true);
      expect(m.epoOutOfBand >= 0 && m.epoOutOfBand <= 1).toBe(true);
    }
    // The later iterations have tokens outside the band, so P and its gradient are in play.
    expect(Math.max(...metrics.map((m) => m.epoOutOfBand))).toBeGreaterThan(0.2);
    const names = Object.keys(steps[0].weights);
    // Entropy and logπ of every policy token of a batch under weights w.
    const readout = (w: Record<string, Float32Array>, ab: AgentBatch) => {
      policy.setWeights(w);
      const b = ab.batch;
      const out = policy.evaluate(ab.contexts, ab.transcripts, o.temperature, false);
      const logProb = new Float32Array(b.numSteps);
      const entropy = new Float32Array(b.numSteps);
      let offset = 0;
      for (let e = 0; e < b.numEpisodes; e++) {
        ab.policyPositions[e].forEach((pos, k) => {
          logProb[b.episodeStart[e] + k] = out.logProb[offset + pos];
          entropy[b.episodeStart[e] + k] = out.entropy[offset + pos];
        });
        offset += ab.transcripts[e].length;
      }
      return { logProb, entropy };
    };
    // Ĥ_j after iteration i: the mean over iterations ≤ i of the mean sampled entropy of turn j.
    const J = 2;
    const turnMeans = batches.map((ab, i) => {
      const { entropy } = readout(steps[i].weights, ab);
      return [0, 1].map((j) => {
        const xs = Array.from(entropy).filter((_, t) => ab.stepTurn[t] === j);
        return xs.reduce((s, x) => s + x, 0) / xs.length;
      });
    });
    // The engine's history holds the mean entropy of each real turn, averaged over the iterations;
    // the two turns' means differ by far more than the tolerance, so a history by token position would fail.
    const engineRef = (algo as unknown as { history: EntropyHistory }).history.reference();
    for (const j of [0, 1]) expect(engineRef[j]).toBeCloseTo(turnMeans.reduce((s, v) => s + v[j], 0) / N, 4);
    expect(Math.abs(turnMeans[N - 1][0] - turnMeans[N - 1][1])).toBeGreaterThan(1e-3);
    for (const [i, ab] of batches.entries()) {
      const b = ab.batch;
      const ref = [0, 1].map((j) => turnMeans.slice(0, i + 1).reduce((s, v) => s + v[j], 0) / (i + 1));
      const w = epoPhaseWeight(100 * (i / N), 100); // progress = iterations done / iterations
      const epAdv = Array.from(b.episodeReturn, (r, e) => {
        const rs = Array.from(b.episodeReturn).filter((_, k) => b.episodeGroup[k] === b.episodeGroup[e]);
        const mean = rs.reduce((s, x) => s + x, 0) / rs.length;
        const std = Math.sqrt(rs.reduce((s, x) => s + (x - mean) ** 2, 0) / (rs.length - 1));
        return (r - mean) / (std + 1e-6);
      });
      const gate = Array.from(ab.stepTurn).some((j) => j >= J / 2);
      expect(gate).toBe(true);
      const objective = (weights: Record<string, Float32Array>) => {
        const { logProb, entropy } = readout(weights, ab);
        let surrogate = 0;
        let H = 0;
        let P = 0;
        for (let t = 0; t < b.numSteps; t++) {
          const a = epAdv[b.episodeIndex[t]];
          const ratio = Math.exp(logProb[t] - b.logProbs[t]);
          surrogate += -Math.min(ratio * a, Math.min(Math.max(ratio, 1 - o.clipLow), 1 + o.clipHigh) * a);
          H += entropy[t];
          const h = ref[ab.stepTurn[t]];
          P += Math.max(0, o.kappaLow * h - entropy[t]) + Math.max(0, entropy[t] - o.kappaHigh * h);
        }
        const n = b.numSteps; // bnpo: the mean over every policy token
        return surrogate / n - o.entropyCoef * (H / n - o.smoothCoef * w * (P / n));
      };
      const step = steps[i];
      const g = step.grads;
      const along = (dir: Float32Array[], h: number) => Object.fromEntries(names.map((nm, k) => [nm, Float32Array.from(step.weights[nm], (v, j) => v + h * dir[k][j])]));
      const part = names.findIndex((nm) => nm.includes("attn"));
      for (const dir of [g, g.map((x, k) => (k === part ? x : new Float32Array(x.length)))]) {
        const norm = Math.hypot(...dir.flatMap((x) => Array.from(x)));
        expect(norm).toBeGreaterThan(1e-6);
        const unit = dir.map((x) => Float32Array.from(x, (v) => v / norm));
        const h = 1e-2;
        const fd = (objective(along(unit, h)) - objective(along(unit, -h))) / (2 * h);
        const gu = g.reduce((s, x, k) => s + x.reduce((acc, v, j) => acc + v * unit[k][j], 0), 0);
        expect(Math.abs(fd - gu)).toBeLessThan(0.02 * Math.abs(gu) + 1e-4);
      }
    }
    algo.dispose();
  });
});

describe("EPO on a multi-turn task learns", () => {
  it("raises the success of sampled episodes on a two-turn task from a fresh model, logging P and the out-of-band fraction", async () => {
    const config = resolveConfig({
      algo: "epo",
      overrides: { task: "epo-coin", model: TINY, seed: 2, iterations: 30, numPrompts: 4, groupSize: 8, numMinibatches: 1, learningRate: 1e-2, warmupIterations: 0, evalProblems: 2 },
    });
    const algo = await createAlgorithm("epo", config);
    const success: number[] = [];
    for (let i = 0; i < 30; i++) {
      const m = algo.iterate();
      success.push(m.correctFraction);
      expect(Number.isFinite(m.epoPenalty) && m.epoPenalty >= 0).toBe(true);
      expect(m.epoOutOfBand >= 0 && m.epoOutOfBand <= 1).toBe(true);
    }
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(success.slice(0, 3))).toBeLessThan(0.5);
    expect(mean(success.slice(-3))).toBeGreaterThan(mean(success.slice(0, 3)) + 0.3);
    algo.dispose();
  }, 600_000);
});
