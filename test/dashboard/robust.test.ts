// Run ids with unusual characters, a runs.db deleted or replaced under a running dashboard,
// and a runs root that does not exist.
import { existsSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dashboardCommand } from "../../src/cli/dashboard.js";
import { startDashboard } from "../../src/dashboard/server.js";
import { RunStore } from "../../src/store/store.js";
import { fakeRun } from "../store/helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-dashboard-robust-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ODD_IDS = ["back\\slash", "with space", "50%", "100%25", "#hash", "a?b=c&d", "plus+sign", "ünïcödé-😀", "quote\"'<tag>", "dots..x", "semi;colon"];

/** A GET with the path sent exactly as given. */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("run ids with any legal character", () => {
  it("are listed and read through every endpoint, URL-encoded both ways", async () => {
    const root = join(tmp, "odd");
    ODD_IDS.forEach((id, i) => fakeRun(join(root, id), { seed: i, returns: [i, i + 1, i + 2] }));
    const dash = await startDashboard({ runsRoot: root, port: 0 });
    try {
      const listed = JSON.parse((await get(dash.port, "/api/runs")).body) as { runs: { id: string }[] };
      expect(listed.runs.map((r) => r.id).sort()).toEqual([...ODD_IDS].sort());
      for (const [i, id] of ODD_IDS.entries()) {
        const one = await get(dash.port, `/api/runs/${encodeURIComponent(id)}`);
        expect(one.status, id).toBe(200);
        expect((JSON.parse(one.body) as { run: { id: string } }).run.id).toBe(id);
        const q = new URLSearchParams([["run", id]]);
        const page = JSON.parse((await get(dash.port, `/api/metrics?${q}`)).body) as { rows: { runId: string; kind: string; row: { episodeReturnMean?: number } }[] };
        expect(page.rows.filter((r) => r.kind === "train").map((r) => r.row.episodeReturnMean), id).toEqual([i, i + 1, i + 2]);
        expect(page.rows.every((r) => r.runId === id)).toBe(true);
        const curves = JSON.parse((await get(dash.port, `/api/curves?${q}`)).body) as { runs: { id: string; kinds: Record<string, { series: Record<string, { y: number[] }> }> }[] };
        expect(curves.runs[0].id).toBe(id);
        expect(curves.runs[0].kinds.train.series.episodeReturnMean.y).toEqual([i, i + 1, i + 2]);
      }
      // A raw backslash is a path separator to URL parsers: the encoded form is the way.
      expect((await get(dash.port, "/api/runs/back%5cslash")).status).toBe(200);
      // Still nothing but known ids.
      for (const bad of ["/api/runs/back%2fslash", "/api/runs/%00", "/api/runs/%zz", "/api/runs/..", "/api/metrics?run=nope"]) expect((await get(dash.port, bad)).status, bad).toBe(404);
    } finally {
      await dash.close();
    }
  });
});

describe("a runs.db deleted or replaced under a running dashboard", () => {
  it("is noticed and reopened: the runs are listed again from their directories, new runs too", async () => {
    const root = join(tmp, "replaced");
    fakeRun(join(root, "first"), { seed: 1, returns: [1, 2] });
    const dash = await startDashboard({ runsRoot: root, port: 0 });
    const ids = async () => (JSON.parse((await get(dash.port, "/api/runs")).body) as { runs: { id: string }[] }).runs.map((r) => r.id).sort();
    try {
      expect(await ids()).toEqual(["first"]);
      // Deleted with its -wal and -shm: a fresh file is created and filled from the run directories.
      for (const f of ["runs.db", "runs.db-wal", "runs.db-shm"]) rmSync(join(root, f), { force: true });
      fakeRun(join(root, "second"), { seed: 2, returns: [3] });
      expect(await ids()).toEqual(["first", "second"]);
      expect(existsSync(join(root, "runs.db"))).toBe(true);
      const check = RunStore.open(root, { create: false });
      expect(check.listRuns().map((r) => r.id).sort()).toEqual(["first", "second"]);
      check.close();

      // Replaced by another file at the same path (what a rebuild of a damaged store does).
      const other = join(tmp, "other-root");
      fakeRun(join(other, "elsewhere"), { seed: 3, returns: [5] });
      RunStore.open(other).close();
      renameSync(join(other, "runs.db"), join(root, "runs.db"));
      for (const f of ["runs.db-wal", "runs.db-shm"]) rmSync(join(root, f), { force: true });
      const listed = await ids();
      // The new file's own run (whose directory is not in this root) is forgotten, this root's runs are registered.
      expect(listed).toEqual(["first", "second"]);
      const one = JSON.parse((await get(dash.port, "/api/metrics?run=second")).body) as { rows: { row: { episodeReturnMean?: number } }[] };
      expect(one.rows.map((r) => r.row.episodeReturnMean).filter((x) => x !== undefined)).toEqual([3]);
    } finally {
      await dash.close();
    }
  });
});

describe("a runs root that does not exist", () => {
  it("is an error for the dashboard, and is not created", async () => {
    const missing = join(tmp, "typo", "runz");
    await expect(startDashboard({ runsRoot: missing, port: 0 })).rejects.toThrow(/the runs root .*runz does not exist\. Fix: check the path given to --runs-root/);
    expect(existsSync(join(tmp, "typo"))).toBe(false);
    const io = { out: () => undefined, err: () => undefined };
    await expect(dashboardCommand({ host: "127.0.0.1", port: 0, runsRoot: missing }, io, Promise.resolve(), {})).rejects.toThrow(/does not exist/);
    await expect(dashboardCommand({ host: "127.0.0.1", port: 0 }, io, Promise.resolve(), { REFINERY_RUNS: missing })).rejects.toThrow(/does not exist/);
    expect(existsSync(missing)).toBe(false);
  });

  it("a file is not a runs root", async () => {
    await expect(startDashboard({ runsRoot: join(tmp, "odd", "50%", "metrics.jsonl"), port: 0 })).rejects.toThrow(/is a file, not a directory/);
  });

  it("only the default root is created when missing", async () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(join(tmp, "cwd-"));
    process.chdir(dir);
    try {
      await dashboardCommand({ host: "127.0.0.1", port: 0 }, { out: () => undefined, err: () => undefined }, Promise.resolve(), {});
      expect(existsSync(join(dir, "runs", "runs.db"))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });
});
