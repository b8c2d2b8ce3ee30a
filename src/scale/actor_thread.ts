/**
 * One actor thread of ThreadActors: a PPO with its shard's envs and its own seed that
 * collects one rollout per request with the weights it is sent. It never updates.
 */
import { parentPort, workerData } from "node:worker_threads";
import { PPO } from "../algos/ppo.js";
import type { PPOConfig } from "../algos/ppo_config.js";

interface Init {
  config: PPOConfig;
  shards: number;
  seed: number;
}

const init = workerData as Init;
const port = parentPort;
if (!port) throw new Error("actor_thread runs in a worker thread");
const algo = await PPO.create({ ...init.config, numEnvs: init.config.numEnvs / init.shards, seed: init.seed, vectorEnv: "sync" });
port.on("message", (msg: { version: number; weights: Record<string, Float32Array> } | { close: true }) => {
  if ("close" in msg) {
    algo.dispose();
    port.close();
    return;
  }
  try {
    algo.policy.setWeights(msg.weights);
    algo.policy.syncFastWeights();
    const b = algo.collectRollout();
    port.postMessage({ version: msg.version, batch: b }, [b.obs.buffer, b.actions.buffer, b.logProbs.buffer, b.values.buffer, b.rewards.buffer, b.dones.buffer, b.lastValues.buffer] as ArrayBuffer[]);
  } catch (err) {
    port.postMessage({ version: msg.version, error: (err as Error).message });
  }
});
port.postMessage({ ready: true });
