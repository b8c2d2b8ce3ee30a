import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALGORITHMS, TEXT_ALGORITHMS } from "../../src/algos/index.js";
import { run, type CliIo } from "../../src/cli/main.js";

/*
 * A property-based test of the whole command line: random flags and --set values for every
 * command (dashboard aside: it serves until a signal), run in-process with tiny budgets in a
 * temporary runs root. Every outcome must be exit 0, or one line "refinery: …" with a
 * non-zero code other than 1 (1 is an internal error, i.e. a bug); never a stack trace;
 * and a failed train or sft leaves no directory behind. FUZZ_SEED=n runs another sequence;
 * FUZZ_LOG=1 prints every command line with its exit code and last line of stderr.
 */

const root = mkdtempSync(join(tmpdir(), "refinery-fuzz-"));
const runsRoot = join(root, "runs");
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
let savedRunsEnv: string | undefined;
let counter = 0;

interface Result {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Result> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

/** What every run of the command line must satisfy. */
function checkOutcome(argv: string[], r: Result): void {
  const where = `refinery ${argv.join(" ")}\n${r.err}`;
  expect(r.err, where).not.toMatch(/\n\s+at \S/);
  expect(r.err, where).not.toMatch(/internal error/);
  if (r.code === 0) return;
  expect(r.code, where).not.toBe(1);
  expect([2, 3, 4], where).toContain(r.code);
  const lines = r.err.trimEnd().split("\n");
  // Progress or a note may precede the error line of a run that fails while training.
  expect(lines.at(-1), where).toMatch(/^refinery: \S/);
  expect(lines.filter((l) => l.startsWith("refinery: ") && !l.startsWith("refinery: note:")), where).toHaveLength(1);
}

const ppoRun = join(runsRoot, "ppo-seed");
const sftRun = join(runsRoot, "sft-seed");
const files: Record<string, string> = {};

beforeAll(async () => {
  savedRunsEnv = process.env.REFINERY_RUNS;
  process.env.REFINERY_RUNS = runsRoot;
  const a = await cli(["train", "--steps", "128", "--out", ppoRun, "--quiet", "--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--set", "evalEpisodes=1"]);
  expect(a.code, a.err).toBe(0);
  const b = await cli(["sft", "--task", "addition", "--iterations", "1", "--out", sftRun, "--quiet", "--set", "backend=cpu", "--set", "model.layers=1", "--set", "model.width=16", "--set", "model.heads=2", "--set", "model.ffWidth=32", "--set", "taskOptions.digits=1", "--set", "evalProblems=2", "--set", "batchSize=2"]);
  expect(b.code, b.err).toBe(0);
  const write = (name: string, content: string) => {
    files[name] = join(root, name);
    writeFileSync(files[name], content);
  };
  write("empty.json", "{}");
  write("null.json", "null");
  write("list.json", "[1, 2]");
  write("bom.json", '\uFEFF{"gamma": 0.9}');
  write("bad.yaml", "gamma: [unclosed\n");
  write("ok.yaml", "gamma: 0.95\nnumMinibatches: 2\n");
  write("a-file", "not a directory");
  files.dir = join(root, "a-dir");
  mkdirSync(files.dir);
  files.missing = join(root, "missing.json");
}, 120_000);

afterAll(() => {
  if (savedRunsEnv === undefined) delete process.env.REFINERY_RUNS;
  else process.env.REFINERY_RUNS = savedRunsEnv;
  rmSync(root, { recursive: true, force: true });
});

/** Values a user might type after `--set key=` (tame enough that a value that is accepted trains quickly). */
const plainValue = fc.constantFrom("0", "1", "2", "-1", "0.5", "1e-3", "1.5", "3e38", "NaN", "Infinity", "abc", "null", "true", "false", "[]", "[2]", "[0]", "[2,2]", '{"a":1}', '""', "relu", "step", "none", "9007199254740993");
/** Values that make a buffer or a network huge: the budget must refuse them. */
const hugeValue = fc.constantFrom("100000000", "[100000000]", "1e12", "4294967296");
const SIZE_KEYS = new Set(["numEnvs", "numSteps", "hidden", "numStarts", "groupSize", "numPrompts", "batchSize", "model.width", "model.ffWidth", "model.layers", "model.contextLength"]);

/** A value close to the default of `key` (the default itself, or a number halved or doubled): mostly valid. */
function nearDefault(defaults: Record<string, unknown>, key: string): fc.Arbitrary<string> {
  // Keys that set how much work a run does get small values, so an accepted run stays quick.
  if (["totalTimesteps", "iterations", "evalEpisodes", "evalProblems", "checkpointEvery", "evalEvery"].includes(key)) return fc.constantFrom("1", "2", "64");
  const [top, sub] = key.split(".");
  const d = sub === undefined ? defaults[top] : (defaults[top] as Record<string, unknown> | undefined)?.[sub];
  const text = typeof d === "string" ? d : JSON.stringify(d ?? null);
  if (typeof d === "number" && d > 0) return fc.constantFrom(text, String(Number.isInteger(d) ? Math.max(1, Math.floor(d / 2)) : d / 2));
  return fc.constant(text);
}

function setArg(defaults: Record<string, unknown>, keys: string[]): fc.Arbitrary<string[]> {
  const key = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...keys) }, { weight: 1, arbitrary: fc.constantFrom("learnignRate", "a..b", "__proto__.x", "model.nope", "=", "", "d3s.levels") });
  return fc
    .tuple(key, fc.integer({ min: 0, max: 5 }))
    .chain(([k, pick]) => (pick === 0 && SIZE_KEYS.has(k) ? hugeValue : pick <= 2 ? nearDefault(defaults, k) : plainValue).map((v) => ["--set", `${k}=${v}`]));
}

