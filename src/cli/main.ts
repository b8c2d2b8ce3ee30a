import { existsSync } from "node:fs";
import { recordUserModule } from "../scale/user_modules.js";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { AGENT_ALGORITHMS, ALGORITHMS, TEXT_ALGORITHMS } from "../algos/index.js";
import { formatValue, MAX_SEED } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { registerDashboardCommand } from "./dashboard.js";
import { demoCommand } from "./demo.js";
import { registerExportCommand } from "./export.js";
import { describeFailure, EXIT, EXIT_CODES_HELP, oneLine } from "./exit.js";
import { CliExit, InterruptedError, processIo, type CliIo } from "./io.js";
import { listCommand } from "./list.js";
import { registerPlotCommand } from "./plot.js";
import { registerRecordCommand } from "./record.js";
import { registerRunsCommand } from "./runs.js";
import { registerRemoteCommands } from "./remote.js";
import { registerSweepCommands } from "./sweep.js";

export type { CliIo } from "./io.js";

/** Help text listing the environment variables the CLI reads. */
const ENV_VARS_HELP = `Environment variables:
  REFINERY_RUNS             runs root when --runs-root is not given (default ./runs)
  REFINERY_DEBUG=1          print the stack trace after an error line
  REFINERY_MEMORY_LIMIT_MB  memory a config may need before it is refused (default half the RAM)
  REFINERY_MUJOCO           MuJoCo WebAssembly package: mujoco-js (default) or @mujoco/mujoco`;

/** Parses an integer option in [min, max], or fails with a message that names the option. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
      throw new InvalidArgumentError(`${name} must be an integer ${range}, got "${value}".`);
    }
    return n;
  };
}

/**
 * "(default: …)" for train options whose default comes from the algorithm's config, so
 * that --help shows it without commander treating it as a value the user passed.
 */
function algoDefault(key: string): string {
  const values = Object.values(ALGORITHMS).map((a) => `${formatValue(a.defaults[key])} for ${a.name}`);
  return `(default: the config's ${key}: ${values.join(", ")})`;
}

/** Loads the user's modules of --import (relative to the working directory), e.g. to register a task. */
async function importModules(paths: string[] = []): Promise<void> {
  for (const p of paths) {
    const file = resolve(p);
    if (!existsSync(file)) throw new ConfigError(`--import ${p}: no such file (${file})`, "pass the path of a .js/.mjs module, e.g. --import ./my-task.mjs");
    const url = pathToFileURL(file).href;
    await import(url);
    recordUserModule(url); // worker threads (vectorEnv=async) import it too
  }
}

/** Help of --log (train and sft). */
const LOG_HELP =
  "also write the metrics as tensorboard (RUN/tb/events.out.tfevents.*; open with `tensorboard --logdir runs/`) and/or csv (RUN/progress.csv), comma-separated, e.g. --log tensorboard,csv; a resumed run keeps the formats it had (default: none, metrics.jsonl only)";

