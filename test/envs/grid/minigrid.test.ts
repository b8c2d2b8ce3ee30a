import { describe, expect, it } from "vitest";
import { checkEnv } from "../../../src/envs/check.js";
import { door, goal, key, ball, box, wall } from "../../../src/envs/grid/objects.js";
import { Grid } from "../../../src/envs/grid/grid.js";
import { make, registry } from "../../../src/envs/registry.js";
import { MiniGridEnv, type GridObs } from "../../../src/envs/grid/minigrid_env.js";
import { A, dictEnv, scripted, viewCell, viewRow } from "./helpers.js";

const GRID_IDS = [...registry.keys()].filter((id) => id.startsWith("MiniGrid-") || id.startsWith("BabyAI-")).sort();

function play(env: { step(a: number): [GridObs, number, boolean, boolean, Record<string, unknown>] }, actions: number[]) {
  let ret = 0, last: [GridObs, number, boolean, boolean, Record<string, unknown>] | null = null;
  for (const a of actions) {
    last = env.step(a);
    ret += last[1];
  }
  return { ret, last: last! };
}

/** A walled 8×8 room with the agent at (1, 1) facing right, in an env that occludes (DoorKey). */
function occluding() {
  const { env, base } = dictEnv("MiniGrid-DoorKey-8x8-v0");
  env.reset({ seed: 0 });
  base.grid = new Grid(8, 8);
  base.grid.wallRect(0, 0, 8, 8);
  base.agentX = 1;
  base.agentY = 1;
  base.agentDir = 0;
  return { env, base };
}

/** An Empty-NxN env whose layout a test then edits by hand. */
function blank(size = 7) {
  const { env, base } = dictEnv(size === 5 ? "MiniGrid-Empty-5x5-v0" : "MiniGrid-Empty-8x8-v0");
  env.reset({ seed: 0 });
  return { env, base };
}

