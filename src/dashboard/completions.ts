import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { COMPLETIONS_FILE, type CompletionRecord } from "../train/logger.js";

/** The most completions one request returns. */
export const MAX_COMPLETIONS = 500;

/** Bytes read from the end of completions.jsonl: far more than MAX_COMPLETIONS bounded lines. */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * The last `limit` sampled completions of the run in `runDir`, oldest first. Only the end of
 * the file is read, so a long run's file costs no more than a short one's.
 */
export function latestCompletions(runDir: string, limit: number): CompletionRecord[] {
  const path = join(runDir, COMPLETIONS_FILE);
  if (!existsSync(path)) return [];
  const fd = openSync(path, "r");
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    text = buf.toString("utf8");
    // A read that starts mid-file starts mid-line: drop that partial line.
    if (start > 0) text = text.slice(text.indexOf("\n") + 1);
  } finally {
    closeSync(fd);
  }
  const rows: CompletionRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as CompletionRecord);
    } catch {
      // a line being written right now
    }
  }
  return rows.slice(-limit);
}

/** `limit` of /api/completions: an integer 1..MAX_COMPLETIONS (default 50), or null when invalid. */
export function completionsLimit(raw: string | null): number | null {
  if (raw === null || raw === "") return 50;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= MAX_COMPLETIONS ? n : null;
}
