import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { valueLoss } from "../../src/loss/value.js";
import { describeEachBackend, gradAt, expectValues, scalarValue, t1 } from "./backends.js";

// c = 0.2. Per element (unclipped (V−R)², clipped (V_old + clip(V−V_old) − R)²):
//   0: V=1,   V_old=0.5, R=2  → 1,    (0.7 − 2)²  = 1.69  → clipped wins
//   1: V=0,   V_old=0.5, R=−1 → 1,    (0.3 + 1)²  = 1.69  → clipped wins
//   2: V=2,   V_old=1,   R=1  → 1,    (1.2 − 1)²  = 0.04  → unclipped wins
//   3: V=0.5, V_old=0.5, R=0  → 0.25, 0.25               → tie
// clipped:   0.5·(1.69 + 1.69 + 1 + 0.25)/4 = 0.57875
// unclipped: 0.5·(1 + 1 + 1 + 0.25)/4      = 0.40625
const values = [1, 0, 2, 0.5];
const oldValues = [0.5, 0.5, 1, 0.5];
const returns = [2, -1, 1, 0];

describeEachBackend("valueLoss", () => {
  it("is 0.5·mean((V − R)²) without clipping", () => {
    tf.tidy(() => {
      expect(scalarValue(valueLoss(t1(values), t1(returns)))).toBeCloseTo(0.40625, 6);
      // oldValues alone does not switch clipping on
      expect(scalarValue(valueLoss(t1(values), t1(returns), t1(oldValues)))).toBeCloseTo(0.40625, 6);
    });
  });

  it("takes the elementwise max with the clipped loss", () => {
    tf.tidy(() => {
      expect(scalarValue(valueLoss(t1(values), t1(returns), t1(oldValues), 0.2))).toBeCloseTo(0.57875, 6);
    });
  });

  it("stops the gradient where the clipped, saturated branch is the larger", () => {
    tf.tidy(() => {
      const grad = gradAt((v: tf.Tensor1D) => valueLoss(v, t1(returns), t1(oldValues), 0.2), t1(values));
      // elements 0, 1: clipped branch active and clip saturated → 0;
      // elements 2, 3: unclipped branch → 0.5·2·(V − R)/4 = (V − R)/4
      expectValues(grad, [0, 0, 0.25, 0.125], 6);
    });
  });

  it("has no effect at the first step, when V = V_old (docs/methods.md §1 check)", () => {
    tf.tidy(() => {
      const clipped = valueLoss(t1(oldValues), t1(returns), t1(oldValues), 0.2);
      const plain = valueLoss(t1(oldValues), t1(returns));
      expect(scalarValue(clipped)).toBeCloseTo(scalarValue(plain), 7);
      expect(scalarValue(plain)).toBeCloseTo(0.5 * (2.25 + 2.25 + 0 + 0.25) / 4, 6);
    });
  });

  it("rejects clipCoef without oldValues, mismatched shapes and empty batches", () => {
    tf.tidy(() => {
      expect(() => valueLoss(t1(values), t1(returns), undefined, 0.2)).toThrow(/clipCoef was given without oldValues/);
      expect(() => valueLoss(t1(values), t1([1, 2]))).toThrow(/returns has shape \[2\]/);
      expect(() => valueLoss(t1([]), t1([]))).toThrow(/no elements/);
    });
  });
});
