import { Command } from "commander";
import { ConfigError } from "../core/errors.js";
import type { CliIo } from "./io.js";

type IntParser = (name: string, min?: number, max?: number) => (value: string) => number;

const REDIS_HELP = "Redis URL, e.g. redis://127.0.0.1:6379 (a password, a user, a database and rediss:// TLS are honoured)";

/** `refinery sweep` and `refinery worker`. */
export function registerSweepCommands(program: Command, io: CliIo, intOption: IntParser): void {
  program
    .command("sweep")
    .description("run a grid or random search (with seeds) over any --set keys, from a YAML file: queued on Redis for `refinery worker`s, or in local processes; `refinery sweep status [NAME] --redis URL` shows progress")
    .argument("<file|status>", "the sweep's YAML file (format: docs/scaling.md), or `status`")
    .argument("[name]", "with status: the sweep's name (default: every sweep in Redis)")
    .option("--redis <url>", REDIS_HELP)
    .option("--local <n>", "run the trials here, in N processes at a time, without Redis", intOption("--local", 1))
    .option("--out <dir>", "the sweep's directory: results.jsonl and summary.json (and, locally, the trials' runs) (default: RUNS/sweep-<name>)")
    .option("--detach", "with --redis: queue the trials and return instead of waiting for the results", false)
    .option("--json", "print the summary (or the status) as JSON", false)
    .action(async (what: string, name: string | undefined, opts) => {
      const m = await import("./sweep_run.js");
      if (what === "status") {
        if (!opts.redis) throw new ConfigError("refinery sweep status needs --redis URL", "pass the Redis the sweep was queued on, e.g. --redis redis://127.0.0.1:6379");
        await m.sweepStatusCommand(opts.redis, name, opts.json, io);
        return;
      }
      if (name !== undefined) throw new ConfigError(`refinery sweep takes one file, got a second argument ${JSON.stringify(name)}`, "pass only the sweep's YAML file");
      if ((opts.redis === undefined) === (opts.local === undefined)) {
        throw new ConfigError("refinery sweep needs exactly one of --redis URL (trials queued for workers) or --local N (N local processes)", "pass --redis redis://HOST:6379 or --local 2");
      }
      await m.sweepCommand(what, opts, io);
    });

  program
    .command("worker")
    .description("train trials of the sweeps queued on Redis, one after another, on this machine; trial runs go to RUNS/sweep-<name>/<trial>")
    .requiredOption("--redis <url>", REDIS_HELP)
    .option("--sweep <name>", "only this sweep, and exit when all its trials have results (default: every queued sweep, until stopped)")
    .option("--name <name>", "this worker's name in Redis (default: host-pid)")
    .option("--claim-after <s>", "take over a trial whose worker has not been heard from for this many seconds (it is presumed dead)", (v: string) => {
      const n = Number(v);
      if (!(n > 0)) throw new ConfigError(`--claim-after must be a number of seconds > 0, got "${v}"`, "pass e.g. --claim-after 60");
      return n;
    }, 60)
    .option("--quiet", "no line per trial on stderr", false)
    .action(async (opts) => {
      const m = await import("./sweep_run.js");
      await m.workerCommand(opts, io);
    });
}
