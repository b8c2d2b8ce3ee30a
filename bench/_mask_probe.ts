import { PPO } from "../src/algos/ppo.js";
import { PPO_DEFAULTS } from "../src/algos/ppo_config.js";
const env = process.argv[2] ?? "MiniGrid-DoorKey-5x5-v0";
const steps = Number(process.argv[3] ?? 30720);
for (const seed of [1, 2]) {
  for (const actionMasking of ["on", "off"] as const) {
    const ppo = await PPO.create({ ...PPO_DEFAULTS, env, seed, totalTimesteps: steps, numEnvs: 8, learningRate: 1e-3, actionMasking });
    const rets: number[] = [];
    for (let i = 0; i < ppo.totalIterations; i++) { ppo.iterate(); rets.push(...ppo.drainEpisodes().map((e) => e.return)); }
    const last = rets.slice(-50);
    console.log(env, seed, actionMasking, "episodes", rets.length, "mean last 50", (last.reduce((a, b) => a + b, 0) / last.length).toFixed(3));
    ppo.dispose();
  }
}
