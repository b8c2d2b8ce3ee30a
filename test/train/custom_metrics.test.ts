import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { startDashboard } from "../../src/dashboard/server.js";
import { RunStore } from "../../src/store/store.js";
import { parseCsv } from "../../src/train/loggers/csv.js";
import { eventFiles, readEventFile } from "../../src/train/loggers/tensorboard.js";
import { RunDir } from "../../src/train/run.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-custom-metrics-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = (iterations: number, extra: Record<string, unknown> = {}) =>
  resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numEnvs: 2, numSteps: 16, totalTimesteps: 32 * iterations, evalEpisodes: 1, backend: "cpu", ...extra } });

/** Every (tag, step) → value of a run's event files; a tag written twice at one step fails. */
function tensorboardPoints(runDir: string): Map<string, number> {
  const points = new Map<string, number>();
  const files = eventFiles(join(runDir, "tb"));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    const events = readEventFile(file);
    expect(events[0].fileVersion).toBe("brain.Event:2");
    for (const e of events) {
      for (const s of e.scalars ?? []) {
        const key = `${s.tag}@${e.step}`;
        expect(points.has(key), `${key} written twice`).toBe(false);
        points.set(key, s.value);
      }
    }
  }
  return points;
}

/** The same from metrics.jsonl: every finite number of every row, under `<kind>/<key>`, as float32. */
function expectedPoints(runDir: string): Map<string, number> {
  const points = new Map<string, number>();
  for (const row of new RunDir(runDir).readMetrics()) {
    for (const [k, v] of Object.entries(row)) {
      if (k === "kind" || k === "iteration" || k === "step" || typeof v !== "number") continue;
      points.set(`${row.kind}/${k}@${row.step}`, Math.fround(v));
    }
  }
  return points;
}

