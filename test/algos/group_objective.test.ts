// The group algorithms' per-minibatch loss, checked against the objective written out here
// independently (plain float64 JS): value and gradient (central finite differences) with
// respect to every step's log-prob and entropy. A flipped KL sign, a reversed KL direction,
// a wrong clip side, aggregation or entropy sign makes these fail.
import * as tf from "@tensorflow/tfjs-core";
import { expect, it } from "vitest";
import { epoTerm, groupStepLoss, type EpoSettings, type GroupRecipe } from "../../src/algos/group_engine.js";
import type { AggregationMode } from "../../src/loss/aggregate.js";
import { describeEachBackend } from "../loss/backends.js";

const lp = [-0.5, -1.0, -0.7, -0.2, -1.5];
const old = [-0.6, -0.9, -0.7, -0.45, -1.2];
const ref = [-0.55, -1.1, -0.6, -0.3, -1.3];
const adv = [1, 1, -0.5, -0.5, -0.5];
const entropy = [0.6, 0.5, 0.4, 0.7, 0.3];
const lengths = [2, 3];
const MAX_LEN = 4;

interface Objective {
  objective: "clip" | "pg";
  clip: number;
  beta: number;
  entCoef: number;
  aggregation: AggregationMode;
  /** The KL estimator (default k3). */
  estimator?: "k1" | "k3";
}

/** ℓ_t = surrogate + β·k3(π_θ‖π_ref) − entCoef·H, aggregated over episodes: the reference formulas. */
function reference(o: Objective, logp: number[], h: number[]): number {
  const perStep = logp.map((l, t) => {
    const ratio = Math.exp(l - old[t]);
    const clipped = Math.min(Math.max(ratio, 1 - o.clip), 1 + o.clip);
    const surrogate = o.objective === "clip" ? -Math.min(ratio * adv[t], clipped * adv[t]) : -adv[t] * l;
    const x = ref[t] - l; // k3 with x = log π_ref − log π_θ estimates KL(π_θ ‖ π_ref); k1 is −x
    const kl = o.estimator === "k1" ? -x : Math.exp(x) - x - 1;
    return surrogate + o.beta * kl - o.entCoef * h[t];
  });
  const episodes = [perStep.slice(0, 2), perStep.slice(2)];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  if (o.aggregation === "grpo") return sum(episodes.map((e) => sum(e) / e.length)) / episodes.length;
  if (o.aggregation === "bnpo") return sum(perStep) / perStep.length;
  return sum(perStep) / (episodes.length * MAX_LEN);
}

function numericGrad(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const up = x.slice();
    const down = x.slice();
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

function recipe(o: Objective): GroupRecipe {
  return {
    objective: o.objective,
    clipLow: o.clip,
    clipHigh: o.clip,
    lossAggregation: o.aggregation,
    entCoef: o.entCoef,
    kl: o.beta > 0 ? { beta: o.beta, estimator: o.estimator ?? "k3", refUpdateEvery: 0 } : null,
    epo: null,
  } as unknown as GroupRecipe;
}

const mb = { oldLogProbs: Float32Array.from(old), advantages: Float32Array.from(adv), refLogProbs: Float32Array.from(ref), lengths };

function engineLoss(o: Objective, logp: tf.Tensor1D, h: tf.Tensor1D): tf.Scalar {
  return groupStepLoss(recipe(o), logp, h, mb, MAX_LEN, null).loss;
}

describeEachBackend("groupStepLoss equals the objective written out independently", () => {
  const cases: Objective[] = [
    { objective: "clip", clip: 0.2, beta: 0.3, entCoef: 0.05, aggregation: "grpo" },
    { objective: "clip", clip: 0.2, beta: 0.3, entCoef: 0.05, aggregation: "bnpo" },
    { objective: "clip", clip: 0.1, beta: 0.04, entCoef: 0, aggregation: "dr_grpo" },
    { objective: "pg", clip: 0.2, beta: 0, entCoef: 0.01, aggregation: "bnpo" },
    { objective: "clip", clip: 0.2, beta: 0.3, entCoef: 0.05, aggregation: "grpo", estimator: "k1" },
  ];
  for (const o of cases) {
    it(`${o.objective}, β ${o.beta} (${o.estimator ?? "k3"}), entCoef ${o.entCoef}, ${o.aggregation}: value and gradients`, () => {
      tf.tidy(() => {
        const value = engineLoss(o, tf.tensor1d(lp), tf.tensor1d(entropy)).dataSync()[0];
        expect(value).toBeCloseTo(reference(o, lp, entropy), 5);
        const wantLp = numericGrad((x) => reference(o, x, entropy), lp);
        const wantH = numericGrad((x) => reference(o, lp, x), entropy);
        if (o.entCoef > 0) {
          const [dLp, dH] = tf.grads((a: tf.Tensor, b: tf.Tensor) => engineLoss(o, a as tf.Tensor1D, b as tf.Tensor1D))([tf.tensor1d(lp), tf.tensor1d(entropy)]);
          expect(Array.from(dLp.dataSync())).toEqual(wantLp.map((g) => expect.closeTo(g, 4)));
          expect(Array.from(dH.dataSync())).toEqual(wantH.map((g) => expect.closeTo(g, 4)));
        } else {
          const dLp = tf.grad((a: tf.Tensor) => engineLoss(o, a as tf.Tensor1D, tf.tensor1d(entropy)))(tf.tensor1d(lp));
          expect(Array.from(dLp.dataSync())).toEqual(wantLp.map((g) => expect.closeTo(g, 4)));
          expect(wantH.every((g) => Math.abs(g) < 1e-9)).toBe(true); // without a bonus the entropy does not enter
        }
      });
    });
  }

  it("EPO's differentiable term: −c_H·(H̄ − c_s·P), P the mean relu distance to the band around Ĥ of each step's turn", () => {
    const e: EpoSettings = { entropyCoef: 0.5, smoothCoef: 2, kappaLow: 0.8, kappaHigh: 1.2, penalty: 0.1, smoothing: "differentiable", turns: 2, phaseWeights: false };
    const turns = Int32Array.from([0, 1, 0, 0, 1]); // a turn ≥ J/2 is present, so P applies
    const turnReference = Float32Array.from([0.5, 0.45, 0.5, 0.5, 0.45]);
    // Bands (0.4, 0.6) and (0.36, 0.54): above, inside, below, inside, below — no point on an edge (a kink).
    const h0 = [0.65, 0.5, 0.3, 0.45, 0.2];
    const want = (h: number[]) => {
      const P = h.reduce((s, x, t) => s + Math.max(0, 0.8 * turnReference[t] - x) + Math.max(0, x - 1.2 * turnReference[t]), 0) / h.length;
      const mean = h.reduce((a, b) => a + b, 0) / h.length;
      return -0.5 * (mean - 2 * P);
    };
    tf.tidy(() => {
      const term = (h: tf.Tensor1D) => epoTerm(e, h, { turns, turnReference }, 0.3).loss;
      expect(term(tf.tensor1d(h0)).dataSync()[0]).toBeCloseTo(want(h0), 5);
      const grad = tf.grad((h: tf.Tensor) => term(h as tf.Tensor1D))(tf.tensor1d(h0));
      expect(Array.from(grad.dataSync())).toEqual(numericGrad(want, h0).map((g) => expect.closeTo(g, 4)));
    });
  });
});
