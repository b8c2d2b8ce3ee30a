import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { categoricalKl, gaussianKl, mdpoLoss, mdpoRatioAdvantage, mdpoStepSize } from "../../src/loss/mdpo.js";
import { describeEachBackend, expectValues, gradAt, scalarValue, t1 } from "./backends.js";

describe("mdpoStepSize (docs/methods.md §4)", () => {
  it("K_total = 100: iteration 1 → 1.0, 50 → 0.51, 100 → 0.01", () => {
    expect(mdpoStepSize(1, 100)).toBe(1);
    expect(mdpoStepSize(50, 100)).toBeCloseTo(0.51, 12);
    expect(mdpoStepSize(100, 100)).toBeCloseTo(0.01, 12);
    expect(1 / mdpoStepSize(100, 100)).toBeCloseTo(100, 8);
  });

  it("the authors' schedule starts one iteration early: t_1 = 1 + 1/K, t_K = 2/K (final KL weight K/2)", () => {
    expect(mdpoStepSize(1, 100, "authors")).toBeCloseTo(1.01, 12);
    expect(mdpoStepSize(2, 100, "authors")).toBe(1);
    expect(mdpoStepSize(100, 100, "authors")).toBeCloseTo(0.02, 12);
    expect(1 / mdpoStepSize(100, 100, "authors")).toBeCloseTo(50, 8);
    expect(mdpoStepSize(101, 100, "authors")).toBeCloseTo(0.01, 12);
    expect(() => mdpoStepSize(102, 100, "authors")).toThrow(/past kTotal = 100/);
  });

  it("accepts a non-integer K_total and rejects iterations past it", () => {
    expect(mdpoStepSize(2, 2.5)).toBeCloseTo(0.6, 12);
    expect(() => mdpoStepSize(0, 100)).toThrow(/k must be an integer ≥ 1/);
    expect(() => mdpoStepSize(101, 100)).toThrow(/past kTotal = 100/);
    expect(() => mdpoStepSize(1, 0)).toThrow(/kTotal must be a positive number/);
  });
});

