import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete, type Space } from "../../src/core/spaces.js";
import { BaseEnv, type Env, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { checkEnv, formatCheckReport, sameValue } from "../../src/envs/check.js";
import { listEnvs, make, prepareEnv, registry } from "../../src/envs/registry.js";

/** A float32 Box typed as a space of Float32Array (the observations these envs return). */
const f32Box = (low: number, high: number, shape: number[]) => new Box(low, high, shape, "float32") as Box & Space<Float32Array>;

/** A correct env: a random walk on [-5, 5] pushed by actions ±0.5, with snapshots. */
class WalkEnv extends BaseEnv<Float32Array, number> {
  readonly observationSpace = f32Box(-10, 10, [2]);
  readonly actionSpace = new Discrete(2);
  protected x = 0;
  protected v = 0;
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.x = this.npRandom.uniform(-1, 1);
    this.v = 0;
    return [this.obs(), {}];
  }
  step(action: number): StepResult<Float32Array> {
    this.v = 0.9 * this.v + (action === 1 ? 0.5 : -0.5);
    this.x += this.v;
    const terminated = Math.abs(this.x) > 5;
    return [this.obs(), terminated ? -1 : 0.1, terminated, false, {}];
  }
  getState(): number[] {
    return [this.x, this.v];
  }
  setState(s: number[]): void {
    [this.x, this.v] = s;
  }
  protected obs(): Float32Array {
    return Float32Array.of(this.x, this.v);
  }
}

const check = (env: unknown) => checkEnv(env as Env<unknown, unknown>);
const joined = (msgs: string[]) => msgs.join("\n");

