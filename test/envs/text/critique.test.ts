import { describe, expect, it } from "vitest";
import { critiqueAdvantages } from "../../../src/algos/agent.js";
import { Rng } from "../../../src/core/rng.js";
import { AgentEnv } from "../../../src/envs/text/agent/env.js";
import { makeAgentTask, replayDemonstration } from "../../../src/envs/text/agent/task.js";
import "../../../src/envs/text/agent/critique.js";
import { CharTokenizer, EOS } from "../../../src/envs/text/tokenizer.js";
import type { AgentBatch } from "../../../src/rollout/agent_collector.js";

const tok = new CharTokenizer();
const turn = (text: string) => [...tok.encode(text), EOS];

describe("critique-and-refine task", () => {
  const task = makeAgentTask("critique", { base: "lookup", verdictReward: 0.5 });

  it("demonstrations verify, with and without a flawed first answer", () => {
    const seen = new Set<string>();
    for (let s = 0; s < 30; s++) {
      const p = task.sample(new Rng(s), "train");
      expect(replayDemonstration(task, p).score).toBe(1);
      seen.add(p.demonstration.includes("bad") ? "bad" : "ok");
    }
    expect([...seen].sort()).toEqual(["bad", "ok"]);
  });

  it("asks for a verdict after the first answer, rewards a right verdict, and ends on the refined answer", () => {
    const env = new AgentEnv({ task, tokenizer: tok, maxContextLength: 128 });
    env.reset(4);
    const p = env.problem;
    const answer = `ans ${p.data.answer}`;
    const wrong = `ans ${p.data.answer === "a" ? "b" : "a"}`;
    const calls = p.demonstration.filter((t) => t.startsWith("get("));
    for (const c of calls) env.step(turn(c));
    const first = env.step(turn(wrong));
    expect(tok.decode(first.observationTokens)).toBe("=check;");
    const verdict = env.step(turn("bad"));
    expect(tok.decode(verdict.observationTokens)).toBe("=retry;");
    expect(verdict.reward).toBeCloseTo(0.5, 6);
    expect(env.turns[env.turns.length - 1].role).toBe("critic");
    const end = env.step(turn(answer));
    expect(end).toMatchObject({ terminated: true, correct: 1, reward: 1 });
    // Approving a wrong answer earns nothing and ends with it.
    env.reset(4);
    for (const c of calls) env.step(turn(c));
    env.step(turn(wrong));
    expect(env.step(turn("ok"))).toMatchObject({ terminated: true, correct: 0, reward: 0 });
  });
});

describe("critique advantages", () => {
  it("actor turns get the outcome advantage; critic turns the verdict advantage plus w × outcome", () => {
    // One group of two episodes: A answers wrong, says bad (right, +0.5), refines right (outcome 1);
    // B answers wrong, says ok (wrong verdict, 0), outcome 0.
    const rec = (role: "actor" | "critic", length: number, taskReward: number, reward: number) => ({ text: "", length, observation: "", toolCall: false, malformed: false, reward, score: 0, role, taskReward });
    const turnsA = [rec("actor", 2, 0, 0), rec("critic", 1, 0.5, 0.5), rec("actor", 2, 0, 1)];
    const turnsB = [rec("actor", 2, 0, 0), rec("critic", 1, 0, 0)];
    const ab = {
      batch: { episodeReturn: Float32Array.from([1.5, 0]), episodeGroup: Int32Array.from([0, 0]), episodeIndex: Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1]), numEpisodes: 2 },
      stepTurn: Int32Array.from([0, 0, 1, 2, 2, 0, 0, 1]),
      turns: [
        { records: turnsA, anchors: ["", "", ""] },
        { records: turnsB, anchors: ["", ""] },
      ],
    } as unknown as AgentBatch;
    const norm = { scale: "std" as const, std: "unbiased" as const, eps: 1e-4 };
    const a = critiqueAdvantages(ab, 1, norm);
    // Outcome [1, 0] → ±0.707007; verdict rewards [0.5, 0] → ±0.25 / (0.353553 + 1e-4) = ±0.706907.
    const o = 0.5 / (Math.SQRT1_2 + 1e-4);
    const v = 0.25 / (0.5 * Math.SQRT1_2 + 1e-4);
    expect(a[0]).toBeCloseTo(o, 5);
    expect(a[2]).toBeCloseTo(v + o, 5);
    expect(a[3]).toBeCloseTo(o, 5);
    expect(a[5]).toBeCloseTo(-o, 5);
    expect(a[7]).toBeCloseTo(-v - o, 5);
    const stageOne = critiqueAdvantages(ab, 0, norm);
    expect(stageOne[2]).toBeCloseTo(v, 5);
    expect(stageOne[7]).toBeCloseTo(-v, 5);
  });
});
