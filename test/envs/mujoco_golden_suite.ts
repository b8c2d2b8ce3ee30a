import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { MujocoEnv } from "../../src/envs/mujoco/base.js";
import { loadMujoco, type MujocoModule, type MujocoPackage } from "../../src/envs/mujoco/loader.js";
import { make } from "../../src/envs/registry.js";

/**
 * Against Gymnasium 1.3.0 (mujoco 3.14.0, test/fixtures/gen_mujoco_v5.py): refinery's MJCF
 * files compile to Gymnasium's model, and from Gymnasium's reset state the same actions give
 * Gymnasium's observations, rewards, info and flags.
 *
 * On `@mujoco/mujoco` (MuJoCo 3.14.0, the version the fixture was recorded with) every
 * recorded step matches, contacts included. The default `mujoco-js` (MuJoCo 3.3.8) has a
 * contact solver that gives different numbers once bodies touch the floor: Hopper's foot
 * lands at step 8 and Ant's feet push from step 2, so on it those two are compared up to
 * there; the others have no contacts in these steps and match all the way. Each package
 * runs in its own worker (vitest isolates files; the module is loaded once per thread).
 */
interface Fixture {
  gymnasium: string;
  mujoco: string;
  envs: Record<
    string,
    {
      qpos: number[];
      qvel: number[];
      obs: number[];
      steps: { action: number[]; obs: number[]; reward: number; terminated: boolean; info: Record<string, number> }[];
      model: Record<string, number[]>;
    }
  >;
}
const fixture = JSON.parse(readFileSync(new URL("../fixtures/mujoco_v5.json", import.meta.url), "utf8")) as Fixture;

/** Steps that match Gymnasium's before the first contact on MuJoCo 3.3.8; Infinity: all recorded steps. */
const MATCHING_338: Record<string, number> = {
  "InvertedPendulum-v5": Infinity,
  "InvertedDoublePendulum-v5": Infinity,
  "HalfCheetah-v5": Infinity,
  "Hopper-v5": 7,
  "Walker2d-v5": Infinity,
  "Swimmer-v5": Infinity,
  "Reacher-v5": Infinity,
  "Ant-v5": 1,
};

/** The golden suite on one package; each test file calls it once (one module per worker). */
export function goldenSuite(pkg: MujocoPackage): void {
  /** On the version the fixture was recorded with, every recorded step matches. */
  const MATCHING: Record<string, number> =
    pkg === "@mujoco/mujoco" ? Object.fromEntries(Object.keys(MATCHING_338).map((id) => [id, Infinity])) : MATCHING_338;

  beforeAll(async () => {
    await loadMujoco(() => import(pkg).then((m: { default: () => Promise<MujocoModule> }) => m.default()));
  });

  describe(`MuJoCo v5 envs on ${pkg} against Gymnasium ${fixture.gymnasium} (mujoco ${fixture.mujoco})`, () => {
    it.each(Object.keys(MATCHING))("%s: the model compiles to Gymnasium's, and recorded steps match", (id) => {
      const rec = fixture.envs[id];
      const env = make<Float64Array, Float32Array>(id, { maxEpisodeSteps: 0 });
      env.reset({ seed: 0 });
      const u = env.unwrapped as unknown as MujocoEnv & Record<string, unknown>;
      const m = u.model as unknown as Record<string, ArrayLike<number> | { timestep: number; integrator: number }>;
      for (const [field, values] of Object.entries(rec.model)) {
        const ours =
          field === "timestep" ? [u.model.opt.timestep] : field === "integrator" ? [(u.model.opt as unknown as { integrator: number }).integrator] : Array.from(m[field] as ArrayLike<number>);
        expect(ours.length, `${id} ${field}`).toBe(values.length);
        ours.forEach((x, i) => expect(Math.abs(x - values[i]), `${id} ${field}[${i}]`).toBeLessThan(1e-9));
      }

      // Gymnasium's reset state (solver warm start 0, as after its reset); Ant's torso frame starts at qpos[0:2].
      const nv = rec.qvel.length;
      const extra = id === "Ant-v5" ? [rec.qpos[0], rec.qpos[1]] : [];
      u.setState([0, ...rec.qpos, ...rec.qvel, ...Array(nv).fill(0), ...extra]);
      const n = Math.min(MATCHING[id], rec.steps.length);
      for (let t = 0; t < n; t++) {
        const s = rec.steps[t];
        const [obs, reward, terminated, truncated, info] = env.step(Float32Array.from(s.action));
        expect(obs.length).toBe(s.obs.length);
        obs.forEach((x, i) => expect(Math.abs(x - s.obs[i]), `${id} step ${t} obs[${i}]`).toBeLessThan(1e-8));
        // Control costs differ in the 8th digit: Gymnasium sums the float32 squares in float32.
        expect(Math.abs(reward - s.reward), `${id} step ${t} reward`).toBeLessThan(1e-6);
        expect([terminated, truncated]).toEqual([s.terminated, false]);
        expect(Object.keys(info).sort()).toEqual(Object.keys(s.info).sort());
        for (const [k, v] of Object.entries(s.info)) expect(Math.abs((info[k] as number) - v), `${id} step ${t} info.${k}`).toBeLessThan(1e-6);
      }
      expect(n).toBeGreaterThanOrEqual(1);
      if (MATCHING[id] === Infinity) expect(n).toBe(rec.steps.length);
      env.close();
    });
  });
}