describe("MiniGrid observations", () => {
  it("Empty-5x5 reset view matches MiniGrid cell by cell, and after a right turn", () => {
    const { env } = dictEnv("MiniGrid-Empty-5x5-v0");
    const [obs] = env.reset({ seed: 3 });
    expect(obs.direction).toBe(0);
    for (let vy = 0; vy <= 3; vy++) expect(viewRow(obs.image, vy)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(viewRow(obs.image, 4)).toEqual([2, 2, 2, 1, 1, 8, 2]);
    expect(viewRow(obs.image, 5)).toEqual([2, 2, 2, 1, 1, 1, 2]);
    expect(viewRow(obs.image, 6)).toEqual([2, 2, 2, 1, 1, 1, 2]);
    expect(viewCell(obs.image, 5, 4)).toEqual([8, 1, 0]);
    expect(viewCell(obs.image, 0, 0)).toEqual([2, 5, 0]); // outside the grid reads as a grey wall
    const [next] = env.step(A.right);
    expect(next.direction).toBe(1);
    expect(viewRow(next.image, 4)).toEqual([2, 8, 1, 1, 2, 2, 2]);
    expect(viewRow(next.image, 5)).toEqual([2, 1, 1, 1, 2, 2, 2]);
    expect(viewRow(next.image, 6)).toEqual([2, 1, 1, 1, 2, 2, 2]);
  });

  it("DoorKey-5x5 from scripted draws: layout, occluded view and the optimal 13-step return", () => {
    const { env, base } = dictEnv("MiniGrid-DoorKey-5x5-v0");
    const draws = scripted([2, 0, 0, 1, 2, 3, 1, 1, 2, 1, 3]);
    base.useDraws(draws);
    const [obs] = env.reset();
    expect(draws.left()).toBe(0);
    expect([base.agentX, base.agentY, base.agentDir]).toEqual([1, 2, 3]);
    expect(base.grid.get(2, 1)?.encode()).toEqual([4, 4, 2]); // locked yellow door
    expect(base.grid.get(1, 3)?.encode()).toEqual([5, 4, 0]); // yellow key
    expect(base.grid.get(3, 3)?.type).toBe("goal");
    for (let vy = 0; vy <= 3; vy++) expect(viewRow(obs.image, vy)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(viewRow(obs.image, 4)).toEqual([0, 0, 2, 2, 2, 0, 0]);
    expect(viewRow(obs.image, 5)).toEqual([0, 0, 2, 1, 4, 0, 0]);
    expect(viewRow(obs.image, 6)).toEqual([0, 0, 2, 1, 2, 0, 0]);
    expect(viewCell(obs.image, 4, 5)).toEqual([4, 4, 2]);
    const { ret, last } = play(env, [A.right, A.right, A.pickup, A.left, A.left, A.forward, A.right, A.toggle, A.forward, A.forward, A.right, A.forward, A.forward]);
    expect(last[2]).toBe(true);
    expect(last[3]).toBe(false);
    expect(ret).toBeCloseTo(1 - 0.9 * 13 / 250, 12);
    expect(ret).toBeCloseTo(0.9532, 6);
  });

  it("DoorKey-5x5 has exactly 48 layouts (3 agent cells × 4 directions × 2 door rows × 2 key cells)", () => {
    const { env, base } = dictEnv("MiniGrid-DoorKey-5x5-v0");
    const seen = new Set<string>();
    env.reset({ seed: 0 });
    for (let i = 0; i < 1500; i++) {
      env.reset();
      seen.add(JSON.stringify(base.getState()));
    }
    expect(seen.size).toBe(48);
  });

  it("shows the carried object in the agent's cell and never the agent itself", () => {
    const { env, base } = blank();
    base.grid.set(2, 1, key("red"));
    const [obs] = env.step(A.pickup);
    expect(base.carrying?.type).toBe("key");
    expect(base.grid.get(2, 1)).toBeNull();
    expect(viewCell(obs.image, 3, 6)).toEqual([5, 0, 0]);
    expect(viewCell(obs.image, 3, 5)).toEqual([1, 0, 0]);
    for (let i = 0; i < obs.image.length; i += 3) expect(obs.image[i]).not.toBe(10);
  });

  it("occludes cells behind walls and closed doors, not behind open ones", () => {
    const { env, base } = occluding();
    // A wall across the room at x = 3, with a door at (3, 1) in front of the agent at (1, 1) facing right.
    base.grid.vertWall(3, 1, 6);
    const d = door("blue");
    base.grid.set(3, 1, d);
    env.step(A.left);
    let [obs] = env.step(A.right); // same pose, fresh observation
    expect(viewCell(obs.image, 3, 4)).toEqual([4, 2, 1]); // closed door two cells ahead
    expect(viewCell(obs.image, 3, 3)).toEqual([0, 0, 0]); // hidden behind it
    expect(viewCell(obs.image, 3, 2)).toEqual([0, 0, 0]);
    d.isOpen = true;
    [obs] = env.step(A.done);
    expect(viewCell(obs.image, 3, 4)).toEqual([4, 2, 0]);
    expect(viewCell(obs.image, 3, 3)).toEqual([1, 0, 0]);
  });

  it("Empty envs see through walls (MiniGrid's see_through_walls=True)", () => {
    const { env, base } = blank();
    base.grid.vertWall(3, 1, 6);
    const [obs] = env.step(A.done);
    expect(viewCell(obs.image, 3, 3)).toEqual([1, 0, 0]);
  });

  it("FullyObs view encodes the grid [x][y][c] with the agent cell (10, 0, dir)", () => {
    const env = make<Float32Array, number>("MiniGrid-Empty-5x5-v0", { observation: "full" });
    const [obs] = env.reset({ seed: 0 });
    const bits = 11 + 6 + 4;
    expect(obs.length).toBe(25 * bits);
    const cell = (x: number, y: number) => {
      const o = (x * 5 + y) * bits;
      const pick = (a: number, n: number) => Array.from(obs.subarray(o + a, o + a + n)).indexOf(1);
      return [pick(0, 11), pick(11, 6), pick(17, 4)];
    };
    expect(cell(1, 1)).toEqual([10, 0, 0]);
    expect(cell(3, 3)).toEqual([8, 1, 0]);
    expect(cell(0, 2)).toEqual([2, 5, 0]);
    expect(cell(2, 2)).toEqual([1, 0, 0]);
  });

  it("the default flat observation is the one-hot image (980 values, 49 ones)", () => {
    const flat = make<Float32Array, number>("MiniGrid-Empty-8x8-v0");
    const { env } = dictEnv("MiniGrid-Empty-8x8-v0");
    const [f] = flat.reset({ seed: 5 });
    const [d] = env.reset({ seed: 5 });
    expect(f.length).toBe(980);
    expect(f.reduce((a, b) => a + b, 0)).toBe(49 * 3);
    for (let i = 0; i < 49; i++) {
      expect(f[i * 20 + d.image[i * 3]]).toBe(1);
      expect(f[i * 20 + 11 + d.image[i * 3 + 1]]).toBe(1);
      expect(f[i * 20 + 17 + d.image[i * 3 + 2]]).toBe(1);
    }
  });
});

describe("MiniGrid actions and rewards", () => {
  it("pays 1 − 0.9·t/T: optimal Empty returns 0.955, 0.961328, 0.976270", () => {
    for (const [id, n, expected] of [["MiniGrid-Empty-5x5-v0", 5, 0.955], ["MiniGrid-Empty-8x8-v0", 8, 0.961328], ["MiniGrid-Empty-16x16-v0", 16, 0.97627]] as const) {
      const { env } = dictEnv(id);
      env.reset({ seed: 0 });
      const side = n - 3;
      const actions = [...Array<number>(side).fill(A.forward), A.right, ...Array<number>(side).fill(A.forward)];
      const { ret, last } = play(env, actions);
      expect(last[2]).toBe(true);
      expect(ret).toBeCloseTo(expected, 6);
    }
  });

  it("truncates at max_steps exactly (and not before)", () => {
    const { env } = dictEnv("MiniGrid-Empty-5x5-v0");
    env.reset({ seed: 0 });
    for (let t = 1; t < 100; t++) expect(env.step(A.left)[3]).toBe(false);
    const last = env.step(A.left);
    expect(last[3]).toBe(true);
    expect(last[2]).toBe(false);
    expect(last[1]).toBe(0);
  });

  it("turns: left is dir−1 mod 4, right is dir+1 mod 4; forward is blocked by walls", () => {
    const { env, base } = blank();
    env.step(A.left);
    expect(base.agentDir).toBe(3);
    env.step(A.forward);
    expect([base.agentX, base.agentY]).toEqual([1, 1]); // wall at (1, 0)
    env.step(A.right);
    env.step(A.right);
    expect(base.agentDir).toBe(1);
    env.step(A.forward);
    expect([base.agentX, base.agentY]).toEqual([1, 2]);
  });

  it("toggle: a locked door opens only with a key of its colour; unlocked doors flip", () => {
    const { env, base } = blank();
    const d = door("purple", { isLocked: true });
    base.grid.set(2, 1, d);
    env.step(A.toggle);
    expect([d.isLocked, d.isOpen]).toEqual([true, false]);
    base.carrying = key("red");
    env.step(A.toggle);
    expect([d.isLocked, d.isOpen]).toEqual([true, false]);
    base.carrying = ball("purple");
    env.step(A.toggle);
    expect([d.isLocked, d.isOpen]).toEqual([true, false]);
    base.carrying = key("purple");
    let [obs] = env.step(A.toggle);
    expect([d.isLocked, d.isOpen]).toEqual([false, true]);
    expect(viewCell(obs.image, 3, 5)).toEqual([4, 3, 0]);
    [obs] = env.step(A.toggle);
    expect(viewCell(obs.image, 3, 5)).toEqual([4, 3, 1]);
    env.step(A.forward);
    expect(base.agentX).toBe(1); // closed doors block
    env.step(A.toggle);
    env.step(A.forward);
    expect(base.agentX).toBe(2); // open doors can be stood on
  });

  it("pickup needs empty hands and a key/ball/box; drop needs an empty front cell (not a door)", () => {
    const { env, base } = blank();
    base.grid.set(2, 1, goal());
    env.step(A.pickup);
    expect(base.carrying).toBeNull();
    base.grid.set(2, 1, ball("green"));
    env.step(A.pickup);
    expect(base.carrying?.color).toBe("green");
    base.grid.set(2, 1, key("blue"));
    env.step(A.pickup);
    expect(base.carrying?.type).toBe("ball"); // hands full
    env.step(A.drop);
    expect(base.grid.get(2, 1)?.type).toBe("key"); // occupied: nothing dropped
    expect(base.carrying?.type).toBe("ball");
    base.grid.set(2, 1, door("red", { isOpen: true }));
    env.step(A.drop);
    expect(base.carrying?.type).toBe("ball"); // not onto a door
    base.grid.set(2, 1, null);
    env.step(A.drop);
    expect(base.grid.get(2, 1)?.encode()).toEqual([6, 1, 0]);
    expect(base.carrying).toBeNull();
  });

  it("toggling a box replaces it by its contents", () => {
    const { env, base } = blank();
    base.grid.set(2, 1, box("yellow", key("grey")));
    env.step(A.toggle);
    expect(base.grid.get(2, 1)?.encode()).toEqual([5, 5, 0]);
    base.grid.set(2, 1, box("yellow"));
    env.step(A.toggle);
    expect(base.grid.get(2, 1)).toBeNull();
  });

  it("stepping into lava terminates with reward 0 (LavaGap from scripted draws)", () => {
    const { env, base } = dictEnv("MiniGrid-LavaGapS5-v0");
    base.useDraws(scripted([2, 3]));
    const [obs] = env.reset();
    expect([base.agentX, base.agentY, base.agentDir]).toEqual([1, 1, 0]);
    expect(base.grid.get(2, 1)?.type).toBe("lava");
    expect(base.grid.get(2, 2)?.type).toBe("lava");
    expect(base.grid.get(2, 3)).toBeNull(); // the gap
    expect(viewCell(obs.image, 3, 5)).toEqual([9, 0, 0]);
    const [, reward, terminated] = env.step(A.forward);
    expect([reward, terminated]).toEqual([0, true]);
  });

  it("done is a no-op outside GoToDoor; in GoToDoor it pays only next to the named door", () => {
    const { env, base } = blank();
    const before = base.getState();
    const [, r, term] = env.step(A.done);
    expect([r, term]).toEqual([0, false]);
    expect(base.getState().slice(6)).toEqual(before.slice(6));

    const g = dictEnv("MiniGrid-GoToDoor-5x5-v0");
    // room 5×5; doors at (2,0), (2,4), (0,2), (4,2); colours blue, green, grey, purple; agent (1,2) facing left; target 2 (grey, west door).
    g.base.useDraws(scripted([5, 5, 2, 2, 2, 2, 0, 1, 2, 3, 1, 2, 2, 2]));
    g.env.reset();
    expect(g.base.mission).toBe("go to the grey door");
    expect([g.base.agentX, g.base.agentY, g.base.agentDir]).toEqual([1, 2, 2]);
    const [, reward, terminated] = g.env.step(A.done);
    expect(terminated).toBe(true);
    expect(reward).toBeCloseTo(1 - 0.9 / 100, 12);
    g.base.useDraws(null);
    g.env.reset({ seed: 1 });
    const t = g.env.step(A.toggle);
    expect([t[1], t[2]]).toEqual([0, true]);
  });
});

describe("layouts", () => {
  it("FourRooms: walls at x = 9 and y = 9 with the four gaps drawn in MiniGrid's order", () => {
    const { env, base } = dictEnv("MiniGrid-FourRooms-v0");
    base.useDraws(scripted([3, 4, 12, 15, 1, 1, 0, 17, 17]));
    env.reset();
    const g = base.grid;
    expect(g.get(9, 3)).toBeNull();
    expect(g.get(4, 9)).toBeNull();
    expect(g.get(12, 9)).toBeNull();
    expect(g.get(9, 15)).toBeNull();
    let walls = 0;
    for (let i = 1; i < 18; i++) walls += (g.get(9, i)?.type === "wall" ? 1 : 0) + (g.get(i, 9)?.type === "wall" ? 1 : 0);
    expect(walls).toBe(34 - 4); // 17 + 17 cells ((9, 9) in both), minus the 4 gaps
    expect([base.agentX, base.agentY, base.agentDir]).toEqual([1, 1, 0]);
    expect(g.get(17, 17)?.type).toBe("goal");
  });

  it("KeyCorridorS3R1: the ball behind a locked door of the key's colour; start never faces that door", () => {
    const { env, base } = dictEnv("MiniGrid-KeyCorridorS3R1-v0");
    env.reset({ seed: 0 });
    for (let i = 0; i < 40; i++) {
      env.reset();
      const g = base.grid;
      expect([g.width, g.height]).toEqual([7, 3]);
      const d = g.get(4, 1)!;
      expect(d.type).toBe("door");
      expect(d.isLocked).toBe(true);
      expect(g.get(5, 1)?.type).toBe("ball");
      expect(g.get(1, 1)?.encode()).toEqual([5, d.encode()[1], 0]);
      expect([base.agentX, base.agentY]).toEqual([3, 1]);
      expect([1, 2, 3]).toContain(base.agentDir);
      expect(base.mission).toBe(`pick up the ${g.get(5, 1)!.color} ball`);
    }
  });

  it("KeyCorridor and Unlock succeed by picking up the ball / opening the door", () => {
    const { env, base } = dictEnv("MiniGrid-KeyCorridorS3R1-v0");
    env.reset({ seed: 4 });
    // Put the agent next to the ball with the key in hand, door opened.
    base.grid.get(4, 1)!.isLocked = false;
    base.grid.get(4, 1)!.isOpen = true;
    base.agentX = 4;
    base.agentY = 1;
    base.agentDir = 0;
    const [, r, term] = env.step(A.pickup);
    expect(term).toBe(true);
    expect(r).toBeCloseTo(1 - 0.9 / 270, 12);

    const u = dictEnv("MiniGrid-Unlock-v0");
    u.env.reset({ seed: 2 });
    const b = u.base;
    const [dx, dy] = [5, (b as unknown as { doorY: number }).doorY];
    const d = b.grid.get(dx, dy)!;
    b.grid.set(4, dy, null);
    b.agentX = 4;
    b.agentY = dy;
    b.agentDir = 0;
    expect(u.env.step(A.toggle)[2]).toBe(false); // no key yet
    b.carrying = key(d.color);
    const res = u.env.step(A.toggle);
    expect(res[2]).toBe(true);
    expect(res[1]).toBeCloseTo(1 - 0.9 * 2 / 288, 12);
  });

  it("MultiRoom-N2-S4: two walled rooms joined by one closed door, goal in the second", () => {
    const { env, base } = dictEnv("MiniGrid-MultiRoom-N2-S4-v0");
    env.reset({ seed: 0 });
    for (let i = 0; i < 20; i++) {
      env.reset();
      const cells = base.grid.cells;
      expect(cells.filter((c) => c?.type === "door").length).toBe(1);
      expect(cells.filter((c) => c?.type === "door" && !c.isOpen && !c.isLocked).length).toBe(1);
      expect(cells.filter((c) => c?.type === "goal").length).toBe(1);
    }
  });

  it("N4-S5-v0 keeps MiniGrid's legacy six rooms; v1 has four", () => {
    const doors = (id: string) => {
      const { env, base } = dictEnv(id);
      env.reset({ seed: 3 });
      return base.grid.cells.filter((c) => c?.type === "door").length;
    };
    expect(doors("MiniGrid-MultiRoom-N4-S5-v0")).toBe(5);
    expect(doors("MiniGrid-MultiRoom-N4-S5-v1")).toBe(3);
  });
});

describe("snapshots and checks", () => {
  it.each(GRID_IDS)("%s: setState(getState()) replays the same future exactly", (id) => {
    const { env, base } = dictEnv(id);
    env.reset({ seed: 11 });
    const acts = [2, 2, 1, 2, 3, 5, 2, 0, 2, 4, 2, 2, 1, 2, 5, 3, 2, 2, 6, 2];
    for (let t = 0; t < 5; t++) if (env.step(acts[t])[2]) env.reset();
    const s = base.getState();
    const record = () => {
      const out: unknown[] = [];
      for (const a of acts.slice(5)) {
        const [o, r, term] = base.step(a);
        out.push([Array.from(o.image), o.direction, Array.from(o.mission), r, term]);
        if (term) break;
      }
      return out;
    };
    const first = record();
    base.setState(s);
    expect(base.getState()).toEqual(s);
    expect(record()).toEqual(first);
  });

  it.each(GRID_IDS)("%s passes checkEnv with the Dict and the flat observation", (id) => {
    for (const observation of ["dict", "flat"]) {
      const report = checkEnv(make(id, { observation, renderMode: "rgb_array" }));
      expect(report.errors).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it("rejects a malformed snapshot with a message naming the fix", () => {
    const { env, base } = dictEnv("MiniGrid-Empty-5x5-v0");
    env.reset({ seed: 0 });
    const s = base.getState();
    expect(() => base.setState(s.slice(0, 20))).toThrow(/malformed snapshot.*Fix|getState/);
    const bad = [...s];
    bad[10] = 99;
    expect(() => base.setState(bad)).toThrow(/object/);
  });

  it("a seed gives the same layout every time; unseeded resets continue the stream", () => {
    const a = dictEnv("MiniGrid-FourRooms-v0"), b = dictEnv("MiniGrid-FourRooms-v0");
    a.env.reset({ seed: 9 });
    b.env.reset({ seed: 9 });
    expect(a.base.getState()).toEqual(b.base.getState());
    a.env.reset();
    b.env.reset();
    expect(a.base.getState()).toEqual(b.base.getState());
    b.env.reset({ seed: 10 });
    expect(a.base.getState()).not.toEqual(b.base.getState());
  });

  it("renders MiniGrid's tile look: 32-pixel tiles, green goal, red agent triangle", () => {
    const env = make("MiniGrid-Empty-5x5-v0", { renderMode: "rgb_array" });
    env.reset({ seed: 0 });
    const f = env.render!();
    expect([f.width, f.height]).toEqual([160, 160]);
    const px = (x: number, y: number) => Array.from(f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3));
    expect(px(3 * 32 + 16, 3 * 32 + 16)).toEqual([76, 255, 76]); // goal, in view: lightened by 30 %
    expect(px(32 + 16, 32 + 16)).toEqual([255, 76, 76]); // agent
    expect(px(16, 4 * 32 + 16)).toEqual([100, 100, 100]); // wall (0, 4): behind the agent, not lit
    expect(px(4 * 32 + 16, 16)).toEqual([146, 146, 146]); // wall (4, 0): in view, lit
  });

  it("the base class refuses bad actions and a step before reset", () => {
    const { base } = dictEnv("MiniGrid-Empty-5x5-v0");
    expect(() => base.step(0)).toThrow(/reset/);
    base.reset({ seed: 0 });
    expect(() => base.step(7)).toThrow(/action/);
    expect(new Grid(3, 3).get(1, 1)).toBeNull();
    expect(wall().seeBehind()).toBe(false);
    expect(base instanceof MiniGridEnv).toBe(true);
  });
});
