import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { chunkSteps, OffPolicyAlgorithm } from "../../src/algos/off_policy.js";
import { Rng } from "../../src/core/rng.js";
import { run } from "../../src/cli/main.js";
import { OffPolicyThreadActors, planOffPolicyThreads, type OffPolicyThreadOptions } from "../../src/scale/offpolicy_actors.js";
import { chunkPayload, decodeChunk } from "../../src/scale/offpolicy_wire.js";
import { decodeMessage, encodeMessage, WireError } from "../../src/scale/wire.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-offpolicy-actors-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Row = Record<string, number>;

function readRows(dir: string, kind = "train"): Row[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Row & { kind: string })
    .filter((r) => (r as { kind: string }).kind === kind);
}

async function trainWithThreads(name: string, algo: string, config: Record<string, unknown>, opts: OffPolicyThreadOptions, resume = false) {
  const actors = await OffPolicyThreadActors.create(algo, config, opts);
  const runDir = join(root, name);
  try {
    const summary = await train({
      runDir,
      algo,
      config: resume ? undefined : config,
      resume,
      store: false,
      beforeIteration: (a) => actors.beforeIteration(a),
      callbacks: { onUpdate: (_row, _a, logger) => actors.recordMetrics(logger) },
    });
    return { summary, rows: readRows(runDir), runDir, plan: actors.plan };
  } finally {
    await actors.close();
  }
}

/** DQN on CartPole with the Zoo's settings and a 64-64 network; `extra` overrides them (a quarter of the gradient steps for the short tests). */
function dqnConfig(totalTimesteps: number, extra: Record<string, unknown> = {}) {
  return resolveConfig({
    algo: "dqn",
    preset: "zoo",
    env: "CartPole-v1",
    overrides: { seed: 1, hidden: [64, 64], totalTimesteps, backend: "cpu", evalEpisodes: 10, checkpointSeconds: 0, ...extra },
  });
}

const CHEAP = { trainFreq: 64, gradientSteps: 16, learningStarts: 500, iterationSteps: 500 };

