/**
 * One actor thread of OffPolicyThreadActors: the run's off-policy algorithm with its own
 * envs and seed, used only to act. Each request names how many vector steps to collect and
 * the learner's env-step count before them (warm-up and ε schedule), and may carry newer
 * acting weights; the thread answers with the chunk of transitions. It never trains, so its
 * replay buffer is the smallest the loop accepts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { getAlgorithm } from "../algos/index.js";
import { OffPolicyAlgorithm, type OffPolicyChunk } from "../algos/off_policy.js";
import type { NamedArrays } from "../algos/state.js";

export interface OffPolicyThreadInit {
  algo: string;
  config: Record<string, unknown>;
  seed: number;
  /** Test aid: fail on this request (0-based) as a crashing env would. */
  failAtRequest?: number;
}

export interface ChunkRequest {
  id: number;
  steps: number;
  startStep: number;
  version: number;
  weights?: NamedArrays;
  /** New episodes and acting draws from this seed first (a resumed run). */
  reseed?: number;
}

export type ChunkReply = { id: number; version: number; chunk: OffPolicyChunk } | { id: number; error: string };

const init = workerData as OffPolicyThreadInit;
const port = parentPort;
if (!port) throw new Error("offpolicy_actor_thread runs in a worker thread");
const numEnvs = init.config.numEnvs as number;
const built = await getAlgorithm(init.algo).create({ ...init.config, seed: init.seed, vectorEnv: "sync", bufferSize: numEnvs, replayInCheckpoint: false });
if (!(built instanceof OffPolicyAlgorithm)) throw new Error(`${init.algo} is not an off-policy algorithm`);
const algo = built;
let served = 0;
port.on("message", (msg: ChunkRequest | { close: true }) => {
  if ("close" in msg) {
    algo.dispose();
    port.close();
    return;
  }
  try {
    if (served++ === init.failAtRequest) throw new Error(`test failure at request ${init.failAtRequest}`);
    if (msg.reseed !== undefined) algo.reseed(msg.reseed);
    if (msg.weights) {
      if (!algo.agent.setActingWeights) throw new Error(`${init.algo}'s agent cannot load acting weights`);
      algo.agent.setActingWeights(msg.weights);
    }
    const chunk = algo.collectChunk(msg.steps, msg.startStep);
    const reply: ChunkReply = { id: msg.id, version: msg.version, chunk };
    port.postMessage(reply, [chunk.obs.buffer, chunk.actions.buffer, chunk.rewards.buffer, chunk.terminated.buffer, chunk.truncated.buffer, chunk.finalIndex.buffer, chunk.finalObs.buffer] as ArrayBuffer[]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message } satisfies ChunkReply);
  }
});
port.postMessage({ ready: true, masked: algo.actionMasked });
