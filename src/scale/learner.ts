import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Algorithm } from "../algos/types.js";
import { ConfigError } from "../core/errors.js";
import type { MetricLogger } from "../train/metric_logger.js";
import { ACTORS_GROUP, ensureGroup, isNoGroup, LEARNER_GROUP, readGroup, runKeys, sleep } from "./redis.js";
import { learnerFamily, remoteFamily, splitKey, type LearnerFamily, type Piece, type RemoteFamily } from "./families.js";
import { PieceBook, recordStaleness } from "./piece_book.js";
import { decodeMessage, encodeMessage, WireError } from "./wire.js";

/** What the learner publishes about its run (actors build their envs and policy from it). */
export interface RunMeta {
  run: string;
  algo: string;
  config: Record<string, unknown>;
  /** New at every learner start: batches of an older session are stale even at the same version. */
  session: string;
  shards: number;
  /** How many weight versions a batch may lag behind the iteration that consumes it (0: exactly on-policy). */
  maxStaleness?: number;
  status: "running" | "finished";
}

/** Who checks a remote config, for its messages, and which families it runs. */
export interface RemoteVia {
  what: string;
  flag: string;
  families?: RemoteFamily[];
}

const LEARNER_VIA: RemoteVia = { what: "refinery learner", flag: "--shards", families: ["step", "group", "text", "offpolicy"] };

/**
 * Options of a run that actors elsewhere (Redis or threads) cannot reproduce (yet): refused
 * at start. Returns the run's family (what an actor collects).
 */
export function checkRemoteConfig(algo: string, config: Record<string, unknown>, shards: number, via: RemoteVia = LEARNER_VIA, maxStaleness = 0): RemoteFamily {
  const families = via.families ?? ["step"];
  const family = families.includes("group") ? remoteFamily(algo, config, via.what) : algo === "ppo" ? "step" : null;
  if (family === null) throw new ConfigError(`${via.what} trains ppo only, got --algo ${algo}`, "use --algo ppo (other algorithms run with refinery train)");
  if (family === "step") {
    if (config.useSde === true) throw new ConfigError(`useSde is not supported with ${via.what} (the exploration noise lives on the learner)`, "set useSde=false, or train without it");
    if (config.normObs === true) throw new ConfigError(`normObs is not supported with ${via.what} (each actor would normalise with its own statistics)`, "set normObs=false, or train without it");
  }
  if (!Number.isSafeInteger(maxStaleness) || maxStaleness < 0) throw new ConfigError(`--max-staleness must be an integer ≥ 0, got ${maxStaleness}`, "pass e.g. --max-staleness 1");
  if (family === "step" && maxStaleness > 0) {
    throw new ConfigError(`--max-staleness ${maxStaleness}: ppo stays exactly on-policy with ${via.what} (its values and GAE come from the collecting weights)`, "drop --max-staleness (it is for the group and text algorithms)");
  }
  const key = splitKey(family);
  // Off-policy chunks are whole vector steps of an actor's numEnvs envs.
  const total = family === "offpolicy" ? (config.iterationSteps as number) / (config.numEnvs as number) : (config[key] as number);
  if (!Number.isSafeInteger(shards) || shards < 1 || total % shards !== 0) {
    if (family === "offpolicy") throw new ConfigError(`${via.flag} ${shards} does not divide the ${total} vector steps of an iteration (iterationSteps / numEnvs)`, `pass a divisor of ${total}, or set iterationSteps to a multiple of ${Math.max(1, shards)} × numEnvs`);
    throw new ConfigError(`${via.flag} ${shards} does not divide ${key} ${total}`, `pass a divisor of ${key}, or --set ${key}=${Math.max(1, shards) * Math.max(1, Math.ceil(total / Math.max(1, shards)))}`);
  }
  return family;
}

