import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { register } from "../../src/envs/registry.js";
import { loadWeights, saveWeights } from "../../src/nn/io.js";
import { checkRunDirPlace, RunDir } from "../../src/train/run.js";
import { train, type StartInfo } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-rundir-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = resolveConfig({
  algo: "ppo",
  env: "CartPole-v1",
  overrides: { seed: 5, numEnvs: 2, numSteps: 32, totalTimesteps: 64 * 6, checkpointEvery: 1, evalEvery: 2, evalEpisodes: 2, backend: "cpu" },
});

/** A pid that is certainly dead: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  return r.pid as number;
}

/** Metric rows without the fields that depend on wall-clock time. */
function learningRows(dir: string) {
  return new RunDir(dir).readMetrics().map((r) => {
    const { sps: _a, wallSeconds: _b, rolloutSeconds: _c, updateSeconds: _d, ...rest } = r;
    return rest;
  });
}

function kindIterations(dir: string): string[] {
  return new RunDir(dir).readMetrics().map((r) => `${String(r.kind)}:${String(r.iteration)}`);
}

describe("readers and owners", () => {
  it("a reader never touches temporary files; the owner removes only those of dead processes", async () => {
    const dir = join(root, "temps");
    RunDir.create(dir, "ppo", small).release();
    const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const dead = deadPid();
      const live = sleeper.pid as number;
      mkdirSync(join(dir, "checkpoints", `.000000097.tmp-${live}-abc`), { recursive: true });
      mkdirSync(join(dir, "checkpoints", `.000000096.tmp-${dead}-abc`), { recursive: true });
      mkdirSync(join(dir, `.policy.old-${dead}-123`));
      writeFileSync(join(dir, `.status.json.tmp-${dead}-x`), "{");
      for (let i = 0; i < 20; i++) {
        const run = RunDir.open(dir);
        run.readMetrics();
        run.readStatus();
        run.hasCheckpoint();
      }
      expect(readdirSync(join(dir, "checkpoints")).sort()).toEqual([`.000000096.tmp-${dead}-abc`, `.000000097.tmp-${live}-abc`]);
      expect(existsSync(join(dir, `.policy.old-${dead}-123`))).toBe(true);

      const owner = RunDir.openAsOwner(dir);
      owner.release();
      // The live process's work in progress stays; the dead one's leftovers go, and a
      // directory caught between the two renames of a replace is put back.
      expect(readdirSync(join(dir, "checkpoints"))).toEqual([`.000000097.tmp-${live}-abc`]);
      expect(existsSync(join(dir, "policy"))).toBe(true);
      expect(existsSync(join(dir, `.status.json.tmp-${dead}-x`))).toBe(false);
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("a second owner in the same process is refused, naming the owner; a released directory can be owned again", () => {
    const dir = join(root, "twice");
    const first = RunDir.create(dir, "ppo", small);
    expect(() => RunDir.openAsOwner(dir)).toThrow(new RegExp(`in use by another training process \\(pid ${process.pid} on .+ since \\d{4}-`));
    expect(() => RunDir.create(dir, "ppo", small)).toThrow(/already holds a run/);
    first.release();
    expect(existsSync(join(dir, "owner.lock"))).toBe(false);
    RunDir.openAsOwner(dir).release();
  });

  it("a lock left by a dead process is taken over and reported", () => {
    const dir = join(root, "stale");
    RunDir.create(dir, "ppo", small).release();
    const pid = deadPid();
    writeFileSync(join(dir, "owner.lock"), JSON.stringify({ pid, host: hostname(), since: "2026-01-01T00:00:00.000Z", processStart: null, token: "old" }));
    const run = RunDir.openAsOwner(dir);
    expect(run.tookOverFrom?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(join(dir, "owner.lock"), "utf8")).pid).toBe(process.pid);
    run.release();
  });

  it("train() from code installs no signal handlers", async () => {
    const before = [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")];
    const during: number[][] = [];
    await train({
      runDir: join(root, "nosignals"),
      algo: "ppo",
      config: { ...small, totalTimesteps: 128 },
      store: false,
      callbacks: { onIteration: () => void during.push([process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]) },
    });
    expect(during.length).toBeGreaterThan(0);
    for (const d of during) expect(d).toEqual(before);
  });
});

describe("where a run directory may be", () => {
  it("never the current directory, the runs root, a runs root, or an ancestor of one", () => {
    const cwd = process.cwd();
    expect(() => checkRunDirPlace(cwd)).toThrow(/is the current directory.*Fix: pass a new directory/);
    expect(() => checkRunDirPlace(join(cwd, ".."))).toThrow(/is an ancestor of the current directory/);
    expect(() => checkRunDirPlace(join(cwd, "runs"))).toThrow(/is the runs root/);
    expect(() => checkRunDirPlace("/")).toThrow(/ancestor/);
    const withStore = join(root, "somewhere");
    mkdirSync(withStore, { recursive: true });
    writeFileSync(join(withStore, "runs.db"), "");
    expect(() => checkRunDirPlace(withStore)).toThrow(/holds a run store/);
    expect(() => RunDir.create(withStore, "ppo", small)).toThrow(/holds a run store/);
    expect(existsSync(join(withStore, "config.json"))).toBe(false);
    const saved = process.env.REFINERY_RUNS;
    process.env.REFINERY_RUNS = join(root, "my-root");
    try {
      expect(() => checkRunDirPlace(join(root, "my-root"))).toThrow(/is the runs root/);
      expect(() => checkRunDirPlace(join(root, "my-root", "a-run"))).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.REFINERY_RUNS;
      else process.env.REFINERY_RUNS = saved;
    }
  });
});

describe("checkpoints", () => {
  const base = join(root, "cp-base");
  const straight = join(root, "cp-straight");

  it("a damaged `latest` falls back to the newest checkpoint that verifies, and the resumed run ends as an uninterrupted one", async () => {
    await train({ runDir: straight, algo: "ppo", config: small, store: false });
    await train({ runDir: base, algo: "ppo", config: small, store: false, stopAfterIterations: 4 });
    const cps = join(base, "checkpoints");
    expect(readdirSync(cps).filter((e) => /^\d+$/.test(e)).sort()).toEqual(["000000003", "000000004"]);
    expect(readFileSync(join(cps, "000000004", "SHA256SUMS"), "utf8")).toMatch(/^[0-9a-f]{64} {2}model\.json\n[0-9a-f]{64} {2}weights\.bin\n$/);
  });

  it.each([
    ["garbage", "000000004", (d: string) => writeFileSync(join(d, "latest"), "not a checkpoint\n"), /does not name a checkpoint/],
    ["empty", "000000004", (d: string) => writeFileSync(join(d, "latest"), ""), /is empty/],
    ["deleted", "000000004", (d: string) => unlinkSync(join(d, "latest")), /is missing/],
    ["a path outside the run", "000000004", (d: string) => writeFileSync(join(d, "latest"), "../../../etc\n"), /does not name a checkpoint/],
    ["a symlink out", "000000004", (d: string) => (unlinkSync(join(d, "latest")), symlinkSync("/etc/hostname", join(d, "latest"))), /symbolic link/],
    ["naming a missing checkpoint", "000000004", (d: string) => writeFileSync(join(d, "latest"), "000000099\n"), /names 000000099, which does not exist/],
    ["naming a checkpoint with damaged weights", "000000003", (d: string) => writeFileSync(join(d, "000000004", "weights.bin"), "xx"), /000000004 is damaged \(weights.bin/],
    ["naming an incomplete checkpoint", "000000003", (d: string) => unlinkSync(join(d, "000000004", "model.json")), /000000004 is incomplete \(no model.json\)/],
  ])("latest %s: resume uses checkpoint %s", (_name, expected, damage, reason) => {
    const dir = join(root, `cp-${_name.replace(/\W+/g, "-")}`);
    cpSync(base, dir, { recursive: true });
    damage(join(dir, "checkpoints"));
    const found = new RunDir(dir).findCheckpoint();
    expect(found?.name).toBe(expected);
    expect(found?.skipped.join("; ")).toMatch(reason);
  });

  it("resuming from an older checkpoint after damage ends byte-identical to an uninterrupted run", async () => {
    const dir = join(root, "cp-resume-damaged");
    cpSync(base, dir, { recursive: true });
    writeFileSync(join(dir, "checkpoints", "000000004", "weights.bin"), "xx");
    let start: StartInfo | null = null;
    await train({ runDir: dir, resume: true, store: false, callbacks: { onStart: (i) => void (start = i) } });
    expect(start!.resumed).toMatchObject({ iteration: 3, checkpoint: "000000003" });
    expect(learningRows(dir)).toEqual(learningRows(straight));
    expect(readFileSync(join(dir, "policy", "weights.bin"))).toEqual(readFileSync(join(straight, "policy", "weights.bin")));
  }, 30_000);

  it("no usable checkpoint is an error naming the problem and --restart; nothing is deleted", async () => {
    const dir = join(root, "cp-none");
    cpSync(base, dir, { recursive: true });
    for (const c of ["000000003", "000000004"]) writeFileSync(join(dir, "checkpoints", c, "weights.bin"), "xx");
    const metricsBefore = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    await expect(train({ runDir: dir, resume: true, store: false })).rejects.toThrow(
      /has no usable checkpoint to resume from \((?=.*000000004 is damaged)(?=.*000000003 is damaged).*\)\. Fix: .*--restart/,
    );
    expect(readdirSync(join(dir, "checkpoints")).filter((e) => /^\d+$/.test(e)).sort()).toEqual(["000000003", "000000004"]);
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(metricsBefore);
    expect(existsSync(join(dir, "owner.lock"))).toBe(false);
    // --restart starts it over on purpose.
    const restarted = await train({ runDir: dir, resume: true, restart: true, store: false });
    expect(restarted.iterations).toBe(6);
    expect(learningRows(dir)).toEqual(learningRows(straight));
  }, 30_000);

  it("weight paths in model.json stay inside their directory", async () => {
    const dir = join(root, "paths", "model");
    await saveWeights(dir, [{ name: "w", data: new Float32Array([1, 2]) }]);
    writeFileSync(join(root, "paths", "secret.bin"), Buffer.from(new Float32Array([7, 8]).buffer));
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    for (const p of ["../secret.bin", join(root, "paths", "secret.bin")]) {
      json.weightsManifest[0].paths = [p];
      writeFileSync(join(dir, "model.json"), JSON.stringify(json));
      await expect(loadWeights(dir)).rejects.toThrow(/lies outside its directory/);
    }
    json.weightsManifest[0].paths = ["./weights.bin"];
    writeFileSync(join(dir, "model.json"), JSON.stringify(json));
    unlinkSync(join(dir, "weights.bin"));
    symlinkSync(join(root, "paths", "secret.bin"), join(dir, "weights.bin"));
    await expect(loadWeights(dir)).rejects.toThrow(/leads outside its directory/);
  });
});

/** A plain reset/step env: no getState/setState. */
class PlainEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(-1, 1, [2]);
  readonly actionSpace = new Discrete(2);
  private t = 0;
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.t = 0;
    return [new Float32Array([this.npRandom.uniform(-1, 1), 0]), {}];
  }
  step(action: number): StepResult<Float32Array> {
    this.t++;
    const x = this.npRandom.uniform(-1, 1);
    return [new Float32Array([x, this.t / 10]), action === (x > 0 ? 1 : 0) ? 1 : 0, false, false, {}];
  }
}
register({ id: "PlainNoSnapshots-v0", entryPoint: () => new PlainEnv(), maxEpisodeSteps: 10 });

describe("envs without snapshots", () => {
  const plain = resolveConfig({
    algo: "ppo",
    env: "PlainNoSnapshots-v0",
    overrides: { seed: 2, numEnvs: 2, numSteps: 16, totalTimesteps: 32 * 5, checkpointEvery: 1, evalEpisodes: 2, backend: "cpu" },
  });

  it("PPO trains to the end and saves its policy; resume restarts the envs from a seeded reset, reproducibly", async () => {
    const full = await train({ runDir: join(root, "plain-full"), algo: "ppo", config: plain, store: false });
    expect(full.iterations).toBe(5);
    expect(existsSync(join(root, "plain-full", "policy", "model.json"))).toBe(true);

    const stopped = join(root, "plain-stopped");
    await train({ runDir: stopped, algo: "ppo", config: plain, store: false, stopAfterIterations: 2 });
    const copy = join(root, "plain-stopped-copy");
    cpSync(stopped, copy, { recursive: true });
    const a = await train({ runDir: stopped, resume: true, store: false });
    const b = await train({ runDir: copy, resume: true, store: false });
    expect(a.iterations).toBe(5);
    expect(learningRows(stopped)).toEqual(learningRows(copy));
    expect(readFileSync(join(stopped, "policy", "weights.bin"))).toEqual(readFileSync(join(copy, "policy", "weights.bin")));
    expect(b.finalEval.returns).toEqual(a.finalEval.returns);
  }, 30_000);
});

describe("metrics after a kill near the end", () => {
  it("a run killed after its final evaluation row logs that row once when resumed", async () => {
    const dir = join(root, "final-eval");
    await train({ runDir: dir, algo: "ppo", config: small, store: false });
    const once = kindIterations(dir);
    // What a kill between the final evaluation and the status write leaves behind.
    writeFileSync(join(dir, "status.json"), JSON.stringify({ status: "running", pid: deadPid() }));
    rmSync(join(dir, "policy"), { recursive: true });
    await train({ runDir: dir, resume: true, store: false });
    expect(kindIterations(dir)).toEqual(once);
    expect(new Set(once).size).toBe(once.length);
    expect(existsSync(join(dir, "policy", "model.json"))).toBe(true);
  }, 30_000);
});
