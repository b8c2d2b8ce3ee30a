import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/core/rng.js";
import { AgentEnv } from "../../../src/envs/text/agent/env.js";
import {
  agentProblemSet,
  defineAgentTask,
  isAgentTask,
  makeAgentTask,
  problemKey,
  registerAgentTask,
  registerTool,
  replayDemonstration,
  toolProtocol,
} from "../../../src/envs/text/agent/task.js";
import { calculator } from "../../../src/envs/text/agent/tasks.js";
import { CharTokenizer, EOS } from "../../../src/envs/text/tokenizer.js";

const tok = new CharTokenizer();
const turn = (text: string) => [...tok.encode(text), EOS];

describe("built-in multi-turn tasks", () => {
  it("calc: the calculator does one operation, and the demonstration calls it twice then answers", () => {
    expect(calculator("12*34")).toBe("408");
    expect(calculator("408+56")).toBe("464");
    expect(() => calculator("1+2+3")).toThrow();
    const task = makeAgentTask("calc");
    const p = task.sample(new Rng(3), "train");
    expect(p.demonstration).toHaveLength(3);
    expect(p.demonstration[0]).toMatch(/^calc\(\d+\*\d+\)$/);
    expect(p.demonstration[2]).toBe(`ans ${p.data.value}`);
    expect(replayDemonstration(task, p)).toEqual({ score: 1, turns: 3 });
  });

  it("the tool protocol answers calls, answers and malformed turns", () => {
    const respond = toolProtocol(["calc"]);
    const p = { prompt: "", data: {}, demonstration: [] };
    expect(respond(p, "calc(12*34)")).toMatchObject({ observation: "=408;", done: false, toolCall: true, malformed: false });
    expect(respond(p, "calc(12/34)")).toMatchObject({ observation: "=?;", toolCall: true });
    expect(respond(p, "get(a)")).toMatchObject({ observation: "?;", malformed: true });
    expect(respond(p, "ans 7")).toMatchObject({ done: true, answer: "7" });
  });

  it("a tool result longer than the task's observations (from arguments the policy wrote) is the tool refusing them, not a crash", () => {
    const task = makeAgentTask("calc");
    const p = task.sample(new Rng(1), "train");
    // calc's observations hold a 2-digit × 2-digit product and a sum; 3027330 is longer.
    expect(task.respond(p, "calc(5530*5474)", 0, [])).toMatchObject({ observation: "=?;", done: false, toolCall: true, malformed: false });
    expect(task.respond(p, "calc(12*34)", 0, [])).toMatchObject({ observation: "=408;", toolCall: true });
  });

  it("lookup and guess demonstrations verify; guess answers lo/hi", () => {
    for (const name of ["lookup", "guess"]) {
      const task = makeAgentTask(name);
      for (let s = 0; s < 20; s++) expect(replayDemonstration(task, task.sample(new Rng(s), s % 2 ? "train" : "test")).score).toBe(1);
    }
    const guess = makeAgentTask("guess", { bits: 4 });
    const p = { prompt: "num 0..15?", data: { target: 5 }, demonstration: [] };
    expect(guess.respond(p, "g(8)", 0, [])).toMatchObject({ observation: "=lo;", done: false });
    expect(guess.respond(p, "g(2)", 0, [])).toMatchObject({ observation: "=hi;" });
    expect(guess.respond(p, "g(5)", 0, [])).toMatchObject({ done: true, answer: "5" });
  });

  it("train and test problems never share a prompt and hidden data", () => {
    for (const name of ["calc", "lookup", "guess"]) {
      const task = makeAgentTask(name);
      const train = new Set(agentProblemSet(task, "train", 200, 1).map(problemKey));
      const test = agentProblemSet(task, "test", 50, 2).map(problemKey);
      expect(test.length).toBeGreaterThan(0);
      for (const k of test) expect(train.has(k)).toBe(false);
    }
  });

  it("bad options are one-line errors", () => {
    expect(() => makeAgentTask("calc", { ops: 9 })).toThrow(/ops=9 is not an integer in \[1, 3\]/);
    expect(() => makeAgentTask("cals")).toThrow(/did you mean "calc"/);
  });
});

