import { ConfigError } from "../core/errors.js";
import { isNode } from "../core/platform.js";
import { Box } from "../core/spaces.js";
import type { Env } from "../envs/env.js";
import { make } from "../envs/registry.js";
import { SyncVectorEnv, type VectorEnv } from "../envs/vector.js";
import {
  ClipAction,
  NormalizeObservation,
  type RunningMeanStdState,
  NormalizeReward,
  RecordEpisodeStatistics,
  TransformObservation,
  TransformReward,
} from "../envs/wrappers.js";

/** The env options that decide the wrapper stack of a training run. */
export interface EnvStackOptions {
  env: string;
  normObs: boolean;
  normReward: boolean;
  clipObs: number | null;
  clipReward: number | null;
  gamma: number;
  /** "grid" makes grid envs with their Dict observation (`observation: "dict"`) for the grid feature extractor. */
  features?: "flat" | "grid";
}

/**
 * One training env, wrapped as CleanRL's `make_env` does (innermost first):
 * make(id) → RecordEpisodeStatistics (raw returns) → ClipAction (Box actions) →
 * NormalizeObservation → clip ±clipObs → NormalizeReward(γ) → clip ±clipReward.
 * Normalisers are per env, as in CleanRL. `training: false` builds the evaluation
 * variant: the same observation pipeline, no reward scaling.
 */
export function makeTrainingEnv(opts: EnvStackOptions, training = true): Env<unknown, unknown> {
  let env: Env<unknown, unknown> = new RecordEpisodeStatistics(make(opts.env, envMakeOptions(opts)));
  if (env.actionSpace instanceof Box) env = new ClipAction(env) as Env<unknown, unknown>;
  if (opts.normObs) {
    env = new NormalizeObservation(env) as Env<unknown, unknown>;
    const c = opts.clipObs;
    if (c !== null) {
      env = new TransformObservation(env, (o: unknown) => {
        const src = o as Float32Array;
        const out = new Float32Array(src.length);
        for (let i = 0; i < src.length; i++) out[i] = src[i] > c ? c : src[i] < -c ? -c : src[i];
        return out;
      }, env.observationSpace as never) as Env<unknown, unknown>;
    }
  }
  if (training && opts.normReward) {
    env = new NormalizeReward(env, opts.gamma) as Env<unknown, unknown>;
    const c = opts.clipReward;
    if (c !== null) env = new TransformReward(env, (r) => (r > c ? c : r < -c ? -c : r)) as Env<unknown, unknown>;
  }
  return env;
}

/** The `make` options a stack implies: the Dict observation for grid features. */
export function envMakeOptions(opts: { env: string; features?: "flat" | "grid" }): Record<string, unknown> {
  if (opts.features !== "grid") return {};
  if (!/^(MiniGrid|BabyAI)-/.test(opts.env)) {
    throw new ConfigError(`features=grid reads grid-world Dict observations, but ${opts.env} is not a grid env`, "use a MiniGrid-… or BabyAI-… id, or features=flat");
  }
  return { observation: "dict" };
}

export function makeTrainingVecEnv(opts: EnvStackOptions, numEnvs: number): SyncVectorEnv {
  return new SyncVectorEnv(Array.from({ length: numEnvs }, () => () => makeTrainingEnv(opts, true)));
}

/** Where the training envs run: `sync` in this thread, `async` in `workers` worker threads. */
export interface VecEnvMode {
  vectorEnv?: "sync" | "async";
  workers?: number;
}

/** The training vector env of PPO/MDPO, in this thread or in worker threads (src/scale/). */
export async function createTrainingVecEnv(opts: EnvStackOptions, numEnvs: number, mode: VecEnvMode): Promise<VectorEnv> {
  // Runs written before these options existed have neither key: they ran in this thread.
  if (mode.vectorEnv !== "async") return makeTrainingVecEnv(opts, numEnvs);
  if (!isNode()) {
    throw new ConfigError("vectorEnv = \"async\" steps envs in Node worker threads, which this runtime does not have", "use vectorEnv=sync (the default) in a browser");
  }
  // Loaded on demand, and through a specifier bundlers do not follow: worker threads exist
  // only in Node, and the core must bundle for browsers (refinery-rl/node exports the class).
  const specifier = "../scale/async_vector.js";
  const { AsyncVectorEnv } = (await import(/* @vite-ignore */ specifier)) as typeof import("../scale/async_vector.js");
  const stack: EnvStackOptions = {
    env: opts.env, normObs: opts.normObs, normReward: opts.normReward,
    clipObs: opts.clipObs, clipReward: opts.clipReward, gamma: opts.gamma,
    ...(opts.features ? { features: opts.features } : {}),
  };
  return AsyncVectorEnv.create({ kind: "training", stack }, numEnvs, { workers: mode.workers });
}

/** Observation-normalisation statistics of the first training env (null without normObs). */
export function trainingObsNormStats(vec: VectorEnv): RunningMeanStdState | null {
  if (vec instanceof SyncVectorEnv) return findObsNormalizer(vec.envs[0])?.getStatistics() ?? null;
  const remote = vec as VectorEnv & { obsNormStatistics?: () => RunningMeanStdState | null };
  return remote.obsNormStatistics ? remote.obsNormStatistics() : null;
}

/** Finds the NormalizeObservation layer of a wrapped env, if any. */
export function findObsNormalizer(env: Env<unknown, unknown>): NormalizeObservation | null {
  let cur: unknown = env;
  while (cur && typeof cur === "object" && "env" in cur) {
    if (cur instanceof NormalizeObservation) return cur;
    cur = (cur as { env: unknown }).env;
  }
  return null;
}
