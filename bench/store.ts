/**
 * Run store speed: the time to create and reopen `runs.db`, to write N metrics rows the
 * way a trainer does (one `recordMetrics` call, i.e. one transaction, per row) and to read
 * them back (`metrics`, `metricsSince`). Prints milliseconds; asserts nothing.
 *
 *   node --import tsx bench/store.ts [--rows 100000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RunStore } from "../src/store/store.js";
import { RunDir } from "../src/train/run.js";

const { values } = parseArgs({ options: { rows: { type: "string", default: "100000" }, json: { type: "boolean", default: false } } });
const rows = Number(values.rows);

function time<T>(fn: () => T): [T, number] {
  const t = performance.now();
  const out = fn();
  return [out, performance.now() - t];
}

const root = mkdtempSync(join(tmpdir(), "refinery-store-bench-"));
try {
  const run = RunDir.create(join(root, "bench-run"), "ppo", { env: "CartPole-v1", seed: 0 });
  const [created, createMs] = time(() => RunStore.open(root));
  created.importRun(run.path);
  const [, writeMs] = time(() => {
    for (let i = 1; i <= rows; i++) {
      created.recordMetrics("bench-run", { kind: "train", iteration: i, step: 128 * i, episodeReturnMean: i % 500, episodeLengthMean: i % 500, policyLoss: -0.01, sps: 1000 });
    }
  });
  created.close();
  const [store, reopenMs] = time(() => RunStore.open(root));
  const [all, readMs] = time(() => store.metrics("bench-run"));
  const [since, sinceMs] = time(() => store.metricsSince(["bench-run"], rows - 5000));
  store.close();
  if (all.length !== rows || since.length !== 5000) throw new Error(`read ${all.length} and ${since.length} rows, expected ${rows} and 5000`);
  const result = {
    rows,
    createMs: Math.round(createMs),
    reopenMs: Math.round(reopenMs),
    writeMs: Math.round(writeMs),
    writeUsPerRow: Math.round((1000 * writeMs) / rows),
    readAllMs: Math.round(readMs),
    readLast5000Ms: Math.round(sinceMs),
  };
  console.log(values.json ? JSON.stringify(result) : Object.entries(result).map(([k, v]) => `${k} ${v}`).join("\n"));
} finally {
  rmSync(root, { recursive: true, force: true });
}
