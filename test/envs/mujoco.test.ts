import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import type { Box } from "../../src/core/spaces.js";
import { checkEnv } from "../../src/envs/check.js";
import type { Env } from "../../src/envs/env.js";
import type { MujocoEnv } from "../../src/envs/mujoco/base.js";
import { loadMujoco } from "../../src/envs/mujoco/loader.js";
import type { AntEnv, HopperEnv } from "../../src/envs/mujoco/locomotion.js";
import { make, registry } from "../../src/envs/registry.js";
import { captureEnvState, restoreEnvState } from "../../src/envs/state.js";

type MjEnv = Env<Float64Array, Float32Array>;

/** Gymnasium v5's facts: observation size, action bounds, frame skip, dt, time limit. */
const V5 = {
  "InvertedPendulum-v5": { obs: 4, low: [-3], high: [3], frameSkip: 2, dt: 0.04, limit: 1000 },
  "InvertedDoublePendulum-v5": { obs: 9, low: [-1], high: [1], frameSkip: 5, dt: 0.05, limit: 1000 },
  "HalfCheetah-v5": { obs: 17, low: Array(6).fill(-1), high: Array(6).fill(1), frameSkip: 5, dt: 0.05, limit: 1000 },
  "Hopper-v5": { obs: 11, low: Array(3).fill(-1), high: Array(3).fill(1), frameSkip: 4, dt: 0.008, limit: 1000 },
  "Walker2d-v5": { obs: 17, low: Array(6).fill(-1), high: Array(6).fill(1), frameSkip: 4, dt: 0.008, limit: 1000 },
  "Swimmer-v5": { obs: 8, low: Array(2).fill(-1), high: Array(2).fill(1), frameSkip: 4, dt: 0.04, limit: 1000 },
  "Reacher-v5": { obs: 10, low: Array(2).fill(-1), high: Array(2).fill(1), frameSkip: 2, dt: 0.02, limit: 50 },
  "Ant-v5": { obs: 105, low: Array(8).fill(-1), high: Array(8).fill(1), frameSkip: 5, dt: 0.05, limit: 1000 },
} as const;
const IDS = Object.keys(V5) as (keyof typeof V5)[];

const bare = (env: MjEnv) => env.unwrapped as unknown as MujocoEnv;
const sample = (env: MjEnv, rng: Rng) => env.actionSpace.sample(rng) as Float32Array;
const sumSq = (a: ArrayLike<number>) => Array.from(a).reduce((s, x) => s + x * x, 0);

beforeAll(async () => {
  await loadMujoco();
});

describe("MuJoCo v5 envs: spaces, limits and the env checker", () => {
  it.each(IDS)("%s has v5's observation size, action bounds, frame skip, dt and time limit, and passes checkEnv", (id) => {
    const facts = V5[id];
    const env = make<Float64Array, Float32Array>(id);
    const obs = env.observationSpace as Box<Float64Array>;
    expect(obs.shape).toEqual([facts.obs]);
    expect(obs.dtype).toBe("float64");
    const act = env.actionSpace as Box;
    expect(act.dtype).toBe("float32");
    expect(Array.from(act.low as Float32Array)).toEqual(facts.low);
    expect(Array.from(act.high as Float32Array)).toEqual(facts.high);
    expect(bare(env).frameSkip).toBe(facts.frameSkip);
    expect(bare(env).dt).toBeCloseTo(facts.dt, 12);
    expect(registry.get(id)?.maxEpisodeSteps).toBe(facts.limit);
    const [first] = env.reset({ seed: 1 });
    expect(first).toBeInstanceOf(Float64Array);
    expect(first.length).toBe(facts.obs);
    const made = checkEnv(make(id));
    expect(made.errors).toEqual([]);
    const unwrapped = checkEnv(make(id).unwrapped);
    expect(unwrapped.errors).toEqual([]);
    env.close();
  });

  it("the time limit truncates Reacher at 50 steps (never terminated)", () => {
    const env = make<Float64Array, Float32Array>("Reacher-v5");
    env.reset({ seed: 0 });
    let steps = 0, truncated = false;
    while (!truncated) {
      const r = env.step(new Float32Array(2));
      expect(r[2]).toBe(false);
      truncated = r[3];
      steps++;
    }
    expect(steps).toBe(50);
  });

  it("observation options change the layout as Gymnasium's (x kept; Ant without contact forces)", () => {
    expect((make("HalfCheetah-v5", { excludeCurrentPositionsFromObservation: false }).observationSpace as Box).shape).toEqual([18]);
    expect((make("Hopper-v5", { excludeCurrentPositionsFromObservation: false }).observationSpace as Box).shape).toEqual([12]);
    expect((make("Ant-v5", { includeCfrcExtInObservation: false }).observationSpace as Box).shape).toEqual([27]);
    expect((make("Ant-v5", { excludeCurrentPositionsFromObservation: false }).observationSpace as Box).shape).toEqual([107]);
    expect((make("Swimmer-v5", { excludeCurrentPositionsFromObservation: false }).observationSpace as Box).shape).toEqual([10]);
    expect(() => make("Hopper-v5", { healthyZRange: [1] })).toThrow(/healthyZRange.*Fix: pass two numbers/);
    expect(() => make("Hopper-v5", { ctrl_cost_weight: 1 })).toThrow(/did you mean ctrlCostWeight/);
  });
});

