import { describe, expect, it } from "vitest";
import {
  GROUP_ADVANTAGE_DEFAULTS,
  groupRelativeAdvantage,
  leaveOneOutAdvantage,
  zeroVarianceGroupFraction,
} from "../../src/advantage/group.js";

const close = (xs: number[], digits = 5) => xs.map((x) => expect.closeTo(x, digits));
const oneGroup = [0, 0, 0, 0];

describe("groupRelativeAdvantage (docs/methods.md §2, G = 4)", () => {
  it("documents TRL's defaults: std scaling, unbiased std, eps 1e-4, a group of one gets 0", () => {
    expect(GROUP_ADVANTAGE_DEFAULTS).toEqual({ scale: "std", std: "unbiased", eps: 1e-4, singleton: "zero" });
  });

  it("r = [1,0,0,1]: ±0.865875 (unbiased), ±0.9998 (population), ±0.5 (Dr. GRPO)", () => {
    const r = [1, 0, 0, 1];
    expect(Array.from(groupRelativeAdvantage(r, oneGroup))).toEqual(close([0.865875, -0.865875, -0.865875, 0.865875], 6));
    expect(Array.from(groupRelativeAdvantage(r, oneGroup, { std: "population" }))).toEqual(close([0.9998, -0.9998, -0.9998, 0.9998], 4));
    expect(Array.from(groupRelativeAdvantage(r, oneGroup, { scale: "none" }))).toEqual([0.5, -0.5, -0.5, 0.5]);
  });

  it("r = [1,0,0,0]: [1.4997, −0.4999 ×3] (unbiased std 0.5); Dr. GRPO [0.75, −0.25 ×3]", () => {
    const r = [1, 0, 0, 0];
    expect(Array.from(groupRelativeAdvantage(r, oneGroup))).toEqual(close([1.4997, -0.4999, -0.4999, -0.4999], 4));
    expect(Array.from(groupRelativeAdvantage(r, oneGroup, { scale: "none" }))).toEqual([0.75, -0.25, -0.25, -0.25]);
  });

  it("r = [0.2,0.4,0.6,0.8]: unbiased std 0.258199 → [−1.161445, −0.387148, 0.387148, 1.161445]", () => {
    expect(Array.from(groupRelativeAdvantage([0.2, 0.4, 0.6, 0.8], oneGroup))).toEqual(close([-1.161445, -0.387148, 0.387148, 1.161445]));
  });

  it("normalises each group on its own, wherever its members are", () => {
    // Group 0 = [1,0,0,1] and group 1 = [0.2,0.4,0.6,0.8], interleaved.
    const a = groupRelativeAdvantage([1, 0.2, 0, 0.4, 0, 0.6, 1, 0.8], [0, 1, 0, 1, 0, 1, 0, 1]);
    expect(Array.from(a)).toEqual(close([0.865875, -1.161445, -0.865875, -0.387148, -0.865875, 0.387148, 0.865875, 1.161445]));
  });

  it("gives 0 to a group with equal rewards and to a one-member group", () => {
    expect(Array.from(groupRelativeAdvantage([3, 3, 3, 5], [0, 0, 0, 1]))).toEqual([0, 0, 0, 0]);
  });

  it("passes a one-member group's reward through with singleton raw (verl: mean 0, std 1)", () => {
    // Group 1 = [5] alone: 5 / (1 + 1e-4) with the std division, 5 without; group 0 unchanged.
    expect(Array.from(groupRelativeAdvantage([3, 3, 3, 5], [0, 0, 0, 1], { singleton: "raw" }))).toEqual([0, 0, 0, expect.closeTo(5 / 1.0001, 5)]);
    expect(Array.from(groupRelativeAdvantage([1, 0, 5], [0, 0, 1], { singleton: "raw", scale: "none" }))).toEqual([0.5, -0.5, 5]);
    expect(Array.from(groupRelativeAdvantage([1, 0, 5], [0, 0, 1], { singleton: "raw", eps: 1e-6 }))).toEqual([0.5 / (Math.SQRT1_2 + 1e-6), -0.5 / (Math.SQRT1_2 + 1e-6), 5 / (1 + 1e-6)].map((v) => expect.closeTo(v, 5)));
    expect(() => groupRelativeAdvantage([1], [0], { singleton: "mean" as "raw" })).toThrow(/singleton "mean" is not "zero" or "raw"/);
  });

  it("uses eps as given", () => {
    // r = [1,0]: unbiased std = √½; A_0 = 0.5 / (√½ + 0.5)
    expect(groupRelativeAdvantage([1, 0], [0, 0], { eps: 0.5 })[0]).toBeCloseTo(0.5 / (Math.SQRT1_2 + 0.5), 6);
  });

  it("rejects mismatched lengths, bad group ids and unknown options", () => {
    expect(() => groupRelativeAdvantage([1, 2], [0])).toThrow(/2 rewards but 1 group ids/);
    expect(() => groupRelativeAdvantage([1, 2], [0, -1])).toThrow(/group id -1 of episode 1/);
    expect(() => groupRelativeAdvantage([1, 2], [0, 0], { scale: "max" as never })).toThrow(/scale "max"/);
    expect(() => groupRelativeAdvantage([1, 2], [0, 0], { eps: -1 })).toThrow(/eps must be/);
    expect(() => groupRelativeAdvantage([1, NaN], [0, 0])).toThrow(/reward NaN of episode 1/);
  });
});

