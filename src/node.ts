/**
 * refinery for Node (`refinery-rl/node`): everything of the isomorphic core
 * (`refinery-rl`) plus the parts that need the file system, processes or native modules —
 * train() with run directories and checkpoints, the run store, PNG plots, the dashboard,
 * saving weights and exporting policies.
 */
export * from "./index.js";

export { train, type TrainOptions, type TrainSummary } from "./train/trainer.js";
export { RunDir } from "./train/run.js";
export { saveWeights } from "./nn/io.js";
export { AsyncVectorEnv, type AsyncVectorEnvOptions } from "./scale/async_vector.js";

// Runs you can find, compare and watch (issue 5).
export { RunStore, type RunRecord, type RunStatus } from "./store/store.js";
export { resolveRunsRoot } from "./store/root.js";
export { plotRuns, type PlotOptions } from "./plot/plot.js";
export { startDashboard, type DashboardOptions, type Dashboard } from "./dashboard/server.js";
export { exportPolicy, type ExportOptions } from "./train/export_files.js";
