import type { Rng } from "../../../core/rng.js";
import { defineTask, intOptions, isCanonicalInteger, SLACK, type TextProblem, type TextTask } from "../task.js";

/**
 * `a*b=` → the digits of a · b, with a and b uniform integers in [0, 10^digits).
 * The completion must be exactly the decimal product: no spaces, sign or leading zeros.
 */
export function multiplicationTask(options?: Record<string, unknown>): TextTask {
  const { digits } = intOptions("multiplication", options, { digits: { default: 1, min: 1, max: 3 } });
  const bound = 10 ** digits;
  return defineTask({
    name: "multiplication",
    description: `multiply two integers of up to ${digits} digit${digits === 1 ? "" : "s"}: "7*8=" → "56"`,
    options: { digits },
    maxPromptLength: 2 * digits + 2,
    maxCompletionLength: 2 * digits + SLACK,
    generate(rng: Rng): TextProblem {
      const a = rng.integer(0, bound);
      const b = rng.integer(0, bound);
      return { prompt: `${a}*${b}=`, solution: String(a * b), data: { a, b } };
    },
    verify: (problem, completion) => (completion === problem.solution ? 1 : 0),
    formatOk: (_problem, completion) => (isCanonicalInteger(completion, 2 * digits + SLACK) ? 1 : 0),
  });
}
