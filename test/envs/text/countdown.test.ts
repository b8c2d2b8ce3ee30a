import { describe, expect, it } from "vitest";
import { makeTask } from "../../../src/envs/text/registry.js";
import { problemSet, type TextProblem } from "../../../src/envs/text/task.js";
import { evaluateExpression, MAX_EXPRESSION_LENGTH, parseExpression, scoreCountdown } from "../../../src/envs/text/tasks/countdown.js";

const task = makeTask("countdown");
const problem = (numbers: number[], target: number, solution: string): TextProblem => ({
  prompt: `${numbers.join(" ")}>${target}:`,
  solution,
  data: { numbers, target },
});
const p22 = problem([3, 5, 7], 22, "3*5+7");

/** Value of an expression as "n/d", or null. */
const value = (text: string) => {
  const tree = parseExpression(text);
  if (tree === null) return "parse error";
  const v = evaluateExpression(tree);
  return v === null ? "division by zero" : `${v.n}/${v.d}`;
};

describe("countdown parser", () => {
  it("respects precedence, left associativity and parentheses", () => {
    expect(value("3*5+7")).toBe("22/1");
    expect(value("3+5*7")).toBe("38/1");
    expect(value("(3+5)*7")).toBe("56/1");
    expect(value("10-4-3")).toBe("3/1"); // (10-4)-3, not 10-(4-3) = 9
    expect(value("10-(4-3)")).toBe("9/1");
    expect(value("8/4/2")).toBe("1/1");
    expect(value("8/(4/2)")).toBe("4/1");
    expect(value("7/2")).toBe("7/2");
    expect(value("1-5")).toBe("-4/1");
    expect(value("6/4")).toBe("3/2"); // kept in lowest terms
  });

  it("rejects what is not in the grammar", () => {
    for (const bad of ["", "-3+5", "+3", "3+", "3++5", "(3+5", "3+5)", "()", "05+1", "3 + 5", "3x5", "3.5", "3^2", "3*5+7\n"]) {
      expect(value(bad)).toBe("parse error");
    }
    expect(value("0")).toBe("0/1");
  });

  it("reports a division by zero instead of throwing", () => {
    expect(value("5/(3-3)")).toBe("division by zero");
    expect(value("5/0")).toBe("division by zero");
  });

  it("bounds the input: 200 characters of nesting parse, longer inputs are rejected", () => {
    const deep = `${"(".repeat(96)}3*5+7${")".repeat(96)}`;
    expect(deep.length).toBe(197);
    expect(value(deep)).toBe("22/1");
    expect(scoreCountdown([3, 5, 7], 22, deep)).toBe(1);
    expect(value("(".repeat(200))).toBe("parse error");
    const tooLong = `${"(".repeat(130)}3${")".repeat(130)}`;
    expect(tooLong.length).toBeGreaterThan(MAX_EXPRESSION_LENGTH);
    expect(value(tooLong)).toBe("parse error");
    expect(value("(".repeat(100_000))).toBe("parse error");
  });
});

describe("countdown verifier", () => {
  it("accepts the solution and any other expression that uses each number once", () => {
    expect(task.verify(p22, "3*5+7")).toBe(1);
    expect(task.verify(p22, "7+5*3")).toBe(1);
    expect(task.verify(p22, "(5*3)+7")).toBe(1);
    expect(task.verify(p22, "((7))+(3*5)")).toBe(1);
  });

  it("uses exact rational arithmetic for division", () => {
    expect(task.verify(problem([7, 2, 4], 14, "7*4/2"), "7/2*4")).toBe(1);
    expect(task.verify(problem([7, 2, 4], 14, "7*4/2"), "(7/2)*4")).toBe(1);
    expect(task.verify(problem([7, 2], 3, "7-2-2"), "7/2")).toBe(0); // 3.5 is not 3
  });

  it("scores a wrong value, a wrong multiset, a reused or missing number 0", () => {
    expect(task.verify(p22, "3*7+5")).toBe(0); // 26
    expect(task.verify(p22, "3*5+5+2")).toBe(0); // 5 reused, 7 missing, 2 not given
    expect(task.verify(p22, "5*5-3")).toBe(0); // 22 but 5 reused, 7 missing
    expect(task.verify(p22, "15+7")).toBe(0); // 22 but 15 is not a given number
    expect(task.verify(p22, "3*5")).toBe(0); // 7 unused: every number must be used
    expect(task.verify(problem([3, 5, 7], 15, "7+5+3"), "3*5")).toBe(0); // the right value, but 7 unused
    expect(task.verify(p22, "3*5+7+0")).toBe(0); // an extra 0
  });

  it("scores a division by zero, unary minus and malformed text 0", () => {
    expect(task.verify(problem([5, 3, 3], 1, "5-3/3-3"), "5/(3-3)")).toBe(0);
    expect(task.verify(problem([3, 5], 2, "5-3"), "-3+5")).toBe(0);
    expect(task.verify(problem([3, 5], 2, "5-3"), "5-3")).toBe(1);
    expect(task.verify(p22, "3 * 5 + 7")).toBe(0);
    expect(task.verify(p22, "03*5+7")).toBe(0);
    expect(task.verify(p22, "22")).toBe(0);
    expect(task.verify({ prompt: "", solution: "", data: {} }, "3*5+7")).toBe(0); // data without numbers
  });

  it("format: any expression of the grammar", () => {
    expect(task.formatOk(p22, "1+2")).toBe(1);
    expect(task.formatOk(p22, "5/0")).toBe(1);
    expect(task.formatOk(p22, "1+")).toBe(0);
    expect(task.formatOk(p22, "22 ")).toBe(0);
  });
});

describe("countdown generator", () => {
  it("writes 'numbers>target:' and every problem is solvable by its solution", () => {
    for (const q of problemSet(task, "train", 200, 3)) {
      const { numbers, target } = q.data as { numbers: number[]; target: number };
      expect(q.prompt).toBe(`${numbers.join(" ")}>${target}:`);
      expect(numbers).toHaveLength(3);
      expect(numbers.every((n) => n >= 1 && n <= 10)).toBe(true);
      expect(target).toBeGreaterThanOrEqual(1);
      expect(target).toBeLessThanOrEqual(100);
      expect(scoreCountdown(numbers, target, q.solution)).toBe(1);
    }
  });

  it("respects its options, with lengths that fit every solution", () => {
    const big = makeTask("countdown", { numbers: 5, maxNumber: 50, minTarget: 100, maxTarget: 999 });
    for (const q of problemSet(big, "test", 100, 0)) {
      const { numbers, target } = q.data as { numbers: number[]; target: number };
      expect(numbers).toHaveLength(5);
      expect(target).toBeGreaterThanOrEqual(100);
      expect(target).toBeLessThanOrEqual(999);
      expect(q.prompt.length).toBeLessThanOrEqual(big.maxPromptLength);
      expect(q.solution.length).toBeLessThanOrEqual(big.maxCompletionLength - 2);
    }
    // "50 50 50 50 50>999:" and 5 two-digit numbers, 4 operators, 3 pairs of parentheses, slack 2.
    expect(big.maxPromptLength).toBe(19);
    expect(big.maxCompletionLength).toBe(10 + 4 + 6 + 2);
  });

  it("an unreachable target range is a clear error", () => {
    expect(() => makeTask("countdown", { numbers: 2, maxNumber: 2, minTarget: 50, maxTarget: 60 })).toThrow(/no expression of 2 numbers in \[1, 2\] reached a target in \[50, 60\]/);
  });
});
