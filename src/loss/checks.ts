import type * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";

/**
 * Argument guards shared by the loss terms. They read only numbers and `.shape`, never
 * tensor data, so they cost nothing and keep the loss functions free of backend syncs.
 *
 * Shapes matter because tfjs broadcasts silently: a `[B]` tensor combined with a
 * `[B, 1]` one becomes `[B, B]` and trains on nonsense without an error.
 */
export function assertSameShape(fn: string, tensors: Record<string, tf.Tensor>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0];
  for (const [name, t] of entries.slice(1)) {
    if (!sameShape(first.shape, t.shape)) {
      throw new RefineryError(
        "shape_mismatch",
        `${fn}: ${name} has shape [${t.shape.join(", ")}] but ${firstName} has shape [${first.shape.join(", ")}]`,
        "pass tensors of identical shape (squeeze or reshape the extra dimension; broadcasting is not allowed here)",
      );
    }
  }
}

/** assertSameShape for typed arrays (the loss terms' typed-array twins): equal, non-zero lengths. */
export function assertSameLength(fn: string, arrays: Record<string, ArrayLike<number>>): void {
  const entries = Object.entries(arrays);
  const [firstName, first] = entries[0];
  if (first.length === 0) {
    throw new RefineryError(
      "empty_batch",
      `${fn}: ${firstName} holds no elements, so its mean is undefined`,
      "skip the update when the (mini)batch is empty, or check the batch size and number of minibatches",
    );
  }
  for (const [name, a] of entries.slice(1)) {
    if (a.length !== first.length) {
      throw new RefineryError(
        "shape_mismatch",
        `${fn}: ${name} has length ${a.length} but ${firstName} has length ${first.length}`,
        "pass one value per sample in every array",
      );
    }
  }
}

export function assertRank(fn: string, name: string, t: tf.Tensor, rank: number): void {
  if (t.rank !== rank) {
    throw new RefineryError(
      "shape_mismatch",
      `${fn}: ${name} has shape [${t.shape.join(", ")}] (rank ${t.rank}) but rank ${rank} is required`,
      rank === 1 ? "flatten it to one value per sample or token" : `reshape it to rank ${rank}`,
    );
  }
}

/** A mean over zero elements is NaN in tfjs; say so instead of training on NaN. */
export function assertNonEmpty(fn: string, name: string, t: tf.Tensor): void {
  if (t.size === 0) {
    throw new RefineryError(
      "empty_batch",
      `${fn}: ${name} has shape [${t.shape.join(", ")}], which holds no elements, so its mean is undefined`,
      "skip the update when the (mini)batch is empty, or check the batch size and number of minibatches",
    );
  }
}

/** A coefficient from the config (clip range, loss weight): finite and ≥ 0. */
export function assertNonNegative(fn: string, name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(
      `${fn}: ${name} must be a finite number ≥ 0, got ${describeValue(value)}`,
      `set ${name} to a finite value ≥ 0`,
    );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