/**
 * The learner's side of an actor–learner run. Iteration n needs one piece of each shard
 * number, collected with weights of version w, n − maxStaleness ≤ w ≤ n. When iteration n
 * starts the learner publishes the weights of version n and the tasks of iterations up to
 * n + maxStaleness (each (iteration, shard) once per session); actors take tasks from a Redis
 * stream consumer group (XREADGROUP; a task held by a dead actor is XAUTOCLAIMed by another),
 * collect with the newest weights and push pieces to the batches stream. The learner keeps the
 * first piece of each (iteration, shard) — pieces of later iterations wait in memory — and
 * drops the rest: stale (an older session, an iteration already trained, or weights older
 * than the bound: that task is queued again), duplicate (a reclaimed task delivered twice)
 * and rejected (unparsable, wrong layout, another run) are counted in the metrics. So the
 * update of iteration n sees exactly one piece of each shard, none too stale; with
 * maxStaleness 0 (ppo always) every step was collected with weights n.
 */
export class RemoteLearner {
  readonly session = randomUUID();
  readonly family: RemoteFamily;
  private readonly keys;
  private published = -1;
  /** Highest iteration whose tasks this session has queued. */
  private tasksUpTo = -1;
  /** Pieces of the current iteration and, with maxStaleness > 0, of the ones after it. */
  private readonly book: PieceBook<Piece>;
  private counts = { stale: 0, duplicate: 0, rejected: 0, republished: 0 };
  private iter = { waitSeconds: 0, publishSeconds: 0, bytes: 0, lags: [] as number[] };
  private lastUpdateAt = performance.now();
  private finished = false;
  private kind: LearnerFamily | null = null;

  constructor(
    private readonly redis: Redis,
    readonly run: string,
    readonly algoName: string,
    readonly config: Record<string, unknown>,
    readonly shards: number,
    private readonly signal?: AbortSignal,
    private readonly log: (s: string) => void = () => {},
    readonly maxStaleness = 0,
  ) {
    this.family = checkRemoteConfig(algoName, config, shards, LEARNER_VIA, maxStaleness);
    this.keys = runKeys(run);
    this.book = new PieceBook(shards, maxStaleness);
  }

  private meta(status: RunMeta["status"]): RunMeta {
    return { run: this.run, algo: this.algoName, config: this.config, session: this.session, shards: this.shards, maxStaleness: this.maxStaleness, status };
  }

  /**
   * One learner per run: a lease in Redis (refreshed while it trains, expiring LEASE_MS after
   * it stops). Another live learner's lease refuses the start; a lease left by a dead process
   * on this machine (kill -9, then --resume) is taken over at once.
   */
  async claimLease(): Promise<void> {
    const mine = JSON.stringify({ host: hostname(), pid: process.pid, session: this.session });
    if ((await this.redis.set(this.keys.learner, mine, "PX", LEASE_MS, "NX")) === "OK") return;
    const text = await this.redis.get(this.keys.learner);
    let other: { host?: string; pid?: number } = {};
    try {
      other = JSON.parse(text ?? "{}") as typeof other;
    } catch {
      // unreadable: treat as another learner's
    }
    if (text !== null && !(other.host === hostname() && typeof other.pid === "number" && !processAlive(other.pid))) {
      throw new ConfigError(
        `another learner (pid ${String(other.pid)} on ${String(other.host)}) is training run ${this.run}`,
        `stop it first, or pass another --run; a learner that died on another machine frees the run ${LEASE_MS / 1000} s after its last sign of life`,
        "run_busy",
      );
    }
    await this.redis.set(this.keys.learner, mine, "PX", LEASE_MS);
  }

  private renewLease(): void {
    this.redis.set(this.keys.learner, JSON.stringify({ host: hostname(), pid: process.pid, session: this.session }), "PX", LEASE_MS).catch(() => {});
  }

