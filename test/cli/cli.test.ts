import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALGORITHMS, resolveConfig } from "../../src/algos/index.js";
import { run, type CliIo } from "../../src/cli/main.js";
import { listEnvs } from "../../src/envs/registry.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs `refinery ...argv` in-process and captures both streams. */
async function cli(...argv: string[]): Promise<Result> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

/** Small, fast PPO settings for runs that only check plumbing. */
const FAST = ["--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--set", "evalEpisodes=2"];

describe("refinery list", () => {
  const ppo = ALGORITHMS.ppo;

  it("prints every env, and every ppo option with its default, allowed values and description, and the presets", async () => {
    const { code, out, err } = await cli("list");
    expect(code).toBe(0);
    expect(err).toBe("");
    for (const e of listEnvs()) expect(out).toContain(e.id);
    expect(out).toContain("Algorithm ppo");
    expect(out).toMatch(/^ {4}learningRate +0\.00025 +number > 0 +Adam learning rate/m);
    expect(out).toMatch(/^ {4}hidden +\[64,64\] +list of integer > 0 \(at least 1\) +hidden layer widths/m);
    expect(out).toMatch(/^ {4}targetKl +null +number > 0 or null +stop an update/m);
    expect(out).toMatch(/^ {4}activation +tanh +tanh\|relu +hidden activation/m);
    for (const key of Object.keys(ppo.schema.shape)) expect(out).toMatch(new RegExp(`^ {4}${key} `, "m"));
    for (const p of ppo.presets) expect(out).toMatch(new RegExp(`^ {4}${p.name} +${escape(p.description)}`, "m"));
    // Aligned: within ppo's table, every option row starts its default in the same column.
    const section = out.slice(out.indexOf("Algorithm ppo"), out.indexOf("\nAlgorithm ", out.indexOf("Algorithm ppo") + 1) >>> 0);
    const rows = section.split("\n").filter((l) => Object.keys(ppo.schema.shape).some((k) => l.startsWith(`    ${k} `)));
    expect(rows.length).toBe(Object.keys(ppo.schema.shape).length);
    const column = (l: string) => l.search(/(?<=^ {4}\S+ +)\S/);
    expect(new Set(rows.map(column)).size).toBe(1);
  });

  it("--json gives {envs, algorithms: [{name, description, options: [{key, default, description}], presets}]}", async () => {
    const { code, out } = await cli("list", "--json");
    expect(code).toBe(0);
    const data = JSON.parse(out) as {
      envs: { id: string; maxEpisodeSteps?: number }[];
      algorithms: { name: string; description: string; options: { key: string; default: unknown; description: string; allowed: string }[]; presets: { name: string; description: string }[] }[];
    };
    expect(data.envs.map((e) => e.id)).toEqual(listEnvs().map((e) => e.id));
    expect(data.envs.find((e) => e.id === "CartPole-v1")?.maxEpisodeSteps).toBe(500);
    const algo = data.algorithms.find((a) => a.name === "ppo");
    expect(algo?.description).toBe(ppo.description);
    expect(algo?.options.map((o) => o.key)).toEqual(Object.keys(ppo.schema.shape));
    for (const o of algo?.options ?? []) {
      expect(o.default).toEqual(ppo.defaults[o.key] ?? null);
      expect(o.description.length).toBeGreaterThan(3);
    }
    expect(algo?.options.find((o) => o.key === "learningRate")).toMatchObject({ default: 2.5e-4, allowed: "number > 0" });
    expect(algo?.presets).toEqual(ppo.presets.map((p) => ({ name: p.name, description: p.description })));
  });
});

