import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import {
  EPO_SMOOTHING_DEFAULTS,
  EntropyHistory,
  epoBandStats,
  epoEntropyLoss,
  epoEntropyTerm,
  epoPhaseWeight,
  epoSmoothingApplies,
  smoothingPenalty,
} from "../../src/loss/epo.js";
import { describeEachBackend, expectValues, gradAt, scalarValue, t1 } from "./backends.js";

describe("epoPhaseWeight (docs/methods.md §5)", () => {
  it("E = 100: 0 → 1.0, 25 → 0.8736, 50 → 0.8271, 51 → 0.7534, 75 → 0.1785, 100 → 0.0398", () => {
    const expected: [number, number][] = [[0, 1.0], [25, 0.8736], [50, 0.8271], [51, 0.7534], [75, 0.1785], [100, 0.0398]];
    for (const [e, w] of expected) expect(epoPhaseWeight(e, 100)).toBeCloseTo(w, 4);
  });

  it("handles E = 1 and rejects epochs outside [0, E]", () => {
    expect(epoPhaseWeight(0, 1)).toBe(1);
    expect(epoPhaseWeight(1, 1)).toBeCloseTo(0.8 * Math.exp(-3), 10);
    expect(() => epoPhaseWeight(101, 100)).toThrow(/epoch e must be in \[0, 100\]/);
    expect(() => epoPhaseWeight(0, 0)).toThrow(/E must be an integer ≥ 1/);
    expect(() => epoPhaseWeight(-1, 100)).toThrow(/epoch e must be in \[0, 100\], got -1/);
    expect(() => epoPhaseWeight(Number.NaN, 100)).toThrow(/epoch e must be in \[0, 100\], got NaN/);
  });
});

describe("EntropyHistory", () => {
  it("[1,2] and [3,4] → Ĥ = [2,3]", () => {
    const h = new EntropyHistory(2);
    h.append([1, 2]);
    h.append([3, 4]);
    expect(h.size).toBe(2);
    expect(Array.from(h.reference())).toEqual([2, 3]);
  });

  it("left-pads short vectors with zeros and keeps the last J values of long ones", () => {
    const h = new EntropyHistory(3);
    h.append([2, 4]); // → [0, 2, 4]
    h.append([9, 1, 2, 3]); // → [1, 2, 3]
    expect(Array.from(h.reference())).toEqual([0.5, 2, 3.5]);
  });

  it("is zero before the first append and round-trips its state", () => {
    const h = new EntropyHistory(2);
    expect(Array.from(h.reference())).toEqual([0, 0]);
    h.append([1, 3]);
    const copy = new EntropyHistory(2);
    copy.setState(JSON.parse(JSON.stringify(h.getState())));
    copy.append([3, 5]);
    expect(Array.from(copy.reference())).toEqual([2, 4]);
    expect(() => new EntropyHistory(3).setState(h.getState())).toThrow(/does not fit a history of 3 turns/);
    expect(() => h.append([NaN])).toThrow(/turn 0 has entropy NaN/);
  });

  it("takes one turn or more, and refuses any saved state that does not fit", () => {
    expect(new EntropyHistory(1).turns).toBe(1);
    expect(() => new EntropyHistory(0)).toThrow(/EntropyHistory: turns must be an integer ≥ 1, got 0/);
    expect(() => new EntropyHistory(1.5)).toThrow(/turns must be an integer ≥ 1, got 1.5/);
    const h = new EntropyHistory(2);
    const good = { turns: 2, iterations: 1, sums: [1, 3] };
    h.setState(good);
    expect(Array.from(h.reference())).toEqual([1, 3]);
    const bad = [
      null,
      { ...good, turns: 3 },
      { ...good, iterations: -1 },
      { ...good, iterations: 0.5 },
      { ...good, sums: [1] },
      { ...good, sums: [1, Number.NaN] },
      { ...good, sums: [Number.NaN, 1] },
      { ...good, sums: "13" },
    ];
    for (const state of bad) expect(() => h.setState(state as never)).toThrow(/does not fit a history of 2 turns/);
    // A zero-iteration state is a fresh history.
    h.setState({ turns: 2, iterations: 0, sums: [0, 0] });
    expect(h.size).toBe(0);
  });
});

describe("epoSmoothingApplies", () => {
  it("applies only when a turn index reaches J/2", () => {
    expect(epoSmoothingApplies([0, 3, 24], 50)).toBe(false);
    expect(epoSmoothingApplies([0, 25], 50)).toBe(true);
  });
});

describeEachBackend("EPO band statistics (metrics)", () => {
  it("P is the token-mean penalty and the out-of-band fraction counts boundaries as outside", () => {
    tf.tidy(() => {
      const H = t1([0.5, 0.8, 1, 1.5]); // Ĥ = 1, band (0.8, 1.2): 0.5, 0.8 and 1.5 are outside
      expectValues(epoBandStats(H, 1, { mode: "differentiable" }), [(0.3 + 0 + 0 + 0.3) / 4, 0.75], 6);
      expectValues(epoBandStats(H, 1, { mode: "as-coded" }), [(0.1 * 3) / 4, 0.75], 6);
      expectValues(epoBandStats(H, t1([1, 1, 1, 1]), { kappaLow: 0, kappaHigh: 10 }), [0, 0], 6);
    });
  });
});