describe("off-policy transitions collected elsewhere", () => {
  it("an actor acts exactly as the single-process loop: random warm-up, then ε-greedy (dqn) or the policy's sampling (sac)", async () => {
    for (const [algo, env] of [["sac", "Pendulum-v1"], ["dqn", "CartPole-v1"]]) {
      // No gradient step in 100 steps (trainFreq 1000), so both act with the initial weights; sac's warm-up ends at step 50.
      const config = resolveConfig({ algo, env, overrides: { seed: 6, hidden: [16, 16], learningStarts: 50, trainFreq: 1000, iterationSteps: 100, totalTimesteps: 100, bufferSize: 200, backend: "cpu" } });
      const single = (await getAlgorithm(algo).create(config)) as OffPolicyAlgorithm;
      const actor = (await getAlgorithm(algo).create(config)) as OffPolicyAlgorithm;
      try {
        single.iterate();
        const stored = single.buffer.gather(Array.from({ length: 100 }, (_, i) => i));
        const chunk = actor.collectChunk(100, 0);
        expect(Array.from(chunk.actions), algo).toEqual(Array.from(stored.actions));
        expect(Array.from(chunk.obs.subarray(0, 100 * single.vec.obsSize))).toEqual(Array.from(stored.obs));
        expect(Array.from(Float32Array.from(chunk.rewards))).toEqual(Array.from(stored.rewards));
      } finally {
        single.dispose();
        actor.dispose();
      }
    }
  }, 120_000);


  it("a chunk keeps the true last observation of a truncated episode, and the learner bootstraps from it", async () => {
    const config = resolveConfig({ algo: "sac", env: "Pendulum-v1", overrides: { seed: 4, hidden: [16, 16], learningStarts: 10_000, bufferSize: 1000, backend: "cpu" } });
    const actor = (await getAlgorithm("sac").create({ ...config, seed: 9 })) as OffPolicyAlgorithm;
    const learner = (await getAlgorithm("sac").create(config)) as OffPolicyAlgorithm;
    try {
      const chunk = actor.collectChunk(205, 0);
      const o = 3;
      // Pendulum-v1 is truncated at 200 steps: step 199 ends the episode, step 200 starts the next.
      expect(chunk.truncated[199]).toBe(1);
      expect(chunk.terminated[199]).toBe(0);
      expect(Array.from(chunk.finalIndex)).toEqual([199]);
      const final = chunk.finalObs.subarray(0, o);
      const resetObs = chunk.obs.subarray(200 * o, 201 * o);
      expect(Array.from(final)).not.toEqual(Array.from(resetObs));
      expect(chunk.episodes).toEqual([expect.objectContaining({ at: 199, length: 200 })]);
      learner.beginFedIteration();
      for (const step of chunkSteps(chunk, o, 1)) learner.feed(step);
      const rows = learner.buffer.gather([198, 199, 200]);
      // 198 → 199 inside the episode; 199 bootstraps from the final observation (not terminal); 200 starts from the reset one.
      expect(Array.from(rows.nextObs.subarray(0, o))).toEqual(Array.from(chunk.obs.subarray(199 * o, 200 * o)));
      expect(Array.from(rows.nextObs.subarray(o, 2 * o))).toEqual(Array.from(final));
      expect(rows.dones[1]).toBe(0);
      expect(Array.from(rows.obs.subarray(2 * o, 3 * o))).toEqual(Array.from(resetObs));
      expect(learner.stepsDone).toBe(205);
    } finally {
      actor.dispose();
      learner.dispose();
    }
  }, 120_000);

  it("n-step sums end at a chunk's last step (the next chunk may be another thread's), and only there", async () => {
    const config = resolveConfig({ algo: "dqn", env: "CartPole-v1", overrides: { seed: 2, hidden: [8], learningStarts: 10_000, bufferSize: 1000, nStep: 3, gamma: 0.5, backend: "cpu" } });
    const actor = (await getAlgorithm("dqn").create({ ...config, seed: 5 })) as OffPolicyAlgorithm;
    const learner = (await getAlgorithm("dqn").create(config)) as OffPolicyAlgorithm;
    try {
      const a = actor.collectChunk(6, 0);
      const b = actor.collectChunk(6, 6);
      // CartPole episodes under random actions last ≥ 8 steps, so no episode ends in the first 6.
      expect(Array.from(a.terminated).concat(Array.from(a.truncated)).every((x) => x === 0)).toBe(true);
      learner.beginFedIteration();
      for (const step of [...chunkSteps(a, 4, 1), ...chunkSteps(b, 4, 1)]) learner.feed(step);
      const rows = learner.buffer.gather([3, 4, 5, 6]);
      // Row 3 sums 3, 4, 5 (γ³); row 4 stops at 5, the chunk's end (γ², not γ³), bootstrapping from its true next observation; row 5 too (γ); row 6 starts chunk b (γ³).
      expect(Array.from(rows.discounts)).toEqual([0.125, 0.25, 0.5, 0.125]);
      expect(Array.from(rows.nextObs.subarray(4, 8))).toEqual(Array.from(a.obs.subarray(6 * 4, 7 * 4)));
      expect(Array.from(rows.dones)).toEqual([0, 0, 0, 0]);
    } finally {
      actor.dispose();
      learner.dispose();
    }
  }, 120_000);
});

