import { describe, expect, it } from "vitest";
import { ConfigError, EnvError } from "../../src/core/errors.js";
import { Box, Discrete, type BoxValue, type Space } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { make } from "../../src/envs/registry.js";
import { makeVec, SyncVectorEnv } from "../../src/envs/vector.js";
import { RecordEpisodeStatistics } from "../../src/envs/wrappers.js";

/** A float32 Box typed as a space of Float32Array (the observations these envs return). */
const f32Box = (low: number, high: number, shape: number[]) => new Box(low, high, shape, "float32") as Box & Space<Float32Array>;

/**
 * obs = [start + t, resets] with start drawn from the seed, reward = 10·t, and the
 * episode ends on step `k` — terminated or truncated depending on `end`.
 */
class CounterEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = f32Box(0, 1e7, [2]);
  readonly actionSpace = new Discrete(3);
  t = 0;
  start = 0;
  resets = 0;
  actions: number[] = [];
  closed = 0;
  constructor(
    readonly k = 1000,
    readonly end: "terminate" | "truncate" = "terminate",
  ) {
    super();
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    this.resets += 1;
    this.start = this.npRandom.integer(0, 1_000_000);
    return [Float32Array.of(this.start, this.resets), { reset: this.resets }];
  }
  step(action: number): StepResult<Float32Array> {
    this.actions.push(action);
    this.t += 1;
    const ended = this.t >= this.k;
    return [
      Float32Array.of(this.start + this.t, this.resets),
      10 * this.t,
      ended && this.end === "terminate",
      ended && this.end === "truncate",
      { t: this.t },
    ];
  }
  override close(): void {
    this.closed += 1;
  }
}

/** Box(-1, 1, [2]) actions; the observation echoes the action. */
class EchoBoxEnv extends BaseEnv<Float32Array, BoxValue> {
  readonly observationSpace = f32Box(-10, 10, [2]);
  readonly actionSpace = new Box(-1, 1, [2], "float32");
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    return [new Float32Array(2), {}];
  }
  step(action: BoxValue): StepResult<Float32Array> {
    return [Float32Array.from(action), action[0] + action[1], false, false, {}];
  }
}

function thrown(fn: () => unknown): EnvError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EnvError) return e;
    throw e;
  }
  throw new Error("expected an EnvError, nothing was thrown");
}

const rows = (obs: Float32Array, size: number) =>
  Array.from({ length: obs.length / size }, (_, i) => Array.from(obs.subarray(i * size, (i + 1) * size)));