/** Absent three times in four: a command line has few flags, so most runs get past the first check. */
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
const flag = (name: string, values: fc.Arbitrary<string>) => maybe(values.map((v) => [name, v]));
const intText = fc.constantFrom("0", "1", "2", "3", "-1", "1.5", "abc", "", "99999999999999999999", "4294967296");
const FILE_NAMES = ["empty.json", "null.json", "list.json", "bom.json", "bad.yaml", "ok.yaml", "a-file", "dir", "missing"];
const configFile = () => fc.constantFrom(...FILE_NAMES).map((k) => files[k]);

type Table = Record<string, { defaults: Record<string, unknown> }>;

function entryOf(table: Table, algo: string): { defaults: Record<string, unknown> } {
  return table[algo] ?? table[Object.keys(table)[0]];
}

function keysOf(table: Table, algo: string): string[] {
  return Object.entries(entryOf(table, algo).defaults).flatMap(([k, v]) => (v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v).map((n) => `${k}.${n}`) : [k]));
}

const setsFor = (table: Table, algo: string) => fc.array(setArg(entryOf(table, algo).defaults, keysOf(table, algo)), { maxLength: 2 });

/** `train` on an env: algorithm, env, steps (tiny), seed, preset, config file and --set values. */
const trainArgs = fc
  .record({
    algo: maybe(fc.constantFrom(...Object.keys(ALGORITHMS), ...Object.keys(ALGORITHMS), "ppx")),
    env: flag("--env", fc.constantFrom("CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0", "CartPol-v1", "")),
    steps: flag("--steps", fc.constantFrom("64", "128", "300", "1", "0", "-5", "x", "1e3")),
    seed: flag("--seed", fc.constantFrom("0", "7", "4294967295", "4294967296", "9007199254740991", "-1")),
    preset: flag("--preset", fc.constantFrom("cleanrl", "zoo", "dr-grpo", "nope")),
    config: flag("--config", configFile()),
    task: flag("--task", fc.constantFrom("addition", "nope")),
  })
  .chain((r) => setsFor(ALGORITHMS, r.algo ?? "ppo").map((sets) => ({ ...r, sets })));

/** `sft` and text `train`: tiny model unless a --set overrides it. */
const textArgs = fc
  .record({
    command: fc.constantFrom("sft", "grpo", "rloo", "reinforce", "igrpo", "epo"),
    task: flag("--task", fc.constantFrom("addition", "addition", "parity", "nope")),
    iterations: flag("--iterations", fc.constantFrom("1", "0", "-1", "x")),
    init: flag("--init", fc.constantFrom(sftRun, sftRun, ppoRun, join(root, "nope"))),
    seed: flag("--seed", fc.constantFrom("0", "3", "9007199254740991")),
  })
  .chain((r) => setsFor(TEXT_ALGORITHMS, r.command).map((sets) => ({ ...r, sets })));

const evalArgs = fc.record({
  dir: fc.constantFrom(ppoRun, sftRun, join(root, "nope"), root, join(root, "a-file")),
  episodes: flag("--episodes", fc.constantFrom("1", "2", "0", "x")),
  problems: flag("--problems", fc.constantFrom("1", "2", "0")),
  samples: flag("--samples", fc.constantFrom("1", "2", "0")),
  k: flag("--k", fc.constantFrom("1", "1,2", "3", "0", "a")),
  temperature: flag("--temperature", fc.constantFrom("1", "0.5", "0", "-1", "x")),
  seed: flag("--seed", intText),
  switches: fc.subarray(["--stochastic", "--deterministic", "--best", "--json"]),
});

