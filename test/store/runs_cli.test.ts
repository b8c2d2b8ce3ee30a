import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStore } from "../../src/store/store.js";
import { cli, fakeRun } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-runs-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(() => {
  fakeRun(join(root, "lr-small-s1"), { seed: 1, returns: [10, 20, 30] });
  fakeRun(join(root, "lr-small-s2"), { seed: 2, returns: [12, 22, 34] });
  fakeRun(join(root, "lr-big-s1"), { seed: 1, learningRate: 0.001, returns: [15, 40, 90, 120] });
  fakeRun(join(root, "acrobot"), { seed: 1, env: "Acrobot-v1", returns: [-500, -400] });
  // Still training: this process holds it.
  fakeRun(join(root, "live"), { seed: 9, returns: [5], status: "running" });
});

describe("refinery runs", () => {
  it("lists every run with status, algo, env, seed, steps and returns", async () => {
    const r = await cli("runs", "--runs-root", root);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+ALGO\s+ENV\s+SEED\s+STEPS\s+RETURN\s+EVAL\s+STARTED$/);
    expect(lines).toHaveLength(6);
    expect(r.out).toMatch(/^lr-big-s1\s+finished\s+ppo\s+CartPole-v1\s+1\s+512\s+120\s+240\s+\d{4}-/m);
    expect(r.out).toMatch(/^live\s+running\s+/m);
  });

  it("filters by --algo, --env and --status", async () => {
    const ids = async (...args: string[]) => (JSON.parse((await cli("runs", "--runs-root", root, "--json", ...args)).out) as { id: string }[]).map((x) => x.id).sort();
    expect(await ids("--env", "Acrobot-v1")).toEqual(["acrobot"]);
    expect(await ids("--status", "running")).toEqual(["live"]);
    expect(await ids("--algo", "ppo", "--env", "CartPole-v1", "--status", "finished")).toEqual(["lr-big-s1", "lr-small-s1", "lr-small-s2"]);
    expect(await ids("--algo", "grpo")).toEqual([]);
    const bad = await cli("runs", "--runs-root", root, "--status", "done");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--status "done" is not a run status.*running, finished, failed, interrupted/);
  });

  it("--json gives each run's id, config, status, times and latest metrics", async () => {
    const r = await cli("runs", "--runs-root", root, "--json", "--env", "Acrobot-v1");
    const [run] = JSON.parse(r.out) as Record<string, unknown>[];
    expect(run).toMatchObject({ id: "acrobot", algo: "ppo", env: "Acrobot-v1", seed: 1, status: "finished", step: 256, dir: join(root, "acrobot") });
    expect(run.config).toMatchObject({ env: "Acrobot-v1", seed: 1 });
    expect(run.metrics).toMatchObject({ episodeReturnMean: -400, evalReturnMean: -800, finalMeanReturn: -400 });
    expect(run).not.toHaveProperty("host");
  });

  it("REFINERY_RUNS names the root when --runs-root is not given", async () => {
    const saved = process.env.REFINERY_RUNS;
    process.env.REFINERY_RUNS = root;
    try {
      const r = await cli("runs", "--json");
      expect((JSON.parse(r.out) as unknown[]).length).toBe(5);
    } finally {
      if (saved === undefined) delete process.env.REFINERY_RUNS;
      else process.env.REFINERY_RUNS = saved;
    }
  });

  it("a root that does not exist is an error that says how to fix it", async () => {
    const r = await cli("runs", "--runs-root", join(root, "nope"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the runs root .*nope does not exist.*--runs-root/);
  });
});

describe("refinery runs show", () => {
  it("prints status, final metrics and the config", async () => {
    const r = await cli("runs", "show", "lr-big-s1", "--runs-root", root);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^run lr-big-s1 {2}\(finished\)/);
    expect(r.out).toMatch(/^ {2}directory +.*lr-big-s1$/m);
    expect(r.out).toMatch(/^final metrics$/m);
    expect(r.out).toMatch(/^ {2}evalReturnMean +240$/m);
    expect(r.out).toMatch(/^config$/m);
    expect(r.out).toMatch(/^ {2}learningRate +0\.001$/m);
  });

  it("--json, and the --runs-root given before the subcommand", async () => {
    const r = await cli("runs", "--runs-root", root, "show", "live", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ id: "live", status: "running", pid: process.pid, metrics: { episodeReturnMean: 5 } });
  });

  it("an unknown id fails with exit code 2 and says where ids come from", async () => {
    const r = await cli("runs", "show", "nope", "--runs-root", root);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no run "nope" in .*refinery runs.*directory names/);
  });
});

