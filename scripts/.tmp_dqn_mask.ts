import { ALGORITHMS, resolveConfig } from "../src/algos/index.js";
const env = process.argv[2] ?? "MiniGrid-Empty-5x5-v0";
const steps = Number(process.argv[3] ?? 20000);
for (const seed of [1, 2]) for (const actionMasking of ["on", "off"]) {
  const c = resolveConfig({ algo: "dqn", env, overrides: { backend: "kernels", seed, actionMasking, totalTimesteps: steps, learningStarts: 1000, bufferSize: 20000, batchSize: 64, trainFreq: 4, targetNetworkFrequency: 500, explorationFraction: 0.3, learningRate: 1e-3, hidden: [64, 64], iterationSteps: 1000 } });
  const a = await ALGORITHMS.dqn.create(c);
  const returns: number[] = [];
  for (let i = 0; i < a.totalIterations; i++) { a.iterate(); returns.push(...a.drainEpisodes().map((e) => e.return)); }
  a.dispose();
  const last = returns.slice(-50);
  console.log(JSON.stringify({ env, steps, seed, actionMasking, episodes: returns.length, meanLast50: +(last.reduce((x, y) => x + y, 0) / last.length).toFixed(3) }));
}
