import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/core/rng.js";
import { registry } from "../../../src/envs/registry.js";
import { dictEnv } from "./helpers.js";

const GRID_IDS = [...registry.keys()].filter((id) => id.startsWith("MiniGrid-") || id.startsWith("BabyAI-")).sort();

describe("info.action_mask", () => {
  it.each(GRID_IDS)("%s: masked-out actions change nothing, allowed ones change the state or end the episode", (id) => {
    const { env, base } = dictEnv(id);
    const rng = new Rng(3);
    let [, info] = env.reset({ seed: 3 });
    let checked = 0, masked = 0;
    for (let t = 0; t < 100; t++) {
      const mask = info.action_mask as Int8Array;
      expect(mask).toEqual(base.actionMask());
      const s = base.getState();
      for (let a = 0; a < 7; a++) {
        base.setState(s);
        const [, reward, terminated] = base.step(a);
        const after = base.getState();
        const same = after.every((v, i) => i === 5 || v === s[i]);
        if (mask[a] === 0) {
          masked++;
          expect({ a, same, terminated, reward }).toEqual({ a, same: true, terminated: false, reward: 0 });
        } else {
          expect({ a, changed: !same || terminated }).toEqual({ a, changed: true });
        }
        checked++;
      }
      base.setState(s);
      // Prefer allowed actions so the walk gets somewhere (keys picked, doors opened).
      let a = rng.integer(0, 7);
      while (!mask[a]) a = rng.integer(0, 7);
      const r = env.step(a);
      info = r[4];
      if (r[2] || r[3]) info = env.reset()[1];
    }
    expect(checked).toBe(100 * 7);
    expect(masked).toBeGreaterThan(0);
  });
});
