// The group algorithms' kernels backend on control envs (opt-in; wasm is the default): the
// kernels' step gives the tfjs step's update to float rounding, runs are deterministic on it,
// it is recorded, and what it cannot run is refused with the fix.
import { describe, expect, it } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import { resolveGroupBackend, type GroupPolicyOptimizer } from "../../src/algos/group_engine.js";

async function make(algo: string, overrides: Record<string, unknown> = {}): Promise<GroupPolicyOptimizer> {
  const env = (overrides.env as string | undefined) ?? "CartPole-v1";
  const config = resolveConfig({ algo, env, overrides: { hidden: [16, 16], numStarts: 2, groupSize: 4, maxEpisodeSteps: 40, totalTimesteps: 2000, kernelThreads: 1, ...overrides } });
  return (await ALGORITHMS[algo].create(config)) as GroupPolicyOptimizer;
}

/** Two iterations' metrics: equal for two runs only if they computed on the same backend. */
async function twoIterations(algo: string, overrides: Record<string, unknown> = {}): Promise<{ backend: string; rows: [string, unknown][][]; weights: Record<string, Float32Array> }> {
  const a = await make(algo, overrides);
  const rows = [a.iterate(), a.iterate()].map((m) => Object.entries(m).filter(([k]) => !/Seconds$|sps/i.test(k)));
  const out = { backend: a.config.backend, rows, weights: a.exportPolicy().weights };
  a.dispose();
  return out;
}

function maxRelDiff(a: Record<string, Float32Array>, b: Record<string, Float32Array>): number {
  let worst = 0;
  for (const k of Object.keys(a)) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < a[k].length; i++) {
      num = Math.max(num, Math.abs(a[k][i] - b[k][i]));
      den = Math.max(den, Math.abs(a[k][i]));
    }
    worst = Math.max(worst, num / Math.max(den, 1e-6));
  }
  return worst;
}

describe("group algorithms' kernels backend on envs", () => {
  it("wasm stays the default of grpo, rloo, reinforce and epo; kernels is refused with grid features", () => {
    for (const algo of ["grpo", "rloo", "reinforce", "epo"]) expect(resolveConfig({ algo, env: "CartPole-v1" }).backend).toBe("wasm");
    for (const b of ["wasm", "cpu", "kernels"] as const) expect(resolveGroupBackend({ backend: b, features: "flat" })).toBe(b);
    expect(resolveGroupBackend({ features: "flat" } as { backend: "wasm"; features: "flat" })).toBe("wasm"); // a config from before the key
    expect(() => resolveGroupBackend({ backend: "kernels", features: "grid" })).toThrow(/grid features.*Fix: use backend wasm/);
    expect(() => resolveConfig({ algo: "grpo", env: "CartPole-v1", overrides: { backend: "auto" } })).toThrow(/backend/);
  });

  for (const [algo, extra] of [
    ["grpo", { beta: 0.04 }],
    ["rloo", { entCoef: 0.05 }],
    ["reinforce", { baseline: "value" }],
    ["epo", {}],
    ["grpo", { env: "Pendulum-v1", selection: "d3s" }],
  ] as [string, Record<string, unknown>][]) {
    it(`${algo} ${JSON.stringify(extra)}: the kernels' update matches tfjs's to float rounding, and is deterministic`, async () => {
      const a = await twoIterations(algo, { ...extra, backend: "kernels" });
      expect(a.backend).toBe("kernels");
      const b = await twoIterations(algo, { ...extra, backend: "kernels" });
      expect(b.rows).toEqual(a.rows);
      // One iteration from the same weights and batch: the tfjs path's update and the kernels' agree.
      const one = async (backend: string) => {
        const r = await make(algo, { ...extra, backend });
        const m = r.iterate();
        const w = r.exportPolicy().weights;
        r.dispose();
        return { m, w };
      };
      const k = await one("kernels");
      const t = await one("cpu");
      expect(maxRelDiff(t.w, k.w)).toBeLessThan(1e-4);
      expect(k.m.policyLoss as number).toBeCloseTo(t.m.policyLoss as number, 4);
      const wasm = await twoIterations(algo, { ...extra, backend: "wasm" });
      expect(maxRelDiff(wasm.weights, a.weights)).toBeGreaterThan(0); // the runs are not the same code path
    });
  }

  it("records its backend in config.json's config and checkpoints; an explicit backend continues any checkpoint", async () => {
    const onWasm = await make("grpo", { backend: "wasm" });
    onWasm.iterate();
    const state = onWasm.saveState();
    onWasm.dispose();
    expect(state.json.backend).toBe("wasm");
    const k = await make("grpo", { backend: "kernels" });
    expect(k.recordedConfig().backend).toBe("kernels");
    k.loadState(state);
    expect(k.iteration).toBe(1);
    k.iterate();
    expect(k.saveState().json.backend).toBe("kernels");
    k.dispose();
  });
});
