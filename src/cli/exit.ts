import { ConfigError, RefineryError } from "../core/errors.js";

/**
 * Exit codes of the `refinery` command. Each user-caused failure prints one line,
 * "refinery: <problem>. Fix: <fix>", and exits with the code of its class, so scripts
 * can tell a typo from a damaged run from a full disk.
 */
export const EXIT = {
  /** Success, --help, --version; also a reader closing our stdout early (`refinery runs | head`). */
  ok: 0,
  /** A bug in refinery: the line says so; REFINERY_DEBUG=1 prints the stack trace. */
  internal: 1,
  /** Usage and config: a bad flag, option, --set value or config file; a refused budget; a conflicting request. */
  usage: 2,
  /** Damaged data: a run directory, checkpoint, weights file or run store that is incomplete or unreadable. */
  damaged: 3,
  /** The machine refused: permission denied, read-only file system, disk full, an address that cannot be bound. */
  environment: 4,
} as const;

/** Help text listing the exit codes (the `--help` epilogue). */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  internal error (a bug; REFINERY_DEBUG=1 prints the stack trace)
  2  usage or config error, or a request refused before anything was created
  3  damaged or incomplete run directory, checkpoint, weights or run store
  4  environment: permission denied, read-only or full disk, address not available`;

/** RefineryError codes that mean data on disk is damaged (exit 3); other codes are usage errors (exit 2). */
const DAMAGED_CODES = new Set([
  "corrupt_run",
  "corrupt_weights",
  "torn_weights",
  "weights_not_found",
  "unsupported_weights",
  "store_corrupt",
  "store_version",
  "no_checkpoint",
  "corrupt_checkpoint",
]);

/** RefineryError codes that mean the machine refused (exit 4). */
const ENVIRONMENT_CODES = new Set(["port_in_use", "store_readonly", "permission_denied", "no_space", "address_unavailable"]);

export interface Failure {
  code: number;
  /** One line, without the "refinery: " prefix. */
  message: string;
}

/** The exit code and one-line message of anything a command threw. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof RefineryError) return { code: exitCodeOf(err), message: oneLine(err.message) };
  const sys = systemFailure(err);
  if (sys) return sys;
  const e = err as Error | undefined;
  const what = oneLine(e?.message ?? String(err));
  return {
    code: EXIT.internal,
    message: `internal error: ${what}. Fix: this is a bug in refinery; please report it with the command you ran (REFINERY_DEBUG=1 prints the stack trace)`,
  };
}

function exitCodeOf(err: RefineryError): number {
  if (ENVIRONMENT_CODES.has(err.code)) return EXIT.environment;
  if (DAMAGED_CODES.has(err.code)) return EXIT.damaged;
  if (err instanceof ConfigError) return EXIT.usage;
  return EXIT.usage;
}

interface SystemError {
  code?: string;
  syscall?: string;
  path?: string;
  dest?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message?: string;
}

/**
 * Node's system errors (fs, net) and SQLite's, in words: what could not be done to which
 * path, and what to do. Null for anything else.
 */
export function systemFailure(err: unknown): Failure | null {
  if (!err || typeof err !== "object") return null;
  const e = err as SystemError;
  const code = typeof e.code === "string" ? e.code : "";
  const where = e.path ? ` ${e.path}` : "";
  const op = opName(e.syscall);
  switch (code) {
    case "EACCES":
    case "EPERM":
      return {
        code: EXIT.environment,
        message: `permission denied: cannot ${op}${where}. Fix: choose a location you can write (--out, --runs-root or REFINERY_RUNS), or change its permissions`,
      };
    case "EROFS":
      return { code: EXIT.environment, message: `read-only file system: cannot ${op}${where}. Fix: write the run to a writable disk (--out, --runs-root or REFINERY_RUNS)` };
    case "ENOSPC":
    case "EDQUOT":
      return { code: EXIT.environment, message: `no space left on the device: cannot ${op}${where}. Fix: free some space, or write to another disk (--out, --runs-root or REFINERY_RUNS)` };
    case "EMFILE":
    case "ENFILE":
      return { code: EXIT.environment, message: `too many open files (${op}${where}). Fix: raise the limit (ulimit -n) or close other programs` };
    case "EADDRINUSE":
      return { code: EXIT.environment, message: `address ${e.address ?? "?"}:${e.port ?? "?"} is already in use. Fix: pass another --port, or --port 0 for any free port` };
    case "EADDRNOTAVAIL":
    case "EAFNOSUPPORT":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
    case "EAI_NONAME": {
      const address = e.address ?? e.hostname ?? "?";
      return {
        code: EXIT.environment,
        message: `cannot listen on ${address}${e.port !== undefined ? ` port ${e.port}` : ""}: ${code === "EADDRNOTAVAIL" ? "no network interface of this machine has that address" : code === "EAFNOSUPPORT" ? "that address family is not supported here" : "the name does not resolve"}. Fix: pass --host 127.0.0.1 (this machine only), or an address this machine owns`,
      };
    }
    case "EEXIST":
      return { code: EXIT.usage, message: `${e.path ?? "a path"} already exists and is in the way (${op}). Fix: pass another path, or move that file away` };
    case "ENOTDIR":
      return { code: EXIT.damaged, message: `a part of the path${where} is a file where a directory was expected (${op}). Fix: use a path whose parent folders are directories, or remove the file in the way` };
    case "EISDIR":
      return { code: EXIT.damaged, message: `${e.path ?? "a path"} is a directory where a file was expected (${op}). Fix: remove or rename that directory (a run directory's files are config.json, status.json, metrics.jsonl, model.json, weights.bin)` };
    case "ENOENT":
      return { code: EXIT.damaged, message: `no such file or directory:${where || " (unknown path)"} (${op}). Fix: restore the missing file, or pass a complete run directory (a run killed while it was being created has to be started again)` };
    case "ENAMETOOLONG":
      return { code: EXIT.usage, message: `path too long:${where}. Fix: use a shorter --out or run directory name` };
    case "ELOOP":
      return { code: EXIT.usage, message: `too many symbolic links in${where}. Fix: pass a path without a symlink loop` };
  }
  if (code.startsWith("SQLITE_READONLY") || code === "SQLITE_PERM" || code === "SQLITE_CANTOPEN" || code === "SQLITE_AUTH") {
    return {
      code: EXIT.environment,
      message: `the run store cannot be ${code === "SQLITE_CANTOPEN" ? "opened" : "written"} (${code}: ${oneLine(e.message ?? "")}). Fix: make the runs root, runs.db, runs.db-wal and runs.db-shm writable (or remove a stale runs.db-shm), or pass another --runs-root`,
    };
  }
  if (code === "SQLITE_FULL" || code === "SQLITE_IOERR" || code.startsWith("SQLITE_IOERR_")) {
    return { code: EXIT.environment, message: `the run store could not write (${code}: ${oneLine(e.message ?? "")}). Fix: check free space and the disk, then retry (\`refinery runs --rebuild\` recreates the store)` };
  }
  if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
    return { code: EXIT.damaged, message: `the run store is damaged (${oneLine(e.message ?? "")}). Fix: rebuild it with \`refinery runs --rebuild\`` };
  }
  return null;
}

function opName(syscall: string | undefined): string {
  switch (syscall) {
    case "mkdir":
      return "create the directory";
    case "open":
      return "open";
    case "read":
      return "read";
    case "write":
      return "write";
    case "rename":
      return "rename";
    case "unlink":
    case "rmdir":
    case "rm":
      return "remove";
    case "scandir":
      return "list";
    case "listen":
      return "listen on";
    default:
      return syscall ?? "access";
  }
}

/** Any message on one line (YAML frames, SQLite messages and stacks can span several). */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