/** Steps with random actions, recomputing each reward term from the state before and after. */
function checkRewards(id: keyof typeof V5, steps: number, recompute: (env: MujocoEnv, before: { qpos: Float64Array; xpos: Float64Array }, a: Float32Array) => Record<string, number>): void {
  const env = make<Float64Array, Float32Array>(id, { disableEnvChecker: true, maxEpisodeSteps: 0 });
  const u = bare(env);
  const rng = new Rng(7);
  env.reset({ seed: 3 });
  let checked = 0;
  for (let t = 0; t < steps; t++) {
    const before = { qpos: u.qpos(), xpos: Float64Array.from(u.data.xpos) };
    const a = sample(env, rng);
    const [, reward, terminated, , info] = env.step(a);
    const expected = recompute(u, before, a);
    let total = 0;
    for (const [key, value] of Object.entries(expected)) {
      expect(info[key], `${id} info.${key} at step ${t}`).toBeCloseTo(value, 10);
      if (key.startsWith("reward_") || key.endsWith("_penalty")) total += value;
    }
    expect(reward).toBeCloseTo(total, 10);
    checked++;
    if (terminated) env.reset();
  }
  expect(checked).toBe(steps);
}

describe("MuJoCo v5 reward terms, recomputed from qpos/qvel, equal info's", () => {
  it("InvertedPendulum: reward_survive is 1 while |angle| <= 0.2, else 0 and terminated", () => {
    checkRewards("InvertedPendulum-v5", 60, (u) => ({ reward_survive: Math.abs(u.data.qpos[1]) > 0.2 ? 0 : 1 }));
  });

  it("InvertedDoublePendulum: survive, distance and velocity penalties of the tip site", () => {
    checkRewards("InvertedDoublePendulum-v5", 60, (u) => {
      const x = u.data.site_xpos[0], y = u.data.site_xpos[2];
      const v = u.qvel();
      return { reward_survive: y <= 1 ? 0 : 10, distance_penalty: -(0.01 * x * x + (y - 2) ** 2), velocity_penalty: -(1e-3 * v[1] ** 2 + 5e-3 * v[2] ** 2) };
    });
  });

  it("HalfCheetah: forward velocity of qpos[0] over dt, control cost 0.1·Σa²", () => {
    checkRewards("HalfCheetah-v5", 40, (u, before, a) => ({ reward_forward: (u.data.qpos[0] - before.qpos[0]) / 0.05, reward_ctrl: -0.1 * sumSq(a) }));
  });

  it("Hopper and Walker2d: forward, healthy reward 1 while healthy, control cost 1e-3·Σa²", () => {
    for (const [id, zLo, zHi, aLo, aHi] of [
      ["Hopper-v5", 0.7, Infinity, -0.2, 0.2],
      ["Walker2d-v5", 0.8, 2.0, -1, 1],
    ] as const) {
      checkRewards(id, 80, (u, before, a) => {
        const q = u.qpos(), v = u.qvel();
        let healthy = zLo < q[1] && q[1] < zHi && aLo < q[2] && q[2] < aHi;
        if (id === "Hopper-v5") healthy &&= [...q.slice(2), ...v].every((s) => -100 < s && s < 100);
        return { reward_forward: (q[0] - before.qpos[0]) / 0.008, reward_survive: healthy ? 1 : 0, reward_ctrl: -1e-3 * sumSq(a) };
      });
    }
  });

  it("Swimmer: forward velocity of qpos[0], control cost 1e-4·Σa²", () => {
    checkRewards("Swimmer-v5", 40, (u, before, a) => ({ reward_forward: (u.data.qpos[0] - before.qpos[0]) / 0.04, reward_ctrl: -1e-4 * sumSq(a) }));
  });

  it("Reacher: −‖fingertip − target‖ after the step and −Σa²", () => {
    checkRewards("Reacher-v5", 40, (u, _before, a) => {
      const x = u.data.xpos; // bodies: world, body0, body1, fingertip, target
      const d = [x[9] - x[12], x[10] - x[13], x[11] - x[14]];
      return { reward_dist: -Math.hypot(...d), reward_ctrl: -sumSq(a) };
    });
  });

  it("Ant: forward velocity of the torso frame, healthy 1, control 0.5·Σa², contact 5e-4·Σclip(cfrc_ext)²", () => {
    let sawContact = false;
    checkRewards("Ant-v5", 80, (u, before, a) => {
      const q = u.qpos();
      const contact = 5e-4 * sumSq(Array.from(u.data.cfrc_ext, (f) => Math.min(1, Math.max(-1, f))));
      if (contact > 0) sawContact = true;
      return {
        reward_forward: (u.data.xpos[3] - before.xpos[3]) / 0.05,
        reward_survive: 0.2 <= q[2] && q[2] <= 1 ? 1 : 0,
        reward_ctrl: -0.5 * sumSq(a),
        reward_contact: -contact,
      };
    });
    expect(sawContact).toBe(true);
  });

  it("Ant's observation ends with the 78 clipped contact forces of the bodies after the world", () => {
    const env = make<Float64Array, Float32Array>("Ant-v5");
    env.reset({ seed: 0 });
    let obs = env.reset({ seed: 0 })[0];
    for (let i = 0; i < 10; i++) obs = env.step(new Float32Array(8))[0];
    const f = bare(env).data.cfrc_ext;
    const expected = Array.from(f.subarray(6), (x) => Math.min(1, Math.max(-1, x)));
    expect(Array.from(obs.subarray(27))).toEqual(expected);
    expect(expected.some((x) => x !== 0)).toBe(true); // the feet touch the floor
  });
});

