import { resolve } from "node:path";

/** File name of the run store inside a runs root. */
export const STORE_FILE = "runs.db";

/** Environment variable naming the runs root when no `--runs-root` is given. */
export const RUNS_ROOT_ENV = "REFINERY_RUNS";

/**
 * The runs root: the directory whose subdirectories are run directories and which holds
 * `runs.db`. An explicit option wins, then $REFINERY_RUNS, then `./runs` (where
 * `refinery train` puts runs by default).
 */
export function resolveRunsRoot(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[RUNS_ROOT_ENV];
  return resolve(option ?? (fromEnv && fromEnv.trim() ? fromEnv : "runs"));
}