/**
 * The command line. Building it loads only what the help texts need; each command's
 * module (the trainer, evaluation, ...) is imported when that command runs.
 */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command();
  const algos = Object.keys(ALGORITHMS).sort();
  const presets = [...new Set(Object.values(ALGORITHMS).flatMap((a) => a.presets.map((p) => p.name)))];
  program
    .name("refinery")
    .description("Train and refine policies with reinforcement learning.")
    .version("0.1.0")
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      // Usage errors are one line like every other error: "refinery: <problem> (… --help …)".
      outputError: (s, write) => write(`refinery: ${oneLine(s.replace(/^error: /, ""))} (run with --help for usage)\n`),
    })
    .addHelpText("afterAll", `\n${EXIT_CODES_HELP}\n\n${ENV_VARS_HELP}\n`)
    .exitOverride();

  program
    .command("demo")
    .description("make an env, check it against the API and play random episodes, printing their returns")
    .option("--env <id>", "environment id (see `refinery list`)", "CartPole-v1")
    .option("--episodes <n>", "number of episodes", intOption("--episodes", 1), 5)
    .option("--seed <s>", "seed of the env and of the random actions", intOption("--seed", 0, MAX_SEED), 0)
    .option("--json", "print one JSON object per line instead of text", false)
    .action((opts) => demoCommand(opts, io));

  const textAlgos = Object.keys(TEXT_ALGORITHMS).filter((a) => a !== "sft");
  program
    .command("sft")
    .description("supervised fine-tuning of a small transformer on a text task's correct demonstrations (the warm-up before RL); writes a run directory")
    .addOption(
      new Option("--import <module>", "a JavaScript module to load first, e.g. one that registers your own text task or reward (repeatable)")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--task <name>", "text task (required unless --resume): addition, multiplication, sorting, countdown, parity; multi-turn: calc, lookup, guess; or a registered one (see `refinery list`)")
    .option("--config <file>", "JSON or YAML file of options; --set and flags override it (default: none)")
    .addOption(
      new Option("--set <key=value>", "override one option, repeatable (e.g. --set taskOptions.digits=3 --set model.width=128)")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--iterations <n>", `optimiser steps (default: the config's iterations, ${formatValue(TEXT_ALGORITHMS.sft.defaults.iterations)})`, intOption("--iterations", 1))
    .option("--seed <s>", `seed of weights and sampled problems (default: ${formatValue(TEXT_ALGORITHMS.sft.defaults.seed)})`, intOption("--seed", 0, MAX_SEED))
    .option("--out <dir>", "run directory (default: RUNS/sft-text-<task>-s<seed>-<time>, RUNS being $REFINERY_RUNS, else ./runs)")
    .option("--resume <dir>", "continue the run in <dir> from its newest verified checkpoint; refused while another process trains it (default: none, a new run)")
    .option("--restart", "with --resume: start that run over from step 0 with its saved config, deleting its checkpoints, policies and metrics", false)
    .option("--log <formats>", LOG_HELP)
    .option("--json", "print the final summary as one JSON line on stdout", false)
    .option("--quiet", "no progress line on stderr", false)
    .action(async (opts) => {
      if (opts.resume === undefined && opts.task === undefined) {
        throw new ConfigError("refinery sft needs a task", "pass --task NAME, e.g. refinery sft --task addition (tasks: refinery list)");
      }
      await importModules(opts.import);
      const { trainCommand } = await import("./train.js");
      await trainCommand({ ...opts, algo: opts.resume === undefined ? "sft" : undefined }, io);
    });

  program
    .command("train")
    .description("train a policy; writes a run directory with config, metrics, checkpoints and the final policy")
    .option("--algo <name>", `algorithm: ${algos.join(", ")} (options: \`refinery list\`)`, "ppo")
    .option("--env <id>", `environment id (see \`refinery list\`) ${algoDefault("env")}`)
    .option("--task <name>", `a text task instead of an env (see \`refinery list\`); algorithms on text: ${textAlgos.join(", ")}; on multi-turn tasks (calc, lookup, guess): ${Object.keys(AGENT_ALGORITHMS).filter((a) => a !== "sft").join(", ")} (default: none)`)
    .addOption(
      new Option("--import <module>", "a JavaScript module to load first, e.g. one that registers your own text task or reward (repeatable)")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--init <dir>", "text runs: start from the saved policy of this run (e.g. an SFT run); also the KL reference (default: a fresh model)")
    .option("--iterations <n>", "text runs: iterations to train (default: the config's iterations)", intOption("--iterations", 1))
    .option("--preset <name>", `named hyperparameters: ${presets.join(", ")} (see \`refinery list\`) (default: none, the algorithm's defaults)`)
    .option("--config <file>", "JSON or YAML file of options, or a run's config.json; --set and flags override it (default: none)")
    .addOption(
      new Option("--set <key=value>", "override one option, repeatable (e.g. --set learningRate=3e-4); values are JSON or bare strings")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--steps <n>", `total env steps ${algoDefault("totalTimesteps")}`, intOption("--steps", 1))
    .option("--seed <s>", `seed of weights, actions and envs ${algoDefault("seed")}`, intOption("--seed", 0, MAX_SEED))
    .option("--out <dir>", "run directory (default: RUNS/<algo>-<env>-s<seed>-<time>, RUNS being $REFINERY_RUNS, else ./runs)")
    .option("--resume <dir>", "continue the run in <dir> from its newest verified checkpoint, with its saved config; refused while another process trains it (default: none, a new run)")
    .option("--restart", "with --resume: start that run over from step 0 with its saved config, deleting its checkpoints, policies and metrics (e.g. when it has no usable checkpoint)", false)
    .option("--log <formats>", LOG_HELP)
    .option("--actor-threads <n>", "collect in N worker threads, the update in this thread: ppo (numEnvs / N envs each), grpo, rloo, reinforce, epo on envs (numStarts / N start states each) and on text tasks, with igrpo (numPrompts / N prompts each); dqn, sac, td3, mdpo-off: each thread steps its own numEnvs envs with the newest weights it was sent and sends chunks of transitions to the replay buffer here; own seeds per thread (default: none, all in this thread)", intOption("--actor-threads", 1))
    .option("--max-staleness <n>", "with --actor-threads: group and text algorithms may collect up to n iterations ahead, with weights up to n versions older than the update that uses them (default: 0, exactly on-policy; ppo: always 0); off-policy algorithms: weight versions a chunk may lag behind the learner when stored (default: the number of threads)", intOption("--max-staleness", 0))
    .option("--publish-every <k>", "off-policy actor threads: gradient steps per weight version sent to the threads (default: the gradient steps of one chunk)", intOption("--publish-every", 1))
    .option("--chunk-steps <n>", "off-policy actor threads: vector steps per chunk of transitions (default: 64 transitions, rounded up to whole trainFreq rounds)", intOption("--chunk-steps", 1))
    .option("--json", "print the final summary as one JSON line on stdout", false)
    .option("--quiet", "no progress line on stderr", false)
    .action(async (opts, cmd: Command) => {
      // Only an --algo typed by the user conflicts with --resume; the default does not.
      const algo = cmd.getOptionValueSource("algo") === "default" ? undefined : (opts.algo as string);
      await importModules(opts.import);
      const { trainCommand } = await import("./train.js");
      await trainCommand({ ...opts, algo }, io);
    });

  program
    .command("eval")
    .description("evaluate a trained policy: mean ± std of the return over fresh episodes; on a text run, pass@1 (greedy and sampled), pass@k and mean length on held-out problems; on a multi-turn run, success, pass@k, turns and tool calls per episode; with --pass-at, pass@k and coverage of k sampled attempts from shared start states")
    .argument("<run_dir>", "run directory written by `refinery train`")
    .option("--episodes <n>", "episodes to play", intOption("--episodes", 1), 10)
    .option("--stochastic", "sample actions from the policy instead of taking the most likely one (default: deterministic, as the trainer's final evaluation)", false)
    .option("--deterministic", "take the most likely action (already the default; kept for scripts)", false)
    .option("--seed <s>", "seed of the eval env and of sampled actions", intOption("--seed", 0, MAX_SEED), 0)
    .option("--best", "use the best policy by evaluation (best/) instead of the final one", false)
    .option("--pass-at <list>", "env runs: comma-separated k of pass@k; --episodes then counts start states, each played --attempts times from the same state (snapshots) with sampled actions; prints pass@k, coverage and distinct successful goals/classes/paths (default: none, mean return)", (v: string) => v.split(",").map((x) => intOption("--pass-at", 1)(x)))
    .option("--attempts <n>", "env runs with --pass-at: attempts per start state, ≥ the largest k (default: the largest k)", intOption("--attempts", 1))
    .addOption(new Option("--success <kind>", "env runs with --pass-at: goal (terminated with a positive last reward) or threshold (return ≥ the env's reward threshold) (default: threshold when the env has one, else goal)").choices(["goal", "threshold"]))
    .addOption(
      new Option("--import <module>", "a JavaScript module to load first, e.g. one that registers your own text task or reward (repeatable)")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--problems <n>", "text runs: held-out problems to evaluate", intOption("--problems", 1), 200)
    .option("--samples <n>", "text runs: sampled completions per problem (for pass@k)", intOption("--samples", 1), 8)
    .option("--k <list>", "text runs: comma-separated k of pass@k, each ≤ --samples (default: 1 and --samples)", (v: string) => v.split(",").map((x) => intOption("--k", 1)(x)))
    .option("--temperature <t>", "text runs: sampling temperature (default: the run's)", (v: string) => {
      const t = Number(v);
      if (!(t > 0)) throw new InvalidArgumentError(`--temperature must be a number > 0, got "${v}".`);
      return t;
    })
    .option("--json", "print one JSON object on the last line", false)
    .action(async (dir: string, opts, cmd: Command) => {
      await importModules(opts.import);
      const { evalCommand } = await import("./eval.js");
      const given = new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli"));
      await evalCommand(dir, { ...opts, given }, io);
    });

  program
    .command("list")
    .description("list the registered environments and the algorithms with every option, its default and its presets")
    .option("--json", "print JSON: {envs, algorithms: [{name, description, options, presets}]}", false)
    .action((opts) => listCommand(opts, io));

  registerRunsCommand(program, io);
  registerPlotCommand(program, io);
  registerRecordCommand(program, io, intOption);
  registerDashboardCommand(program, io);
  registerExportCommand(program, io);
  registerRemoteCommands(program, io, intOption);
  registerSweepCommands(program, io, intOption);
  return program;
}

/**
 * Runs the command line in-process; returns the exit code (see EXIT in exit.ts): 0 on
 * success (and for --help/--version), 2 for usage and config errors, 3 for damaged run
 * data, 4 when the machine refuses (permissions, disk, network), 1 for a bug. Every
 * failure prints exactly one line on `io.err`; REFINERY_DEBUG=1 adds the stack trace.
 */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CliExit) return err.exitCode;
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help) through io.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? EXIT.ok : EXIT.usage;
    }
    if (isClosedPipe(err)) return EXIT.ok;
    // An interrupted training exits with the shell's code for its signal (130, 143).
    if (err instanceof InterruptedError) {
      io.err(`refinery: ${oneLine(err.message)}\n`);
      return err.exitCode;
    }
    const failure = describeFailure(err);
    io.err(`refinery: ${failure.message}\n`);
    if (process.env.REFINERY_DEBUG && err instanceof Error && err.stack) io.err(err.stack + "\n");
    return failure.code;
  }
}

/** stdout closed by its reader (`refinery runs | head -1`): stop quietly, as `ls | head` does. */
function isClosedPipe(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "EPIPE";
}

/**
 * The `refinery` executable: runs the command line on the process's streams and sets the
 * exit code. A reader that closes stdout or stderr early ends the output quietly instead of
 * crashing with an unhandled 'error' event, and anything thrown outside a command (a late
 * server error) is still one line with an exit code.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  let stdoutClosed = false;
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    stdoutClosed = true;
    // Nothing more can be printed; results already written stay written.
    process.exit(EXIT.ok);
  });
  process.stderr.on("error", (err: NodeJS.ErrnoException) => {
    // Progress and notices go to stderr; losing them must not stop a training run.
    if (err.code !== "EPIPE") throw err;
  });
  const io = processIo();
  const fatal = (err: unknown) => {
    if (stdoutClosed || isClosedPipe(err)) process.exit(EXIT.ok);
    const failure = describeFailure(err);
    process.stderr.write(`refinery: ${failure.message}\n`);
    if (process.env.REFINERY_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + "\n");
    process.exit(failure.code);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  process.exitCode = await run(argv, io);
}
