import { describe, expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { GroupPolicyOptimizer } from "../../src/algos/group_engine.js";
import { TextGroupOptimizer } from "../../src/algos/text_engine.js";
import { decodeGroupBatch, decodeTextPiece, groupPayload, groupShapeOf, mergeGroupBatches, mergeTextPieces, textPayload } from "../../src/scale/group_shards.js";
import { buildActorAlgo } from "../../src/scale/families.js";
import { shardBatch } from "../../src/scale/shards.js";
import { decodeMessage, encodeMessage, WireError } from "../../src/scale/wire.js";

async function create(algo: string, overrides: Record<string, unknown>) {
  const config = resolveConfig({ algo, overrides });
  return getAlgorithm(algo, "task" in overrides, overrides.task).create(config);
}

const roundTrip = (p: { header: Record<string, unknown>; arrays: Record<string, Float32Array | Int32Array | Uint8Array> }) => decodeMessage(encodeMessage(p.header, p.arrays));

describe("group and text batches on the wire", () => {
  it("a group batch (reinforce with a value baseline: V per step too) survives the wire, and two pieces merge into one batch of both", async () => {
    const algo = (await create("reinforce", { env: "CartPole-v1", numStarts: 1, groupSize: 3, seed: 3, baseline: "value" })) as GroupPolicyOptimizer;
    const a = algo.collectBatch();
    const b = algo.collectBatch();
    const shape = groupShapeOf(a);
    const back = decodeGroupBatch(roundTrip(groupPayload(a)), shape);
    for (const key of ["obs", "actions", "logProbs", "rewards", "dones", "episodeIndex", "groupIndex", "episodeReturn", "episodeLength", "episodeStart", "episodeGroup", "terminated", "truncated", "finalObs", "groupSeed"] as const) {
      expect(Array.from(back[key]), key).toEqual(Array.from(a[key]));
    }
    expect(a.values).toBeDefined();
    expect(Array.from(back.values ?? [])).toEqual(Array.from(a.values ?? []));
    const m = mergeGroupBatches([a, b]);
    expect(m.numGroups).toBe(2);
    expect(m.numSteps).toBe(a.numSteps + b.numSteps);
    // Episode e of piece b is episode 3 + e of the merge, in group 1, starting after all of a's steps.
    expect(m.episodeStart[3]).toBe(a.numSteps);
    expect(Array.from(m.episodeGroup)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(m.groupIndex[a.numSteps]).toBe(1);
    expect(m.episodeIndex[m.numSteps - 1]).toBe(5);
    expect(Array.from(m.obs.subarray(a.obs.length))).toEqual(Array.from(b.obs));
    expect(m.dones.reduce((s, d) => s + d, 0)).toBe(6);
    algo.dispose();
  });

  it("action masks travel with a group piece and merge, so the update scores actions under the masks they were chosen under", async () => {
    const algo = (await create("grpo", { env: "MiniGrid-DoorKey-5x5-v0", numStarts: 1, groupSize: 2, seed: 4, actionMasking: "on", maxEpisodeSteps: 20 })) as GroupPolicyOptimizer;
    const a = algo.collectBatch();
    const b = algo.collectBatch();
    expect(a.actionMasks?.length).toBe(a.numSteps * 7);
    const back = decodeGroupBatch(roundTrip(groupPayload(a)), groupShapeOf(a));
    expect(Array.from(back.actionMasks ?? [])).toEqual(Array.from(a.actionMasks ?? []));
    const m = mergeGroupBatches([a, b]);
    expect(Array.from(m.actionMasks ?? [])).toEqual([...Array.from(a.actionMasks ?? []), ...Array.from(b.actionMasks ?? [])]);
    const p = groupPayload(a);
    expect(() => decodeGroupBatch(roundTrip({ header: p.header, arrays: { ...p.arrays, actionMasks: new Uint8Array(a.numSteps * 7 + 1) } }), groupShapeOf(a))).toThrow(/actionMasks/);
    algo.dispose();
  });

  it("a ppo actor's shard carries its action masks too", async () => {
    const config = resolveConfig({ algo: "ppo", overrides: { env: "MiniGrid-DoorKey-5x5-v0", numEnvs: 2, numSteps: 8, actionMasking: "on", seed: 1 } });
    const actor = await buildActorAlgo("ppo", "step", config, 2, 7);
    const p = actor.collect();
    expect(p.arrays.actionMasks?.length).toBe(8 * 1 * 7);
    const b = shardBatch(roundTrip(p), { numSteps: 8, numEnvs: 1, obsSize: p.header.obsSize as number, actSize: 1, discrete: true });
    expect(Array.from(b.actionMasks ?? [])).toEqual(Array.from(p.arrays.actionMasks ?? []));
    actor.dispose();
  });

  it("rejects a piece of another layout, with missing arrays, or with lengths that do not add up", async () => {
    const algo = (await create("grpo", { env: "CartPole-v1", numStarts: 1, groupSize: 2, seed: 1 })) as GroupPolicyOptimizer;
    const a = algo.collectBatch();
    const shape = groupShapeOf(a);
    const p = groupPayload(a);
    expect(() => decodeGroupBatch(roundTrip(p), { ...shape, groupSize: 4 })).toThrow(WireError);
    const { obs: _obs, ...noObs } = p.arrays;
    expect(() => decodeGroupBatch(roundTrip({ header: p.header, arrays: noObs }), shape)).toThrow(/array obs/);
    const longer = Int32Array.from(a.episodeLength, (l) => l + 1);
    expect(() => decodeGroupBatch(roundTrip({ header: p.header, arrays: { ...p.arrays, episodeLength: longer } }), shape)).toThrow(WireError);
    expect(() => decodeGroupBatch(roundTrip({ header: { ...p.header, groupSeed: "x" }, arrays: p.arrays }), shape)).toThrow(/groupSeed/);
    algo.dispose();
  });

  it("a text piece keeps prompts, contexts, completions, entropies and verdicts; pieces merge in order", async () => {
    const model = { layers: 1, width: 16, heads: 2, contextLength: 16, ffWidth: 32, activation: "gelu" };
    const algo = (await create("grpo", { task: "parity", taskOptions: { bits: 4 }, chars: "01?", model, numPrompts: 2, groupSize: 2, backend: "cpu", seed: 2 })) as TextGroupOptimizer;
    const a = algo.sampleBatch();
    const b = algo.sampleBatch();
    const shape = groupShapeOf(a.batch.batch);
    const back = decodeTextPiece(roundTrip(textPayload(a)), shape);
    expect(back.batch.starts).toEqual(a.batch.starts);
    expect(back.batch.completions).toEqual(a.batch.completions);
    expect(back.batch.contexts.map((c) => Array.from(c))).toEqual(a.batch.contexts.map((c) => Array.from(c)));
    expect(Array.from(back.batch.entropy)).toEqual(Array.from(a.batch.entropy));
    expect(Array.from(back.batch.batch.actions)).toEqual(Array.from(a.batch.batch.actions));
    const m = mergeTextPieces([a, b]);
    expect(m.batch.starts.map((s) => s.problem.prompt)).toEqual([...a.batch.starts, ...b.batch.starts].map((s) => s.problem.prompt));
    expect(m.batch.batch.numEpisodes).toBe(8);
    expect(m.batch.correct.length).toBe(8);
    const bad = textPayload(a);
    expect(() => decodeTextPiece(roundTrip({ header: { ...bad.header, completions: ["x"] }, arrays: bad.arrays }), shape)).toThrow(/completions/);
    algo.dispose();
  });
});
