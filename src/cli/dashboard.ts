import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_PORT } from "../dashboard/server.js";
import { RUNS_ROOT_ENV, resolveRunsRoot } from "../store/root.js";
import type { CliIo } from "./io.js";

interface DashboardCliOptions {
  port: number;
  host: string;
  runsRoot?: string;
}

/**
 * `refinery dashboard`: serves the dashboard until the process gets SIGINT or SIGTERM.
 * The first line on stdout is the address, so scripts (and tests) can read it.
 */
export async function dashboardCommand(opts: DashboardCliOptions, io: CliIo, stopped: Promise<unknown> = untilSignal()): Promise<void> {
  const { startDashboard } = await import("../dashboard/server.js");
  const dashboard = await startDashboard({ runsRoot: resolveRunsRoot(opts.runsRoot), host: opts.host, port: opts.port });
  io.out(`refinery dashboard: ${dashboard.url}\n`);
  io.err(`serving the runs in ${dashboard.root}${isLoopback(dashboard.host) ? "" : ` on ${dashboard.host}, reachable from other machines`}; Ctrl-C to stop\n`);
  await stopped;
  await dashboard.close();
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.removeListener("SIGINT", done);
      process.removeListener("SIGTERM", done);
      resolve(signal);
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost";
}

function portOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError(`--port must be an integer in [0, 65535] (0: any free port), got "${value}".`);
  return n;
}

export function registerDashboardCommand(program: Command, io: CliIo): void {
  program
    .command("dashboard")
    .description("serve a local web page with the runs, their live learning curves and configs (read-only)")
    .option("--port <n>", "port to listen on (0: any free port)", portOption, DEFAULT_PORT)
    .option("--host <address>", "interface to bind; other than 127.0.0.1 exposes your runs to the network", "127.0.0.1")
    .option("--runs-root <dir>", `directory holding the run directories and runs.db (default: $${RUNS_ROOT_ENV}, else ./runs)`)
    .action((opts: DashboardCliOptions) => dashboardCommand(opts, io));
}
