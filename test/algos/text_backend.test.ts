// The text runs' backend "auto" (the default): what it resolves to, that a run then computes
// on exactly that backend, that it is recorded, and that it never quietly continues a
// checkpoint written on another backend.
import { describe, expect, it } from "vitest";
import { getAlgorithm, resolveConfig } from "../../src/algos/index.js";
import { resolveTextBackend } from "../../src/algos/text_engine.js";
import type { Algorithm } from "../../src/algos/types.js";
import { simdKernelsAvailable } from "../../src/nn/kernels/simd.js";

const TINY = { layers: 1, width: 16, heads: 2, contextLength: 32, ffWidth: 32, activation: "gelu" as const };

type TextAlgo = Algorithm & { config: { backend: string }; policy: { model: { backend: string } }; recordedConfig(): Record<string, unknown> };

/** `algo` on a single-turn text task, or with "agent:" in front on the multi-turn task calc. */
async function make(name: string, overrides: Record<string, unknown> = {}): Promise<TextAlgo> {
  const agent = name.startsWith("agent:");
  const algo = agent ? name.slice(6) : name;
  const common = agent
    ? { task: "calc", model: { ...TINY, contextLength: 96 }, iterations: 4, evalProblems: 4, kernelThreads: 1 }
    : { task: "addition", taskOptions: { digits: 1 }, model: TINY, iterations: 4, evalProblems: 4, kernelThreads: 1 };
  const extra = algo === "sft" ? { batchSize: 8 } : { numPrompts: 4, groupSize: 4, learningRate: 1e-2 };
  const config = resolveConfig({ algo, overrides: { ...common, ...extra, ...overrides } });
  return (await getAlgorithm(algo, true, common.task).create(config)) as TextAlgo;
}

/** Two iterations' metrics: equal for two runs only if they computed on the same backend. */
async function twoIterations(algo: string, overrides: Record<string, unknown> = {}): Promise<{ backend: string; model: string; rows: unknown[] }> {
  const a = await make(algo, overrides);
  const rows = [a.iterate(), a.iterate()].map((m) => Object.entries(m).filter(([k]) => !/Seconds$|sps|PerSecond/i.test(k)));
  const out = { backend: a.config.backend, model: a.policy.model.backend, rows };
  a.dispose();
  return out;
}

describe("text backend auto", () => {
  it("is the default of the text runs (group algorithms and sft, single- and multi-turn), and resolves to the kernels where SIMD runs", () => {
    for (const algo of ["grpo", "rloo", "epo", "igrpo", "sft"]) expect(resolveConfig({ algo, task: "addition" }).backend).toBe("auto");
    for (const algo of ["grpo", "gigpo", "sft"]) expect(resolveConfig({ algo, task: "calc" }).backend).toBe("auto");
    expect(simdKernelsAvailable()).toBe(true); // Node ≥ 16.4: what this suite runs on
    expect(resolveTextBackend("auto")).toBe("kernels");
    for (const b of ["wasm", "cpu", "kernels"] as const) expect(resolveTextBackend(b)).toBe(b);
    expect(resolveTextBackend(undefined)).toBe("wasm"); // a config from before the key
    expect(() => resolveConfig({ algo: "grpo", task: "addition", overrides: { backend: "gpu" } })).toThrow(/backend/);
  });

  for (const algo of ["grpo", "sft", "agent:gigpo", "agent:sft"]) {
    it(`${algo}: computes exactly as the kernels when auto, and differently from wasm; the recorded config says kernels`, async () => {
      const auto = await twoIterations(algo);
      expect(auto.backend).toBe("kernels");
      expect(auto.model).toBe("kernels");
      const kernels = await twoIterations(algo, { backend: "kernels" });
      expect(auto.rows).toEqual(kernels.rows);
      const wasm = await twoIterations(algo, { backend: "wasm" });
      expect(wasm.backend).toBe("wasm");
      expect(wasm.model).not.toBe("kernels");
      expect(wasm.rows).not.toEqual(auto.rows); // so the equality above says something
      const a = await make(algo);
      expect(a.recordedConfig().backend).toBe("kernels");
      a.dispose();
    });
  }

  for (const algo of ["grpo", "sft", "agent:grpo"]) {
    it(`${algo}: records its backend in checkpoints; auto refuses one written on another backend, an explicit backend loads it`, async () => {
      const onWasm = await make(algo, { backend: "wasm" });
      onWasm.iterate();
      const state = onWasm.saveState();
      onWasm.dispose();
      expect(state.json.backend).toBe("wasm");

      const auto = await make(algo);
      expect(() => auto.loadState(state)).toThrow(/written on the wasm backend, but backend auto resolved to kernels/);
      auto.dispose();

      const explicit = await make(algo, { backend: "kernels" });
      explicit.loadState(state);
      expect(explicit.iteration).toBe(1);
      expect(explicit.saveState().json.backend).toBe("kernels");
      explicit.dispose();
    });
  }

  for (const algo of ["grpo", "agent:grpo"]) {
    it(`${algo}: a KL run's reference policy computes on the kernels too`, async () => {
      const a = await make(algo, { beta: 0.04 });
      const ref = (a as unknown as { reference: { model: { backend: string } } }).reference;
      expect(ref.model.backend).toBe("kernels");
      a.iterate();
      a.dispose();
    });
  }
});
