import { join } from "node:path";
import { Command, Option } from "commander";
import { MAX_SEED } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { resolveRunsRoot } from "../store/root.js";
import type { CliIo } from "./io.js";

type IntParser = (name: string, min?: number, max?: number) => (value: string) => number;

const REDIS_HELP = "Redis URL, e.g. redis://127.0.0.1:6379; a password (redis://:PASSWORD@host:6379), a user, a database (/N) and TLS (rediss://…) are honoured";

/** `refinery learner` and `refinery actor`: PPO with rollouts collected by actor processes anywhere, through Redis. */
export function registerRemoteCommands(program: Command, io: CliIo, intOption: IntParser): void {
  program
    .command("learner")
    .description("train like `refinery train`, with rollouts collected by `refinery actor` processes (any number, any machine) through Redis; ppo, and grpo/rloo/reinforce/epo on envs and text tasks (igrpo on text)")
    .requiredOption("--redis <url>", REDIS_HELP)
    .requiredOption("--run <name>", "name of the run in Redis; actors join it by this name")
    .option("--algo <name>", "algorithm: ppo, grpo, rloo, reinforce, epo (envs or text tasks), igrpo (text tasks)", "ppo")
    .option("--env <id>", "environment id (see `refinery list`) (default: the config's env)")
    .option("--task <name>", "a text task instead of an env (e.g. addition); actors sample the completions")
    .option("--iterations <n>", "iterations of a text run (default: the config's iterations)", intOption("--iterations", 1))
    .option("--preset <name>", "named hyperparameters (see `refinery list`) (default: none)")
    .option("--config <file>", "JSON or YAML file of options; --set and flags override it (default: none)")
    .addOption(
      new Option("--set <key=value>", "override one option, repeatable (e.g. --set numEnvs=8)")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--steps <n>", "total env steps (default: the config's totalTimesteps)", intOption("--steps", 1))
    .option("--seed <s>", "seed of the weights and the updates (each actor seeds its own envs) (default: the config's seed)", intOption("--seed", 0, MAX_SEED))
    .option(
      "--shards <k>",
      "pieces each iteration's rollout is split into, one actor task each; must divide numEnvs (ppo), numStarts (group algorithms on envs), numPrompts (text) or iterationSteps / numEnvs (dqn, sac, td3, mdpo-off) (default: one env, start state or prompt per task; one chunk per iteration for off-policy runs)",
      intOption("--shards", 1),
    )
    .option("--max-staleness <n>", "group, text and off-policy algorithms: actors may collect up to n iterations ahead, with weights up to n versions older than the update that uses them (default: 0, exactly on-policy; ppo: always 0)", intOption("--max-staleness", 0))
    .option("--out <dir>", "run directory (default: RUNS/<run name>, RUNS being $REFINERY_RUNS, else ./runs)")
    .option("--resume", "continue the run's directory from its newest checkpoint (after the learner was stopped or killed); actors carry on", false)
    .option("--log <formats>", "also write tensorboard and/or csv metrics, comma-separated (default: none)")
    .option("--json", "print the final summary as one JSON line on stdout", false)
    .option("--quiet", "no progress line on stderr", false)
    .action(async (opts) => {
      const { learnerCommand } = await import("./remote_run.js");
      await learnerCommand(opts, io);
    });

  program
    .command("actor")
    .description("collect rollouts for a `refinery learner` run through Redis; start and stop any number, on any machine; exits when the run finishes")
    .requiredOption("--redis <url>", REDIS_HELP)
    .requiredOption("--run <name>", "name of the learner's run")
    .option("--name <name>", "this actor's name in Redis (default: host-pid)")
    .option("--seed <s>", "seed of this actor's envs and actions (default: from its name)", intOption("--seed", 0, MAX_SEED))
    .option("--claim-after <s>", "take over a task another actor has held this many seconds without finishing it (it is presumed dead)", (v: string) => {
      const n = Number(v);
      if (!(n > 0)) throw new ConfigError(`--claim-after must be a number of seconds > 0, got "${v}"`, "pass e.g. --claim-after 30");
      return n;
    }, 30)
    .option("--quiet", "no notices on stderr (rejected messages are still reported)", false)
    .action(async (opts) => {
      const { actorCommand } = await import("./remote_run.js");
      await actorCommand(opts, io);
    });
}

/** RUNS/<run name> for a learner without --out. */
export function learnerRunDir(run: string, out?: string): string {
  return out ?? join(resolveRunsRoot(), run);
}
