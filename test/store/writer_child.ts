// Child process for the concurrency test: registers RUNS runs under ROOT and appends ROWS
// metric rows to each through the run store, starting when the file GO appears (so two
// children write at the same time). Prints "ready" when loaded, then {start, end} in ms.
// Usage: node --import tsx writer_child.ts ROOT PREFIX RUNS ROWS GO
import { existsSync } from "node:fs";
import { join } from "node:path";
import { attachRunStore } from "../../src/store/sink.js";
import { RunDir } from "../../src/train/run.js";

const [root, prefix, runsArg, rowsArg, go] = process.argv.slice(2);
const runs = Number(runsArg);
const rows = Number(rowsArg);
process.stdout.write("ready\n");
while (!existsSync(go)) await new Promise((r) => setTimeout(r, 1));
const start = Date.now();
for (let r = 0; r < runs; r++) {
  const run = RunDir.create(join(root, `${prefix}-${r}`), "ppo", { env: "CartPole-v1", seed: r, learningRate: 0.001 });
  const store = attachRunStore(run);
  run.writeStatus({ status: "running", pid: process.pid, iteration: 0, step: 0 });
  for (let i = 1; i <= rows; i++) {
    run.appendMetrics({ kind: "train", iteration: i, step: i * 128, episodeReturnMean: i + r, policyLoss: -i / 1000 });
    if (i % 50 === 0) run.appendMetrics({ kind: "eval", iteration: i, step: i * 128, evalReturnMean: 2 * i });
  }
  run.writeStatus({ status: "finished", pid: process.pid, iteration: rows, step: rows * 128, finalMeanReturn: rows });
  store.detach();
}
process.stdout.write(JSON.stringify({ start, end: Date.now() }) + "\n");
