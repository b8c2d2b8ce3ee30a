import { existsSync, readFileSync } from "node:fs";
import { atomicWriteFile } from "../train/fsutil.js";
import { join } from "node:path";
import { ConfigError } from "../core/errors.js";
import { runActor } from "../scale/actor.js";
import { defaultShards, remoteFamily } from "../scale/families.js";
import { RemoteLearner } from "../scale/learner.js";
import { checkRunName, connectRedis, redactUrl } from "../scale/redis.js";
import { InterruptedError, type CliIo } from "./io.js";
import { learnerRunDir } from "./remote.js";
import { trainCommand } from "./train.js";

export interface LearnerCliOptions {
  redis: string;
  run: string;
  algo: string;
  env?: string;
  task?: string;
  iterations?: number;
  maxStaleness?: number;
  preset?: string;
  config?: string;
  set: string[];
  steps?: number;
  seed?: number;
  shards?: number;
  out?: string;
  resume: boolean;
  log?: string;
  json: boolean;
  quiet: boolean;
}

/** `refinery learner`: `refinery train` whose iterations wait for shards from remote actors. */
export async function learnerCommand(opts: LearnerCliOptions, io: CliIo): Promise<void> {
  const run = checkRunName(opts.run);
  const runDir = learnerRunDir(run, opts.out);
  if (opts.resume && !existsSync(join(runDir, "config.json"))) {
    throw new ConfigError(`--resume: ${runDir} holds no run`, `start the run without --resume, or pass its directory with --out`, "run_missing");
  }
  const redis = connectRedis(opts.redis, (s) => io.err(s));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await redis.quit().catch(() => redis.disconnect());
  };
  const resumeCommand = `refinery learner --redis ${redactUrl(opts.redis)} --run ${run} --resume${opts.out ? ` --out ${runDir}` : ""}`;
  try {
    await trainCommand(
      {
        algo: opts.resume ? undefined : opts.algo,
        env: opts.env,
        task: opts.task,
        iterations: opts.iterations,
        preset: opts.preset,
        config: opts.config,
        set: opts.set,
        steps: opts.steps,
        seed: opts.seed,
        out: opts.resume ? undefined : runDir,
        resume: opts.resume ? runDir : undefined,
        log: opts.log,
        json: opts.json,
        quiet: opts.quiet,
      },
      io,
      {
        resumeCommand: () => resumeCommand,
        async setup(algo, config, signal) {
          // A resumed run keeps its shards and staleness bound unless told otherwise (remote.json in the run directory).
          const remembered = opts.resume ? savedRemote(runDir) : {};
          const split = defaultShards(remoteFamily(algo, config, "refinery learner"), config);
          const shards = opts.shards ?? remembered.shards ?? split;
          const maxStaleness = opts.maxStaleness ?? remembered.maxStaleness ?? 0;
          const learner = new RemoteLearner(redis, run, algo, config, shards, signal, (s) => io.err(s), maxStaleness);
          await learner.claimLease();
          let saved = false;
          if (!opts.quiet) io.err(`refinery: learner of run ${run} (session ${learner.session.slice(0, 8)}): ${shards} shard(s) per iteration${maxStaleness ? `, up to ${maxStaleness} weight version(s) stale` : ""}; start actors with \`refinery actor --redis URL --run ${run}\`\n`);
          return {
            beforeIteration: async (a) => {
              if (!saved) atomicWriteFile(join(runDir, "remote.json"), JSON.stringify({ run, shards, maxStaleness }) + "\n");
              saved = true;
              await learner.beforeIteration(a);
            },
            onUpdate: (_row, _a, logger) => learner.recordMetrics(logger),
            finish: async (summary) => {
              if (!summary.interrupted) await learner.finish();
            },
            close: async () => {
              await learner.releaseLease().catch(() => {});
              await close();
            },
          };
        },
      },
    );
  } finally {
    await close();
  }
}

export interface ActorCliOptions {
  redis: string;
  run: string;
  name?: string;
  seed?: number;
  claimAfter: number;
  quiet: boolean;
}

/** `refinery actor`: collect shards until the run finishes; SIGINT/SIGTERM stop it after the current shard. */
export async function actorCommand(opts: ActorCliOptions, io: CliIo): Promise<void> {
  const run = checkRunName(opts.run);
  const redis = connectRedis(opts.redis, (s) => io.err(s));
  const controller = new AbortController();
  let signalName: NodeJS.Signals | null = null;
  const onSignal = (name: NodeJS.Signals) => {
    signalName = name;
    controller.abort();
    // Waiting for an unreachable Redis would never end: drop the connection, which fails the wait.
    if (redis.status !== "ready") redis.disconnect();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // A test aid: a slow env, so a test can kill an actor while it holds a task.
  const delayMs = Number(process.env.REFINERY_ACTOR_DELAY_MS ?? 0) || 0;
  try {
    const report = await runActor(redis, {
      run,
      name: opts.name,
      seed: opts.seed,
      claimAfterMs: opts.claimAfter * 1000,
      signal: controller.signal,
      delayMs,
      log: (s) => {
        if (!opts.quiet || s.includes("rejected")) io.err(s);
      },
    }).catch((err: unknown) => {
      if (signalName) throw new InterruptedError(`actor of run ${run} stopped by ${signalName} while Redis was unreachable`, "start it again to rejoin the run", signalName === "SIGTERM" ? 143 : 130);
      throw err;
    });
    io.out(
      JSON.stringify({ actor: opts.name ?? null, run, reason: report.reason, shards: report.shards, steps: report.steps, reclaimed: report.reclaimed, stale_tasks: report.staleTasks, rejected_messages: report.rejectedMessages }) + "\n",
    );
    if (signalName) throw new InterruptedError(`actor of run ${run} stopped by ${signalName} after ${report.shards} shards`, "start it again to rejoin the run", signalName === "SIGTERM" ? 143 : 130);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    await redis.quit().catch(() => redis.disconnect());
  }
}

function savedRemote(runDir: string): { shards?: number; maxStaleness?: number } {
  try {
    const r = JSON.parse(readFileSync(join(runDir, "remote.json"), "utf8")) as { shards?: unknown; maxStaleness?: unknown };
    return { ...(typeof r.shards === "number" ? { shards: r.shards } : {}), ...(typeof r.maxStaleness === "number" ? { maxStaleness: r.maxStaleness } : {}) };
  } catch {
    return {};
  }
}