describe("checkEnv on correct envs", () => {
  it("passes a correct toy env without errors or warnings", () => {
    const report = check(new WalkEnv());
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(formatCheckReport(report, "Walk")).toBe("env check of Walk: passed");
  });

  it("passes every built-in env, bare and through make()", async () => {
    const ids = listEnvs().map((s) => s.id);
    for (const id of ids) await prepareEnv(id); // MuJoCo envs load their WebAssembly module
    expect(ids).toEqual(expect.arrayContaining(["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]));
    for (const id of ids) {
      const made = checkEnv(make(id));
      expect(made.errors, `${id} via make()`).toEqual([]);
      expect(made.ok).toBe(true);
      // The wrapped stack is reported as such.
      expect(joined(made.warnings)).toContain("the env is wrapped");
      const reg = registry.get(id)!;
      const bare = checkEnv(reg.entryPoint({ ...(reg.kwargs ?? {}) }));
      expect(bare.errors, `${id} bare`).toEqual([]);
    }
  });

  it("warns about unbounded observation spaces (CartPole) and non-normalised actions (Pendulum)", () => {
    expect(joined(checkEnv(make("CartPole-v1")).warnings)).toContain("upper bound of +infinity");
    expect(joined(checkEnv(make("Pendulum-v1")).warnings)).toContain("Box(-2, 2, (1,), float32) is not normalised to [-1, 1]");
  });
});

describe("checkEnv on broken envs", () => {
  it("reports an observation outside the space, with the index", () => {
    class Outside extends WalkEnv {
      override step(action: number): StepResult<Float32Array> {
        const r = super.step(action);
        r[0][1] = 42;
        return r;
      }
    }
    const report = check(new Outside());
    expect(report.ok).toBe(false);
    expect(joined(report.errors)).toMatch(/the observation returned by step\(\d\), Float32Array\[.*, 42\] \(length 2\), is not in the observation space Box\(-10, 10, \(2,\), float32\) \(index 1: 42 is outside \[-10, 10\]\)/);
    expect(joined(report.errors)).toContain("Fix:");
  });

  it("reports a reward that is not a number", () => {
    class StringReward extends WalkEnv {
      override step(action: number): StepResult<Float32Array> {
        const r = super.step(action);
        return [r[0], "1" as unknown as number, r[2], r[3], r[4]];
      }
    }
    const report = check(new StringReward());
    expect(report.ok).toBe(false);
    expect(joined(report.errors)).toMatch(/the reward returned by step\(\d\) is "1" \(string\), not a number\. Fix: return the reward as a plain number/);
  });

  it("reports reset returning only the observation, and skips the checks that depend on it", () => {
    class ObsOnly extends WalkEnv {
      override reset(args?: ResetArgs): [Float32Array, Info] {
        return super.reset(args)[0] as unknown as [Float32Array, Info];
      }
    }
    const report = check(new ObsOnly());
    expect(report.ok).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatch(/reset\(\) returned Float32Array\[.*\] \(length 2\) instead of \[obs, info\]\. Fix: return a two-element array/);
    expect(joined(report.warnings)).toContain("skipped because of the reset() errors");
  });

  it("reports non-deterministic seeding", () => {
    class Unseeded extends WalkEnv {
      private readonly entropy = Rng.fromEntropy();
      override reset(args?: ResetArgs): [Float32Array, Info] {
        super.reset(args);
        this.x = this.entropy.uniform(-1, 1);
        return [this.obs(), {}];
      }
    }
    const report = check(new Unseeded());
    expect(report.ok).toBe(false);
    expect(joined(report.errors)).toContain("two calls of reset({ seed: 123 }) returned different observations");
    expect(joined(report.errors)).toContain("seedFromReset");
  });

  it("reports a reset that ignores its seed, through the generator state", () => {
    class IgnoresSeed extends WalkEnv {
      override reset(): [Float32Array, Info] {
        this.x = 0;
        this.v = 0;
        return [this.obs(), {}];
      }
    }
    const report = check(new IgnoresSeed());
    // The observations agree (the start is fixed); the generator shows that the seed is ignored.
    expect(report.ok).toBe(false);
    expect(joined(report.warnings)).toContain("reset({ seed: 123 }) and reset({ seed: 456 }) returned the same observation");
    expect(joined(report.errors)).toContain("reset ignores its seed. Fix: call this.seedFromReset(args)");
  });

  it("reports step returning 4 values (the old done API)", () => {
    class OldApi extends WalkEnv {
      override step(action: number): StepResult<Float32Array> {
        const [obs, reward, terminated, , info] = super.step(action);
        return [obs, reward, terminated, info] as unknown as StepResult<Float32Array>;
      }
    }
    const report = check(new OldApi());
    expect(report.ok).toBe(false);
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toContain("returned 4 values [obs, reward, done, info] (the old Gym API). Fix: return 5 values");
    expect(joined(report.warnings)).toContain("skipped because of the step() errors");
  });

  it("reports NaN observations, non-boolean flags and non-object infos", () => {
    class Sloppy extends WalkEnv {
      override step(action: number): StepResult<Float32Array> {
        const r = super.step(action);
        r[0][0] = NaN;
        return [r[0], r[1], 0 as unknown as boolean, r[3], null as unknown as Info];
      }
    }
    const errors = joined(check(new Sloppy()).errors);
    expect(errors).toContain("has NaN at index 0");
    expect(errors).toMatch(/terminated returned by step\(\d\) is 0 \(number\), not a boolean\. Fix: return true or false/);
    expect(errors).toMatch(/the info returned by step\(\d\) is null, not an object/);
  });

  it("reports snapshots that do not determine the next step", () => {
    class HiddenState extends WalkEnv {
      private hidden = 0;
      override step(action: number): StepResult<Float32Array> {
        this.hidden += 1;
        const r = super.step(action);
        r[0][1] = this.v + this.hidden * 1e-3;
        return r;
      }
    }
    const report = check(new HiddenState());
    expect(joined(report.errors)).toContain("after setState(s) the same action");
    expect(joined(report.errors)).toContain("different observations");
  });

  it("never throws: an env whose step throws is reported, and so is a non-env", () => {
    class Throws extends WalkEnv {
      override step(): StepResult<Float32Array> {
        throw new TypeError("boom");
      }
    }
    const report = check(new Throws());
    expect(report.ok).toBe(false);
    expect(joined(report.errors)).toContain("step() threw TypeError: boom");
    expect(check(null).errors[0]).toContain("expected an env object, got null");
    expect(check({ reset: () => [0, {}] }).errors.length).toBeGreaterThan(0);
    const noSpaces = new WalkEnv() as unknown as { actionSpace: unknown };
    Object.defineProperty(noSpaces, "actionSpace", { value: 3 });
    expect(joined(check(noSpaces).errors)).toContain("actionSpace is 3, not a space");
  });

  it("downgrades errors to warnings with warnOnly, and formats a failing report", () => {
    class OldApi extends WalkEnv {
      override step(action: number): StepResult<Float32Array> {
        return super.step(action).slice(0, 4) as unknown as StepResult<Float32Array>;
      }
    }
    const lenient = checkEnv(new OldApi(), { warnOnly: true });
    expect(lenient.ok).toBe(true);
    expect(lenient.errors).toEqual([]);
    expect(joined(lenient.warnings)).toContain("returned 4 values");
    const text = formatCheckReport(checkEnv(new OldApi()));
    expect(text.split("\n")[0]).toBe("env check: FAILED with 1 error and 1 warning");
    expect(text).toContain("  error:   OldApi: ");
  });
});

describe("sameValue", () => {
  it("compares typed arrays exactly or within 1e-5", () => {
    expect(sameValue(Float32Array.of(1, 2), Float32Array.of(1, 2), true)).toBe(true);
    expect(sameValue(Float32Array.of(1, 2), Float64Array.of(1, 2), true)).toBe(false);
    expect(sameValue([1, 2.000001], [1, 2], true)).toBe(false);
    expect(sameValue([1, 2.000001], [1, 2], false)).toBe(true);
    expect(sameValue({ a: [1] }, { a: [1] }, true)).toBe(true);
  });
});
