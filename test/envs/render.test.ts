import { describe, expect, it } from "vitest";
import { Box, Discrete, type Space } from "../../src/core/spaces.js";
import { checkEnv } from "../../src/envs/check.js";
import { BaseEnv, type Env, type EnvMetadata, type Info, type RgbFrame, type StepResult } from "../../src/envs/env.js";
import { pixelAt } from "../../src/envs/render/frame.js";
import { Surface } from "../../src/envs/render/surface.js";
import { make } from "../../src/envs/registry.js";

/**
 * Pixel positions below are worked out by hand from Gymnasium's drawing code: pygame draws
 * with y up from the bottom (surface row y), then flips, so a point at surface height y
 * ends up in image row (H − 1 − y).
 */

type Rgb = [number, number, number];
const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const CART_POLE: Rgb = [202, 152, 101];
const CART_AXLE: Rgb = [129, 132, 203];
const ACROBOT_LINK: Rgb = [0, 204, 204];
const ACROBOT_JOINT: Rgb = [204, 204, 0];
const FLAG: Rgb = [204, 204, 0];
const WHEEL: Rgb = [128, 128, 128];
const PENDULUM_ROD: Rgb = [204, 77, 77];

/** The env made with rendering on, reset, then put in `state`. */
function envAt(id: string, state: number[]): Env<unknown, unknown> {
  const env = make(id, { renderMode: "rgb_array" });
  env.reset({ seed: 0 });
  (env.unwrapped as unknown as { setState(s: number[]): void }).setState(state);
  return env;
}

function frameAt(id: string, state: number[]): RgbFrame {
  return envAt(id, state).render!();
}

/** Image pixel at column x, surface height y (pygame's coordinates before the flip). */
function atSurface(frame: RgbFrame, x: number, y: number): Rgb {
  return pixelAt(frame, x, frame.height - 1 - y);
}

function differingPixels(a: RgbFrame, b: RgbFrame): number {
  let n = 0;
  for (let i = 0; i < a.data.length; i += 3) if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) n++;
  return n;
}

describe("render_mode rgb_array: sizes, dtype, background", () => {
  it.each([
    ["CartPole-v1", 600, 400, 50],
    ["Acrobot-v1", 500, 500, 15],
    ["MountainCar-v0", 600, 400, 30],
    ["MountainCarContinuous-v0", 600, 400, 30],
    ["Pendulum-v1", 500, 500, 30],
  ])("%s renders a %i×%i RGB uint8 frame on white, at %i fps", (id, width, height, fps) => {
    const env = make(id, { renderMode: "rgb_array" });
    expect(env.renderMode).toBe("rgb_array");
    expect(env.metadata).toEqual({ renderModes: ["rgb_array"], renderFps: fps });
    env.reset({ seed: 1 });
    const frame = env.render!();
    expect(frame.width).toBe(width);
    expect(frame.height).toBe(height);
    expect(frame.data).toBeInstanceOf(Uint8Array);
    expect(frame.data.length).toBe(width * height * 3);
    expect(pixelAt(frame, 0, 0)).toEqual(WHITE);
    expect(pixelAt(frame, width - 1, height - 1)).toEqual(WHITE);
    // Each picture has exactly what it draws: a rendered frame is deterministic in the state.
    expect(differingPixels(frame, env.render!())).toBe(0);
  });
});

