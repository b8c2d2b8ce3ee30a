/**
 * Sync vs async (worker-thread) vector envs: raw env steps per second of the vector env
 * with random actions (CartPole-v1, Acrobot-v1 and HeavyCartPole-v0, a CartPole that burns a
 * few hundred microseconds per step like a costly simulator), and PPO's end-to-end SPS
 * on CartPole-v1 and HeavyCartPole-v0 (rollout + update, per iteration) with vectorEnv=sync and vectorEnv=async
 * with 1 and 2 workers. Variants run interleaved, median over rounds; asserts nothing.
 *
 *   npm run bench -- async [--rounds 3] [--envs 8] [--vecSteps 3000] [--iterations 6]
 *
 * On a busy machine absolute numbers drift; compare the ratios within one run.
 */
import { parseArgs } from "node:util";
import { resolveConfig } from "../src/algos/index.js";
import { PPO } from "../src/algos/ppo.js";
import type { PPOConfig } from "../src/algos/ppo_config.js";
import { makeVec, type VectorEnv } from "../src/envs/vector.js";
import { AsyncVectorEnv } from "../src/scale/async_vector.js";
import { recordUserModule } from "../src/scale/user_modules.js";

const HEAVY = new URL("./heavy_env.ts", import.meta.url).href;
await import(HEAVY);
recordUserModule(HEAVY); // as the CLI does for --import, so PPO's async workers load it too

interface Variant {
  label: string;
  mode: "sync" | "async";
  workers: number;
}
const VARIANTS: Variant[] = [
  { label: "sync", mode: "sync", workers: 1 },
  { label: "async, 1 worker", mode: "async", workers: 1 },
  { label: "async, 2 workers", mode: "async", workers: 2 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function vecFor(id: string, n: number, v: Variant): Promise<VectorEnv> {
  return v.mode === "sync" ? makeVec(id, n) : AsyncVectorEnv.create({ kind: "make", id }, n, { workers: v.workers, imports: [HEAVY] });
}

/** Env steps per second (all envs together) of `vecSteps` vector steps with random actions. */
async function envSps(id: string, n: number, vecSteps: number, v: Variant): Promise<number> {
  const vec = await vecFor(id, n, v);
  try {
    vec.reset({ seed: 0 });
    const k = vec.singleActionSpace.toJSON() as { n?: number };
    const actions = new Int32Array(n);
    let s = 12345;
    const t0 = performance.now();
    for (let t = 0; t < vecSteps; t++) {
      for (let i = 0; i < n; i++) actions[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % (k.n ?? 2);
      vec.step(actions);
    }
    return (n * vecSteps) / ((performance.now() - t0) / 1000);
  } finally {
    vec.close();
  }
}

/** PPO SPS on CartPole over `iterations` iterations after one warm-up iteration; also the rollout share. */
async function ppoSps(env: string, n: number, iterations: number, v: Variant): Promise<{ sps: number; rolloutSps: number }> {
  const config = resolveConfig({ algo: "ppo", env, overrides: { numEnvs: n, totalTimesteps: n * 128 * (iterations + 1), vectorEnv: v.mode, workers: v.workers } }) as PPOConfig;
  const ppo = await PPO.create(config);
  try {
    ppo.iterate();
    let rollout = 0;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) rollout += ppo.iterate().rolloutSeconds as number;
    const steps = iterations * ppo.stepsPerIteration;
    return { sps: steps / ((performance.now() - t0) / 1000), rolloutSps: steps / rollout };
  } finally {
    ppo.dispose();
  }
}

export async function benchAsync(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string", default: "3" },
      envs: { type: "string", default: "8" },
      vecSteps: { type: "string", default: "3000" },
      iterations: { type: "string", default: "6" },
    },
  });
  const rounds = Number(values.rounds), n = Number(values.envs), vecSteps = Number(values.vecSteps), iterations = Number(values.iterations);
  console.log(`vector env steps/s, ${n} envs, ${vecSteps} vector steps (HeavyCartPole: 1/20 of them), random actions (median of ${rounds} interleaved rounds)`);
  for (const id of ["CartPole-v1", "Acrobot-v1", "HeavyCartPole-v0"]) {
    const results = VARIANTS.map(() => [] as number[]);
    const steps = id.startsWith("Heavy") ? Math.max(1, Math.round(vecSteps / 20)) : vecSteps;
    for (let r = 0; r < rounds; r++) for (const [j, v] of VARIANTS.entries()) results[j].push(await envSps(id, n, steps, v));
    for (const [j, v] of VARIANTS.entries()) console.log(`  ${id.padEnd(12)} ${v.label.padEnd(18)} ${Math.round(median(results[j])).toLocaleString("en-US").padStart(10)} steps/s`);
  }
  for (const env of ["CartPole-v1", "HeavyCartPole-v0"]) {
    const its = env.startsWith("Heavy") ? Math.min(2, iterations) : iterations;
    console.log(`PPO ${env}, ${n} envs × 128 steps, ${its} iterations after a warm-up (median of ${rounds} interleaved rounds)`);
    const sps = VARIANTS.map(() => [] as number[]), roll = VARIANTS.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [j, v] of VARIANTS.entries()) {
        const m = await ppoSps(env, n, its, v);
        sps[j].push(m.sps);
        roll[j].push(m.rolloutSps);
      }
    }
    for (const [j, v] of VARIANTS.entries()) {
      console.log(`  ${v.label.padEnd(18)} ${Math.round(median(sps[j])).toLocaleString("en-US").padStart(8)} SPS   (rollout alone ${Math.round(median(roll[j])).toLocaleString("en-US")} steps/s)`);
    }
  }
}
