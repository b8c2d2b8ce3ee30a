import { describe, expect, it } from "vitest";
import { make } from "../../src/envs/registry.js";
import { recordEpisodes } from "../../src/train/record.js";

describe("recordEpisodes", () => {
  it("hands over one frame after each reset and one after each step, tagged with the episode", () => {
    const env = make("CartPole-v1", { renderMode: "rgb_array" });
    const perEpisode = [0, 0, 0];
    let previous: Uint8Array | null = null, changed = 0;
    const policy = { actOne: (obs: Float32Array) => (obs[2] > 0 ? 1 : 0) };
    const result = recordEpisodes(env, policy, { episodes: 3, seed: 5, deterministic: true }, (frame, ep) => {
      perEpisode[ep]++;
      expect([frame.width, frame.height]).toEqual([600, 400]);
      if (previous && !Buffer.from(previous).equals(Buffer.from(frame.data))) changed++;
      previous = frame.data.slice();
    });
    expect(perEpisode).toEqual(result.lengths.map((l) => l + 1));
    expect(result.frames).toBe(result.lengths.reduce((a, b) => a + b, 0) + 3);
    expect(result.returns).toEqual(result.lengths); // +1 per step
    expect(changed).toBeGreaterThan(result.frames / 2); // the picture follows the episode
  });

  it("refuses an env made without renderMode, naming the fix", () => {
    const env = make("Pendulum-v1");
    expect(() => recordEpisodes(env, { actOne: () => new Float32Array([0]) }, { episodes: 1, seed: 0, deterministic: true }, () => {})).toThrow(/make\("Pendulum-v1", \{ renderMode: "rgb_array" \}\)/);
  });
});