describe("SyncVectorEnv", () => {
  it("seeds env i with seed + i and batches observations row by row", () => {
    const vec = new SyncVectorEnv([0, 1, 2].map(() => () => new CounterEnv()));
    expect(vec.numEnvs).toBe(3);
    expect(vec.obsSize).toBe(2);
    expect(vec.singleObservationSpace.toString()).toBe("Box(0, 10000000, (2,), float32)");
    expect(vec.singleActionSpace.toString()).toBe("Discrete(3)");
    const [obs, info] = vec.reset({ seed: 42 });
    expect(obs).toBeInstanceOf(Float32Array);
    expect(obs).toHaveLength(6);
    const expected = [42, 43, 44].map((s) => Array.from(new CounterEnv().reset({ seed: s })[0]));
    expect(rows(obs, 2)).toEqual(expected);
    expect(info.envInfos).toEqual([{ reset: 1 }, { reset: 1 }, { reset: 1 }]);
    // Starts differ between envs: the seeds really are distinct.
    expect(new Set(rows(obs, 2).map((r) => r[0])).size).toBe(3);
  });

  it("continues each env's stream when reset without a seed, and accepts one seed per env", () => {
    const vec = new SyncVectorEnv([0, 1].map(() => () => new CounterEnv()));
    vec.reset({ seed: 7 });
    const [obs] = vec.reset();
    const expected = [7, 8].map((s) => {
      const e = new CounterEnv();
      e.reset({ seed: s });
      return Array.from(e.reset()[0]);
    });
    expect(rows(obs, 2)).toEqual(expected);
    const [perEnv] = vec.reset({ seed: [3, 9] });
    expect(perEnv[0]).toBe(new CounterEnv().reset({ seed: 3 })[0][0]);
    expect(perEnv[2]).toBe(new CounterEnv().reset({ seed: 9 })[0][0]);
    expect(() => vec.reset({ seed: [1] })).toThrow(ConfigError);
    expect(() => vec.reset({ seed: -1 })).toThrow(/non-negative integer/);
  });

  it("returns typed arrays of the right shapes and passes each env its action", () => {
    const vec = new SyncVectorEnv([0, 1, 2].map(() => () => new CounterEnv()));
    vec.reset({ seed: 0 });
    const [obs, rewards, terminated, truncated, info] = vec.step(Int32Array.of(2, 0, 1));
    expect(obs).toBeInstanceOf(Float32Array);
    expect(obs).toHaveLength(6);
    expect(rewards).toBeInstanceOf(Float64Array);
    expect(Array.from(rewards)).toEqual([10, 10, 10]);
    expect(terminated).toBeInstanceOf(Uint8Array);
    expect(truncated).toBeInstanceOf(Uint8Array);
    expect(Array.from(terminated)).toEqual([0, 0, 0]);
    expect(info.finalObs).toEqual([null, null, null]);
    expect(info.finalInfo).toEqual([null, null, null]);
    expect(info.episode).toEqual([null, null, null]);
    expect(info.envInfos).toEqual([{ t: 1 }, { t: 1 }, { t: 1 }]);
    vec.step([1, 1, 0]);
    expect(vec.envs.map((e) => (e as CounterEnv).actions)).toEqual([[2, 1], [0, 1], [1, 0]]);
  });

  it("autoresets a terminated env in the same step and keeps its terminal obs in finalObs", () => {
    // Env 1 terminates on its 3rd step; envs 0 and 2 run on.
    const vec = new SyncVectorEnv([new CounterEnv(100), new CounterEnv(3), new CounterEnv(100)].map((e) => () => e));
    const [start] = vec.reset({ seed: 5 });
    vec.step([0, 0, 0]);
    vec.step([0, 0, 0]);
    const [obs, rewards, terminated, truncated, info] = vec.step([0, 0, 0]);
    const env1 = vec.envs[1] as CounterEnv;
    expect(Array.from(terminated)).toEqual([0, 1, 0]);
    expect(Array.from(truncated)).toEqual([0, 0, 0]);
    // The reward is the terminal step's (10·3), not a reset's.
    expect(Array.from(rewards)).toEqual([30, 30, 30]);
    // Row 1 is the first obs of the new episode (second reset, fresh start) ...
    expect(Array.from(obs.subarray(2, 4))).toEqual([env1.start, 2]);
    // ... and the terminal obs of the old one is in finalObs.
    expect(Array.from(info.finalObs[1] as Float32Array)).toEqual([start[2] + 3, 1]);
    expect(info.finalInfo[1]).toEqual({ t: 3 });
    expect(info.envInfos[1]).toEqual({ reset: 2 });
    // The others are untouched.
    expect(info.finalObs[0]).toBeNull();
    expect(info.finalObs[2]).toBeNull();
    expect(Array.from(obs.subarray(0, 2))).toEqual([start[0] + 3, 1]);
    expect(Array.from(obs.subarray(4, 6))).toEqual([start[4] + 3, 1]);
    // The new episode continues normally.
    const [next, r2, t2, , info2] = vec.step([0, 0, 0]);
    expect(Array.from(next.subarray(2, 4))).toEqual([env1.start + 1, 2]);
    expect(Array.from(r2)).toEqual([40, 10, 40]);
    expect(Array.from(t2)).toEqual([0, 0, 0]);
    expect(info2.finalObs[1]).toBeNull();
  });

  it("handles truncation the same way, with the truncated flag", () => {
    const vec = new SyncVectorEnv([new CounterEnv(2, "truncate"), new CounterEnv(100)].map((e) => () => e));
    const [start] = vec.reset({ seed: 1 });
    vec.step([0, 0]);
    const [obs, rewards, terminated, truncated, info] = vec.step([0, 0]);
    expect(Array.from(truncated)).toEqual([1, 0]);
    expect(Array.from(terminated)).toEqual([0, 0]);
    expect(rewards[0]).toBe(20);
    expect(Array.from(info.finalObs[0] as Float32Array)).toEqual([start[0] + 2, 1]);
    expect(Array.from(obs.subarray(0, 2))).toEqual([(vec.envs[0] as CounterEnv).start, 2]);
    expect(info.finalObs[1]).toBeNull();
  });

  it("forwards RecordEpisodeStatistics' episode per env", () => {
    const vec = new SyncVectorEnv([2, 4].map((k) => () => new RecordEpisodeStatistics(new CounterEnv(k))));
    vec.reset({ seed: 0 });
    vec.step([0, 0]);
    const info = vec.step([0, 0])[4];
    expect(info.episode[0]).toMatchObject({ r: 10 + 20, l: 2 });
    expect(info.episode[1]).toBeNull();
    expect((info.finalInfo[0] as Info).episode).toBe(info.episode[0]);
  });

  it("takes Box actions as one row-major Float32Array", () => {
    const vec = new SyncVectorEnv([0, 1, 2].map(() => () => new EchoBoxEnv()));
    expect(vec.actSize).toBe(2);
    vec.reset({ seed: 0 });
    const [obs, rewards] = vec.step(Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
    expect(rows(obs, 2)).toEqual([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]].map((r) => Array.from(Float32Array.from(r))));
    expect(rewards[2]).toBeCloseTo(1.1, 6);
    const [fromArray] = vec.step([1, 0, 0, 1, -1, -1]);
    expect(rows(fromArray, 2)).toEqual([[1, 0], [0, 1], [-1, -1]]);
  });

  it("rejects action batches of the wrong length with a clear EnvError", () => {
    const discrete = new SyncVectorEnv([0, 1, 2].map(() => () => new CounterEnv()));
    discrete.reset({ seed: 0 });
    const e = thrown(() => discrete.step(Int32Array.of(0, 1)));
    expect(e.code).toBe("invalid_action");
    expect(e.message).toContain("3 values are needed");
    expect(e.message).toContain("Int32Array or number[] of length 3");
    const box = new SyncVectorEnv([0, 1, 2].map(() => () => new EchoBoxEnv()));
    box.reset({ seed: 0 });
    const b = thrown(() => box.step(Float32Array.of(0, 0, 0)));
    expect(b.message).toContain("Float32Array of length 6");
    expect(b.message).toContain("3 envs × 2 values");
    expect(thrown(() => box.step(0 as unknown as Float32Array)).code).toBe("invalid_action");
  });

  it("markReset lets a vector env of restored sub-envs step without reset", () => {
    const vec = new SyncVectorEnv([0, 1].map(() => () => new CounterEnv()));
    for (const env of vec.envs) env.reset({ seed: 1 });
    expect(thrown(() => vec.step([0, 0])).code).toBe("reset_needed");
    vec.markReset();
    expect(Array.from(vec.step([0, 0])[1])).toEqual([10, 10]);
  });

  it("refuses step before reset, mismatched sub-envs and use after close", () => {
    const vec = new SyncVectorEnv([0, 1].map(() => () => new CounterEnv()));
    expect(thrown(() => vec.step([0, 0])).code).toBe("reset_needed");
    expect(() => new SyncVectorEnv([() => new CounterEnv(), () => new EchoBoxEnv() as never])).toThrow(/same id/);
    expect(() => new SyncVectorEnv([])).toThrow(ConfigError);
    vec.reset();
    vec.close();
    vec.close();
    expect(vec.envs.map((e) => (e as CounterEnv).closed)).toEqual([1, 1]);
    expect(thrown(() => vec.reset()).code).toBe("env_closed");
  });
});

