import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { startDashboard } from "../../src/dashboard/server.js";
import { defineAgentTask, registerAgentTask } from "../../src/envs/text/agent/task.js";
import { registerReward } from "../../src/envs/text/rewards.js";
import { readCompletions, type CompletionRecord } from "../../src/train/logger.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-completions-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

/** A reward that depends on the prompt and the completion, so a logged triple can be checked for belonging together. */
const tagReward = (prompt: string, completion: string) => {
  const [a, b] = prompt.replace("=", "").split("+").map(Number);
  return (10 * a + b) / 100 + completion.length / 1000;
};
registerReward("test-prompt-tag", (problem, completion) => tagReward(problem.prompt, completion));

const textConfig = (extra: Record<string, unknown>) =>
  resolveConfig({
    algo: "grpo",
    overrides: { task: "addition", taskOptions: { digits: 1 }, model: TINY, numPrompts: 4, groupSize: 4, evalProblems: 4, backend: "cpu", rewards: [{ name: "test-prompt-tag", weight: 1 }], ...extra },
  });

describe("sampled completions of text runs", () => {
  it("are written every logCompletionsEvery iterations to completions.jsonl, and served by /api/completions", async () => {
    const runDir = join(root, "grpo-text");
    await train({ runDir, algo: "grpo", config: textConfig({ iterations: 6, logCompletionsEvery: 2, logCompletionsCount: 3 }) });
    const logged = readCompletions(join(runDir, "completions.jsonl"));
    expect(logged.map((c) => c.iteration)).toEqual([2, 2, 2, 4, 4, 4, 6, 6, 6]);
    const steps = new Map(
      readFileSync(join(runDir, "metrics.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { kind: string; iteration: number; step: number })
        .filter((r) => r.kind === "train")
        .map((r) => [r.iteration, r.step]),
    );
    for (const c of logged) {
      expect(c.prompt).toMatch(/^\d\+\d=$/);
      expect(typeof c.completion).toBe("string");
      expect(c.reward).toBeCloseTo(tagReward(c.prompt, c.completion), 5);
      expect(c.correct).toBe(false); // this reward never says "correct": only task.verify of the correctness reward counts
      expect(c.step).toBe(steps.get(c.iteration));
    }

    const dashboard = await startDashboard({ runsRoot: root, port: 0 });
    try {
      const get = (q: string) => fetch(`${dashboard.url}api/completions?${q}`);
      const id = encodeURIComponent(basename(runDir));
      const res = await get(`run=${id}&limit=2`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { run: string; completions: CompletionRecord[] };
      expect(body.run).toBe(basename(runDir));
      expect(body.completions).toEqual(logged.slice(-2));
      expect(((await (await get(`run=${id}`)).json()) as { completions: unknown[] }).completions).toHaveLength(9);
      const bad = await get(`run=${id}&limit=0`);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/limit must be an integer from 1 to 500\. Fix:/);
      expect((await get("run=no-such-run")).status).toBe(404);
      expect((await get("run=..%2Fgrpo-text")).status).toBe(404);
    } finally {
      await dashboard.close();
    }
  });

  it("are not written with logCompletionsEvery = 0, and a resumed run logs no iteration twice", async () => {
    const off = join(root, "off");
    await train({ runDir: off, algo: "grpo", config: textConfig({ iterations: 2, logCompletionsEvery: 0 }), store: false });
    expect(existsSync(join(off, "completions.jsonl"))).toBe(false);

    const runDir = join(root, "resumed");
    const config = textConfig({ iterations: 4, checkpointEvery: 2, logCompletionsEvery: 1, logCompletionsCount: 2 });
    await train({ runDir, algo: "grpo", config, store: false, stopAfterIterations: 3 });
    expect(readCompletions(join(runDir, "completions.jsonl")).map((c) => c.iteration)).toEqual([1, 1, 2, 2, 3, 3]);
    await train({ runDir, resume: true, store: false });
    expect(readCompletions(join(runDir, "completions.jsonl")).map((c) => c.iteration)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });
});

/** Two turns: a call of the tool `echo` (or anything else), then the answer; an answer starting with a digit wins. */
registerAgentTask("completions-coin", () =>
  defineAgentTask({
    name: "completions-coin",
    description: "two turns: a tool call, then an answer",
    maxPromptLength: 3,
    maxTurnLength: 3,
    maxObservationLength: 3,
    maxTurns: 2,
    generate: (rng) => ({ prompt: "?", data: { k: rng.integer(0, 1000) }, demonstration: ["a", "1"] }),
    respond: (_p, turn, i) => (i === 0 ? { observation: "=a;", done: false, toolCall: true, malformed: false } : { observation: "", done: true, answer: turn, toolCall: false, malformed: false }),
    verify: (_p, answer) => (/^[0-9]/.test(answer) ? 1 : 0),
  }),
);

describe("sampled episodes of multi-turn runs", () => {
  it("record every turn (the policy's text, the env's answer, tool calls) with the episode's reward and success, and /api/completions serves them", async () => {
    const runDir = join(root, "grpo-agent");
    const config = resolveConfig({
      algo: "grpo",
      overrides: { task: "completions-coin", model: TINY, iterations: 2, numPrompts: 2, groupSize: 4, numMinibatches: 1, evalProblems: 2, backend: "cpu", logCompletionsEvery: 1, logCompletionsCount: 3 },
    });
    await train({ runDir, algo: "grpo", config });
    const logged = readCompletions(join(runDir, "completions.jsonl"));
    expect(logged.map((c) => c.iteration)).toEqual([1, 1, 1, 2, 2, 2]);
    for (const c of logged) {
      const turns = c.turns ?? [];
      expect(turns).toHaveLength(2);
      // Turn 0 is the tool call and its result; turn 1 the final answer, after which the env says nothing.
      expect(turns[0]).toMatchObject({ observation: "=a;", toolCall: true, malformed: false, role: "actor" });
      expect(turns[1]).toMatchObject({ observation: "", toolCall: false });
      expect(c.correct).toBe(/^[0-9]/.test(turns[1].text));
      expect(c.reward).toBe(c.correct ? 1 : 0);
      // The flat transcript is the same episode.
      expect(c.completion).toBe(`${turns[0].text} [=a;] | ${turns[1].text}`);
    }
    const dashboard = await startDashboard({ runsRoot: root, port: 0 });
    try {
      const res = await fetch(`${dashboard.url}api/completions?run=grpo-agent&limit=3`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { completions: CompletionRecord[] };
      expect(body.completions).toEqual(logged.slice(-3));
      expect(body.completions[0].turns?.[0].observation).toBe("=a;");
    } finally {
      await dashboard.close();
    }
  });
});
