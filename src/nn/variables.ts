import * as tf from "@tensorflow/tfjs-core";

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
