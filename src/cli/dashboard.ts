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
export async function dashboardCommand(opts: DashboardCliOptions, io: CliIo, stopped: Promise<unknown> = untilSignal(), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Only the default root (./runs, where `refinery train` puts runs) is created when missing:
  // a --runs-root or $REFINERY_RUNS that does not exist is most likely mistyped.
  const named = opts.runsRoot !== undefined || !!env[RUNS_ROOT_ENV]?.trim();
  const { startDashboard } = await import("../dashboard/server.js");
  const dashboard = await startDashboard({ runsRoot: resolveRunsRoot(opts.runsRoot, env), host: opts.host, port: opts.port, create: !named });
  io.out(`refinery dashboard: ${dashboard.url}\n`);
  io.err(`${exposure(dashboard)}; Ctrl-C to stop\n`);
  await stopped;
  await dashboard.close();
}

/** Who can read what: loopback binds are this machine only, anything else is the network. */
export function exposure(d: { root: string; host: string; port: number; loopback: boolean }): string {
  if (d.loopback) return `serving the runs in ${d.root} to this machine only (${d.host} is a loopback address)`;
  const where = d.host === "0.0.0.0" || d.host === "::" ? "every network interface of this machine" : d.host;
  return (
    `serving the runs in ${d.root} on ${where}, port ${d.port}: anyone who can reach it can read every run's ` +
    `id, status, config and metrics (read-only, no authentication, no encryption)`
  );
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
    .option("--host <address>", "address to bind; a loopback one (127.x.x.x, ::1, localhost) serves this machine only, any other exposes your runs (read-only) to the network", "127.0.0.1")
    .option("--runs-root <dir>", `directory holding the run directories and runs.db, which must exist (default: $${RUNS_ROOT_ENV}, else ./runs, created when missing)`)
    .action((opts: DashboardCliOptions) => dashboardCommand(opts, io));
}
