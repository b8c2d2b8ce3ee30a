import type { MetricLogger } from "../train/metric_logger.js";

/** A piece held until its iteration, with its size and the weights version it was collected with. */
export interface Held<P> {
  piece: P;
  bytes: number;
  weights: number;
}

/**
 * What became of an offered piece: kept for its iteration; a second copy of a shard already
 * held; stale (its iteration is trained already); or too stale to use, its (iteration,
 * shard) still missing, so whoever collects must be asked for it again (`requeue`).
 */
export type Offer = "kept" | "duplicate" | "stale" | "requeue";

/**
 * The pieces of the iterations a learner waits for, one per (iteration, shard), with the
 * staleness rule that the Redis learner and the actor threads share: a piece of iteration
 * `it` collected with weights `w` is used only when it − maxStaleness ≤ w ≤ it (so by the
 * iteration that consumes it, n − maxStaleness ≤ w ≤ n). With maxStaleness 0 every piece of
 * iteration n was collected with weights n.
 */
export class PieceBook<P> {
  private readonly held = new Map<number, Map<number, Held<P>>>();

  constructor(
    readonly shards: number,
    readonly maxStaleness: number,
  ) {}

  /**
   * Sorts a piece of iteration `it`, shard `shard`, collected with weights `w`, while the
   * learner is at iteration `current`. `make` builds what is held (it may throw, e.g. on a
   * piece that does not decode; then nothing is held).
   */
  offer(current: number, it: number, shard: number, w: number, make: () => Held<P>): Offer {
    if (it < current) return "stale";
    const slot = this.slot(it);
    if (w < it - this.maxStaleness) return slot.has(shard) ? "stale" : "requeue";
    if (slot.has(shard)) return "duplicate";
    slot.set(shard, make());
    return "kept";
  }

  complete(it: number): boolean {
    return (this.held.get(it)?.size ?? 0) >= this.shards;
  }

  /** The shards held per iteration (what need not be asked for again). */
  received(): Map<number, Set<number>> {
    return new Map([...this.held].map(([it, slot]) => [it, new Set(slot.keys())]));
  }

  /** The pieces of a complete iteration in shard order, with their lags (it − w) and bytes; forgets them. */
  take(it: number): { pieces: P[]; lags: number[]; bytes: number } {
    const slot = this.slot(it);
    this.held.delete(it);
    const held = [...slot.keys()].sort((a, b) => a - b).map((k) => slot.get(k) as Held<P>);
    return { pieces: held.map((h) => h.piece), lags: held.map((h) => it - h.weights), bytes: held.reduce((s, h) => s + h.bytes, 0) };
  }

  private slot(it: number): Map<number, Held<P>> {
    let slot = this.held.get(it);
    if (!slot) this.held.set(it, (slot = new Map()));
    return slot;
  }
}

/**
 * The staleness numbers of one update: pieces used, and how many weight versions behind the
 * update they were collected (the mean and the largest; 0 when exactly on-policy).
 */
export function recordStaleness(logger: MetricLogger, lags: number[], staleBatches: number): void {
  logger.record("remote/staleBatches", staleBatches);
  logger.record("remote/shards", lags.length);
  logger.record("remote/staleness", lags.length ? lags.reduce((s, l) => s + l, 0) / lags.length : 0);
  logger.record("remote/stalenessMax", Math.max(0, ...lags));
}
