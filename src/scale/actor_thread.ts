/**
 * One actor thread of ThreadActors: the run's algorithm built as a remote actor builds it
 * (buildActorAlgo: its share of the iteration, its own seed). It loads the weights it is
 * sent and collects one piece per request with the newest weights it has, reporting their
 * version. It never updates. Messages are handled in the order they were posted, so a
 * request is always collected with weights at least as new as those posted before it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { buildActorAlgo } from "./families.js";
import type { ActorThreadInit, MainToThread, ThreadToMain } from "./thread_actors.js";

const init = workerData as ActorThreadInit;
const port = parentPort;
if (!port) throw new Error("actor_thread runs in a worker thread");
for (const url of init.imports) await import(url);
const actor = await buildActorAlgo(init.algo, init.family, init.config, init.shards, init.seed);
let version = -1;
const send = (m: ThreadToMain) => port.postMessage(m);
port.on("message", (msg: MainToThread) => {
  try {
    if (msg.kind === "weights") {
      actor.setWeights(msg.weights);
      version = msg.version;
      return;
    }
    if (version < 0) throw new Error(`asked to collect iteration ${msg.iteration} before any weights arrived`);
    const piece = actor.collect();
    send({ kind: "piece", iteration: msg.iteration, weights: version, header: piece.header, arrays: piece.arrays });
  } catch (err) {
    send({ kind: "error", message: (err as Error).message });
  }
});
send({ kind: "ready" });
