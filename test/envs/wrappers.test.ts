import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ConfigError, EnvError } from "../../src/core/errors.js";
import { Box, Discrete, type BoxValue, type Space } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { make } from "../../src/envs/registry.js";
import { captureEnvState, restoreEnvState } from "../../src/envs/state.js";
import {
  ClipAction,
  NormalizeObservation,
  NormalizeReward,
  OrderEnforcing,
  PassiveEnvChecker,
  RecordEpisodeStatistics,
  RunningMeanStd,
  TimeLimit,
  TransformObservation,
  TransformReward,
} from "../../src/envs/wrappers.js";

/** A float32 Box typed as a space of Float32Array (the observations these envs return). */
const f32Box = (low: number, high: number, shape: number[]) => new Box(low, high, shape, "float32") as Box & Space<Float32Array>;

/** obs = [start + t] with start drawn from the seed; reward = t; terminates on step `k`. */
class CounterEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = f32Box(0, 1000, [1]);
  readonly actionSpace = new Discrete(2);
  t = 0;
  start = 0;
  constructor(readonly k: number) {
    super();
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    this.start = this.npRandom.integer(0, 10);
    return [Float32Array.of(this.start), {}];
  }
  step(): StepResult<Float32Array> {
    this.t += 1;
    return [Float32Array.of(this.start + this.t), this.t, this.t >= this.k, false, {}];
  }
}

/** Replays a fixed list of observations (reset and steps alike) and rewards; terminates on step `terminateAt`. */
class ScriptedEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = f32Box(-10, 10, [2]);
  readonly actionSpace = new Discrete(2);
  private i = 0;
  private steps = 0;
  private t = 0;
  constructor(
    private readonly obs: number[][],
    private readonly rewards: number[],
    private readonly terminateAt: number,
  ) {
    super();
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    return [Float32Array.from(this.obs[this.i++]), {}];
  }
  step(): StepResult<Float32Array> {
    this.t += 1;
    return [Float32Array.from(this.obs[this.i++]), this.rewards[this.steps++], this.t === this.terminateAt, false, {}];
  }
}

