import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { approxKl, clipFraction, klK1, klK3 } from "../../src/loss/kl.js";
import { describeEachBackend, gradAt, expectValues, scalarValue, t1 } from "./backends.js";

const ln = Math.log;

describeEachBackend("KL estimators", () => {
  it("k3 matches docs/methods.md §0: 0.193147, 0.306853 swapped, 0 when equal", () => {
    tf.tidy(() => {
      const k3 = klK3(t1([ln(0.5), ln(0.25), ln(0.3)]), t1([ln(0.25), ln(0.5), ln(0.3)]));
      expectValues(k3, [0.193147, 0.306853, 0], 6);
    });
  });

  it("k3 keeps precision for nearly equal policies", () => {
    tf.tidy(() => {
      // x = 1e-3: exp(x) − x − 1 = 5.0016671e-7; a naive float32 exp(x) − 1 is off by ~10 %.
      const k3 = scalarValue(tf.sum(klK3(t1([0]), t1([1e-3]))));
      expect(Math.abs(k3 - 5.0016671e-7) / 5.0016671e-7).toBeLessThan(1e-3);
    });
  });

  it("k3 has gradient 1 − π_ref/π wrt logπ", () => {
    tf.tidy(() => {
      const grad = gradAt((lp: tf.Tensor1D) => tf.sum(klK3(lp, t1([ln(0.25), ln(0.5)]))), t1([ln(0.5), ln(0.25)]));
      expectValues(grad, [0.5, -1], 6);
    });
  });

  it("k1 is logπ − logπ_ref", () => {
    tf.tidy(() => {
      expectValues(klK1(t1([ln(0.5), ln(0.25), -1]), t1([ln(0.25), ln(0.5), -1])), [ln(2), -ln(2), 0], 6);
    });
  });

  it("approxKl is mean((ρ − 1) − log ρ)", () => {
    tf.tidy(() => {
      // ρ = 1.5, 0.5, 1: (0.5 − ln 1.5 + (−0.5) − ln 0.5 + 0) / 3
      const kl = approxKl(t1([ln(1.5) - 1, ln(0.5) - 2, -3]), t1([-1, -2, -3]));
      expect(scalarValue(kl)).toBeCloseTo(0.0958940, 6);
    });
  });

  it("clipFraction counts ratios outside the (asymmetric) clip range", () => {
    tf.tidy(() => {
      const lp = t1([1.5, 0.5, 1.1, 0.85, 1.25].map(ln));
      const old = t1([0, 0, 0, 0, 0]);
      expect(scalarValue(clipFraction(lp, old, 0.2))).toBeCloseTo(3 / 5, 6); // 1.5, 0.5, 1.25
      expect(scalarValue(clipFraction(lp, old, 0.2, 0.28))).toBeCloseTo(2 / 5, 6); // 1.25 now inside
      expect(scalarValue(clipFraction(lp, old, 0.1, 0.28))).toBeCloseTo(3 / 5, 6); // 0.85 now outside
    });
  });

  it("rejects mismatched shapes", () => {
    tf.tidy(() => {
      expect(() => klK3(t1([0, 0]), t1([0]))).toThrow(/refLogProb has shape \[1\]/);
      expect(() => approxKl(t1([]), t1([]))).toThrow(/no elements/);
    });
  });
});