describe("CartPole-v1 picture", () => {
  // scale = 600 / 4.8 = 125 px per metre; cart centre x = 300 + 125·x; cart top at 100; axle at 107.5.
  it("cart, pole, axle and track at the centre, pole upright", () => {
    const f = frameAt("CartPole-v1", [0, 0, 0, 0]);
    expect(atSurface(f, 290, 90)).toEqual(BLACK); // cart body: x in [275, 325], y in [85, 115]
    expect(atSurface(f, 320, 112)).toEqual(BLACK);
    expect(atSurface(f, 300, 107)).toEqual(CART_AXLE); // axle disc, radius 5
    expect(atSurface(f, 300, 180)).toEqual(CART_POLE); // pole: 10 px wide, from 102.5 to 227.5
    expect(atSurface(f, 300, 225)).toEqual(CART_POLE); // near the tip
    expect(atSurface(f, 300, 235)).toEqual(WHITE); // above the tip
    expect(atSurface(f, 50, 100)).toEqual(BLACK); // track line at the cart's top
    expect(atSurface(f, 50, 101)).toEqual(WHITE);
    expect(atSurface(f, 330, 90)).toEqual(WHITE); // right of the cart
  });

  it("moves the cart with x and tilts the pole with theta", () => {
    const moved = frameAt("CartPole-v1", [1, 0, 0, 0]); // cart centre at 425
    expect(atSurface(moved, 425, 90)).toEqual(BLACK);
    expect(atSurface(moved, 300, 90)).toEqual(WHITE);
    const tilted = frameAt("CartPole-v1", [0, 0, 0.2, 0]);
    // 100 px along the pole from the axle: (300 + 100·sin 0.2, 107.5 + 100·cos 0.2) = (319.9, 205.5)
    expect(atSurface(tilted, 319, 205)).toEqual(CART_POLE);
    expect(atSurface(tilted, 300, 225)).toEqual(WHITE); // the upright pole's tip is gone
    expect(differingPixels(tilted, frameAt("CartPole-v1", [0, 0, 0, 0]))).toBeGreaterThan(500);
  });
});

describe("Acrobot-v1 picture", () => {
  // scale = 500 / 4.4; pivot at (250, 250); links 113.6 px long, 22.7 px wide; joints radius 11.
  const scale = 500 / 4.4;
  it("both links hanging down, with joints and the target line", () => {
    const f = frameAt("Acrobot-v1", [0, 0, 0, 0]);
    expect(atSurface(f, 250, 250)).toEqual(ACROBOT_JOINT); // pivot
    expect(atSurface(f, 250, Math.round(250 - scale / 2))).toEqual(ACROBOT_LINK); // middle of link 1
    expect(atSurface(f, 250, Math.trunc(250 - scale))).toEqual(ACROBOT_JOINT); // elbow
    expect(atSurface(f, 250, Math.round(250 - 1.5 * scale))).toEqual(ACROBOT_LINK); // middle of link 2
    expect(atSurface(f, 250, Math.round(250 - 2 * scale) - 3)).toEqual(WHITE); // past the free end
    expect(atSurface(f, 20, Math.trunc(250 + scale))).toEqual(BLACK); // target line, one link above the pivot
    expect(atSurface(f, 20, Math.trunc(250 + scale) + 1)).toEqual(WHITE);
  });

  it("swings the first link with theta1", () => {
    // theta1 = π/2: link 1 points along +x of the world, which Gymnasium draws to the right.
    const f = frameAt("Acrobot-v1", [Math.PI / 2, 0, 0, 0]);
    expect(atSurface(f, Math.round(250 + scale / 2), 250)).toEqual(ACROBOT_LINK);
    expect(atSurface(f, 250, Math.round(250 - scale / 2))).toEqual(WHITE);
  });
});

