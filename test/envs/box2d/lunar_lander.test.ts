import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, EnvError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { Box, Discrete } from "../../../src/core/spaces.js";
import { landerShaping, landerThrottles, LunarLanderEnv } from "../../../src/envs/box2d/lunar_lander.js";
import { smoothTerrain } from "../../../src/envs/box2d/lander_world.js";
import { checkEnv } from "../../../src/envs/check.js";
import type { Env } from "../../../src/envs/env.js";
import { pixelAt } from "../../../src/envs/render/frame.js";
import { make } from "../../../src/envs/registry.js";

type Action = number | Float32Array;

/** Gymnasium's demonstration controller (`heuristic` in lunar_lander.py), used as a known-good pilot. */
function heuristic(s: Float32Array, continuous: boolean): Action {
  const angleTarg = Math.max(-0.4, Math.min(0.4, s[0] * 0.5 + s[2] * 1.0));
  const hoverTarg = 0.55 * Math.abs(s[0]);
  let angleTodo = (angleTarg - s[4]) * 0.5 - s[5] * 1.0;
  let hoverTodo = (hoverTarg - s[1]) * 0.5 - s[3] * 0.5;
  if (s[6] || s[7]) {
    angleTodo = 0;
    hoverTodo = -s[3] * 0.5;
  }
  if (continuous) return Float32Array.from([hoverTodo * 20 - 1, -angleTodo * 20], (v) => Math.max(-1, Math.min(1, v)));
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

interface Episode {
  obs: Float32Array[];
  rewards: number[];
  terminated: boolean;
  truncated: boolean;
}

function play(env: Env<Float32Array, Action>, first: Float32Array, pilot: (s: Float32Array, t: number) => Action, maxSteps = 1000): Episode {
  const ep: Episode = { obs: [first], rewards: [], terminated: false, truncated: false };
  let s = first;
  for (let t = 0; t < maxSteps && !ep.terminated && !ep.truncated; t++) {
    const [next, r, terminated, truncated] = env.step(pilot(s, t));
    ep.obs.push(next);
    ep.rewards.push(r);
    ep.terminated = terminated;
    ep.truncated = truncated;
    s = next;
  }
  return ep;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe("LunarLander-v3 registration and spaces", () => {
  it("registers the discrete and continuous ids with Gymnasium's limits, spaces and options", () => {
    const env = make<Float32Array, Action>("LunarLander-v3");
    expect(env.spec).toMatchObject({ id: "LunarLander-v3", maxEpisodeSteps: 1000, rewardThreshold: 200 });
    expect(env.actionSpace).toBeInstanceOf(Discrete);
    expect((env.actionSpace as Discrete).n).toBe(4);
    const obs = env.observationSpace as Box;
    expect(Array.from(obs.high)).toEqual([2.5, 2.5, 10, 10, Math.fround(2 * Math.PI), 10, 1, 1]);
    const cont = make<Float32Array, Action>("LunarLanderContinuous-v3");
    expect(cont.spec).toMatchObject({ maxEpisodeSteps: 1000, rewardThreshold: 200 });
    expect((cont.actionSpace as Box).toString()).toBe("Box(-1, 1, (2,), float32)");
    // `continuous: true` on the discrete id is the same env.
    expect(make("LunarLander-v3", { continuous: true }).actionSpace).toBeInstanceOf(Box);
  });

  it("rejects bad options with a message naming the option", () => {
    expect(() => make("LunarLander-v3", { gravity: -12 })).toThrow(/gravity=-12 is outside \(-12, 0\)/);
    expect(() => make("LunarLander-v3", { gravity: 0 })).toThrow(ConfigError);
    expect(() => make("LunarLander-v3", { enable_wind: true })).toThrow(/did you mean enableWind/);
    expect(() => make("LunarLander-v3", { continuous: "yes" })).toThrow(/continuous="yes" is not a boolean/);
    expect(() => make("LunarLander-v3", { windPower: Number.NaN })).toThrow(/windPower=NaN is not a finite number/);
    const env = make("LunarLander-v3");
    expect(() => env.reset({ options: { low: 0 } })).toThrow(EnvError);
    expect(() => new LunarLanderEnv().step(0)).toThrow(/before reset/);
  });

  it("passes checkEnv bare and through make(), discrete, continuous and with wind", () => {
    for (const [id, options] of [["LunarLander-v3", {}], ["LunarLanderContinuous-v3", {}], ["LunarLander-v3", { enableWind: true }]] as const) {
      const made = checkEnv(make(id, options));
      expect(made.errors, id).toEqual([]);
      expect(made.ok).toBe(true);
      const bare = checkEnv(new LunarLanderEnv({ ...options, continuous: id.includes("Continuous") }));
      expect(bare.errors, `${id} bare`).toEqual([]);
    }
  });
});

describe("LunarLander-v3 dynamics, reward and termination", () => {
  it("the same seed gives the same episode; another seed another terrain and push", () => {
    const run = (seed: number) => {
      const env = make<Float32Array, Action>("LunarLander-v3");
      const [first] = env.reset({ seed });
      return play(env, first, (_, t) => [0, 2, 1, 2, 3][t % 5], 120);
    };
    const a = run(5), b = run(5), c = run(6);
    expect(a.obs.map((o) => Array.from(o))).toEqual(b.obs.map((o) => Array.from(o)));
    expect(a.rewards).toEqual(b.rewards);
    expect(Array.from(c.obs[0])).not.toEqual(Array.from(a.obs[0]));
    // The lander starts at the top centre: x ≈ 0, y ≈ 1.4 (above the pad), no contact.
    expect(Math.abs(a.obs[0][0])).toBeLessThan(0.05);
    expect(a.obs[0][1]).toBeGreaterThan(1.3);
    expect(Array.from(a.obs[0].subarray(6))).toEqual([0, 0]);
  });

  it("shaping by hand on a crafted state: -100·|pos| - 100·|vel| - 100·|angle| + 10 per leg", () => {
    // |(0.3, 0.4)| = 0.5, |(0.6, 0.8)| = 1, |angle| = 0.2, one leg down: -50 - 100 - 20 + 10.
    expect(landerShaping([0.3, 0.4, 0.6, 0.8, -0.2, 1.7, 1, 0])).toBeCloseTo(-160, 12);
    expect(landerShaping([0, 0, 0, 0, 0, 0, 1, 1])).toBe(20);
  });

  it("each step pays the change of shaping minus 0.3 per main-engine and 0.03 per side-engine step", () => {
    const env = make<Float32Array, Action>("LunarLander-v3");
    const [first] = env.reset({ seed: 11 });
    const actions = [0, 2, 1, 3, 2, 0, 2, 2, 1];
    const ep = play(env, first, (_, t) => actions[t], actions.length);
    const fuel = [0, 0.3, 0.03, 0.03, 0.3, 0, 0.3, 0.3, 0.03];
    for (let t = 0; t < actions.length; t++) {
      // The observations are float32 copies of the float64 state, hence the tolerance.
      const expected = landerShaping(ep.obs[t + 1]) - landerShaping(ep.obs[t]) - fuel[t];
      expect(ep.rewards[t]).toBeCloseTo(expected, 3);
    }
  });

  it("continuous throttles: main off at ≤ 0 then 50%..100%; side engines dead between -0.5 and 0.5", () => {
    const t = (main: number, lateral: number) => landerThrottles([main, lateral], true);
    expect(t(0, 0)).toEqual({ mPower: 0, sPower: 0, direction: 0 });
    expect(t(-0.7, 0.5)).toEqual({ mPower: 0, sPower: 0, direction: 0 });
    expect(t(0, -0.5)).toEqual({ mPower: 0, sPower: 0, direction: 0 });
    expect(t(0.2, 0.49)).toEqual({ mPower: 0.6, sPower: 0, direction: 0 });
    expect(t(1, 0.75)).toEqual({ mPower: 1, sPower: 0.75, direction: 1 });
    expect(t(1e-6, -0.51).direction).toBe(-1);
    expect(t(1e-6, -0.51).sPower).toBeCloseTo(0.51, 12);
    expect(t(1e-6, 0).mPower).toBeCloseTo(0.5, 5);
    // Out-of-range actions are clipped to [-1, 1] first.
    expect(t(5, -3)).toEqual({ mPower: 1, sPower: 1, direction: -1 });
    expect(landerThrottles(2, false)).toEqual({ mPower: 1, sPower: 0, direction: 0 });
    expect(landerThrottles(1, false)).toEqual({ mPower: 0, sPower: 1, direction: -1 });
    expect(landerThrottles(3, false)).toEqual({ mPower: 0, sPower: 1, direction: 1 });
  });

  it("inside the dead zone the continuous lander flies exactly as with engines off; just outside it does not", () => {
    const run = (action: [number, number]) => {
      const env = make<Float32Array, Action>("LunarLanderContinuous-v3");
      const [first] = env.reset({ seed: 3 });
      return play(env, first, () => Float32Array.from(action), 30);
    };
    const off = run([-1, 0]);
    for (const a of [[0, 0.5], [-0.3, -0.5], [-1, 0.2]] as [number, number][]) {
      const ep = run(a);
      expect(ep.obs.map((o) => Array.from(o)), String(a)).toEqual(off.obs.map((o) => Array.from(o)));
      expect(ep.rewards).toEqual(off.rewards);
    }
    const side = run([-1, 0.55]);
    expect(Array.from(side.obs[30])).not.toEqual(Array.from(off.obs[30]));
    // A side engine at 55% costs 0.03·0.55 per step, beyond the shaping change.
    expect(side.rewards[0] - (landerShaping(side.obs[1]) - landerShaping(side.obs[0]))).toBeCloseTo(-0.0165, 3);
    // The main engine at its 50% floor: 0.3·0.5 per step.
    const main = run([1e-4, 0]);
    expect(main.rewards[0] - (landerShaping(main.obs[1]) - landerShaping(main.obs[0]))).toBeCloseTo(-0.15, 3);
  });

  it("with the engines off the lander crashes: terminated with -100", () => {
    for (const seed of [0, 1, 2]) {
      const env = make<Float32Array, Action>("LunarLander-v3");
      const [first] = env.reset({ seed });
      const ep = play(env, first, () => 0);
      expect(ep.terminated, `seed ${seed}`).toBe(true);
      expect(ep.truncated).toBe(false);
      expect(ep.rewards.at(-1)).toBe(-100);
      expect(ep.rewards.length).toBeLessThan(200);
    }
  });

  it("flying off the side terminates with -100 (|x| ≥ 1)", () => {
    const env = make<Float32Array, Action>("LunarLanderContinuous-v3");
    const [first] = env.reset({ seed: 4 });
    // Keep the lander up and level while pushing it sideways: tilt it, then hover.
    const ep = play(env, first, (s) => Float32Array.from([s[1] < 1.2 ? 1 : 0, s[4] > -0.5 ? 1 : -1]));
    expect(ep.terminated).toBe(true);
    expect(ep.rewards.at(-1)).toBe(-100);
    expect(Math.abs(ep.obs.at(-1)![0])).toBeGreaterThanOrEqual(1);
  });

  it("Gymnasium's heuristic pilot lands: both legs down, the lander falls asleep, +100, return above 200", () => {
    for (const id of ["LunarLander-v3", "LunarLanderContinuous-v3"]) {
      for (const seed of [0, 1, 2]) {
        const env = make<Float32Array, Action>(id);
        const [first] = env.reset({ seed });
        const ep = play(env, first, (s) => heuristic(s, id.includes("Continuous")));
        const last = ep.obs.at(-1)!;
        expect(ep.terminated, `${id} seed ${seed}`).toBe(true);
        expect(ep.rewards.at(-1)).toBe(100);
        expect([last[6], last[7]]).toEqual([1, 1]);
        expect(Math.abs(last[0])).toBeLessThan(0.2); // between the flags
        expect(sum(ep.rewards)).toBeGreaterThan(200);
      }
    }
  });

  it("wind changes the flight, and only when enabled", () => {
    const run = (enableWind: boolean) => {
      const env = make<Float32Array, Action>("LunarLander-v3", { enableWind });
      const [first] = env.reset({ seed: 9 });
      return play(env, first, () => 0, 40);
    };
    const calm = run(false), windy = run(true), windy2 = run(true);
    expect(Array.from(windy.obs[40])).toEqual(Array.from(windy2.obs[40]));
    expect(Array.from(windy.obs[40])).not.toEqual(Array.from(calm.obs[40]));
  });

  it("terrain: the pad's five heights are flat at H/4, then smoothed with Python's wrap-around at i = 0", () => {
    const heights = Array.from({ length: 12 }, (_, i) => i * 0.5);
    const y = smoothTerrain(heights);
    expect(y).toHaveLength(11);
    const pad = 400 / 30 / 4;
    expect(y[4]).toBeCloseTo(0.99 * pad, 12);
    expect(y[5]).toBeCloseTo(0.99 * pad, 12);
    expect(y[0]).toBeCloseTo(0.33 * (heights[11] + heights[0] + heights[1]), 12);
  });
});

describe("LunarLander-v3 snapshots", () => {
  function randomPilot(seed: number, continuous: boolean): (s: Float32Array, t: number) => Action {
    const rng = new Rng(seed);
    return () => (continuous ? Float32Array.from([rng.uniform(-1, 1), rng.uniform(-1, 1)]) : rng.integer(0, 4));
  }

  for (const [id, options] of [["LunarLander-v3", {}], ["LunarLanderContinuous-v3", {}], ["LunarLander-v3", { enableWind: true }]] as const) {
    it(`${id}${"enableWind" in options ? " with wind" : ""}: restore then replay the same actions gives identical observations and rewards`, () => {
      const continuous = id.includes("Continuous");
      const a = make<Float32Array, Action>(id, options);
      const [first] = a.reset({ seed: 21 });
      const warmup = play(a, first, randomPilot(1, continuous), 25);
      expect(warmup.terminated).toBe(false);
      const snapshot = (a.unwrapped as LunarLanderEnv).getState();
      const from = warmup.obs.at(-1)!;
      const original = play(a, from, randomPilot(2, continuous), 60);

      // The same env, rewound.
      (a.unwrapped as LunarLanderEnv).setState(snapshot);
      const again = play(a, from, randomPilot(2, continuous), 60);
      // A fresh env of the same options.
      const b = make<Float32Array, Action>(id, options);
      b.reset({ seed: 999 }); // a different episode, replaced by the snapshot
      (b.unwrapped as LunarLanderEnv).setState([...snapshot]);
      const other = play(b, from, randomPilot(2, continuous), 60);
      for (const replay of [again, other]) {
        expect(replay.obs.map((o) => Array.from(o))).toEqual(original.obs.map((o) => Array.from(o)));
        expect(replay.rewards).toEqual(original.rewards);
        expect(replay.terminated).toBe(original.terminated);
      }
      expect((b.unwrapped as LunarLanderEnv).getState()).toEqual((a.unwrapped as LunarLanderEnv).getState());
    });
  }

  it("a snapshot taken after landing restores the landed lander (legs down, reward baseline kept)", () => {
    const a = new LunarLanderEnv();
    const [first] = a.reset({ seed: 2 });
    // Fly the heuristic until both legs touch, then snapshot.
    const ep = play(a, first, (s) => heuristic(s, false), 1000);
    expect(ep.terminated).toBe(true);
    const b = new LunarLanderEnv();
    b.setState(a.getState());
    const [obs, reward] = b.step(0);
    const [obsA, rewardA] = a.step(0);
    expect(Array.from(obs)).toEqual(Array.from(obsA));
    expect(reward).toBe(rewardA);
  });

  it("snapshots grow by 4 numbers a step and are refused for other options or when malformed", () => {
    const env = new LunarLanderEnv();
    env.reset({ seed: 0 });
    const s1 = env.getState();
    env.step(2);
    expect(env.getState().length - s1.length).toBe(4);
    expect(() => new LunarLanderEnv({ gravity: -9 }).setState(s1)).toThrow(/taken with gravity=-10 but this env has gravity=-9/);
    expect(() => new LunarLanderEnv({ enableWind: true }).setState(s1)).toThrow(/enableWind=0 but this env has enableWind=1/);
    expect(() => env.setState(s1.slice(0, -1))).toThrow(ConfigError);
    expect(() => env.setState([1, 2, 3])).toThrow(/not a LunarLander snapshot/);
    const nan = [...s1];
    nan[30] = Number.NaN;
    expect(() => env.setState(nan)).toThrow(/non-finite value NaN at index 30/);
    expect(() => new LunarLanderEnv().getState()).toThrow(/before reset\(\) or setState\(\)/);
  });
});

describe("LunarLander-v3 picture", () => {
  it("rgb_array: 600×400, black sky at the top, white ground at the bottom, yellow flags, the violet lander", () => {
    const env = make<Float32Array, Action>("LunarLander-v3", { renderMode: "rgb_array" });
    env.reset({ seed: 2 });
    let [obs] = env.step(2);
    for (let t = 1; t < 50; t++) [obs] = env.step(t % 10 ? 0 : 2);
    expect(obs[1]).toBeLessThan(1.25); // fallen into view (it starts at the top edge)
    const frame = env.render!();
    expect([frame.width, frame.height, frame.data.length]).toEqual([600, 400, 600 * 400 * 3]);
    expect(pixelAt(frame, 300, 0)).toEqual([0, 0, 0]);
    expect(pixelAt(frame, 300, 399)).toEqual([255, 255, 255]);
    const count = (rgb: [number, number, number]) => {
      let n = 0;
      for (let i = 0; i < frame.data.length; i += 3) if (frame.data[i] === rgb[0] && frame.data[i + 1] === rgb[1] && frame.data[i + 2] === rgb[2]) n++;
      return n;
    };
    expect(count([204, 204, 0])).toBeGreaterThan(200); // two pennants
    expect(count([128, 102, 230])).toBeGreaterThan(500); // hull and legs
    // The pad's flag poles stand at x = 8 and 12 world units (240 and 360 px), from 100 px above the bottom.
    expect(pixelAt(frame, 240, 400 - 120)).toEqual([255, 255, 255]);
  });

  it("rendering leaves the episode unchanged (exhaust particles live in a world of their own)", () => {
    const run = (renderMode?: "rgb_array") => {
      const env = make<Float32Array, Action>("LunarLander-v3", renderMode ? { renderMode } : {});
      const [first] = env.reset({ seed: 8 });
      return play(env, first, (s, t) => {
        if (renderMode) env.render!();
        return heuristic(s, false) || t % 3;
      }, 60);
    };
    expect(run("rgb_array").obs.map((o) => Array.from(o))).toEqual(run().obs.map((o) => Array.from(o)));
  });
});

describe("loading planck on demand", () => {
  it("the core imports planck only dynamically, so importing refinery-rl does not load it", async () => {
    const { build } = await import("esbuild");
    const result = await build({
      entryPoints: [fileURLToPath(new URL("../../../src/index.ts", import.meta.url))],
      bundle: true,
      platform: "neutral",
      format: "esm",
      packages: "external",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const planckImports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((imp) => imp.path === "planck"));
    expect(planckImports.length).toBeGreaterThan(0);
    expect(planckImports.map((imp) => imp.kind)).toEqual(planckImports.map(() => "dynamic-import"));
  });

  it("without Node's getBuiltinModule (a browser) making an episode asks for loadBox2d(), which then makes it work", async () => {
    vi.resetModules();
    const proc = process as { getBuiltinModule?: unknown };
    const saved = proc.getBuiltinModule;
    proc.getBuiltinModule = undefined;
    try {
      const fresh = await import("../../../src/envs/box2d/lunar_lander.js");
      const loader = await import("../../../src/envs/box2d/planck.js");
      const env = new fresh.LunarLanderEnv();
      expect(() => env.reset({ seed: 0 })).toThrow(/run `await loadBox2d\(\)`/);
      await loader.loadBox2d();
      expect(env.reset({ seed: 0 })[0]).toHaveLength(8);
    } finally {
      proc.getBuiltinModule = saved;
      vi.resetModules();
    }
  });
});
