import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { BipedalWalkerEnv, generateTerrain, TERRAIN_HEIGHT, TERRAIN_STEP } from "../../../src/envs/box2d/bipedal_walker.js";
import { checkEnv } from "../../../src/envs/check.js";
import { pixelAt } from "../../../src/envs/render/frame.js";
import { make } from "../../../src/envs/registry.js";

const zeros = () => new Float32Array(4);

describe("BipedalWalker-v3", () => {
  it("passes checkEnv (normal and hardcore) and is not registered until its dynamics match Gymnasium's", () => {
    for (const hardcore of [false, true]) {
      const report = checkEnv(new BipedalWalkerEnv({ hardcore }));
      expect(report.errors, `hardcore=${hardcore}`).toEqual([]);
    }
    expect(() => new BipedalWalkerEnv({ hardcore: 1 })).toThrow(/hardcore=1 is not a boolean/);
    expect(() => make("BipedalWalker-v3")).toThrow(/unknown env id/);
  });

  it("terrain: a flat start pad at TERRAIN_HEIGHT, grass only in normal mode, obstacles in hardcore", () => {
    const normal = generateTerrain(new Rng(3), false);
    expect(normal.x).toHaveLength(200);
    expect(normal.y.slice(0, 20)).toEqual(Array(20).fill(TERRAIN_HEIGHT));
    expect(normal.obstacles).toEqual([]);
    expect(normal.clouds).toHaveLength(10);
    expect(normal.x[1]).toBeCloseTo(TERRAIN_STEP, 12);
    expect(generateTerrain(new Rng(3), true).obstacles.length).toBeGreaterThan(3);
  });

  it("the same seed gives the same episode; the reward is the progress shaping minus 0.028 per unit of motor action", () => {
    const run = () => {
      const env = new BipedalWalkerEnv();
      const [first] = env.reset({ seed: 4 });
      const rows = [first];
      const rewards: number[] = [];
      for (let t = 0; t < 30; t++) {
        const [obs, r] = env.step(Float32Array.from([0.5, -1, -0.25, 2]));
        rows.push(obs);
        rewards.push(r);
      }
      return { rows: rows.map((o) => Array.from(o)), rewards };
    };
    const a = run(), b = run();
    expect(a.rows).toEqual(b.rows);
    expect(a.rewards).toEqual(b.rewards);
    // reward = Δ(130·x/30 - 5·|hull angle|) - 0.00035·80·(0.5 + 1 + 0.25 + 1) (|2| is clipped to 1).
    const env = new BipedalWalkerEnv();
    env.reset({ seed: 4 });
    const hull = () => (env as unknown as { world: { hull: { getPosition(): { x: number }; getAngle(): number } } }).world.hull;
    const shaping = () => (130 * hull().getPosition().x) / 30 - 5 * Math.abs(hull().getAngle());
    for (let t = 0; t < 5; t++) {
      const before = shaping();
      const [, r] = env.step(Float32Array.from([0.5, -1, -0.25, 2]));
      expect(r).toBeCloseTo(shaping() - before - 0.00035 * 80 * 2.75, 10);
    }
    expect(a.rows[0]).toHaveLength(24);
  });

  it("a walker that folds both knees falls: the hull touches the ground, -100, terminated", () => {
    const env = new BipedalWalkerEnv();
    env.reset({ seed: 0 });
    let terminated = false, reward = 0, steps = 0;
    while (!terminated && steps < 400) {
      [, reward, terminated] = env.step(Float32Array.from([-1, -1, -1, -1]));
      steps++;
    }
    expect(terminated).toBe(true);
    expect(reward).toBe(-100);
    expect(steps).toBeLessThan(200);
  });

  it("restore then replay the same actions gives identical observations and rewards (normal and hardcore)", () => {
    for (const hardcore of [false, true]) {
      const rng = new Rng(7);
      const actions = Array.from({ length: 80 }, () => Float32Array.from({ length: 4 }, () => rng.uniform(-1, 1)));
      const a = new BipedalWalkerEnv({ hardcore });
      a.reset({ seed: 12 });
      for (let t = 0; t < 20; t++) a.step(actions[t]);
      const snapshot = a.getState();
      const original = actions.slice(20).map((act) => a.step(act));
      const b = new BipedalWalkerEnv({ hardcore });
      b.reset({ seed: 99 });
      b.setState(snapshot);
      const replay = actions.slice(20).map((act) => b.step(act));
      expect(replay.map((r) => Array.from(r[0]))).toEqual(original.map((r) => Array.from(r[0])));
      expect(replay.map((r) => r[1])).toEqual(original.map((r) => r[1]));
      expect(replay.map((r) => r[2])).toEqual(original.map((r) => r[2]));
    }
    const normal = new BipedalWalkerEnv();
    normal.reset({ seed: 0 });
    expect(() => new BipedalWalkerEnv({ hardcore: true }).setState(normal.getState())).toThrow(/hardcore=false but this env has hardcore=true/);
    expect(() => normal.setState([1, 0, 3])).toThrow(ConfigError);
  });

  it("rgb_array: 600×400 with the pale sky at the top and green ground at the bottom", () => {
    const env = new BipedalWalkerEnv({ renderMode: "rgb_array" });
    env.reset({ seed: 1 });
    for (let t = 0; t < 5; t++) env.step(zeros());
    const frame = env.render();
    expect([frame.width, frame.height]).toEqual([600, 400]);
    expect(pixelAt(frame, 300, 5)).toEqual([215, 215, 255]);
    expect(pixelAt(frame, 300, 395)).toEqual([102, 153, 76]);
    let hull = 0;
    for (let i = 0; i < frame.data.length; i += 3) if (frame.data[i] === 127 && frame.data[i + 1] === 51 && frame.data[i + 2] === 229) hull++;
    expect(hull).toBeGreaterThan(300);
  });
});
