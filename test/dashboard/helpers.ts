import { join } from "node:path";
import { RunStore } from "../../src/store/store.js";
import { fakeRun } from "../store/helpers.js";

/** A small seeded generator (mulberry32): the same rows on every run of a test. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A trainer's training row of iteration i (steps 128 apart), with noise from `rand`. */
export function trainRow(i: number, rand: () => number): Record<string, unknown> {
  return {
    kind: "train",
    iteration: i,
    step: 128 * i,
    episodeReturnMean: Math.round(i / 10 + rand() * 5000) / 100,
    policyLoss: rand() < 0.002 ? 7 : Math.round(rand() * 1e6) / 1e8,
    entropy: 0.69 - i / 1e7,
    sps: 5000,
  };
}

/**
 * A finished run `id` in `root` with `n` training rows and one evaluation row every
 * `evalEvery` iterations, written straight into the store (as a trainer's sink would,
 * without a metrics.jsonl of that size). Returns every row written.
 */
export function bigRun(root: string, id: string, n: number, opts: { seed?: number; evalEvery?: number } = {}): Record<string, unknown>[] {
  fakeRun(join(root, id), { seed: opts.seed ?? 1, returns: [1] });
  const rand = makeRng(opts.seed ?? 1);
  const rows: Record<string, unknown>[] = [];
  for (let i = 1; i <= n; i++) {
    rows.push(trainRow(i, rand));
    if (opts.evalEvery && i % opts.evalEvery === 0) rows.push({ kind: "eval", iteration: i, step: 128 * i, evalReturnMean: rand() * 500 });
  }
  const store = RunStore.open(root);
  for (let k = 0; k < rows.length; k += 10_000) store.recordMetricsBatch(id, rows.slice(k, k + 10_000));
  store.close();
  return rows;
}