/** Sets qpos[index] of a reset env through its snapshot (state layout: time, qpos, …). */
function withQpos(env: MjEnv, index: number, value: number): void {
  const u = bare(env) as unknown as { getState(): number[]; setState(s: number[]): void };
  const s = u.getState();
  s[1 + index] = value;
  u.setState(s);
}

describe("MuJoCo v5 termination at the healthy bounds", () => {
  const stepZero = (env: MjEnv) => env.step(new Float32Array((env.actionSpace as Box).size));

  it("Hopper terminates below z 0.7 and beyond |angle| 0.2, and gives no healthy reward then", () => {
    const env = make<Float64Array, Float32Array>("Hopper-v5");
    env.reset({ seed: 0 });
    expect((bare(env) as unknown as HopperEnv).isHealthy).toBe(true);
    withQpos(env, 1, 0.69);
    expect((bare(env) as unknown as HopperEnv).isHealthy).toBe(false);
    env.reset({ seed: 0 });
    withQpos(env, 2, 0.25);
    const [, , terminated, , info] = stepZero(env);
    expect(terminated).toBe(true);
    expect(info.reward_survive).toBe(0);
    env.reset({ seed: 0 });
    expect(stepZero(env)[2]).toBe(false);
    // With terminateWhenUnhealthy false the episode goes on.
    const lenient = make<Float64Array, Float32Array>("Hopper-v5", { terminateWhenUnhealthy: false });
    lenient.reset({ seed: 0 });
    withQpos(lenient, 2, 0.25);
    expect(stepZero(lenient)[2]).toBe(false);
  });

  it("Walker2d terminates above z 2 and below z 0.8", () => {
    const env = make<Float64Array, Float32Array>("Walker2d-v5");
    env.reset({ seed: 0 });
    withQpos(env, 1, 2.5);
    expect(stepZero(env)[2]).toBe(true);
    env.reset({ seed: 0 });
    withQpos(env, 1, 0.5);
    expect(stepZero(env)[2]).toBe(true);
    env.reset({ seed: 0 });
    expect(stepZero(env)[2]).toBe(false);
  });

  it("Ant terminates above z 1 (inclusive range [0.2, 1])", () => {
    const env = make<Float64Array, Float32Array>("Ant-v5");
    env.reset({ seed: 0 });
    withQpos(env, 2, 3);
    expect((bare(env) as unknown as AntEnv).isHealthy).toBe(false);
    expect(stepZero(env)[2]).toBe(true);
    env.reset({ seed: 0 });
    expect(stepZero(env)[2]).toBe(false);
  });

  it("InvertedPendulum terminates past 0.2 rad with reward 0; InvertedDoublePendulum when the tip is at y <= 1", () => {
    const ip = make<Float64Array, Float32Array>("InvertedPendulum-v5");
    ip.reset({ seed: 0 });
    withQpos(ip, 1, 0.3);
    const r = stepZero(ip);
    expect([r[1], r[2]]).toEqual([0, true]);
    const idp = make<Float64Array, Float32Array>("InvertedDoublePendulum-v5");
    idp.reset({ seed: 0 });
    expect(stepZero(idp)[2]).toBe(false);
    withQpos(idp, 1, 1.2); // the first pole far over: the tip drops below y = 1
    const d = stepZero(idp);
    expect(d[2]).toBe(true);
    expect(d[4].reward_survive).toBe(0);
  });
});

