import { describe, expect, it } from "vitest";
import { broadcastEpisodeValue, discountedReturnsToGo } from "../../src/advantage/returns.js";

const close = (xs: number[], digits = 6) => xs.map((x) => expect.closeTo(x, digits));

describe("discountedReturnsToGo", () => {
  it("sums discounted rewards backwards within one episode", () => {
    // G2 = 1; G1 = 0 + .99·1 = .99; G0 = 1 + .99·.99 = 1.9801
    const g = discountedReturnsToGo([1, 0, 1], { episodeStart: [0], episodeLength: [3] }, 0.99);
    expect(Array.from(g)).toEqual(close([1.9801, 0.99, 1]));
  });

  it("never sums across an episode boundary", () => {
    // Episode 0 = [1, 0, 1], episode 1 = [2, 3], γ = ½:
    // G = [1 + ½·(0 + ½·1), 0 + ½·1, 1 | 2 + ½·3, 3] = [1.25, 0.5, 1 | 3.5, 3]
    const spans = { episodeStart: [0, 3], episodeLength: [3, 2] };
    const g = discountedReturnsToGo([1, 0, 1, 2, 3], spans, 0.5);
    expect(Array.from(g)).toEqual(close([1.25, 0.5, 1, 3.5, 3]));
  });

  it("subtracts a per-step baseline", () => {
    const spans = { episodeStart: [0, 3], episodeLength: [3, 2] };
    const adv = discountedReturnsToGo([1, 0, 1, 2, 3], spans, 0.5, { baseline: [0.5, 0.4, 0.3, 1, 1] });
    expect(Array.from(adv)).toEqual(close([0.75, 0.1, 0.7, 2.5, 2]));
  });

  it("bootstraps a truncated episode from the value after its last step", () => {
    // Episode 1 truncated with V(final) = 4: G4 = 3 + ½·4 = 5, G3 = 2 + ½·5 = 4.5.
    const spans = { episodeStart: [0, 3], episodeLength: [3, 2] };
    const g = discountedReturnsToGo([1, 0, 1, 2, 3], spans, 0.5, { bootstrap: [0, 4] });
    expect(Array.from(g)).toEqual(close([1.25, 0.5, 1, 4.5, 5]));
  });

  it("with γ = 1 gives the undiscounted episode return at the first step", () => {
    const g = discountedReturnsToGo([1, 1, 1, 1, 1], { episodeStart: [0, 2], episodeLength: [2, 3] }, 1);
    expect(Array.from(g)).toEqual([2, 1, 3, 2, 1]);
  });

  it("rejects inconsistent inputs", () => {
    const spans = { episodeStart: [0], episodeLength: [3] };
    expect(() => discountedReturnsToGo([1, 2], spans, 0.9)).toThrow(/does not fit in 2 steps/);
    expect(() => discountedReturnsToGo([1, 2, 3], spans, 1.5)).toThrow(/gamma must be in \[0, 1\]/);
    for (const gamma of [-0.1, NaN, Infinity]) expect(() => discountedReturnsToGo([1, 2, 3], spans, gamma)).toThrow(/gamma must be in \[0, 1\]/);
    expect(Array.from(discountedReturnsToGo([1, 2, 3], spans, 0))).toEqual([1, 2, 3]); // γ = 0 is allowed: each step's own reward
    // Spans that cannot be: negative or fractional starts and lengths.
    for (const bad of [{ episodeStart: [-1], episodeLength: [2] }, { episodeStart: [0], episodeLength: [-1] }, { episodeStart: [0.5], episodeLength: [2] }, { episodeStart: [0], episodeLength: [1.5] }]) {
      expect(() => discountedReturnsToGo([1, 2, 3], bad, 0.9)).toThrow(/does not fit in 3 steps/);
    }
    expect(() => discountedReturnsToGo([1, 2, 3], spans, 0.9, { baseline: [0] })).toThrow(/baseline has 1 values for 3 steps/);
    expect(() => discountedReturnsToGo([1, 2, 3], spans, 0.9, { bootstrap: [0, 0] })).toThrow(/bootstrap has 2 values for 1 episodes/);
  });
});

describe("broadcastEpisodeValue", () => {
  it("gives every step its episode's value (outcome-only rewards)", () => {
    const out = broadcastEpisodeValue([0.5, -1.5, 2], Int32Array.from([0, 0, 1, 2, 2, 2]));
    expect(Array.from(out)).toEqual([0.5, 0.5, -1.5, 2, 2, 2]);
  });

  it("rejects an episode index without a value", () => {
    expect(() => broadcastEpisodeValue([1], [0, 1])).toThrow(/step 1 belongs to episode 1 but there are 1 episode values/);
  });
});
