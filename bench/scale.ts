/**
 * `npm run bench -- scale [--steps N] [--actors 1,2,4] [--algo ppo|grpo|text] [--max-staleness N]`
 * (with `--threads`: actor threads in one process instead, see thread_actors.ts):
 * actor–learner PPO on CartPole-v1 (or grpo on CartPole, 4 start states × 8 episodes per
 * iteration; or grpo on the parity text task with a tiny fresh model, 8 prompts × 8 completions)
 * through a private redis-server (loopback, started here), against the number of actor
 * processes: SPS, the learner's busy share, its per-iteration costs and the bytes on the wire.
 * Everything (Redis, learner, actors) shares this machine's cores: read the SPS as what
 * this machine does, not as what N machines would.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PPO } from "../src/algos/ppo.js";
import { PPO_DEFAULTS } from "../src/algos/ppo_config.js";
import { encodeMessage } from "../src/scale/wire.js";
import { TestRedis } from "../test/helpers/redis_server.js";

const BIN = resolve("bin/refinery.js");

/** Runs `refinery ARGS` in a child process; its exit code and output. */
export function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => res({ code, out, err }));
  });
}

export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function benchScale(argv: string[]): Promise<void> {
  // Actor threads in one process (refinery train --actor-threads), no Redis: bench/thread_actors.ts.
  if (argv.includes("--threads")) return (await import("./thread_actors.js")).benchThreads(argv);
  const arg = (name: string, def: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : def;
  };
  const steps = Number(arg("--steps", "8192"));
  const actorCounts = arg("--actors", "1,2,4").split(",").map(Number);
  const algo = arg("--algo", "ppo");
  const staleness = arg("--max-staleness", "0");
  const dir = mkdtempSync(join(tmpdir(), "refinery-bench-scale-"));
  if (algo !== "ppo") return benchGroups(algo, steps, actorCounts, staleness, dir);
  const redis = await TestRedis.start();
  const env = { REFINERY_RUNS: dir };
  try {
    const ppo = await PPO.create({ ...PPO_DEFAULTS, numEnvs: 1 });
    const weightBytes = encodeMessage({ kind: "weights", run: "bench", session: "x".repeat(36), version: 0 }, ppo.policy.getWeights()).length;
    ppo.dispose();
    const single = await run(["train", "--steps", String(steps), "--out", join(dir, "single"), "--json", "--quiet"], env);
    const s = JSON.parse(single.out.trim().split("\n").at(-1) as string);
    console.log(`CartPole-v1 PPO (CleanRL defaults: 4 envs × 128 steps = 512 steps per iteration), ${steps} steps; busy 2-core machine`);
    console.log(`single process (refinery train): ${Math.round(s.sps)} SPS`);
    console.log(`weights message: ${weightBytes} bytes`);
    console.log("actors  SPS    learner busy  wait/it  update/it  publish/it  shards/it  bytes/shard");
    for (const n of actorCounts) {
      const name = `bench${n}`;
      const learner = run(["learner", "--redis", redis.url, "--run", name, "--steps", String(steps), "--shards", "4", "--out", join(dir, name), "--json", "--quiet"], env);
      const actors = Array.from({ length: n }, (_, i) => run(["actor", "--redis", redis.url, "--run", name, "--name", `a${i}`, "--quiet"], env));
      const l = await learner;
      await Promise.all(actors);
      if (l.code !== 0) throw new Error(`learner failed: ${l.err}`);
      const summary = JSON.parse(l.out.trim().split("\n").at(-1) as string);
      const rows = readFileSync(join(dir, name, "metrics.jsonl"), "utf8").trim().split("\n").map((x) => JSON.parse(x)).filter((r) => r.kind === "train").slice(1);
      const col = (k: string) => mean(rows.map((r) => Number(r[k])));
      console.log(
        `${String(n).padEnd(7)} ${String(Math.round(summary.sps)).padEnd(6)} ${(100 * col("remote/learnerBusy")).toFixed(0).padStart(5)} %       ` +
          `${(1000 * col("remote/waitSeconds")).toFixed(0).padStart(4)} ms  ${(1000 * col("updateSeconds")).toFixed(0).padStart(5)} ms   ${(1000 * col("remote/publishSeconds")).toFixed(1).padStart(6)} ms   4          ${Math.round(col("remote/bytesPerShard"))}`,
      );
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Group (grpo on CartPole) or text (grpo on parity) pieces over 1, 2, 4 actors: SPS, busy share, staleness, bytes per piece. */
async function benchGroups(algo: string, steps: number, actorCounts: number[], staleness: string, dir: string): Promise<void> {
  const redis = await TestRedis.start();
  const env = { REFINERY_RUNS: dir };
  const text = algo === "text";
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
      learningRate: 0.003,
      warmupIterations: 0,
      evalEvery: 0,
      evalProblems: 16,
      backend: "cpu",
    }),
  );
  const runArgs = text ? ["--algo", "grpo", "--config", config, "--iterations", String(Math.max(1, Math.round(steps / 100)))] : ["--algo", "grpo", "--env", "CartPole-v1", "--steps", String(steps), "--set", "numStarts=4"];
  const sizeKey = text ? "iterationTokens" : "iterationSteps";
  try {
    const single = await run(["train", ...runArgs, "--out", join(dir, "single"), "--json", "--quiet"], env);
    if (single.code !== 0) throw new Error(`train failed: ${single.err}`);
    const s = JSON.parse(single.out.trim().split("\n").at(-1) as string);
    console.log(text ? `grpo on parity (8 prompts × 8 completions per iteration, 4 pieces of 2 prompts), ${runArgs.at(-1)} iterations; --max-staleness ${staleness}; busy 2-core machine` : `grpo on CartPole-v1 (4 starts × 8 episodes per iteration, 4 pieces of 1 start), ${steps} steps; --max-staleness ${staleness}; busy 2-core machine`);
    console.log(`single process (refinery train): ${Math.round(s.sps)} ${text ? "tokens/s" : "SPS"}`);
    console.log(`actors  ${text ? "tok/s" : "SPS  "}  learner busy  wait/it  update/it  publish/it  staleness  bytes/piece  bytes/${text ? "token" : "step"}`);
    for (const n of actorCounts) {
      const name = `${algo}${n}`;
      const learner = run(["learner", "--redis", redis.url, "--run", name, ...runArgs, "--shards", "4", "--max-staleness", staleness, "--out", join(dir, name), "--json", "--quiet"], env);
      const actors = Array.from({ length: n }, (_, i) => run(["actor", "--redis", redis.url, "--run", name, "--name", `a${i}`, "--quiet"], env));
      const l = await learner;
      await Promise.all(actors);
      if (l.code !== 0) throw new Error(`learner failed: ${l.err}`);
      const summary = JSON.parse(l.out.trim().split("\n").at(-1) as string);
      const rows = readFileSync(join(dir, name, "metrics.jsonl"), "utf8").trim().split("\n").map((x) => JSON.parse(x)).filter((r) => r.kind === "train").slice(1);
      const col = (k: string) => mean(rows.map((r) => Number(r[k])));
      const perPiece = col("remote/bytesPerShard");
      console.log(
        `${String(n).padEnd(7)} ${String(Math.round(summary.sps)).padEnd(6)} ${(100 * col("remote/learnerBusy")).toFixed(0).padStart(5)} %       ` +
          `${(1000 * col("remote/waitSeconds")).toFixed(0).padStart(4)} ms  ${(1000 * col("updateSeconds")).toFixed(0).padStart(5)} ms   ${(1000 * col("remote/publishSeconds")).toFixed(1).padStart(6)} ms   ` +
          `${col("remote/staleness").toFixed(2).padStart(5)}      ${String(Math.round(perPiece)).padStart(7)}      ${(perPiece / (col(sizeKey) / 4)).toFixed(1)}`,
      );
    }
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
