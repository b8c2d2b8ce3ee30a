import { appendFileSync, existsSync, readFileSync } from "node:fs";
import type { Algorithm, CompletionTurn } from "../algos/types.js";
import { ConfigError } from "../core/errors.js";
import { atomicWriteFile } from "./fsutil.js";
import { CsvSink } from "./loggers/csv.js";
import type { MetricSink } from "./loggers/sink.js";
import { eventFiles, TensorBoardSink } from "./loggers/tensorboard.js";
import { PendingMetrics } from "./metric_logger.js";
import type { RunDir } from "./run.js";

/** Extra formats a run's metrics are written in, besides metrics.jsonl (and the run store). */
export type LogFormat = "tensorboard" | "csv";
export const LOG_FORMATS: readonly LogFormat[] = ["tensorboard", "csv"];

/** Where each format writes, inside the run directory. */
export const TENSORBOARD_DIR = "tb";
export const CSV_FILE = "progress.csv";
export const COMPLETIONS_FILE = "completions.jsonl";

/** The part of the logger that callbacks see: they add their own numbers to the run's metrics. */
export type { MetricLogger } from "./metric_logger.js";

export type { CompletionTurn };

/** One sampled completion of a text run, as completions.jsonl holds it. */
export interface CompletionRecord {
  iteration: number;
  step: number;
  prompt: string;
  /** The completion; for a multi-turn episode its transcript (observations in [brackets], turns split by " | "). */
  completion: string;
  /** The episode's reward. */
  reward: number;
  /** Whether the final answer verified. */
  correct: boolean;
  /** Multi-turn episodes: the turns one by one. */
  turns?: CompletionTurn[];
}

/** Longest prompt or completion kept in completions.jsonl, in characters. */
const MAX_TEXT = 2000;

/** Most turns of one episode kept in completions.jsonl. */
const MAX_TURNS = 64;

/** Reads `--log tensorboard,csv` (or a list): the formats, or a ConfigError naming the unknown one. */
export function parseLogFormats(value: string | readonly string[], source = "--log"): LogFormat[] {
  const names = (typeof value === "string" ? value.split(",") : [...value]).map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(LOG_FORMATS as readonly string[]).includes(n)) {
      throw new ConfigError(`${source}: unknown log format "${n}"`, `use ${LOG_FORMATS.join(", ")}, or both separated by a comma (e.g. ${source === "--log" ? "--log tensorboard,csv" : '["tensorboard", "csv"]'})`, "unknown_log_format");
    }
  }
  return [...new Set(names as LogFormat[])];
}

export interface RunLoggerOptions {
  /** Formats asked for now; a resumed run also keeps the ones its directory already has. */
  formats?: readonly string[];
  /** The run continues from a checkpoint at `iteration` / `step` (rows past them are replayed). */
  resumed: boolean;
  iteration: number;
  step: number;
  /** The run's config: `logCompletionsEvery` and `logCompletionsCount` of text runs. */
  config: Record<string, unknown>;
}

/**
 * Everything a run logs besides checkpoints: metrics rows (metrics.jsonl, then TensorBoard
 * and CSV when asked for), the values callbacks record, and a text run's sampled
 * completions. A TensorBoard or CSV failure (a full disk) never fails the run: it is
 * reported once on stderr and that format stops; metrics.jsonl stays complete.
 */
export class RunLogger extends PendingMetrics {
  private sinks: { name: LogFormat; sink: MetricSink }[] = [];
  private readonly completionsEvery: number;
  private readonly completionsCount: number;

  private constructor(private readonly run: RunDir, config: Record<string, unknown>) {
    super();
    this.completionsEvery = nonNegativeInt(config.logCompletionsEvery);
    this.completionsCount = nonNegativeInt(config.logCompletionsCount);
  }

  static open(run: RunDir, opts: RunLoggerOptions): RunLogger {
    const logger = new RunLogger(run, opts.config);
    const formats = new Set(parseLogFormats(opts.formats ?? []));
    // A resumed run goes on writing the formats it was writing.
    if (eventFiles(run.file(TENSORBOARD_DIR)).length) formats.add("tensorboard");
    if (existsSync(run.file(CSV_FILE))) formats.add("csv");
    const rows = () => run.readMetrics();
    for (const name of LOG_FORMATS) {
      if (!formats.has(name)) continue;
      logger.guard(name, () => {
        const sink =
          name === "tensorboard"
            ? new TensorBoardSink(run.file(TENSORBOARD_DIR), { resumeStep: opts.resumed ? opts.step : undefined, earlierRows: rows })
            : new CsvSink(run.file(CSV_FILE), rows);
        logger.sinks.push({ name, sink });
      });
    }
    if (opts.resumed) logger.truncateCompletions(opts.iteration);
    return logger;
  }

  /** The formats being written. */
  get formats(): LogFormat[] {
    return this.sinks.map((s) => s.name);
  }

  /** Writes one metrics row (with the values recorded since the last row) everywhere. */
  write(row: Record<string, unknown>): void {
    const full = { ...row, ...this.take() };
    this.run.appendMetrics(full);
    for (const { name, sink } of [...this.sinks]) this.guard(name, () => sink.write(full));
  }

  /** After iteration `iteration`: a text run's sampled completions, every `logCompletionsEvery` iterations. */
  afterIteration(algo: Algorithm, iteration: number, step: number): void {
    if (!this.completionsEvery || !this.completionsCount || !algo.sampleCompletions) return;
    if (iteration % this.completionsEvery !== 0) return;
    const samples = algo.sampleCompletions(this.completionsCount);
    if (!samples.length) return;
    const lines = samples.map((s) => {
      const rec: CompletionRecord = { iteration, step, prompt: clip(s.prompt), completion: clip(s.completion), reward: s.reward, correct: s.correct };
      if (s.turns) rec.turns = s.turns.slice(0, MAX_TURNS).map((t) => ({ ...t, text: clip(t.text), observation: clip(t.observation) }));
      return JSON.stringify(rec) + "\n";
    });
    appendFileSync(this.run.file(COMPLETIONS_FILE), lines.join(""));
  }

  close(): void {
    for (const { name, sink } of this.sinks) this.guard(name, () => sink.close());
    this.sinks = [];
  }

  /** Runs a sink operation; a failure disables that sink with one warning. */
  private guard(name: LogFormat, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const entry = this.sinks.find((s) => s.name === name);
      this.sinks = this.sinks.filter((s) => s.name !== name);
      try {
        entry?.sink.close();
      } catch {
        // already failing: the warning below says what happened
      }
      process.emitWarning(`${name} logging of run ${this.run.path} stopped: ${(err as Error).message}. Training goes on; metrics.jsonl has every row.`, { code: "REFINERY_LOG" });
    }
  }

  /** Drops completions of iterations a resumed run replays. */
  private truncateCompletions(iteration: number): void {
    const path = this.run.file(COMPLETIONS_FILE);
    if (!existsSync(path)) return;
    const kept = readCompletions(path).filter((c) => c.iteration <= iteration);
    atomicWriteFile(path, kept.map((c) => JSON.stringify(c) + "\n").join(""));
  }
}

/** The completions of a completions.jsonl file (lines cut by a kill are skipped). */
export function readCompletions(path: string): CompletionRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as CompletionRecord];
      } catch {
        return [];
      }
    });
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + "…" : s;
}

function nonNegativeInt(x: unknown): number {
  return typeof x === "number" && Number.isInteger(x) && x > 0 ? x : 0;
}
