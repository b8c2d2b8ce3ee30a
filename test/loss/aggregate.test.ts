import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { aggregate } from "../../src/loss/aggregate.js";
import { describeEachBackend, gradAt, expectValues, scalarValue } from "./backends.js";

// docs/methods.md §2: lengths 2 and 4, per-token losses 1 and 2, L_max = 4. Padded
// positions hold 9 so that a missing mask would show.
const losses = [
  [1, 1, 9, 9],
  [2, 2, 2, 2],
];
const mask = [
  [1, 1, 0, 0],
  [1, 1, 1, 1],
];

describeEachBackend("aggregate", () => {
  it("matches the §2 numbers: grpo 1.5, bnpo 1.666667, dr_grpo 1.25", () => {
    tf.tidy(() => {
      const l = tf.tensor2d(losses);
      const m = tf.tensor2d(mask);
      expect(scalarValue(aggregate(l, m, "grpo"))).toBeCloseTo(1.5, 6);
      expect(scalarValue(aggregate(l, m, "bnpo"))).toBeCloseTo(1.666667, 6);
      expect(scalarValue(aggregate(l, m, "dr_grpo", 4))).toBeCloseTo(1.25, 6);
    });
  });

  it("uses L_max = T for dr_grpo by default and the constant maxLen otherwise", () => {
    tf.tidy(() => {
      const l = tf.tensor2d(losses);
      const m = tf.tensor2d(mask);
      expect(scalarValue(aggregate(l, m, "dr_grpo"))).toBeCloseTo(1.25, 6);
      expect(scalarValue(aggregate(l, m, "dr_grpo", 8))).toBeCloseTo(10 / 16, 6);
      // maxLen only matters for dr_grpo
      expect(scalarValue(aggregate(l, m, "grpo", 8))).toBeCloseTo(1.5, 6);
    });
  });

  it("weights tokens as each mode says (gradient wrt the per-token losses)", () => {
    tf.tidy(() => {
      const m = tf.tensor2d(mask);
      const grad = (mode: "grpo" | "bnpo" | "dr_grpo") =>
        gradAt((l: tf.Tensor2D) => aggregate(l, m, mode, 4), tf.tensor2d(losses));
      // grpo: 1/(B·|o_i|); bnpo: 1/Σm; dr_grpo: 1/(B·L_max); padding: 0
      expectValues(grad("grpo"), [0.25, 0.25, 0, 0, 0.125, 0.125, 0.125, 0.125], 6);
      expectValues(grad("bnpo"), [1, 1, 0, 0, 1, 1, 1, 1].map((x) => x / 6), 6);
      expectValues(grad("dr_grpo"), [1, 1, 0, 0, 1, 1, 1, 1].map((x) => x / 8), 6);
    });
  });

  it("lets an all-masked sequence contribute 0 while still counting in B (TRL's choice)", () => {
    tf.tidy(() => {
      const l = tf.tensor2d([...losses, [5, 5, 5, 5]]);
      const m = tf.tensor2d([...mask, [0, 0, 0, 0]]);
      expect(scalarValue(aggregate(l, m, "grpo"))).toBeCloseTo((1 + 2 + 0) / 3, 6);
      expect(scalarValue(aggregate(l, m, "bnpo"))).toBeCloseTo(10 / 6, 6);
      expect(scalarValue(aggregate(l, m, "dr_grpo", 4))).toBeCloseTo(10 / 12, 6);
    });
  });

  it("gives 0, not NaN, when every token is masked", () => {
    tf.tidy(() => {
      const l = tf.tensor2d(losses);
      const m = tf.zeros([2, 4]) as tf.Tensor2D;
      for (const mode of ["grpo", "bnpo", "dr_grpo"] as const) expect(scalarValue(aggregate(l, m, mode))).toBe(0);
    });
  });

  it("accepts a boolean mask", () => {
    tf.tidy(() => {
      const m = tf.tensor2d(mask.map((row) => row.map((x) => x === 1)), undefined, "bool");
      expect(scalarValue(aggregate(tf.tensor2d(losses), m, "grpo"))).toBeCloseTo(1.5, 6);
    });
  });

  it("rejects unknown modes, short maxLen and mismatched shapes", () => {
    tf.tidy(() => {
      const l = tf.tensor2d(losses);
      const m = tf.tensor2d(mask);
      expect(() => aggregate(l, m, "token_mean" as "grpo")).toThrow(/unknown aggregation mode "token_mean"/);
      expect(() => aggregate(l, m, "dr_grpo", 3)).toThrow(/≥ the padded length T = 4/);
      expect(() => aggregate(l, tf.tensor2d([[1, 1, 1, 1]]), "bnpo")).toThrow(/mask has shape \[1, 4\]/);
    });
  });
});