describe("refinery runs compare", () => {
  it("prints final metrics side by side and only the config keys that differ", async () => {
    const r = await cli("runs", "compare", "lr-small-s1", "lr-big-s1", "--runs-root", root);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split("\n");
    expect(lines[0]).toMatch(/^\s+lr-small-s1\s+lr-big-s1$/);
    expect(r.out).toMatch(/^evalReturnMean\s+60\s+240$/m);
    expect(r.out).toMatch(/^step\s+384\s+512$/m);
    expect(r.out).toMatch(/^config differences$/m);
    const diffs = lines.slice(lines.indexOf("config differences") + 2).filter((l) => l.trim());
    expect(diffs.map((l) => l.split(/\s+/)[0])).toEqual(["learningRate", "totalTimesteps"]);
    expect(r.out).toMatch(/^learningRate\s+0\.00025\s+0\.001$/m);
  });

  it("--json gives {runs, configDifferences}; seeds differ only in seed", async () => {
    const r = await cli("runs", "compare", "lr-small-s1", "lr-small-s2", "--json", "--runs-root", root);
    const data = JSON.parse(r.out) as { runs: { id: string; metrics: Record<string, number> }[]; configDifferences: { key: string; values: string[] }[] };
    expect(data.runs.map((x) => x.id)).toEqual(["lr-small-s1", "lr-small-s2"]);
    expect(data.runs[1].metrics.episodeReturnMean).toBe(34);
    expect(data.configDifferences).toEqual([{ key: "seed", values: ["1", "2"] }]);
  });

  it("needs two ids", async () => {
    const r = await cli("runs", "compare", "lr-small-s1", "--runs-root", root);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/at least two run ids/);
  });
});

describe("refinery runs rm", () => {
  it("removes the run directory and its rows", async () => {
    const r = await cli("runs", "rm", "acrobot", "--runs-root", root);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^removed run acrobot \(.*acrobot\)$/m);
    expect(existsSync(join(root, "acrobot"))).toBe(false);
    const store = RunStore.open(root);
    try {
      expect(store.getRun("acrobot")).toBeNull();
      expect(store.metrics("acrobot")).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("refuses a run that is still training unless --force", async () => {
    const refused = await cli("runs", "rm", "live", "--runs-root", root);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/run live is still training \(pid \d+ on .* since .*\).*--force/);
    expect(existsSync(join(root, "live"))).toBe(true);
    const forced = await cli("runs", "rm", "live", "--force", "--runs-root", root);
    expect(forced.code, forced.err).toBe(0);
    expect(existsSync(join(root, "live"))).toBe(false);
  });

  it("removes nothing when one of the ids is unknown", async () => {
    const r = await cli("runs", "rm", "lr-small-s1", "../lr-small-s2", "--runs-root", root);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no run "\.\.\/lr-small-s2"/);
    expect(existsSync(join(root, "lr-small-s1"))).toBe(true);
  });
});

describe("--help of the run commands", () => {
  it.each([["runs"], ["runs", "show"], ["runs", "compare"], ["runs", "rm"], ["plot"], ["dashboard"]])("%s %s --help lists every option with its default", async (...command) => {
    const { code, out } = await cli(...command, "--help");
    expect(code).toBe(0);
    const options = out.slice(out.indexOf("Options:"), out.includes("Commands:") ? out.indexOf("Commands:") : undefined).split("\n").slice(1);
    const entries: string[] = [];
    for (const line of options) {
      if (/^ {2}-/.test(line)) entries.push(line.trim());
      else if (line.trim() && entries.length) entries[entries.length - 1] += " " + line.trim();
    }
    const real = entries.filter((e) => !e.startsWith("-h, --help"));
    expect(real.length).toBeGreaterThan(0);
    for (const e of real) expect(e, e).toMatch(/\(default: [^)]/);
  });

  it("dashboard --port must be a port number", async () => {
    const r = await cli("dashboard", "--port", "70000");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--port must be an integer in \[0, 65535\]/);
  });
});