describe("logger.record from callbacks", () => {
  it("reaches metrics.jsonl, the run store, the dashboard API, TensorBoard and progress.csv", async () => {
    const runDir = join(root, "ppo-custom");
    await train({
      runDir,
      algo: "ppo",
      config: tiny(4, { evalEvery: 2 }),
      log: ["tensorboard", "csv"],
      callbacks: {
        onRollout: (r, _algo, logger) => logger.record("custom/rolloutSteps", r.steps),
        onUpdate: (row, _algo, logger) => logger.record("custom/double", row.iteration * 2 + 0.25),
        onEval: (result, _algo, logger) => logger.record("custom/evalPlusOne", result.meanReturn + 1),
      },
    });
    const rows = new RunDir(runDir).readMetrics();
    const trainRows = rows.filter((r) => r.kind === "train");
    const evalRows = rows.filter((r) => r.kind === "eval");
    expect(trainRows).toHaveLength(4);
    for (const r of trainRows) {
      expect(r["custom/double"]).toBe((r.iteration as number) * 2 + 0.25);
      expect(r["custom/rolloutSteps"]).toBe(32);
      expect(r).not.toHaveProperty("custom/evalPlusOne");
    }
    expect(evalRows.length).toBeGreaterThanOrEqual(2);
    for (const r of evalRows) expect(r["custom/evalPlusOne"]).toBe((r.evalReturnMean as number) + 1);

    // The run store keeps whole rows, so a new name needs no new column.
    const store = RunStore.open(root);
    try {
      const stored = store.metrics(basename(runDir), "train");
      expect(stored.map((m) => m.row["custom/double"])).toEqual([2.25, 4.25, 6.25, 8.25]);
      expect(store.summary(basename(runDir))["custom/double"]).toBe(8.25);
    } finally {
      store.close();
    }

    const dashboard = await startDashboard({ runsRoot: root, port: 0 });
    try {
      const res = await fetch(`${dashboard.url}api/metrics?run=${encodeURIComponent(basename(runDir))}`);
      const body = (await res.json()) as { rows: { kind: string; row: Record<string, unknown> }[] };
      expect(body.rows.filter((m) => m.kind === "train").map((m) => m.row["custom/double"])).toEqual([2.25, 4.25, 6.25, 8.25]);
      expect(body.rows.filter((m) => m.kind === "eval").every((m) => typeof m.row["custom/evalPlusOne"] === "number")).toBe(true);
    } finally {
      await dashboard.close();
    }

    // TensorBoard: the same names and values (float32) at the same env steps as metrics.jsonl.
    const tb = tensorboardPoints(runDir);
    expect(tb).toEqual(expectedPoints(runDir));
    expect(tb.get(`train/custom/double@${trainRows[0].step}`)).toBe(2.25);
    expect([...tb.keys()].some((k) => k.startsWith("eval/custom/evalPlusOne@"))).toBe(true);

    // CSV: one line per row, a column per key.
    const table = parseCsv(readFileSync(join(runDir, "progress.csv"), "utf8"));
    const header = table[0];
    expect(header.slice(0, 3)).toEqual(["kind", "iteration", "step"]);
    expect(table).toHaveLength(rows.length + 1);
    const col = (name: string) => header.indexOf(name);
    expect(col("custom/double")).toBeGreaterThan(2);
    expect(col("custom/evalPlusOne")).toBeGreaterThan(2);
    table.slice(1).forEach((line, i) => {
      expect(line).toHaveLength(header.length);
      const row = rows[i];
      for (const [k, v] of Object.entries(row)) expect(line[col(k)]).toBe(v === null ? "" : String(v));
    });
  });

  it("rejects a reserved name or a value that is not a number, naming the fix", async () => {
    const attempt = (record: (logger: { record(n: string, v: number): void }) => void) =>
      train({ runDir: join(root, `bad-${Math.random()}`), algo: "ppo", config: tiny(1), store: false, callbacks: { onUpdate: (_r, _a, logger) => record(logger) } });
    await expect(attempt((l) => l.record("step", 1))).rejects.toThrow(/"step" is set by the trainer.*Fix: record under another name/);
    await expect(attempt((l) => l.record("x", "1" as unknown as number))).rejects.toThrow(/the value must be a number/);
  });

  it("a bad log format fails before the run directory is made", async () => {
    const runDir = join(root, "bad-format");
    await expect(train({ runDir, algo: "ppo", config: tiny(1), store: false, log: ["tensorbored" as "csv"] })).rejects.toThrow(/unknown log format "tensorbored"/);
    expect(existsSync(runDir)).toBe(false);
  });
});

describe("TensorBoard and CSV across a resume", () => {
  it("drop the replayed iterations: no step twice, every row of metrics.jsonl once", async () => {
    const runDir = join(root, "resumed");
    const record = { onUpdate: (row: { iteration: number }, _a: unknown, logger: { record(n: string, v: number): void }) => logger.record("custom/it", row.iteration) };
    // Checkpoint at 2 and 4; stop after 5, so iteration 5 is replayed after the resume.
    await train({ runDir, algo: "ppo", config: tiny(8, { checkpointEvery: 2 }), store: false, log: ["tensorboard", "csv"], stopAfterIterations: 5, callbacks: record });
    expect(new RunDir(runDir).readMetrics().filter((r) => r.kind === "train")).toHaveLength(5);
    // No --log on resume: the run keeps the formats its directory has.
    await train({ runDir, resume: true, store: false, callbacks: record });
    const rows = new RunDir(runDir).readMetrics();
    expect(rows.filter((r) => r.kind === "train").map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(eventFiles(join(runDir, "tb"))).toHaveLength(2);
    expect(tensorboardPoints(runDir)).toEqual(expectedPoints(runDir));
    const table = parseCsv(readFileSync(join(runDir, "progress.csv"), "utf8"));
    expect(table.slice(1).map((l) => `${l[0]}:${l[1]}`)).toEqual(rows.map((r) => `${r.kind}:${r.iteration}`));
  });
});