/** Box(-1, 1, [2]) actions; the observation echoes the last action received. Optional bad value in obs at step `badAt`. */
class EchoBoxEnv extends BaseEnv<Float32Array, BoxValue> {
  readonly observationSpace: Box & Space<Float32Array>;
  readonly actionSpace = new Box(-1, 1, [2], "float32");
  received: BoxValue | null = null;
  t = 0;
  constructor(
    private readonly badAt = -1,
    private readonly badValue = NaN,
    obsHigh = 10,
  ) {
    super();
    this.observationSpace = f32Box(-obsHigh, obsHigh, [2]);
  }
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    return [new Float32Array(2), {}];
  }
  step(action: BoxValue): StepResult<Float32Array> {
    this.received = action;
    this.t += 1;
    const obs = Float32Array.from(action);
    if (this.t === this.badAt) obs[1] = this.badValue;
    return [obs, 0, false, false, {}];
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

describe("TimeLimit", () => {
  it("truncates exactly at maxEpisodeSteps and restarts the count on reset", () => {
    const env = new TimeLimit(new CounterEnv(100), 3);
    env.reset({ seed: 0 });
    expect(env.step(0)[3]).toBe(false);
    expect(env.step(0)[3]).toBe(false);
    expect(env.elapsedSteps).toBe(2);
    const [, , terminated, truncated] = env.step(0);
    expect([terminated, truncated]).toEqual([false, true]);
    env.reset();
    expect(env.elapsedSteps).toBe(0);
    expect(env.step(0)[3]).toBe(false);
    expect(env.step(0)[3]).toBe(false);
    expect(env.step(0)[3]).toBe(true);
  });

  it("keeps terminated when both happen on the same step", () => {
    const env = new TimeLimit(new CounterEnv(3), 3);
    env.reset({ seed: 0 });
    env.step(0);
    env.step(0);
    const [, , terminated, truncated] = env.step(0);
    expect(terminated).toBe(true);
    expect(truncated).toBe(true);
  });

  it("reports its limit in spec and rejects a non-positive limit", () => {
    const inner = new CounterEnv(5);
    inner.spec = { id: "Counter-v0", kwargs: {} };
    const env = new TimeLimit(inner, 7);
    expect(env.spec?.maxEpisodeSteps).toBe(7);
    expect(inner.spec.maxEpisodeSteps).toBeUndefined();
    expect(() => new TimeLimit(new CounterEnv(5), 0)).toThrow(ConfigError);
    expect(() => new TimeLimit(new CounterEnv(5), 2.5)).toThrow(/positive integer/);
  });
});

describe("OrderEnforcing", () => {
  it("refuses step before the first reset", () => {
    const env = new OrderEnforcing(new CounterEnv(3));
    const e = thrown(() => env.step(0));
    expect(e.code).toBe("reset_needed");
    expect(e.message).toMatch(/before reset\(\)/);
    expect(env.hasReset).toBe(false);
  });

  it("refuses step after termination, naming how and when the episode ended", () => {
    const inner = new CounterEnv(3);
    inner.spec = { id: "Counter-v0", kwargs: {} };
    const env = new OrderEnforcing(inner);
    env.reset({ seed: 1 });
    env.step(0);
    env.step(0);
    expect(env.step(0)[2]).toBe(true);
    const e = thrown(() => env.step(0));
    expect(e.code).toBe("episode_over");
    expect(e.message).toContain("Counter-v0");
    expect(e.message).toContain("terminated at step 3");
    expect(e.message).toContain("reset()");
    env.reset();
    expect(() => env.step(0)).not.toThrow();
  });

  it("refuses step after truncation by an inner TimeLimit", () => {
    const env = new OrderEnforcing(new TimeLimit(new CounterEnv(100), 2));
    env.reset({ seed: 1 });
    env.step(0);
    env.step(0);
    const e = thrown(() => env.step(0));
    expect(e.code).toBe("episode_over");
    expect(e.message).toContain("truncated at step 2");
  });
});

describe("PassiveEnvChecker", () => {
  it("catches a NaN observation from step, naming the env id, the episode step and the index", () => {
    const inner = new EchoBoxEnv(2);
    inner.spec = { id: "Echo-v0", kwargs: {} };
    const env = new PassiveEnvChecker(inner);
    env.reset({ seed: 0 });
    env.step(Float32Array.of(0.5, 0.5));
    const e = thrown(() => env.step(Float32Array.of(0.5, 0.5)));
    expect(e.code).toBe("nan_observation");
    expect(e.message).toContain("Echo-v0");
    expect(e.message).toContain("episode step 2");
    expect(e.message).toContain("NaN at index 1");
    // The count restarts with the episode.
    env.reset();
    expect(() => env.step(Float32Array.of(0, 0))).not.toThrow();
  });

  it("catches NaN in a reset observation", () => {
    class NanReset extends EchoBoxEnv {
      override reset(): [Float32Array, Info] {
        return [Float32Array.of(0, NaN), {}];
      }
    }
    const e = thrown(() => new PassiveEnvChecker(new NanReset()).reset());
    expect(e.code).toBe("nan_observation");
    expect(e.message).toMatch(/reset\(\) at episode step 0 has NaN at index 1/);
  });

  it("rejects Infinity where the bound is finite, allows it where the space is unbounded", () => {
    const bounded = new PassiveEnvChecker(new EchoBoxEnv(1, Infinity));
    bounded.reset();
    expect(thrown(() => bounded.step(Float32Array.of(0, 0))).message).toContain("Infinity at index 1");
    const unbounded = new PassiveEnvChecker(new EchoBoxEnv(1, Infinity, Infinity));
    unbounded.reset();
    expect(() => unbounded.step(Float32Array.of(0, 0))).not.toThrow();
  });

  it("rejects invalid actions with the env id, the action and the space, and lets out-of-bound Box actions through", () => {
    const counter = new CounterEnv(10);
    counter.spec = { id: "Counter-v0", kwargs: {} };
    const discrete = new PassiveEnvChecker(counter);
    discrete.reset();
    const e = thrown(() => discrete.step(2));
    expect(e.code).toBe("invalid_action");
    expect(e.message).toContain("Counter-v0");
    expect(e.message).toContain("action 2");
    expect(e.message).toContain("Discrete(2)");
    expect(() => discrete.step(Int32Array.of(1) as unknown as number)).not.toThrow();
    expect(thrown(() => discrete.step(0.5)).code).toBe("invalid_action");

    const box = new PassiveEnvChecker(new EchoBoxEnv());
    box.reset();
    expect(() => box.step(Float32Array.of(5, -7))).not.toThrow();
    expect(thrown(() => box.step(Float32Array.of(0.1))).message).toContain("Box(-1, 1, (2,), float32)");
    expect(thrown(() => box.step(Float32Array.of(0.1, NaN))).code).toBe("invalid_action");
    expect(thrown(() => box.step([0.1, "x"] as unknown as BoxValue)).code).toBe("invalid_action");
  });
});

describe("RecordEpisodeStatistics", () => {
  it("adds { r, l, t } at the end of each episode and keeps the last bufferLength episodes", () => {
    const env = new RecordEpisodeStatistics(new CounterEnv(3), 2);
    env.reset({ seed: 0 });
    expect(env.step(0)[4].episode).toBeUndefined();
    expect(env.step(0)[4].episode).toBeUndefined();
    const info = env.step(0)[4];
    const ep = info.episode as { r: number; l: number; t: number };
    expect(ep.r).toBe(1 + 2 + 3);
    expect(ep.l).toBe(3);
    expect(ep.t).toBeGreaterThanOrEqual(0);
    expect(Math.round(ep.t * 1e6) / 1e6).toBe(ep.t); // rounded to microseconds, as Gymnasium
    expect(env.episodeCount).toBe(1);

    // Two more episodes of different lengths: the buffer keeps the last two.
    const short = new RecordEpisodeStatistics(new TimeLimit(new CounterEnv(3), 2), 2);
    short.reset({ seed: 0 });
    short.step(0);
    expect((short.step(0)[4].episode as { r: number }).r).toBe(3);
    for (let ep2 = 0; ep2 < 2; ep2++) {
      short.reset();
      short.step(0);
      short.step(0);
    }
    expect(short.episodeCount).toBe(3);
    expect(short.returnQueue).toEqual([3, 3]);
    expect(short.lengthQueue).toEqual([2, 2]);
    expect(short.timeQueue).toHaveLength(2);
  });

  it("does not mutate the env's info object and refuses double wrapping", () => {
    const shared: Info = {};
    class SharedInfo extends CounterEnv {
      override step(): StepResult<Float32Array> {
        const r = super.step();
        return [r[0], r[1], r[2], r[3], shared];
      }
    }
    const env = new RecordEpisodeStatistics(new SharedInfo(1));
    env.reset();
    expect(env.step(0)[4].episode).toBeDefined();
    expect(shared).toEqual({});
    const twice = new RecordEpisodeStatistics(new RecordEpisodeStatistics(new CounterEnv(1)));
    twice.reset();
    expect(thrown(() => twice.step(0)).code).toBe("duplicate_episode_statistics");
  });
});

interface NormFixture {
  script: { obs: number[][]; rewards: number[]; terminateAt: number };
  normalizeObservation: { obs: number[][]; stats: { mean: number[]; var: number[]; count: number }[] };
  normalizeReward: { rewards: number[]; stats: { mean: number[]; var: number[]; count: number; discountedReward: number }[] };
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/wrappers_normalize.json", import.meta.url), "utf8")) as NormFixture;

/**
 * The parallel update starting from (mean 0, var 1, count ε) gives exactly the statistics
 * of the samples plus a pseudo-sample of weight ε with mean 0 and variance 1:
 * mean = Σx / (n + ε), var = (ε·(1 + mean²) + Σ(x − mean)²) / (n + ε).
 */
function handStats(xs: number[], eps = 1e-4): { mean: number; var: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / (n + eps);
  const sq = xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  return { mean, var: (eps * (1 + mean * mean) + sq) / (n + eps) };
}

describe("RunningMeanStd", () => {
  it("merges batches with the parallel algorithm from (0, 1, 1e-4)", () => {
    const rms = new RunningMeanStd(2);
    rms.update(Float64Array.of(1, 10, 2, 20, 6, 30), 3);
    const a = handStats([1, 2, 6]), b = handStats([10, 20, 30]);
    expect(rms.count).toBeCloseTo(3.0001, 12);
    expect(rms.mean[0]).toBeCloseTo(a.mean, 12);
    expect(rms.var[0]).toBeCloseTo(a.var, 12);
    expect(rms.mean[1]).toBeCloseTo(b.mean, 10);
    expect(rms.var[1]).toBeCloseTo(b.var, 10);
    // Batches and single samples give the same statistics.
    const seq = new RunningMeanStd(2);
    for (const row of [[1, 10], [2, 20], [6, 30]]) seq.update(row, 1);
    expect(seq.mean[1]).toBeCloseTo(rms.mean[1], 10);
    expect(seq.var[1]).toBeCloseTo(rms.var[1], 9);
  });

  it("round-trips its state as plain numbers and rejects malformed state", () => {
    const rms = new RunningMeanStd(2);
    rms.update([1, 2], 1);
    const state = rms.getState();
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    const other = new RunningMeanStd(2);
    other.setState(state);
    expect(other.getState()).toEqual(state);
    expect(() => other.setState({ mean: [0], var: [1], count: 1 })).toThrow(ConfigError);
    expect(() => other.setState({ mean: [0, 0], var: [1, -1], count: 1 })).toThrow(/non-negative/);
    expect(() => rms.update([1, 2, 3], 1)).toThrow(/batchCount/);
  });
});

describe("NormalizeObservation", () => {
  const script = fixture.script;
  const makeEnv = () => new NormalizeObservation(new ScriptedEnv(script.obs, script.rewards, script.terminateAt));

  it("matches hand-computed statistics after a 3-step episode", () => {
    const env = makeEnv();
    const first = env.reset({ seed: 0 })[0];
    // After one observation x: mean = x / 1.0001, var = 1e-4·(1 + mean²)/1.0001 (+ (x − mean)²/1.0001).
    const m0 = 1 / 1.0001;
    expect(env.obsRms.mean[0]).toBeCloseTo(m0, 6);
    expect(first[0]).toBeCloseTo((1 - m0) / Math.sqrt(handStats([1]).var + 1e-8), 4);
    for (let t = 0; t < 3; t++) env.step(0);
    const xs0 = script.obs.slice(0, 4).map((o) => o[0]);
    const xs1 = script.obs.slice(0, 4).map((o) => o[1]);
    expect(env.obsRms.count).toBeCloseTo(4.0001, 12);
    expect(env.obsRms.mean[0]).toBeCloseTo(handStats(xs0).mean, 5);
    expect(env.obsRms.var[0]).toBeCloseTo(handStats(xs0).var, 5);
    expect(env.obsRms.mean[1]).toBeCloseTo(handStats(xs1).mean, 5);
    expect(env.obsRms.var[1]).toBeCloseTo(handStats(xs1).var, 5);
  });

  it("reproduces Gymnasium 1.3.0 bit for bit (float32 statistics)", () => {
    const env = makeEnv();
    const gym = fixture.normalizeObservation;
    const seen: Float32Array[] = [env.reset({ seed: 0 })[0]];
    const stats = [env.getStatistics()];
    for (let t = 0; t < 4; t++) {
      const [obs, , terminated] = env.step(0);
      seen.push(obs);
      stats.push(env.getStatistics());
      if (terminated) {
        seen.push(env.reset()[0]);
        stats.push(env.getStatistics());
      }
    }
    expect(seen.map((o) => Array.from(o))).toEqual(gym.obs);
    expect(stats.map((s) => ({ mean: s.mean, var: s.var }))).toEqual(gym.stats.map((s) => ({ mean: s.mean, var: s.var })));
    stats.forEach((s, i) => expect(s.count).toBeCloseTo(gym.stats[i].count, 12));
    expect(env.observationSpace.toString()).toBe("Box(-inf, inf, (2,), float32)");
  });

  it("freezes with updateRunningMean = false and restores statistics", () => {
    const env = makeEnv();
    env.reset({ seed: 0 });
    env.step(0);
    const saved = env.getStatistics();
    env.updateRunningMean = false;
    const [obs] = env.step(0);
    expect(env.getStatistics()).toEqual(saved);
    expect(obs[0]).toBeCloseTo((-1 - saved.mean[0]) / Math.sqrt(saved.var[0] + 1e-8), 5);
    const copy = makeEnv();
    copy.setStatistics(saved);
    expect(copy.getStatistics()).toEqual(saved);
  });
});

describe("NormalizeReward", () => {
  const script = fixture.script;

  it("matches hand-computed numbers for a 3-step episode (gamma 0.99)", () => {
    const env = new NormalizeReward(new ScriptedEnv(script.obs, script.rewards, script.terminateAt), 0.99);
    env.reset({ seed: 0 });
    // Rewards 1, -0.5, 2 (terminal): G = 1, 1·0.99 − 0.5 = 0.49, then terminal G = 2 (the old G is dropped).
    const r1 = env.step(0)[1];
    expect(env.discountedReward).toBe(1);
    expect(r1).toBeCloseTo(1 / Math.sqrt(handStats([1]).var + 1e-8), 6);
    env.step(0);
    expect(env.discountedReward).toBeCloseTo(0.49, 15);
    const r3 = env.step(0)[1];
    expect(env.discountedReward).toBe(2);
    const h = handStats([1, 0.49, 2]);
    expect(env.returnRms.mean[0]).toBeCloseTo(h.mean, 12);
    expect(env.returnRms.var[0]).toBeCloseTo(h.var, 12);
    expect(r3).toBeCloseTo(2 / Math.sqrt(h.var + 1e-8), 10);
    // Next episode: G continues from the terminal step's G (Gymnasium's behaviour), 2·0.99 + 0.75.
    env.reset();
    env.step(0);
    expect(env.discountedReward).toBeCloseTo(2.73, 14);
  });

  it("reproduces Gymnasium 1.3.0's rewards and statistics", () => {
    const env = new NormalizeReward(new ScriptedEnv(script.obs, script.rewards, script.terminateAt), 0.99);
    const gym = fixture.normalizeReward;
    env.reset({ seed: 0 });
    const rewards: number[] = [];
    const stats = [env.getStatistics()];
    for (let t = 0; t < 4; t++) {
      const [, r, terminated] = env.step(0);
      rewards.push(r);
      stats.push(env.getStatistics());
      if (terminated) {
        env.reset();
        stats.push(env.getStatistics());
      }
    }
    rewards.forEach((r, i) => expect(r).toBeCloseTo(gym.rewards[i], 10));
    stats.forEach((s, i) => {
      expect(s.mean[0]).toBeCloseTo(gym.stats[i].mean[0], 12);
      expect(s.var[0]).toBeCloseTo(gym.stats[i].var[0], 12);
      expect(s.discountedReward).toBeCloseTo(gym.stats[i].discountedReward, 12);
    });
  });

  it("freezes and restores its statistics", () => {
    const env = new NormalizeReward(new CounterEnv(100));
    env.reset({ seed: 0 });
    env.step(0);
    env.step(0);
    const saved = env.getStatistics();
    env.updateRunningMean = false;
    const r = env.step(0)[1];
    expect(r).toBeCloseTo(3 / Math.sqrt(saved.var[0] + 1e-8), 10);
    expect(env.getStatistics().var).toEqual(saved.var);
    const other = new NormalizeReward(new CounterEnv(100));
    other.setStatistics(saved);
    expect(other.getStatistics()).toEqual(saved);
  });
});

describe("ClipAction", () => {
  it("clips to the bounds and exposes an unbounded action space", () => {
    const inner = new EchoBoxEnv();
    const env = new ClipAction(inner);
    env.reset();
    env.step(Float32Array.of(5, -3));
    expect(Array.from(inner.received as Float32Array)).toEqual([1, -1]);
    env.step([0.25, -0.5]);
    expect(Array.from(inner.received as Float32Array)).toEqual([0.25, -0.5]);
    expect(env.actionSpace.toString()).toBe("Box(-inf, inf, (2,), float32)");
    expect(env.actionSpace.contains(Float32Array.of(1e9, -1e9))).toBe(true);
    expect(() => new ClipAction(new CounterEnv(1))).toThrow(/Box action space/);
    expect(thrown(() => env.step(Float32Array.of(1))).code).toBe("invalid_action");
  });
});

describe("TransformObservation and TransformReward", () => {
  it("apply their functions to reset and step", () => {
    const space = new Box(0, 2000, [1], "float32");
    const env = new TransformReward(
      new TransformObservation(new CounterEnv(5), (o: Float32Array) => Float32Array.of(o[0] * 2), space),
      (r) => -r,
    );
    const [o0] = env.reset({ seed: 3 });
    const start = (env.unwrapped as CounterEnv).start;
    expect(o0[0]).toBe(start * 2);
    const [o1, r1] = env.step(0);
    expect(o1[0]).toBe((start + 1) * 2);
    expect(r1).toBe(-1);
    expect(env.observationSpace).toBe(space);
  });
});

describe("the make() wrapper stack on CartPole-v1", () => {
  it("enforces order and checks actions with the env id", () => {
    const env = make("CartPole-v1");
    expect(thrown(() => env.step(0)).code).toBe("reset_needed");
    env.reset({ seed: 0 });
    const e = thrown(() => env.step(3));
    expect(e.code).toBe("invalid_action");
    expect(e.message).toContain("CartPole-v1");
    let steps = 0;
    for (;;) {
      steps++;
      const [, , terminated, truncated] = env.step(1);
      if (terminated || truncated) break;
    }
    const over = thrown(() => env.step(1));
    expect(over.code).toBe("episode_over");
    expect(over.message).toContain(`terminated at step ${steps}`);
  });

  it("truncates CartPole at the limit given to make()", () => {
    const env = make("CartPole-v1", { maxEpisodeSteps: 5 });
    env.reset({ seed: 0 });
    const flags: boolean[] = [];
    for (let t = 0; t < 5; t++) flags.push(env.step(t % 2)[3]);
    expect(flags).toEqual([false, false, false, false, true]);
  });
});

describe("wrappers on Pendulum-v1", () => {
  it("clip actions and normalise observations of a continuous env", () => {
    const clipped = new NormalizeObservation(new ClipAction(make("Pendulum-v1")));
    const exact = new NormalizeObservation(make("Pendulum-v1"));
    expect(clipped.actionSpace.toString()).toBe("Box(-inf, inf, (1,), float32)");
    const [o1] = clipped.reset({ seed: 0 });
    const [o2] = exact.reset({ seed: 0 });
    expect(o1).toBeInstanceOf(Float32Array);
    expect(Array.from(o1)).toEqual(Array.from(o2));
    // A torque of 50 is clipped to the bound 2 before it reaches the env (which PassiveEnvChecker would pass anyway).
    const a = clipped.step(Float32Array.of(50));
    const b = exact.step(Float32Array.of(2));
    expect(Array.from(a[0])).toEqual(Array.from(b[0]));
    expect(a[1]).toBe(b[1]);
  });
});

describe("saveState/loadState of the wrappers (checkpoints)", () => {
  const stack = () =>
    new RecordEpisodeStatistics(new NormalizeReward(new NormalizeObservation(make<Float32Array, number>("CartPole-v1"))));

  it("a restored stack continues exactly like the original", () => {
    const original = stack();
    original.reset({ seed: 3 });
    const actions = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0];
    for (const a of actions.slice(0, 6)) original.step(a);
    const saved = JSON.parse(JSON.stringify(captureEnvState(original)));
    const copy = stack();
    restoreEnvState(copy, saved);
    // No reset: OrderEnforcing, TimeLimit and the statistics all continue mid-episode.
    for (const a of actions.slice(6)) {
      const [o1, r1, te1, tr1] = original.step(a);
      const [o2, r2, te2, tr2] = copy.step(a);
      expect(Array.from(o2)).toEqual(Array.from(o1));
      expect([r2, te2, tr2]).toEqual([r1, te1, tr1]);
    }
    expect(copy.episodeLength).toBe(original.episodeLength);
    expect(copy.episodeReturn).toBe(original.episodeReturn);
    const inner = (e: typeof original) => e.env as NormalizeReward;
    expect(inner(copy).getStatistics()).toEqual(inner(original).getStatistics());
  });

  it("restores each wrapper's counters and rejects malformed state", () => {
    const limit = new TimeLimit(new CounterEnv(100), 5);
    limit.loadState({ elapsedSteps: 4 });
    limit.reset({ seed: 0 });
    limit.loadState({ elapsedSteps: 4 });
    expect(limit.step(0)[3]).toBe(true);
    expect(() => limit.loadState({ elapsedSteps: -1 })).toThrow(/TimeLimit: elapsedSteps = -1/);

    const order = new OrderEnforcing(new CounterEnv(100));
    order.loadState({ hasReset: true, episodeSteps: 2, endedBy: null });
    order.env.reset();
    expect(() => order.step(0)).not.toThrow();
    order.loadState({ hasReset: true, episodeSteps: 7, endedBy: "truncated" });
    expect(thrown(() => order.step(0)).message).toContain("truncated at step 7");
    expect(() => order.loadState({ hasReset: true, episodeSteps: 0, endedBy: "done" })).toThrow(ConfigError);

    const stats = new RecordEpisodeStatistics(new CounterEnv(2), 2);
    stats.loadState({ episodeCount: 5, episodeReturn: 10, episodeLength: 1, elapsedSeconds: 0, returnQueue: [1, 2, 3], lengthQueue: [1, 1, 1], timeQueue: [0, 0, 0] });
    expect(stats.returnQueue).toEqual([2, 3]);
    stats.env.reset();
    (stats.env as CounterEnv).t = 1;
    const ep = stats.step(0)[4].episode as { r: number; l: number };
    expect([ep.r, ep.l, stats.episodeCount]).toEqual([10 + 2, 2, 6]); // saved return 10 plus this step's reward t = 2
    expect(() => stats.loadState({ episodeCount: 1 })).toThrow(/RecordEpisodeStatistics/);

    const norm = new NormalizeObservation(new CounterEnv(5));
    norm.loadState({ mean: [2], var: [4], count: 10, updateRunningMean: false });
    norm.env.reset({ seed: 0 });
    expect(norm.step(0)[0][0]).toBeCloseTo(((norm.unwrapped as CounterEnv).start + 1 - 2) / 2, 5);
    expect(norm.saveState()).toEqual({ mean: [2], var: [4], count: 10, updateRunningMean: false });
  });
});
