import { appendFileSync } from "node:fs";
import { atomicWriteFile } from "../fsutil.js";
import type { MetricSink } from "./sink.js";

/** The columns every row has, first; then every other key in the order it first appeared. */
const LEADING = ["kind", "iteration", "step"];

/**
 * `progress.csv` (Stable-Baselines3's name): one line per metrics row, train and eval rows
 * alike (the `kind` column tells them apart), a column per key seen so far, empty cells
 * where a row has no value. When a row brings a new key the file is rewritten whole with
 * the wider header (atomically), as SB3 does; otherwise the line is appended.
 *
 * The file is a view of metrics.jsonl: `allRows` returns the run's rows so far, including
 * the one being written, and the file is rebuilt from them when it opens (so a resumed run,
 * whose replayed rows were dropped, or a run that turns CSV on later, gets a whole file).
 */
export class CsvSink implements MetricSink {
  private columns: string[] = [];

  constructor(
    readonly path: string,
    private readonly allRows: () => Record<string, unknown>[],
  ) {
    this.rebuild();
  }

  write(row: Record<string, unknown>): void {
    if (Object.keys(row).some((k) => !this.columns.includes(k))) {
      this.rebuild();
      return;
    }
    appendFileSync(this.path, csvLine(this.columns.map((c) => row[c])));
  }

  close(): void {}

  private rebuild(): void {
    const rows = this.allRows();
    const columns = [...LEADING];
    for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
    this.columns = columns;
    atomicWriteFile(this.path, csvLine(columns) + rows.map((r) => csvLine(columns.map((c) => r[c]))).join(""));
  }
}

export function csvLine(values: unknown[]): string {
  return values.map(csvCell).join(",") + "\n";
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const s = typeof v === "string" ? v : typeof v === "boolean" ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Parses a CSV file written by CsvSink (quoted cells included) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else if (ch !== "\r") cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}
