import { PPO } from "../src/algos/ppo.js";
import { PPO_DEFAULTS } from "../src/algos/ppo_config.js";
import { evaluatePolicy } from "../src/train/evaluate.js";
const env = process.argv[2] ?? "MiniGrid-GoToDoor-5x5-v0";
const steps = Number(process.argv[3] ?? 40960);
for (const features of (process.argv[4] ?? "grid,flat").split(",") as ("grid" | "flat")[]) {
  const t0 = performance.now();
  const ppo = await PPO.create({ ...PPO_DEFAULTS, env, seed: 1, totalTimesteps: steps, numEnvs: 8, learningRate: 1e-3, features });
  const rets: number[] = [];
  for (let i = 0; i < ppo.totalIterations; i++) { ppo.iterate(); rets.push(...ppo.drainEpisodes().map((e) => e.return)); }
  const last = rets.slice(-100);
  const ev = evaluatePolicy(ppo.makeEvalEnv(), ppo.actingPolicy(7), 50, 1000, false);
  console.log(env, features, "episodes", rets.length, "train mean last 100", (last.reduce((a, b) => a + b, 0) / last.length).toFixed(3), "eval sampled 50", ev.meanReturn.toFixed(3), "s", ((performance.now() - t0) / 1000).toFixed(0));
  ppo.dispose();
}