describeEachBackend("MDPO loss terms", () => {
  it("KL(N(0.5, 1) ‖ N(0, 1)) = 0.125", () => {
    tf.tidy(() => {
      const kl = gaussianKl(tf.tensor2d([[0.5]]), t1([0]), tf.tensor2d([[0]]), t1([0]));
      expectValues(kl, [0.125], 6);
    });
  });

  it("Gaussian KL: scale term, sum over dimensions, per-row log-stds", () => {
    tf.tidy(() => {
      // Row 0: dim 0 KL(N(0, e^0.5)‖N(0,1)) = e/2 − 1, dim 1 KL(N(1,1)‖N(0,1)) = 0.5.
      // Row 1: KL(N(0,1)‖N(0, e^0.5)) = 0.5 + 1/(2e) − 0.5 = 1/(2e) per dim, two dims.
      const kl = gaussianKl(
        tf.tensor2d([[0, 1], [0, 0]]),
        tf.tensor2d([[0.5, 0], [0, 0]]),
        tf.tensor2d([[0, 0], [0, 0]]),
        tf.tensor2d([[0, 0], [0.5, 0.5]]),
      );
      expectValues(kl, [Math.E / 2 - 1 + 0.5, 2 * (0.5 + 1 / (2 * Math.E) - 0.5)], 5);
    });
  });

  it("Gaussian KL and its gradient are zero at θ = θk", () => {
    tf.tidy(() => {
      const mean = tf.tensor2d([[0.3, -1.2], [2, 0.7]]);
      const logStd = t1([-0.4, 0.2]);
      expectValues(gaussianKl(mean, logStd, mean, logStd), [0, 0], 6);
      const gMean = gradAt((m: tf.Tensor2D) => tf.sum(gaussianKl(m, logStd, mean, logStd)), mean);
      const gStd = gradAt((s: tf.Tensor1D) => tf.sum(gaussianKl(mean, s, mean, logStd)), logStd);
      expectValues(gMean, [0, 0, 0, 0], 6);
      expectValues(gStd, [0, 0], 6);
    });
  });

  it("categorical KL: KL([½,½] ‖ [¼,¾]) = ½ln2 + ½ln(2/3); zero with zero gradient when equal", () => {
    tf.tidy(() => {
      const logits = tf.tensor2d([[0, 0], [1, -2]]);
      const old = tf.tensor2d([[Math.log(0.25), Math.log(0.75)], [1, -2]]);
      expectValues(categoricalKl(logits, old), [0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 0], 6);
      expectValues(gradAt((x: tf.Tensor2D) => tf.sum(categoricalKl(x, old)), old), [0, 0, 0, 0], 6);
    });
  });

  it("mdpoLoss = −mean(ρÂ) + (1/t_k)·mean(KL)", () => {
    tf.tidy(() => {
      expect(scalarValue(mdpoLoss(t1([1, 2, 3]), t1([0.1, 0.3]), 0.5))).toBeCloseTo(-2 + 0.2 / 0.5, 6);
      // ρ = [2, ½], Â = [1, 4] → ρÂ = [2, 2]
      expectValues(mdpoRatioAdvantage(t1([Math.log(2), Math.log(0.5)]), t1([0, 0]), t1([1, 4])), [2, 2], 5);
    });
  });

  it("at θ = θk the first step is a plain policy-gradient step, whatever t_k", () => {
    tf.tidy(() => {
      const old = tf.tensor2d([[0.2, -0.1], [1, 0.5], [-0.3, 0.4]]);
      const actions = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 1], "int32"), 2), "float32");
      const adv = t1([1, -0.5, 2]);
      const logProbOf = (x: tf.Tensor2D) => tf.sum(tf.mul(tf.logSoftmax(x), actions), 1) as tf.Tensor1D;
      const oldLogProb = logProbOf(old);
      const mdpo = gradAt(
        (x: tf.Tensor2D) => mdpoLoss(mdpoRatioAdvantage(logProbOf(x), oldLogProb, adv), categoricalKl(x, old), 0.01),
        old,
      );
      const pg = gradAt((x: tf.Tensor2D) => tf.neg(tf.mean(tf.mul(adv, logProbOf(x)))), old);
      expectValues(mdpo, Array.from(pg.dataSync()), 5);
      expect(Math.max(...Array.from(pg.dataSync()).map(Math.abs))).toBeGreaterThan(0.01);
    });
  });

  it("rejects bad shapes and step sizes", () => {
    tf.tidy(() => {
      expect(() => gaussianKl(tf.tensor2d([[0, 0]]), t1([0]), tf.tensor2d([[0, 0]]), t1([0, 0]))).toThrow(/logStd has shape \[1\]/);
      // A log-std is [D] (state-independent) or [B, D]; [B] alone, [D, B] or rank 3 are refused.
      const m = tf.tensor2d([[0, 0, 0], [0, 0, 0]]);
      expect(() => gaussianKl(m, tf.zeros([2, 3]), m, tf.zeros([3]))).not.toThrow();
      expect(() => gaussianKl(m, tf.zeros([2]), m, tf.zeros([3]))).toThrow(/gaussianKl: logStd has shape \[2\] but the means have shape \[2, 3\]/);
      expect(() => gaussianKl(m, tf.zeros([3, 2]), m, tf.zeros([3]))).toThrow(/logStd has shape \[3, 2\]/);
      expect(() => gaussianKl(m, tf.zeros([1, 3]), m, tf.zeros([3]))).toThrow(/logStd has shape \[1, 3\]/);
      expect(() => gaussianKl(m, tf.zeros([2, 3, 1]), m, tf.zeros([3]))).toThrow(/logStd has shape \[2, 3, 1\]/);
      expect(() => gaussianKl(m, tf.zeros([3]), m, tf.zeros([2, 2]))).toThrow(/oldLogStd has shape \[2, 2\].*Fix: pass a log-std of shape \[2, 3\] or \[3\]/);
      expect(() => categoricalKl(tf.tensor2d([[0, 0]]), tf.tensor2d([[0, 0, 0]]))).toThrow(/shape/);
      expect(() => mdpoLoss(t1([1]), t1([0]), 0)).toThrow(/t_k must be a positive number/);
    });
  });
});
