/**
 * Downsampling of learning curves for the dashboard: a run with a million rows is drawn
 * from a few thousand points that look the same on screen.
 *
 * The method is M4 (Jugel et al., "M4: A Visualization-Oriented Time Series Data
 * Aggregation", VLDB 2014): the x range is cut into equal buckets and each bucket keeps
 * its first, last, minimum and maximum point. A line chart with about one bucket per pixel
 * column drawn from those points is the chart of all rows: every spike and the ends of
 * every vertical stroke survive, which an average or a stride would lose.
 */

/** One curve: x (env steps) and y, sorted by x. */
export interface Series {
  x: number[];
  y: number[];
}

/** The bucket grid of a downsampled curve: bucket i covers start + i * width <= x < start + (i + 1) * width. */
export interface BucketGrid {
  start: number;
  width: number;
  count: number;
}

/** Keys of a metrics row that are coordinates or labels, not curves. */
const NOT_CURVES = new Set(["kind", "iteration", "step"]);

/** The bucket grid with at most `buckets` buckets covering x in [min, max]; widths are whole numbers (steps are). */
export function bucketGrid(min: number, max: number, buckets: number): BucketGrid {
  const n = Math.max(1, Math.floor(buckets));
  const width = Math.max(1, Math.ceil((max - min + 1) / n));
  return { start: min, width, count: Math.max(1, Math.ceil((max - min + 1) / width)) };
}

/** The per-bucket extremes of one metric, in flat arrays indexed by bucket. */
class M4Series {
  readonly firstX: Float64Array;
  readonly firstY: Float64Array;
  readonly lastX: Float64Array;
  readonly lastY: Float64Array;
  readonly minX: Float64Array;
  readonly minY: Float64Array;
  readonly maxX: Float64Array;
  readonly maxY: Float64Array;
  readonly seen: Uint8Array;

  constructor(count: number) {
    this.firstX = new Float64Array(count);
    this.firstY = new Float64Array(count);
    this.lastX = new Float64Array(count);
    this.lastY = new Float64Array(count);
    this.minX = new Float64Array(count);
    this.minY = new Float64Array(count);
    this.maxX = new Float64Array(count);
    this.maxY = new Float64Array(count);
    this.seen = new Uint8Array(count);
  }

  add(b: number, x: number, y: number): void {
    if (!this.seen[b]) {
      this.seen[b] = 1;
      this.firstX[b] = this.lastX[b] = this.minX[b] = this.maxX[b] = x;
      this.firstY[b] = this.lastY[b] = this.minY[b] = this.maxY[b] = y;
      return;
    }
    if (x < this.firstX[b]) {
      this.firstX[b] = x;
      this.firstY[b] = y;
    }
    if (x >= this.lastX[b]) {
      this.lastX[b] = x;
      this.lastY[b] = y;
    }
    if (y < this.minY[b]) {
      this.minY[b] = y;
      this.minX[b] = x;
    }
    if (y > this.maxY[b]) {
      this.maxY[b] = y;
      this.maxX[b] = x;
    }
  }

  /** At most four points per bucket, sorted by x, each distinct x once. */
  points(): Series {
    const x: number[] = [];
    const y: number[] = [];
    const pts: [number, number][] = [];
    for (let b = 0; b < this.seen.length; b++) {
      if (!this.seen[b]) continue;
      pts.length = 0;
      pts.push([this.firstX[b], this.firstY[b]], [this.minX[b], this.minY[b]], [this.maxX[b], this.maxY[b]], [this.lastX[b], this.lastY[b]]);
      pts.sort((p, q) => p[0] - q[0]);
      for (const [px, py] of pts) {
        if (x.length && x[x.length - 1] === px) continue;
        x.push(px);
        y.push(py);
      }
    }
    return { x, y };
  }
}

/**
 * Folds metrics rows, one at a time, into M4 buckets over env steps for every numeric key
 * of the rows (or the `only` keys). Memory is a few arrays per key and bucket, however
 * many rows go in, so a long run is read page by page and never held whole.
 */
export class CurveDownsampler {
  readonly grid: BucketGrid;
  rows = 0;
  private readonly series = new Map<string, M4Series>();

  constructor(grid: BucketGrid, private readonly only?: ReadonlySet<string>) {
    this.grid = grid;
  }

  add(step: number, row: Record<string, unknown>): void {
    this.rows++;
    const b = Math.floor((step - this.grid.start) / this.grid.width);
    if (b < 0 || b >= this.grid.count) return;
    for (const key in row) {
      if (NOT_CURVES.has(key) || (this.only && !this.only.has(key))) continue;
      const v = row[key];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      let s = this.series.get(key);
      if (!s) this.series.set(key, (s = new M4Series(this.grid.count)));
      s.add(b, step, v);
    }
  }

  /** Each metric's downsampled curve: at most 4 × grid.count points. */
  result(): Record<string, Series> {
    const out: Record<string, Series> = {};
    for (const key of [...this.series.keys()].sort()) out[key] = (this.series.get(key) as M4Series).points();
    return out;
  }
}

/** Every numeric key of the given rows as raw curves (for a sample of rows, already few). */
export function rawSeries(rows: { step: number; row: Record<string, unknown> }[], only?: ReadonlySet<string>): Record<string, Series> {
  const out: Record<string, Series> = {};
  for (const { step, row } of rows) {
    for (const key in row) {
      if (NOT_CURVES.has(key) || (only && !only.has(key))) continue;
      const v = row[key];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const s = (out[key] ??= { x: [], y: [] });
      s.x.push(step);
      s.y.push(v);
    }
  }
  return out;
}
