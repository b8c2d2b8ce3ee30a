import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { ThreadActors } from "../../src/scale/thread_actors.js";
import { train } from "../../src/train/trainer.js";

const dir = mkdtempSync(join(tmpdir(), "refinery-thread-actors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runWithThreads(name: string, threads: number) {
  const config = resolveConfig({ algo: "ppo", overrides: { totalTimesteps: 1024, evalEpisodes: 1, seed: 3 } });
  const actors = await ThreadActors.create("ppo", config, threads);
  try {
    const summary = await train({ runDir: join(dir, name), algo: "ppo", config, store: false, beforeIteration: (a) => actors.beforeIteration(a) });
    const rows = readFileSync(join(dir, name, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.kind === "train");
    return { summary, rows };
  } finally {
    await actors.close();
  }
}

describe("ThreadActors", () => {
  it("collects each iteration in 2 threads with that iteration's weights: exact steps, and the same run twice", async () => {
    const a = await runWithThreads("a", 2);
    const b = await runWithThreads("b", 2);
    expect(a.summary.steps).toBe(1024);
    expect(a.rows.map((r) => r.iteration)).toEqual([1, 2]);
    const learning = (rows: Record<string, number>[]) => rows.map((r) => [r.policyLoss, r.valueLoss, r.approxKl, r.episodeReturnMean]);
    expect(learning(b.rows)).toEqual(learning(a.rows));
  });

  it("refuses a thread count that does not divide numEnvs", async () => {
    const config = resolveConfig({ algo: "ppo", overrides: {} });
    await expect(ThreadActors.create("ppo", config, 3)).rejects.toThrow(/--actor-threads 3 does not divide numEnvs 4/);
  });
});
