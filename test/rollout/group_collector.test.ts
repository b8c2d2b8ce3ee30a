import { describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { make } from "../../src/envs/registry.js";
import { ActorCritic, type ActBuffers } from "../../src/policies/actor_critic.js";
import { GroupCollector, type GroupBatch, type GroupPolicy } from "../../src/rollout/group_collector.js";

/**
 * CartPole test policy without tensors: samples uniformly (log-prob ln ½), or in
 * deterministic mode pushes the cart towards where the pole leans (θ + θ̇ > 0 → right).
 */
class CoinPolicy implements GroupPolicy {
  readonly obsSize = 4;
  readonly actSize = 1;
  readonly discrete = true;
  buffers(n: number): ActBuffers {
    return { actions: new Int32Array(n), logProbs: new Float32Array(n), values: new Float32Array(n) };
  }
  act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, deterministic = false, withValues = true): void {
    for (let i = 0; i < batch; i++) {
      out.actions[i] = deterministic ? (obs[i * 4 + 2] + obs[i * 4 + 3] > 0 ? 1 : 0) : rng.integer(0, 2);
      out.logProbs[i] = deterministic ? 0 : Math.log(0.5);
      if (withValues) out.values[i] = obs[i * 4]; // any function of obs, to check the bookkeeping
    }
  }
}

/** Pendulum test policy: N(0, 1) torques. */
class GaussianPolicy implements GroupPolicy {
  readonly obsSize = 3;
  readonly actSize = 1;
  readonly discrete = false;
  buffers(n: number): ActBuffers {
    return { actions: new Float32Array(n), logProbs: new Float32Array(n), values: new Float32Array(n) };
  }
  act(_obs: Float32Array, batch: number, rng: Rng, out: ActBuffers): void {
    for (let i = 0; i < batch; i++) {
      const a = rng.normal();
      out.actions[i] = a;
      out.logProbs[i] = -0.5 * a * a - 0.5 * Math.log(2 * Math.PI);
    }
  }
}

/** An env without getState/setState. */
class NoSnapshotEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(-1, 1, [4]);
  readonly actionSpace = new Discrete(2);
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    return [new Float32Array(4), {}];
  }
  step(): StepResult<Float32Array> {
    return [new Float32Array(4), 1, true, false, {}];
  }
}

const cartPole = () => make("CartPole-v1");
const row = (a: Float32Array | Int32Array, i: number, size: number) => Array.from(a.subarray(i * size, (i + 1) * size));
const episodeSlice = (b: GroupBatch, e: number, a: Float32Array | Int32Array, size = 1) =>
  Array.from(a.subarray(b.episodeStart[e] * size, (b.episodeStart[e] + b.episodeLength[e]) * size));

/** Replays episode e's actions from its group's seeded reset in a fresh CartPole; returns the observations seen. */
function replayCartPole(b: GroupBatch, e: number): number[] {
  const env = make<Float32Array, number>("CartPole-v1");
  const seen = Array.from(env.reset({ seed: b.groupSeed[b.episodeGroup[e]] })[0]);
  const actions = episodeSlice(b, e, b.actions);
  for (const a of actions.slice(0, -1)) seen.push(...env.step(a)[0]);
  return seen;
}

/** Layout invariants every batch must satisfy. */
function checkLayout(b: GroupBatch): void {
  expect(b.numEpisodes).toBe(b.numGroups * b.groupSize);
  expect(b.episodeLength.reduce((s, l) => s + l, 0)).toBe(b.numSteps);
  expect(b.obs.length).toBe(b.numSteps * b.obsSize);
  expect(b.actions.length).toBe(b.numSteps * b.actSize);
  for (const a of [b.logProbs, b.rewards, b.dones, b.episodeIndex, b.groupIndex]) expect(a.length).toBe(b.numSteps);
  let offset = 0;
  for (let e = 0; e < b.numEpisodes; e++) {
    expect(b.episodeStart[e]).toBe(offset);
    expect(b.episodeGroup[e]).toBe(Math.floor(e / b.groupSize));
    expect(b.episodeLength[e]).toBeGreaterThan(0);
    for (let t = offset; t < offset + b.episodeLength[e]; t++) {
      expect(b.episodeIndex[t]).toBe(e);
      expect(b.groupIndex[t]).toBe(b.episodeGroup[e]);
      expect(b.dones[t]).toBe(t === offset + b.episodeLength[e] - 1 ? 1 : 0);
    }
    // Every episode is complete: it ended one way or the other.
    expect(b.terminated[e] + b.truncated[e]).toBe(1);
    const sum = episodeSlice(b, e, b.rewards).reduce((s, r) => s + r, 0);
    expect(b.episodeReturn[e]).toBeCloseTo(sum, 4);
    offset += b.episodeLength[e];
  }
}

