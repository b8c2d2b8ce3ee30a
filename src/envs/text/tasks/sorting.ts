import type { Rng } from "../../../core/rng.js";
import { defineTask, intOptions, SLACK, type TextProblem, type TextTask } from "../task.js";

/**
 * `sort 3 1 4 1 5:` → "1 1 3 4 5": `length` digits, each uniform in [0, maxDigit],
 * separated by single spaces; the answer lists them in ascending order in the same
 * format. The outcome reward is all or nothing; `sortingPartial` (rewards.ts) gives
 * the fraction of positions right.
 */
export function sortingTask(options?: Record<string, unknown>): TextTask {
  const { length, maxDigit } = intOptions("sorting", options, {
    length: { default: 5, min: 2, max: 30 },
    maxDigit: { default: 9, min: 1, max: 9 },
  });
  const answerLength = 2 * length - 1;
  const format = new RegExp(`^[0-9]( [0-9]){${length - 1}}$`);
  return defineTask({
    name: "sorting",
    description: `sort ${length} digits in [0, ${maxDigit}] ascending: "sort 3 1 4 1 5:" → "1 1 3 4 5"`,
    options: { length, maxDigit },
    maxPromptLength: "sort ".length + answerLength + 1,
    maxCompletionLength: answerLength + SLACK,
    generate(rng: Rng): TextProblem {
      const values: number[] = [];
      for (let i = 0; i < length; i++) values.push(rng.integer(0, maxDigit + 1));
      const sorted = [...values].sort((x, y) => x - y);
      return { prompt: `sort ${values.join(" ")}:`, solution: sorted.join(" "), data: { values } };
    },
    verify: (problem, completion) => (completion === problem.solution ? 1 : 0),
    formatOk: (_problem, completion) => (format.test(completion) ? 1 : 0),
  });
}
