import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { normalizeAdvantages } from "../../src/advantage/normalize.js";
import { clippedSurrogate, policyGradient } from "../../src/loss/surrogate.js";
import { describeEachBackend, gradAt, expectValues, scalarValue, t1 } from "./backends.js";

// docs/methods.md §0, ε = 0.2: the five (ρ, A) cases and their ℓ_clip.
const ratios = [1.5, 0.5, 1.5, 0.5, 1.1];
const advs = [1, 1, -1, -1, 2];
const expectedLoss = [-1.2, -0.5, 1.5, 0.8, -2.2];

describeEachBackend("clippedSurrogate", () => {
  it("matches the hand-computed ℓ_clip of docs/methods.md §0", () => {
    tf.tidy(() => {
      const loss = clippedSurrogate(t1(ratios.map(Math.log)), t1([0, 0, 0, 0, 0]), t1(advs), 0.2);
      expectValues(loss, expectedLoss);
    });
  });

  it("depends only on logπ − logπ_old", () => {
    tf.tidy(() => {
      const old = [-0.3, -2, -1, -0.1, -5];
      const loss = clippedSurrogate(t1(ratios.map((r, i) => Math.log(r) + old[i])), t1(old), t1(advs), 0.2);
      expectValues(loss, expectedLoss);
    });
  });

  it("clips asymmetrically with clipLow ≠ clipHigh", () => {
    tf.tidy(() => {
      // Range [0.8, 1.28]: (1.5, +1) → −1.28; (0.5, −1) → +0.8; (1.25, +1) is inside → −1.25.
      const loss = clippedSurrogate(t1([1.5, 0.5, 1.25].map(Math.log)), t1([0, 0, 0]), t1([1, -1, 1]), 0.2, 0.28);
      expectValues(loss, [-1.28, 0.8, -1.25]);
    });
  });

  it("has gradient −A wrt logπ when ρ ≡ 1", () => {
    tf.tidy(() => {
      const old = t1([-0.7, -1.2, -0.1]);
      const adv = t1([1, -2, 0.5]);
      // A separate tensor with equal values: passing `old` itself would differentiate ρ = exp(x − x).
      const grad = gradAt((lp: tf.Tensor1D) => tf.sum(clippedSurrogate(lp, old, adv, 0.2)), tf.clone(old));
      expectValues(grad, [-1, 2, -0.5], 6);
    });
  });

  it("has zero gradient where the clipped branch is active and −A·ρ elsewhere", () => {
    tf.tidy(() => {
      const old = t1([0, 0, 0, 0, 0]);
      const grad = gradAt((lp: tf.Tensor1D) => tf.sum(clippedSurrogate(lp, old, t1(advs), 0.2)), t1(ratios.map(Math.log)));
      // (1.5,+1) clipped → 0; (0.5,+1) → −0.5; (1.5,−1) → +1.5; (0.5,−1) clipped → 0; (1.1,2) → −2.2
      expectValues(grad, [0, -0.5, 1.5, 0, -2.2]);
    });
  });

  it("averages to 0 at ρ ≡ 1 with normalised advantages (docs/methods.md §1 check)", () => {
    tf.tidy(() => {
      const adv = normalizeAdvantages(new Float32Array([1.593446, 0.741569, 0.898, -0.2]));
      const lp = t1([-0.5, -0.9, -1.3, -0.2]);
      const loss = tf.mean(clippedSurrogate(lp, lp, tf.tensor1d(adv), 0.2));
      expect(scalarValue(loss)).toBeCloseTo(0, 6);
    });
  });

  it("rejects mismatched shapes and negative clip ranges", () => {
    tf.tidy(() => {
      const a = t1([0, 0]);
      expect(() => clippedSurrogate(a, a, t1([1, 1, 1]), 0.2)).toThrow(/shape_mismatch|adv has shape \[3\]/);
      expect(() => clippedSurrogate(a, a, tf.tensor2d([[1], [1]]) as unknown as tf.Tensor1D, 0.2)).toThrow(/adv has shape \[2, 1\]/);
      expect(() => clippedSurrogate(a, a, a, -0.1)).toThrow(/clipLow must be a finite number ≥ 0/);
    });
  });
});

describeEachBackend("policyGradient", () => {
  it("is −A·logπ per element with gradient −A", () => {
    tf.tidy(() => {
      const lp = t1([Math.log(0.5), Math.log(0.25), -1]);
      const adv = t1([1, -2, 0.5]);
      expectValues(policyGradient(lp, adv), [Math.log(2), 2 * Math.log(0.25), 0.5]);
      const grad = gradAt((x: tf.Tensor1D) => tf.sum(policyGradient(x, adv)), lp);
      expectValues(grad, [-1, 2, -0.5], 6);
    });
  });
});
