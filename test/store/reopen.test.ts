// A trainer's store sink keeps mirroring into runs.db when the file is deleted or replaced
// while the run trains: it notices at its next write, reopens the path and re-registers the run.
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attachRunStore } from "../../src/store/sink.js";
import { RunStore } from "../../src/store/store.js";
import { RunDir } from "../../src/train/run.js";
import { fakeRun } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-store-reopen-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function iterations(root: string, id: string): number[] {
  const store = RunStore.open(root, { create: false });
  try {
    return store.metrics(id, "train").map((m) => m.iteration);
  } finally {
    store.close();
  }
}

describe("the store sink when runs.db is deleted or replaced", () => {
  it.each([
    ["deleted (runs.db alone)", ["runs.db"]],
    ["deleted with its -wal and -shm", ["runs.db", "runs.db-wal", "runs.db-shm"]],
  ])("%s: the next write goes to a new runs.db that holds the whole run", (_name, files) => {
    const root = join(tmp, `deleted-${files.length}`);
    const run = RunDir.create(join(root, "live"), "ppo", { env: "CartPole-v1", seed: 1 });
    const sink = attachRunStore(run);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      run.writeStatus({ status: "running", pid: process.pid });
      for (let i = 1; i <= 3; i++) run.appendMetrics({ kind: "train", iteration: i, step: 128 * i, episodeReturnMean: i });
      for (const f of files) rmSync(join(root, f), { force: true });
      for (let i = 4; i <= 6; i++) run.appendMetrics({ kind: "train", iteration: i, step: 128 * i, episodeReturnMean: i });
      expect(iterations(root, "live")).toEqual([1, 2, 3, 4, 5, 6]);
      run.writeStatus({ status: "finished", pid: process.pid, iteration: 6, step: 768 });
      const store = RunStore.open(root, { create: false });
      expect(store.getRun("live")).toMatchObject({ status: "finished", step: 768 });
      store.close();
    } finally {
      sink.detach();
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it("replaced by another file: the run is registered in the new one and rows go on there", () => {
    const root = join(tmp, "replaced");
    const run = RunDir.create(join(root, "live"), "ppo", { env: "CartPole-v1", seed: 1 });
    const sink = attachRunStore(run);
    try {
      run.writeStatus({ status: "running", pid: process.pid });
      run.appendMetrics({ kind: "train", iteration: 1, step: 128, episodeReturnMean: 1 });
      const other = join(tmp, "other");
      fakeRun(join(other, "x"), { seed: 2, returns: [9] });
      rmSync(join(root, "runs.db-wal"), { force: true });
      rmSync(join(root, "runs.db-shm"), { force: true });
      renameSync(join(other, "runs.db"), join(root, "runs.db"));
      run.appendMetrics({ kind: "train", iteration: 2, step: 256, episodeReturnMean: 2 });
      expect(iterations(root, "live")).toEqual([1, 2]);
    } finally {
      sink.detach();
    }
  });

  it("reopenIfReplaced is a no-op while the file is the one opened", () => {
    const root = join(tmp, "same");
    const store = RunStore.open(root);
    try {
      expect(store.reopenIfReplaced()).toBe(false);
      expect(store.generation).toBe(0);
      rmSync(join(root, "runs.db"));
      expect(store.reopenIfReplaced()).toBe(true);
      expect(store.generation).toBe(1);
      expect(store.reopenIfReplaced()).toBe(false);
    } finally {
      store.close();
    }
  });
});
