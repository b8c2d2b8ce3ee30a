import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { PPO } from "../algos/ppo.js";
import type { Algorithm } from "../algos/types.js";
import { ConfigError, RefineryError } from "../core/errors.js";
import type { RolloutBatch } from "../rollout/step_collector.js";
import { checkRemoteConfig } from "./learner.js";
import { mergeShards } from "./shards.js";

/**
 * Actors in worker threads on one machine: PPO's rollout of each iteration is collected by
 * `threads` threads in parallel, each with its share of the envs (numEnvs / threads) and a
 * copy of the weights of that iteration (sent as typed arrays with their version); the
 * update runs in the main thread. Exactly on-policy, like the Redis actors, and
 * deterministic: thread k always collects shard k, with its own seed (run seed + k + 1).
 * The threads' env states are not in checkpoints: a resumed run starts new episodes.
 */
export class ThreadActors {
  private constructor(private readonly workers: Worker[]) {}

  static async create(algo: string, config: Record<string, unknown>, threads: number): Promise<ThreadActors> {
    checkRemoteConfig(algo, config, threads, { what: "--actor-threads", flag: "--actor-threads" });
    const seed = config.seed as number;
    const entry = workerEntry();
    const workers = Array.from({ length: threads }, (_, k) => new Worker(entry.entry, { eval: entry.eval, workerData: { config, shards: threads, seed: seed + k + 1 }, execArgv: [] }));
    const actors = new ThreadActors(workers);
    try {
      await Promise.all(workers.map((w) => reply<{ ready: true }>(w)));
    } catch (err) {
      await actors.close();
      throw err;
    }
    return actors;
  }

  /** The trainer's beforeIteration: every thread collects its shard with this iteration's weights. */
  async beforeIteration(algo: Algorithm): Promise<void> {
    if (!(algo instanceof PPO)) throw new ConfigError(`actor threads run ppo only, got ${algo.name}`, "use --algo ppo");
    const version = algo.iteration;
    const weights = algo.policy.getWeights();
    const shards = await Promise.all(
      this.workers.map(async (w) => {
        const answer = reply<{ version: number; batch?: RolloutBatch; error?: string }>(w);
        w.postMessage({ version, weights });
        const r = await answer;
        if (r.error || !r.batch || r.version !== version) throw new RefineryError("actor_thread_failed", `an actor thread failed: ${r.error ?? "no rollout"}`, "run without --actor-threads to see the error in this thread");
        return r.batch;
      }),
    );
    const batch = mergeShards(shards);
    algo.setBatchSource(() => {
      algo.setBatchSource(null);
      return batch;
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function reply<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T) => {
      w.off("error", onError);
      resolve(m);
    };
    const onError = (err: Error) => {
      w.off("message", onMessage);
      reject(new RefineryError("actor_thread_failed", `an actor thread failed: ${err.message}`, "run without --actor-threads to see the error in this thread"));
    };
    w.once("message", onMessage);
    w.once("error", onError);
  });
}

/** actor_thread.js in dist/; under tsx or vitest a bootstrap registers tsx in the thread first (as for env workers). */
function workerEntry(): { entry: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith(".ts")) return { entry: new URL("./actor_thread.js", import.meta.url), eval: false };
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const worker = new URL("./actor_thread.ts", import.meta.url).href;
  return { entry: `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`, eval: true };
}
