import { describe, expect, it } from "vitest";
import { decodeMission, encodeMission, MISSION_LENGTH } from "../../../src/envs/grid/mission.js";
import { ball, key } from "../../../src/envs/grid/objects.js";
import { ImgObsWrapper, OneHotPartialObsWrapper } from "../../../src/envs/grid/wrappers.js";
import { make } from "../../../src/envs/registry.js";
import type { GridObs } from "../../../src/envs/grid/minigrid_env.js";
import type { GoToLocalEnv, PickupLocEnv } from "../../../src/envs/grid/babyai.js";
import { A, dictEnv } from "./helpers.js";

const PHRASE = /^(go to|pick up) (the|a) ((red|green|blue|purple|yellow|grey) )?(key|ball|box)( (in front of you|behind you|on your left|on your right))?$/;

describe("BabyAI missions", () => {
  it("GoToLocal and PickupLoc missions follow BabyAI's grammar; 'the' iff exactly one object matches", () => {
    for (const id of ["BabyAI-GoToLocal-v0", "BabyAI-PickupLoc-v0"]) {
      const { env, base } = dictEnv(id);
      env.reset({ seed: 0 });
      let sawLoc = false, sawA = false;
      for (let i = 0; i < 60; i++) {
        const [obs, info] = env.reset();
        const b = base as unknown as GoToLocalEnv;
        expect(info.mission).toMatch(PHRASE);
        expect(decodeMission(obs.mission)).toBe(info.mission);
        expect(String(info.mission).split(" ")[2]).toBe(b.targets.length === 1 ? "the" : "a");
        expect(base.grid.cells.filter((c) => c !== null && c.type !== "wall").length).toBe(8);
        if (/you|your/.test(info.mission as string)) sawLoc = true;
        if (b.targets.length > 1) sawA = true;
        if (id.includes("GoTo")) expect(info.mission).not.toMatch(/you/);
      }
      if (id.includes("Pickup")) expect(sawLoc).toBe(true);
      expect(sawA || id.includes("GoTo")).toBe(true);
      expect(base.maxSteps).toBe(64);
    }
  });

  it("GoToLocal succeeds as soon as a matching object is in front", () => {
    const { env, base } = dictEnv("BabyAI-GoToLocal-v0");
    env.reset({ seed: 5 });
    const b = base as unknown as GoToLocalEnv;
    // Clear the room, put a matching object two cells ahead of a known pose.
    for (let x = 1; x < 7; x++) for (let y = 1; y < 7; y++) b.grid.set(x, y, null);
    b.agentX = 1;
    b.agentY = 1;
    b.agentDir = 0;
    b.desc = { type: "ball", color: "red", loc: null };
    b.grid.set(2, 1, key("red")); // right colour, wrong type, in front
    expect(env.step(A.done)[2]).toBe(false);
    const [, r, term] = env.step(A.right); // facing down at an empty cell
    expect([r, term]).toEqual([0, false]);
    b.grid.set(1, 2, ball("red"));
    const [, r2, term2] = env.step(A.done); // the red ball is now in front
    expect(term2).toBe(true);
    expect(r2).toBeCloseTo(1 - 0.9 * 3 / 64, 12);
  });

  it("PickupLoc pays for picking up a matched object only, judged from the start", () => {
    const { env, base } = dictEnv("BabyAI-PickupLoc-v0");
    env.reset({ seed: 1 });
    const b = base as unknown as PickupLocEnv;
    const [tx, ty] = b.targets[0];
    const wrong = b.grid.cells.findIndex((c, i) => c !== null && c.type !== "wall" && !b.targets.some(([x, y]) => y * b.width + x === i));
    const state = b.getState();
    // A non-matching object: picked up, no success.
    const wx = wrong % b.width, wy = Math.floor(wrong / b.width);
    const standNextTo = (x: number, y: number) => {
      for (const [dir, dx, dy] of [[0, -1, 0], [1, 0, -1], [2, 1, 0], [3, 0, 1]] as const) {
        const ax = x + dx, ay = y + dy;
        if (b.grid.get(ax, ay) === null) {
          b.agentX = ax;
          b.agentY = ay;
          b.agentDir = dir;
          return true;
        }
      }
      return false;
    };
    if (wrong >= 0 && standNextTo(wx, wy)) {
      const r = env.step(A.pickup);
      expect(r[2]).toBe(false);
      expect(b.carrying).not.toBeNull();
    }
    b.setState(state);
    expect(standNextTo(tx, ty)).toBe(true);
    const [, reward, term] = b.step(A.pickup);
    expect(term).toBe(true);
    expect(reward).toBeGreaterThan(0.9);
  });
});

describe("mission tokens and MiniGrid wrappers", () => {
  it("encodes missions as padded token ids and refuses unknown words", () => {
    const t = encodeMission("go to the red ball");
    expect(t.length).toBe(MISSION_LENGTH);
    expect(Array.from(t.slice(5))).toEqual(new Array(MISSION_LENGTH - 5).fill(0));
    expect(decodeMission(t)).toBe("go to the red ball");
    expect(() => encodeMission("go to the magenta ball")).toThrow(/not in the grid-world vocabulary/);
  });

  it("ImgObsWrapper and OneHotPartialObsWrapper agree with the Dict image", () => {
    const { env } = dictEnv("MiniGrid-DoorKey-8x8-v0");
    const img = new ImgObsWrapper(make<GridObs, number>("MiniGrid-DoorKey-8x8-v0", { observation: "dict" }));
    const hot = new OneHotPartialObsWrapper(make<GridObs, number>("MiniGrid-DoorKey-8x8-v0", { observation: "dict" }));
    const [d] = env.reset({ seed: 7 });
    const [i] = img.reset({ seed: 7 });
    const [h] = hot.reset({ seed: 7 });
    expect(Array.from(i as Int32Array)).toEqual(Array.from(d.image));
    const bits = h.image as Int8Array;
    expect(String(hot.observationSpace)).toContain("MultiBinary((7, 7, 20))");
    for (let c = 0; c < 49; c++) {
      expect(bits[c * 20 + d.image[c * 3]]).toBe(1);
      expect(bits[c * 20 + 11 + d.image[c * 3 + 1]]).toBe(1);
      expect(bits[c * 20 + 17 + d.image[c * 3 + 2]]).toBe(1);
    }
    expect(hot.observationSpace.contains(h)).toBe(true);
  });

  it("flat-mission observations carry the mission (BabyAI default) and unknown presets are refused", () => {
    const env = make<Float32Array, number>("BabyAI-GoToLocal-v0");
    const [obs] = env.reset({ seed: 0 });
    expect(obs.length).toBe(4 + 980 + MISSION_LENGTH * 42);
    expect(() => make("MiniGrid-Empty-5x5-v0", { observation: "pixels" })).toThrow(/observation "pixels" is not a grid observation preset.*Fix/);
    expect(() => make("MiniGrid-Empty-5x5-v0", { colour: 1 })).toThrow(/colour/);
  });
});
