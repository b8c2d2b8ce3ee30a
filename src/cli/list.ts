import { listEnvs } from "../envs/registry.js";

/** `refinery list`: the registered environments with their specs. */
export function listCommand(opts: { json: boolean }, out: (s: string) => void): void {
  const envs = listEnvs();
  if (opts.json) {
    out(JSON.stringify({ envs }, null, 2) + "\n");
    return;
  }
  out("Environments:\n");
  const w = Math.max(...envs.map((e) => e.id.length));
  for (const e of envs) {
    const limit = e.maxEpisodeSteps ? `max ${e.maxEpisodeSteps} steps` : "no time limit";
    const thr = e.rewardThreshold !== undefined ? `, solved at ${e.rewardThreshold}` : "";
    out(`  ${e.id.padEnd(w)}  ${limit}${thr}${e.description ? ` — ${e.description}` : ""}\n`);
  }
}
