import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect } from "vitest";
import { BACKEND_NAMES, type BackendName, initBackend } from "../../src/core/backend.js";

/** Runs the same suite once per tensor backend, selecting it before the suite's tests. */
export function describeEachBackend(title: string, body: (backend: BackendName) => void): void {
  describe.each(BACKEND_NAMES)(`${title} [%s]`, (backend) => {
    beforeAll(async () => {
      await initBackend(backend);
    });
    body(backend);
  });
}

export function t1(values: number[]): tf.Tensor1D {
  return tf.tensor1d(values, "float32");
}

/** Element-wise closeness to `digits` decimal places, with the failing index in the message. */
export function expectValues(actual: tf.Tensor, expected: number[], digits = 5): void {
  const got = Array.from(actual.dataSync());
  expect(got).toHaveLength(expected.length);
  expect(got).toEqual(expected.map((x) => expect.closeTo(x, digits)));
}

export function scalarValue(t: tf.Tensor): number {
  expect(t.rank).toBe(0);
  return t.dataSync()[0];
}

/** Gradient of f at x, typed for the rank-specific loss functions (`tf.grad` takes plain `Tensor`s). */
export function gradAt<T extends tf.Tensor>(f: (x: T) => tf.Tensor, x: T): tf.Tensor {
  return tf.grad((v: tf.Tensor) => f(v as T))(x);
}
