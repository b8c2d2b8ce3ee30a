import { Command, CommanderError, InvalidArgumentError } from "commander";
import { RefineryError } from "../core/errors.js";
import { demoCommand } from "./demo.js";
import { evalCommand } from "./eval.js";
import { listCommand } from "./list.js";
import { trainCommand } from "./train.js";

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

export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command();
  program
    .name("refinery")
    .description("Train and refine policies with reinforcement learning.")
    .version("0.1.0")
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("demo")
    .description("make an env, check it against the API and play random episodes, printing their returns")
    .option("--env <id>", "environment id (see `refinery list`)", "CartPole-v1")
    .option("--episodes <n>", "number of episodes", intOption("--episodes", 1), 5)
    .option("--seed <s>", "seed of the env and of the random actions", intOption("--seed"), 0)
    .option("--json", "print one JSON object per line instead of text", false)
    .action((opts) => demoCommand(opts, out));

  program
    .command("train")
    .description("train a policy; writes a run directory with config, metrics, checkpoints and the final policy")
    .option("--algo <name>", "algorithm (see `refinery list`)", "ppo")
    .option("--env <id>", "environment id (default: the algorithm's, CartPole-v1)")
    .option("--preset <name>", "named hyperparameters: cleanrl (default), cleanrl-continuous, zoo (RL Zoo's tuned values for the env)")
    .option("--config <file>", "JSON or YAML file of options (see `refinery list` for every key)")
    .option("--set <key=value>", "override one option, repeatable (e.g. --set learningRate=3e-4)", (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option("--steps <n>", "total env steps (totalTimesteps)", intOption("--steps", 1))
    .option("--seed <s>", "seed", intOption("--seed"))
    .option("--out <dir>", "run directory (default runs/<algo>-<env>-s<seed>-<time>)")
    .option("--resume <dir>", "continue the run in <dir> from its last checkpoint")
    .option("--json", "print the final summary as one JSON line", false)
    .option("--quiet", "no progress output", false)
    .action(async (opts) => {
      await trainCommand(opts, out);
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
      await evalCommand(dir, opts, out);
    });

  program
    .command("list")
    .description("list the registered environments with their specs")
    .option("--json", "print JSON", false)
    .action((opts) => listCommand(opts, out));

  return program;
}

/** Runs the command line; returns the process exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" ? 0 : 2;
    }
    if (err instanceof RefineryError) {
      process.stderr.write(`refinery: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
