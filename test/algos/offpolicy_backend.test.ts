// The off-policy algorithms' backend "auto" (the default): what it resolves to, that a run
// then computes on exactly that backend, and that it never quietly continues a checkpoint
// written on another one.
import { describe, expect, it } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import { OFF_POLICY_COMMON_DEFAULTS, resolveOffPolicyBackend, type OffPolicyAlgorithm } from "../../src/algos/off_policy.js";
import { simdKernelsAvailable } from "../../src/nn/kernels/simd.js";

async function make(algo: string, overrides: Record<string, unknown> = {}): Promise<OffPolicyAlgorithm> {
  const env = algo === "dqn" ? "CartPole-v1" : "Pendulum-v1";
  const config = resolveConfig({ algo, env, overrides: { hidden: [16, 16], batchSize: 16, learningStarts: 32, iterationSteps: 64, totalTimesteps: 256, bufferSize: 1000, ...overrides } });
  return (await ALGORITHMS[algo].create(config)) as OffPolicyAlgorithm;
}

/** Two iterations' metrics: equal for two runs only if they computed on the same backend. */
async function twoIterations(algo: string, overrides: Record<string, unknown> = {}): Promise<{ backend: string; rows: unknown[] }> {
  const a = await make(algo, overrides);
  const rows = [a.iterate(), a.iterate()].map((m) => Object.entries(m).filter(([k]) => !/Seconds$|sps/i.test(k)));
  const backend = a.config.backend;
  a.dispose();
  return { backend, rows };
}

describe("off-policy backend auto", () => {
  it("is the default of dqn, sac, td3 and mdpo-off, and resolves to the kernels where SIMD runs", () => {
    expect(OFF_POLICY_COMMON_DEFAULTS.backend).toBe("auto");
    for (const algo of ["dqn", "sac", "td3", "mdpo-off"]) {
      expect(resolveConfig({ algo, env: algo === "dqn" ? "CartPole-v1" : "Pendulum-v1" }).backend).toBe("auto");
    }
    expect(simdKernelsAvailable()).toBe(true); // Node ≥ 16.4: what this suite runs on
    expect(resolveOffPolicyBackend({ backend: "auto" })).toBe("kernels");
    for (const b of ["wasm", "cpu", "kernels"] as const) expect(resolveOffPolicyBackend({ backend: b })).toBe(b);
    expect(resolveOffPolicyBackend({} as { backend: "auto" })).toBe("wasm"); // a config from before the key
  });

  for (const algo of ["dqn", "sac"]) {
    it(`${algo}: computes exactly as the kernels when auto, and differently from wasm; the recorded config says kernels`, async () => {
      const auto = await twoIterations(algo);
      expect(auto.backend).toBe("kernels");
      const kernels = await twoIterations(algo, { backend: "kernels" });
      expect(auto.rows).toEqual(kernels.rows);
      const wasm = await twoIterations(algo, { backend: "wasm" });
      expect(wasm.backend).toBe("wasm");
      expect(wasm.rows).not.toEqual(auto.rows); // so the equality above says something
      const a = await make(algo);
      expect(a.recordedConfig().backend).toBe("kernels");
      a.dispose();
    });
  }

  it("records its backend in checkpoints; auto refuses one written on another backend, an explicit backend loads it", async () => {
    const onWasm = await make("sac", { backend: "wasm" });
    onWasm.iterate();
    const state = onWasm.saveState();
    onWasm.dispose();
    expect(state.json.backend).toBe("wasm");

    const auto = await make("sac");
    expect(() => auto.loadState(state)).toThrow(/written on the wasm backend, but backend auto resolved to kernels/);
    auto.dispose();

    const explicit = await make("sac", { backend: "kernels" });
    explicit.loadState(state);
    expect(explicit.iteration).toBe(1);
    explicit.dispose();
  });
});