const otherArgs = fc.oneof(
  fc.tuple(fc.constantFrom("list"), fc.subarray(["--json", "--bogus"])).map(([c, s]) => [c, ...s]),
  fc.tuple(flag("--env", fc.constantFrom("CartPole-v1", "Pendulum-v1", "Pendulm-v1")), flag("--episodes", fc.constantFrom("1", "0", "x")), flag("--seed", intText)).map((fs) => ["demo", ...fs.flatMap((f) => f ?? [])]),
  fc
    .tuple(fc.constantFrom([], ["show", "ppo-seed"], ["show", "nope"], ["compare", "ppo-seed", "sft-seed"], ["compare", "ppo-seed"], ["rm", "nope", "nope"], ["rm", "../x"]), flag("--status", fc.constantFrom("running", "done", "finished")), fc.subarray(["--json"]), flag("--runs-root", fc.constantFrom(runsRoot, join(root, "a-file"), join(root, "nope"))))
    .map(([sub, status, json, rootFlag]) => ["runs", ...sub, ...(sub.length ? [] : (status ?? [])), ...json, ...(rootFlag ?? [])]),
  fc
    .tuple(
      fc.constantFrom(["ppo-seed"], [ppoRun], ["nope"], [ppoRun, sftRun]),
      flag("--metric", fc.constantFrom("return", "eval", "kl", "nope")),
      // Always an --out in the temporary root: the default (curves.png) would land in the working directory.
      fc.constantFrom(join(root, "plot.png"), join(root, "a-dir"), join(root, "a-file", "x.png"), join(root, "plots/")).map((o) => ["--out", o]),
      flag("--smooth", fc.constantFrom("0", "0.5", "1", "x")),
      flag("--width", fc.constantFrom("300", "10", "x")),
    )
    .map(([runs, ...fs]) => ["plot", ...runs, ...fs.flatMap((f) => f ?? [])]),
);

/** A fresh --out for a new run (so a failure can be checked to leave nothing). */
function freshOut(): string {
  return join(runsRoot, `fuzz-${counter++}`);
}

function dirsOf(path: string): string[] {
  return existsSync(path) ? readdirSync(path).sort() : [];
}

/** Runs one generated command line and checks its outcome; for a new run, that a failure leaves nothing. */
async function check(argv: string[], out?: string): Promise<void> {
  const before = dirsOf(runsRoot);
  const r = await cli(argv);
  if (process.env.FUZZ_LOG) console.log(r.code, argv.join(" ").slice(0, 160), "|", r.err.trim().split("\n").at(-1)?.slice(0, 150));
  checkOutcome(argv, r);
  if (r.code !== 0 && out !== undefined && !before.includes(basename(out))) {
    expect(existsSync(out), `left ${out} behind: refinery ${argv.join(" ")}\n${r.err}`).toBe(false);
    expect(dirsOf(runsRoot).filter((d) => d !== "runs.db" && !d.startsWith("runs.db-")), `refinery ${argv.join(" ")}`).toEqual(before.filter((d) => d !== "runs.db" && !d.startsWith("runs.db-")));
  }
}

describe("CLI fuzz: every outcome is exit 0 or one line with a non-zero code, never a stack trace, never a leftover directory", () => {
  it("train on envs", async () => {
    await fc.assert(
      fc.asyncProperty(trainArgs, fc.integer({ min: 0, max: 9 }), async (a, where) => {
        // Mostly a new directory; sometimes one under a file, or one that already holds a run.
        const out = where === 0 ? join(files["a-file"], "run") : where === 1 ? ppoRun : freshOut();
        const argv = ["train", ...(a.algo ? ["--algo", a.algo] : []), ...[a.env, a.steps, a.seed, a.preset, a.config, a.task].flatMap((f) => f ?? []), "--set", "backend=cpu", "--set", "evalEpisodes=1", ...a.sets.flat(), "--out", out, "--quiet"];
        // A default budget (500k steps) would take minutes: a run without --steps gets a tiny one, unless the fuzz set it.
        if (!a.steps && !a.sets.some((s) => s[1].startsWith("totalTimesteps="))) argv.push("--set", "totalTimesteps=64");
        await check(argv, out);
      }),
      { numRuns: 40, seed: SEED, endOnFailure: true },
    );
  }, 240_000);

  it("sft and train on text tasks", async () => {
    await fc.assert(
      fc.asyncProperty(textArgs, async (a) => {
        const out = freshOut();
        const tiny = ["--set", "backend=cpu", "--set", "model.layers=1", "--set", "model.width=16", "--set", "model.heads=2", "--set", "model.ffWidth=32", "--set", "evalProblems=2", "--set", "taskOptions.digits=1"];
        const head = a.command === "sft" ? ["sft", "--set", "batchSize=2"] : ["train", "--algo", a.command, "--set", "numPrompts=2", "--set", "groupSize=2"];
        const argv = [...head, ...[a.task, a.iterations, a.init, a.seed].flatMap((f) => f ?? []), ...tiny, ...a.sets.flat(), "--out", out, "--quiet"];
        if (!a.iterations) argv.push("--iterations", "1");
        if (!a.task && a.command !== "sft") argv.push("--task", "addition");
        await check(argv, out);
      }),
      { numRuns: 25, seed: SEED, endOnFailure: true },
    );
  }, 240_000);

  it("eval", async () => {
    await fc.assert(
      fc.asyncProperty(evalArgs, async (a) => {
        const argv = ["eval", a.dir, ...[a.episodes, a.problems, a.samples, a.k, a.temperature, a.seed].flatMap((f) => f ?? []), ...a.switches];
        if (!a.problems && a.dir === sftRun) argv.push("--problems", "2");
        await check(argv);
      }),
      { numRuns: 30, seed: SEED, endOnFailure: true },
    );
  }, 120_000);

  it("list, demo, runs and plot", async () => {
    await fc.assert(
      fc.asyncProperty(otherArgs, async (argv) => {
        await check(argv);
      }),
      { numRuns: 40, seed: SEED, endOnFailure: true },
    );
  }, 120_000);
});