describe("MountainCar pictures", () => {
  // scale = 600 / 1.8; height(x) = 0.45·sin(3x) + 0.55; car 10 px above the curve, tilted by cos(3·pos) rad.
  const scale = 600 / 1.8;
  const h = (x: number) => Math.sin(3 * x) * 0.45 + 0.55;

  it("MountainCar-v0: flag at 0.5, car at the bottom of the valley", () => {
    const f = frameAt("MountainCar-v0", [-0.5, 0]);
    const flagx = Math.trunc(1.7 * scale), flagy1 = Math.trunc(h(0.5) * scale), flagy2 = flagy1 + 50;
    expect([flagx, flagy1]).toEqual([566, 332]);
    expect(atSurface(f, flagx, flagy1 + 25)).toEqual(BLACK); // flag pole
    expect(atSurface(f, flagx + 6, flagy2 - 5)).toEqual(FLAG); // pennant (566, 382)-(566, 372)-(591, 377)
    expect(atSurface(f, flagx + 6, flagy2 + 5)).toEqual(WHITE);
    const cx = 0.7 * scale, cy = 10 + h(-0.5) * scale, angle = Math.cos(-1.5);
    // A point of the body 15 px above the bottom edge, rotated with the car.
    expect(atSurface(f, Math.trunc(cx - 15 * Math.sin(angle)), Math.trunc(cy + 15 * Math.cos(angle)))).toEqual(BLACK);
    // Wheel centre: (10, 0) rotated, radius 8.
    expect(atSurface(f, Math.trunc(cx + 10 * Math.cos(angle)), Math.trunc(cy + 10 * Math.sin(angle)))).toEqual(WHEEL);
    const moved = frameAt("MountainCar-v0", [0.2, 0]);
    expect(atSurface(moved, Math.trunc(cx + 10 * Math.cos(angle)), Math.trunc(cy + 10 * Math.sin(angle)))).toEqual(WHITE);
    expect(differingPixels(f, moved)).toBeGreaterThan(300);
  });

  it("MountainCarContinuous-v0: the flag stands at 0.45 instead", () => {
    const f = frameAt("MountainCarContinuous-v0", [-0.5, 0]);
    const flagy2 = Math.trunc(h(0.45) * scale) + 50;
    expect(atSurface(f, 556, flagy2 - 5)).toEqual(FLAG);
    expect(atSurface(f, 572, Math.trunc(h(0.5) * scale) + 45)).toEqual(WHITE); // where MountainCar-v0's pennant is
  });
});

describe("Pendulum-v1 picture", () => {
  const scale = 500 / 4.4;
  it("rod up at theta 0, left at theta π/2, axle at the centre", () => {
    const up = frameAt("Pendulum-v1", [0, 0]);
    expect(atSurface(up, 250, 250)).toEqual(BLACK); // axle, radius 5
    expect(atSurface(up, 250, Math.round(250 + scale / 2))).toEqual(PENDULUM_ROD);
    expect(atSurface(up, 250, Math.trunc(250 + scale))).toEqual(PENDULUM_ROD); // round end
    expect(atSurface(up, 250, Math.trunc(250 + scale) + 14)).toEqual(WHITE);
    const left = frameAt("Pendulum-v1", [Math.PI / 2, 0]);
    expect(atSurface(left, Math.round(250 - scale / 2), 250)).toEqual(PENDULUM_ROD);
    expect(atSurface(left, 250, Math.round(250 + scale / 2))).toEqual(WHITE);
  });

  it("shows the torque arrow only after a step, mirrored with the torque's sign", () => {
    const env = envAt("Pendulum-v1", [Math.PI, 0]); // rod down, out of the arrow's way
    const before = env.render!();
    const dark = (f: RgbFrame) => {
      let n = 0;
      for (let y = 200; y < 300; y++) for (let x = 200; x < 300; x++) if (Math.hypot(x - 250, y - 249) > 30 && pixelAt(f, x, y)[0] < 60) n++;
      return n;
    };
    expect(dark(before)).toBe(0);
    env.step(new Float32Array([-2]));
    const negative = env.render!();
    expect(dark(negative)).toBeGreaterThan(300);
    env.reset({ seed: 0 });
    (env.unwrapped as unknown as { setState(s: number[]): void }).setState([Math.PI, 0]);
    expect(dark(env.render!())).toBe(0); // reset clears the last torque
    env.step(new Float32Array([2]));
    const positive = env.render!();
    expect(dark(positive)).toBeGreaterThan(300);
    expect(differingPixels(negative, positive)).toBeGreaterThan(100);
  });
});

