import { describe, expect, it } from "vitest";
import * as refinery from "../../src/index.js";

/** Runs in its own worker (vitest isolates files), so nothing has loaded MuJoCo before it. */
describe("the MuJoCo module loads lazily", () => {
  it("importing refinery does not load it; make() before loading names the missing await; prepareEnv loads it", async () => {
    expect(refinery.mujocoLoaded()).toBe(false);
    expect(() => refinery.make("Hopper-v5")).toThrow(/Hopper-v5 runs on MuJoCo's WebAssembly module, which is not loaded yet\. Fix: await loadMujoco\(\)/);
    await refinery.prepareEnv("CartPole-v1"); // envs without set-up do not load it
    expect(refinery.mujocoLoaded()).toBe(false);
    await refinery.prepareEnv("Hopper-v5");
    expect(refinery.mujocoLoaded()).toBe(true);
    const env = refinery.make("Hopper-v5");
    expect(env.reset({ seed: 0 })[0]).toHaveLength(11);
    env.close();
  });
});

describe("REFINERY_MUJOCO picks the package", () => {
  it("defaults to mujoco-js, accepts @mujoco/mujoco, and names the allowed values otherwise", () => {
    const before = process.env.REFINERY_MUJOCO;
    try {
      delete process.env.REFINERY_MUJOCO;
      expect(refinery.mujocoPackage()).toBe("mujoco-js");
      process.env.REFINERY_MUJOCO = "@mujoco/mujoco";
      expect(refinery.mujocoPackage()).toBe("@mujoco/mujoco");
      process.env.REFINERY_MUJOCO = "mujoco";
      expect(() => refinery.mujocoPackage()).toThrow(/REFINERY_MUJOCO=mujoco is not a known MuJoCo WebAssembly package\. Fix: set it to one of mujoco-js, @mujoco\/mujoco/);
    } finally {
      if (before === undefined) delete process.env.REFINERY_MUJOCO;
      else process.env.REFINERY_MUJOCO = before;
    }
  });
});
