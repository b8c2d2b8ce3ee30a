import { describe, expect, it } from "vitest";
import type { RolloutBatch } from "../../src/rollout/step_collector.js";
import { encodeShard, mergeShards, shardBatch } from "../../src/scale/shards.js";
import { decodeMessage, encodeMessage, WireError } from "../../src/scale/wire.js";

function batch(numSteps: number, numEnvs: number, tag: number): RolloutBatch {
  const n = numSteps * numEnvs;
  // Value at (t, e) encodes its place, so a wrong layout is visible.
  const at = (i: number) => tag * 1000 + Math.floor(i / numEnvs) * 10 + (i % numEnvs);
  return {
    numSteps, numEnvs, obsSize: 2, actSize: 1, discrete: true,
    obs: Float32Array.from({ length: n * 2 }, (_, j) => at(Math.floor(j / 2)) + (j % 2) / 2),
    actions: Int32Array.from({ length: n }, (_, i) => at(i)),
    logProbs: Float32Array.from({ length: n }, (_, i) => -at(i)),
    values: Float32Array.from({ length: n }, (_, i) => at(i)),
    rewards: Float32Array.from({ length: n }, (_, i) => at(i)),
    dones: Uint8Array.from({ length: n }, (_, i) => i % 3 === 0 ? 1 : 0),
    lastValues: Float32Array.from({ length: numEnvs }, (_, e) => tag * 1000 + e),
    episodes: [{ return: tag, length: tag + 1 }],
  };
}

describe("wire messages", () => {
  it("round-trips a header and typed arrays exactly", () => {
    const buf = encodeMessage({ kind: "weights", version: 3 }, { a: Float32Array.of(1.5, -2), b: Int32Array.of(7), c: Uint8Array.of(1, 0, 1) });
    const m = decodeMessage(buf);
    expect(m.header).toEqual({ kind: "weights", version: 3 });
    expect(m.arrays.a).toEqual(Float32Array.of(1.5, -2));
    expect(m.arrays.b).toEqual(Int32Array.of(7));
    expect(m.arrays.c).toEqual(Uint8Array.of(1, 0, 1));
  });

  it("rejects garbage, truncation and out-of-bounds arrays as WireError", () => {
    const buf = encodeMessage({ kind: "x" }, { a: new Float32Array(16) });
    expect(() => decodeMessage(Buffer.from("hello world"))).toThrow(WireError);
    expect(() => decodeMessage(buf.subarray(0, buf.length - 4))).toThrow(/runs past the end/);
    expect(() => decodeMessage(buf.subarray(0, 10))).toThrow(WireError);
  });

  it("a shard survives the wire and is checked against the run's layout", () => {
    const b = batch(3, 2, 1);
    const shape = { numSteps: 3, numEnvs: 2, obsSize: 2, actSize: 1, discrete: true };
    const msg = decodeMessage(encodeShard({ kind: "shard", run: "r", session: "s", version: 0, shard: 0, actor: "a" }, b));
    expect(shardBatch(msg, shape)).toEqual(b);
    expect(() => shardBatch(msg, { ...shape, numEnvs: 4 })).toThrow(/numEnvs 2 is not the run's 4/);
  });
});

describe("mergeShards", () => {
  it("puts shards side by side on the env axis, time-major", () => {
    const [s0, s1] = [batch(3, 2, 1), batch(3, 2, 2)];
    const m = mergeShards([s0, s1]);
    expect(m.numEnvs).toBe(4);
    for (let t = 0; t < 3; t++) {
      for (let e = 0; e < 4; e++) {
        const src = e < 2 ? s0 : s1;
        const i = t * 2 + (e % 2);
        expect(m.values[t * 4 + e]).toBe(src.values[i]);
        expect(m.actions[t * 4 + e]).toBe(src.actions[i]);
        expect(m.dones[t * 4 + e]).toBe(src.dones[i]);
        expect(Array.from(m.obs.subarray((t * 4 + e) * 2, (t * 4 + e) * 2 + 2))).toEqual(Array.from(src.obs.subarray(i * 2, i * 2 + 2)));
      }
    }
    expect(Array.from(m.lastValues)).toEqual([1000, 1001, 2000, 2001]);
    expect(m.episodes).toEqual([{ return: 1, length: 2 }, { return: 2, length: 3 }]);
  });
});
