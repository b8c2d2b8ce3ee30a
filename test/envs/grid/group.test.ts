import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/core/rng.js";
import { make } from "../../../src/envs/registry.js";
import type { ActBuffers } from "../../../src/policies/actor_critic.js";
import { GroupCollector, type GroupPolicy } from "../../../src/rollout/group_collector.js";

/** Uniform over the 7 actions, on the default flat grid observation. */
class UniformGridPolicy implements GroupPolicy {
  readonly obsSize = 980;
  readonly actSize = 1;
  readonly discrete = true;
  buffers(n: number): ActBuffers {
    return { actions: new Int32Array(n), logProbs: new Float32Array(n), values: new Float32Array(n) };
  }
  act(_obs: Float32Array, batch: number, rng: Rng, out: ActBuffers): void {
    for (let i = 0; i < batch; i++) {
      out.actions[i] = rng.integer(0, 7);
      out.logProbs[i] = Math.log(1 / 7);
    }
  }
}

describe("group rollouts on grid worlds", () => {
  it("every episode of a group starts from the group's snapshot, even after random steps", () => {
    const collector = new GroupCollector(() => make("MiniGrid-DoorKey-5x5-v0"), new UniformGridPolicy(), 4, 3, { startState: "reset+random-steps", randomSteps: 5 });
    const b = collector.collect(new Rng(0));
    expect(b.numEpisodes).toBe(12);
    for (let g = 0; g < 3; g++) {
      const first = (e: number) => Array.from(b.obs.subarray(b.episodeStart[e] * 980, (b.episodeStart[e] + 1) * 980));
      for (let k = 1; k < 4; k++) expect(first(g * 4 + k)).toEqual(first(g * 4));
    }
    for (let e = 0; e < 12; e++) {
      expect(b.terminated[e] + b.truncated[e]).toBe(1);
      if (b.truncated[e]) expect(b.episodeLength[e]).toBeLessThanOrEqual(250);
    }
    collector.close();
  });
});
