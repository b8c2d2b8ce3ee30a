import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { weightedSum } from "../../src/loss/combine.js";
import { entropyBonus } from "../../src/loss/entropy.js";
import { describeEachBackend, gradAt, expectValues, scalarValue, t1 } from "./backends.js";

describeEachBackend("entropyBonus and weightedSum", () => {
  it("entropyBonus is −coef·mean(H) with gradient −coef/n", () => {
    tf.tidy(() => {
      expect(scalarValue(entropyBonus(t1([0.5, 0.7]), 0.01))).toBeCloseTo(-0.006, 7);
      const grad = gradAt((h: tf.Tensor1D) => entropyBonus(h, 0.01), t1([0.5, 0.7]));
      expectValues(grad, [-0.005, -0.005], 7);
    });
  });

  it("weightedSum composes PPO's L = L_pg − c_ent·mean(H) + c_v·L_v", () => {
    tf.tidy(() => {
      const total = weightedSum([
        { loss: tf.scalar(0.1), weight: 1 },
        { loss: entropyBonus(t1([0.5, 0.7]), 0.01), weight: 1 },
        { loss: tf.scalar(0.4), weight: 0.5 },
      ]);
      expect(scalarValue(total)).toBeCloseTo(0.1 - 0.006 + 0.2, 6);
    });
  });

  it("weightedSum returns a single weight-1 term itself and multiplies only weights ≠ 1 (as documented)", () => {
    tf.tidy(() => {
      const a = tf.scalar(0.3);
      expect(weightedSum([{ loss: a, weight: 1 }])).toBe(a);
      const scaled = weightedSum([{ loss: a, weight: 2 }]);
      expect(scaled).not.toBe(a);
      expect(scalarValue(scaled)).toBeCloseTo(0.6, 6);
    });
  });

  it("weightedSum passes gradients through with the weights", () => {
    tf.tidy(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        weightedSum([
          { loss: tf.sum(a) as tf.Scalar, weight: 2 },
          { loss: tf.sum(b) as tf.Scalar, weight: 0 },
        ]),
      )([t1([1, 2]), t1([3])]);
      expectValues(grads[0], [2, 2]);
      expectValues(grads[1], [0]);
    });
  });

  it("rejects empty term lists, non-scalar terms and non-finite weights", () => {
    tf.tidy(() => {
      expect(() => weightedSum([])).toThrow(/no loss terms/);
      expect(() => weightedSum([{ loss: t1([1, 2]) as unknown as tf.Scalar, weight: 1 }])).toThrow(/scalar is required/);
      expect(() => weightedSum([{ loss: tf.scalar(1), weight: Number.NaN }])).toThrow(/weight NaN/);
      expect(() => entropyBonus(t1([1]), Number.POSITIVE_INFINITY)).toThrow(/coef must be a finite number/);
    });
  });
});
