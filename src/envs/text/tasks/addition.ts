import type { Rng } from "../../../core/rng.js";
import { defineTask, intOptions, isCanonicalInteger, SLACK, type TextProblem, type TextTask } from "../task.js";

/**
 * `a+b=` → the digits of a + b, with a and b uniform integers in [0, 10^digits).
 * The completion must be exactly the decimal sum: no spaces, sign or leading zeros.
 */
export function additionTask(options?: Record<string, unknown>): TextTask {
  const { digits } = intOptions("addition", options, { digits: { default: 2, min: 1, max: 15 } });
  const bound = 10 ** digits;
  return defineTask({
    name: "addition",
    description: `add two integers of up to ${digits} digit${digits === 1 ? "" : "s"}: "12+34=" → "46"`,
    options: { digits },
    maxPromptLength: 2 * digits + 2,
    maxCompletionLength: digits + 1 + SLACK,
    generate(rng: Rng): TextProblem {
      const a = rng.integer(0, bound);
      const b = rng.integer(0, bound);
      return { prompt: `${a}+${b}=`, solution: String(a + b), data: { a, b } };
    },
    verify: (problem, completion) => (completion === problem.solution ? 1 : 0),
    formatOk: (_problem, completion) => (isCanonicalInteger(completion, digits + 1 + SLACK) ? 1 : 0),
  });
}
