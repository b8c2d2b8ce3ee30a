import { describe, expect, it } from "vitest";
import { passAtK } from "../../src/train/text_eval.js";

describe("passAtK (Chen et al. 2021 unbiased estimator)", () => {
  it("matches 1 − C(n−c,k)/C(n,k) computed by hand", () => {
    expect(passAtK(5, 2, 1)).toBeCloseTo(0.4, 12); // c/n
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12); // C(3,2)=3, C(5,2)=10
    expect(passAtK(8, 1, 8)).toBe(1);
    expect(passAtK(10, 3, 4)).toBeCloseTo(1 - 35 / 210, 12); // C(7,4)=35, C(10,4)=210
  });
  it("is 0 with no correct sample and 1 when fewer than k are wrong", () => {
    expect(passAtK(8, 0, 8)).toBe(0);
    expect(passAtK(8, 8, 1)).toBe(1);
    expect(passAtK(8, 6, 3)).toBe(1);
  });
  it("rejects k > n and non-integers", () => {
    expect(() => passAtK(4, 1, 5)).toThrow(/k ≤ n/);
    expect(() => passAtK(4, 1.5, 1)).toThrow();
  });
});
