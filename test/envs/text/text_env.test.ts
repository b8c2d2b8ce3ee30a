import { describe, expect, it } from "vitest";
import { ConfigError, EnvError } from "../../../src/core/errors.js";
import { Rng } from "../../../src/core/rng.js";
import { checkEnv, formatCheckReport } from "../../../src/envs/check.js";
import { captureEnvState, restoreEnvState } from "../../../src/envs/state.js";
import { makeTask } from "../../../src/envs/text/registry.js";
import { combineRewards } from "../../../src/envs/text/rewards.js";
import { makeTextEnv, TextEnv } from "../../../src/envs/text/text_env.js";
import { BOS, CharTokenizer, EOS, PAD } from "../../../src/envs/text/tokenizer.js";

const tok = new CharTokenizer();
const ids = (text: string) => Array.from(tok.encode(text));

/** Steps the env through `actions`, returning every transition (observations copied). */
function run(env: TextEnv, actions: number[]) {
  return actions.map((a) => {
    const [obs, reward, terminated, truncated, info] = env.step(a);
    return { obs: Array.from(obs), reward, terminated, truncated, info };
  });
}

describe("TextEnv", () => {
  it("has the documented spaces and first observation", () => {
    const env = makeTextEnv("addition"); // maxPromptLength 6, maxCompletionLength 5
    expect(env.contextLength).toBe(1 + 6 + 5 + 1);
    expect(env.actionSpace.n).toBe(tok.vocabSize);
    expect(env.observationSpace.nvec).toEqual(new Int32Array(13).fill(tok.vocabSize));
    const [obs, info] = env.reset({ seed: 0 });
    const prompt = info.prompt as string;
    expect(env.problem.prompt).toBe(prompt);
    expect(Array.from(obs)).toEqual([BOS, ...ids(prompt), ...new Array(13 - 1 - prompt.length).fill(PAD)]);
    expect(env.observationSpace.contains(obs)).toBe(true);
  });

  it("a full episode with the solution and EOS earns 1 on the last step only", () => {
    const env = makeTextEnv("addition");
    env.reset({ seed: 1 });
    const { prompt, solution } = env.problem;
    const steps = run(env, [...ids(solution), EOS]);
    expect(steps.map((s) => s.reward)).toEqual([...new Array(solution.length).fill(0), 1]);
    expect(steps.map((s) => s.terminated)).toEqual([...new Array(solution.length).fill(false), true]);
    expect(steps.every((s) => !s.truncated)).toBe(true);
    expect(steps[steps.length - 1].info).toEqual({ completion: solution, correct: 1 });
    expect(steps[0].info).toEqual({});
    const last = steps[steps.length - 1].obs;
    expect(last.slice(0, 1 + prompt.length + solution.length + 1)).toEqual([BOS, ...ids(prompt), ...ids(solution), EOS]);
    expect(Array.from(env.completionTokens)).toEqual([...ids(solution), EOS]);
    expect(() => env.step(EOS)).toThrow(EnvError);
    expect(() => env.step(EOS)).toThrow(/after the completion ended/);
  });

  it("a wrong answer earns 0 and the length limit truncates", () => {
    const env = makeTextEnv("parity"); // maxCompletionLength 3
    env.reset({ seed: 2 });
    const wrong = env.problem.solution === "0" ? "1" : "0";
    const ended = run(env, [...ids(wrong), EOS]);
    expect(ended[1]).toMatchObject({ reward: 0, terminated: true, truncated: false, info: { completion: wrong, correct: 0 } });

    env.reset();
    const long = run(env, ids(`${env.problem.solution}00`));
    expect(long.map((s) => [s.terminated, s.truncated])).toEqual([[false, false], [false, false], [false, true]]);
    expect(long[2].reward).toBe(0);
    expect(long[2].info.completion).toBe(`${env.problem.solution}00`);
  });

  it("the solution without EOS is still rewarded when the length limit ends the episode", () => {
    const env = makeTextEnv("parity", {}, { maxCompletionLength: 1 });
    env.reset({ seed: 3 });
    const [step] = run(env, ids(env.problem.solution));
    expect(step).toMatchObject({ reward: 1, terminated: false, truncated: true });
  });

  it("PAD and BOS actions are legal but make the completion wrong", () => {
    const env = makeTextEnv("parity");
    env.reset({ seed: 4 });
    const steps = run(env, [PAD, EOS]);
    expect(steps[1].info).toEqual({ completion: "\uFFFD", correct: 0 });
    env.reset({ seed: 4 });
    const withBos = run(env, [...ids(env.problem.solution), BOS, EOS]);
    expect(withBos[2].info.completion).toBe(`${env.problem.solution}\uFFFD`);
    expect(withBos[2].reward).toBe(0);
    expect(() => env.step(tok.vocabSize)).toThrow(/out of range/);
  });

  it("uses the given reward function and split", () => {
    const reward = combineRewards([{ fn: "correct", weight: 1 }, { fn: "format", weight: 0.5 }]);
    const env = makeTextEnv("addition", { digits: 1 }, { reward, split: "test" });
    const seen = new Set<string>();
    for (let seed = 0; seed < 40; seed++) seen.add(env.reset({ seed })[1].prompt as string);
    const testSet = new Set(Array.from({ length: 400 }, ((r) => () => makeTask("addition", { digits: 1 }).sample(r, "test").prompt)(new Rng(0))));
    for (const p of seen) expect(testSet.has(p)).toBe(true);
    const wrong = env.problem.solution === "9" ? "8" : "9";
    expect(run(env, [...ids(wrong), EOS])[1].reward).toBe(0.5);
  });

  it("the same seed gives the same problem; reset without a seed continues the stream", () => {
    const a = makeTextEnv("countdown");
    const b = makeTextEnv("countdown");
    const pa = [a.reset({ seed: 7 })[1].prompt, a.reset()[1].prompt, a.reset()[1].prompt];
    const pb = [b.reset({ seed: 7 })[1].prompt, b.reset()[1].prompt, b.reset()[1].prompt];
    expect(pa).toEqual(pb);
    expect(new Set(pa).size).toBeGreaterThan(1);
    expect(b.reset({ seed: 8 })[1].prompt).not.toBe(pa[0]);
  });

  it("snapshots: setState(getState()) mid-episode replays identical transitions and the next reset", () => {
    const env = makeTextEnv("sorting");
    env.reset({ seed: 11 });
    env.reset(); // the generator has moved past the seed
    const sol = ids(env.problem.solution);
    run(env, sol.slice(0, 3));
    const state = env.getState();
    expect(state.length).toBe(13 + 3);

    const first = run(env, [...sol.slice(3), EOS]);
    const nextPrompt = env.reset()[1].prompt;

    // Disturb everything: another problem, another generator state, steps taken.
    env.reset({ seed: 999 });
    run(env, ids("1 2"));
    env.setState(state);
    const restored = env.problem;
    expect(env.getState()).toEqual(state);
    expect(Array.from(env.completionTokens)).toEqual(sol.slice(0, 3));
    const second = run(env, [...sol.slice(3), EOS]);
    expect(second).toEqual(first);
    expect(second[second.length - 1].reward).toBe(1);
    expect(env.reset()[1].prompt).toBe(nextPrompt);

    // A fresh env restores the same state without a reset of its own.
    const other = makeTextEnv("sorting");
    other.setState(state);
    expect(other.problem).toEqual(restored);
    expect(run(other, [...sol.slice(3), EOS])).toEqual(first);
  });

  it("a snapshot of a finished episode stays finished; malformed snapshots are ConfigErrors", () => {
    const env = makeTextEnv("parity");
    env.reset({ seed: 0 });
    run(env, [EOS]);
    const done = env.getState();
    env.reset();
    env.setState(done);
    expect(() => env.step(EOS)).toThrow(/after the completion ended/);

    const good = env.getState();
    const bad = (s: number[]) => () => env.setState(s);
    expect(bad(good.slice(0, 5))).toThrow(ConfigError);
    expect(bad([1, ...good.slice(1)])).toThrow(/taken in split test, this env draws train/);
    expect(bad([...good.slice(0, 13), EOS, 3])).toThrow(/EOS may only be the last token/);
    expect(bad([...good.slice(0, 13), tok.vocabSize])).toThrow(/outside/);
    expect(bad([...good.slice(0, 13), 3, 3, 3, 3])).toThrow(/exceed maxCompletionLength/);
    expect(bad([0, -1, ...good.slice(2)])).toThrow(/uint32/);
    expect(() => new TextEnv({ task: makeTask("parity") }).getState()).toThrow(/before reset\(\) or setState\(\)/);
  });

  it("captureEnvState/restoreEnvState round-trip it", () => {
    const env = makeTextEnv("addition");
    env.reset({ seed: 5 });
    run(env, ids("1"));
    const saved = captureEnvState(env);
    const first = run(env, ids("2"));
    env.reset({ seed: 6 });
    restoreEnvState(env, saved);
    expect(run(env, ids("2"))).toEqual(first);
  });

  it("passes checkEnv", () => {
    for (const name of ["addition", "countdown", "sorting", "parity", "multiplication"]) {
      const report = checkEnv(makeTextEnv(name));
      expect(report.errors, formatCheckReport(report, name)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });

  it("rejects options that cannot work", () => {
    const task = makeTask("addition");
    expect(() => new TextEnv({ task, tokenizer: new CharTokenizer("0123456789=") })).toThrow(/cannot encode "\+"/);
    expect(() => new TextEnv({ task, maxCompletionLength: 0 })).toThrow(/maxCompletionLength 0/);
    expect(() => new TextEnv({ task, split: "dev" as never })).toThrow(/split "dev"/);
    expect(() => makeTextEnv("addition", { digits: 3 }, { maxCompletionLength: 2 })).toThrow(/more than maxCompletionLength 2/);
    expect(() => new TextEnv({ task }).problem).toThrow(/before reset/);
    expect(() => new TextEnv({ task }).step(3)).toThrow(EnvError);
  });
});
