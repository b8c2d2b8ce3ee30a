import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { RunStore } from "../../src/store/store.js";
import { resolveRunsRoot } from "../../src/store/root.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";
import { cli, exited, fakeRun, spawnTs } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-store-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A pid that belonged to a process which has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

function countLines(file: string): number {
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).length;
}

describe("runs root", () => {
  it("is --runs-root, else $REFINERY_RUNS, else ./runs", () => {
    expect(resolveRunsRoot("/a/b", { REFINERY_RUNS: "/c" })).toBe("/a/b");
    expect(resolveRunsRoot(undefined, { REFINERY_RUNS: "/c" })).toBe("/c");
    expect(resolveRunsRoot(undefined, {})).toBe(join(process.cwd(), "runs"));
  });
});

describe("the trainer registers its run", () => {
  const root = join(tmp, "trained");
  const config = resolveConfig({ algo: "ppo", overrides: { seed: 4, numEnvs: 2, numSteps: 64, totalTimesteps: 384, evalEpisodes: 2, backend: "cpu" } });

  it("in runs.db of the run directory's parent, with config, status, final metrics and every metrics row", async () => {
    const summary = await train({ runDir: join(root, "cp"), algo: "ppo", config });
    expect(existsSync(join(root, "runs.db"))).toBe(true);
    const store = RunStore.open(root);
    try {
      const run = store.getRun("cp");
      expect(run).toMatchObject({ id: "cp", algo: "ppo", env: "CartPole-v1", seed: 4, status: "finished", pid: process.pid, step: 384, iteration: 3, dir: join(root, "cp") });
      expect(run?.config).toEqual(config);
      expect(run?.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(Date.parse(run?.endedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(run?.startedAt ?? ""));
      expect(run?.finalMetrics?.finalMeanReturn).toBeCloseTo(summary.finalMeanReturn, 9);
      expect(run?.finalMetrics?.evalReturnMean).toBe(summary.finalEval.meanReturn);
      const rows = store.metrics("cp");
      expect(rows.map((r) => r.row)).toEqual(new RunDir(join(root, "cp")).readMetrics().sort((a, b) => String(a.kind).localeCompare(String(b.kind)) || Number(a.iteration) - Number(b.iteration)));
      expect(store.metrics("cp", "train").map((r) => r.iteration)).toEqual([1, 2, 3]);
    } finally {
      store.close();
    }
  });

  it("not when told so (store: false)", async () => {
    const other = join(tmp, "no-store");
    await train({ runDir: join(other, "cp"), algo: "ppo", config, store: false });
    expect(existsSync(join(other, "runs.db"))).toBe(false);
  });
});

describe("concurrent writers", () => {
  it("two processes registering runs and appending metrics at the same time lose nothing and leave a consistent db", async () => {
    const root = join(tmp, "concurrent");
    const go = join(tmp, "go");
    const RUNS = 3;
    const ROWS = 300;
    const children = ["a", "b"].map((prefix) => spawnTs(new URL("./writer_child.ts", import.meta.url), [root, prefix, String(RUNS), String(ROWS), go]));
    const collect = (stream: NodeJS.ReadableStream | null) => {
      let s = "";
      stream?.on("data", (d) => (s += d));
      return () => s;
    };
    const stderr = children.map((c) => collect(c.stderr));
    const stdout = children.map((c) => collect(c.stdout));
    // Both children load first, then start together; this process reads while they write.
    const deadline = Date.now() + 30_000;
    while (!stdout.every((s) => s().includes("ready")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    writeFileSync(go, "");
    const seen = new Set<number>();
    const done = Promise.all(children.map(exited));
    let finished = false;
    void done.then(() => (finished = true));
    while (!finished) {
      if (existsSync(join(root, "runs.db"))) {
        const store = RunStore.open(root);
        seen.add(store.listRuns().length);
        store.close();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const codes = await done;
    expect(codes, stderr.map((s) => s()).join("\n")).toEqual([0, 0]);
    for (const s of stderr) expect(s()).not.toMatch(/REFINERY_STORE|SQLITE/);
    // The two writers really overlapped in time.
    const [a, b] = stdout.map((s) => JSON.parse(s().trim().split("\n").at(-1) as string) as { start: number; end: number });
    expect(a.start < b.end && b.start < a.end, JSON.stringify([a, b])).toBe(true);

    const store = RunStore.open(root);
    try {
      expect(store.integrityCheck()).toBe("ok");
      const runs = store.listRuns();
      expect(runs.map((r) => r.id).sort()).toEqual(["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"]);
      for (const run of runs) {
        expect(run.status).toBe("finished");
        expect(run.step).toBe(ROWS * 128);
        const train = store.metrics(run.id, "train");
        expect(train.map((m) => m.iteration)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
        expect(train.every((m) => m.row.episodeReturnMean === m.iteration + (run.seed ?? 0))).toBe(true);
        expect(store.metrics(run.id, "eval")).toHaveLength(ROWS / 50);
      }
      // The cursor is strictly increasing over all rows: no row was written twice or lost.
      const all = store.metricsSince(runs.map((r) => r.id), 0, 1e6);
      expect(all).toHaveLength(6 * (ROWS + ROWS / 50));
      expect(new Set(all.map((m) => m.seq)).size).toBe(all.length);
    } finally {
      store.close();
    }
  });
});

describe("interrupted runs", () => {
  it("a run marked running whose process is gone is reported interrupted on read (and the row is updated)", () => {
    const root = join(tmp, "dead");
    fakeRun(join(root, "ghost"), { seed: 1, returns: [10, 20, 30], status: "running", pid: deadPid() });
    const store = RunStore.open(root);
    try {
      expect(store.listRuns()[0]).toMatchObject({ id: "ghost", status: "interrupted", step: 384 });
      expect(store.getRun("ghost")?.endedAt).not.toBeNull();
      expect(store.getRun("ghost")?.finalMetrics?.episodeReturnMean).toBe(30);
    } finally {
      store.close();
    }
  });

  it("a training process killed with SIGKILL is reported interrupted, and train --resume continues the same run id to the end", async () => {
    const root = join(tmp, "killed");
    const dir = join(root, "cp-killed");
    const child = spawnTs(new URL("../dashboard/cli_child.ts", import.meta.url), [
      "train", "--out", dir, "--steps", "2560", "--seed", "5", "--quiet",
      "--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--set", "checkpointEvery=1", "--set", "evalEpisodes=2",
    ], "ignore");
    const latest = join(dir, "checkpoints", "latest");
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(latest) && Number(readFileSync(latest, "utf8")) >= 3) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      }, 5);
      child.on("exit", () => {
        clearInterval(timer);
        reject(new Error("the training child ended before it could be killed; make the run longer"));
      });
    });
    await exited(child);
    expect(new RunDir(dir).readStatus()?.status).toBe("running"); // SIGKILL leaves no chance to write anything

    const listed = await cli("runs", "--runs-root", root, "--json");
    expect(listed.code, listed.err).toBe(0);
    const runs = JSON.parse(listed.out) as { id: string; status: string; step: number; pid: number }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ id: "cp-killed", status: "interrupted", pid: child.pid });
    expect(runs[0].step).toBeGreaterThanOrEqual(3 * 128);
    const text = await cli("runs", "show", "cp-killed", "--runs-root", root);
    expect(text.out).toContain(`continue it with: refinery train --resume ${dir}`);

    const resumed = await cli("train", "--resume", dir, "--json", "--quiet");
    expect(resumed.code, resumed.err).toBe(0);
    const store = RunStore.open(root);
    try {
      const runsAfter = store.listRuns();
      expect(runsAfter.map((r) => r.id)).toEqual(["cp-killed"]);
      expect(runsAfter[0]).toMatchObject({ status: "finished", step: 2560, iteration: 20, pid: process.pid });
      // Replayed iterations are not duplicated: the db holds exactly the rows of metrics.jsonl.
      expect(store.metrics("cp-killed", "train").map((m) => m.iteration)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(store.metrics("cp-killed")).toHaveLength(countLines(join(dir, "metrics.jsonl")));
      expect(store.integrityCheck()).toBe("ok");
    } finally {
      store.close();
    }
  });
});

describe("the store is a cache of the run directories", () => {
  const root = join(tmp, "cache");
  const snapshot = () => {
    const store = RunStore.open(root);
    try {
      return store.listRuns().map((r) => ({ id: r.id, status: r.status, step: r.step, config: r.config, rows: store.metrics(r.id).map((m) => m.row), final: r.finalMetrics }));
    } finally {
      store.close();
    }
  };

  it("a missing runs.db is recreated from the run directories by the next read", async () => {
    fakeRun(join(root, "one"), { seed: 1, returns: [1, 2, 3] });
    fakeRun(join(root, "two"), { seed: 2, returns: [4, 5] });
    const before = snapshot();
    for (const f of ["runs.db", "runs.db-wal", "runs.db-shm"]) rmSync(join(root, f), { force: true });
    const r = await cli("runs", "--runs-root", root, "--json");
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { id: string }[]).map((x) => x.id).sort()).toEqual(["one", "two"]);
    expect(snapshot()).toEqual(before);
  });

  it("a damaged runs.db is reported with the fix, and `runs --rebuild` restores every run and row", async () => {
    const before = snapshot();
    for (const f of ["runs.db-wal", "runs.db-shm"]) rmSync(join(root, f), { force: true });
    writeFileSync(join(root, "runs.db"), "this is not an SQLite database, it was overwritten by accident ".repeat(100));
    const broken = await cli("runs", "--runs-root", root);
    expect(broken.code).toBe(3); // damaged data (see EXIT in src/cli/exit.ts)
    expect(broken.err).toMatch(/runs\.db is damaged/);
    expect(broken.err).toMatch(/refinery runs --rebuild/);

    const rebuilt = await cli("runs", "--runs-root", root, "--rebuild", "--json");
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect(rebuilt.err).toMatch(/moved to .*runs\.db\.damaged-\d+/);
    expect(rebuilt.err).toMatch(/rebuilt .*runs\.db from 2 run directories/);
    expect(snapshot()).toEqual(before);
  });

  it("runs whose directory was deleted by hand disappear; directories copied in appear", () => {
    rmSync(join(root, "two"), { recursive: true });
    const other = join(tmp, "elsewhere");
    fakeRun(join(other, "three"), { seed: 3, returns: [7] });
    // Copy the directory in without the store knowing (as `cp -r` would).
    spawnSync("cp", ["-r", join(other, "three"), join(root, "three")]);
    const store = RunStore.open(root);
    try {
      store.sync();
      expect(store.listRuns().map((r) => r.id).sort()).toEqual(["one", "three"]);
      expect(store.metrics("three", "train")).toHaveLength(1);
    } finally {
      store.close();
    }
  });
});