describe("GroupCollector", () => {
  it("rejects an env without snapshots with a message naming the fix", () => {
    expect(() => new GroupCollector(() => new NoSnapshotEnv(), new CoinPolicy(), 4, 2, { maxSteps: 10 })).toThrow(
      /group collector needs env snapshots; NoSnapshotEnv<unregistered> has none.*use the step collector \(ppo\) or implement getState\/setState/,
    );
  });

  it("rejects bad sizes, modes and a policy that does not fit the env", () => {
    expect(() => new GroupCollector(cartPole, new CoinPolicy(), 0, 2)).toThrow(/groupSize must be an integer ≥ 1, got 0/);
    expect(() => new GroupCollector(cartPole, new CoinPolicy(), 2, 1.5)).toThrow(/numStarts must be an integer ≥ 1/);
    expect(() => new GroupCollector(cartPole, new CoinPolicy(), 2, 2, { startState: "vine" as never })).toThrow(/startState "vine"/);
    expect(() => new GroupCollector(() => make("Pendulum-v1"), new CoinPolicy(), 2, 2)).toThrow(/does not fit/);
    expect(() => new GroupCollector(() => make("CartPole-v1", { maxEpisodeSteps: 0 }), new CoinPolicy(), 2, 2)).toThrow(/no time limit.*pass maxSteps/);
  });

  it("runs G complete episodes from each start: same first observation per group, different across groups", () => {
    const collector = new GroupCollector(cartPole, new CoinPolicy(), 4, 3);
    const b = collector.collect(new Rng(1));
    checkLayout(b);
    expect(b.numGroups).toBe(3);
    expect(b.groupSize).toBe(4);
    expect(b.values).toBeUndefined();
    const firstObs = (e: number) => row(b.obs, b.episodeStart[e], 4);
    for (let g = 0; g < 3; g++) {
      for (let m = 1; m < 4; m++) expect(firstObs(g * 4 + m)).toEqual(firstObs(g * 4));
    }
    expect(firstObs(0)).not.toEqual(firstObs(4));
    expect(firstObs(4)).not.toEqual(firstObs(8));
    // The start is the seeded reset state.
    const env = make<Float32Array, number>("CartPole-v1");
    expect(Array.from(env.reset({ seed: b.groupSeed[1] })[0])).toEqual(firstObs(4));
    // Each episode really ran from its group's start state: replaying its actions from the
    // seeded reset reproduces every observation.
    for (let e = 0; e < b.numEpisodes; e++) expect(episodeSlice(b, e, b.obs, 4)).toEqual(replayCartPole(b, e));
    // A random policy: the members of a group take different paths.
    for (let g = 0; g < 3; g++) {
      const paths = new Set([0, 1, 2, 3].map((m) => episodeSlice(b, g * 4 + m, b.actions).join("")));
      expect(paths.size).toBeGreaterThan(1);
    }
    // CartPole pays +1 per step, and random play falls long before the 500-step limit.
    for (let e = 0; e < b.numEpisodes; e++) {
      expect(b.episodeReturn[e]).toBe(b.episodeLength[e]);
      expect(b.terminated[e]).toBe(1);
    }
    expect(Array.from(b.logProbs).every((lp) => Math.abs(lp - Math.log(0.5)) < 1e-6)).toBe(true);
  });

  it("gives identical episodes within a group with a deterministic policy", () => {
    const collector = new GroupCollector(cartPole, new CoinPolicy(), 3, 2, { deterministic: true, maxSteps: 60 });
    const b = collector.collect(new Rng(2));
    checkLayout(b);
    for (let g = 0; g < 2; g++) {
      for (let m = 1; m < 3; m++) {
        const [e0, e] = [g * 3, g * 3 + m];
        expect(b.episodeLength[e]).toBe(b.episodeLength[e0]);
        expect(episodeSlice(b, e, b.obs, 4)).toEqual(episodeSlice(b, e0, b.obs, 4));
        expect(episodeSlice(b, e, b.actions)).toEqual(episodeSlice(b, e0, b.actions));
        expect(row(b.finalObs, e, 4)).toEqual(row(b.finalObs, e0, 4));
      }
    }
  });

  it("is reproducible for a seed and differs across seeds", () => {
    const collector = new GroupCollector(cartPole, new CoinPolicy(), 4, 2);
    const a = collector.collect(new Rng(7));
    const again = new GroupCollector(cartPole, new CoinPolicy(), 4, 2).collect(new Rng(7));
    expect(again).toEqual(a);
    expect(collector.collect(new Rng(8)).obs).not.toEqual(a.obs);
  });

  it("truncates at maxSteps and keeps the observation after the last step", () => {
    const b = new GroupCollector(cartPole, new CoinPolicy(), 2, 2, { deterministic: true, maxSteps: 5 }).collect(new Rng(3));
    checkLayout(b);
    expect(Array.from(b.episodeLength)).toEqual([5, 5, 5, 5]);
    expect(Array.from(b.truncated)).toEqual([1, 1, 1, 1]);
    expect(Array.from(b.terminated)).toEqual([0, 0, 0, 0]);
    // Replaying the episode's actions from its seed reproduces its final observation.
    const env = make<Float32Array, number>("CartPole-v1");
    env.reset({ seed: b.groupSeed[1] });
    let last: Float32Array = new Float32Array(4);
    for (const a of episodeSlice(b, 2, b.actions)) last = env.step(a)[0];
    expect(row(b.finalObs, 2, 4)).toEqual(Array.from(last));
  });

  it("can start mid-episode after random steps, with the time budget already spent", () => {
    const collector = new GroupCollector(() => make("CartPole-v1", { maxEpisodeSteps: 20 }), new CoinPolicy(), 2, 3, {
      startState: "reset+random-steps",
      randomSteps: 5,
      deterministic: true,
    });
    const b = collector.collect(new Rng(4));
    checkLayout(b);
    const env = make<Float32Array, number>("CartPole-v1");
    for (let g = 0; g < 3; g++) {
      const resetObs = Array.from(env.reset({ seed: b.groupSeed[g] })[0]);
      expect(row(b.obs, b.episodeStart[g * 2], 4)).not.toEqual(resetObs);
    }
    // 5 of the 20 steps went to the random prefix; the balancing policy survives the rest.
    expect(Array.from(b.episodeLength)).toEqual([15, 15, 15, 15, 15, 15]);
    expect(Array.from(b.truncated)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("collects continuous actions (Pendulum)", () => {
    const b = new GroupCollector(() => make("Pendulum-v1"), new GaussianPolicy(), 2, 2, { maxSteps: 6 }).collect(new Rng(5));
    checkLayout(b);
    expect(b.discrete).toBe(false);
    expect(b.actions).toBeInstanceOf(Float32Array);
    expect(Array.from(b.episodeLength)).toEqual([6, 6, 6, 6]);
    expect(episodeSlice(b, 0, b.actions)).not.toEqual(episodeSlice(b, 1, b.actions));
    expect(Array.from(b.rewards).every((r) => r <= 0)).toBe(true);
  });

  it("works with the ActorCritic policy and records values on request", async () => {
    await initBackend("cpu");
    const env = make("CartPole-v1");
    const policy = new ActorCritic({ observationSpace: env.observationSpace, actionSpace: env.actionSpace, rng: new Rng(0) });
    const b = new GroupCollector(cartPole, policy, 2, 2, { maxSteps: 30, recordValues: true }).collect(new Rng(6));
    checkLayout(b);
    expect(b.values).toBeInstanceOf(Float32Array);
    expect(b.values?.length).toBe(b.numSteps);
    const expected = new Float32Array(1);
    policy.values(b.obs.subarray(0, 4), 1, expected);
    expect(b.values?.[0]).toBeCloseTo(expected[0], 6);
    expect(Array.from(b.logProbs).every((lp) => lp < 0 && lp > -5)).toBe(true);
    policy.dispose();
  });
});
