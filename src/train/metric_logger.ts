import { RefineryError } from "../core/errors.js";

/** What callbacks get to add their own metrics to a run's rows (isomorphic: no files). */
export interface MetricLogger {
  /**
   * Adds `value` under `name` to the next metrics row the trainer writes: the iteration's
   * training row when called from onStep, onRollout, onUpdate or onIteration, the evaluation
   * row when called from onEval, the next row when called from onCheckpoint. The row goes
   * to metrics.jsonl, the run store (so the dashboard), TensorBoard and CSV alike. Recording
   * a name twice before the row is written keeps the last value.
   */
  record(name: string, value: number): void;
}

/** Keys the trainer sets itself; a recorded value under them would change where the row belongs. */
const RESERVED = new Set(["kind", "iteration", "step"]);

/** The values recorded since the last row, checked as they arrive. */
export class PendingMetrics implements MetricLogger {
  protected pending: Record<string, number | null> = {};

  record(name: string, value: number): void {
    if (typeof name !== "string" || !name.trim()) {
      throw new RefineryError("bad_metric_name", `logger.record needs a metric name, got ${JSON.stringify(name)}`, 'pass a non-empty string, e.g. logger.record("custom/score", 1.5)');
    }
    if (RESERVED.has(name)) {
      throw new RefineryError("bad_metric_name", `logger.record("${name}", …): "${name}" is set by the trainer`, `record under another name, e.g. "custom/${name}"`);
    }
    if (typeof value !== "number") {
      throw new RefineryError("bad_metric_value", `logger.record("${name}", ${JSON.stringify(value)}): the value must be a number`, "pass a number (e.g. Number(x)); NaN is written as null");
    }
    this.pending[name] = Number.isFinite(value) ? value : null;
  }

  /** The recorded values, emptied. */
  take(): Record<string, number | null> {
    const out = this.pending;
    this.pending = {};
    return out;
  }
}
