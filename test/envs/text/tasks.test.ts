import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { listTasks, makeTask } from "../../../src/envs/text/registry.js";
import { fnv1a, problemSet, splitOf, type TextProblem, type TextTask } from "../../../src/envs/text/task.js";

const MALFORMED = ["", "x".repeat(10_000), "1".repeat(10_000), "abc", "12a", " ", "\uFFFD", "-1", "1.0"];

/** A problem written by hand, as the task would generate it. */
const problem = (prompt: string, solution: string, data: TextProblem["data"] = {}): TextProblem => ({ prompt, solution, data });

describe("every built-in task", () => {
  const names = listTasks().map((t) => t.name);

  it("has the five built-in tasks", () => {
    expect(names).toEqual(["addition", "countdown", "multiplication", "parity", "sorting"]);
  });

  for (const name of ["addition", "countdown", "multiplication", "parity", "sorting"]) {
    describe(name, () => {
      const task = makeTask(name);
      const problems = problemSet(task, "train", 60, 1);

      it("verifies its own solutions to 1 and they have the answer format", () => {
        for (const p of problems) {
          expect(task.verify(p, p.solution)).toBe(1);
          expect(task.formatOk(p, p.solution)).toBe(1);
          expect(p.prompt.length).toBeLessThanOrEqual(task.maxPromptLength);
          expect(p.solution.length).toBeLessThan(task.maxCompletionLength);
        }
      });

      it("scores malformed completions 0 without throwing", () => {
        for (const p of problems.slice(0, 10)) {
          for (const c of MALFORMED) {
            expect(task.verify(p, c)).toBe(0);
            expect(task.formatOk(p, c)).toBe(0);
          }
          // The solution with a space or a trailing newline around it is wrong: no trimming.
          for (const c of [` ${p.solution}`, `${p.solution} `, `${p.solution}\n`]) expect(task.verify(p, c)).toBe(0);
        }
      });

      it("keeps train and test disjoint", () => {
        const rng = new Rng(5);
        const train = new Set(Array.from({ length: 2000 }, () => task.sample(rng, "train").prompt));
        const test = new Set(Array.from({ length: 2000 }, () => task.sample(rng, "test").prompt));
        for (const p of test) {
          expect(train.has(p)).toBe(false);
          expect(splitOf(p)).toBe("test");
        }
        for (const p of train) expect(splitOf(p)).toBe("train");
        expect(test.size).toBeGreaterThan(10);
      });

      it("samples deterministically from the rng state", () => {
        const a = Array.from({ length: 20 }, ((r) => () => task.sample(r, "train"))(new Rng(9)));
        const b = Array.from({ length: 20 }, ((r) => () => task.sample(r, "train"))(new Rng(9)));
        expect(a).toEqual(b);
      });
    });
  }
});

describe("splits and problem sets", () => {
  it("fnv1a matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });

  it("puts about 20 % of the problems into test", () => {
    const prompts: string[] = [];
    for (let a = 0; a < 100; a++) for (let b = 0; b < 100; b++) prompts.push(`${a}+${b}=`);
    const share = prompts.filter((p) => splitOf(p) === "test").length / prompts.length;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.22);
  });

  it("problemSet is deterministic, distinct and of the split", () => {
    const task = makeTask("addition", { digits: 1 });
    const a = problemSet(task, "test", 15, 42);
    expect(problemSet(task, "test", 15, 42)).toEqual(a);
    expect(new Set(a.map((p) => p.prompt)).size).toBe(15);
    expect(a.every((p) => splitOf(p.prompt) === "test")).toBe(true);
    expect(problemSet(task, "test", 15, 43)).not.toEqual(a);
  });

  it("problemSet fails clearly when the split has fewer problems than asked", () => {
    // One-digit addition has 100 problems, about 20 of them in test.
    expect(() => problemSet(makeTask("addition", { digits: 1 }), "test", 50, 0)).toThrow(/found only \d+ distinct test problems/);
    expect(() => problemSet(makeTask("addition"), "dev" as never, 5, 0)).toThrow(ConfigError);
  });

  it("a task too small for a test split fails at makeTask", () => {
    // sorting 2 digits in [0, 1]: "sort 0 0:", "sort 0 1:", "sort 1 0:", "sort 1 1:" all hash into train.
    expect(() => makeTask("sorting", { length: 2, maxDigit: 1 })).toThrow(/no test problem in 1000 draws/);
  });
});

describe("addition", () => {
  const task = makeTask("addition");
  const p = problem("12+34=", "46", { a: 12, b: 34 });

  it("builds prompts a+b= with the sum as solution", () => {
    for (const q of problemSet(task, "train", 50, 0)) {
      const { a, b } = q.data as { a: number; b: number };
      expect(q.prompt).toBe(`${a}+${b}=`);
      expect(q.solution).toBe(String(a + b));
      expect(a).toBeLessThan(100);
      expect(b).toBeLessThan(100);
    }
  });

  it("accepts exactly the digits of the sum", () => {
    expect(task.verify(p, "46")).toBe(1);
    expect(task.verify(p, "45")).toBe(0);
    expect(task.verify(p, "046")).toBe(0);
    expect(task.verify(p, "4 6")).toBe(0);
    expect(task.verify(p, "+46")).toBe(0);
  });

  it("format: a number without leading zeros", () => {
    expect(task.formatOk(p, "45")).toBe(1);
    expect(task.formatOk(p, "0")).toBe(1);
    expect(task.formatOk(p, "046")).toBe(0);
    expect(task.formatOk(p, "12345")).toBe(1); // maxCompletionLength is 5
    expect(task.formatOk(p, "123456")).toBe(0);
  });

  it("has lengths from its digits", () => {
    const t3 = makeTask("addition", { digits: 3 });
    expect(t3.maxPromptLength).toBe("999+999=".length);
    expect(t3.maxCompletionLength).toBe("1998".length + 2);
    expect(t3.options).toEqual({ digits: 3 });
  });
});

