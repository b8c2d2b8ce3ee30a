import * as tf from "#tfjs-core";
import { backendName } from "../core/backend.js";

/**
 * Creates a tf.Variable from the tensor `init` returns. The initial tensor is freed (a
 * bare `tf.variable(tf.zeros(…))` keeps it alive alongside the variable, holding its
 * memory after the variable is disposed), and a missing `initBackend()` is reported in
 * refinery's words instead of tfjs's.
 */
export function createVariable<R extends tf.Rank>(init: () => tf.Tensor<R>, trainable: boolean, name?: string): tf.Variable<R> {
  backendName();
  return tf.tidy(() => tf.variable(init(), trainable, name === undefined ? undefined : uniqueVariableName(name)));
}

/**
 * tfjs variable names are global to the engine, so two live networks cannot both own
 * "actor/dense_0/kernel". Networks keep their stable logical names for checkpoints and
 * get a numeric suffix on the tf.Variable only when the plain name is taken.
 */
export function uniqueVariableName(base: string): string {
  const taken = tf.engine().registeredVariables;
  if (!(base in taken)) return base;
  for (let n = 1; ; n++) {
    const candidate = `${base}_${n}`;
    if (!(candidate in taken)) return candidate;
  }
}
