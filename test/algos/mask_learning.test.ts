import { describe, expect, it } from "vitest";
import { PPO } from "../../src/algos/ppo.js";
import { PPO_DEFAULTS } from "../../src/algos/ppo_config.js";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";

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

// DQN with masks: ε-greedy among the allowed actions and a TD target that maxes over the next
// state's allowed actions. On MiniGrid-Empty-5x5 (forward is masked when facing a wall, the
// four object actions always) it learns within 20k steps; unmasked it has not at that budget.
async function dqnMeanTrainingReturn(actionMasking: "on" | "off"): Promise<number> {
  const overrides = { backend: "kernels", seed: 1, actionMasking, totalTimesteps: 20_000, learningStarts: 1000, bufferSize: 20_000, batchSize: 64, trainFreq: 4, targetNetworkFrequency: 500, explorationFraction: 0.3, learningRate: 1e-3, hidden: [64, 64], iterationSteps: 1000 };
  const dqn = await ALGORITHMS.dqn.create(resolveConfig({ algo: "dqn", env: "MiniGrid-Empty-5x5-v0", overrides }));
  const returns: number[] = [];
  for (let i = 0; i < dqn.totalIterations; i++) {
    dqn.iterate();
    returns.push(...dqn.drainEpisodes().map((e) => e.return));
  }
  dqn.dispose();
  const last = returns.slice(-50);
  return last.reduce((a, b) => a + b, 0) / last.length;
}

describe("masked DQN", () => {
  it("learns MiniGrid-Empty-5x5 with action masks within 20k steps; without them it has not (seed 1)", async () => {
    const masked = await dqnMeanTrainingReturn("on");
    const unmasked = await dqnMeanTrainingReturn("off");
    // Measured: 0.952 masked vs 0 unmasked (seed 2: 0.950 vs 0).
    expect(masked).toBeGreaterThanOrEqual(0.9);
    expect(masked - unmasked).toBeGreaterThanOrEqual(0.5);
  }, 900_000);
});

