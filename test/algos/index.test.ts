import { describe, expect, it } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { ConfigError } from "../../src/core/errors.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { register } from "../../src/envs/registry.js";

/** An env without getState/setState (no snapshots). */
class NoSnapshotEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(-1, 1, [4]);
  readonly actionSpace = new Discrete(2);
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    return [new Float32Array(4), {}];
  }
  step(): StepResult<Float32Array> {
    return [new Float32Array(4), 1, true, false, {}];
  }
}

/** The same with snapshots, registered without a time limit. */
class SnapshotEnv extends NoSnapshotEnv {
  getState(): number[] {
    return [0];
  }
  setState(): void {}
}

register({ id: "NoSnapshots-v0", entryPoint: () => new NoSnapshotEnv(), maxEpisodeSteps: 10 });
register({ id: "Unbounded-v0", entryPoint: () => new SnapshotEnv() });

const GROUP_ALGOS = ["grpo", "rloo", "reinforce", "epo"];

/** The ConfigError a resolveConfig call throws (fails the test when it does not throw). */
function rejection(opts: Parameters<typeof resolveConfig>[0]): ConfigError {
  try {
    resolveConfig(opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`resolveConfig accepted ${JSON.stringify(opts)}`);
}

describe("the registered algorithms", () => {
  it("each has a strict schema with a description on every key, and defaults for every key that the schema accepts", () => {
    for (const name of ["ppo", "grpo", "rloo", "reinforce", "mdpo", "epo"]) {
      const entry = ALGORITHMS[name];
      expect(entry, name).toBeDefined();
      for (const [key, schema] of Object.entries(entry.schema.shape)) {
        expect((schema as { description?: string }).description, `${name}.${key}`).toBeTruthy();
        expect(entry.defaults, `${name}.${key}`).toHaveProperty(key);
      }
      expect(entry.schema.safeParse(entry.defaults).success, name).toBe(true);
      expect(entry.schema.safeParse({ ...entry.defaults, notAnOption: 1 }).success, name).toBe(false);
    }
  });

  it("resolves `--algo NAME --env ENV` for every algorithm and built-in env", () => {
    for (const algo of Object.keys(ALGORITHMS)) {
      for (const env of ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]) {
        expect(resolveConfig({ algo, env }).env).toBe(env);
      }
    }
  });

  it("accepts every preset of every algorithm", () => {
    for (const entry of Object.values(ALGORITHMS)) {
      for (const p of entry.presets) if (p.forEnv("CartPole-v1")) expect(() => resolveConfig({ algo: entry.name, env: "CartPole-v1", preset: p.name })).not.toThrow();
    }
  });
});

describe("selection (D³S) options", () => {
  it("merge nested d3s.* overrides over the defaults", () => {
    const c = resolveConfig({ algo: "grpo", overrides: { selection: "d3s", d3s: { levels: "step" } } });
    expect(c.d3s).toEqual({ ...(ALGORITHMS.grpo.defaults.d3s as object), levels: "step" });
  });

  it("reject unknown d3s keys and out-of-range ratios, naming the key", () => {
    expect(rejection({ algo: "grpo", overrides: { d3s: { keepRatio: 0.5 } } }).message).toMatch(/unknown key "d3s.keepRatio".*Fix: use only the d3s keys: d3s.levels/);
    expect(rejection({ algo: "rloo", overrides: { d3s: { keepRatioStart: 0 } } }).message).toMatch(/d3s\.keepRatioStart/);
  });

  it("are refused on algorithms without groups (ppo, mdpo) with a message that says why and what to use", () => {
    for (const algo of ["ppo", "mdpo"]) {
      const err = rejection({ algo, overrides: { selection: "d3s" }, overridesName: "the command line" });
      expect(err.code).toBe("no_groups");
      expect(err.message).toContain(`${algo} has no groups of episodes`);
      expect(err.message).toContain("the command line");
      expect(err.message).toMatch(/grpo, rloo, reinforce, epo/);
      expect(rejection({ algo, overrides: { d3s: { levels: "step" } } }).code).toBe("no_groups");
    }
    // Asking for no selection is harmless anywhere.
    expect(resolveConfig({ algo: "ppo", overrides: { selection: "none" } })).not.toHaveProperty("selection");
  });
});

