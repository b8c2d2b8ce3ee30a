// PPO's backend "auto" (the default): what it resolves to, that the run then computes on
// exactly that backend, and that it never quietly continues a checkpoint of another one.
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { PPO, resolvePpoBackend } from "../../src/algos/ppo.js";
import { PPO_DEFAULTS, type PPOConfig } from "../../src/algos/ppo_config.js";
import { simdKernelsAvailable } from "../../src/nn/kernels/simd.js";

const small = (overrides: Record<string, unknown> = {}) =>
  resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numSteps: 32, totalTimesteps: 1280, ...overrides } }) as PPOConfig;

/** Two iterations' losses: equal for two runs only if they computed on the same backend (float rounding differs between them). */
async function twoIterations(config: PPOConfig): Promise<{ backend: string; rows: number[][] }> {
  const ppo = await PPO.create(config);
  const rows = [ppo.iterate(), ppo.iterate()].map((m) => [m.policyLoss, m.valueLoss, m.entropy, m.approxKl, m.gradNorm]);
  const backend = ppo.config.backend;
  ppo.dispose();
  return { backend, rows };
}

describe("PPO backend auto", () => {
  it("is the default, and resolves to the kernels for flat features and to wasm for grid features", () => {
    expect(PPO_DEFAULTS.backend).toBe("auto");
    expect(simdKernelsAvailable()).toBe(true); // Node ≥ 16.4: what this suite runs on
    expect(resolvePpoBackend({ backend: "auto", features: "flat" })).toBe("kernels");
    expect(resolvePpoBackend({ backend: "auto", features: "grid" })).toBe("wasm");
    for (const b of ["wasm", "cpu", "kernels"] as const) {
      expect(resolvePpoBackend({ backend: b, features: "flat" })).toBe(b);
      expect(resolvePpoBackend({ backend: b, features: "grid" })).toBe(b);
    }
    // A config from before the key existed ran on wasm.
    expect(resolvePpoBackend({ features: "flat" } as PPOConfig)).toBe("wasm");
  });

  it("computes exactly as the backend it resolved to, and its config says which", async () => {
    const auto = await twoIterations(small());
    expect(auto.backend).toBe("kernels");
    const kernels = await twoIterations(small({ backend: "kernels" }));
    expect(kernels.backend).toBe("kernels");
    expect(auto.rows).toEqual(kernels.rows);
    const wasm = await twoIterations(small({ backend: "wasm" }));
    expect(wasm.backend).toBe("wasm");
    expect(wasm.rows).not.toEqual(auto.rows); // so the equality above says something
  });

  it("resolves to wasm for a grid-features policy (no kernel gradients) and computes as wasm", async () => {
    const grid = (backend: string) =>
      resolveConfig({ algo: "ppo", env: "MiniGrid-Empty-5x5-v0", overrides: { features: "grid", numEnvs: 2, numSteps: 32, totalTimesteps: 640, backend } }) as PPOConfig;
    const auto = await twoIterations(grid("auto"));
    expect(auto.backend).toBe("wasm");
    expect(auto.rows).toEqual((await twoIterations(grid("wasm"))).rows);
  });

  it("records its backend in checkpoints; auto refuses one written on another backend, an explicit backend loads it", async () => {
    const onWasm = await PPO.create(small({ backend: "wasm" }));
    onWasm.iterate();
    const state = onWasm.saveState();
    onWasm.dispose();
    expect(state.json.backend).toBe("wasm");

    const auto = await PPO.create(small());
    expect(() => auto.loadState(state)).toThrow(/written on the wasm backend, but backend auto resolved to kernels/);
    auto.dispose();

    const kernels = await PPO.create(small({ backend: "kernels" }));
    kernels.loadState(state);
    expect(kernels.iteration).toBe(1);
    kernels.dispose();

    // …and a checkpoint of the backend auto resolved to loads into auto.
    const k = await PPO.create(small({ backend: "kernels" }));
    k.iterate();
    const kState = k.saveState();
    k.dispose();
    const again = await PPO.create(small());
    again.loadState(kState);
    expect(again.iteration).toBe(1);
    again.dispose();
  });
});
