/**
 * `npm run bench -- scale --threads [--algo grpo|text|ppo] [--steps N]`: `refinery train` with
 * its rollouts collected in this process (no flag) against `--actor-threads 1` and `2`, each
 * with `--max-staleness 0` and `1` (ppo: 0 only). Prints the training SPS (tokens/s for text)
 * of the last metrics row (so the final evaluation is not in it), the main thread's busy
 * share, its wait and update per iteration, and the staleness of the pieces it trained on.
 * The workload is grpo on CartPole-v1 with 4 start states × 8 episodes per iteration, or grpo
 * on parity with a tiny fresh model (8 prompts × 8 completions), with a learning rate of 1e-9:
 * the updates cost what they cost, but the policy stays as it started, so every variant
 * collects the same kind of episodes (a learning policy makes longer CartPole episodes and
 * shorter parity answers, which would change the SPS more than the threads do). All on
 * this machine's cores.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mean, run } from "./scale.js";


export async function benchThreads(argv: string[]): Promise<void> {
  const arg = (name: string, def: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : def;
  };
  const algo = arg("--algo", "grpo");
  const text = algo === "text";
  const steps = Number(arg("--steps", text ? "3000" : "20000"));
  const dir = mkdtempSync(join(tmpdir(), "refinery-bench-threads-"));
  const env = { REFINERY_RUNS: dir };
  const config = join(dir, "parity.json");
  writeFileSync(
    config,
    JSON.stringify({
      task: "parity",
      taskOptions: { bits: 4 },
      chars: "01?",
      model: { layers: 1, width: 16, heads: 2, contextLength: 16, ffWidth: 32, activation: "gelu" },
      rewards: [{ name: "format", weight: 1 }],
      numPrompts: 8,
      groupSize: 8,
      learningRate: 1e-9,
      warmupIterations: 0,
      evalEvery: 0,
      evalProblems: 16,
      backend: "cpu",
    }),
  );
  const iterations = Math.max(2, Math.round(steps / 100));
  const runArgs =
    algo === "ppo"
      ? ["--algo", "ppo", "--env", "CartPole-v1", "--steps", String(steps), "--set", "evalEpisodes=1", "--set", "learningRate=1e-9"]
      : text
        ? ["--algo", "grpo", "--config", config, "--iterations", String(iterations)]
        : ["--algo", "grpo", "--env", "CartPole-v1", "--steps", String(steps), "--set", "numStarts=4", "--set", "evalEpisodes=1", "--set", "learningRate=1e-9"];
  console.log(
    algo === "ppo"
      ? `ppo on CartPole-v1 (4 envs × 128 steps per iteration), ${steps} steps, learning rate 1e-9; busy 2-core machine`
      : text
        ? `grpo on parity (8 prompts × 8 completions per iteration, tiny fresh model, learning rate 1e-9), ${iterations} iterations; busy 2-core machine`
        : `grpo on CartPole-v1 (4 starts × 8 episodes per iteration), ${steps} steps, learning rate 1e-9; busy 2-core machine`,
  );
  console.log(`threads  max-staleness  ${text ? "tokens/s" : "SPS     "}  main busy  wait/it  update/it  staleness`);
  const cases: [number, number][] = [[0, 0], [1, 0], [2, 0], ...(algo === "ppo" ? [] : ([[1, 1], [2, 1]] as [number, number][]))];
  try {
    for (const [threads, staleness] of cases) {
      const out = join(dir, `t${threads}-s${staleness}`);
      const flags = threads ? ["--actor-threads", String(threads), "--max-staleness", String(staleness)] : [];
      const r = await run(["train", ...runArgs, ...flags, "--out", out, "--json", "--quiet"], env);
      if (r.code !== 0) throw new Error(`train failed: ${r.err}`);
      const rows = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((x) => JSON.parse(x)).filter((row) => row.kind === "train");
      const later = rows.slice(1); // the first row pays for start-up
      const col = (k: string) => mean(later.map((row) => Number(row[k])));
      const sps = Number(rows.at(-1).sps);
      console.log(
        `${String(threads || "—").padEnd(8)} ${threads ? String(staleness).padEnd(14) : "—".padEnd(14)} ${String(Math.round(sps)).padEnd(9)} ` +
          `${threads ? `${(100 * col("remote/learnerBusy")).toFixed(0).padStart(5)} %` : "      —"}   ${threads ? `${(1000 * col("remote/waitSeconds")).toFixed(0).padStart(4)} ms` : "     —"}  ` +
          `${(1000 * col("updateSeconds")).toFixed(0).padStart(5)} ms   ${threads ? col("remote/staleness").toFixed(2) : "—"}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
