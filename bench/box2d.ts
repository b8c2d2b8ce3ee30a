/**
 * Box2D envs (LunarLander on planck): raw env steps per second of the bare env and of the
 * make() stack under random actions (resets included, as they happen), the cost of a
 * reset, and the cost of a snapshot restore, which replays the episode so far and so grows
 * with its length. Prints medians over rounds; asserts nothing.
 *
 *   npm run bench -- box2d [--seconds 1 --rounds 3]
 */
import { parseArgs } from "node:util";
import { Rng } from "../src/core/rng.js";
import { LunarLanderEnv } from "../src/envs/box2d/lunar_lander.js";
import type { Env } from "../src/envs/env.js";
import { make } from "../src/envs/registry.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function stepsPerSecond(env: Env<unknown, unknown>, seconds: number): number {
  const rng = new Rng(1);
  const actions = Array.from({ length: 4096 }, () => env.actionSpace.sample(rng));
  env.reset({ seed: 0 });
  let steps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 100; k++) {
      const [, , terminated, truncated] = env.step(actions[steps & 4095]);
      steps++;
      if (terminated || truncated) env.reset();
    }
    t = performance.now();
  }
  return steps / ((t - t0) / 1000);
}

/** Milliseconds per reset, and per restore of a snapshot taken `at` steps into an episode of no-op-ish flight. */
function snapshotCosts(at: number): { resetMs: number; restoreMs: number } {
  const env = new LunarLanderEnv();
  let t0 = performance.now();
  for (let i = 0; i < 50; i++) env.reset({ seed: i });
  const resetMs = (performance.now() - t0) / 50;
  env.reset({ seed: 0 });
  // Hover with the main engine now and then so the episode lasts `at` steps.
  for (let t = 0; t < at; t++) env.step(t % 3 === 0 ? 2 : 0);
  const state = env.getState();
  const other = new LunarLanderEnv();
  other.reset({ seed: 1 });
  t0 = performance.now();
  const n = 20;
  for (let i = 0; i < n; i++) {
    other.setState(state);
    other.step(0); // moves it away, so the next restore replays again
  }
  return { resetMs, restoreMs: (performance.now() - t0) / n };
}

export async function benchBox2d(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { seconds: { type: "string", default: "1" }, rounds: { type: "string", default: "3" } } });
  const seconds = Number(values.seconds), rounds = Number(values.rounds);
  console.log(`Box2D envs on planck: env steps per second, median of ${rounds} rounds of ${seconds}s (random actions, resets included)`);
  for (const id of ["LunarLander-v3", "LunarLanderContinuous-v3"]) {
    const raw: number[] = [], wrapped: number[] = [];
    for (let r = 0; r < rounds; r++) {
      raw.push(stepsPerSecond(new LunarLanderEnv({ continuous: id.includes("Continuous") }) as Env<unknown, unknown>, seconds));
      wrapped.push(stepsPerSecond(make(id), seconds));
    }
    console.log(`  ${id.padEnd(26)} bare ${median(raw).toFixed(0).padStart(6)}/s   make() ${median(wrapped).toFixed(0).padStart(6)}/s`);
  }
  for (const at of [50, 200, 500]) {
    const costs = Array.from({ length: rounds }, () => snapshotCosts(at));
    console.log(`  reset ${median(costs.map((c) => c.resetMs)).toFixed(2)} ms; restore of a snapshot ${at} steps into an episode ${median(costs.map((c) => c.restoreMs)).toFixed(2)} ms`);
  }
}
