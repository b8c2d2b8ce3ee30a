import { basename, dirname } from "node:path";
import type { RunDir } from "../train/run.js";
import { RunStore } from "./store.js";

/** What the trainer holds while a run is mirrored into the store. */
export interface StoreAttachment {
  /** Stops mirroring and closes the store. */
  detach(): void;
}

/**
 * Registers a run in the store of its runs root (the run directory's parent) and mirrors
 * every later status and metrics write of `run` into it. The store is only a cache of the
 * run directory, so it never fails a run: the first store error is reported once on
 * stderr and mirroring stops; `refinery runs --rebuild` catches up later. A runs.db that
 * is deleted or replaced meanwhile is noticed at the next write and reopened.
 */
export function attachRunStore(run: RunDir): StoreAttachment {
  const id = basename(run.path);
  let store: RunStore | null = null;
  const fail = (err: unknown) => {
    process.emitWarning(
      `the run store could not record run ${id} (${(err as Error).message}); training goes on and its run directory is complete. Rebuild the store later with \`refinery runs --rebuild --runs-root ${dirname(run.path)}\``,
      { code: "REFINERY_STORE" },
    );
    store?.close();
    store = null;
  };
  try {
    store = RunStore.open(dirname(run.path));
    store.importRun(run.path);
  } catch (err) {
    fail(err);
    return { detach() {} };
  }
  const guard = (write: (s: RunStore) => void) => {
    if (!store) return;
    try {
      // runs.db deleted or replaced while the run trains: write to the new file, which first
      // learns the run (config, status and rows so far) from the run directory.
      if (store.reopenIfReplaced()) store.importRun(run.path);
      write(store);
    } catch (err) {
      fail(err);
    }
  };
  run.observer = {
    status: (status) => guard((s) => s.recordStatus(id, status)),
    metrics: (row) => guard((s) => s.recordMetrics(id, row)),
    truncated: (iteration) => guard((s) => s.truncateMetrics(id, iteration)),
  };
  return {
    detach() {
      run.observer = undefined;
      store?.close();
      store = null;
    },
  };
}
