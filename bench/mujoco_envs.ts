/**
 * Raw speed of the MuJoCo v5 envs on the official MuJoCo WebAssembly build: env steps per
 * second of the bare env class, of the make() stack (checker, time limit, order) and of a
 * SyncVectorEnv of 8 copies (counting env steps, 8 per vector step), with random actions
 * drawn in advance and a reset whenever an episode ends; physics steps per second = bare
 * env steps × frame skip. Prints medians over rounds; asserts nothing.
 *
 *   npm run bench -- mujoco-envs [--seconds 1 --rounds 3 --json]
 */
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.js";
import type { Env } from "../src/envs/env.js";
import type { MujocoEnv } from "../src/envs/mujoco/base.js";
import { loadMujoco, mujocoPackage } from "../src/envs/mujoco/loader.js";
import { listEnvs, make, registry } from "../src/envs/registry.js";
import { SyncVectorEnv } from "../src/envs/vector.js";

const { values } = parseArgs({
  options: { seconds: { type: "string", default: "1" }, rounds: { type: "string", default: "3" }, json: { type: "boolean", default: false } },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const POOL = 4096;

const t0 = performance.now();
const mj = await loadMujoco();
const loadMs = performance.now() - t0;

function stepsPerSecond(env: Env<unknown, unknown>): number {
  const rng = new Rng(1);
  const actions = Array.from({ length: POOL }, () => env.actionSpace.sample(rng));
  env.reset({ seed: 0 });
  let steps = 0;
  const start = performance.now();
  let t = start;
  while (t - start < seconds * 1000) {
    for (let k = 0; k < 200; k++) {
      const [, , term, trunc] = env.step(actions[steps & (POOL - 1)]);
      steps++;
      if (term || trunc) env.reset();
    }
    t = performance.now();
  }
  env.close();
  return steps / ((t - start) / 1000);
}

const N = 8;
function vectorStepsPerSecond(id: string): number {
  const vec = new SyncVectorEnv(Array.from({ length: N }, () => () => make(id)));
  const rng = new Rng(2);
  const size = (vec.singleActionSpace as unknown as { size: number }).size;
  const batches = Array.from({ length: 64 }, () => {
    const flat = new Float32Array(N * size);
    for (let i = 0; i < N; i++) flat.set(vec.singleActionSpace.sample(rng) as Float32Array, i * size);
    return flat;
  });
  vec.reset({ seed: 0 });
  let steps = 0, k = 0;
  const start = performance.now();
  let t = start;
  while (t - start < seconds * 1000) {
    for (let j = 0; j < 20; j++) {
      vec.step(batches[k++ & 63]);
      steps += N;
    }
    t = performance.now();
  }
  vec.close();
  return steps / ((t - start) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ids = listEnvs().filter((e) => registry.get(e.id)?.prepare && e.id.endsWith("-v5")).map((e) => e.id);
const rows: { env: string; frameSkip: number; bare: number; made: number; vec8: number; physics: number }[] = [];
for (const id of ids) {
  const reg = registry.get(id)!;
  const bare: number[] = [], made: number[] = [], vec: number[] = [];
  let frameSkip = 1;
  for (let r = 0; r < rounds; r++) {
    const env = reg.entryPoint({ ...(reg.kwargs ?? {}) });
    frameSkip = (env as unknown as MujocoEnv).frameSkip;
    bare.push(stepsPerSecond(env));
    made.push(stepsPerSecond(make(id)));
    vec.push(vectorStepsPerSecond(id));
  }
  rows.push({ env: id, frameSkip, bare: median(bare), made: median(made), vec8: median(vec), physics: median(bare) * frameSkip });
}

if (values.json) {
  console.log(JSON.stringify({ seconds, rounds, node: process.version, mujoco: mj.mj_versionString(), loadMs, rows }));
} else {
  const f = (x: number) => Math.round(x).toLocaleString("en-US").padStart(12);
  console.log(`MuJoCo ${mj.mj_versionString()} (${mujocoPackage()} wasm, loaded in ${Math.round(loadMs)} ms), node ${process.version}`);
  console.log(`env steps per second, median of ${rounds} rounds of ${seconds}s`);
  console.log(`${"env".padEnd(28)}${"frame skip".padStart(11)}${"bare env".padStart(12)}${"make()".padStart(12)}${"vector n=8".padStart(12)}${"physics/s".padStart(12)}`);
  for (const r of rows) console.log(`${r.env.padEnd(28)}${String(r.frameSkip).padStart(11)}${f(r.bare)}${f(r.made)}${f(r.vec8)}${f(r.physics)}`);
}
