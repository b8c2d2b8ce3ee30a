import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { PPO } from "../algos/ppo.js";
import type { Algorithm } from "../algos/types.js";
import { ConfigError } from "../core/errors.js";
import type { RolloutBatch } from "../rollout/step_collector.js";
import type { MetricLogger } from "../train/metric_logger.js";
import { ACTORS_GROUP, ensureGroup, isNoGroup, LEARNER_GROUP, readGroup, runKeys, sleep } from "./redis.js";
import { mergeShards, shardBatch, type ShardShape } from "./shards.js";
import { decodeMessage, encodeMessage, WireError } from "./wire.js";

/** What the learner publishes about its run (actors build their envs and policy from it). */
export interface RunMeta {
  run: string;
  algo: string;
  config: Record<string, unknown>;
  /** New at every learner start: batches of an older session are stale even at the same version. */
  session: string;
  shards: number;
  status: "running" | "finished";
}

/** Options of a run that actors elsewhere (Redis or threads) cannot reproduce (yet): refused at start. */
export function checkRemoteConfig(algo: string, config: Record<string, unknown>, shards: number, via: { what: string; flag: string } = { what: "refinery learner", flag: "--shards" }): void {
  if (algo !== "ppo") throw new ConfigError(`${via.what} trains ppo only, got --algo ${algo}`, "use --algo ppo (other algorithms run with refinery train)");
  if (config.useSde === true) throw new ConfigError(`useSde is not supported with ${via.what} (the exploration noise lives on the learner)`, "set useSde=false, or train without it");
  if (config.normObs === true) throw new ConfigError(`normObs is not supported with ${via.what} (each actor would normalise with its own statistics)`, "set normObs=false, or train without it");
  const numEnvs = config.numEnvs as number;
  if (!Number.isSafeInteger(shards) || shards < 1 || numEnvs % shards !== 0) {
    throw new ConfigError(`${via.flag} ${shards} does not divide numEnvs ${numEnvs}`, `pass a divisor of numEnvs, or --set numEnvs=${Math.max(1, shards) * Math.max(1, Math.ceil(numEnvs / Math.max(1, shards)))}`);
  }
}

/**
 * The learner's side of an actor–learner run. Before each iteration v it publishes the
 * weights of version v and one task per shard; actors take tasks from a Redis stream
 * consumer group (XREADGROUP; a task held by a dead actor is XAUTOCLAIMed by another),
 * collect with exactly those weights and push shards to the batches stream. The learner
 * takes the first shard of each number for (session, version v) and drops the rest:
 * stale (older version or session), duplicate (a reclaimed task delivered twice) and
 * rejected (unparsable, wrong layout, another run) are counted in the metrics. So the
 * update of iteration v sees exactly numEnvs × numSteps steps, all collected with weights v.
 */
export class RemoteLearner {
  readonly session = randomUUID();
  private readonly keys;
  private published = -1;
  private counts = { stale: 0, duplicate: 0, rejected: 0, republished: 0 };
  private iter = { waitSeconds: 0, publishSeconds: 0, bytes: 0, shards: 0 };
  private lastUpdateAt = performance.now();
  private finished = false;

  constructor(
    private readonly redis: Redis,
    readonly run: string,
    readonly algoName: string,
    readonly config: Record<string, unknown>,
    readonly shards: number,
    private readonly signal?: AbortSignal,
    private readonly log: (s: string) => void = () => {},
  ) {
    checkRemoteConfig(algoName, config, shards);
    this.keys = runKeys(run);
  }