  /** The trainer's beforeIteration: publish weights n (and tasks up to n + maxStaleness), then wait for every piece of n. */
  async beforeIteration(algo: Algorithm): Promise<void> {
    const kind = (this.kind ??= learnerFamily(this.family, algo, this.config, this.shards));
    const version = algo.iteration;
    const t0 = performance.now();
    this.renewLease();
    await this.ensureGroups();
    if (this.published !== version) await this.publish(kind, version, null);
    const t1 = performance.now();
    const pieces = await this.collectPieces(kind, version);
    const t2 = performance.now();
    this.iter.publishSeconds = (t1 - t0) / 1000;
    this.iter.waitSeconds = (t2 - t1) / 1000;
    if (!pieces) return; // aborted: the trainer stops
    kind.install(pieces);
  }

  private async ensureGroups(): Promise<void> {
    await ensureGroup(this.redis, this.keys.tasks, ACTORS_GROUP);
    await ensureGroup(this.redis, this.keys.batches, LEARNER_GROUP);
  }

  /**
   * Weights n and, in one transaction, the tasks not yet queued (iterations up to n +
   * maxStaleness), or with `resend` (Redis lost its data) every task of n … n + maxStaleness
   * not already received.
   */
  private async publish(kind: LearnerFamily, version: number, resend: Map<number, Set<number>> | null): Promise<void> {
    const weights = encodeMessage({ kind: "weights", run: this.run, session: this.session, version }, kind.weights());
    const tx = this.redis.multi();
    tx.set(this.keys.meta, JSON.stringify(this.meta("running")));
    tx.set(this.keys.weights, weights);
    tx.set(this.keys.weightsTag, `${this.session}:${version}`);
    const from = resend ? version : Math.max(version, this.tasksUpTo + 1);
    for (let it = from; it <= version + this.maxStaleness; it++) {
      for (let shard = 0; shard < this.shards; shard++) {
        if (resend?.get(it)?.has(shard)) continue;
        tx.xadd(this.keys.tasks, "*", "task", this.task(it, shard));
      }
    }
    await tx.exec();
    this.tasksUpTo = Math.max(this.tasksUpTo, version + this.maxStaleness);
    this.published = version;
  }

  private task(version: number, shard: number): string {
    return JSON.stringify({ kind: "task", run: this.run, session: this.session, version, shard });
  }

  private async collectPieces(kind: LearnerFamily, version: number): Promise<Piece[] | null> {
    let idle = 0;
    while (!this.book.complete(version)) {
      if (this.signal?.aborted) return null;
      this.renewLease();
      let entries;
      try {
        entries = await readGroup(this.redis, this.keys.batches, LEARNER_GROUP, "learner", 64, 500);
      } catch (err) {
        if (!isNoGroup(err)) throw err;
        // The stream is gone: Redis restarted without its data. Publish everything again.
        await this.recover(kind, version, "the batches stream vanished");
        continue;
      }
      if (entries.length === 0) {
        if (++idle % 4 === 0 && (await this.redis.get(this.keys.weightsTag)) !== `${this.session}:${version}`) {
          await this.recover(kind, version, "the published weights vanished");
        }
        continue;
      }
      idle = 0;
      const pipe = this.redis.pipeline();
      const requeue: [number, number][] = [];
      for (const e of entries) {
        pipe.xack(this.keys.batches, LEARNER_GROUP, e.id);
        pipe.xdel(this.keys.batches, e.id);
        const again = this.accept(kind, e.fields.get("shard"), version);
        if (again) requeue.push(again);
      }
      // A piece too stale to use was dropped: its task is queued again (a fresh copy arrives).
      for (const [it, shard] of requeue) pipe.xadd(this.keys.tasks, "*", "task", this.task(it, shard));
      await pipe.exec();
    }
    const { pieces, lags, bytes } = this.book.take(version);
    this.iter = { ...this.iter, bytes, lags };
    return pieces;
  }

