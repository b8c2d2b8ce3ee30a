import * as tf from "@tensorflow/tfjs-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dqnTargets, epsilonGreedy, tdLoss, type DQNAgent } from "../../src/algos/dqn.js";
import { resolveConfig } from "../../src/algos/index.js";
import { linearSchedule, type OffPolicyAlgorithm } from "../../src/algos/off_policy.js";
import { initBackend, type BackendName } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { register } from "../../src/envs/registry.js";
import { updateTarget } from "../../src/nn/target.js";
import { QNetwork } from "../../src/policies/q_network.js";
import { run } from "../../src/cli/main.js";
import { loadPolicy } from "../../src/train/load_policy.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";
import { create, expectExactResume, expectNoTensorLeak, iterations, learningNumbers } from "../helpers/algos.js";

const root = mkdtempSync(join(tmpdir(), "refinery-dqn-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Small and quick: learning from step 200, a target copy every 100 steps. */
const SMALL = { learningStarts: 200, bufferSize: 1000, batchSize: 32, trainFreq: 4, targetNetworkFrequency: 100, iterationSteps: 200, totalTimesteps: 2000, hidden: [32, 32] };

describe("dqn: the worked numbers", () => {
  it("ε follows CleanRL's linear schedule and the Zoo's", () => {
    const clean = (t: number) => linearSchedule(1, 0.05, 0.5 * 500_000, t);
    expect([0, 125_000, 250_000, 400_000].map(clean).map((x) => +x.toFixed(6))).toEqual([1, 0.525, 0.05, 0.05]);
    const zoo = (t: number) => linearSchedule(1, 0.04, 0.16 * 50_000, t);
    expect([0, 4000, 8000].map(zoo).map((x) => +x.toFixed(6))).toEqual([1, 0.52, 0.04]);
  });

  it("vanilla, Double, terminated and truncated targets", () => {
    // r = 1, γ = 0.99, Q̄(s') = [1, 2], Q(s') = [3, 1].
    const qTarget = Float32Array.of(1, 2);
    const qOnline = Float32Array.of(3, 1);
    const row = (done: number) => ({ size: 1, rewards: Float32Array.of(1), discounts: Float32Array.of(0.99), dones: Float32Array.of(done) });
    expect(dqnTargets(row(0), qTarget, null, 2)[0]).toBeCloseTo(2.98, 6);
    expect(dqnTargets(row(0), qTarget, qOnline, 2)[0]).toBeCloseTo(1.99, 6);
    expect(dqnTargets(row(1), qTarget, null, 2)[0]).toBeCloseTo(1.0, 6);
    // A truncation is stored with done = 0 (the buffer keeps it apart): it bootstraps.
    expect(dqnTargets(row(0), qTarget, null, 2)[0]).toBeCloseTo(2.98, 6);
  });

  it("masked targets: the best next action is masked, so vanilla and Double DQN take the best allowed one", () => {
    // r = 1, γ = 0.99. Row 0: Q̄(s') = [1, 2, 5], Q(s') = [3, 1, 9]; row 1: Q̄(s') = [1, 2, 5], Q(s') = [0, 4, 9].
    // Both rows allow [1, 1, 0]: action 2, the argmax of Q̄ and of Q, is masked.
    const qTarget = Float32Array.of(1, 2, 5, 1, 2, 5);
    const qOnline = Float32Array.of(3, 1, 9, 0, 4, 9);
    const rows = { size: 2, rewards: Float32Array.of(1, 1), discounts: Float32Array.of(0.99, 0.99), dones: Float32Array.of(0, 0) };
    const nextMasks = Uint8Array.of(1, 1, 0, 1, 1, 0);
    // Vanilla: max over the allowed Q̄ = 2 in both rows; unmasked it would be 5.
    expect(Array.from(dqnTargets({ ...rows, nextMasks }, qTarget, null, 3))).toEqual([2.98, 2.98].map(Math.fround));
    expect(Array.from(dqnTargets(rows, qTarget, null, 3))).toEqual([5.95, 5.95].map(Math.fround));
    // Double: the online net's allowed argmax is 0 in row 0 (Q̄ = 1) and 1 in row 1 (Q̄ = 2).
    expect(Array.from(dqnTargets({ ...rows, nextMasks }, qTarget, qOnline, 3))).toEqual([1.99, 2.98].map(Math.fround));
    expect(Array.from(dqnTargets(rows, qTarget, qOnline, 3))).toEqual([5.95, 5.95].map(Math.fround));
    // A terminated row ignores its next state whatever the mask.
    expect(dqnTargets({ ...rows, dones: Float32Array.of(1, 0), nextMasks }, qTarget, null, 3)[0]).toBe(1);
  });

  it("Huber₁ and MSE losses with their gradients", () => {
    const q = Float32Array.of(0.5, 2);
    const y = Float32Array.of(0, 0);
    const huber = tdLoss(q, y, "huber");
    expect(huber.loss).toBeCloseTo((0.125 + 1.5) / 2, 7);
    expect(Array.from(huber.dq)).toEqual([0.25, 0.5]);
    const mse = tdLoss(q, y, "mse");
    expect(mse.loss).toBeCloseTo((0.25 + 4) / 2, 7);
    expect(Array.from(mse.dq)).toEqual([0.5, 2]);
  });

  it("Polyak and hard target updates", async () => {
    await initBackend("cpu");
    const online = [tf.variable(tf.tensor1d([1, 1]))];
    const target = [tf.variable(tf.tensor1d([0, 0]))];
    updateTarget(target, online, 0.005);
    expect(Array.from(target[0].dataSync())).toEqual([0.005, 0.005].map(Math.fround));
    online[0].assign(tf.tensor1d([0.1, 0.7]));
    updateTarget(target, online, 1);
    expect(Array.from(target[0].dataSync())).toEqual(Array.from(online[0].dataSync()));
    expect(() => updateTarget(target, online, 0)).toThrow(/tau must be in \(0, 1\]/);
    tf.dispose([...online, ...target]);
  });
});

describe.each<BackendName>(["cpu", "wasm"])("QNetwork hand-written backward on %s", (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it.each([false, true])("equals tf.variableGrads of the same loss; fast, tensor and traced forwards agree (dueling %s)", (dueling) => {
    const rng = new Rng(21);
    const net = new QNetwork({ obsSize: 5, numActions: 3, hidden: [24, 16], dueling, rng });
    const batch = 19;
    const obs = Float32Array.from({ length: batch * 5 }, () => rng.normal());
    const upstream = Float32Array.from({ length: batch * 3 }, () => rng.normal());
    const x = tf.tensor2d(obs, [batch, 5]);
    const up = tf.tensor2d(upstream, [batch, 3]);
    const ref = tf.variableGrads(() => tf.sum(tf.mul(net.apply(x), up)), net.variables);
    tf.tidy(() => {
      const fwd = net.forward(obs, batch);
      const applied = net.evaluate(obs, batch);
      const fast = net.qValues(obs, batch);
      for (let i = 0; i < applied.length; i++) {
        expect(Math.abs(fwd.q[i] - applied[i])).toBeLessThan(1e-5);
        expect(Math.abs(fast[i] - applied[i])).toBeLessThan(1e-4);
      }
      const grads = net.backward(fwd, upstream);
      expect(grads).toHaveLength(net.variables.length);
      grads.forEach((g, i) => {
        const want = ref.grads[net.variables[i].name].dataSync();
        const got = g.dataSync();
        let scale = 0;
        for (const w of want) scale = Math.max(scale, Math.abs(w));
        expect(scale).toBeGreaterThan(0);
        for (let j = 0; j < want.length; j++) expect(Math.abs(got[j] - want[j])).toBeLessThanOrEqual(2e-4 * Math.max(Math.abs(want[j]), 1e-2 * scale));
      });
    });
    tf.dispose([x, up, ref.value, ...Object.values(ref.grads)]);
    net.dispose();
  });
});

describe("dqn: the algorithm", () => {
  it("ε-greedy acts greedily at ε = 0 and uniformly at ε = 1", async () => {
    await initBackend("cpu");
    const net = new QNetwork({ obsSize: 2, numActions: 3, hidden: [8], rng: new Rng(1) });
    const obs = Float32Array.of(0.3, -0.2);
    const greedy = epsilonGreedy(net, obs, 1, 0, new Rng(2))[0];
    const q = net.qValues(obs, 1);
    expect(q[greedy]).toBe(Math.max(...q));
    const counts = [0, 0, 0];
    const rng = new Rng(3);
    for (let i = 0; i < 3000; i++) counts[epsilonGreedy(net, obs, 1, 1, rng)[0]]++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
    net.dispose();
  });

  it("trains only past learningStarts, every trainFreq vector steps, and reports its numbers", async () => {
    const rows = await iterations("dqn", SMALL, 3);
    // Iteration 1: steps 1..200, none past learningStarts = 200. Then every 4th step: 50 per iteration.
    expect(rows.map((r) => r.gradientSteps)).toEqual([0, 50, 50]);
    expect(rows[0].loss).toBeUndefined();
    expect(rows[1].loss).toBeGreaterThan(0);
    expect(rows[2].epsilon).toBeLessThan(rows[0].epsilon);
    expect(rows[2].replaySize).toBe(600);
    const minusOne = await iterations("dqn", { ...SMALL, gradientSteps: -1, numEnvs: 2 }, 2);
    // −1: trainFreq·numEnvs = 8 steps per round, a round every 4 vector steps: 200 / 2 / 4 · 8 past step 200.
    expect(minusOne.map((r) => r.gradientSteps)).toEqual([0, 200]);
  });

  it("is deterministic given the seed; double, dueling and n-step change the run", async () => {
    const base = learningNumbers(await iterations("dqn", { ...SMALL, seed: 4 }, 2));
    expect(learningNumbers(await iterations("dqn", { ...SMALL, seed: 4 }, 2))).toEqual(base);
    for (const variant of [{ double: true }, { dueling: true }, { nStep: 3 }, { loss: "huber", maxGradNorm: 10 }, { tau: 0.5 }]) {
      expect(learningNumbers(await iterations("dqn", { ...SMALL, seed: 4, ...variant }, 2)), JSON.stringify(variant)).not.toEqual(base);
    }
  });

  it("saveState/loadState continues exactly (with double, dueling and 3-step returns)", async () => {
    await expectExactResume("dqn", { ...SMALL, double: true, dueling: true, nStep: 3, numEnvs: 2 });
  });

  it("does not leak tensors", async () => {
    await expectNoTensorLeak("dqn", { ...SMALL, learningStarts: 0 });
  });

  it("refuses Box actions and a misfit iterationSteps with a fix", async () => {
    await expect(create("dqn", SMALL, "Pendulum-v1")).rejects.toThrow(/dqn needs a Discrete action space.*Fix:/);
    expect(() => resolveConfig({ algo: "dqn", env: "CartPole-v1", overrides: { numEnvs: 3, iterationSteps: 100 } })).toThrow(/not a multiple of numEnvs.*Fix: set iterationSteps/);
  });

  it("the zoo preset has CartPole's tuned values", () => {
    const c = resolveConfig({ algo: "dqn", env: "CartPole-v1", preset: "zoo" });
    expect(c).toMatchObject({ totalTimesteps: 50_000, learningRate: 2.3e-3, trainFreq: 256, gradientSteps: 128, targetNetworkFrequency: 10, loss: "huber", hidden: [256, 256] });
    expect(() => resolveConfig({ algo: "dqn", env: "Pendulum-v1", preset: "zoo" })).toThrow(/no values for Pendulum-v1/);
  });
});

describe("dqn: runs", () => {
  const config = resolveConfig({ algo: "dqn", env: "CartPole-v1", overrides: { ...SMALL, totalTimesteps: 1200, backend: "cpu", seed: 7, checkpointEvery: 1, evalEvery: 4, evalEpisodes: 2, nStep: 2, double: true } });

  function rows(dir: string) {
    return new RunDir(dir).readMetrics().map((r) => {
      const { sps: _a, wallSeconds: _b, rolloutSeconds: _c, updateSeconds: _d, ...rest } = r;
      return rest;
    });
  }

  it("an interrupted and resumed run equals an uninterrupted one bit for bit; the saved policy loads and acts", async () => {
    const straight = await train({ runDir: join(root, "straight"), algo: "dqn", config, store: false });
    const stopped = await train({ runDir: join(root, "stopped"), algo: "dqn", config, store: false, stopAfterIterations: 3 });
    expect(stopped.interrupted).toBe(true);
    const resumed = await train({ runDir: join(root, "stopped"), resume: true, store: false });
    expect(resumed.steps).toBe(straight.steps);
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
    expect(rows(join(root, "stopped"))).toEqual(rows(join(root, "straight")));

    const policy = await loadPolicy(join(root, "straight"));
    expect(policy.spec.kind).toBe("q-network");
    const a = policy.act(Float32Array.of(0, 0, 0.05, 0));
    expect([0, 1]).toContain(a);
    policy.dispose();
  });

  it("a run without the buffer in its checkpoints resumes, refilling before it trains", async () => {
    const noReplay = { ...config, replayInCheckpoint: false };
    const dir = join(root, "no-replay");
    await train({ runDir: dir, algo: "dqn", config: noReplay, store: false, stopAfterIterations: 3 });
    const state = await new RunDir(dir).readCheckpoint();
    expect(Object.keys(state.arrays).some((k) => k.startsWith("replay/"))).toBe(false);
    await train({ runDir: dir, resume: true, store: false });
    const train4 = new RunDir(dir).readMetrics().filter((r) => r.kind === "train" && r.iteration === 4)[0];
    // 200 steps after the resume refill the buffer to learningStarts = 200: no update in iteration 4.
    expect(train4.gradientSteps).toBe(0);
    expect(train4.replaySize).toBe(200);
  });

  it("refinery train --algo dqn and refinery eval work from the command line", async () => {
    let out = "";
    let err = "";
    const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
    const dir = join(root, "cli");
    const code = await run(["train", "--algo", "dqn", "--env", "CartPole-v1", "--steps", "600", "--out", dir, "--json", "--set", "backend=cpu", "--set", "learningStarts=200", "--set", "iterationSteps=200", "--set", "evalEpisodes=2"], io);
    expect(code, err).toBe(0);
    expect(JSON.parse(out.trim().split("\n").pop() as string)).toMatchObject({ steps: 600, env: "CartPole-v1" });
    out = "";
    expect(await run(["eval", dir, "--episodes", "2", "--json"], io), err).toBe(0);
    expect(JSON.parse(out.trim().split("\n").pop() as string)).toMatchObject({ env: "CartPole-v1", episodes: 2 });
  });
});

/**
 * A corridor of 5 cells (one-hot observation), start at 0, reward 1 and termination at 4.
 * Actions 0 left, 1 right, 2 stay. Masks: at 0 [0, 1, 1], at odd cells [1, 1, 0], at 2 [1, 0, 1]
 * (right is masked there: the agent must step back first). Time limit 6 (truncations happen).
 */
class MaskCorridor extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(0, 1, [5]);
  readonly actionSpace = new Discrete(3);
  pos = 0;
  static mask(pos: number): number[] {
    return pos === 0 ? [0, 1, 1] : pos % 2 ? [1, 1, 0] : [1, 0, 1];
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.pos = 0;
    return [this.obs(), { action_mask: MaskCorridor.mask(0) }];
  }
  step(a: number): StepResult<Float32Array> {
    if (!MaskCorridor.mask(this.pos)[a]) throw new Error(`masked action ${a} at ${this.pos}`);
    this.pos = Math.max(0, Math.min(4, this.pos + (a === 0 ? -1 : a === 1 ? 1 : 0)));
    const done = this.pos === 4;
    return [this.obs(), done ? 1 : 0, done, false, { action_mask: MaskCorridor.mask(this.pos) }];
  }
  obs(): Float32Array {
    const o = new Float32Array(5);
    o[this.pos] = 1;
    return o;
  }
}
register({ id: "MaskCorridor-v0", entryPoint: () => new MaskCorridor(), maxEpisodeSteps: 6 });

describe("dqn with action masks", () => {
  const MASKED = { ...SMALL, learningStarts: 100, iterationSteps: 100, totalTimesteps: 1000, numEnvs: 2, hidden: [16] };
  const internals = (a: unknown) => ({ loop: a as OffPolicyAlgorithm, agent: (a as OffPolicyAlgorithm).agent as DQNAgent });

  it("the buffer holds each transition's next-state mask (the true last observation's at episode ends); acting never takes a masked action", async () => {
    const a = await create("dqn", MASKED, "MaskCorridor-v0");
    for (let i = 0; i < 3; i++) a.iterate(); // MaskCorridor.step throws on a masked action
    const { loop } = internals(a);
    expect(loop.buffer.maskWidth).toBe(3);
    const batch = loop.buffer.gather(Array.from({ length: loop.buffer.size }, (_, i) => i));
    expect(batch.size).toBeLessThan(loop.buffer.capacity); // not wrapped: row k + 2 is env k % 2's next step
    const posOf = (x: Float32Array, k: number) => x.subarray(k * 5, k * 5 + 5).indexOf(1);
    let truncations = 0;
    for (let k = 0; k < batch.size; k++) {
      const pos = posOf(batch.nextObs, k);
      if (!batch.dones[k]) expect(Array.from((batch.nextMasks as Uint8Array).subarray(k * 3, k * 3 + 3))).toEqual(MaskCorridor.mask(pos));
      // A truncation: the env's next row starts a new episode (cell 0) while this row keeps its last cell.
      if (!batch.dones[k] && k + 2 < batch.size && posOf(batch.obs, k + 2) === 0 && pos !== 0) truncations++;
    }
    expect(truncations).toBeGreaterThan(0);
    a.dispose();
  });

  for (const double of [false, true]) {
    it(`an update's TD target never uses a masked next action: the loss on a fixed batch whose best next actions are masked (double ${double})`, async () => {
      const a = await create("dqn", { ...MASKED, double }, "MaskCorridor-v0");
      a.iterate();
      const { loop, agent } = internals(a);
      const batch = loop.buffer.gather([0, 1, 2, 3, 4, 5, 6, 7]);
      const n = batch.size;
      const qNext = agent.target.evaluate(batch.nextObs, n);
      const pick = double ? agent.q.evaluate(batch.nextObs, n) : qNext;
      const q = agent.q.evaluate(batch.obs, n);
      // Mask each row's best next action (by the net that picks it), allow the other two.
      const nextMasks = new Uint8Array(n * 3).fill(1);
      for (let k = 0; k < n; k++) {
        const row = Array.from(pick.subarray(k * 3, k * 3 + 3));
        nextMasks[k * 3 + row.indexOf(Math.max(...row))] = 0;
      }
      const expectedLoss = (masks: Uint8Array | null) => {
        let sum = 0;
        for (let k = 0; k < n; k++) {
          const allowed = [0, 1, 2].filter((j) => !masks || masks[k * 3 + j]);
          const best = allowed.reduce((x, y) => (pick[k * 3 + y] > pick[k * 3 + x] ? y : x));
          const y = batch.rewards[k] + batch.discounts[k] * (1 - batch.dones[k]) * qNext[k * 3 + best];
          sum += (q[k * 3 + (batch.actions[k] as number)] - y) ** 2;
        }
        return sum / n;
      };
      const masked = expectedLoss(nextMasks);
      expect(Math.abs(masked - expectedLoss(null))).toBeGreaterThan(1e-4);
      expect(agent.update({ ...batch, nextMasks }).loss).toBeCloseTo(masked, 6);
      a.dispose();
    });
  }

  it("a checkpoint whose replay buffer has no masks (written before masked targets) resumes", async () => {
    const a = await create("dqn", MASKED, "MaskCorridor-v0");
    a.iterate();
    a.iterate();
    const state = structuredClone(a.saveState());
    delete state.arrays["replay/nextMasks"];
    delete (state.json.replay as Record<string, unknown>).maskWidth;
    const b = await create("dqn", MASKED, "MaskCorridor-v0");
    b.loadState(state);
    expect(b.iterate().gradientSteps).toBeGreaterThan(0);
    a.dispose();
    b.dispose();
  });
});

