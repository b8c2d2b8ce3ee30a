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
});
