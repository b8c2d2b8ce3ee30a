/**
 * Raw environment speed: steps per second of each built-in env, single (the bare env
 * class and the make() stack of wrappers) and vectorized (SyncVectorEnv, n = 8; counts
 * env steps, i.e. n per vector step). Actions are drawn in advance so that the numbers
 * measure the envs. Prints medians over rounds; asserts nothing.
 *
 *   npm run bench:envs [-- --seconds 1 --rounds 5]
 */
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.js";
import type { Env } from "../src/envs/env.js";
import { listEnvs, make, registry } from "../src/envs/registry.js";
import { SyncVectorEnv } from "../src/envs/vector.js";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "0.5" }, rounds: { type: "string", default: "5" }, json: { type: "boolean", default: false } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const N = 8;
const POOL = 4096;

function actionPool(env: Env<unknown, unknown>, rng: Rng, n: number): unknown[] {
  return Array.from({ length: n }, () => env.actionSpace.sample(rng));
}

/** Steps per second of a single env over ~`seconds`. */
function timeSingle(env: Env<unknown, unknown>): number {
  const actions = actionPool(env, new Rng(1), POOL);
  env.reset({ seed: 0 });
  let steps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 1000; k++) {
      const [, , term, trunc] = env.step(actions[steps & (POOL - 1)]);
      steps++;
      if (term || trunc) env.reset();
    }
    t = performance.now();
  }
  return steps / ((t - t0) / 1000);
}

/** Env steps per second of a SyncVectorEnv of n copies. */
function timeVector(id: string): number {
  const vec = new SyncVectorEnv(Array.from({ length: N }, () => () => make(id)));
  const rng = new Rng(2);
  const single = vec.singleActionSpace;
  const batches = Array.from({ length: 256 }, () => {
    const acts = Array.from({ length: N }, () => single.sample(rng) as number | ArrayLike<number>);
    if (typeof acts[0] === "number") return Int32Array.from(acts as number[]);
    const size = (acts[0] as ArrayLike<number>).length;
    const flat = new Float32Array(N * size);
    acts.forEach((a, i) => flat.set(a as ArrayLike<number>, i * size));
    return flat;
  });
  vec.reset({ seed: 0 });
  let steps = 0;
  const t0 = performance.now();
  let t = t0;
  let k = 0;
  while (t - t0 < seconds * 1000) {
    for (let j = 0; j < 100; j++) {
      vec.step(batches[k++ & 255]);
      steps += N;
    }
    t = performance.now();
  }
  vec.close();
  return steps / ((t - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: { env: string; raw: number; wrapped: number; vec8: number }[] = [];
// Envs with asynchronous set-up (the MuJoCo envs) have their own benchmark: `npm run bench -- mujoco-envs`.
for (const { id } of listEnvs().filter((e) => !registry.get(e.id)?.prepare)) {
  const reg = registry.get(id)!;
  const raw: number[] = [], wrapped: number[] = [], vec: number[] = [];
  for (let r = 0; r < rounds; r++) {
    raw.push(timeSingle(reg.entryPoint({ ...(reg.kwargs ?? {}) })));
    wrapped.push(timeSingle(make(id)));
    vec.push(timeVector(id));
  }
  rows.push({ env: id, raw: median(raw), wrapped: median(wrapped), vec8: median(vec) });
}

if (values.json) {
  console.log(JSON.stringify({ seconds, rounds, node: process.version, rows }));
} else {
  const f = (x: number) => Math.round(x).toLocaleString("en-US").padStart(12);
  console.log(`env steps per second, median of ${rounds} rounds of ${seconds}s (node ${process.version})`);
  console.log(`${"env".padEnd(26)}${"bare env".padStart(12)}${"make()".padStart(12)}${"vector n=8".padStart(12)}`);
  for (const r of rows) console.log(`${r.env.padEnd(26)}${f(r.raw)}${f(r.wrapped)}${f(r.vec8)}`);
}
