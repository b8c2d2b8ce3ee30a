import { Command, CommanderError, InvalidArgumentError } from "commander";
import { RefineryError } from "../core/errors.js";
import { demoCommand } from "./demo.js";
import { listCommand } from "./list.js";

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
