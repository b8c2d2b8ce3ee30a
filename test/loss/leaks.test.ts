import * as tf from "@tensorflow/tfjs-core";
import { afterEach, expect, it, vi } from "vitest";
import { aggregate } from "../../src/loss/aggregate.js";
import { weightedSum } from "../../src/loss/combine.js";
import { entropyBonus } from "../../src/loss/entropy.js";
import { approxKl, clipFraction, klK1, klK3 } from "../../src/loss/kl.js";
import { clippedSurrogate, policyGradient } from "../../src/loss/surrogate.js";
import { valueLoss } from "../../src/loss/value.js";
import { describeEachBackend, gradAt, t1 } from "./backends.js";

/** Every loss function once, plus a gradient through their sum, as an algorithm would. */
function everything(): tf.Scalar {
  const lp = t1([-0.5, -1, -2, -0.1]);
  const old = t1([-0.6, -0.8, -2, -0.5]);
  const adv = t1([1, -1, 0.5, 2]);
  const loss = (x: tf.Tensor1D): tf.Scalar => {
    const perToken = tf.add(clippedSurrogate(x, old, adv, 0.2, 0.28), klK3(x, old));
    return weightedSum([
      { loss: aggregate(tf.reshape(perToken, [2, 2]), tf.tensor2d([[1, 1], [1, 0]]), "grpo"), weight: 1 },
      { loss: aggregate(tf.reshape(perToken, [2, 2]), tf.ones([2, 2]), "dr_grpo", 3), weight: 0.5 },
      { loss: tf.mean(policyGradient(x, adv)), weight: 0.1 },
      { loss: tf.mean(klK1(x, old)), weight: 0.1 },
      { loss: valueLoss(x, adv, old, 0.2), weight: 0.5 },
      { loss: valueLoss(x, adv), weight: 0.5 },
      { loss: entropyBonus(tf.neg(x), 0.01), weight: 1 },
    ]);
  };
  gradAt(loss, lp);
  approxKl(lp, old);
  clipFraction(lp, old, 0.2);
  return loss(lp);
}

describeEachBackend("loss terms inside tf.tidy", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("leave no tensors behind", () => {
    everything().dispose(); // first call may create backend-side constants; measure after it
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      everything();
    });
    expect(tf.memory().numTensors).toBe(before);
    const kept = tf.tidy(() => everything());
    expect(tf.memory().numTensors).toBe(before + 1);
    kept.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("never read tensor data back (no sync inside the functions)", () => {
    const backend = tf.backend();
    const readSync = vi.spyOn(backend, "readSync");
    const read = vi.spyOn(backend, "read");
    tf.tidy(() => {
      everything();
    });
    expect(readSync).not.toHaveBeenCalled();
    expect(read).not.toHaveBeenCalled();
  });
});
