import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { refuelResidual } from "../../src/algos/agent_engine.js";
import { AGENT_ALGORITHMS, getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { createAlgorithm } from "../../src/train/loop.js";
import type { TokenPolicy } from "../../src/policies/token_policy.js";
import type { AgentBatch } from "../../src/rollout/agent_collector.js";
import { defineAgentTask, registerAgentTask } from "../../src/envs/text/agent/task.js";

/*
 * A two-turn task a random policy wins about one time in five (its second turn starts with a
 * digit), so group rewards differ and every method has a gradient from a fresh model.
 */
registerAgentTask("coin-test", () =>
  defineAgentTask({
    name: "coin-test",
    description: "two turns; the second wins when it starts with a digit",
    maxPromptLength: 3,
    maxTurnLength: 3,
    maxObservationLength: 3,
    maxTurns: 2,
    generate: (rng) => {
      const k = rng.integer(0, 1000);
      return { prompt: "?", data: { k }, demonstration: ["a", "1"] };
    },
    respond: (_p, turn, i) => (i === 0 ? { observation: "=a;", done: false, toolCall: true, malformed: false } : { observation: "", done: true, answer: turn, toolCall: false, malformed: false }),
    verify: (_p, answer) => (/^[0-9]/.test(answer) ? 1 : 0),
  }),
);

const root = mkdtempSync(join(tmpdir(), "refinery-agents-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = { layers: 1, width: 16, heads: 2, contextLength: 64, ffWidth: 32, activation: "gelu" };

describe("REFUEL's regression", () => {
  it("residual (0.5 − (−0.2)) − 1.0 = −0.3, loss 0.09", () => {
    const res = refuelResidual(-5.0 - -5.5, -7.0 - -6.8, 1, 0, 1);
    expect(res).toBeCloseTo(-0.3, 10);
    expect(res * res).toBeCloseTo(0.09, 10);
  });
  it("at θ = π_t the residual is −η·ΔQ̂, so descent raises logπ(y) when Q̂(y) > Q̂(y')", () => {
    const res = refuelResidual(0, 0, 1, 0, 2);
    expect(res).toBe(-2);
    // dL/dlogπ(y) = 2·res < 0: a gradient step increases logπ(y).
    expect(2 * res).toBeLessThan(0);
  });
});

describe("forwards over mid-episode starts", () => {
  it("a roll-in's turns move from the context to the transcript: the same log-probabilities, in one forward that fits", async () => {
    const config = resolveConfig({ algo: "refuel", overrides: { task: "coin-test", model: tiny, seed: 4, numPrompts: 8, numMinibatches: 1, evalProblems: 2 } });
    const algo = await createAlgorithm("refuel", config);
    algo.iterate();
    const internal = algo as unknown as {
      lastSampled: AgentBatch;
      evaluateEpisodes(p: TokenPolicy, ab: AgentBatch, eps: number[], trace: boolean): { logProb: Float32Array };
      forwardRows(ab: AgentBatch, eps: number[]): { offset: Map<number, number> };
    };
    const ab = internal.lastSampled;
    const eps = Array.from({ length: ab.batch.numEpisodes }, (_, e) => e);
    // The roll-in drew some starts after turn 0 and some before it.
    const cuts = Array.from(ab.prefixLengths ?? []);
    expect(cuts.some((c) => c > 0) && cuts.some((c) => c === 0)).toBe(true);
    const policy = (algo as unknown as { policy: TokenPolicy }).policy;
    const all = internal.evaluateEpisodes(policy, ab, eps, false);
    const { offset } = internal.forwardRows(ab, eps);
    for (const e of eps) {
      const alone = policy.evaluate([ab.contexts[e]], [ab.transcripts[e]], 1, false);
      ab.policyPositions[e].forEach((pos, k) => {
        expect(all.logProb[(offset.get(e) as number) + pos]).toBeCloseTo(alone.logProb[pos], 4);
        expect(all.logProb[(offset.get(e) as number) + pos]).toBeCloseTo(ab.batch.logProbs[ab.batch.episodeStart[e] + k], 3);
      });
    }
    algo.dispose();
  });
});

describe("sft checkpoints (single- and multi-turn share one state layout)", () => {
  it.each([
    ["multi-turn", { task: "coin-test", model: tiny, seed: 5, batchSize: 4, evalProblems: 4 }],
    ["single-turn", { task: "addition", model: { ...tiny, contextLength: 32 }, seed: 5, batchSize: 4, evalProblems: 4, backend: "cpu" }],
  ] as const)("%s: save after one step, load into a fresh run, the next step gives the same weights", async (_kind, overrides) => {
    const config = resolveConfig({ algo: "sft", overrides: { ...overrides } });
    const a = await createAlgorithm("sft", config);
    a.iterate();
    const state = a.saveState();
    expect(state.json).toMatchObject({ iteration: 1 });
    a.iterate();
    const b = await createAlgorithm("sft", config);
    b.loadState(state);
    expect(b.iteration).toBe(1);
    b.iterate();
    const wa = a.exportPolicy().weights;
    const wb = b.exportPolicy().weights;
    for (const k of Object.keys(wa)) expect(Array.from(wb[k])).toEqual(Array.from(wa[k]));
    expect(b.stepsDone ?? b.iteration).toBe(a.stepsDone ?? a.iteration);
    a.dispose();
    b.dispose();
  });
});

describe("multi-turn algorithms", () => {
  it("a multi-turn task selects the multi-turn table; a single-turn algorithm name is refused", () => {
    expect(getAlgorithm("grpo", true, "calc")).toBe(AGENT_ALGORITHMS.grpo);
    expect(() => getAlgorithm("igrpo", true, "calc")).toThrow(/unknown algorithm "igrpo" for the multi-turn task calc/);
    expect(() => resolveConfig({ algo: "refuel", overrides: { task: "guess", groupSize: 4 } })).toThrow(/groupSize must be 2/);
    expect(() => resolveConfig({ algo: "gigpo", overrides: { task: "guess", stepWeigth: 1 } })).toThrow(/stepWeigth/);
  });

  it("refuses options the chosen multi-turn method cannot use, naming the key and why (one line)", () => {
    const refused = (algo: string, overrides: Record<string, unknown>): string => {
      try {
        resolveConfig({ algo, overrides: { task: "calc", ...overrides } });
      } catch (err) {
        return (err as Error).message;
      }
      return "accepted";
    };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["rloo", { advantageScale: "none" }, /^advantageScale = "none" \(from the overrides\) has no effect on rloo: .*mean of the other G − 1 episodes.*Fix: use grpo/],
      ["rloo", { advantageStd: "population" }, /advantageStd = "population" .* no effect on rloo/],
      ["rloo", { advantageEps: 1e-4 }, /advantageEps = 0.0001 .* no effect on rloo/],
      ["refuel", { clipLow: 0.1 }, /^clipLow = 0.1 \(from the overrides\) has no effect on refuel: refuel regresses .* no advantage, clipped ratio.*Fix: drop the key/],
      ["refuel", { clipHigh: 0.28 }, /clipHigh = 0.28 .* no effect on refuel/],
      ["refuel", { lossAggregation: "bnpo" }, /lossAggregation = "bnpo" .* no effect on refuel/],
      ["refuel", { entCoef: 0.01 }, /entCoef = 0.01 .* no effect on refuel/],
      ["refuel", { beta: 0.04 }, /beta = 0.04 .* no effect on refuel: .*KL term/],
      // The method's reason wins over the generic "beta = 0" one.
      ["refuel", { klEstimator: "k1" }, /klEstimator = "k1" .* no effect on refuel: refuel regresses/],
      ["refuel", { advantageEps: 1e-3 }, /advantageEps = 0.001 .* no effect on refuel/],
      ["flow-grpo", { advantageStd: "population" }, /advantageStd .* no effect on flow-grpo: .*unbiased std/],
      ["gigpo", { advantageScale: "none" }, /advantageScale .* no effect on gigpo: .*normalization/],
      ["gigpo", { normalization: "mean_norm", advantageEps: 1e-3 }, /advantageEps .* no effect on gigpo: normalization is "mean_norm"/],
      ["v0", { allocation: "uniform", delta: 0.2 }, /delta = 0.2 .* no effect on v0: allocation is "uniform"/],
    ];
    for (const [algo, overrides, message] of cases) {
      const m = refused(algo, overrides);
      expect(m, `${algo} ${JSON.stringify(overrides)}`).toMatch(message);
      expect(m.split("\n")).toHaveLength(1);
    }
    // The same keys act where the method reads them, and default values are never refused.
    for (const [algo, overrides] of [
      ["grpo", { advantageScale: "none" }],
      ["grpo", { advantageStd: "population", advantageEps: 1e-4 }],
      ["rloo", { clipLow: 0.1, lossAggregation: "bnpo", beta: 0.04, klEstimator: "k1" }],
      ["refuel", { eta: 2, updateEpochs: 2, numMinibatches: 4, clipLow: 0.2, advantageScale: "std" }],
      ["flow-grpo", { advantageScale: "none" }],
      ["gigpo", { advantageEps: 1e-3 }],
      ["v0", { delta: 0.2 }],
    ] as [string, Record<string, unknown>][]) {
      expect(refused(algo, overrides), `${algo} ${JSON.stringify(overrides)}`).toBe("accepted");
    }
    // Single-turn rloo keeps its own keys and rules: its optional normalisation acts there.
    expect(() => resolveConfig({ algo: "rloo", overrides: { task: "addition", advantageNorm: "batch" } })).not.toThrow();
  });

  for (const algo of Object.keys(AGENT_ALGORITHMS)) {
    it(`${algo} runs two iterations, reports finite metrics, and changes the weights`, async () => {
      const overrides: Record<string, unknown> =
        algo === "critique" ? { task: "critique", taskOptions: { base: "lookup" }, model: { ...tiny, contextLength: 96 }, seed: 3, evalProblems: 4 } : { task: "coin-test", model: tiny, seed: 3, evalProblems: 4 };
      if (algo === "sft") Object.assign(overrides, { batchSize: 4 });
      else Object.assign(overrides, { numPrompts: 4, groupSize: algo === "refuel" ? 2 : 4, numMinibatches: 1, learningRate: 1e-3 });
      if (algo === "v0") Object.assign(overrides, { candidates: 4 });
      const config = resolveConfig({ algo, overrides });
      const a = await createAlgorithm(algo, config);
      const before = a.exportPolicy().weights;
      const snapshot = Object.fromEntries(Object.entries(before).map(([k, v]) => [k, v.slice()]));
      for (let i = 0; i < 2; i++) {
        const m = a.iterate();
        for (const [k, v] of Object.entries(m)) expect(Number.isFinite(v) || Number.isNaN(v), `${algo} ${k}`).toBe(true);
        if (algo !== "sft") expect(m.turnsMean).toBeGreaterThan(0);
      }
      const after = a.exportPolicy().weights;
      const changed = Object.keys(snapshot).some((k) => after[k].some((x, i) => x !== snapshot[k][i]));
      // A fresh model on critique rarely reaches a verdict turn, and its rewards can all be equal.
      if (algo !== "critique") expect(changed).toBe(true);
      const ev = a.evaluate?.();
      expect(ev?.passAt1).toBeGreaterThanOrEqual(0);
      a.dispose();
    }, 120_000);
  }
});
