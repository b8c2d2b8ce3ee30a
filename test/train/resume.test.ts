import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-resume-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Small but real: 10 iterations of 4 envs × 64 steps, checkpoint every iteration, an
// evaluation every 3 iterations (so eval seeding and best-model saving are exercised).
const config = resolveConfig({
  algo: "ppo",
  env: "CartPole-v1",
  overrides: { seed: 3, numSteps: 64, totalTimesteps: 2560, checkpointEvery: 1, evalEvery: 3, evalEpisodes: 3, backend: "cpu" },
});

/** Metric rows without the fields that depend on wall-clock time. */
function learningRows(dir: string) {
  return new RunDir(dir).readMetrics().map((r) => {
    const { sps: _a, wallSeconds: _b, rolloutSeconds: _c, updateSeconds: _d, ...rest } = r;
    return rest;
  });
}

function latestIteration(dir: string): number {
  const p = join(dir, "checkpoints", "latest");
  return existsSync(p) ? Number(readFileSync(p, "utf8").trim()) : 0;
}

describe("resume", () => {
  it("a run killed (SIGKILL) mid-training and resumed ends with the same metrics as an uninterrupted run", async () => {
    const straight = await train({ runDir: join(root, "straight"), algo: "ppo", config });

    const killedDir = join(root, "killed");
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("../helpers/train_child.ts", import.meta.url)), killedDir, JSON.stringify(config)], {
      stdio: "ignore",
    });
    // Kill it as soon as a checkpoint past iteration 3 exists, wherever it is in its loop.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (latestIteration(killedDir) >= 4) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(timer);
        reject(new Error("child finished before it could be killed; make the run longer"));
      });
    });
    await new Promise((r) => child.on("close", r));
    const killedAt = latestIteration(killedDir);
    expect(killedAt).toBeGreaterThanOrEqual(4);
    expect(killedAt).toBeLessThan(10);
    expect(new RunDir(killedDir).readStatus()?.status).toBe("running"); // SIGKILL leaves no chance to update it

    const resumed = await train({ runDir: killedDir, resume: true });
    expect(resumed.steps).toBe(straight.steps);
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
    expect(resumed.finalMeanReturn).toBe(straight.finalMeanReturn);
    expect(learningRows(killedDir)).toEqual(learningRows(join(root, "straight")));
    expect(new RunDir(killedDir).readStatus()?.status).toBe("finished");
  });

  it("resumes a gSDE run (Pendulum, noise every 4 steps) exactly, with stochastic evaluations", async () => {
    const sde = resolveConfig({
      algo: "ppo",
      env: "Pendulum-v1",
      preset: "zoo",
      overrides: {
        seed: 4, numSteps: 32, numMinibatches: 2, updateEpochs: 4, totalTimesteps: 4 * 32 * 6, checkpointEvery: 1, evalEvery: 2, evalEpisodes: 2,
        evalDeterministic: false, backend: "cpu",
      },
    });
    expect([sde.useSde, sde.sdeSampleFreq]).toEqual([true, 4]);
    const straight = await train({ runDir: join(root, "sde-straight"), algo: "ppo", config: sde, store: false });
    const stopped = join(root, "sde-stopped");
    await train({ runDir: stopped, algo: "ppo", config: sde, stopAfterIterations: 3, store: false });
    expect(latestIteration(stopped)).toBe(3);
    const resumed = await train({ runDir: stopped, resume: true, store: false });
    expect(resumed.steps).toBe(straight.steps);
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
    expect(learningRows(stopped)).toEqual(learningRows(join(root, "sde-straight")));
  }, 15_000);

  it("with backend auto (the default), config.json records the backend it resolved to and the run resumes exactly on it", async () => {
    const auto = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { seed: 5, numSteps: 64, totalTimesteps: 1536, checkpointEvery: 1, evalEvery: 3, evalEpisodes: 3 } });
    expect(auto.backend).toBe("auto");
    const straightDir = join(root, "auto-straight");
    const straight = await train({ runDir: straightDir, algo: "ppo", config: auto, store: false });
    expect(new RunDir(straightDir).readConfig().config.backend).toBe("kernels");
    const stopped = join(root, "auto-stopped");
    await train({ runDir: stopped, algo: "ppo", config: auto, stopAfterIterations: 2, store: false });
    expect(new RunDir(stopped).readConfig().config).toEqual({ ...auto, backend: "kernels" });
    const resumed = await train({ runDir: stopped, resume: true, store: false });
    expect(resumed.finalEval.returns).toEqual(straight.finalEval.returns);
    expect(learningRows(stopped)).toEqual(learningRows(straightDir));

    // A run that resolved to wasm (here: one whose config.json says so) resumes on wasm: the
    // same rows as a wasm run straight through, which differ from the kernels run's.
    const wasm = { ...auto, backend: "wasm" };
    const wasmStraightDir = join(root, "wasm-straight");
    await train({ runDir: wasmStraightDir, algo: "ppo", config: wasm, store: false });
    expect(learningRows(wasmStraightDir)).not.toEqual(learningRows(straightDir));
    const wasmStopped = join(root, "wasm-stopped");
    await train({ runDir: wasmStopped, algo: "ppo", config: wasm, stopAfterIterations: 2, store: false });
    await train({ runDir: wasmStopped, resume: true, store: false });
    expect(new RunDir(wasmStopped).readConfig().config.backend).toBe("wasm");
    expect(learningRows(wasmStopped)).toEqual(learningRows(wasmStraightDir));
  }, 30_000);

  it("refuses to start a new run in a directory that already holds one", async () => {
    await expect(train({ runDir: join(root, "straight"), algo: "ppo", config })).rejects.toThrow(/already holds a run.*--resume/);
  });
});
