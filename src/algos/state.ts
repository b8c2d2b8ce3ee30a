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
