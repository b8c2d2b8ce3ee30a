import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { Rng } from "../../src/core/rng.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";
import { cli } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-chaos-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CHILD = fileURLToPath(new URL("../helpers/train_child.ts", import.meta.url));
const ITERATIONS = 20;
// A checkpoint every iteration, so kills often land in the middle of one.
const config = resolveConfig({
  algo: "ppo",
  env: "CartPole-v1",
  overrides: { seed: 11, numEnvs: 2, numSteps: 32, totalTimesteps: 64 * ITERATIONS, checkpointEvery: 1, evalEvery: 5, evalEpisodes: 2, backend: "cpu" },
});

/** Kills after the five at random moments, each one during a checkpoint write. */
const TARGETED_KILLS = 3;

/** A checkpoint is being written: its temporary directory exists under checkpoints/. */
function midCheckpoint(dir: string): boolean {
  const cps = join(dir, "checkpoints");
  try {
    return readdirSync(cps).some((e) => e.includes(".tmp-"));
  } catch {
    return false;
  }
}

const rowCount = (dir: string) => (existsSync(join(dir, "config.json")) ? RunDir.open(dir).readMetrics().length : 0);

function learningRows(dir: string) {
  return new RunDir(dir).readMetrics().map((r) => {
    const { sps: _a, wallSeconds: _b, rolloutSeconds: _c, updateSeconds: _d, ...rest } = r;
    return rest;
  });
}

/**
 * Readers working on the run all the time: open it, read status and metrics, verify its
 * checkpoints, and now and then `refinery eval` it. None of them may disturb the trainer;
 * a reader's own error must be one of the expected one-line refusals.
 */
function startReaders(dir: string): { stop(): Promise<string[]> } {
  const problems: string[] = [];
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        if (existsSync(join(dir, "config.json"))) {
          const run = RunDir.open(dir);
          run.readStatus();
          run.readMetrics();
          run.findCheckpoint();
          if (n++ % 20 === 0) {
            const r = await cli("eval", dir, "--episodes", "1");
            if (r.code !== 0 && !/no saved policy|not a run directory/.test(r.err)) problems.push(r.err);
          }
        }
      } catch (err) {
        problems.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return problems;
    },
  };
}

describe("chaos: SIGKILL at random moments, readers alongside, resume", () => {
  it("ends with the weights and metrics of an uninterrupted run", async () => {
    const straight = join(root, "straight");
    await train({ runDir: straight, algo: "ppo", config, store: false });

    const dir = join(root, "chaos");
    const rng = new Rng(2024);
    const readers = startReaders(dir);
    let kills = 0;
    let killedMidCheckpoint = 0;
    let finished = false;
    for (let attempt = 0; !finished; attempt++) {
      expect(attempt).toBeLessThan(20);
      const resume = existsSync(join(dir, "config.json"));
      const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, JSON.stringify(config), resume ? "resume" : "create"], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr?.on("data", (d) => (stderr += String(d)));
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
      let exited = false;
      void exit.then(() => (exited = true));
      if (kills < 5) {
        // Wait for 0–3 more metric rows, then 0–40 ms more: anywhere in an iteration, its
        // evaluation or its checkpoint write.
        const target = rowCount(dir) + rng.integer(0, 4);
        const extra = rng.uniform(0, 40);
        while (!exited && rowCount(dir) < target) await new Promise((r) => setTimeout(r, 1));
        await new Promise((r) => setTimeout(r, extra));
        if (!exited) {
          child.kill("SIGKILL");
          kills++;
          if (midCheckpoint(dir)) killedMidCheckpoint++;
        }
      } else if (kills < 5 + TARGETED_KILLS) {
        // Then kills aimed at a checkpoint write: the moment its temporary directory appears.
        // (Random moments hit one often on a loaded machine, rarely on a quiet one.)
        const deadline = Date.now() + 20_000;
        while (!exited && Date.now() < deadline && !midCheckpoint(dir)) await new Promise((r) => setImmediate(r));
        if (!exited && midCheckpoint(dir)) {
          child.kill("SIGKILL");
          kills++;
          killedMidCheckpoint++;
        }
      }
      const { code, signal } = await exit;
      if (signal === null) {
        expect(code, stderr).toBe(0);
        finished = true;
      }
    }
    const readerProblems = await readers.stop();
    // Printed so a reader of the CI log sees what the test went through.
    console.log(`chaos: ${kills} SIGKILLs, ${killedMidCheckpoint} of them during a checkpoint write`);
    expect(killedMidCheckpoint).toBeGreaterThan(0);
    expect(readerProblems).toEqual([]);
    expect(kills).toBeGreaterThanOrEqual(3);

    for (const f of ["policy/weights.bin", "policy/model.json", "best/weights.bin"]) {
      expect(readFileSync(join(dir, f)).equals(readFileSync(join(straight, f))), f).toBe(true);
    }
    const keys = new RunDir(dir).readMetrics().map((r) => `${String(r.kind)}:${String(r.iteration)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => k.startsWith("train:"))).toHaveLength(ITERATIONS);
    expect(learningRows(dir)).toEqual(learningRows(straight));
    expect(new RunDir(dir).readStatus()?.status).toBe("finished");
    expect(existsSync(join(dir, "owner.lock"))).toBe(false);
  }, 120_000);
});
