import type { Env } from "../../../src/envs/env.js";
import type { DrawSource, GridObs, MiniGridEnv } from "../../../src/envs/grid/minigrid_env.js";
import { make } from "../../../src/envs/registry.js";

/** Scripted generation draws: each randInt(lo, hi) returns the next value (the env checks lo ≤ v < hi). */
export function scripted(values: number[]): DrawSource & { left(): number } {
  let i = 0;
  return {
    randInt(lo: number, hi: number): number {
      if (i >= values.length) throw new Error(`script ran out at draw ${i} (randInt(${lo}, ${hi}))`);
      return values[i++];
    },
    left: () => values.length - i,
  };
}

/** A grid env with MiniGrid's Dict observation and its base env. */
export function dictEnv(id: string, extra: Record<string, unknown> = {}): { env: Env<GridObs, number>; base: MiniGridEnv } {
  const env = make<GridObs, number>(id, { observation: "dict", ...extra });
  return { env, base: env.unwrapped as unknown as MiniGridEnv };
}

/** Channel c of view row vy (vx = 0…6). */
export function viewRow(image: ArrayLike<number>, vy: number, c = 0): number[] {
  const out: number[] = [];
  for (let vx = 0; vx < 7; vx++) out.push(image[(vx * 7 + vy) * 3 + c]);
  return out;
}

/** (type, colour, state) of view cell (vx, vy). */
export function viewCell(image: ArrayLike<number>, vx: number, vy: number): number[] {
  const o = (vx * 7 + vy) * 3;
  return [image[o], image[o + 1], image[o + 2]];
}

export const A = { left: 0, right: 1, forward: 2, pickup: 3, drop: 4, toggle: 5, done: 6 } as const;
