import { describe, expect, it } from "vitest";
import { ConfigError, RefineryError } from "../../../src/core/errors.js";
import { makeTask } from "../../../src/envs/text/registry.js";
import {
  combineRewards,
  correctnessReward,
  formatReward,
  getReward,
  lengthPenalty,
  listRewards,
  registerReward,
  sortingPartial,
} from "../../../src/envs/text/rewards.js";
import type { TextProblem } from "../../../src/envs/text/task.js";

const addition = makeTask("addition");
const sum = { prompt: "12+34=", solution: "46", data: { a: 12, b: 34 } };
const sorting = makeTask("sorting");
const sort5: TextProblem = { prompt: "sort 3 1 4 1 5:", solution: "1 1 3 4 5", data: { values: [3, 1, 4, 1, 5] } };

describe("built-in rewards", () => {
  it("correct and format call the task", () => {
    expect(correctnessReward(sum, "46", addition)).toBe(1);
    expect(correctnessReward(sum, "47", addition)).toBe(0);
    expect(formatReward(sum, "47", addition)).toBe(1);
    expect(formatReward(sum, "4x", addition)).toBe(0);
  });

  it("lengthPenalty is -len/maxLen, capped at -1", () => {
    const pen = lengthPenalty(4);
    expect(pen(sum, "", addition)).toBeCloseTo(0);
    expect(pen(sum, "46", addition)).toBe(-0.5);
    expect(pen(sum, "4646464", addition)).toBe(-1);
    expect(() => lengthPenalty(0)).toThrow(ConfigError);
  });

  it("sortingPartial is the fraction of positions right", () => {
    expect(sortingPartial(sort5, "1 1 3 4 5", sorting)).toBe(1);
    expect(sortingPartial(sort5, "1 1 3 5 4", sorting)).toBe(3 / 5);
    expect(sortingPartial(sort5, "1 1", sorting)).toBe(2 / 5);
    expect(sortingPartial(sort5, "1 1 3 4 5 9 9 9 9 9", sorting)).toBe(5 / 10); // extra items cost
    expect(sortingPartial(sort5, "", sorting)).toBe(0);
    expect(sortingPartial(sort5, "1 ".repeat(5000), sorting)).toBe(0);
    // The outcome reward stays all-or-nothing.
    expect(sorting.verify(sort5, "1 1 3 5 4")).toBe(0);
  });

  it("are registered by name", () => {
    expect(listRewards()).toEqual(expect.arrayContaining(["correct", "format", "sorting-partial", "length-penalty"]));
    expect(getReward("correct")).toBe(correctnessReward);
    expect(getReward("length-penalty")(sum, "46", addition)).toBe(-2 / addition.maxCompletionLength);
  });
});

describe("combineRewards", () => {
  it("is the weighted sum of its terms", () => {
    const r = combineRewards([
      { fn: "correct", weight: 1 },
      { fn: "format", weight: 0.25 },
      { fn: lengthPenalty(10), weight: 0.5 },
    ]);
    expect(r(sum, "46", addition)).toBeCloseTo(1 + 0.25 - 0.5 * 0.2, 12);
    expect(r(sum, "47", addition)).toBeCloseTo(0 + 0.25 - 0.1, 12);
    expect(r(sum, "abc", addition)).toBeCloseTo(0 + 0 - 0.15, 12);
  });

  it("rejects empty terms, unknown names, bad weights and non-finite rewards", () => {
    expect(() => combineRewards([])).toThrow(/at least one term/);
    expect(() => combineRewards([{ fn: "corect", weight: 1 }])).toThrow(/unknown reward "corect".*correct, format/);
    expect(() => combineRewards([{ fn: "correct", weight: NaN }])).toThrow(/weight NaN/);
    const nan = combineRewards([{ fn: () => NaN, weight: 1 }]);
    expect(() => nan(sum, "46", addition)).toThrow(RefineryError);
  });
});

describe("registerReward", () => {
  it("registers once and then resolves by name", () => {
    const half = () => 0.5;
    registerReward("test-half", half);
    expect(getReward("test-half")).toBe(half);
    expect(combineRewards([{ fn: "test-half", weight: 2 }])(sum, "", addition)).toBe(1);
    expect(() => registerReward("test-half", half)).toThrow(/already registered/);
    expect(() => registerReward("correct", half)).toThrow(ConfigError);
  });

  it("unknown names list the known ones", () => {
    expect(() => getReward("nope")).toThrow(/unknown reward "nope". Fix: use one of the registered rewards: .*correct/);
  });
});
