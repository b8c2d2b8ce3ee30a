import { accessSync, chmodSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { basename, join, resolve } from "node:path";
import { RefineryError } from "../core/errors.js";
import { RunDir } from "../train/run.js";
import { SqliteConnection } from "./sqlite.js";
import { STORE_FILE } from "./root.js";

export type RunStatus = "running" | "finished" | "failed" | "interrupted";
export const RUN_STATUSES: readonly RunStatus[] = ["running", "finished", "failed", "interrupted"];

/** One run as the store knows it. `id` is the run directory's name, unique within its root. */
export interface RunRecord {
  id: string;
  /** A readable label: algorithm, env and seed. */
  name: string;
  algo: string;
  env: string;
  seed: number | null;
  config: Record<string, unknown>;
  status: RunStatus;
  /** The training process (meaningful on `host` only). */
  pid: number | null;
  host: string | null;
  startedAt: string | null;
  /** When the run stopped being "running" (finished, failed or interrupted); null while running. */
  endedAt: string | null;
  /** The last write of status or metrics. */
  updatedAt: string | null;
  iteration: number;
  step: number;
  /** Numbers at the end of the run (last training and evaluation rows, final return); null while running. */
  finalMetrics: Record<string, number | null> | null;
  error: string | null;
  dir: string;
}

export interface RunFilter {
  algo?: string;
  env?: string;
  status?: string;
}

/** A metrics row with its place in the store: `seq` grows with every write, so it is a cursor for "rows since". */
export interface MetricRecord {
  seq: number;
  runId: string;
  kind: string;
  iteration: number;
  step: number;
  row: Record<string, unknown>;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  algo TEXT NOT NULL,
  env TEXT NOT NULL,
  seed INTEGER,
  config TEXT NOT NULL,
  status TEXT NOT NULL,
  pid INTEGER,
  host TEXT,
  started_at TEXT,
  ended_at TEXT,
  updated_at TEXT,
  iteration INTEGER NOT NULL DEFAULT 0,
  step INTEGER NOT NULL DEFAULT 0,
  final_metrics TEXT,
  error TEXT,
  dir TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_algo_env ON runs(algo, env);
CREATE TABLE IF NOT EXISTS metrics (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  iteration INTEGER NOT NULL,
  step INTEGER NOT NULL,
  episode_return_mean REAL,
  episode_length_mean REAL,
  eval_return_mean REAL,
  wall_seconds REAL,
  row TEXT NOT NULL,
  UNIQUE (run_id, kind, iteration)
);
CREATE INDEX IF NOT EXISTS metrics_run_step ON metrics(run_id, kind, step);
`;

interface RunRow {
  id: string;
  name: string;
  algo: string;
  env: string;
  seed: number | null;
  config: string;
  status: string;
  pid: number | null;
  host: string | null;
  started_at: string | null;
  ended_at: string | null;
  updated_at: string | null;
  iteration: number;
  step: number;
  final_metrics: string | null;
  error: string | null;
  dir: string;
}

interface MetricRow {
  seq: number;
  run_id: string;
  kind: string;
  iteration: number;
  step: number;
  row: string;
}

const HOST = hostname();

/**
 * The run store: an SQLite database (`runs.db`) in a runs root that indexes the run
 * directories below it, so runs can be listed, filtered, compared and watched without
 * reading every directory. It is a cache: the run directories stay the source of truth,
 * and `RunStore.rebuild` recreates the database from them.
 *
 * Several processes use one store at once (trainers write, the CLI and the dashboard
 * read): WAL mode lets readers run beside a writer, the busy timeout makes writers wait
 * for each other instead of failing, and every write is one IMMEDIATE transaction, so a
 * process killed at any moment leaves the database consistent.
 */
export class RunStore {
  readonly root: string;
  readonly path: string;
  private db: SqliteConnection;
  /** The database file this connection opened (device and inode), to notice when it is deleted or replaced. */
  private identity: string;
  /** Grows each time `reopenIfReplaced` opens a new file: cursors (`seq`) of an older generation mean nothing in the new one. */
  generation = 0;

  private constructor(root: string, db: SqliteConnection) {
    this.root = root;
    this.path = join(root, STORE_FILE);
    this.db = db;
    this.identity = fileIdentity(this.path) ?? "";
  }

  /**
   * Opens (creating when missing) the store of a runs root. A damaged database is a
   * RefineryError that says to rebuild; nothing is read from run directories here (see `sync`).
   */
  static open(root: string, opts: { create?: boolean } = {}): RunStore {
    const abs = resolve(root);
    if (!existsSync(abs)) {
      if (opts.create === false) {
        throw new RefineryError("no_runs_root", `the runs root ${abs} does not exist`, "train a run first (`refinery train --out DIR/NAME`), or pass --runs-root / set REFINERY_RUNS to the directory that holds your runs");
      }
      mkdirSync(abs, { recursive: true });
    }
    const path = join(abs, STORE_FILE);
    checkStoreFiles(abs, path);
    return new RunStore(abs, openDatabase(path));
  }

  /**
   * Notices that runs.db was deleted or replaced (another file at its path, e.g. after a
   * rebuild moved a damaged one aside) since this connection opened it, and then reopens
   * the path, creating a fresh store when the file is gone. Until then this connection
   * would go on reading and writing a file nobody else sees. One stat call: cheap enough
   * to run before every write of a trainer and every request of the dashboard. Returns
   * whether it reopened (the caller re-registers what the new file lacks). A deleted runs
   * root is not recreated: that is an error.
   */
  reopenIfReplaced(): boolean {
    const now = fileIdentity(this.path);
    if (now !== null && now === this.identity) return false;
    if (!existsSync(this.root)) {
      throw new RefineryError("no_runs_root", `the runs root ${this.root} was removed`, "recreate it, or restart with --runs-root / REFINERY_RUNS naming the directory that holds your runs");
    }
    // Closing a connection whose file was unlinked or renamed neither checkpoints into nor
    // deletes the new file's -wal (SQLite checks that the file has not moved).
    this.close();
    this.db = openDatabase(this.path);
    this.identity = fileIdentity(this.path) ?? "";
    this.generation++;
    return true;
  }

  /**
   * Recreates the store of a runs root from its run directories. A store that opens is
   * emptied and refilled in one transaction (trainers writing to it meanwhile keep their
   * connection); a damaged one is moved aside to `runs.db.damaged-<time>` first.
   */
  static rebuild(root: string): { store: RunStore; imported: string[]; skipped: { dir: string; reason: string }[]; movedAside: string | null } {
    const abs = resolve(root);
    let store: RunStore | undefined;
    let movedAside: string | null = null;
    const path = join(abs, STORE_FILE);
    try {
      store = RunStore.open(abs, { create: false });
      if (store.integrityCheck() !== "ok") throw Object.assign(new Error(store.integrityCheck()), { code: "SQLITE_CORRUPT" });
    } catch (err) {
      store?.close();
      const problem = storeError(err, path);
      if (!(problem instanceof RefineryError) || problem.code !== "store_corrupt") throw problem;
      movedAside = `${path}.damaged-${Date.now()}`;
      renameSync(path, movedAside);
      for (const suffix of ["-wal", "-shm"]) rmSync(path + suffix, { force: true });
      store = RunStore.open(abs, { create: false });
    }
    const imported: string[] = [];
    const skipped: { dir: string; reason: string }[] = [];
    const fresh = store;
    fresh.write(() => {
      fresh.db.run("DELETE FROM metrics");
      fresh.db.run("DELETE FROM runs");
      for (const dir of runDirsIn(abs)) {
        try {
          fresh.importRun(dir);
          imported.push(basename(dir));
        } catch (err) {
          skipped.push({ dir, reason: (err as Error).message });
        }
      }
    });
    return { store: fresh, imported, skipped, movedAside };
  }

  close(): void {
    this.db.close();
  }

  /**
   * Reconciles the store with the run directories: registers directories it does not
   * know (runs trained before the store existed, or copied in), forgets runs whose
   * directory is gone, and settles runs marked running whose process has died
   * (re-reading their directory, then marking them interrupted).
   */
  sync(): void {
    const dirs = new Map(runDirsIn(this.root).map((d) => [basename(d), d]));
    const known = this.db.all("SELECT id, status, pid, host FROM runs") as Pick<RunRow, "id" | "status" | "pid" | "host">[];
    const knownIds = new Set(known.map((r) => r.id));
    const gone = known.filter((r) => !dirs.has(r.id));
    if (gone.length) this.write(() => gone.forEach((r) => this.db.run("DELETE FROM runs WHERE id = ?", r.id)));
    // One transaction per directory, so trainers never wait for a long import.
    for (const [id, dir] of dirs) {
      if (knownIds.has(id)) continue;
      try {
        this.importRun(dir);
      } catch {
        // A directory whose config cannot be read is not listed; `rebuild` reports it.
      }
    }
    for (const r of known) {
      if (dirs.has(r.id) && r.status === "running" && isDead(r.pid, r.host)) this.settleDeadRun(r.id, r.pid);
    }
  }

  /**
   * Registers (or refreshes) the run in `dir`, a direct subdirectory of the root, from its
   * files: config, status and every metrics row. Rows already stored are kept as they are,
   * so a refresh never races with a trainer appending rows.
   */
  importRun(dir: string): RunRecord {
    const abs = resolve(dir);
    const run = new RunDir(abs);
    const saved = run.readConfig() as { algo: string; config: Record<string, unknown>; createdAt?: string };
    const { algo, config } = saved;
    const created = saved.createdAt ?? null;
    const status = run.readStatus() ?? {};
    const id = basename(abs);
    const seed = typeof config.seed === "number" ? config.seed : null;
    // A text run names its task where a control run names its env.
    const env = typeof config.env === "string" ? config.env : typeof config.task === "string" ? `text:${config.task}` : "?";
    const pid = typeof status.pid === "number" ? status.pid : null;
    let state = parseStatus(status.status);
    const host = state === "running" ? HOST : null;
    if (state === "running" && (pid === null ? olderThan(status.updatedAt ?? created, 10 * 60_000) : isDead(pid, HOST))) state = "interrupted";
    const metrics = run.readMetrics();
    // status.json is written at start and end only; while a run trains its progress is in its rows.
    const lastTrain = metrics.filter((m) => (m.kind ?? "train") === "train").at(-1) ?? {};
    const iteration = Math.max(intOr(status.iteration, 0), intOr(lastTrain.iteration, 0));
    const step = Math.max(intOr(status.step, 0), intOr(lastTrain.step, 0));
    this.write(() => {
      this.db.run(
        `INSERT INTO runs (id, name, algo, env, seed, config, status, pid, host, started_at, ended_at, updated_at, iteration, step, error, dir)
           VALUES (@id, @name, @algo, @env, @seed, @config, @status, @pid, @host, @started_at, @ended_at, @updated_at, @iteration, @step, @error, @dir)
           ON CONFLICT(id) DO UPDATE SET name = excluded.name, algo = excluded.algo, env = excluded.env, seed = excluded.seed,
             config = excluded.config, status = excluded.status, pid = excluded.pid, host = excluded.host,
             started_at = excluded.started_at, ended_at = excluded.ended_at, updated_at = excluded.updated_at,
             iteration = excluded.iteration, step = excluded.step, error = excluded.error, dir = excluded.dir`,
        {
          id,
          name: `${algo} ${env} seed ${seed ?? "?"}`,
          algo,
          env,
          seed,
          config: JSON.stringify(config),
          status: state,
          pid,
          host,
          started_at: created,
          ended_at: state === "running" ? null : strOrNull(status.updatedAt),
          updated_at: strOrNull(status.updatedAt) ?? created,
          iteration,
          step,
          error: strOrNull(status.error),
          dir: abs,
        },
      );
      const insert = `INSERT INTO metrics (run_id, kind, iteration, step, episode_return_mean, episode_length_mean, eval_return_mean, wall_seconds, row)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, kind, iteration) DO NOTHING`;
      for (const row of metrics) this.db.run(insert, ...metricValues(id, row));
      if (state !== "running") this.storeFinalMetrics(id, status);
    });
    return this.getRun(id) as RunRecord;
  }

  /** Mirrors a status.json write of run `id` (see RunDir.observer). */
  recordStatus(id: string, status: Record<string, unknown>): void {
    const state = parseStatus(status.status);
    const now = strOrNull(status.updatedAt) ?? new Date().toISOString();
    this.write(() => {
      this.db.run(
        `UPDATE runs SET status = ?, pid = ?, host = ?, iteration = ?, step = ?, updated_at = ?, ended_at = ?, error = ?,
           final_metrics = CASE WHEN ? = 'running' THEN NULL ELSE final_metrics END WHERE id = ?`,
        state, typeof status.pid === "number" ? status.pid : null, HOST, intOr(status.iteration, 0), intOr(status.step, 0), now, state === "running" ? null : now, strOrNull(status.error), state, id);
      if (state !== "running") this.storeFinalMetrics(id, status);
    });
  }

  /** Mirrors one appended metrics row of run `id`. */
  recordMetrics(id: string, row: Record<string, unknown>): void {
    this.write(() => {
      this.db.run(
        `INSERT OR REPLACE INTO metrics (run_id, kind, iteration, step, episode_return_mean, episode_length_mean, eval_return_mean, wall_seconds, row)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ...metricValues(id, row),
      );
      const now = new Date().toISOString();
      if ((row.kind ?? "train") === "train") {
        this.db.run("UPDATE runs SET updated_at = ?, iteration = ?, step = ? WHERE id = ?", now, intOr(row.iteration, 0), intOr(row.step, 0), id);
      } else {
        this.db.run("UPDATE runs SET updated_at = ? WHERE id = ?", now, id);
      }
    });
  }

  /** Stores many rows of run `id` in one transaction (imports, benchmarks); the run's progress is not touched. */
  recordMetricsBatch(id: string, rows: Record<string, unknown>[]): void {
    this.write(() => {
      const insert = `INSERT OR REPLACE INTO metrics (run_id, kind, iteration, step, episode_return_mean, episode_length_mean, eval_return_mean, wall_seconds, row)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
      for (const row of rows) this.db.run(insert, ...metricValues(id, row));
    });
  }

  /** Mirrors RunDir.truncateMetrics: rows past `iteration` are dropped (a resumed run replays them). */
  truncateMetrics(id: string, iteration: number): void {
    this.write(() => void this.db.run("DELETE FROM metrics WHERE run_id = ? AND iteration > ?", id, iteration));
  }

  /** Runs, newest first, with dead "running" runs settled as interrupted. */
  listRuns(filter: RunFilter = {}): RunRecord[] {
    this.settleDeadRuns();
    const where: string[] = [];
    const params: string[] = [];
    for (const key of ["algo", "env", "status"] as const) {
      if (filter[key]) {
        where.push(`${key} = ?`);
        params.push(filter[key] as string);
      }
    }
    const rows = this.db.all(`SELECT * FROM runs ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY started_at DESC, id`, ...params) as RunRow[];
    return rows.map(toRecord);
  }

  /** One run, or null. A dead "running" run is settled first. */
  getRun(id: string): RunRecord | null {
    const row = this.db.get("SELECT * FROM runs WHERE id = ?", id) as RunRow | undefined;
    if (!row) return null;
    if (row.status === "running" && isDead(row.pid, row.host)) {
      this.settleDeadRun(id, row.pid);
      return this.getRun(id);
    }
    return toRecord(row);
  }

  /** The run's metrics rows of one kind (all kinds when omitted), in iteration order. */
  metrics(id: string, kind?: string): MetricRecord[] {
    const rows = kind
      ? (this.db.all("SELECT seq, run_id, kind, iteration, step, row FROM metrics WHERE run_id = ? AND kind = ? ORDER BY iteration", id, kind) as MetricRow[])
      : (this.db.all("SELECT seq, run_id, kind, iteration, step, row FROM metrics WHERE run_id = ? ORDER BY kind, iteration", id) as MetricRow[]);
    return rows.map(toMetric);
  }

  /**
   * Rows of the given runs written after cursor `since` (a `seq`), oldest first, at most
   * `limit`; only rows up to cursor `until` and of one `kind` when given. A bounded
   * `until` bounds the work of one call however many rows other runs wrote meanwhile.
   */
  metricsSince(ids: string[], since: number, limit = 5000, opts: { until?: number; kind?: string } = {}): MetricRecord[] {
    if (!ids.length) return [];
    const marks = ids.map(() => "?").join(", ");
    const until = opts.until ?? Number.MAX_SAFE_INTEGER;
    const kind = opts.kind === undefined ? "" : "AND +kind = ?";
    // The unary + keeps SQLite on the seq (rowid) range: an index on run_id would make it
    // read every row of the runs and sort them, however small the range.
    const rows = this.db.all<MetricRow>(
      `SELECT seq, run_id, kind, iteration, step, row FROM metrics WHERE seq > ? AND seq <= ? AND +run_id IN (${marks}) ${kind} ORDER BY seq LIMIT ?`,
      since,
      until,
      ...ids,
      ...(opts.kind === undefined ? [] : [opts.kind]),
      limit,
    );
    return rows.map(toMetric);
  }

  /** The kinds of rows a run has ("train", "eval", ...), sorted; one index lookup per kind. */
  metricKinds(id: string): string[] {
    const next = (after: string) => this.db.get<{ kind: string }>("SELECT kind FROM metrics WHERE run_id = ? AND kind > ? ORDER BY kind LIMIT 1", id, after);
    const kinds: string[] = [];
    for (let r = next(""); r; r = next(r.kind)) kinds.push(r.kind);
    return kinds;
  }

  /**
   * The first and last iteration and step of a run's rows of one kind, or null when it has
   * none. Each bound is one index lookup (min and max in one SELECT would scan every row).
   */
  metricsRange(id: string, kind: string): { minIteration: number; maxIteration: number; minStep: number; maxStep: number } | null {
    const one = (sql: string) => (this.db.get<{ v: number | null }>(sql, id, kind) as { v: number | null }).v;
    const minIteration = one("SELECT min(iteration) AS v FROM metrics WHERE run_id = ? AND kind = ?");
    if (minIteration === null) return null;
    return {
      minIteration,
      maxIteration: one("SELECT max(iteration) AS v FROM metrics WHERE run_id = ? AND kind = ?") as number,
      minStep: one("SELECT min(step) AS v FROM metrics WHERE run_id = ? AND kind = ?") as number,
      maxStep: one("SELECT max(step) AS v FROM metrics WHERE run_id = ? AND kind = ?") as number,
    };
  }

  /**
   * A run's rows of one kind with `after` < iteration <= `upTo`, in iteration order, at most
   * `limit`: a page of a long read. Only iteration, step and the row (reading a million
   * rows, every column left out counts).
   */
  metricsPage(id: string, kind: string, after: number, limit: number, upTo = Number.MAX_SAFE_INTEGER): { iteration: number; step: number; row: Record<string, unknown> }[] {
    const rows = this.db.all<{ iteration: number; step: number; row: string }>(
      "SELECT iteration, step, row FROM metrics WHERE run_id = ? AND kind = ? AND iteration > ? AND iteration <= ? ORDER BY iteration LIMIT ?",
      id,
      kind,
      after,
      upTo,
      limit,
    );
    return rows.map((r) => ({ iteration: r.iteration, step: r.step, row: JSON.parse(r.row) as Record<string, unknown> }));
  }

  /**
   * For each of the given iterations (ascending), the run's first row of one kind at or
   * after it, each row once: a sample of a long run found by index seeks, so a preview
   * reads a few thousand rows instead of all of them, even where the rows are sparse.
   */
  metricsAtOrAfter(id: string, kind: string, iterations: number[]): { iteration: number; step: number; row: Record<string, unknown> }[] {
    const seek = (it: number) =>
      this.db.get<{ iteration: number; step: number; row: string }>("SELECT iteration, step, row FROM metrics WHERE run_id = ? AND kind = ? AND iteration >= ? ORDER BY iteration LIMIT 1", id, kind, it);
    const out: { iteration: number; step: number; row: Record<string, unknown> }[] = [];
    let next = -Infinity;
    for (const it of iterations) {
      if (it < next) continue;
      const r = seek(it);
      if (!r) break;
      out.push({ iteration: r.iteration, step: r.step, row: JSON.parse(r.row) as Record<string, unknown> });
      next = r.iteration + 1;
    }
    return out;
  }

  /** The highest cursor so far (0 for an empty store). */
  cursor(): number {
    const r = this.db.get("SELECT max(seq) AS m FROM metrics") as { m: number | null };
    return r.m ?? 0;
  }

  /**
   * The run's latest numbers: its final metrics when it has ended, otherwise the last
   * training and evaluation rows so far.
   */
  summary(id: string): Record<string, number | null> {
    const run = this.getRun(id);
    if (run?.finalMetrics) return run.finalMetrics;
    return this.latestNumbers(id, {});
  }

  /**
   * Removes a run: its rows, then its directory. A run that is still training is refused
   * unless `force` (which does not stop the training process).
   */
  removeRun(id: string, opts: { force?: boolean } = {}): RunRecord {
    const run = this.getRun(id);
    if (!run) throw unknownRun(id, this.root);
    if (run.status === "running" && !opts.force) {
      throw new RefineryError("run_running", `run ${id} is still training (pid ${run.pid ?? "?"})`, `stop it first (Ctrl-C or kill ${run.pid ?? "PID"}), or pass --force to remove it anyway`);
    }
    // Only a direct child of the root is ever removed, whatever the row says, and never a
    // directory holding a run store or other runs (a run made in a runs root by mistake).
    const dir = join(this.root, id);
    const removable = basename(dir) === id && id !== "." && id !== ".." && resolve(dir) !== resolve(this.root) && existsSync(join(dir, "config.json"));
    if (removable && (existsSync(join(dir, STORE_FILE)) || runDirsIn(dir).length > 0)) {
      throw new RefineryError("run_holds_runs", `run ${id} (${dir}) holds other runs or a run store, so removing it would remove them too`, `move the runs out of ${dir} first, or delete what you mean to by hand`);
    }
    this.write(() => void this.db.run("DELETE FROM runs WHERE id = ?", id));
    if (removable) rmSync(dir, { recursive: true, force: true });
    return run;
  }

  /** SQLite's own consistency check: "ok", or the problems it found. */
  integrityCheck(): string {
    return this.db
      .pragmaRows("integrity_check")
      .map((r) => String(r.integrity_check))
      .join("; ");
  }

  private write(fn: () => void): void {
    retryBusy(() => this.db.transaction(fn));
  }

  private settleDeadRuns(): void {
    const running = this.db.all("SELECT id, pid, host FROM runs WHERE status = 'running'") as Pick<RunRow, "id" | "pid" | "host">[];
    for (const r of running) if (isDead(r.pid, r.host)) this.settleDeadRun(r.id, r.pid);
  }

  /**
   * A run marked running whose process is gone: its directory may hold rows the store
   * missed (the process died between the two writes), so it is re-read, then marked
   * interrupted, unless someone else changed the row meanwhile (a resume, another reader).
   */
  private settleDeadRun(id: string, pid: number | null): void {
    const dir = join(this.root, id);
    try {
      if (existsSync(join(dir, "config.json"))) this.importRun(dir);
    } catch {
      // An unreadable directory: still settle the row.
    }
    const now = new Date().toISOString();
    this.write(() => {
      const changed = this.db.run("UPDATE runs SET status = 'interrupted', ended_at = coalesce(updated_at, ?) WHERE id = ? AND status = 'running' AND pid IS ?", now, id, pid);
      if (changed) this.storeFinalMetrics(id, {});
    });
  }

  private storeFinalMetrics(id: string, status: Record<string, unknown>): void {
    const numbers = this.latestNumbers(id, status);
    this.db.run("UPDATE runs SET final_metrics = ? WHERE id = ?", JSON.stringify(numbers), id);
  }

  /** Numbers of the last training row and last evaluation row, plus the trainer's end-of-run figures. */
  private latestNumbers(id: string, status: Record<string, unknown>): Record<string, number | null> {
    // The newest value of every key; a key that is null in the last row (no episode ended in
    // that iteration) takes its value from the recent rows before it.
    const last = (kind: string) => {
      const rows = this.db.all("SELECT row FROM metrics WHERE run_id = ? AND kind = ? ORDER BY iteration DESC LIMIT 20", id, kind) as { row: string }[];
      const out: Record<string, unknown> = {};
      for (const r of rows) {
        for (const [k, v] of Object.entries(JSON.parse(r.row) as Record<string, unknown>)) if (out[k] === undefined || out[k] === null) out[k] = v;
      }
      return out;
    };
    const out: Record<string, number | null> = {};
    const take = (obj: Record<string, unknown>) => {
      for (const [k, v] of Object.entries(obj)) if (k !== "kind" && (typeof v === "number" || v === null)) out[k] = v;
    };
    take(last("train"));
    const evalRow = last("eval");
    delete evalRow.iteration;
    delete evalRow.step;
    take(evalRow);
    for (const k of ["finalMeanReturn", "stepsToThreshold"]) if (k in status) take({ [k]: status[k] });
    return out;
  }
}

/**
 * What SQLite would report obscurely (or mend by creating a read-only `-shm` that breaks
 * every later open), said plainly before it opens: the root is a file, runs.db is a
 * directory, runs.db is read-only. A stale read-only `-wal`/`-shm` beside a writable
 * runs.db (left by an earlier open of a read-only store) gets runs.db's permissions back.
 */
function checkStoreFiles(root: string, path: string): void {
  if (!statSync(root).isDirectory()) {
    throw new RefineryError("not_a_runs_root", `the runs root ${root} is a file, not a directory`, "pass --runs-root (or set REFINERY_RUNS to) the directory that holds your run directories");
  }
  if (!existsSync(path)) return;
  if (statSync(path).isDirectory()) {
    throw new RefineryError("store_corrupt", `the run store ${path} is a directory, not a database`, "move that directory away, then recreate the store with `refinery runs --rebuild`");
  }
  if (!writable(path)) {
    throw new RefineryError("store_readonly", `the run store ${path} is read-only`, `make it writable (chmod u+w ${path}), or pass another --runs-root`);
  }
  for (const side of [`${path}-wal`, `${path}-shm`]) {
    if (!existsSync(side) || writable(side)) continue;
    try {
      chmodSync(side, statSync(path).mode & 0o777);
    } catch {
      throw new RefineryError("store_readonly", `${side} is read-only, so the run store cannot be written`, `make it writable (chmod u+w ${side}), or remove it when no refinery process is running`);
    }
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Direct subdirectories of `root` holding a config.json. */
function runDirsIn(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => !name.startsWith("."))
    .map((name) => join(root, name))
    .filter((p) => {
      try {
        return statSync(p).isDirectory() && existsSync(join(p, "config.json"));
      } catch {
        return false;
      }
    });
}

/**
 * Runs `fn`, retrying for up to ~15 s while SQLite reports the database busy or locked in
 * the cases its busy handler does not cover (journal-mode changes, WAL recovery).
 */
export function retryBusy<T>(fn: () => T): T {
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      const code = String((err as { code?: string }).code ?? "");
      if (!code.startsWith("SQLITE_BUSY") && !code.startsWith("SQLITE_LOCKED")) throw err;
      if (Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(5 + attempt * 5, 100));
    }
  }
}

/** Opens (creating when missing) the database file of a store, in WAL mode with the current schema. */
function openDatabase(path: string): SqliteConnection {
  let db: SqliteConnection | undefined;
  try {
    db = new SqliteConnection(path, 15_000);
    const conn = db;
    conn.pragma("busy_timeout = 15000");
    // Switching a new database to WAL takes a lock that SQLite does not wait for through
    // the busy handler, so two processes creating the store at once can see SQLITE_BUSY
    // here: retry instead of failing.
    retryBusy(() => conn.pragma("journal_mode = WAL"));
    // In WAL mode NORMAL loses no committed transaction on a process crash, only on power loss,
    // and the run directories can rebuild the store in that case.
    conn.pragma("synchronous = NORMAL");
    conn.pragma("foreign_keys = ON");
    retryBusy(() => migrate(conn, path));
    return conn;
  } catch (err) {
    db?.close();
    throw storeError(err, path);
  }
}

/** Device and inode of a file, or null when it does not exist. */
function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

function migrate(db: SqliteConnection, path: string): void {
  db.transaction(() => {
    const version = Number(db.pragma("user_version"));
    if (version > SCHEMA_VERSION) {
      throw new RefineryError("store_version", `${path} was written by a newer refinery (schema ${version}, this one knows ${SCHEMA_VERSION})`, "upgrade refinery, or rebuild the store for this version with `refinery runs --rebuild`");
    }
    if (version < SCHEMA_VERSION) {
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }
  });
}

/** A damaged database as a RefineryError that says how to rebuild it; other errors unchanged. */
export function storeError(err: unknown, path: string): Error {
  if (err instanceof RefineryError) return err;
  const code = (err as { code?: string }).code ?? "";
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT")) {
    return new RefineryError("store_corrupt", `the run store ${path} is damaged (${(err as Error).message})`, "rebuild it from the run directories with `refinery runs --rebuild` (nothing is lost: every run directory holds its config, status and metrics)");
  }
  return err as Error;
}

export function unknownRun(id: string, root: string): RefineryError {
  return new RefineryError("unknown_run", `no run "${id}" in ${root}`, "list the runs with `refinery runs` (ids are run directory names), or pass --runs-root / set REFINERY_RUNS to the directory that holds the run");
}

/** Whether a process recorded on `host` is gone. Processes on other hosts are assumed alive. */
export function isDead(pid: number | null, host: string | null): boolean {
  if (pid === null) return false;
  if (host !== null && host !== HOST) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as { code?: string }).code !== "EPERM";
  }
}

function parseStatus(s: unknown): RunStatus {
  return RUN_STATUSES.includes(s as RunStatus) ? (s as RunStatus) : "running";
}

function olderThan(iso: unknown, ms: number): boolean {
  const t = typeof iso === "string" ? Date.parse(iso) : NaN;
  return Number.isFinite(t) && Date.now() - t > ms;
}

function strOrNull(x: unknown): string | null {
  return typeof x === "string" ? x : null;
}

function intOr(x: unknown, fallback: number): number {
  return typeof x === "number" && Number.isFinite(x) ? Math.round(x) : fallback;
}

function numOrNull(x: unknown): number | null {
  return typeof x === "number" && Number.isFinite(x) ? x : null;
}

function metricValues(id: string, row: Record<string, unknown>): [string, string, number, number, number | null, number | null, number | null, number | null, string] {
  return [
    id,
    typeof row.kind === "string" ? row.kind : "train",
    intOr(row.iteration, 0),
    intOr(row.step, 0),
    numOrNull(row.episodeReturnMean),
    numOrNull(row.episodeLengthMean),
    numOrNull(row.evalReturnMean),
    numOrNull(row.wallSeconds),
    JSON.stringify(row),
  ];
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    algo: r.algo,
    env: r.env,
    seed: r.seed,
    config: JSON.parse(r.config) as Record<string, unknown>,
    status: parseStatus(r.status),
    pid: r.pid,
    host: r.host,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    updatedAt: r.updated_at,
    iteration: r.iteration,
    step: r.step,
    finalMetrics: r.final_metrics ? (JSON.parse(r.final_metrics) as Record<string, number | null>) : null,
    error: r.error,
    dir: r.dir,
  };
}

function toMetric(r: MetricRow): MetricRecord {
  return { seq: r.seq, runId: r.run_id, kind: r.kind, iteration: r.iteration, step: r.step, row: JSON.parse(r.row) as Record<string, unknown> };
}
