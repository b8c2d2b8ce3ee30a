import { beforeAll, describe, expect, it } from "vitest";
import { turnLengths, turnRowsOf } from "../../src/algos/agent_engine.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { AgentEnv } from "../../src/envs/text/agent/env.js";
import { makeAgentTask } from "../../src/envs/text/agent/task.js";
import "../../src/envs/text/agent/tasks.js";
import { CharTokenizer } from "../../src/envs/text/tokenizer.js";
import { TokenPolicy } from "../../src/policies/token_policy.js";
import { AgentGroupCollector } from "../../src/rollout/agent_collector.js";

beforeAll(async () => {
  await initBackend("cpu");
});

describe("AgentGroupCollector", () => {
  const task = makeAgentTask("guess", { bits: 3 });
  const tokenizer = new CharTokenizer();
  const policy = TokenPolicy.create({ layers: 1, width: 16, heads: 2, contextLength: 64, ffWidth: 32, activation: "gelu" }, tokenizer, new Rng(1));
  const collector = new AgentGroupCollector(() => new AgentEnv({ task, tokenizer, maxContextLength: 64 }), policy, { numPrompts: 2, groupSize: 3, temperature: 1, topK: 0 });
  const ab = collector.collect(new Rng(5));
  const b = ab.batch;

  it("lays out B × G episodes whose steps are exactly the policy's tokens", () => {
    expect(b.numEpisodes).toBe(6);
    expect(Array.from(b.episodeGroup)).toEqual([0, 0, 0, 1, 1, 1]);
    for (let e = 0; e < 6; e++) {
      const positions = ab.policyPositions[e];
      expect(positions.length).toBe(b.episodeLength[e]);
      const policyTokens = Array.from(positions, (p) => ab.transcripts[e][p]);
      expect(Array.from(b.actions.subarray(b.episodeStart[e], b.episodeStart[e] + b.episodeLength[e]))).toEqual(policyTokens);
      // Turn lengths add up to the episode's policy tokens, and the env's tokens are the rest.
      const turns = ab.turns[e].records;
      expect(turns.reduce((s, t) => s + t.length, 0)).toBe(b.episodeLength[e]);
      expect(ab.transcripts[e].length - positions.length).toBe(turns.reduce((s, t) => s + (t.observation ? tokenizer.encode(t.observation).length : 0), 0));
      // Episodes of one group start from the same problem.
      expect(ab.turns[e].anchors[0]).toBe(ab.starts[b.episodeGroup[e]].problem.prompt);
    }
  });

  it("the update's forward gives the sampled log-probabilities of the policy's tokens (ratio 1 before any step)", () => {
    const eps = [0, 1, 2, 3, 4, 5];
    const out = policy.evaluate(eps.map((e) => ab.contexts[e]), eps.map((e) => ab.transcripts[e]), 1, false);
    let offset = 0;
    for (const e of eps) {
      ab.policyPositions[e].forEach((p, k) => expect(out.logProb[offset + p]).toBeCloseTo(b.logProbs[b.episodeStart[e] + k], 4));
      offset += ab.transcripts[e].length;
    }
  });

  it("turn rows cover every step once, in episode and turn order", () => {
    const rows = turnRowsOf(ab);
    expect(rows.reward.length).toBe(ab.turns.reduce((s, t) => s + t.records.length, 0));
    for (let s = 0; s < b.numSteps; s++) {
      expect(rows.episode[rows.rowOfStep[s]]).toBe(b.episodeIndex[s]);
    }
    const all = Int32Array.from({ length: b.numSteps }, (_, i) => i);
    expect(turnLengths(ab, all)).toEqual(ab.turns.flatMap((t) => t.records.map((r) => r.length)));
    // The outcome sits on the last turn: an episode's row rewards sum to its return.
    for (let e = 0; e < 6; e++) {
      const sum = Array.from(rows.reward).filter((_, i) => rows.episode[i] === e).reduce((a, x) => a + x, 0);
      expect(sum).toBeCloseTo(b.episodeReturn[e], 6);
    }
  });
});
