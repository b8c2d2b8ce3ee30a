import { RefineryError } from "../core/errors.js";

/**
 * Where the `refinery` command writes. Every command goes through one of these, so tests
 * run the CLI in-process and read exactly what a user would see on each stream.
 */
export interface CliIo {
  /** Results: summaries, tables, JSON lines. */
  out(s: string): void;
  /** Progress, notices and errors. */
  err(s: string): void;
  /** Width of `out` when it is a terminal; tables wrap their last column to it. */
  columns?: number;
  /** `err` is an interactive terminal: the progress line redraws in place. */
  errIsTTY?: boolean;
}

/** The process's own stdout and stderr. */
export function processIo(): CliIo {
  return {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
    errIsTTY: process.stderr.isTTY === true,
  };
}

/** Ends a command with this exit code without an error message (e.g. 130 after an interrupt). */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** A run stopped by SIGINT/SIGTERM: one line on stderr and the shell's exit code for the signal. */
export class InterruptedError extends RefineryError {
  constructor(
    problem: string,
    fix: string,
    readonly exitCode: number,
  ) {
    super("interrupted", problem, fix);
  }
}
