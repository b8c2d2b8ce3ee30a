import * as tf from "#tfjs-core";
import { ConfigError } from "../core/errors.js";
import type { MLP } from "./mlp.js";
import { Adam, ArrayAdam, type AdamOptions, type AdamState } from "./optim.js";

/** A parameter gradient from either backend: a tensor (tfjs) or a typed array (kernels). */
export type Gradient = tf.Tensor | Float32Array;

/**
 * Adam over the parameters of some MLPs, on either backend: over their tfjs variables
 * (`Adam`), or, with `kernels`, over their live typed-array weights (`ArrayAdam`, updated in
 * place; the networks' transposed copies are refreshed and their variables follow lazily).
 * The same update rule and the same AdamState either way, so checkpoints move between them.
 */
export class NetworkAdam {
  readonly kernels: boolean;
  private readonly nets: readonly MLP[];
  private readonly tfjs: Adam | null;
  private readonly arrays: ArrayAdam | null;

  constructor(nets: readonly MLP[], options: AdamOptions, kernels: boolean) {
    this.nets = [...nets];
    this.kernels = kernels;
    this.tfjs = kernels ? null : new Adam(this.nets.flatMap((n) => [...n.variables]), options);
    this.arrays = kernels ? new ArrayAdam(this.nets.flatMap((n) => n.kernelWeights()), options) : null;
  }

  /**
   * One Adam step from gradients in parameter order (tensors on tfjs, which stay the
   * caller's; Float32Arrays with kernels), clipped to `maxGradNorm` when given. Returns the
   * pre-clip global norm. Kernels: the networks' array weights are current afterwards; tfjs:
   * call the networks' syncFastWeights before acting on them.
   */
  apply(grads: readonly Gradient[], maxGradNorm?: number): number {
    if (this.tfjs) {
      if (grads.some((g) => g instanceof Float32Array)) {
        throw new ConfigError("typed-array gradients were given to the tfjs optimiser", "compute gradients on the backend the optimiser was built for");
      }
      return this.tfjs.applyGradients(grads as tf.Tensor[], maxGradNorm);
    }
    if (grads.some((g) => !(g instanceof Float32Array))) {
      throw new ConfigError("tensor gradients were given to the kernels optimiser", "compute gradients on the backend the optimiser was built for");
    }
    const norm = (this.arrays as ArrayAdam).applyGradients(grads as Float32Array[], maxGradNorm);
    for (const n of this.nets) n.kernelWeightsChanged();
    return norm;
  }

  /** `apply`, then frees tensor gradients. */
  applyAndFree(grads: Gradient[], maxGradNorm?: number): number {
    try {
      return this.apply(grads, maxGradNorm);
    } finally {
      if (!this.kernels) tf.dispose(grads as tf.Tensor[]);
    }
  }

  getState(): AdamState {
    return (this.tfjs ?? (this.arrays as ArrayAdam)).getState();
  }

  setState(state: AdamState): void {
    (this.tfjs ?? (this.arrays as ArrayAdam)).setState(state);
  }

  dispose(): void {}
}
