import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { SyncVectorEnv } from "../../src/envs/vector.js";
import { RecordEpisodeStatistics, TimeLimit } from "../../src/envs/wrappers.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";
import { StepCollector } from "../../src/rollout/step_collector.js";

/** obs = [t/10, action taken last]; reward 1 a step; terminates when action 1 is taken at t ≥ terminateAt. */
class Counter extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(-10, 10, [2]);
  readonly actionSpace = new Discrete(2);
  private t = 0;
  constructor(private readonly terminateAt = Infinity) {
    super();
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    return [Float32Array.from([0, 0]), {}];
  }
  step(action: number): StepResult<Float32Array> {
    this.t++;
    return [Float32Array.from([this.t / 10, action]), 1, this.t >= this.terminateAt, false, {}];
  }
}

const GAMMA = 0.9;

function setup(terminateAt: number, bootstrap: boolean) {
  const vec = new SyncVectorEnv([() => new RecordEpisodeStatistics(new TimeLimit(new Counter(terminateAt), 3))]);
  const policy = new ActorCritic({ observationSpace: vec.singleObservationSpace as Box, actionSpace: new Discrete(2), hidden: [8], rng: new Rng(2) });
  const collector = new StepCollector(vec, policy, 4, GAMMA, bootstrap);
  collector.reset(0);
  return { vec, policy, collector };
}

describe("StepCollector: truncation vs termination", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("adds γ·V(true final obs) to the reward of a truncated step, and nothing elsewhere", () => {
    const { policy, collector } = setup(Infinity, true);
    const batch = collector.collect(new Rng(5));
    expect(Array.from(batch.dones)).toEqual([0, 0, 1, 0]); // the time limit (3) ends the first episode
    // The truncated episode's last observation is [0.3, a₂], a₂ the third action taken.
    const final = Float32Array.from([0.3, batch.actions[2]]);
    const v = policy.values(final, 1, new Float32Array(1))[0];
    expect(Math.abs(v)).toBeGreaterThan(1e-4); // a bootstrap that can be seen
    expect(batch.rewards[2]).toBeCloseTo(1 + GAMMA * v, 5);
    expect([batch.rewards[0], batch.rewards[1], batch.rewards[3]]).toEqual([1, 1, 1]);
    // Not the value of the autoreset's first observation, which the next row holds.
    expect(Array.from(batch.obs.subarray(6, 8))).toEqual([0, 0]);
    expect(batch.episodes).toEqual([{ return: 3, length: 3 }]);
  });

  it("treats truncation as termination with bootstrapTruncated false (CleanRL)", () => {
    const { collector } = setup(Infinity, false);
    const batch = collector.collect(new Rng(5));
    expect(Array.from(batch.dones)).toEqual([0, 0, 1, 0]);
    expect(Array.from(batch.rewards)).toEqual([1, 1, 1, 1]);
  });

  it("never bootstraps a terminated step", () => {
    const { collector } = setup(2, true); // terminates at t = 2, before the time limit
    const batch = collector.collect(new Rng(5));
    expect(batch.dones[1]).toBe(1);
    expect(batch.rewards[1]).toBe(1);
  });
});