describe("OffPolicyThreadActors", () => {
  it("a chunk crosses the wire intact, and a malformed one is a WireError (counted by the learner, never stored)", async () => {
    const config = resolveConfig({ algo: "sac", env: "Pendulum-v1", overrides: { seed: 4, hidden: [8], learningStarts: 10_000, bufferSize: 100, backend: "cpu" } });
    const actor = (await getAlgorithm("sac").create(config)) as OffPolicyAlgorithm;
    try {
      const chunk = actor.collectChunk(201, 0);
      const layout = { obsSize: 3, actSize: 1, discrete: false };
      const shape = { ...layout, steps: 201, numEnvs: 1 };
      const payload = chunkPayload(chunk, layout);
      const back = decodeChunk(decodeMessage(encodeMessage(payload.header, payload.arrays)), shape);
      expect(Array.from(back.obs)).toEqual(Array.from(chunk.obs));
      expect(Array.from(back.finalObs)).toEqual(Array.from(chunk.finalObs));
      expect(Array.from(back.rewards)).toEqual(Array.from(Float32Array.from(chunk.rewards)));
      expect(back.episodes).toEqual(chunk.episodes);
      const bad = (header: Record<string, unknown>, arrays: Record<string, Int32Array | Float32Array | Uint8Array>) => () => decodeChunk(decodeMessage(encodeMessage(header, arrays)), shape);
      expect(bad({ ...payload.header, numSteps: 200 }, payload.arrays)).toThrow(WireError);
      expect(bad(payload.header, { ...payload.arrays, obs: chunk.obs.subarray(3) })).toThrow(/obs is missing or has the wrong type or length/);
      expect(bad(payload.header, { ...payload.arrays, finalIndex: Int32Array.from([500]) })).toThrow(/finalIndex is out of range/);
      expect(bad({ ...payload.header, episodes: [{ at: 900, return: 1, length: 1 }] }, payload.arrays)).toThrow(/episodes/);
    } finally {
      actor.dispose();
    }
  }, 120_000);


  it("every off-policy agent acts on weights it is sent exactly as the agent that sent them", async () => {
    for (const [algo, env] of [["dqn", "CartPole-v1"], ["sac", "Pendulum-v1"], ["td3", "Pendulum-v1"], ["mdpo-off", "Pendulum-v1"]]) {
      const config = resolveConfig({ algo, env, overrides: { seed: 1, hidden: [16, 16], bufferSize: 100, backend: "cpu" } });
      const learner = (await getAlgorithm(algo).create(config)) as OffPolicyAlgorithm;
      const actor = (await getAlgorithm(algo).create({ ...config, seed: 77 })) as OffPolicyAlgorithm;
      try {
        const obs = new Float32Array(learner.vec.obsSize).map((_, i) => 0.3 * (i + 1) - 0.5);
        const greedy = (a: OffPolicyAlgorithm) => Array.from(a.agent.act(obs, 1, false, { step: 0, vectorSteps: 0, updates: 0, totalTimesteps: 1, numEnvs: 1, rng: new Rng(0), actionMasks: null }));
        // Different seeds, different initial weights: the acting weights are what makes them agree.
        if (algo !== "dqn") expect(greedy(actor)).not.toEqual(greedy(learner));
        actor.agent.setActingWeights?.(learner.agent.exportPolicy().weights);
        expect(greedy(actor), algo).toEqual(greedy(learner));
      } finally {
        learner.dispose();
        actor.dispose();
      }
    }
  }, 120_000);

  it("refinery train --actor-threads 2 trains dqn from the command line and logs the remote metrics", async () => {
    let err = "";
    const io = { out: () => undefined, err: (e: string) => void (err += e) };
    const out = join(root, "cli");
    const code = await run(["train", "--algo", "dqn", "--steps", "1000", "--set", "learningStarts=200", "--set", "iterationSteps=500", "--set", "evalEpisodes=1", "--set", "backend=cpu", "--actor-threads", "2", "--max-staleness", "1", "--quiet", "--out", out], io);
    expect(err).toBe("");
    expect(code).toBe(0);
    const rows = readRows(out);
    expect(rows.map((r) => r.step)).toEqual([500, 1000]);
    expect(rows.every((r) => r["remote/stalenessMax"] <= 1 && r["remote/chunks"] > 0)).toBe(true);
  }, 300_000);


  it("dqn on CartPole with 2 threads learns as one thread does at the same budget, counts every step once and stays within the staleness bound", async () => {
    // The same config in one thread (train() without actors, seed 1, wasm, 20k steps) ends with a
    // deterministic evaluation of 140.5 and a mean training return of 99.4 over its last 10
    // iterations (random play: about 22); two threads must reach 0.6× of both.
    const { summary, rows, plan } = await trainWithThreads("dqn2", "dqn", dqnConfig(20_000, { backend: "wasm" }), { threads: 2 });
    expect(summary.steps).toBe(20_000);
    expect(rows.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 * (i + 1)));
    // Zoo: 128 gradient steps every 256 vector steps past learningStarts 1000, as in one thread.
    expect(rows.reduce((s, r) => s + r.gradientSteps, 0)).toBe((Math.floor(20_000 / 256) - Math.floor(1000 / 256)) * 128);
    expect(plan).toEqual({ threads: 2, maxStaleness: 2, publishEvery: 128, chunkSteps: 256 });
    for (const r of rows) {
      expect(r["remote/stalenessMax"]).toBeLessThanOrEqual(plan.maxStaleness);
      expect(r["remote/staleBatches"]).toBe(0);
    }
    expect(Math.max(...rows.map((r) => r["remote/stalenessMax"]))).toBeGreaterThan(0); // the threads did run ahead
    const lateTraining = rows.slice(-10).reduce((s, r) => s + r.episodeReturnMean, 0) / 10;
    expect(lateTraining).toBeGreaterThanOrEqual(0.6 * 99.4);
    expect(summary.finalEval.meanReturn).toBeGreaterThanOrEqual(0.6 * 140.5);
  }, 1_800_000);

  it("is deterministic for a seed and thread count, and --max-staleness 0 keeps every chunk on the learner's newest weights", async () => {
    const config = dqnConfig(3000, CHEAP);
    const a = await trainWithThreads("det-a", "dqn", config, { threads: 2, maxStaleness: 0 });
    const b = await trainWithThreads("det-b", "dqn", config, { threads: 2, maxStaleness: 0 });
    const learning = (rows: Row[]) => rows.map((r) => [r.step, r.loss, r.qValue, r.episodeReturnMean, r["remote/version"]]);
    expect(learning(b.rows)).toEqual(learning(a.rows));
    expect(a.rows.every((r) => r["remote/stalenessMax"] === 0)).toBe(true);
    expect(a.summary.steps).toBe(3000);
  }, 600_000);

  it("sac on Pendulum with 2 threads: no training during the warm-up, then one gradient step per transition, exact counts", async () => {
    const config = resolveConfig({
      algo: "sac",
      env: "Pendulum-v1",
      overrides: { seed: 3, hidden: [32, 32], batchSize: 64, totalTimesteps: 3000, learningStarts: 1000, backend: "cpu", evalEpisodes: 2, checkpointSeconds: 0 },
    });
    const { summary, rows, plan } = await trainWithThreads("sac2", "sac", config, { threads: 2, maxStaleness: 1, publishEvery: 16, chunkSteps: 16 });
    expect(summary.steps).toBe(3000);
    expect(rows.map((r) => r.gradientSteps)).toEqual([0, 1000, 1000]);
    for (const r of rows) expect(r["remote/stalenessMax"]).toBeLessThanOrEqual(plan.maxStaleness);
    expect(rows[2]["remote/version"]).toBe(Math.floor(2000 / 16));
    expect(Number.isFinite(summary.finalEval.meanReturn)).toBe(true);
    expect(rows.every((r) => Number.isFinite(r.episodeReturnMean))).toBe(true);
  }, 600_000);

  it("a failing thread stops the run with an error naming --actor-threads; the resumed run ends at exactly its budget", async () => {
    const config = dqnConfig(3000, { ...CHEAP, checkpointEvery: 1 });
    await expect(trainWithThreads("crash", "dqn", config, { threads: 2, chunkSteps: 64, failAt: { thread: 1, request: 5 } })).rejects.toThrow(/--actor-threads: actor thread 1 failed: test failure/);
    const before = readRows(join(root, "crash"));
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(6);
    const { summary, rows } = await trainWithThreads("crash", "dqn", config, { threads: 2, chunkSteps: 64 }, true);
    expect(summary.steps).toBe(3000);
    expect(rows.map((r) => r.step)).toEqual([500, 1000, 1500, 2000, 2500, 3000]);
  }, 600_000);

  it("refuses what actor threads cannot honour", async () => {
    const dqn = dqnConfig(3000);
    expect(() => planOffPolicyThreads("dqn", { ...dqn, vectorEnv: "async" }, { threads: 2 })).toThrow(/vectorEnv=async with --actor-threads/);
    expect(() => planOffPolicyThreads("dqn", dqn, { threads: 2, publishEvery: 0 })).toThrow(/--publish-every must be an integer ≥ 1/);
    expect(() => planOffPolicyThreads("ppo", dqn, { threads: 2 })).toThrow(/off-policy actor threads run dqn, sac, td3, mdpo-off/);
    let err = "";
    const io = { out: () => undefined, err: (e: string) => void (err += e) };
    expect(await run(["train", "--algo", "dqn", "--steps", "1000", "--max-staleness", "1", "--out", join(root, "refused-1")], io)).toBe(2);
    expect(err).toMatch(/--max-staleness 1 bounds how far actors run ahead, and this run has none.*Fix: add --actor-threads N/);
    err = "";
    expect(await run(["train", "--algo", "ppo", "--steps", "1000", "--actor-threads", "2", "--publish-every", "2", "--out", join(root, "refused-2")], io)).toBe(2);
    expect(err).toMatch(/--publish-every apply to off-policy actor threads; ppo's actor threads collect whole iterations/);
    // A masked env: chunks carry no masks yet, so it is refused before the run directory exists.
    err = "";
    const masked = join(root, "refused-masked");
    expect(await run(["train", "--algo", "dqn", "--env", "MiniGrid-Empty-5x5-v0", "--steps", "1000", "--actor-threads", "2", "--out", masked], io)).toBe(2);
    expect(err).toMatch(/off-policy actors \(threads or remote\) do not carry action masks yet.*Fix: set actionMasking=off/);
    expect(existsSync(masked)).toBe(false);
  }, 120_000);
});
