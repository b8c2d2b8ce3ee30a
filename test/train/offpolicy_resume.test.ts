import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { loadWeights } from "../../src/nn/io.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-offpolicy-resume-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Metric rows without the fields that depend on wall-clock time. */
function learningRows(dir: string) {
  return new RunDir(dir).readMetrics().map((r) => {
    const { sps: _a, wallSeconds: _b, rolloutSeconds: _c, updateSeconds: _d, ...rest } = r;
    return rest;
  });
}

describe("off-policy resume through the trainer", () => {
  it("sac stopped after 3 iterations and resumed ends bit for bit where an uninterrupted run does (replay buffer in the checkpoint)", async () => {
    const config = resolveConfig({
      algo: "sac",
      env: "Pendulum-v1",
      overrides: { seed: 2, backend: "cpu", hidden: [16, 16], batchSize: 16, learningStarts: 150, iterationSteps: 100, totalTimesteps: 600, checkpointEvery: 1, evalEvery: 2, evalEpisodes: 1, evalDeterministic: false },
    });
    const straight = await train({ runDir: join(root, "straight"), algo: "sac", config, store: false });
    const stoppedDir = join(root, "stopped");
    const first = await train({ runDir: stoppedDir, algo: "sac", config, store: false, stopAfterIterations: 3 });
    expect(first.interrupted).toBe(true);
    const resumed = await train({ runDir: stoppedDir, resume: true, store: false });
    expect(resumed.steps).toBe(600);
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
    expect(learningRows(stoppedDir)).toEqual(learningRows(join(root, "straight")));
    const a = await loadWeights(join(root, "straight", "policy"));
    const b = await loadWeights(join(stoppedDir, "policy"));
    expect(b.arrays.map((x) => Array.from(x.data))).toEqual(a.arrays.map((x) => Array.from(x.data)));
    expect(b.extra.kind).toBe("squashed-gaussian");
  }, 300_000);
});