  private meta(status: RunMeta["status"]): RunMeta {
    return { run: this.run, algo: this.algoName, config: this.config, session: this.session, shards: this.shards, status };
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

  /** The trainer's beforeIteration: publish weights v, then wait for all shards of v. */
  async beforeIteration(algo: Algorithm): Promise<void> {
    if (!(algo instanceof PPO)) throw new ConfigError(`refinery learner trains ppo only, got ${algo.name}`, "use --algo ppo");
    const version = algo.iteration;
    const t0 = performance.now();
    this.renewLease();
    await this.ensureGroups();
    if (this.published !== version) await this.publish(algo, version, new Set());
    const t1 = performance.now();
    const batch = await this.collectShards(algo, version);
    const t2 = performance.now();
    this.iter.publishSeconds = (t1 - t0) / 1000;
    this.iter.waitSeconds = (t2 - t1) / 1000;
    if (!batch) return; // aborted: the trainer stops
    algo.setBatchSource(() => {
      algo.setBatchSource(null); // one batch, one iteration
      return batch;
    });
  }

  private async ensureGroups(): Promise<void> {
    await ensureGroup(this.redis, this.keys.tasks, ACTORS_GROUP);
    await ensureGroup(this.redis, this.keys.batches, LEARNER_GROUP);
  }

  /** Weights v and the tasks of the shards not yet received, in one transaction. */
  private async publish(algo: PPO, version: number, have: Set<number>): Promise<void> {
    const weights = encodeMessage({ kind: "weights", run: this.run, session: this.session, version }, algo.policy.getWeights());
    const tx = this.redis.multi();
    tx.set(this.keys.meta, JSON.stringify(this.meta("running")));
    tx.set(this.keys.weights, weights);
    tx.set(this.keys.weightsTag, `${this.session}:${version}`);
    for (let shard = 0; shard < this.shards; shard++) {
      if (have.has(shard)) continue;
      tx.xadd(this.keys.tasks, "*", "task", JSON.stringify({ kind: "task", run: this.run, session: this.session, version, shard }));
    }
    await tx.exec();
    this.published = version;
  }

  private async collectShards(algo: PPO, version: number): Promise<RolloutBatch | null> {
    const c = algo.config;
    const shape: ShardShape = { numSteps: c.numSteps, numEnvs: c.numEnvs / this.shards, obsSize: algo.vec.obsSize, actSize: algo.policy.actSize, discrete: algo.policy.discrete };
    const got = new Map<number, RolloutBatch>();
    this.iter.bytes = 0;
    this.iter.shards = 0;
    let idle = 0;
    while (got.size < this.shards) {
      if (this.signal?.aborted) return null;
      this.renewLease();
      let entries;
      try {
        entries = await readGroup(this.redis, this.keys.batches, LEARNER_GROUP, "learner", 64, 500);
      } catch (err) {
        if (!isNoGroup(err)) throw err;
        // The stream is gone: Redis restarted without its data. Publish everything again.
        await this.recover(algo, version, got, "the batches stream vanished");
        continue;
      }
      if (entries.length === 0) {
        if (++idle % 4 === 0 && (await this.redis.get(this.keys.weightsTag)) !== `${this.session}:${version}`) {
          await this.recover(algo, version, got, "the published weights vanished");
        }
        continue;
      }
      idle = 0;
      const pipe = this.redis.pipeline();
      for (const e of entries) {
        pipe.xack(this.keys.batches, LEARNER_GROUP, e.id);
        pipe.xdel(this.keys.batches, e.id);
        this.accept(e.fields.get("shard"), shape, version, got);
      }
      await pipe.exec();
    }
    return mergeShards([...got.keys()].sort((a, b) => a - b).map((k) => got.get(k) as RolloutBatch));
  }

  /** Sorts one shard message into the iteration's shards or one of the dropped counts. */
  private accept(raw: Buffer | undefined, shape: ShardShape, version: number, got: Map<number, RolloutBatch>): void {
    try {
      if (!raw) throw new WireError("entry has no shard field");
      const msg = decodeMessage(raw);
      const h = msg.header;
      if (h.kind !== "shard") throw new WireError(`not a shard message (kind ${JSON.stringify(h.kind)})`);
      if (h.run !== this.run) throw new WireError(`shard of another run ${JSON.stringify(h.run)}`);
      if (h.session !== this.session || (typeof h.version === "number" && h.version < version)) {
        this.counts.stale++;
        return;
      }
      if (h.version !== version || !Number.isSafeInteger(h.shard) || (h.shard as number) < 0 || (h.shard as number) >= this.shards) {
        throw new WireError(`shard ${String(h.shard)} of version ${String(h.version)} was never asked for`);
      }
      if (got.has(h.shard as number)) {
        this.counts.duplicate++;
        return;
      }
      got.set(h.shard as number, shardBatch(msg, shape));
      this.iter.bytes += raw.length;
      this.iter.shards++;
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      this.counts.rejected++;
      this.log(`refinery: learner: rejected a message: ${err.message}\n`);
    }
  }

  private async recover(algo: PPO, version: number, got: Map<number, RolloutBatch>, why: string): Promise<void> {
    this.log(`refinery: learner: ${why} (Redis restarted?); publishing weights ${version} and its tasks again\n`);
    this.counts.republished++;
    await sleep(200, this.signal);
    await this.ensureGroups();
    await this.publish(algo, version, new Set(got.keys()));
  }

  /** The trainer's onUpdate: this iteration's remote numbers join its metrics row. */
  recordMetrics(logger: MetricLogger): void {
    const now = performance.now();
    const wall = (now - this.lastUpdateAt) / 1000;
    this.lastUpdateAt = now;
    logger.record("remote/waitSeconds", this.iter.waitSeconds);
    logger.record("remote/publishSeconds", this.iter.publishSeconds);
    logger.record("remote/bytesPerShard", this.iter.shards ? this.iter.bytes / this.iter.shards : 0);
    logger.record("remote/staleBatches", this.counts.stale);
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
