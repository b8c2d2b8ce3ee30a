import type { EnvStackOptions } from "../algos/env_stack.js";
import type { MakeOptions } from "../envs/registry.js";

/**
 * How a worker builds its envs: `make(id, options)` from the registry, or the wrapped
 * training env of PPO/MDPO (`makeTrainingEnv(stack)`). Plain data, so it crosses threads.
 */
export type EnvRecipe = { kind: "make"; id: string; options?: MakeOptions } | { kind: "training"; stack: EnvStackOptions };

/** Slots of a worker's Int32 control block (shared with the main thread). */
export const CTRL = {
  /** Bumped by the main thread for every command. */
  cmdSeq: 0,
  /** Set by the worker to the cmdSeq it finished (-1 until it is ready). */
  doneSeq: 1,
  /** Which command (CMD). */
  cmd: 2,
  /** Element type of the caller's action array (ACT_KIND), so the env gets what SyncVectorEnv would give it. */
  actKind: 3,
  /** The worker's answer: 0 nothing posted, 1 a reply was posted, 2 an error was posted. */
  reply: 4,
  /** Set to 1 by the worker when its thread ends (process.exit in an env, a crash). */
  dead: 5,
  length: 6,
} as const;

export const CMD = { step: 1, message: 2, close: 3 } as const;
export const REPLY = { none: 0, ok: 1, error: 2 } as const;
/** 0: Float32Array, 1: Float64Array, 2: Int32Array, 3: anything else (copied into a fresh row). */
export const ACT_KIND = { f32: 0, f64: 1, i32: 2, other: 3 } as const;

/** Commands that carry data go through the port (read with receiveMessageOnPort). */
export type WorkerRequest =
  | { type: "reset"; seeds: (number | undefined)[]; options?: Record<string, unknown> }
  | { type: "getStates" }
  | { type: "setStates"; states: unknown[] }
  | { type: "obsNorm" };

/** Everything a worker needs at start (workerData). */
export interface WorkerInit {
  recipe: EnvRecipe;
  /** Global index of the worker's first env and its number of envs. */
  start: number;
  count: number;
  numEnvs: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
  box: boolean;
  /** file: URLs of the user's modules (`--import`), imported before any env is made. */
  imports: string[];
  ctrl: SharedArrayBuffer;
  actions: SharedArrayBuffer;
  obs: SharedArrayBuffer;
  finalObs: SharedArrayBuffer;
  rewards: SharedArrayBuffer;
  flags: SharedArrayBuffer;
  name: string;
}

/** An error as it crosses the thread boundary. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  problem?: string;
  fix?: string;
}

/** Step infos of a worker's slice (only sent when one is non-empty or an env ended). */
export interface StepReply {
  infos: Record<string, unknown>[];
  finalInfos: (Record<string, unknown> | null)[];
}
