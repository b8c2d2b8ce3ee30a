import type { RngState } from "../core/rng.js";
import type { AdamState } from "../nn/optim.js";

/*
 * The pieces of an algorithm's checkpoint (saveState/loadState): named float arrays beside a
 * JSON part. Weights go under `prefix/name`; an optimiser under `name/m`, `name/v` with its step
 * and learning rate in the JSON.
 */

export type NamedArrays = Record<string, Float32Array>;

/** Adds `weights` to `arrays` as `prefix` + name. */
export function putWeights(arrays: NamedArrays, prefix: string, weights: NamedArrays): void {
  for (const [k, v] of Object.entries(weights)) arrays[`${prefix}${k}`] = v;
}

/** The arrays under `prefix`, with the prefix removed. */
export function prefixed(arrays: NamedArrays, prefix: string): NamedArrays {
  const out: NamedArrays = {};
  for (const [k, v] of Object.entries(arrays)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** Adds an optimiser's moments to `arrays`; returns the JSON part to store under `name`. */
export function putAdam(arrays: NamedArrays, name: string, state: AdamState): { step: number; learningRate: number } {
  arrays[`${name}/m`] = state.m;
  arrays[`${name}/v`] = state.v;
  return { step: state.step, learningRate: state.learningRate };
}

/** The optimiser state `putAdam` stored under `name`. */
export function takeAdam(json: Record<string, unknown>, arrays: NamedArrays, name: string): AdamState {
  return { ...(json[name] as { step: number; learningRate: number }), m: arrays[`${name}/m`], v: arrays[`${name}/v`] };
}

/** What a supervised token-policy trainer (sft on single- or multi-turn tasks) checkpoints. */
export interface SupervisedParts {
  policy: { getWeights(): NamedArrays; setWeights(weights: NamedArrays): void };
  optimizer: { getState(): AdamState; setState(state: AdamState): void };
}

/** The counters beside the weights and moments: iterations, tokens trained on, the generator. */
export interface SupervisedCounters {
  iteration: number;
  steps: number;
  rng: RngState;
}

/** A supervised trainer's checkpoint: policy weights, Adam moments and the counters. */
export function saveSupervised(parts: SupervisedParts, counters: SupervisedCounters): { json: Record<string, unknown>; arrays: NamedArrays } {
  const arrays: NamedArrays = {};
  putWeights(arrays, "policy/", parts.policy.getWeights());
  const adam = putAdam(arrays, "adam", parts.optimizer.getState());
  return { json: { ...counters, adam }, arrays };
}

/** Restores what saveSupervised wrote into the parts, and returns the counters. */
export function loadSupervised(parts: SupervisedParts, state: { json: Record<string, unknown>; arrays: NamedArrays }): SupervisedCounters {
  const { json, arrays } = state;
  parts.policy.setWeights(prefixed(arrays, "policy/"));
  parts.optimizer.setState(takeAdam(json, arrays, "adam"));
  return { iteration: json.iteration as number, steps: json.steps as number, rng: json.rng as RngState };
}
