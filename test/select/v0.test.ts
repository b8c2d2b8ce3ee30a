import { describe, expect, it } from "vitest";
import { allocateBudget, binariseScores, enforceMinGroup, SuccessPredictor } from "../../src/select/v0.js";

describe("V₀ budgets", () => {
  it("binarises context scores at ≥ 0.5: [0.25, 0.5, 0.75] → [0, 1, 1]", () => {
    expect(Array.from(binariseScores([0.25, 0.5, 0.75]))).toEqual([0, 1, 1]);
  });
  it("p̂ = [0.02, 0.5, 0.9, 0.99], δ = 0.05, budget 16 → [0, 12, 4, 0]", () => {
    expect(allocateBudget([0.02, 0.5, 0.9, 0.99], 16, 0.05)).toEqual([0, 12, 4, 0]);
  });
  it("spends the whole budget by largest remainder, and nothing when every prompt is near-certain", () => {
    const a = allocateBudget([0.5, 0.5, 0.5], 10, 0.05);
    expect(a.reduce((x, y) => x + y, 0)).toBe(10);
    expect(a).toEqual([4, 3, 3]);
    expect(allocateBudget([0.01, 0.999], 8, 0.05)).toEqual([0, 0]);
  });
  it("groups of one give their episode to the largest group", () => {
    expect(enforceMinGroup([1, 12, 3, 0], 2)).toEqual([0, 13, 3, 0]);
  });
  it("the predictor moves towards the outcomes of similar prompts", () => {
    const p = new SuccessPredictor(100, 4);
    expect(p.predict("12*34=?")).toBe(0.5);
    for (let i = 0; i < 4; i++) p.record("11*11=?", 1);
    for (let i = 0; i < 4; i++) p.record("99*99+99=?", 0.25);
    expect(p.predict("11*12=?")).toBeCloseTo(5 / 6, 6);
    expect(p.predict("98*99+99=?")).toBeCloseTo(1 / 6, 6);
  });

  it("keeps a prompt whose p̂ is exactly δ or 1 − δ, and skips one just outside", () => {
    expect(allocateBudget([0.25, 0.75], 4, 0.25)).toEqual([2, 2]);
    expect(allocateBudget([0.2, 0.5, 0.8], 4, 0.25)).toEqual([0, 4, 0]);
  });
  it("hands the leftover units to the largest remainders, not to the earliest prompts", () => {
    // w = [0.25, 0.16]: shares 3.049 and 1.951 → floors [3, 1], the one unit left to prompt 1.
    expect(allocateBudget([0.5, 0.2], 5, 0.05)).toEqual([3, 2]);
    // w = [0.16, 0.25, 0.25], budget 3: shares 0.73, 1.14, 1.14 → the unit left goes to prompt 0.
    expect(allocateBudget([0.2, 0.5, 0.5], 3, 0.05)).toEqual([1, 1, 1]);
    // Equal remainders (shares 1.4 each) go to the earlier prompts.
    expect(allocateBudget([0.5, 0.5, 0.5, 0.5, 0.5], 7, 0.05)).toEqual([2, 2, 1, 1, 1]);
  });
  it("keeps groups of exactly minSize, gives freed units to the first of equal largest groups, and drops everything when no group reaches minSize", () => {
    expect(enforceMinGroup([2, 5], 2)).toEqual([2, 5]);
    expect(enforceMinGroup([1, 4, 4], 2)).toEqual([0, 5, 4]);
    expect(enforceMinGroup([1, 1, 0], 2)).toEqual([0, 0, 0]);
  });
  it("counts a score of exactly 0.5 as a success", () => {
    const p = new SuccessPredictor(10, 1);
    p.record("7+1=?", 0.5);
    expect(p.predict("7+1=?")).toBeCloseTo(2 / 3, 12);
  });
  it("forgets the oldest records past its capacity", () => {
    const p = new SuccessPredictor(2, 2);
    p.record("1+1=?", 1);
    p.record("1+1=?", 0);
    p.record("1+1=?", 0);
    expect(p.size).toBe(2);
    expect(p.predict("1+1=?")).toBeCloseTo(1 / 4, 12); // the success fell out: (0 + 1) / (2 + 2)
  });
  it("among records at equal distance, the k nearest are the most recent", () => {
    const p = new SuccessPredictor(10, 1);
    p.record("2+2=?", 0);
    p.record("2+2=?", 1);
    p.record("3+3=?", 0);
    expect(p.predict("2+2=?")).toBeCloseTo(2 / 3, 12);
    const q = new SuccessPredictor(10, 2);
    for (const s of [1, 1, 0, 0]) q.record("5+5=?", s);
    expect(q.predict("5+5=?")).toBeCloseTo(1 / 4, 12);
  });
  it("round-trips its history through getState and setState", () => {
    const p = new SuccessPredictor(10, 2);
    p.record("12+3=?", 1);
    p.record("99*9=?", 0);
    const state = p.getState();
    expect(state.labels).toEqual([1, 0]);
    expect(state.features).toHaveLength(2);
    expect(state.features[0][49]).toBe(1); // one "1" in "12+3=?"
    const q = new SuccessPredictor(10, 2);
    q.setState(JSON.parse(JSON.stringify(state)));
    expect(q.size).toBe(2);
    expect(q.predict("12+4=?")).toBe(p.predict("12+4=?"));
    q.record("1+1=?", 1);
    expect(p.size).toBe(2); // the states do not share arrays
    expect(q.getState().labels).toEqual([1, 0, 1]);
  });
});
