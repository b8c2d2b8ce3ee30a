// Shared checks for the algorithm unit tests: build a small run, iterate, compare.
import * as tf from "@tensorflow/tfjs-core";
import { expect } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import type { Algorithm, IterationMetrics } from "../../src/algos/types.js";

/** A resolved config for `algo` with the cpu backend and the given overrides. */
export function smallConfig(algo: string, overrides: Record<string, unknown> = {}, env = "CartPole-v1"): Record<string, unknown> {
  return resolveConfig({ algo, env, overrides: { backend: "cpu", ...overrides } });
}

export async function create(algo: string, overrides: Record<string, unknown> = {}, env = "CartPole-v1"): Promise<Algorithm> {
  return ALGORITHMS[algo].create(smallConfig(algo, overrides, env));
}

/** Metrics of `n` iterations of a fresh run. */
export async function iterations(algo: string, overrides: Record<string, unknown>, n: number, env = "CartPole-v1"): Promise<IterationMetrics[]> {
  const a = await create(algo, overrides, env);
  const rows = Array.from({ length: n }, () => a.iterate());
  a.dispose();
  return rows;
}

/** The numbers that depend on the data and the update, not on the clock. */
export function learningNumbers(rows: IterationMetrics[]): number[][] {
  return rows.map((m) => Object.entries(m).filter(([k]) => !k.endsWith("Seconds")).map(([, v]) => v));
}

export async function expectNoTensorLeak(algo: string, overrides: Record<string, unknown>, env = "CartPole-v1"): Promise<void> {
  const a = await create(algo, overrides, env);
  a.iterate(); // Adam's state and every variable exist after the first update
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) a.iterate();
  expect(tf.memory().numTensors).toBe(before);
  a.dispose();
}

export async function expectDeterministic(algo: string, overrides: Record<string, unknown>): Promise<void> {
  const a = learningNumbers(await iterations(algo, { ...overrides, seed: 5 }, 2));
  expect(learningNumbers(await iterations(algo, { ...overrides, seed: 5 }, 2))).toEqual(a);
  expect(learningNumbers(await iterations(algo, { ...overrides, seed: 6 }, 2))).not.toEqual(a);
}

/** saveState → a fresh instance's loadState continues exactly as the original does. */
export async function expectExactResume(algo: string, overrides: Record<string, unknown>, env = "CartPole-v1"): Promise<void> {
  const original = await create(algo, overrides, env);
  original.iterate();
  original.iterate();
  const state = structuredClone(original.saveState());
  const resumed = await create(algo, overrides, env);
  resumed.loadState(state);
  expect(resumed.iteration).toBe(2);
  expect(resumed.stepsDone).toBe(original.stepsDone);
  const next = learningNumbers([original.iterate(), original.iterate()]);
  expect(learningNumbers([resumed.iterate(), resumed.iterate()])).toEqual(next);
  expect(resumed.exportPolicy().weights).toEqual(original.exportPolicy().weights);
  expect(resumed.saveState().arrays).toEqual(original.saveState().arrays);
  original.dispose();
  resumed.dispose();
}

/** The diagnostics every algorithm reports, within their ranges; `clip` false for one without a clip range (mdpo). */
export function expectCommonMetrics(m: IterationMetrics, { clip = true } = {}): void {
  if (clip) expect(m).toHaveProperty("clipFraction");
  else expect(m).not.toHaveProperty("clipFraction");
  for (const key of ["policyLoss", "entropy", "approxKl", "advantageMean", "advantageStd", "zeroVarianceGroups", "selectedFraction"]) {
    expect(m, key).toHaveProperty(key);
  }
  expect(m.entropy).toBeGreaterThan(0);
  expect(m.approxKl).toBeGreaterThanOrEqual(-1e-7);
  if ("clipFraction" in m) {
    expect(m.clipFraction).toBeGreaterThanOrEqual(0);
    expect(m.clipFraction).toBeLessThanOrEqual(1);
  }
  expect(m.advantageStd).toBeGreaterThanOrEqual(0);
  expect(m.selectedFraction).toBeGreaterThan(0);
  expect(m.selectedFraction).toBeLessThanOrEqual(1);
  if (!Number.isNaN(m.zeroVarianceGroups)) {
    expect(m.zeroVarianceGroups).toBeGreaterThanOrEqual(0);
    expect(m.zeroVarianceGroups).toBeLessThanOrEqual(1);
  }
}
