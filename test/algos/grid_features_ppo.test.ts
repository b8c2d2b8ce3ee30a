import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { PPO } from "../../src/algos/ppo.js";
import type { PPOConfig } from "../../src/algos/ppo_config.js";
import { make } from "../../src/envs/registry.js";
import { loadPolicy } from "../../src/train/load_policy.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-gridfeat-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("PPO with features=grid", () => {
  it("trains on the Dict observation with masks, evaluates, saves, and loadPolicy acts on Dict observations", async () => {
    const runDir = join(root, "gotodoor");
    const config = resolveConfig({ algo: "ppo", env: "MiniGrid-GoToDoor-5x5-v0", overrides: { seed: 3, totalTimesteps: 2048, numEnvs: 4, features: "grid", evalEpisodes: 3 } });
    const s = await train({ runDir, algo: "ppo", config });
    expect(Number.isFinite(s.finalEval.meanReturn)).toBe(true);
    const policy = await loadPolicy(runDir);
    expect(policy.spec.features).toBe("grid");
    expect(policy.spec.actionMasking).toBe(true);
    const env = make("MiniGrid-GoToDoor-5x5-v0", { observation: "dict" });
    const [obs, info] = env.reset({ seed: 1 });
    const mask = info.action_mask as Int8Array;
    for (let k = 0; k < 5; k++) {
      const a = policy.act(obs as Record<string, unknown>, { deterministic: false, mask }) as number;
      expect(mask[a]).toBe(1);
    }
    policy.dispose();
  }, 300_000);

  it("features=grid on a non-grid env is a one-line error at start-up", async () => {
    const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { features: "grid" } }) as PPOConfig;
    await expect(PPO.create(config)).rejects.toThrow(/features=grid .* CartPole-v1 is not a grid env\. Fix: /);
  });
});
