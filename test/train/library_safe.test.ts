import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { createAlgorithm, runIterations } from "../../src/train/loop.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-library-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = (iterations: number) =>
  resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * iterations, evalEpisodes: 1, backend: "cpu" } });

const listeners = () => ({ SIGINT: process.listenerCount("SIGINT"), SIGTERM: process.listenerCount("SIGTERM") });

describe("train() from code is library-safe", () => {
  it("installs no signal handlers, before, during or after training", async () => {
    const before = listeners();
    const during: ReturnType<typeof listeners>[] = [];
    const summary = await train({ runDir: join(root, "plain"), algo: "ppo", config: small(3), store: false, callbacks: { onIteration: () => void during.push(listeners()) } });
    expect(summary.iterations).toBe(3);
    expect(during).toHaveLength(3);
    for (const d of during) expect(d).toEqual(before);
    expect(listeners()).toEqual(before);
  });

  it("an aborted signal stops before the next iteration and marks the run interrupted (resumable), without exiting", async () => {
    const stop = new AbortController();
    const dir = join(root, "aborted");
    const summary = await train({
      runDir: dir,
      algo: "ppo",
      config: small(10),
      store: false,
      signal: stop.signal,
      callbacks: { onIteration: (row) => void (row.iteration === 2 && stop.abort()) },
    });
    expect(summary.interrupted).toBe(true);
    expect(summary.iterations).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, "status.json"), "utf8")).status).toBe("interrupted");
    const resumed = await train({ runDir: dir, resume: true, store: false });
    expect(resumed.interrupted).toBeUndefined();
    expect(resumed.iterations).toBe(10);
  });
});

describe("runIterations: training without files", () => {
  it("runs the requested iterations, continues where it stopped, and honours callbacks and signals", async () => {
    const algo = await createAlgorithm("ppo", small(6));
    try {
      const first = await runIterations(algo, { iterations: 2 });
      expect(first).toMatchObject({ iterations: 2, stoppedBy: "iterations" });
      expect(first.rows.map((r) => r.iteration)).toEqual([1, 2]);
      expect(first.rows[1].step).toBe(64);
      const stop = new AbortController();
      const second = await runIterations(algo, { signal: stop.signal, callbacks: { onIteration: (row) => void (row.iteration === 3 && stop.abort()) } });
      expect(second).toMatchObject({ iterations: 1, stoppedBy: "signal" });
      const third = await runIterations(algo, { callbacks: { onUpdate: (row) => row.iteration < 5 } });
      expect(third).toMatchObject({ iterations: 2, stoppedBy: "callback" });
      const rest = await runIterations(algo);
      expect(rest).toMatchObject({ iterations: 1, stoppedBy: "done" });
      expect(algo.iteration).toBe(6);
      expect(Number.isFinite(rest.rows[0].policyLoss)).toBe(true);
    } finally {
      algo.dispose();
    }
  });
});