describeEachBackend("EPO entropy smoothing", () => {
  const H = [0.7, 0.9, 1.1, 1.3];

  it("documents the repository's defaults", () => {
    expect(EPO_SMOOTHING_DEFAULTS).toEqual({ kappaLow: 0.8, kappaHigh: 1.2, penalty: 0.1, mode: "as-coded" });
  });

  it("Ĥ = 1, H = [0.7, 0.9, 1.1, 1.3] → p = [0.1, 0, 0, 0.1], P = 0.05, entropy term 0.95", () => {
    tf.tidy(() => {
      expectValues(smoothingPenalty(t1(H), 1), [0.1, 0, 0, 0.1], 6);
      expect(scalarValue(tf.mean(smoothingPenalty(t1(H), t1([1, 1, 1, 1]))))).toBeCloseTo(0.05, 6);
      expect(scalarValue(epoEntropyTerm(t1(H), 1))).toBeCloseTo(0.95, 6);
      expect(scalarValue(epoEntropyLoss(t1(H), 1, { entropyCoef: 1 }))).toBeCloseTo(-0.95, 6);
      expect(scalarValue(epoEntropyLoss(t1(H), 1))).toBeCloseTo(-0.001 * 0.95, 8);
    });
  });

  it("counts the band's edges (exactly 0.8·Ĥ and 1.2·Ĥ) as outside", () => {
    tf.tidy(() => {
      expectValues(smoothingPenalty(t1([0.8, 1.2, 0.81, 1.19]), 1), [0.1, 0.1, 0, 0], 6);
      expectValues(smoothingPenalty(t1([1.6, 2.4, 2]), t1([2, 2, 2])), [0.1, 0.1, 0], 6);
    });
  });

  it("as coded, the penalty has no gradient; the entropy mean still has one", () => {
    tf.tidy(() => {
      expectValues(gradAt((h: tf.Tensor1D) => tf.sum(smoothingPenalty(h, 1)), t1(H)), [0, 0, 0, 0], 6);
      // d/dH of mean(H) − P = 1/4 per token.
      expectValues(gradAt((h: tf.Tensor1D) => epoEntropyTerm(h, 1), t1(H)), [0.25, 0.25, 0.25, 0.25], 6);
    });
  });

  it("the differentiable variant (UNVERIFIED) is relu(κl·Ĥ − H) + relu(H − κr·Ĥ) and pulls H into the band", () => {
    tf.tidy(() => {
      const opts = { mode: "differentiable" as const };
      expectValues(smoothingPenalty(t1(H), 1, opts), [0.1, 0, 0, 0.1], 6);
      expectValues(smoothingPenalty(t1([0.5, 1.5]), 1, opts), [0.3, 0.3], 6);
      expectValues(gradAt((h: tf.Tensor1D) => tf.sum(smoothingPenalty(h, 1, opts)), t1(H)), [-1, 0, 0, 1], 6);
    });
  });

  it("scales P by c_s·w and can be switched off", () => {
    tf.tidy(() => {
      expect(scalarValue(epoEntropyTerm(t1(H), 1, { smoothCoef: 2, phaseWeight: 0.5 }))).toBeCloseTo(0.95, 6);
      expect(scalarValue(epoEntropyTerm(t1(H), 1, { smoothCoef: 1, phaseWeight: 0.5 }))).toBeCloseTo(0.975, 6);
      expect(scalarValue(epoEntropyTerm(t1(H), 1, { applySmoothing: false }))).toBeCloseTo(1, 6);
    });
  });

  it("rejects a reference of the wrong shape and bad options", () => {
    tf.tidy(() => {
      expect(() => smoothingPenalty(t1(H), t1([1, 1]))).toThrow(/reference has shape \[2\]/);
      expect(() => smoothingPenalty(t1(H), 1, { kappaLow: 1.3 })).toThrow(/kappaHigh/);
      expect(() => smoothingPenalty(t1(H), 1, { mode: "seq" as never })).toThrow(/mode "seq"/);
      expect(() => smoothingPenalty(t1(H), tf.ones([4, 1]) as unknown as tf.Tensor1D)).toThrow(/reference has shape \[4, 1\] but tokenEntropy has shape \[4\]/);
      expect(() => smoothingPenalty(t1(H), 1, { kappaHigh: Number.POSITIVE_INFINITY })).toThrow(/kappaHigh \(Infinity\) must be finite/);
      // A band of zero width is allowed: every token is outside it.
      expectValues(smoothingPenalty(t1([0.5, 1, 1.5]), 1, { kappaLow: 1, kappaHigh: 1, mode: "differentiable" }), [0.5, 0, 0.5], 6);
      expect(() => epoEntropyTerm(t1(H), 1, { smoothCoef: Number.NaN })).toThrow(/epoEntropyTerm: smoothCoef must be a finite number, got NaN/);
      expect(() => epoEntropyTerm(t1(H), 1, { phaseWeight: Number.POSITIVE_INFINITY })).toThrow(/epoEntropyTerm: phaseWeight must be a finite number, got Infinity/);
      expect(() => epoEntropyLoss(t1(H), 1, { entropyCoef: Number.NaN })).toThrow(/epoEntropyLoss: entropyCoef must be a finite number, got NaN/);
      expect(() => epoEntropyTerm(tf.ones([2, 2]) as unknown as tf.Tensor1D, 1)).toThrow(/epoEntropyTerm: tokenEntropy has shape \[2, 2\] \(rank 2\) but rank 1 is required/);
    });
  });

  it("does not leak tensors", () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      tf.grad((h: tf.Tensor) => epoEntropyLoss(h as tf.Tensor1D, 1))(t1(H));
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
