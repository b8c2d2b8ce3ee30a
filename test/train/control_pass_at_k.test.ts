import { describe, expect, it } from "vitest";
import { make } from "../../src/envs/registry.js";
import { goalReached } from "../../src/rollout/vine_collector.js";
import { controlPassAtK, type BatchSampler } from "../../src/train/control_pass_at_k.js";

// Empty-5x5: the agent starts at (1, 1) facing right, the goal is at (3, 3), max_steps 100.
const RIGHT_THEN_DOWN = [2, 2, 1, 2, 2]; // (2,1) (3,1), turn, (3,2) (3,3)
const DOWN_THEN_RIGHT = [1, 2, 2, 0, 2, 2]; // turn, (1,2) (1,3), turn, (2,3) (3,3)
const FAIL = Array<number>(100).fill(6); // `done` does nothing here: truncated at 100 steps, return 0

/**
 * A scripted sampler: attempt e follows scripts[e]. Attempts run in lock-step and a finished one
 * leaves the batch, so at step t the batch holds, in order, the attempts whose script is longer
 * than t; every start state takes 100 steps (the failures' length).
 */
function scripted(scripts: number[][]): BatchSampler {
  let t = 0;
  return (obs) => {
    const running = scripts.filter((s) => s.length > t % 100);
    expect(obs).toHaveLength(running.length);
    const actions = running.map((s) => s[t % 100]);
    t++;
    return actions;
  };
}

describe("controlPassAtK (pass@k for control, from shared start states)", () => {
  it("n = 10 attempts with c = 3 successes: pass@1 0.3, pass@5 0.916667, pass@8 1; coverage and distinct goals, classes and paths", () => {
    const scripts = [RIGHT_THEN_DOWN, FAIL, DOWN_THEN_RIGHT, FAIL, FAIL, RIGHT_THEN_DOWN, FAIL, FAIL, FAIL, FAIL];
    const r = controlPassAtK(() => make("MiniGrid-Empty-5x5-v0"), scripted(scripts), { configs: 2, attempts: 10, ks: [1, 5, 8], seed: 0, success: goalReached });
    expect(r.passAtK["1"]).toBeCloseTo(0.3, 12);
    expect(r.passAtK["5"]).toBeCloseTo(0.916667, 6);
    expect(r.passAtK["8"]).toBe(1);
    expect(r.coverage).toBe(1);
    expect(r.distinctGoals).toBe(1); // one goal cell
    expect(r.distinctClasses).toBe(2); // through the top-right or the bottom-left quadrant
    expect(r.distinctPaths).toBe(2);
    // Returns 1 − 0.9·5/100 and 1 − 0.9·6/100, the rest 0.
    expect(r.meanReturn).toBeCloseTo((2 * (1 - 0.045) + (1 - 0.054)) / 10, 5);
  });

  it("no success anywhere: every pass@k and the coverage are 0", () => {
    const r = controlPassAtK(() => make("MiniGrid-Empty-5x5-v0"), scripted([FAIL, FAIL]), { configs: 1, attempts: 2, ks: [1, 2], seed: 0, success: goalReached });
    expect(r.passAtK).toEqual({ "1": 0, "2": 0 });
    expect(r.coverage).toBe(0);
    expect(r.distinctClasses).toBe(0);
  });

  it("refuses fewer attempts than the largest k, naming the fix", () => {
    expect(() => controlPassAtK(() => make("MiniGrid-Empty-5x5-v0"), scripted([FAIL]), { configs: 1, attempts: 2, ks: [1, 4], seed: 0, success: goalReached })).toThrow(
      /pass@4 needs at least 4 attempts.*Fix: raise --attempts/,
    );
  });
});
