import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ALGORITHMS } from "../algos/index.js";
import { formatValue } from "../core/config.js";
import { RefineryError } from "../core/errors.js";
import { registerDashboardCommand } from "./dashboard.js";
import { demoCommand } from "./demo.js";
import { evalCommand } from "./eval.js";
import { processIo, type CliIo } from "./io.js";
import { listCommand } from "./list.js";
import { registerPlotCommand } from "./plot.js";
import { registerRunsCommand } from "./runs.js";
import { trainCommand } from "./train.js";

export type { CliIo } from "./io.js";

/** Parses a non-negative integer option, or fails with a message that names the option. */
export function intOption(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}".`);
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

export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command();
  const algos = Object.keys(ALGORITHMS).sort();
  const presets = [...new Set(Object.values(ALGORITHMS).flatMap((a) => a.presets.map((p) => p.name)))];
  program
    .name("refinery")
    .description("Train and refine policies with reinforcement learning.")
    .version("0.1.0")
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("demo")
    .description("make an env, check it against the API and play random episodes, printing their returns")
    .option("--env <id>", "environment id (see `refinery list`)", "CartPole-v1")
    .option("--episodes <n>", "number of episodes", intOption("--episodes", 1), 5)
    .option("--seed <s>", "seed of the env and of the random actions", intOption("--seed"), 0)
    .option("--json", "print one JSON object per line instead of text", false)
    .action((opts) => demoCommand(opts, io));

  program
    .command("train")
    .description("train a policy; writes a run directory with config, metrics, checkpoints and the final policy")
    .option("--algo <name>", `algorithm: ${algos.join(", ")} (options: \`refinery list\`)`, "ppo")
    .option("--env <id>", `environment id (see \`refinery list\`) ${algoDefault("env")}`)
    .option("--preset <name>", `named hyperparameters: ${presets.join(", ")} (see \`refinery list\`) (default: none, the algorithm's defaults)`)
    .option("--config <file>", "JSON or YAML file of options, or a run's config.json; --set and flags override it (default: none)")
    .addOption(
      new Option("--set <key=value>", "override one option, repeatable (e.g. --set learningRate=3e-4); values are JSON or bare strings")
        .argParser((v: string, acc: string[]) => [...acc, v])
        .default([] as string[], "none"),
    )
    .option("--steps <n>", `total env steps ${algoDefault("totalTimesteps")}`, intOption("--steps", 1))
    .option("--seed <s>", `seed of weights, actions and envs ${algoDefault("seed")}`, intOption("--seed"))
    .option("--out <dir>", "run directory (default: runs/<algo>-<env>-s<seed>-<time>)")
    .option("--resume <dir>", "continue the run in <dir> from its last checkpoint, with its saved config (default: none, a new run)")
    .option("--json", "print the final summary as one JSON line on stdout", false)
    .option("--quiet", "no progress line on stderr", false)
    .action(async (opts, cmd: Command) => {
      // Only an --algo typed by the user conflicts with --resume; the default does not.
      const algo = cmd.getOptionValueSource("algo") === "default" ? undefined : (opts.algo as string);
      await trainCommand({ ...opts, algo }, io);
    });

  program
    .command("eval")
    .description("evaluate a trained policy: mean ± std of the return over fresh episodes")
    .argument("<run_dir>", "run directory written by `refinery train`")
    .option("--episodes <n>", "episodes to play", intOption("--episodes", 1), 10)
    .option("--deterministic", "take the most likely action instead of sampling", false)
    .option("--seed <s>", "seed of the eval env and of sampled actions", intOption("--seed"), 0)
    .option("--best", "use the best policy by evaluation (best/) instead of the final one", false)
    .option("--json", "print one JSON object on the last line", false)
    .action(async (dir: string, opts) => {
      await evalCommand(dir, opts, io);
    });

  program
    .command("list")
    .description("list the registered environments and the algorithms with every option, its default and its presets")
    .option("--json", "print JSON: {envs, algorithms: [{name, description, options, presets}]}", false)
    .action((opts) => listCommand(opts, io));

  registerRunsCommand(program, io);
  registerPlotCommand(program, io);
  registerDashboardCommand(program, io);
  return program;
}

/**
 * Runs the command line in-process; returns the exit code: 0 on success (and for
 * --help/--version), 2 for usage and config errors, which print one line on `io.err`.
 * Anything else is a bug or an environment failure and is rethrown with its stack.
 */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help) through io.
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    }
    if (err instanceof RefineryError) {
      io.err(`refinery: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
      return 2;
    }
    throw err;
  }
}
