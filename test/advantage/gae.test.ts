import { describe, expect, it } from "vitest";
import { gae } from "../../src/advantage/gae.js";

// Hand-checkable example from docs/methods.md §1: rewards [1,0,1], values [0.5,0.4,0.3],
// bootstrap V = 0.2, γ = 0.99, λ = 0.95.
const base = { rewards: [1, 0, 1], values: [0.5, 0.4, 0.3], lastValues: [0.2], numEnvs: 1, gamma: 0.99, lambda: 0.95 };

describe("gae", () => {
  it("matches the hand-computed values without a terminal", () => {
    // δ2 = 1 + .99·.2 − .3 = .898;  δ1 = 0 + .99·.3 − .4 = −.103;  δ0 = 1 + .99·.4 − .5 = .896
    // A2 = .898;  A1 = −.103 + .9405·.898 = .741569;  A0 = .896 + .9405·.741569 = 1.593446
    const { advantages, returns } = gae({ ...base, dones: [0, 0, 0] });
    expect(Array.from(advantages)).toEqual([1.593446, 0.741569, 0.898].map((x) => expect.closeTo(x, 5)));
    expect(Array.from(returns)).toEqual([2.093446, 1.141569, 1.198].map((x) => expect.closeTo(x, 5)));
  });

  it("does not bootstrap across an episode end", () => {
    // Episode ends after the last step: δ2 = 1 − .3 = .7, A1 = −.103 + .9405·.7, A0 = .896 + .9405·A1
    const { advantages } = gae({ ...base, dones: [0, 0, 1] });
    expect(Array.from(advantages)).toEqual([1.418307, 0.55535, 0.7].map((x) => expect.closeTo(x, 5)));
  });

  it("keeps envs independent in the time-major layout", () => {
    // Two envs interleaved: env 0 is the example above, env 1 ends at its first step.
    const { advantages } = gae({
      rewards: [1, 2, 0, 0, 1, 0],
      values: [0.5, 1, 0.4, 0, 0.3, 0],
      dones: [0, 1, 0, 0, 0, 0],
      lastValues: [0.2, 0],
      numEnvs: 2,
      gamma: 0.99,
      lambda: 0.95,
    });
    expect(advantages[0]).toBeCloseTo(1.593446, 5);
    expect(advantages[4]).toBeCloseTo(0.898, 5);
    expect(advantages[1]).toBeCloseTo(2 - 1, 6); // δ = r − V, no bootstrap past the end
    // Every slot, both envs (env 1's later steps have r = V = 0 and bootstrap from V = 0).
    expect(Array.from(advantages)).toEqual([1.593446, 1, 0.741569, 0, 0.898, 0].map((x) => expect.closeTo(x, 5)));
  });
});
