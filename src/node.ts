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

// Scale out across machines through Redis (issue 16): actor–learner PPO and sweeps.
export { RemoteLearner, checkRemoteConfig, type RunMeta } from "./scale/learner.js";
export { runActor, type ActorOptions, type ActorReport } from "./scale/actor.js";
export { connectRedis, runKeys } from "./scale/redis.js";
export { encodeMessage, decodeMessage, WireError, type WireMessage, type WireArray } from "./scale/wire.js";
export { mergeShards, encodeShard, shardBatch, type ShardHeader, type ShardShape } from "./scale/shards.js";
export { readSweepSpec, expandTrials, sweepSpecSchema, type SweepSpec, type Trial, type TrialResult } from "./scale/sweep.js";
export { enqueueSweep, runWorker, readResults, sweepKeys, type WorkerOptions } from "./scale/sweep_queue.js";
export { ThreadActors } from "./scale/thread_actors.js";
export { OffPolicyThreadActors, planOffPolicyThreads, type OffPolicyThreadOptions, type OffPolicyThreadPlan } from "./scale/offpolicy_actors.js";
