import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { defineTask, listTasks, makeTask, registerTask, type TaskDefinition } from "../../../src/envs/text/registry.js";
import { splitOf } from "../../../src/envs/text/task.js";

/** A user task: repeat a three-letter word. */
const echoDefinition: TaskDefinition = {
  name: "echo",
  description: 'repeat a word: "say abc:" → "abc"',
  maxPromptLength: 8,
  maxCompletionLength: 5,
  generate(rng: Rng) {
    const word = Array.from({ length: 3 }, () => "abcdefghij"[rng.integer(0, 10)]).join("");
    return { prompt: `say ${word}:`, solution: word, data: { word } };
  },
  verify: (problem, completion) => (completion === problem.solution ? 1 : 0),
};
const echo = defineTask(echoDefinition);

describe("registry of tasks", () => {
  it("unknown names suggest close matches and list every task", () => {
    expect(() => makeTask("additon")).toThrow(ConfigError);
    expect(() => makeTask("additon")).toThrow(/unknown task "additon". Fix: did you mean "addition"\? Otherwise use one of the registered tasks: addition, countdown, multiplication, parity, sorting/);
  });

  it("names are registered once", () => {
    expect(() => registerTask("addition", () => echo)).toThrow(/task "addition" is already registered/);
    expect(() => registerTask("bad name", () => echo)).toThrow(/malformed/);
  });

  it("registers a user task defined with defineTask", () => {
    registerTask("echo", () => echo, "repeat a word");
    expect(listTasks()).toContainEqual({ name: "echo", description: "repeat a word" });
    const task = makeTask("echo");
    const rng = new Rng(0);
    const test = Array.from({ length: 50 }, () => task.sample(rng, "test"));
    expect(test.every((p) => splitOf(p.prompt) === "test")).toBe(true);
    expect(task.verify(test[0], test[0].solution)).toBe(1);
    // The default format check: non-empty, no invalid token.
    expect(task.formatOk(test[0], "xyz")).toBe(1);
    expect(task.formatOk(test[0], "")).toBe(0);
    expect(task.formatOk(test[0], "a\uFFFD")).toBe(0);
  });

  it("defineTask makes verify total and checks generated lengths", () => {
    const throwing = defineTask({
      name: "throwing",
      description: "",
      maxPromptLength: 2,
      maxCompletionLength: 2,
      generate: (rng) => ({ prompt: String(rng.integer(0, 10)), solution: "0", data: {} }),
      verify: () => {
        throw new Error("boom");
      },
      formatOk: () => NaN,
    });
    const p = throwing.sample(new Rng(0), "train");
    expect(throwing.verify(p, "0")).toBe(0);
    expect(throwing.formatOk(p, "0")).toBe(0);

    const tooLong = defineTask({ ...echoDefinition, name: "too-long", maxPromptLength: 3 });
    expect(() => tooLong.sample(new Rng(0), "train")).toThrow(/longer than maxPromptLength 3/);
    expect(() => defineTask({ ...echoDefinition, maxCompletionLength: 0 })).toThrow(/maxCompletionLength must be a positive integer/);
  });

  it("makeTask rejects a task whose verifier rejects its own solutions", () => {
    registerTask("liar", () => defineTask({ ...echoDefinition, name: "liar", verify: () => 0 }));
    expect(() => makeTask("liar")).toThrow(/does not verify to 1/);
  });
});
