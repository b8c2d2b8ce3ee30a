import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { RunDir } from "../../src/train/run.js";
import { cli } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-owner-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

const CHILD = fileURLToPath(new URL("../helpers/cli_child.ts", import.meta.url));
const SMALL = ["--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=32", "--quiet"];

/** `refinery ARGS` in a child process; resolves with its exit code and stderr. */
function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stdout(): string; done: Promise<{ code: number | null; err: string; out: string }> } {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  children.push(child);
  let err = "";
  let out = "";
  child.stderr?.on("data", (d) => (err += String(d)));
  child.stdout?.on("data", (d) => (out += String(d)));
  const done = new Promise<{ code: number | null; err: string; out: string }>((resolve) => child.on("close", (code) => resolve({ code, err, out })));
  return { child, stdout: () => out, done };
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const trainedRows = (dir: string) => new RunDir(dir).readMetrics().filter((r) => r.kind === "train").length;

describe("one owner per run directory", () => {
  it("refuses a second writer while a run trains, readers do not disturb it, and SIGINT stops it with a checkpoint and a resume hint", async () => {
    const dir = join(root, "busy");
    const { child, done } = spawnCli(["train", "--out", dir, "--steps", "400000", "--set", "checkpointEvery=1", ...SMALL]);
    await until("the run to train", () => existsSync(join(dir, "metrics.jsonl")) && trainedRows(dir) >= 2);

    const second = await cli("train", "--resume", dir);
    expect(second.code).toBe(2);
    expect(second.err.trim().split("\n")).toHaveLength(1);
    expect(second.err).toMatch(new RegExp(`in use by another training process \\(pid ${child.pid} on \\S+ since \\d{4}-.*\\)\\. Fix: .*kill ${child.pid}`));

    // The reproduction, shortened: readers (eval, resume attempts) while it checkpoints every iteration.
    for (let i = 0; i < 15; i++) {
      await cli("eval", dir);
      RunDir.open(dir).readMetrics();
    }
    const before = trainedRows(dir);
    await until("more iterations", () => trainedRows(dir) > before + 2);
    expect(child.exitCode).toBeNull();

    child.kill("SIGINT");
    const { code, err } = await done;
    expect(code).toBe(130);
    expect(err).toMatch(/SIGINT: stopping after this iteration/);
    expect(err).toMatch(new RegExp(`stopped by SIGINT at step [\\d,]+ \\(checkpoint \\d{9} saved, run marked interrupted\\)\\. Fix: continue it with \`refinery train --resume ${dir.replace(/[/\\]/g, "\\$&")}\``));
    expect(new RunDir(dir).readStatus()?.status).toBe("interrupted");
    expect(existsSync(join(dir, "owner.lock"))).toBe(false);
    const latest = readFileSync(join(dir, "checkpoints", "latest"), "utf8").trim();
    expect(Number(latest)).toBe(new RunDir(dir).readStatus()?.iteration);
  }, 120_000);

  it("three `train --out X` started together: exactly one trains, the others get one-line errors", async () => {
    const dir = join(root, "race");
    const go = join(root, "race-go");
    const runs = [0, 1, 2].map(() => spawnCli(["train", "--out", dir, "--steps", "1024", ...SMALL], { REFINERY_TEST_GO: go }));
    await until("the children to load", () => runs.every((r) => r.stdout().includes("ready")));
    writeFileSync(go, "");
    const results = await Promise.all(runs.map((r) => r.done));
    const ok = results.filter((r) => r.code === 0);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((r) => r.code !== 0)) {
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(/in use by another training process \(pid \d+|already holds a run/);
    }
    const keys = new RunDir(dir).readMetrics().map((m) => `${String(m.kind)}:${String(m.iteration)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.filter((k) => k.startsWith("train:"))).toHaveLength(16);
  }, 120_000);

  it("--out is never the current directory or the runs root", async () => {
    for (const [out, why] of [
      ["", /is the current directory/],
      [".", /is the current directory/],
      ["runs/.", /is the runs root/],
      ["..", /is an ancestor of the current directory/],
    ] as const) {
      const r = await cli("train", "--out", out, "--steps", "128", ...SMALL);
      expect(r.code, out).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(why);
    }
    expect(existsSync(join(process.cwd(), "config.json"))).toBe(false);
  });
});

describe("resume from the command line", () => {
  it("says where it resumes from; no usable checkpoint is a one-line error until --restart", async () => {
    const dir = join(root, "cli-resume");
    const made = await cli("train", "--out", dir, "--steps", "256", "--set", "checkpointEvery=1", ...SMALL);
    expect(made.code, made.err).toBe(0);
    // As a kill before the end would leave it.
    writeFileSync(join(dir, "status.json"), JSON.stringify({ status: "running", pid: 999_999_999 }));
    rmSync(join(dir, "checkpoints", "000000004"), { recursive: true });
    writeFileSync(join(dir, "checkpoints", "latest"), "000000004\n");
    const resumed = await cli("train", "--resume", dir, "--quiet");
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/warning: checkpoints\/latest names 000000004, which does not exist; using an older checkpoint/);
    expect(resumed.err).toMatch(new RegExp(`resuming ${dir.replace(/[/\\]/g, "\\$&")} from step 192 \\(checkpoint 000000003\\)`));

    writeFileSync(join(dir, "status.json"), JSON.stringify({ status: "running", pid: 999_999_999 }));
    for (const c of ["000000003", "000000004"]) writeFileSync(join(dir, "checkpoints", c, "weights.bin"), "damaged");
    const refused = await cli("train", "--resume", dir);
    expect(refused.code).toBe(3); // damaged run data (docs/reliability.md, exit codes)
    expect(refused.err.trim().split("\n")).toHaveLength(1);
    expect(refused.err).toMatch(/has no usable checkpoint to resume from .*Fix: start it over from step 0 with `refinery train --resume .* --restart`/);
    expect(new RunDir(dir).readMetrics().length).toBeGreaterThan(0);

    const restarted = await cli("train", "--resume", dir, "--restart", "--quiet");
    expect(restarted.code, restarted.err).toBe(0);
    expect(restarted.err).toMatch(/restarting .* from step 0 \(--restart/);
    expect((await cli("train", "--restart", "--steps", "128")).err).toMatch(/--restart starts an existing run over and needs --resume DIR/);
  }, 60_000);
});
