import { describe, expect, it } from "vitest";
import { OffPolicyAlgorithm, offPolicySchema, type AgentSetup, type OffPolicyAgent, type OffPolicyConfig, type OffPolicyContext } from "../../src/algos/off_policy.js";
import { Rng } from "../../src/core/rng.js";
import type { ReplayBatch } from "../../src/replay/buffer.js";

/** A do-nothing continuous agent that records how the loop drives it. */
class StubAgent implements OffPolicyAgent {
  readonly randomWarmup = true;
  acted: number[] = [];
  updated: { step: number; size: number; actSize: number }[] = [];
  afterSteps = 0;
  constructor(readonly setup: AgentSetup) {}
  act(_obs: Float32Array, n: number, _explore: boolean, ctx: OffPolicyContext): Float32Array {
    this.acted.push(ctx.step);
    return new Float32Array(n * this.setup.actSize).fill(0.5);
  }
  update(batch: ReplayBatch, ctx: OffPolicyContext): Record<string, number> {
    this.updated.push({ step: ctx.step, size: batch.size, actSize: batch.actions.length / batch.size });
    return { meanReward: batch.rewards.reduce((a, b) => a + b, 0) / batch.size };
  }
  afterStep(): void {
    this.afterSteps++;
  }
  actingPolicy() {
    return { actOne: () => Float32Array.of(0) };
  }
  saveState() {
    return { json: { afterSteps: this.afterSteps }, arrays: {} };
  }
  loadState(state: { json: Record<string, unknown> }) {
    this.afterSteps = state.json.afterSteps as number;
  }
  exportPolicy() {
    return { spec: { kind: "stub" }, weights: {}, shapes: {} };
  }
  dispose() {}
}

const CONFIG: OffPolicyConfig = offPolicySchema.parse({
  env: "Pendulum-v1", seed: 3, totalTimesteps: 400, numEnvs: 2, vectorEnv: "sync", workers: 1, bufferSize: 300, replayInCheckpoint: true,
  batchSize: 8, learningStarts: 60, trainFreq: 5, gradientSteps: 2, gamma: 0.99, nStep: 1, iterationSteps: 100,
  backend: "cpu", evalEvery: 0, evalEpisodes: 1, evalDeterministic: true, checkpointEvery: 0, checkpointSeconds: 0,
});

describe("OffPolicyAlgorithm with a stub agent (Box actions)", () => {
  it("acts at random before learningStarts, trains on schedule, calls afterStep every vector step", async () => {
    let agent: StubAgent | null = null;
    const algo = await OffPolicyAlgorithm.create("stub", CONFIG, (setup) => (agent = new StubAgent(setup)));
    const m1 = algo.iterate();
    const m2 = algo.iterate();
    const a = agent as unknown as StubAgent;
    // 2 envs: steps 0, 2, …, 58 were random; the agent acts from step 60.
    expect(a.acted[0]).toBe(60);
    expect(a.afterSteps).toBe(100);
    // Trains when > 60 transitions and vectorSteps % 5 == 0: vector steps 35, 40, …, 100 → 14 rounds × 2.
    expect(a.updated.length).toBe(28);
    expect(a.updated.every((u) => u.size === 8 && u.actSize === 1)).toBe(true);
    expect(m1.gradientSteps).toBe(8); // vector steps 35, 40, 45, 50
    expect(m2.gradientSteps).toBe(20);
    expect(m2.meanReward).toBeLessThanOrEqual(0); // Pendulum's rewards are ≤ 0
    expect(algo.stepsDone).toBe(200);
    // Random actions stayed in the Box and the agent's 0.5 was stored as is.
    const batch = algo.buffer.gather(Array.from({ length: 200 }, (_, i) => i));
    const acts = Array.from(batch.actions);
    expect(acts.slice(0, 60).every((x) => x >= -2 && x <= 2 && x !== 0.5)).toBe(true);
    expect(acts.slice(60).every((x) => x === 0.5)).toBe(true);
    algo.dispose();
  });

  it("saves and restores the loop, the buffer and the agent's own state", async () => {
    const first = await OffPolicyAlgorithm.create("stub", CONFIG, (setup) => new StubAgent(setup));
    first.iterate();
    const state = structuredClone(first.saveState());
    expect(Object.keys(state.arrays)).toEqual(expect.arrayContaining(["loop/obs", "replay/obs", "replay/nextObs"]));
    const second = await OffPolicyAlgorithm.create("stub", CONFIG, (setup) => new StubAgent(setup));
    second.loadState(state);
    expect(second.stepsDone).toBe(100);
    expect((second.agent as StubAgent).afterSteps).toBe(50);
    const a = first.iterate();
    const b = second.iterate();
    expect(b.meanReward).toBe(a.meanReward);
    expect(second.buffer.sample(16, new Rng(1))).toEqual(first.buffer.sample(16, new Rng(1)));
    first.dispose();
    second.dispose();
  });
});
