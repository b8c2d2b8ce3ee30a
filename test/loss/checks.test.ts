import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { assertNonEmpty, assertNonNegative, assertRank, assertSameLength, assertSameShape } from "../../src/loss/checks.js";
import { RefineryError } from "../../src/core/errors.js";

// The argument guards every loss term shares, with the full message and fix of each refusal.
describe("loss argument guards", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("assertSameShape: equal shapes pass; the first differing tensor is named against the first", () => {
    tf.tidy(() => {
      const a = tf.zeros([2]);
      expect(() => assertSameShape("f", { a, b: tf.zeros([2]), c: tf.zeros([2]) })).not.toThrow();
      const thrown = (() => {
        try {
          assertSameShape("f", { a, b: tf.zeros([2]), c: tf.zeros([2, 1]) });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(thrown).toBeInstanceOf(RefineryError);
      expect((thrown as Error).message).toBe(
        "f: c has shape [2, 1] but a has shape [2]. Fix: pass tensors of identical shape (squeeze or reshape the extra dimension; broadcasting is not allowed here)",
      );
      expect(() => assertSameShape("f", { a, b: tf.zeros([3]) })).toThrow(/f: b has shape \[3\] but a has shape \[2\]/);
      expect(() => assertSameShape("f", { a: tf.zeros([2, 3]), b: tf.zeros([2, 4]) })).toThrow(/b has shape \[2, 4\]/);
    });
  });

  it("assertSameLength: refuses an empty first array and a length that differs", () => {
    expect(() => assertSameLength("g", { x: [1, 2], y: new Float32Array(2) })).not.toThrow();
    expect(() => assertSameLength("g", { x: [], y: [] })).toThrow(
      "g: x holds no elements, so its mean is undefined. Fix: skip the update when the (mini)batch is empty, or check the batch size and number of minibatches",
    );
    expect(() => assertSameLength("g", { x: [1, 2], y: [1, 2], z: [1] })).toThrow("g: z has length 1 but x has length 2. Fix: pass one value per sample in every array");
  });

  it("assertRank: names the rank required, with a fix for rank 1 and for other ranks", () => {
    tf.tidy(() => {
      expect(() => assertRank("h", "t", tf.zeros([3]), 1)).not.toThrow();
      expect(() => assertRank("h", "t", tf.zeros([3, 1]), 1)).toThrow(
        "h: t has shape [3, 1] (rank 2) but rank 1 is required. Fix: flatten it to one value per sample or token",
      );
      expect(() => assertRank("h", "t", tf.zeros([3]), 2)).toThrow("h: t has shape [3] (rank 1) but rank 2 is required. Fix: reshape it to rank 2");
    });
  });

  it("assertNonEmpty and assertNonNegative", () => {
    tf.tidy(() => {
      expect(() => assertNonEmpty("k", "t", tf.zeros([1]))).not.toThrow();
      expect(() => assertNonEmpty("k", "t", tf.zeros([0]))).toThrow(
        "k: t has shape [0], which holds no elements, so its mean is undefined. Fix: skip the update when the (mini)batch is empty, or check the batch size and number of minibatches",
      );
    });
    expect(() => assertNonNegative("k", "c", 0)).not.toThrow();
    expect(() => assertNonNegative("k", "c", -0.1)).toThrow("k: c must be a finite number ≥ 0, got -0.1. Fix: set c to a finite value ≥ 0");
    expect(() => assertNonNegative("k", "c", Number.POSITIVE_INFINITY)).toThrow(/got Infinity/);
  });
});
