import { describe, expect, it } from "vitest";
import { PPO } from "../../src/algos/ppo.js";
import { PPO_DEFAULTS } from "../../src/algos/ppo_config.js";

// Action masking pays off where most actions do nothing: on MiniGrid-DoorKey-5x5 four of the
// seven actions are no-ops in most states, and the masks (info.action_mask) remove them.
// Same seed, same budget, returns compared (never time).
async function meanTrainingReturn(actionMasking: "on" | "off"): Promise<number> {
  const ppo = await PPO.create({ ...PPO_DEFAULTS, env: "MiniGrid-DoorKey-5x5-v0", seed: 1, totalTimesteps: 30_720, numEnvs: 8, learningRate: 1e-3, actionMasking });
  const returns: number[] = [];
  for (let i = 0; i < ppo.totalIterations; i++) {
    ppo.iterate();
    returns.push(...ppo.drainEpisodes().map((e) => e.return));
  }
  ppo.dispose();
  const last = returns.slice(-50);
  return last.reduce((a, b) => a + b, 0) / last.length;
}

describe("masked PPO", () => {
  it("learns MiniGrid-DoorKey-5x5 faster with action masks than without (30k steps, seed 1)", async () => {
    const masked = await meanTrainingReturn("on");
    const unmasked = await meanTrainingReturn("off");
    // Measured: 0.961 masked vs 0.523 unmasked (seed 2: 0.958 vs 0.557).
    expect(masked).toBeGreaterThanOrEqual(0.9);
    expect(masked - unmasked).toBeGreaterThanOrEqual(0.2);
  }, 900_000);
});