describe("makeVec with the built-in envs", () => {
  it("CartPole-v1: seeds s + i like make() and truncates with autoreset", () => {
    const vec = makeVec("CartPole-v1", 3, { maxEpisodeSteps: 4 });
    expect(vec.obsSize).toBe(4);
    const [obs] = vec.reset({ seed: 10 });
    for (let i = 0; i < 3; i++) {
      const [single] = make<Float32Array>("CartPole-v1").reset({ seed: 10 + i });
      expect(Array.from(obs.subarray(4 * i, 4 * i + 4))).toEqual(Array.from(single));
    }
    // Replay env 0 alone to get its obs after 4 steps.
    const ref = make<Float32Array, number>("CartPole-v1");
    ref.reset({ seed: 10 });
    let last: Float32Array = new Float32Array(4);
    for (let t = 0; t < 4; t++) last = ref.step(t % 2)[0];
    let step = vec.step(Int32Array.of(0, 0, 0));
    for (let t = 1; t < 4; t++) step = vec.step(Int32Array.of(t % 2, t % 2, t % 2));
    const [next, , terminated, truncated, info] = step;
    expect(Array.from(truncated)).toEqual([1, 1, 1]);
    expect(Array.from(terminated)).toEqual([0, 0, 0]);
    expect(Array.from(info.finalObs[0] as Float32Array)).toEqual(Array.from(last));
    // The returned rows are reset observations: within CartPole's reset range [-0.05, 0.05].
    expect(Array.from(next).every((v) => Math.abs(v) <= 0.05)).toBe(true);
    vec.close();
  });

  it("Pendulum-v1: Box actions as a Float32Array of numEnvs × 1", () => {
    const vec = makeVec("Pendulum-v1", 2, {}, (env) => new RecordEpisodeStatistics(env));
    expect(vec.actSize).toBe(1);
    expect(vec.obsSize).toBe(3);
    vec.reset({ seed: 0 });
    let episode = null;
    for (let t = 0; t < 200; t++) {
      const [obs, rewards, , truncated, info] = vec.step(Float32Array.of(1, -1));
      expect(obs).toHaveLength(6);
      expect(rewards.every((r) => r <= 0)).toBe(true);
      if (truncated[0]) episode = info.episode[0];
    }
    // Pendulum-v1 truncates at 200 steps: the episode statistics come through.
    expect(episode).toMatchObject({ l: 200 });
    expect(() => makeVec("Pendulum-v1", 0)).toThrow(/positive integer/);
  });
});
