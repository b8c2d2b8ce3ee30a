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
