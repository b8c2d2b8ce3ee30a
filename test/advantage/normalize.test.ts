import { describe, expect, it } from "vitest";
import { normalizeAdvantages } from "../../src/advantage/normalize.js";

const close = (values: number[], digits = 5) => values.map((x) => expect.closeTo(x, digits));

describe("normalizeAdvantages", () => {
  it("divides by the unbiased std plus eps", () => {
    // mean 2.5, unbiased std √(5/3) = 1.290994
    const out = normalizeAdvantages(new Float32Array([1, 2, 3, 4]));
    expect(Array.from(out)).toEqual(close([-1.161895, -0.387298, 0.387298, 1.161895]));
  });

  it("matches the docs/methods.md §2 group numbers with eps = 1e-4", () => {
    expect(Array.from(normalizeAdvantages(new Float32Array([0.2, 0.4, 0.6, 0.8]), 1e-4))).toEqual(
      close([-1.161445, -0.387148, 0.387148, 1.161445]),
    );
    expect(Array.from(normalizeAdvantages(new Float32Array([1, 0, 0, 1]), 1e-4))).toEqual(
      close([0.865875, -0.865875, -0.865875, 0.865875]),
    );
  });

  it("uses the population std when asked", () => {
    expect(Array.from(normalizeAdvantages(new Float32Array([1, 0, 0, 1]), 1e-4, "population"))).toEqual(
      close([0.9998, -0.9998, -0.9998, 0.9998]),
    );
  });

  it("returns a new array with mean 0 and unbiased std 1", () => {
    const input = new Float32Array([3, -1, 0.5, 7, 2.25, -4]);
    const copy = input.slice();
    const out = normalizeAdvantages(input);
    expect(out).not.toBe(input);
    expect(input).toEqual(copy);
    const mean = out.reduce((s, x) => s + x, 0) / out.length;
    const variance = out.reduce((s, x) => s + (x - mean) ** 2, 0) / (out.length - 1);
    expect(mean).toBeCloseTo(0, 6);
    expect(Math.sqrt(variance)).toBeCloseTo(1, 5);
  });

  it("gives zeros for one element or equal advantages, and [] for none (never NaN)", () => {
    expect(Array.from(normalizeAdvantages(new Float32Array([5])))).toEqual([0]);
    expect(Array.from(normalizeAdvantages(new Float32Array([2, 2, 2])))).toEqual([0, 0, 0]);
    expect(normalizeAdvantages(new Float32Array(0))).toHaveLength(0);
  });
});