describe("render API", () => {
  it("without renderMode, render() fails naming the fix", () => {
    const env = make("CartPole-v1");
    env.reset();
    expect(env.renderMode).toBeNull();
    expect(() => env.render!()).toThrow(/renderMode.*make\("CartPole-v1", \{ renderMode: "rgb_array" \}\)/);
  });

  it("an unknown render mode is refused at construction", () => {
    expect(() => make("Pendulum-v1", { renderMode: "human" as "rgb_array" })).toThrow(/renderMode "human" is not supported.*"rgb_array"/);
  });

  it("render() before reset is refused, as Gymnasium's OrderEnforcing does", () => {
    const env = make("Acrobot-v1", { renderMode: "rgb_array" });
    expect(() => env.render!()).toThrow(/render\(\) was called before reset\(\)/);
  });

  it("wrappers pass render() and renderMode through", () => {
    const env = make("MountainCar-v0", { renderMode: "rgb_array" });
    expect(env.unwrapped).not.toBe(env);
    env.reset({ seed: 3 });
    expect(env.renderMode).toBe("rgb_array");
    expect(differingPixels(env.render!(), env.unwrapped.render!())).toBe(0);
  });

  it("checkEnv renders an env made with a render mode and accepts the built-ins", () => {
    for (const id of ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]) {
      const report = checkEnv(make(id, { renderMode: "rgb_array" }));
      expect(report.errors, id).toEqual([]);
    }
  });

  it("checkEnv reports a frame of the wrong size and a mode missing from the metadata", () => {
    class BadFrame extends BaseEnv<Float32Array, number> {
      readonly observationSpace = new Box(-1, 1, [1], "float32") as Box & Space<Float32Array>;
      readonly actionSpace = new Discrete(2);
      override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 30 };
      constructor() {
        super();
        this.initRenderMode({ renderMode: "rgb_array" }, "BadFrame");
      }
      reset(): [Float32Array, Info] {
        return [new Float32Array(1), {}];
      }
      step(): StepResult<Float32Array> {
        return [new Float32Array(1), 0, false, false, {}];
      }
      protected override renderFrame(): RgbFrame {
        return { width: 4, height: 4, data: new Uint8Array(10) };
      }
    }
    const report = checkEnv(new BadFrame());
    expect(report.errors.join("\n")).toMatch(/4×4 frame with 10 bytes instead of 48/);
  });
});

describe("rasteriser (SDL_gfx rules)", () => {
  it("a filled rectangle covers its integer corners inclusively; vertices are truncated", () => {
    const s = new Surface(12, 10);
    s.fill(WHITE);
    s.filledPolygon([[2.9, 3.2], [2.9, 6.7], [8.5, 6.7], [8.5, 3.2]], BLACK);
    for (let y = 0; y < 10; y++) {
      for (let x = 0; x < 12; x++) {
        const inside = x >= 2 && x <= 8 && y >= 3 && y <= 6;
        expect(pixelAt(s.toFrame(), x, y), `(${x}, ${y})`).toEqual(inside ? BLACK : WHITE);
      }
    }
  });

  it("a filled circle of radius r reaches exactly r pixels along the axes", () => {
    const s = new Surface(30, 30);
    s.fill(WHITE);
    s.filledCircle(15, 15, 5, BLACK);
    const f = s.toFrame();
    for (const [x, y] of [[20, 15], [10, 15], [15, 20], [15, 10], [15, 15]]) expect(pixelAt(f, x, y)).toEqual(BLACK);
    for (const [x, y] of [[21, 15], [9, 15], [15, 21], [15, 9], [20, 20]]) expect(pixelAt(f, x, y)).toEqual(WHITE);
  });

  it("a Wu line splits each column's ink between two pixels", () => {
    const s = new Surface(12, 6);
    s.fill(WHITE);
    s.aaLineInt(0, 0, 10, 3, BLACK, true);
    const f = s.toFrame();
    for (let x = 1; x < 10; x++) {
      let ink = 0;
      for (let y = 0; y < 6; y++) ink += 255 - pixelAt(f, x, y)[0];
      expect(ink, `column ${x}`).toBeGreaterThanOrEqual(250);
      expect(ink, `column ${x}`).toBeLessThanOrEqual(256);
    }
    expect(pixelAt(f, 0, 0)).toEqual(BLACK);
    expect(pixelAt(f, 10, 3)).toEqual(BLACK);
  });

  it("flipVertical reverses the rows", () => {
    const s = new Surface(2, 3);
    s.blend(0, 0, [1, 2, 3]);
    s.flipVertical();
    expect(pixelAt(s.toFrame(), 0, 2)).toEqual([1, 2, 3]);
    expect(pixelAt(s.toFrame(), 0, 0)).toEqual([0, 0, 0]);
  });
});