  /**
   * Sorts one message into the pieces of an iteration or one of the dropped counts. Returns
   * the (iteration, shard) to queue again when a wanted piece was dropped as too stale.
   */
  private accept(kind: LearnerFamily, raw: Buffer | undefined, version: number): [number, number] | null {
    try {
      if (!raw) throw new WireError("entry has no shard field");
      const msg = decodeMessage(raw);
      const h = msg.header;
      if (h.kind !== "shard") throw new WireError(`not a shard message (kind ${JSON.stringify(h.kind)})`);
      if (h.run !== this.run) throw new WireError(`shard of another run ${JSON.stringify(h.run)}`);
      if (h.session !== this.session || (typeof h.version === "number" && h.version < version)) {
        this.counts.stale++;
        return null;
      }
      const it = h.version;
      const shard = h.shard;
      if (!Number.isSafeInteger(it) || (it as number) > this.tasksUpTo || !Number.isSafeInteger(shard) || (shard as number) < 0 || (shard as number) >= this.shards) {
        throw new WireError(`shard ${String(shard)} of version ${String(it)} was never asked for`);
      }
      // Pieces of actors before this field existed were collected with the weights of their task.
      const w = h.weights === undefined ? it : h.weights;
      if (!Number.isSafeInteger(w) || (w as number) > (it as number) || (w as number) > version) throw new WireError(`weights version ${String(w)} of shard ${String(shard)} of version ${String(it)} was never published`);
      const verdict = this.book.offer(version, it as number, shard as number, w as number, () => ({ piece: kind.decode(msg), bytes: raw.length, weights: w as number }));
      if (verdict === "duplicate") this.counts.duplicate++;
      else if (verdict !== "kept") this.counts.stale++;
      // A piece too stale to use was dropped: its (iteration, shard) is queued again.
      if (verdict === "requeue") return [it as number, shard as number];
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.counts.rejected++;
      this.log(`refinery: learner: rejected a message: ${err.message}\n`);
    }
    return null;
  }

  private async recover(kind: LearnerFamily, version: number, why: string): Promise<void> {
    this.log(`refinery: learner: ${why} (Redis restarted?); publishing weights ${version} and its tasks again\n`);
    this.counts.republished++;
    await sleep(200, this.signal);
    await this.ensureGroups();
    await this.publish(kind, version, this.book.received());
  }

  /** The trainer's onUpdate: this iteration's remote numbers join its metrics row. */
  recordMetrics(logger: MetricLogger): void {
    const now = performance.now();
    const wall = (now - this.lastUpdateAt) / 1000;
    this.lastUpdateAt = now;
    logger.record("remote/waitSeconds", this.iter.waitSeconds);
    logger.record("remote/publishSeconds", this.iter.publishSeconds);
    logger.record("remote/bytesPerShard", this.iter.lags.length ? this.iter.bytes / this.iter.lags.length : 0);
    recordStaleness(logger, this.iter.lags, this.counts.stale);
    logger.record("remote/duplicateBatches", this.counts.duplicate);
    logger.record("remote/rejectedMessages", this.counts.rejected);
    logger.record("remote/republished", this.counts.republished);
    // Share of the iteration's wall time the learner did not spend waiting for actors.
    logger.record("remote/learnerBusy", wall > 0 ? Math.max(0, 1 - this.iter.waitSeconds / wall) : NaN);
    this.counts = { stale: 0, duplicate: 0, rejected: 0, republished: 0 };
  }

  /** Tells actors the run is over (they exit); the streams are removed. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const tx = this.redis.multi();
    tx.set(this.keys.meta, JSON.stringify(this.meta("finished")));
    tx.del(this.keys.weights, this.keys.weightsTag, this.keys.tasks, this.keys.batches, this.keys.learner);
    await tx.exec();
  }

  /** Frees the run for the next learner (an interrupted run's --resume), if the lease is still ours. */
  async releaseLease(): Promise<void> {
    const text = await this.redis.get(this.keys.learner);
    if (text && text.includes(this.session)) await this.redis.del(this.keys.learner);
  }
}

/** A learner's lease lasts this long after its last renewal (each iteration and every wait). */
export const LEASE_MS = 30_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