describe("leaveOneOutAdvantage (docs/methods.md §3)", () => {
  it("matches the hand-computed values", () => {
    expect(Array.from(leaveOneOutAdvantage([1, 0, 0, 1], oneGroup))).toEqual(close([2 / 3, -2 / 3, -2 / 3, 2 / 3], 6));
    expect(Array.from(leaveOneOutAdvantage([1, 0, 0, 0], oneGroup))).toEqual(close([1, -1 / 3, -1 / 3, -1 / 3], 6));
    expect(Array.from(leaveOneOutAdvantage([0.2, 0.4, 0.6, 0.8], oneGroup))).toEqual(close([-0.4, -0.133333, 0.133333, 0.4], 6));
  });

  it("sums to 0 in every group and equals G/(G−1)·(r − mean)", () => {
    const r = [0.3, 1.7, -2, 0.1, 5, 4, 4.5];
    const groups = [0, 0, 0, 0, 1, 1, 1];
    const a = leaveOneOutAdvantage(r, groups);
    expect(a[0] + a[1] + a[2] + a[3]).toBeCloseTo(0, 5);
    expect(a[4] + a[5] + a[6]).toBeCloseTo(0, 5);
    const mean1 = (5 + 4 + 4.5) / 3;
    expect(a[4]).toBeCloseTo((3 / 2) * (5 - mean1), 5);
  });

  it("rejects a one-member group", () => {
    expect(() => leaveOneOutAdvantage([1, 2, 3], [0, 0, 1])).toThrow(/group 1 has a single episode/);
  });
});

describe("zeroVarianceGroupFraction", () => {
  it("counts groups whose rewards are all equal", () => {
    // Groups: 0 = [1,1], 1 = [0,1], 2 = [0,0], 3 = [2] (one member: trivially equal).
    expect(zeroVarianceGroupFraction([1, 1, 0, 1, 0, 0, 2], [0, 0, 1, 1, 2, 2, 3])).toBeCloseTo(3 / 4, 10);
    expect(zeroVarianceGroupFraction([1, 0, 0, 1], oneGroup)).toBe(0);
    expect(zeroVarianceGroupFraction([], [])).toBe(0);
  });

  it("takes each group's true max and min, wherever they sit", () => {
    // [3, 1, 2]: range 2 — not flat at tolerance 1.5 (the last value is not the max).
    expect(zeroVarianceGroupFraction([3, 1, 2], [0, 0, 0], 1.5)).toBe(0);
    expect(zeroVarianceGroupFraction([1, 3, 2], [0, 0, 0], 1.5)).toBe(0);
    expect(zeroVarianceGroupFraction([3, 1, 2], [0, 0, 0], 2)).toBe(1);
  });

  it("skips unused group ids and honours a tolerance", () => {
    expect(zeroVarianceGroupFraction([1, 1.0000001, 5, 6], [0, 0, 2, 2])).toBe(0);
    expect(zeroVarianceGroupFraction([1, 1.0000001, 5, 6], [0, 0, 2, 2], 1e-6)).toBe(0.5);
  });
});

describe("group ids in any order", () => {
  it("a later episode with a smaller group id does not shrink the set of groups", () => {
    // Group 1 comes first: [1, 0] → ±0.5 centred; group 0: [3, 5] → ∓1 centred (Dr. GRPO scale).
    expect(Array.from(groupRelativeAdvantage([1, 0, 3, 5], [1, 1, 0, 0], { scale: "none" }))).toEqual(close([0.5, -0.5, -1, 1]));
    expect(Array.from(leaveOneOutAdvantage([1, 0, 3, 5], [1, 1, 0, 0]))).toEqual(close([1, -1, -2, 2]));
  });

  it("eps 0 is allowed (a plain std division); a negative or non-finite eps is refused", () => {
    expect(Array.from(groupRelativeAdvantage([1, 0, 0, 1], oneGroup, { eps: 0 }))).toEqual(close([0.866025, -0.866025, -0.866025, 0.866025]));
    expect(() => groupRelativeAdvantage([1, 0], [0, 0], { eps: -1 })).toThrow(/eps must be a finite number ≥ 0/);
    expect(() => groupRelativeAdvantage([1, 0], [0, 0], { eps: Infinity })).toThrow(/eps must be a finite number ≥ 0/);
  });
});
