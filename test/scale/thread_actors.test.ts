import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import type { Algorithm } from "../../src/algos/types.js";
import { buildActorAlgo, learnerFamily, remoteFamily } from "../../src/scale/families.js";
import { ThreadActors } from "../../src/scale/thread_actors.js";
import { train } from "../../src/train/trainer.js";

const dir = mkdtempSync(join(tmpdir(), "refinery-thread-actors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, number>;

function trainRows(runDir: string): Row[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.kind === "train");
}

async function runWithThreads(name: string, algo: string, config: Record<string, unknown>, threads: number, maxStaleness = 0) {
  const actors = await ThreadActors.create(algo, config, threads, { maxStaleness });
  try {
    const summary = await train({
      runDir: join(dir, name), algo, config, store: false,
      beforeIteration: (a) => actors.beforeIteration(a),
      callbacks: { onUpdate: (_row, _a, logger) => actors.recordMetrics(logger) },
    });
    return { summary, rows: trainRows(join(dir, name)), stepsUsed: actors.stepsUsed };
  } finally {
    await actors.close();
  }
}

/**
 * The single-thread equivalent of ThreadActors with maxStaleness 0, written out: actor k is
 * the algorithm a remote actor builds (buildActorAlgo, seed + k + 1), loads weights n and
 * collects its piece of iteration n in this thread; the pieces are merged as the learner
 * merges them. Thread actors must give exactly this run.
 */
async function runInline(name: string, algo: string, config: Record<string, unknown>, shards: number) {
  const family = remoteFamily(algo, config, "test");
  const actors = await Promise.all(Array.from({ length: shards }, (_, k) => buildActorAlgo(algo, family, config, shards, (config.seed as number) + k + 1)));
  try {
    const beforeIteration = async (a: Algorithm) => {
      const kind = learnerFamily(family, a, config, shards);
      const weights = kind.weights();
      kind.install(
        actors.map((actor) => {
          actor.setWeights(weights);
          const p = actor.collect();
          return kind.decode({ header: p.header, arrays: p.arrays });
        }),
      );
    };
    const summary = await train({ runDir: join(dir, name), algo, config, store: false, beforeIteration });
    return { summary, rows: trainRows(join(dir, name)) };
  } finally {
    for (const a of actors) a.dispose();
  }
}

const grpoCartPole = () =>
  resolveConfig({ algo: "grpo", overrides: { env: "CartPole-v1", totalTimesteps: 600, numStarts: 2, groupSize: 4, evalEpisodes: 1, seed: 3, backend: "cpu" } });
const learning = (rows: Row[]) => rows.map((r) => [r.iterationSteps, r.policyLoss, r.approxKl, r.clipFraction, r.episodeReturnMean]);

describe("ThreadActors: ppo", () => {
  it("collects each iteration in 2 threads with that iteration's weights: exact steps, and the same run twice", async () => {
    const config = resolveConfig({ algo: "ppo", overrides: { totalTimesteps: 1024, evalEpisodes: 1, seed: 3 } });
    const a = await runWithThreads("a", "ppo", config, 2);
    const b = await runWithThreads("b", "ppo", config, 2);
    expect(a.summary.steps).toBe(1024);
    expect(a.stepsUsed).toBe(1024);
    expect(a.rows.map((r) => r.iteration)).toEqual([1, 2]);
    expect(a.rows.every((r) => r["remote/shards"] === 2 && r["remote/stalenessMax"] === 0)).toBe(true);
    const ppoLearning = (rows: Row[]) => rows.map((r) => [r.policyLoss, r.valueLoss, r.approxKl, r.episodeReturnMean]);
    expect(ppoLearning(b.rows)).toEqual(ppoLearning(a.rows));
  });

  it("refuses a thread count that does not divide numEnvs, and any staleness", async () => {
    const config = resolveConfig({ algo: "ppo", overrides: {} });
    await expect(ThreadActors.create("ppo", config, 3)).rejects.toThrow(/--actor-threads 3 does not divide numEnvs 4/);
    await expect(ThreadActors.create("ppo", config, 2, { maxStaleness: 1 })).rejects.toThrow(/--max-staleness 1: ppo stays exactly on-policy with --actor-threads.*Fix: drop --max-staleness/);
  });
});

describe("ThreadActors: group algorithms on envs", () => {
  it("grpo on CartPole with 2 threads and --max-staleness 0 is bit-identical to its single-thread equivalent", async () => {
    const config = grpoCartPole();
    const threads = await runWithThreads("grpo-threads", "grpo", config, 2);
    const inline = await runInline("grpo-inline", "grpo", config, 2);
    expect(threads.rows.length).toBeGreaterThanOrEqual(2);
    expect(learning(threads.rows)).toEqual(learning(inline.rows));
    expect(threads.summary.finalEval.returns).toEqual(inline.summary.finalEval.returns);
    expect(threads.summary.steps).toBe(inline.summary.steps);
    // Exactly on-policy: every piece of update n collected with weights n, one piece per thread.
    expect(threads.rows.every((r) => r["remote/shards"] === 2 && r["remote/staleness"] === 0 && r["remote/stalenessMax"] === 0 && r["remote/staleBatches"] === 0)).toBe(true);
    // Each iteration has numStarts × groupSize episodes; the steps are exactly the merged pieces'.
    expect(threads.rows.every((r) => r.episodes === 8)).toBe(true);
    expect(threads.summary.steps).toBe(threads.rows.reduce((s, r) => s + r.iterationSteps, 0));
    expect(threads.stepsUsed).toBe(threads.summary.steps);
  });

  it("with --max-staleness 1 the threads run one iteration ahead: staleness ≤ 1, an exact step count, and deterministic", async () => {
    const config = { ...grpoCartPole(), totalTimesteps: 1000 };
    const a = await runWithThreads("grpo-stale-a", "grpo", config, 2, 1);
    const b = await runWithThreads("grpo-stale-b", "grpo", config, 2, 1);
    expect(a.rows.length).toBeGreaterThanOrEqual(3);
    // Iteration n + 1 is requested with weights n, before update n: each thread handles its messages in
    // order, so iteration n ≥ 1 is always collected with weights n − 1 (lag exactly 1, whatever the timing).
    expect(a.rows.map((r) => r["remote/stalenessMax"])).toEqual(a.rows.map((_, i) => (i === 0 ? 0 : 1)));
    expect(a.rows.every((r) => r["remote/staleness"] <= 1 && r["remote/shards"] === 2 && r["remote/staleBatches"] === 0)).toBe(true);
    expect(a.summary.steps).toBe(a.rows.reduce((s, r) => s + r.iterationSteps, 0));
    expect(a.summary.steps).toBe(a.stepsUsed);
    expect(a.rows.at(-1)?.step).toBe(a.summary.steps);
    expect(a.summary.steps).toBeGreaterThanOrEqual(1000);
    expect(learning(b.rows)).toEqual(learning(a.rows));
  });

  it("refuses a thread count that does not divide numStarts, and algorithms without actors", async () => {
    await expect(ThreadActors.create("grpo", grpoCartPole(), 3)).rejects.toThrow(/--actor-threads 3 does not divide numStarts 2/);
    const dqn = resolveConfig({ algo: "dqn", overrides: { env: "CartPole-v1" } });
    await expect(ThreadActors.create("dqn", dqn, 2)).rejects.toThrow(/--actor-threads trains ppo, grpo.*got --algo dqn/);
  });

  it("a thread that throws fails the run with an error naming --actor-threads", async () => {
    const url = new URL("../fixtures/user_env.ts", import.meta.url).href;
    await import(url); // the main thread has the env too, as after the CLI's --import
    const config = resolveConfig({ algo: "grpo", overrides: { env: "ThrowPole-v0", totalTimesteps: 600, numStarts: 2, groupSize: 4, evalEpisodes: 1, backend: "cpu" } });
    // Without the module the threads cannot make the env: refused at start.
    await expect(ThreadActors.create("grpo", config, 2, { imports: [] })).rejects.toThrow(/actor thread \d of --actor-threads 2 failed: .*ThrowPole-v0/);
    // With it, the env throws inside the threads on its 5th step: the first iteration fails.
    const actors = await ThreadActors.create("grpo", config, 2, { imports: [url] });
    try {
      const run = train({ runDir: join(dir, "throws"), algo: "grpo", config, store: false, beforeIteration: (a) => actors.beforeIteration(a) });
      await expect(run).rejects.toThrow(/actor thread \d of --actor-threads 2 failed: ThrowPole broke on its 5th step\. Fix: run without --actor-threads/);
    } finally {
      await actors.close();
    }
  });
});

describe("ThreadActors: text", () => {
  const textConfig = () =>
    resolveConfig({
      algo: "grpo",
      overrides: {
        task: "parity",
        taskOptions: { bits: 4 },
        chars: "01?",
        model: { layers: 1, width: 16, heads: 2, contextLength: 16, ffWidth: 32, activation: "gelu" },
        rewards: [{ name: "format", weight: 1 }],
        numPrompts: 4,
        groupSize: 4,
        iterations: 4,
        warmupIterations: 0,
        evalEvery: 0,
        evalProblems: 4,
        seed: 5,
        backend: "cpu",
      },
    });

  it("grpo on a text task with 2 threads counts tokens exactly, checkpoints and resumes", async () => {
    const config = textConfig();
    const runDir = join(dir, "text");
    const first = await ThreadActors.create("grpo", config, 2, { maxStaleness: 1 });
    let used = 0;
    try {
      const part = await train({ runDir, algo: "grpo", config, store: false, stopAfterIterations: 2, beforeIteration: (a) => first.beforeIteration(a), callbacks: { onUpdate: (_r, _a, l) => first.recordMetrics(l) } });
      expect(part.interrupted).toBe(true);
      expect(part.steps).toBe(first.stepsUsed);
      used += first.stepsUsed;
    } finally {
      await first.close();
    }
    const second = await ThreadActors.create("grpo", config, 2, { maxStaleness: 1 });
    try {
      const summary = await train({ runDir, resume: true, store: false, beforeIteration: (a) => second.beforeIteration(a), callbacks: { onUpdate: (_r, _a, l) => second.recordMetrics(l) } });
      used += second.stepsUsed;
      const rows = trainRows(runDir);
      expect(rows.map((r) => r.iteration)).toEqual([1, 2, 3, 4]);
      // Tokens: the sum of the iterations' sampled completions, each piece counted once across the resume.
      expect(summary.steps).toBe(rows.reduce((s, r) => s + r.iterationTokens, 0));
      expect(summary.steps).toBe(used);
      expect(rows.at(-1)?.step).toBe(summary.steps);
      expect(rows.every((r) => r["remote/shards"] === 2 && r["remote/stalenessMax"] <= 1)).toBe(true);
      // The resumed process starts its threads afresh at iteration 3: exactly on-policy first, then one ahead.
      expect(rows.map((r) => r["remote/stalenessMax"])).toEqual([0, 1, 0, 1]);
      expect(summary.finalEval.passAt1).toBeGreaterThanOrEqual(0);
    } finally {
      await second.close();
    }
  });

  it("refuses a thread count that does not divide numPrompts", async () => {
    await expect(ThreadActors.create("grpo", textConfig(), 3)).rejects.toThrow(/--actor-threads 3 does not divide numPrompts 4/);
  });
});
