import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Box, Dict, Discrete, flatDim, flatSize, flattenInto, MultiBinary, MultiDiscrete, spaceFromJSON, Tuple } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { checkEnv } from "../../src/envs/check.js";
import { FlattenObservation } from "../../src/envs/wrappers.js";

describe("MultiBinary", () => {
  it("samples 0/1 Int8Arrays of its size, reproducibly from a seed", () => {
    const s = new MultiBinary([2, 3]);
    expect(s.size).toBe(6);
    const a = s.sample(new Rng(1)), b = s.sample(new Rng(1));
    expect(a).toBeInstanceOf(Int8Array);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(s.contains(a)).toBe(true);
    expect(s.contains([0, 1, 1, 0, 0, 1])).toBe(true);
    expect(s.contains([0, 1, 2, 0, 0, 1])).toBe(false);
    expect(s.contains([0, 1])).toBe(false);
    expect(String(s)).toBe("MultiBinary((2, 3))");
    expect(() => new MultiBinary(0)).toThrow(/positive length/);
    let ones = 0;
    const rng = new Rng(2);
    for (let i = 0; i < 200; i++) ones += new MultiBinary(10).sample(rng).reduce((x, y) => x + y, 0);
    expect(ones).toBeGreaterThan(900);
    expect(ones).toBeLessThan(1100);
  });
});

describe("Tuple and Dict", () => {
  const dict = new Dict({ pos: new Box(-1, 1, [2]), dir: new Discrete(4), bits: new MultiBinary(3) });

  it("Dict keeps keys sorted, samples every key and checks exact key sets", () => {
    expect(dict.keys).toEqual(["bits", "dir", "pos"]);
    const x = dict.sample(new Rng(3));
    expect(Object.keys(x).sort()).toEqual(["bits", "dir", "pos"]);
    expect(dict.contains(x)).toBe(true);
    expect(dict.contains({ ...x, extra: 1 })).toBe(false);
    expect(dict.contains({ pos: x.pos, dir: x.dir })).toBe(false);
    expect(dict.contains({ ...x, dir: 4 })).toBe(false);
    expect(dict.contains([x])).toBe(false);
    expect(String(dict)).toBe("Dict(bits: MultiBinary(3), dir: Discrete(4), pos: Box(-1, 1, (2,), float32))");
  });

  it("Tuple samples and checks each position", () => {
    const t = new Tuple([new Discrete(2), new MultiDiscrete([3, 3])]);
    const x = t.sample(new Rng(0));
    expect(t.contains(x)).toBe(true);
    expect(t.contains([1, [2, 3]])).toBe(false);
    expect(t.contains([1])).toBe(false);
    expect(() => new Tuple([1 as never])).toThrow(/array of spaces/);
  });

  it("round-trips through JSON", () => {
    const t = new Tuple([dict, new MultiDiscrete([2, 5])]);
    const back = spaceFromJSON(JSON.parse(JSON.stringify(t.toJSON())));
    expect(back.toJSON()).toEqual(t.toJSON());
    expect(String(back)).toBe(String(t));
    expect(back.contains(t.sample(new Rng(4)))).toBe(true);
  });

  it("flattens as Gymnasium: one-hot Discrete/MultiDiscrete, raw Box/MultiBinary, Dict in key order", () => {
    expect(flatDim(dict)).toBe(3 + 4 + 2);
    expect(flatSize(dict)).toBe(3 + 1 + 2);
    const out = new Float32Array(9);
    const end = flattenInto(dict, { pos: new Float32Array([0.5, -0.25]), dir: 2, bits: new Int8Array([1, 0, 1]) }, out);
    expect(end).toBe(9);
    expect(Array.from(out)).toEqual([1, 0, 1, 0, 0, 1, 0, 0.5, -0.25]);
    const md = new MultiDiscrete([2, 3]);
    const o2 = new Float32Array(5);
    flattenInto(md, [1, 0], o2);
    expect(Array.from(o2)).toEqual([0, 1, 1, 0, 0]);
  });
});

/** A small env with a Dict observation, to check checkEnv and FlattenObservation on it. */
class DictWalk extends BaseEnv<Record<string, unknown>, number> {
  readonly observationSpace = new Dict({ cell: new Discrete(5), flags: new MultiBinary(2) });
  readonly actionSpace = new Discrete(2);
  private cell = 0;
  reset(args?: ResetArgs): [Record<string, unknown>, Info] {
    this.seedFromReset(args);
    this.cell = this.npRandom.integer(0, 5);
    return [this.obs(), {}];
  }
  step(a: number): StepResult<Record<string, unknown>> {
    this.cell = Math.max(0, Math.min(4, this.cell + (a === 1 ? 1 : -1)));
    return [this.obs(), this.cell === 4 ? 1 : 0, this.cell === 4, false, {}];
  }
  getState(): number[] {
    return [this.cell];
  }
  setState(s: number[]): void {
    this.cell = s[0];
  }
  protected obs() {
    return { cell: this.cell, flags: new Int8Array([this.cell % 2, this.cell === 4 ? 1 : 0]) };
  }
}

describe("checkEnv and FlattenObservation with Dict observations", () => {
  it("a correct Dict env passes; one returning a wrong key fails with the space named", () => {
    const ok = checkEnv(new DictWalk());
    expect(ok.errors).toEqual([]);
    class WrongKey extends DictWalk {
      protected override obs() {
        return { cell: 0, flag: new Int8Array(2) } as never;
      }
    }
    const bad = checkEnv(new WrongKey());
    expect(bad.ok).toBe(false);
    expect(bad.errors.join("\n")).toContain("is not in the observation space Dict(cell: Discrete(5), flags: MultiBinary(2))");
  });

  it("FlattenObservation turns the Dict into a one-hot Box the MLP policies take", () => {
    const env = new FlattenObservation(new DictWalk());
    expect(String(env.observationSpace)).toBe("Box(0, 1, (7,), float32)");
    const [obs] = env.reset({ seed: 0 });
    expect(obs.length).toBe(7);
    expect(obs.slice(0, 5).reduce((a, b) => a + b, 0)).toBe(1);
    expect(checkEnv(env).errors).toEqual([]);
  });
});