describe("--help", () => {
  it.each(["train", "eval", "list", "demo"])("%s --help lists every option with its default", async (command) => {
    const { code, out } = await cli(command, "--help");
    expect(code).toBe(0);
    const options = out.slice(out.indexOf("Options:")).split("\n").slice(1);
    // Join wrapped description lines onto their option.
    const entries: string[] = [];
    for (const line of options) {
      if (/^ {2}-/.test(line)) entries.push(line.trim());
      else if (line.trim() && entries.length) entries[entries.length - 1] += " " + line.trim();
    }
    const real = entries.filter((e) => !e.startsWith("-h, --help"));
    expect(real.length).toBeGreaterThan(0);
    for (const e of real) expect(e, e).toMatch(/\(default: [^)]/);
  });

  it("train --help names the algorithm's defaults for --env, --steps and --seed", async () => {
    const { out } = await cli("train", "--help");
    expect(out.replace(/\s+/g, " ")).toMatch(/\(default: the config's totalTimesteps: 500000 for ppo, [^)]*150000 for mdpo[^)]*\)/);
    expect(out.replace(/\s+/g, " ")).toMatch(/\(default: the config's env: CartPole-v1 for ppo, [^)]*CartPole-v1 for grpo[^)]*\)/);
  });
});

describe("errors fail before training with exit code 2 and one line naming the key and the allowed values", () => {
  const never = join(root, "never-created");
  const badYaml = join(root, "bad.yaml");
  const badJson = join(root, "bad.json");
  beforeAll(() => {
    writeFileSync(badYaml, "learnignRate: 0.001\nnumEnvs: 2\n");
    writeFileSync(badJson, JSON.stringify({ gamma: 2 }));
  });
  /** A new run that would write to `never` if validation let it through. */
  const fresh = (...argv: string[]) => ["train", ...argv, "--out", never, "--steps", "256"];

  const cases: [name: string, argv: () => string[], expected: RegExp[]][] = [
    ["negative learning rate", () => fresh("--set", "learningRate=-1"), [/key "learningRate" = -1/, /must be positive/, /a number > 0/, /default 0\.00025/]],
    ["misspelt key", () => fresh("--set", "learnignRate=1e-3"), [/unknown key "learnignRate"/, /did you mean "learningRate"/, /allowed keys: .*learningRate/]],
    ["wrong type", () => fresh("--set", "numEnvs=abc"), [/key "numEnvs" = "abc"/, /must be a number, not a string/, /an integer > 0/]],
    ["fractional integer", () => fresh("--set", "numEnvs=1.5"), [/key "numEnvs" = 1\.5/, /must be an integer/]],
    ["enum value", () => fresh("--set", "activation=gelu"), [/key "activation" = "gelu"/, /must be one of "tanh", "relu"/]],
    ["value out of range", () => fresh("--set", "gamma=1.5"), [/key "gamma" = 1\.5/, /must be <= 1/, /a number in \[0, 1\]/]],
    ["unknown env", () => fresh("--env", "CartPol-v1"), [/unknown env id "CartPol-v1"/, /did you mean "CartPole-v1"/, /Acrobot-v1, Ant-v5, BabyAI-GoToLocal-v0, .*CartPole-v1, .*HalfCheetah-v5, .*MiniGrid-DoorKey-5x5-v0/]],
    ["unknown env via --set", () => fresh("--set", "env=Pendulm-v1"), [/unknown env id "Pendulm-v1"/, /did you mean "Pendulum-v1"/]],
    ["unknown algorithm", () => fresh("--algo", "ppx"), [/unknown algorithm "ppx"/, /did you mean "ppo"/]],
    ["unknown preset", () => fresh("--preset", "zo"), [/unknown preset "zo"/, /did you mean "zoo"/, /cleanrl, cleanrl-continuous, zoo/]],
    ["malformed --set", () => fresh("--set", "learningRate"), [/--set "learningRate" is not of the form key=value/]],
    ["--set without a value", () => fresh("--set", "learningRate="), [/has no value/]],
    ["--set with a malformed key", () => fresh("--set", "a..b=1"), [/malformed key "a\.\.b"/]],
    ["--set of a reserved key", () => fresh("--set", "__proto__.polluted=1"), [/reserved key/]],
    ["unknown key in a YAML config file", () => fresh("--config", badYaml), [/unknown key "learnignRate" \(from config file .*bad\.yaml; did you mean "learningRate"\?\)/]],
    ["bad value in a JSON config file", () => fresh("--config", badJson), [/key "gamma" = 2 \(from config file .*bad\.json\) must be <= 1/]],
    ["missing config file", () => fresh("--config", join(root, "nope.yaml")), [/config file .*nope\.yaml does not exist/]],
    ["--resume with other options", () => ["train", "--resume", never, "--seed", "3", "--set", "gamma=0.9", "--algo", "ppo"], [/--resume cannot be combined with --algo, --set, --seed/]],
    ["--resume of a directory that is not a run", () => ["train", "--resume", never], [/never-created is not a run directory/]],
  ];

  it.each(cases)("%s", async (_name, argv, expected) => {
    const r = await cli(...argv());
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^refinery: /);
    for (const re of expected) expect(r.err).toMatch(re);
    expect(existsSync(never)).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("--out pointing at a directory that already holds a run is refused and leaves that run untouched", async () => {
    const dir = join(root, "holds-a-run");
    const first = await cli("train", "--out", dir, "--steps", "128", "--json", "--quiet", ...FAST);
    expect(first.code).toBe(0);
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    const r = await cli("train", "--out", dir, "--steps", "128", ...FAST);
    expect(r.code).toBe(2);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/already holds a run/);
    expect(r.err).toContain(`--resume ${dir}`);
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(metrics);
  });

  it("a bad option value is a usage error (exit code 2) naming the option", async () => {
    const r = await cli("train", "--steps", "0");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--steps must be an integer >= 1, got "0"/);
  });

  it("eval of a directory that is not a run fails with exit code 2", async () => {
    const r = await cli("eval", root, "--json");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is not a run directory/);
  });
});

describe("train, eval and resume end to end", () => {
  const dir = join(root, "cartpole");
  let trained: Result;
  beforeAll(async () => {
    trained = await cli("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "2048", "--seed", "0", "--out", dir, "--json", "--set", "backend=cpu");
  });

  it("train --json ends with a JSON summary line", () => {
    expect(trained.code, trained.err).toBe(0);
    const s = lastJson(trained.out);
    expect(s.run_dir).toBe(dir);
    expect(s.steps).toBe(2048);
    expect(s.env).toBe("CartPole-v1");
    expect(s.wall_s).toBeGreaterThan(0);
    expect(s.sps).toBeGreaterThan(0);
    expect(typeof s.final_mean_return).toBe("number");
    expect(typeof s.eval_mean_return).toBe("number");
    // Progress goes to stderr, never into the JSON on stdout.
    expect(trained.err).toContain("2,048/2,048 steps");
    expect(trained.out.trim().split("\n")).toHaveLength(1);
    const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { config: Record<string, unknown> };
    expect(saved.config).toMatchObject({ env: "CartPole-v1", seed: 0, totalTimesteps: 2048, backend: "cpu" });
  });

  it("eval --json ends with {env, episodes, mean_return, std_return}", async () => {
    const r = await cli("eval", dir, "--episodes", "3", "--json");
    expect(r.code, r.err).toBe(0);
    const e = lastJson(r.out) as { env: string; episodes: number; mean_return: number; std_return: number; returns: number[] };
    expect(e.env).toBe("CartPole-v1");
    expect(e.episodes).toBe(3);
    expect(e.returns).toHaveLength(3);
    expect(e.mean_return).toBeCloseTo(e.returns.reduce((a, b) => a + b, 0) / 3, 9);
    expect(e.std_return).toBeGreaterThanOrEqual(0);
  });

  it("eval prints mean ± std as text without --json", async () => {
    const r = await cli("eval", dir, "--episodes", "2", "--deterministic");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^CartPole-v1: return -?\d+\.\d\d ± \d+\.\d\d over 2 episodes \(deterministic actions\)/);
  });

  it("train --resume of a finished run trains nothing, says so, and prints the run's summary", async () => {
    const metrics = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    const status = readFileSync(join(dir, "status.json"), "utf8");
    const r = await cli("train", "--resume", dir, "--json");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/already finished at 2048 steps; nothing to train/);
    const first = lastJson(trained.out);
    const again = lastJson(r.out);
    expect(again).toMatchObject({
      run_dir: first.run_dir,
      steps: first.steps,
      final_mean_return: first.final_mean_return,
      eval_mean_return: first.eval_mean_return,
      eval_std_return: first.eval_std_return,
      already_finished: true,
    });
    expect(typeof again.wall_s).toBe("number");
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(metrics);
    expect(readFileSync(join(dir, "status.json"), "utf8")).toBe(status);
  });

  it("train --resume of an interrupted run continues it to the end", async () => {
    const partial = join(root, "partial");
    const config = resolveConfig({ algo: "ppo", overrides: { seed: 2, numEnvs: 2, numSteps: 64, totalTimesteps: 512, checkpointEvery: 1, evalEpisodes: 2, backend: "cpu" } });
    await train({ runDir: partial, algo: "ppo", config, stopAfterIterations: 2 });
    const r = await cli("train", "--resume", partial, "--json");
    expect(r.code, r.err).toBe(0);
    const s = lastJson(r.out);
    expect(s.steps).toBe(512);
    expect(s.already_finished).toBeUndefined();
  });
});

describe("--config files", () => {
  it("reads a YAML file; flags and --set override it", async () => {
    const file = join(root, "small.yaml");
    writeFileSync(file, "# a small run\nnumEnvs: 2\nnumSteps: 64\nlearningRate: 1.0e-3\nhidden: [32, 32]\nbackend: cpu\nevalEpisodes: 2\ntotalTimesteps: 99999\n");
    const dir = join(root, "yaml-run");
    const r = await cli("train", "--config", file, "--steps", "256", "--set", "gamma=0.9", "--out", dir, "--json", "--quiet");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe("");
    expect(lastJson(r.out).steps).toBe(256);
    const saved = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { config: Record<string, unknown> };
    expect(saved.config).toMatchObject({ numEnvs: 2, numSteps: 64, learningRate: 1e-3, hidden: [32, 32], gamma: 0.9, totalTimesteps: 256 });
  });

  it("reads a JSON file, and a run's own config.json", async () => {
    const file = join(root, "small.json");
    writeFileSync(file, JSON.stringify({ env: "Acrobot-v1", numEnvs: 2, numSteps: 32, updateEpochs: 2, backend: "cpu", evalEpisodes: 1, totalTimesteps: 128 }));
    const dir = join(root, "json-run");
    const r = await cli("train", "--config", file, "--out", dir, "--json", "--quiet");
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out)).toMatchObject({ env: "Acrobot-v1", steps: 128 });

    const again = join(root, "json-run-again");
    const r2 = await cli("train", "--config", join(dir, "config.json"), "--seed", "5", "--out", again, "--json", "--quiet");
    expect(r2.code, r2.err).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { config: Record<string, unknown> };
    const b = JSON.parse(readFileSync(join(again, "config.json"), "utf8")) as { config: Record<string, unknown> };
    expect(b.config).toEqual({ ...a.config, seed: 5 });
  });
});

describe("refinery demo", () => {
  it("demo --env Pendulum-v1 --episodes 2 --json prints the check, each episode and a summary line", async () => {
    const r = await cli("demo", "--env", "Pendulum-v1", "--episodes", "2", "--json");
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toHaveProperty("check");
    expect(lines[1]).toMatchObject({ episode: 0, length: 200, end: "truncated" });
    const summary = lines[3] as { env: string; episodes: number; mean_return: number; std_return: number };
    expect(summary).toMatchObject({ env: "Pendulum-v1", episodes: 2 });
    expect(summary.mean_return).toBeLessThan(0);
    expect(summary.mean_return).toBeCloseTo(((lines[1].return as number) + (lines[2].return as number)) / 2, 9);
  });

  it("demo of an unknown env fails with exit code 2 and suggests the close id", async () => {
    const r = await cli("demo", "--env", "Pendulm-v1");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown env id "Pendulm-v1"/);
    expect(r.err).toMatch(/Pendulum-v1/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
