import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { approxKl, approxKlArrays, clipFraction, clipFractionArrays } from "../../src/loss/kl.js";
import { clippedSurrogate, clippedSurrogateArrays } from "../../src/loss/surrogate.js";
import { valueLoss, valueLossArrays } from "../../src/loss/value.js";
import { describeEachBackend, gradAt, t1 } from "./backends.js";

// Log-ratios from far below to far above the clip range, with both signs of the advantage;
// 0 is ρ = 1 exactly (inside the range, where both surrogate terms tie).
const logProb = Float32Array.from([-0.9, -0.5, -0.3, -0.1, 0, 0, 0.05, 0.1, 0.3, 0.5, 0.9, -0.2]);
const oldLogProb = Float32Array.from([-0.5, -0.6, -0.1, -0.1, 0, -0.3, 0.2, 0.4, 0.1, 0.1, 0.2, -0.2]);
const adv = Float32Array.from([1, -1, 2, -0.5, 1, -1, 0.3, -2, 1.5, -1, 1, 0]);

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, digits = 6): void {
  expect(Array.from(a)).toEqual(Array.from(b).map((x) => expect.closeTo(x, digits)));
}

describeEachBackend("typed-array loss twins", () => {
  it("clippedSurrogateArrays gives the tensor version's losses and gradient", () => {
    for (const [low, high] of [[0.2, 0.2], [0.2, 0.28]]) {
      const loss = new Float32Array(adv.length);
      const grad = new Float32Array(adv.length);
      clippedSurrogateArrays(logProb, oldLogProb, adv, low, high, loss, grad);
      tf.tidy(() => {
        const f = (x: tf.Tensor1D) => clippedSurrogate(x, t1([...oldLogProb]), t1([...adv]), low, high);
        expectClose(loss, f(t1([...logProb])).dataSync());
        expectClose(grad, gradAt((x: tf.Tensor1D) => tf.sum(f(x)), t1([...logProb])).dataSync());
      });
      expect(grad.some((g) => g === 0)).toBe(true); // some samples are clipped: both branches are tested
      expect(grad.some((g) => g !== 0)).toBe(true);
    }
  });

  it("valueLossArrays gives the tensor version's loss and gradient, clipped and not", () => {
    const values = Float32Array.from([0.5, 1.5, -0.3, 2, 0.1, 0.9]);
    const returns = Float32Array.from([1, 1, 0.2, -1, 0.1, 3]);
    const oldValues = Float32Array.from([0.4, 1.9, -0.2, 1, 0.6, 1]);
    for (const clip of [undefined, 0.2]) {
      const grad = new Float32Array(values.length);
      const old = clip === undefined ? undefined : oldValues;
      const loss = valueLossArrays(values, returns, old, clip, grad);
      tf.tidy(() => {
        const f = (v: tf.Tensor1D) => valueLoss(v, t1([...returns]), old && t1([...old]), clip);
        expect(loss).toBeCloseTo(f(t1([...values])).dataSync()[0], 5);
        expectClose(grad, gradAt(f, t1([...values])).dataSync());
      });
    }
    expect(() => valueLossArrays(values, returns, undefined, 0.2, new Float32Array(6))).toThrow(/without oldValues/);
    expect(() => valueLossArrays(values, returns.subarray(1), undefined, undefined, new Float32Array(6))).toThrow(/length/);
  });

  it("approxKlArrays and clipFractionArrays give the tensor diagnostics", () => {
    tf.tidy(() => {
      const [lp, old] = [t1([...logProb]), t1([...oldLogProb])];
      expect(approxKlArrays(logProb, oldLogProb)).toBeCloseTo(approxKl(lp, old).dataSync()[0], 6);
      expect(clipFractionArrays(logProb, oldLogProb, 0.2)).toBeCloseTo(clipFraction(lp, old, 0.2).dataSync()[0], 6);
      expect(clipFractionArrays(logProb, oldLogProb, 0.1, 0.3)).toBeCloseTo(clipFraction(lp, old, 0.1, 0.3).dataSync()[0], 6);
      expect(clipFractionArrays(logProb, oldLogProb, 0.2)).toBeGreaterThan(0); // some ratios are outside
    });
  });
});
