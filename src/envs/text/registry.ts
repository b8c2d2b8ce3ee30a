import { ConfigError, describeValue } from "../../core/errors.js";
import { Rng } from "../../core/rng.js";
import { closeMatches } from "../registry.js";
import { type TextTask } from "./task.js";
import { additionTask } from "./tasks/addition.js";
import { countdownTask } from "./tasks/countdown.js";
import { multiplicationTask } from "./tasks/multiplication.js";
import { parityTask } from "./tasks/parity.js";
import { sortingTask } from "./tasks/sorting.js";

export { defineTask, type TaskDefinition } from "./task.js";

/** Builds a task from its options (validating them). */
export type TaskFactory = (options: Record<string, unknown>) => TextTask;

const tasks = new Map<string, { factory: TaskFactory; description: string }>();

/** Make a task available to `makeTask(name, options)`. A name is registered once. */
export function registerTask(name: string, factory: TaskFactory, description?: string): void {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`task name ${describeValue(name)} is malformed`, 'use letters, digits, "-", "_" or ".", e.g. "my-task"');
  }
  if (typeof factory !== "function") {
    throw new ConfigError(`task ${name}: factory ${describeValue(factory)} is not a function`, "pass (options) => defineTask({ ... })");
  }
  if (tasks.has(name)) {
    throw new ConfigError(`task ${JSON.stringify(name)} is already registered`, "choose another name", "duplicate_task");
  }
  tasks.set(name, { factory, description: description ?? "" });
}

/**
 * Build a registered task. Its options are validated by the factory; then one train and
 * one test problem are drawn and their solutions verified, so a task whose split is
 * empty or whose verifier rejects its own solutions fails here, not in training.
 */
export function makeTask(name: string, options: Record<string, unknown> = {}): TextTask {
  const entry = tasks.get(name);
  if (!entry) {
    const names = [...tasks.keys()].sort();
    const close = closeMatches(String(name), names);
    throw new ConfigError(
      `unknown task ${describeValue(name)}`,
      `${close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? Otherwise use` : "use"} one of the registered tasks: ${names.join(", ")}`,
      "unknown_task",
    );
  }
  const task = entry.factory(options);
  const rng = new Rng(0);
  for (const split of ["train", "test"] as const) {
    const problem = task.sample(rng, split);
    if (task.verify(problem, problem.solution) !== 1) {
      throw new ConfigError(
        `task ${name}: the solution ${JSON.stringify(problem.solution)} of ${JSON.stringify(problem.prompt)} does not verify to 1`,
        "make generate() and verify() agree: the solution must score 1",
      );
    }
  }
  return task;
}

/** The registered tasks, sorted by name. */
export function listTasks(): { name: string; description: string }[] {
  return [...tasks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({ name, description: e.description }));
}

registerTask("addition", additionTask, 'add two integers: "12+34=" → "46" (options: digits = 2)');
registerTask("multiplication", multiplicationTask, 'multiply two integers: "7*8=" → "56" (options: digits = 1)');
registerTask("sorting", sortingTask, 'sort digits ascending: "sort 3 1 4 1 5:" → "1 1 3 4 5" (options: length = 5, maxDigit = 9)');
registerTask("countdown", countdownTask, 'reach the target using each number once: "3 5 7>22:" → "3*5+7" (options: numbers = 3, maxNumber = 10, minTarget = 1, maxTarget = 100)');
registerTask("parity", parityTask, 'parity of a bit string: "10110010?" → "0" (options: bits = 8)');