describe("MuJoCo v5 snapshots and seeding", () => {
  it.each(IDS)("%s: restoring a snapshot (and its generator) into another env gives the identical trajectory and next reset", (id) => {
    const rng = new Rng(11);
    const a = make<Float64Array, Float32Array>(id, { maxEpisodeSteps: 0 });
    a.reset({ seed: 5 });
    for (let t = 0; t < 15; t++) if (a.step(sample(a, rng))[2]) a.reset();
    const saved = captureEnvState(a);
    const actions = Array.from({ length: 25 }, () => sample(a, rng));
    const run = (env: MjEnv) => {
      const out: unknown[] = [];
      for (const act of actions) {
        const [obs, reward, terminated, truncated] = env.step(act);
        out.push([Array.from(obs), reward, terminated, truncated]);
        if (terminated) break;
      }
      out.push(Array.from(env.reset()[0])); // the generator was restored too
      return out;
    };
    const original = run(a);
    const b = make<Float64Array, Float32Array>(id, { maxEpisodeSteps: 0 });
    b.reset({ seed: 99 });
    for (let t = 0; t < 3; t++) if (b.step(sample(b, rng))[2]) b.reset();
    restoreEnvState(b, saved);
    expect(run(b)).toEqual(original);
    a.close();
    b.close();
  });

  it.each(IDS)("%s: the same seed gives the same reset and steps; another seed another reset", (id) => {
    const roll = (seed: number) => {
      const env = make<Float64Array, Float32Array>(id);
      const out = [Array.from(env.reset({ seed })[0])];
      for (let t = 0; t < 5; t++) {
        const [obs, , terminated] = env.step(new Float32Array((env.actionSpace as Box).size).fill(0.5));
        out.push(Array.from(obs));
        if (terminated) break;
      }
      env.close();
      return out;
    };
    expect(roll(42)).toEqual(roll(42));
    expect(roll(43)[0]).not.toEqual(roll(42)[0]);
  });

  it("setState rejects a snapshot of the wrong length, naming the layout", () => {
    const env = make<Float64Array, Float32Array>("InvertedPendulum-v5");
    env.reset({ seed: 0 });
    const u = env.unwrapped as unknown as { getState(): number[]; setState(s: number[]): void };
    expect(u.getState()).toHaveLength(1 + 2 + 2 + 0 + 2); // time, qpos, qvel, act, qacc_warmstart
    expect(() => u.setState([1, 2, 3])).toThrow(/setState needs 7 numbers \[time, qpos\[0\]/);
  });
});

describe("MuJoCo v5 rendering and memory", () => {
  it.each(IDS)("%s renders an rgb_array frame that changes as the body moves", (id) => {
    const env = make<Float64Array, Float32Array>(id, { renderMode: "rgb_array", width: 96, height: 80 });
    env.reset({ seed: 0 });
    const first = env.render!();
    expect([first.width, first.height, first.data.length]).toEqual([96, 80, 96 * 80 * 3]);
    expect(new Set(first.data).size).toBeGreaterThan(2); // more than a blank picture
    for (let t = 0; t < 10; t++) if (env.step(new Float32Array((env.actionSpace as Box).size).fill(1))[2]) break;
    const later = env.render!();
    expect(Buffer.from(later.data).equals(Buffer.from(first.data))).toBe(false);
    expect(env.metadata?.renderFps).toBe(Math.round(1 / V5[id].dt));
  });

  it("close() frees the model once; a closed env says so instead of crashing", () => {
    const env = make<Float64Array, Float32Array>("Hopper-v5");
    env.reset({ seed: 0 });
    env.close();
    env.close();
    expect(() => env.reset()).toThrow(/the env was closed\. Fix: make a new env/);
  });
});
