/**
 * Worker thread of AsyncVectorEnv: owns envs [start, start + count) and steps them one
 * after the other when the main thread asks. Fast path (step) over shared memory and
 * Atomics; everything else (reset seeds, states, infos, errors) through a MessagePort that
 * both sides read synchronously with receiveMessageOnPort — the main thread blocks in
 * Atomics.wait, so it cannot run an event loop to receive ordinary messages.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { findObsNormalizer, makeTrainingEnv } from "../algos/env_stack.js";
import { describeValue, RefineryError } from "../core/errors.js";
import { withActionMask } from "../envs/action_mask.js";
import type { Env, Info } from "../envs/env.js";
import { make, prepareEnv } from "../envs/registry.js";
import { captureEnvState, restoreEnvState, type EnvState } from "../envs/state.js";
import { writeObservationRow } from "../envs/vector.js";
import { ACT_KIND, CMD, CTRL, REPLY, type EnvRecipe, type StepReply, type WireError, type WorkerInit, type WorkerRequest } from "./protocol.js";

const init = workerData as WorkerInit & { port: MessagePort };
const port = init.port;
const ctrl = new Int32Array(init.ctrl);
const actions = new Float64Array(init.actions);
const obs = new Float32Array(init.obs);
const finalObs = new Float32Array(init.finalObs);
const rewards = new Float64Array(init.rewards);
const flags = new Uint8Array(init.flags);
const k = init.obsSize;

// If the thread ends while the main thread waits (an env calls process.exit, say), wake it
// up with the news instead of leaving it blocked in Atomics.wait forever.
process.on("exit", () => {
  Atomics.store(ctrl, CTRL.dead, 1);
  Atomics.notify(ctrl, CTRL.doneSeq);
});

function toWire(e: unknown): WireError {
  if (e instanceof RefineryError) return { name: e.name, message: e.message, code: e.code, problem: e.problem, fix: e.fix };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: "Error", message: String(e) };
}

function finish(seq: number, reply: number): void {
  Atomics.store(ctrl, CTRL.reply, reply);
  Atomics.store(ctrl, CTRL.doneSeq, seq);
  Atomics.notify(ctrl, CTRL.doneSeq);
}

function makeEnv(recipe: EnvRecipe): Env<unknown, unknown> {
  return recipe.kind === "make" ? make(recipe.id, recipe.options ?? {}) : makeTrainingEnv(recipe.stack, true);
}

/** Same checks and copy as SyncVectorEnv.writeRow, into row `i` (global index) of `out`. */
function writeRow(out: Float32Array, i: number, o: unknown, base = i * k): void {
  writeObservationRow(out, base, k, o, () => `${init.name}: env ${i} returned observation ${describeValue(o)} but the observation space has ${k} values`);
}

/** Env i's action, typed as SyncVectorEnv would pass it for the caller's array type. */
function actionOf(i: number, kind: number): unknown {
  if (init.discrete) return actions[i];
  const a = init.actSize, start = i * a;
  const row = kind === ACT_KIND.f32 ? new Float32Array(a) : kind === ACT_KIND.f64 ? new Float64Array(a) : kind === ACT_KIND.i32 ? new Int32Array(a) : init.box ? new Float32Array(a) : new Int32Array(a);
  for (let j = 0; j < a; j++) row[j] = actions[start + j];
  return row;
}

function isEmpty(info: Info): boolean {
  for (const key in info) if (Object.prototype.hasOwnProperty.call(info, key)) return false;
  return true;
}

function step(envs: Env<unknown, unknown>[]): StepReply | null {
  const kind = Atomics.load(ctrl, CTRL.actKind);
  const infos: Info[] = new Array(envs.length);
  const finalInfos: (Info | null)[] = new Array(envs.length).fill(null);
  let send = false;
  for (let j = 0; j < envs.length; j++) {
    const i = init.start + j, env = envs[j];
    const [o, r, te, tr, info] = env.step(actionOf(i, kind));
    rewards[i] = r;
    flags[i] = te ? 1 : 0;
    flags[init.numEnvs + i] = tr ? 1 : 0;
    if (te || tr) {
      writeRow(finalObs, i, o);
      finalInfos[j] = withActionMask(env, info); // before the reset moves the env on
      const [o2, info2] = env.reset();
      writeRow(obs, i, o2);
      infos[j] = withActionMask(env, info2);
      send = true;
    } else {
      writeRow(obs, i, o);
      infos[j] = withActionMask(env, info);
      if (!send && info && !isEmpty(info)) send = true;
    }
  }
  return send ? { infos, finalInfos } : null;
}

function handle(envs: Env<unknown, unknown>[], req: WorkerRequest): unknown {
  switch (req.type) {
    case "reset": {
      const infos: Info[] = [];
      envs.forEach((env, j) => {
        const i = init.start + j;
        const [o, info] = env.reset({ seed: req.seeds[i], options: req.options });
        writeRow(obs, i, o);
        infos.push(withActionMask(env, info));
      });
      return infos;
    }
    case "getStates":
      return envs.map((e) => captureEnvState(e));
    case "setStates":
      envs.forEach((e, j) => restoreEnvState(e, req.states[init.start + j] as EnvState));
      return null;
    case "obsNorm": {
      const norm = init.start === 0 && envs.length > 0 ? findObsNormalizer(envs[0]) : null;
      return norm ? norm.getStatistics() : null;
    }
  }
}

function serve(envs: Env<unknown, unknown>[]): void {
  let seen = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL.cmdSeq, seen);
    seen = Atomics.load(ctrl, CTRL.cmdSeq);
    const cmd = Atomics.load(ctrl, CTRL.cmd);
    if (cmd === CMD.close) {
      for (const env of envs) {
        try {
          env.close();
        } catch {
          // closing is best effort: the thread ends anyway
        }
      }
      finish(seen, REPLY.none);
      return;
    }
    try {
      if (cmd === CMD.step) {
        const reply = step(envs);
        if (reply) port.postMessage(reply);
        finish(seen, reply ? REPLY.ok : REPLY.none);
      } else {
        const msg = receiveMessageOnPort(port);
        if (!msg) throw new Error("worker got a command without its message");
        port.postMessage(handle(envs, msg.message as WorkerRequest));
        finish(seen, REPLY.ok);
      }
    } catch (e) {
      port.postMessage(toWire(e));
      finish(seen, REPLY.error);
    }
  }
}

async function main(): Promise<void> {
  let envs: Env<unknown, unknown>[];
  try {
    for (const url of init.imports) await import(url);
    await prepareEnv(init.recipe.kind === "make" ? init.recipe.id : init.recipe.stack.env);
    envs = Array.from({ length: init.count }, () => makeEnv(init.recipe));
  } catch (e) {
    port.postMessage(toWire(e));
    finish(0, REPLY.error);
    return;
  }
  finish(0, REPLY.none);
  serve(envs);
  port.close();
}

await main();
