/** A destination of a run's metrics rows besides metrics.jsonl (TensorBoard, CSV). */
export interface MetricSink {
  /** One metrics row as written to metrics.jsonl: `kind`, `iteration`, `step` and numbers (null for NaN). */
  write(row: Record<string, unknown>): void;
  close(): void;
}