describe("invalid combinations are rejected at start-up", () => {
  it("a group algorithm on an env without snapshots", () => {
    for (const algo of GROUP_ALGOS) {
      const err = rejection({ algo, env: "NoSnapshots-v0" });
      expect(err.code).toBe("no_snapshots");
      expect(err.message).toMatch(/NoSnapshots-v0 has no getState\/setState/);
      expect(err.message).toMatch(/use ppo or mdpo/);
    }
    // The step-collector algorithms do not need snapshots.
    expect(resolveConfig({ algo: "mdpo", env: "NoSnapshots-v0" }).env).toBe("NoSnapshots-v0");
  });

  it("a group algorithm on an env without a time limit, unless maxEpisodeSteps bounds the episodes", () => {
    expect(rejection({ algo: "grpo", env: "Unbounded-v0" }).message).toMatch(/no time limit.*Fix: set maxEpisodeSteps/);
    expect(resolveConfig({ algo: "grpo", env: "Unbounded-v0", overrides: { maxEpisodeSteps: 50 } }).maxEpisodeSteps).toBe(50);
  });

  it("groups of one episode for the group baselines (grpo, rloo, epo); reinforce takes G = 1", () => {
    for (const algo of ["grpo", "rloo", "epo"]) expect(rejection({ algo, overrides: { groupSize: 1 } }).message).toMatch(/groupSize.*>= 2/);
    expect(resolveConfig({ algo: "reinforce", overrides: { groupSize: 1 } }).groupSize).toBe(1);
  });

  it("more minibatches than episodes per iteration", () => {
    expect(rejection({ algo: "grpo", overrides: { numStarts: 1, groupSize: 4, numMinibatches: 5 } }).message).toMatch(/numMinibatches = 5 .* 4 episodes/);
  });

  it("rloo recomputing leave-one-out advantages on a selection that may keep one episode", () => {
    expect(rejection({ algo: "rloo", overrides: { selection: "d3s", d3s: { recomputeAdvantages: true, minGroupKeep: 1 } } }).message).toMatch(/minGroupKeep/);
  });

  it("an EPO band whose upper edge is below its lower edge", () => {
    expect(rejection({ algo: "epo", overrides: { kappaLow: 1.2, kappaHigh: 0.8 } }).message).toMatch(/kappaHigh/);
  });

  it("options that cannot act given the rest of the config, when set to a non-default value", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["grpo", { d3s: { levels: "step" } }, /d3s\.levels = "step" \(from the overrides\) has no effect on grpo: selection is "none".*Fix: add --set selection=d3s/],
      ["grpo", { klEstimator: "k1" }, /klEstimator = "k1" .* beta = 0/],
      ["grpo", { advantageScale: "none", advantageEps: 1e-6 }, /advantageEps .* advantageScale is "none"/],
      ["grpo", { gamma: 0.9 }, /gamma = 0.9 .* rewardMode is "outcome"/],
      ["grpo", { advantageSingleton: "raw" }, /advantageSingleton = "raw" .* only D³S with d3s.recomputeAdvantages = true/],
      ["grpo", { selection: "d3s", advantageSingleton: "raw" }, /advantageSingleton = "raw" .* only D³S with d3s.recomputeAdvantages = true/],
      ["rloo", { clip: false, updateEpochs: 8 }, /updateEpochs = 8 .* clip is false/],
      ["reinforce", { baseline: "none", valueEpochs: 3 }, /valueEpochs = 3 .* baseline is "none"/],
    ];
    for (const [algo, overrides, message] of cases) expect(rejection({ algo, overrides }).message).toMatch(message);
    // The same keys act once their condition holds, and default values are never refused.
    expect(() => resolveConfig({ algo: "grpo", overrides: { selection: "d3s", d3s: { levels: "step" } } })).not.toThrow();
    expect(() => resolveConfig({ algo: "grpo", overrides: { beta: 0.04, klEstimator: "k1" } })).not.toThrow();
    expect(() => resolveConfig({ algo: "grpo", overrides: { rewardMode: "per-step", gamma: 0.9 } })).not.toThrow();
    expect(() => resolveConfig({ algo: "reinforce", overrides: { valueEpochs: 3 } })).not.toThrow();
    expect(() => resolveConfig({ algo: "grpo", overrides: { d3s: { levels: "both" } } })).not.toThrow();
    expect(() => resolveConfig({ algo: "grpo", overrides: { selection: "d3s", d3s: { recomputeAdvantages: true, minGroupKeep: 1 }, advantageSingleton: "raw" } })).not.toThrow();
    // From a config file, the file is named.
    expect(rejection({ algo: "grpo", file: { klEstimator: "k1" }, fileName: "grpo.yaml" }).message).toMatch(/from config file grpo\.yaml/);
  });

  it("keys of another algorithm, naming the origin", () => {
    expect(rejection({ algo: "reinforce", overrides: { clipLow: 0.1 }, overridesName: "the command line" }).message).toMatch(/unknown key "clipLow" \(from the command line\)/);
  });
});