describe("multiplication", () => {
  const task = makeTask("multiplication");
  const p = problem("7*8=", "56", { a: 7, b: 8 });

  it("verifies the product exactly", () => {
    expect(task.verify(p, "56")).toBe(1);
    expect(task.verify(p, "15")).toBe(0);
    expect(task.verify(p, "056")).toBe(0);
    expect(task.verify(problem("0*9=", "0"), "0")).toBe(1);
    expect(task.verify(problem("0*9=", "0"), "00")).toBe(0);
  });

  it("builds a*b= prompts with one-digit factors by default", () => {
    for (const q of problemSet(task, "train", 30, 0)) {
      const { a, b } = q.data as { a: number; b: number };
      expect(q.prompt).toBe(`${a}*${b}=`);
      expect(q.solution).toBe(String(a * b));
      expect(Math.max(a, b)).toBeLessThan(10);
    }
    expect(makeTask("multiplication", { digits: 3 }).maxCompletionLength).toBe(6 + 2);
  });
});

describe("sorting", () => {
  const task = makeTask("sorting");
  const p = problem("sort 3 1 4 1 5:", "1 1 3 4 5", { values: [3, 1, 4, 1, 5] });

  it("accepts only the sorted list in the same format", () => {
    expect(task.verify(p, "1 1 3 4 5")).toBe(1);
    expect(task.verify(p, "1 1 3 5 4")).toBe(0);
    expect(task.verify(p, "11345")).toBe(0);
    expect(task.verify(p, "1 1 3 4 5 ")).toBe(0);
    expect(task.verify(p, "1  1 3 4 5")).toBe(0);
  });

  it("format: length single digits separated by single spaces", () => {
    expect(task.formatOk(p, "5 4 3 2 1")).toBe(1);
    expect(task.formatOk(p, "1 1 3 4")).toBe(0);
    expect(task.formatOk(p, "1 1 3 4 5 6")).toBe(0);
    expect(task.formatOk(p, "1 1 3 4 10")).toBe(0);
  });

  it("draws digits in [0, maxDigit] and writes sort …:", () => {
    const t = makeTask("sorting", { length: 4, maxDigit: 3 });
    for (const q of problemSet(t, "train", 30, 0)) {
      const values = q.data.values as number[];
      expect(values).toHaveLength(4);
      expect(values.every((v) => v >= 0 && v <= 3)).toBe(true);
      expect(q.prompt).toBe(`sort ${values.join(" ")}:`);
      expect(q.solution).toBe([...values].sort().join(" "));
    }
    expect(t.maxPromptLength).toBe("sort 1 2 3 4:".length);
  });
});

describe("parity", () => {
  const task = makeTask("parity");

  it("answers 0 for an even number of ones and 1 for an odd number", () => {
    const even = problem("10110010?", "0");
    expect(task.verify(even, "0")).toBe(1);
    expect(task.verify(even, "1")).toBe(0);
    for (const q of problemSet(task, "test", 30, 0)) {
      const ones = [...q.prompt].filter((c) => c === "1").length;
      expect(q.solution).toBe(String(ones % 2));
      expect(q.prompt).toMatch(/^[01]{8}\?$/);
    }
  });

  it("format: a single 0 or 1", () => {
    const p = problem("1?", "1");
    expect(task.formatOk(p, "0")).toBe(1);
    expect(task.formatOk(p, "01")).toBe(0);
    expect(task.formatOk(p, "2")).toBe(0);
  });
});

describe("task options", () => {
  it("unknown options and out-of-range values are ConfigErrors naming the option and range", () => {
    expect(() => makeTask("addition", { digit: 2 })).toThrow(/unknown option "digit". Fix: use only digits \(1\.\.15, default 2\)/);
    expect(() => makeTask("addition", { digits: 0 })).toThrow(/option digits=0 is not an integer in \[1, 15\]/);
    expect(() => makeTask("multiplication", { digits: 4 })).toThrow(/\[1, 3\]/);
    expect(() => makeTask("parity", { bits: 2.5 })).toThrow(/bits=2.5/);
    expect(() => makeTask("sorting", { maxDigit: "9" })).toThrow(/maxDigit="9"/);
    expect(() => makeTask("countdown", { minTarget: 50, maxTarget: 10 })).toThrow(/minTarget 50 is greater than maxTarget 10/);
  });

  it("resolved options fill the defaults", () => {
    const all: Record<string, TextTask["options"]> = {};
    for (const { name } of listTasks()) all[name] = makeTask(name).options;
    expect(all).toEqual({
      addition: { digits: 2 },
      countdown: { numbers: 3, maxNumber: 10, minTarget: 1, maxTarget: 100 },
      multiplication: { digits: 1 },
      parity: { bits: 8 },
      sorting: { length: 5, maxDigit: 9 },
    });
  });
});