describe("AgentEnv", () => {
  const task = makeAgentTask("calc");
  const make = (maxContextLength = 96) => new AgentEnv({ task, tokenizer: tok, maxContextLength });

  it("appends observations after turns and masks them out", () => {
    const env = make();
    env.reset(7);
    const p = env.problem;
    const r1 = env.step(turn(p.demonstration[0]));
    expect(r1).toMatchObject({ terminated: false, truncated: false, reward: 0 });
    const obs = tok.decode(r1.observationTokens);
    expect(obs).toMatch(/^=\d+;$/);
    const t1 = turn(p.demonstration[0]);
    expect(Array.from(env.transcript)).toEqual([...t1, ...tok.encode(obs)]);
    expect(Array.from(env.policyMask)).toEqual([...t1.map(() => 1), ...obs.split("").map(() => 0)]);
    env.step(turn(p.demonstration[1]));
    const end = env.step(turn(p.demonstration[2]));
    expect(end).toMatchObject({ terminated: true, truncated: false, reward: 1, correct: 1 });
    expect(env.turns.map((t) => t.toolCall)).toEqual([true, true, false]);
    // The last turn adds no observation: the transcript ends with the policy's EOS.
    expect(env.transcript[env.transcript.length - 1]).toBe(EOS);
    expect(() => env.step(turn("ans 1"))).toThrow(/after the episode ended/);
  });

  it("a wrong answer scores 0; the turn limit truncates; a malformed turn is penalised", () => {
    const env = new AgentEnv({ task, tokenizer: tok, maxContextLength: 96, malformedPenalty: -0.1 });
    env.reset(1);
    expect(env.step(turn("ans 1"))).toMatchObject({ terminated: true, reward: 0, correct: 0 });
    env.reset(1);
    const results = Array.from({ length: task.maxTurns }, () => env.step(turn("hello")));
    expect(results.slice(0, -1).every((r) => !r.terminated && !r.truncated)).toBe(true);
    expect(results[results.length - 1]).toMatchObject({ truncated: true, terminated: false });
    expect(results[0].reward).toBeCloseTo(-0.1, 6);
    expect(env.isDone).toBe(true);
  });

  it("the context limit truncates when the next turn would not fit", () => {
    const least = 1 + task.maxPromptLength + task.maxTurnLength;
    const env = make(least + 3);
    env.reset(2);
    const r = env.step(turn(env.problem.demonstration[0]));
    expect(r.truncated).toBe(true);
    expect(() => make(least - 1)).toThrow(/cannot hold BOS/);
  });

  it("snapshots at a turn boundary restore the conversation, and episodes continue from them", () => {
    const env = make();
    env.reset(11);
    const demo = env.problem.demonstration;
    env.step(turn(demo[0]));
    const snap = env.getState();
    const transcript = Array.from(env.transcript);
    env.step(turn("ans 0"));
    const other = make();
    other.setState(snap);
    expect(Array.from(other.transcript)).toEqual(transcript);
    expect(other.problem.prompt).toBe(env.problem.prompt);
    other.step(turn(demo[1]));
    expect(other.step(turn(demo[2]))).toMatchObject({ terminated: true, reward: 1 });
    env.setState(snap);
    expect(Array.from(env.transcript)).toEqual(transcript);
    expect(() => env.setState([0, 1])).toThrow(/setState got/);
  });

  it("a turn longer than the budget or with EOS inside is rejected", () => {
    const env = make();
    env.reset(3);
    expect(() => env.step(new Array(task.maxTurnLength + 1).fill(5))).toThrow(/may have 1\.\./);
    expect(() => env.step([EOS, 5])).toThrow(/EOS inside a turn/);
  });
});

describe("user tools and tasks", () => {
  it("register a tool and a multi-turn task from a module", () => {
    registerTool("rev", (args) => [...args].reverse().join(""), "reverse a word");
    registerAgentTask("reverse-test", () =>
      defineAgentTask({
        name: "reverse-test",
        description: "reverse a word with a tool",
        tools: ["rev"],
        maxPromptLength: 8,
        maxTurnLength: 12,
        maxObservationLength: 8,
        maxTurns: 3,
        generate: (rng) => {
          const w = Array.from({ length: 4 }, () => "abcdefgh"[rng.integer(0, 8)]).join("");
          const r = [...w].reverse().join("");
          return { prompt: `${w}?`, data: { answer: r }, demonstration: [`rev(${w})`, `ans ${r}`] };
        },
        verify: (p, a) => (a === p.data.answer ? 1 : 0),
      }),
    );
    expect(isAgentTask("reverse-test")).toBe(true);
    const task = makeAgentTask("reverse-test");
    const p = task.sample(new Rng(0), "train");
    expect(task.respond(p, p.demonstration[0], 0, [])).toMatchObject({ observation: `=${p.data.answer};`, toolCall: true });
    expect(() => registerTool("rev", () => "")).toThrow(/already registered/);
    expect(() => registerAgentTask("bad", () => defineAgentTask({ name: "bad", description: "", tools: ["nope"], maxPromptLength: 1, maxTurnLength: 1, maxObservationLength: 1, maxTurns: 1, generate: () => ({ prompt: "", data: {}, demonstration: [] }), verify: () => 0 }))).not.toThrow();
    expect(() => makeAgentTask("bad")).toThrow(/unknown tool "nope"/);
  });
});
