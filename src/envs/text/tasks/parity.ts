import type { Rng } from "../../../core/rng.js";
import { defineTask, intOptions, SLACK, type TextProblem, type TextTask } from "../task.js";

/**
 * `10110010?` → "0" when the number of 1s is even, "1" when it is odd (the XOR of the
 * bits). Each bit is an independent fair coin.
 */
export function parityTask(options?: Record<string, unknown>): TextTask {
  const { bits } = intOptions("parity", options, { bits: { default: 8, min: 4, max: 64 } });
  return defineTask({
    name: "parity",
    description: `parity of ${bits} bits: "10110010?" → "0" (even number of 1s → 0, odd → 1)`,
    options: { bits },
    maxPromptLength: bits + 1,
    maxCompletionLength: 1 + SLACK,
    generate(rng: Rng): TextProblem {
      let text = "";
      let ones = 0;
      for (let i = 0; i < bits; i++) {
        const bit = rng.integer(0, 2);
        ones += bit;
        text += bit;
      }
      return { prompt: `${text}?`, solution: String(ones % 2), data: { bits: text, ones } };
    },
    verify: (problem, completion) => (completion === problem.solution ? 1 : 0),
    formatOk: (_problem, completion) => (completion === "0" || completion === "1" ? 1 : 0),
  });
}
