import { createRequire } from "node:module";
import type LibsqlDatabase from "libsql";

/**
 * The store's SQLite connection, on libsql (SQLite's open fork, whose prebuilt binaries are
 * npm packages for each platform, so installing needs no compiler and no download outside
 * the npm registry). It is a real SQLite on files: WAL, POSIX/Windows file locks and the
 * busy timeout work across processes exactly as in SQLite.
 *
 * This wrapper keeps the store independent of the binding's quirks: parameters are always
 * bound as one array (positional) or one object (named), `get` is the first row of `all`
 * (libsql's `get` adds a `_metadata` field), `pragma` returns a plain value, and
 * transactions nest with savepoints.
 */

type Params = unknown[] | [Record<string, unknown>];
type Binding = typeof LibsqlDatabase;
type Statement = ReturnType<LibsqlDatabase.Database["prepare"]>;

let binding: Binding | null = null;

/** libsql is loaded on the first open, so importing the store costs nothing until it is used. */
function loadBinding(): Binding {
  binding ??= createRequire(import.meta.url)("libsql") as Binding;
  return binding;
}

export class SqliteConnection {
  private readonly db: LibsqlDatabase.Database;
  private readonly statements = new Map<string, Statement>();

  /** Opens (creating when missing) the database file at `path`; writers wait up to `busyTimeoutMs` for each other. */
  constructor(path: string, busyTimeoutMs: number) {
    const Database = loadBinding();
    this.db = new Database(path, { timeout: busyTimeoutMs });
  }

  get open(): boolean {
    return this.db.open;
  }

  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** Runs a statement that returns no rows; the number of rows it changed. */
  run(sql: string, ...params: Params): number {
    return this.statement(sql).run(bind(params)).changes;
  }

  all<T>(sql: string, ...params: Params): T[] {
    return this.statement(sql).all(bind(params)) as T[];
  }

  get<T>(sql: string, ...params: Params): T | undefined {
    return this.all<T>(sql, ...params)[0];
  }

  /** `PRAGMA source`: the first column of the first row (e.g. the new journal mode), or undefined. */
  pragma(source: string): unknown {
    const row = this.all<Record<string, unknown>>(`PRAGMA ${source}`)[0];
    return row === undefined ? undefined : Object.values(row)[0];
  }

  /** Every row of `PRAGMA source` (e.g. integrity_check's list of problems). */
  pragmaRows(source: string): Record<string, unknown>[] {
    return this.all<Record<string, unknown>>(`PRAGMA ${source}`);
  }

  /**
   * Runs `fn` in an IMMEDIATE transaction (the write lock is taken up front, so a busy
   * database fails at BEGIN, before any work), or in a savepoint when a transaction is
   * already open, so a failing inner part rolls back alone and the outer one goes on.
   */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) {
      this.db.exec("SAVEPOINT nested");
      try {
        const result = fn();
        this.db.exec("RELEASE nested");
        return result;
      } catch (err) {
        this.db.exec("ROLLBACK TO nested");
        this.db.exec("RELEASE nested");
        throw err;
      }
    }
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.db.exec("COMMIT");
      return result;
    } catch (err) {
      // SQLite may already have rolled back (e.g. on SQLITE_FULL); a second ROLLBACK would throw.
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /**
   * Checkpoints the WAL into the database file and empties it, then closes. libsql's close
   * leaves the -wal file behind (SQLite's own last-connection close would checkpoint and
   * delete it); a WAL left next to a runs.db that is later replaced (a rebuild, a user's
   * copy) would be replayed into the new file. The checkpoint does not wait: when another
   * process is reading, it is skipped and that process's close does it.
   */
  close(): void {
    this.statements.clear();
    if (!this.db.open) return;
    try {
      this.db.pragma("busy_timeout = 0");
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } catch {
      // busy, read-only or already gone: nothing to empty from here
    }
    this.db.close();
  }

  /** Prepared statements are cached by their text: the store runs a handful of statements many times. */
  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

/** One array for positional parameters, the object itself for named ones (see the class comment). */
function bind(params: Params): unknown[] | Record<string, unknown> {
  const [first] = params;
  if (params.length === 1 && first !== null && typeof first === "object" && !Array.isArray(first)) return first as Record<string, unknown>;
  return params;
}
