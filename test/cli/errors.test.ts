import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALGORITHMS } from "../../src/algos/index.js";
import { run, type CliIo } from "../../src/cli/main.js";
import { describeFailure, EXIT } from "../../src/cli/exit.js";
import { RunStore } from "../../src/store/store.js";
import { estimateMemory, formatBytes } from "../../src/train/budget.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-errors-"));
// Readable by the unprivileged user the permission tests run as.
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const BIN = fileURLToPath(new URL("../../bin/refinery.js", import.meta.url));
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

interface Result {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Result> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

/**
 * The built command in a child process. As root, permissions are not enforced, so the
 * permission tests run it as the unprivileged user `nobody` (uid 65534) instead.
 */
function spawnCli(args: string[], opts: { asNobody?: boolean; env?: Record<string, string> } = {}): Result {
  if (opts.asNobody && isRoot) expectNobodyReachesCheckout();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, ...opts.env },
    ...(opts.asNobody && isRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

let nobodyChecked = false;

/** A checkout nobody cannot reach fails here with what to do, not with a confusing CLI error. */
function expectNobodyReachesCheckout(): void {
  if (nobodyChecked) return;
  const probe = spawnSync(process.execPath, ["-e", `require("node:fs").accessSync(${JSON.stringify(BIN)}, 4)`], { uid: NOBODY, gid: NOBODY, encoding: "utf8" });
  expect(
    probe.status,
    `the permission tests run the CLI as user nobody, who cannot read ${BIN}: let others traverse the directories above the checkout (chmod o+x on each; .ci/run does), or run the tests as a user other than root`,
  ).toBe(0);
  nobodyChecked = true;
}

/** One line on stderr, "refinery: …", no stack frames. */
function expectOneLine(r: Result, code: number, ...patterns: RegExp[]): void {
  expect(r.code, r.err).toBe(code);
  const lines = r.err.trimEnd().split("\n");
  expect(lines, r.err).toHaveLength(1);
  expect(r.err).toMatch(/^refinery: /);
  expect(r.err).not.toMatch(/\n\s+at /);
  for (const p of patterns) expect(r.err).toMatch(p);
}

const FAST = ["--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--set", "evalEpisodes=1"];
const TINY_TEXT = ["--set", "backend=cpu", "--set", "model.layers=1", "--set", "model.width=16", "--set", "model.heads=2", "--set", "model.ffWidth=32", "--set", "taskOptions.digits=1", "--set", "evalProblems=4", "--set", "batchSize=4"];

/** A finished tiny PPO run and a finished tiny SFT run, shared by the tests below. */
const ppoRun = join(root, "runs", "ppo");
const sftRun = join(root, "runs", "sft");
beforeAll(async () => {
  const a = await cli("train", "--steps", "128", "--out", ppoRun, "--quiet", ...FAST);
  expect(a.code, a.err).toBe(0);
  const b = await cli("sft", "--task", "addition", "--iterations", "1", "--out", sftRun, "--quiet", ...TINY_TEXT);
  expect(b.code, b.err).toBe(0);
}, 120_000);

describe("item 8: everything is validated before the run directory exists", () => {
  const never = join(root, "never");
  const cases: [string, string[], RegExp][] = [
    ["--seed past 2^32 - 1", ["train", "--seed", "9007199254740991", ...FAST], /--seed must be an integer in \[0, 4294967295\]/],
    ["seed past 2^32 - 1 through --set", ["train", "--set", "seed=9007199254740991", ...FAST], /key "seed" = 9007199254740991 .*must be <= 4294967295/],
    ["a model width that is not a multiple of heads", ["sft", "--task", "addition", "--set", "model.width=65"], /width 65 is not divisible by heads 4/],
    ["a context shorter than a problem", ["sft", "--task", "addition", "--set", "model.contextLength=1"], /exceed the model's context length 1/],
    ["a tokenizer without the task's characters", ["sft", "--task", "addition", "--set", "chars=abc"], /characters the policy's tokenizer lacks/],
    ["--init of an env run for a text run", ["train", "--algo", "grpo", "--task", "addition", "--init", ppoRun], /not a text policy/],
  ];
  it.each(cases)("%s: one line, exit 2, no directory", async (_name, argv, pattern) => {
    const r = await cli(...argv, "--out", never);
    expectOneLine(r, EXIT.usage, pattern);
    expect(existsSync(never)).toBe(false);
  });

  it("a run that fails at start-up after its directory exists is marked failed with the reason, in status.json and the store", async () => {
    const dir = join(root, "store-root", "startup-fails");
    // A stand-in algorithm whose start-up (installing the per-step hook) throws.
    ALGORITHMS["test-startup-fails"] = {
      ...ALGORITHMS.ppo,
      name: "test-startup-fails",
      create: async () =>
        ({
          name: "test-startup-fails",
          iteration: 0,
          totalIterations: 1,
          stepsPerIteration: 1,
          setHooks: () => {
            throw new Error("hook installation failed");
          },
          dispose: () => {},
        }) as never,
    };
    try {
      await expect(train({ runDir: dir, algo: "test-startup-fails", config: { env: "CartPole-v1", seed: 0, totalTimesteps: 1 }, callbacks: { onStep: () => {} } })).rejects.toThrow(/hook installation failed/);
    } finally {
      delete ALGORITHMS["test-startup-fails"];
    }
    const status = JSON.parse(readFileSync(join(dir, "status.json"), "utf8")) as { status: string; error: string };
    expect(status).toMatchObject({ status: "failed", error: "hook installation failed" });
    const store = RunStore.open(join(root, "store-root"));
    try {
      expect(store.getRun("startup-fails")).toMatchObject({ status: "failed", error: "hook installation failed" });
    } finally {
      store.close();
    }
  });
});

describe("item 9: user-caused failures are one line with an exit code by class", () => {
  it("--out under a file: exit 2, nothing created", async () => {
    const file = join(root, "a-file");
    writeFileSync(file, "x");
    const r = await cli("train", "--out", join(file, "run"), ...FAST);
    expectOneLine(r, EXIT.usage, /lies under .*a-file, which is a file/);
    expect(statSync(file).isFile()).toBe(true);
  });

  it("an unwritable --out parent: exit 4, nothing created (run as uid 65534 when the tests run as root)", () => {
    const locked = join(root, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const r = spawnCli(["train", "--out", join(locked, "run"), ...FAST], { asNobody: true });
    expectOneLine(r, EXIT.environment, /cannot create the run directory .*locked.* is not writable/);
    expect(readdirSync(locked)).toEqual([]);
  });

  it("an unwritable runs root for a run without --out (REFINERY_RUNS): exit 4", () => {
    const locked = join(root, "locked-root");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const r = spawnCli(["train", ...FAST], { asNobody: true, env: { REFINERY_RUNS: locked } });
    expectOneLine(r, EXIT.environment, /not writable/);
    expect(readdirSync(locked)).toEqual([]);
  });

  it("resuming an unwritable run directory: exit 4 naming it", () => {
    const dir = join(root, "unwritable-run");
    cpSync(ppoRun, dir, { recursive: true });
    writeFileSync(join(dir, "status.json"), JSON.stringify({ status: "interrupted" }));
    chmodSync(dir, 0o555);
    const r = spawnCli(["train", "--resume", dir], { asNobody: true });
    expectOneLine(r, EXIT.environment, /cannot resume .*unwritable-run: the run directory is not writable/);
  });

  describe("a read-only run store", () => {
    const storeRoot = join(root, "ro-store");
    beforeAll(() => {
      mkdirSync(storeRoot);
      cpSync(ppoRun, join(storeRoot, "ppo"), { recursive: true });
      if (isRoot) spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, storeRoot]);
      const first = spawnCli(["runs", "--runs-root", storeRoot], { asNobody: true });
      expect(first.code, first.err).toBe(0);
    });

    it("runs.db read-only: exit 4, and no read-only runs.db-shm is left to break later commands", () => {
      chmodSync(join(storeRoot, "runs.db"), 0o444);
      const r = spawnCli(["runs", "--runs-root", storeRoot], { asNobody: true });
      expectOneLine(r, EXIT.environment, /runs\.db is read-only/, /chmod u\+w/);
      const rebuild = spawnCli(["runs", "--rebuild", "--runs-root", storeRoot], { asNobody: true });
      expectOneLine(rebuild, EXIT.environment, /read-only/);
      chmodSync(join(storeRoot, "runs.db"), 0o644);
      const again = spawnCli(["runs", "--runs-root", storeRoot], { asNobody: true });
      expect(again.code, again.err).toBe(0);
      expect(again.out).toMatch(/^ppo +finished/m);
    });

    it("a stale 0444 runs.db-shm beside a writable runs.db is repaired, for listing and --rebuild", () => {
      const shm = join(storeRoot, "runs.db-shm");
      writeFileSync(shm, "");
      if (isRoot) chownSync(shm, NOBODY, NOBODY);
      chmodSync(shm, 0o444);
      const r = spawnCli(["runs", "--runs-root", storeRoot], { asNobody: true });
      expect(r.code, r.err).toBe(0);
      writeFileSync(shm, "");
      if (isRoot) chownSync(shm, NOBODY, NOBODY);
      chmodSync(shm, 0o444);
      const rebuild = spawnCli(["runs", "--rebuild", "--runs-root", storeRoot], { asNobody: true });
      expect(rebuild.code, rebuild.err).toBe(0);
      expect(rebuild.err).toMatch(/rebuilt .* from 1 run directory/);
    });
  });

  it("runs.db a directory: exit 3 naming it; --rebuild moves it aside and rebuilds", async () => {
    const storeRoot = join(root, "db-dir");
    mkdirSync(join(storeRoot, "runs.db"), { recursive: true });
    expectOneLine(await cli("runs", "--runs-root", storeRoot), EXIT.damaged, /runs\.db is a directory/, /--rebuild/);
    const rebuilt = await cli("runs", "--runs-root", storeRoot, "--rebuild");
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect(statSync(join(storeRoot, "runs.db")).isFile()).toBe(true);
  });

  it("the runs root a file: exit 2 for runs and for train through REFINERY_RUNS", async () => {
    const file = join(root, "root-is-a-file");
    writeFileSync(file, "");
    expectOneLine(await cli("runs", "--runs-root", file), EXIT.usage, /runs root .* is a file/);
    const saved = process.env.REFINERY_RUNS;
    process.env.REFINERY_RUNS = file;
    try {
      expectOneLine(await cli("train", ...FAST), EXIT.usage, /lies under .*root-is-a-file, which is a file/);
    } finally {
      if (saved === undefined) delete process.env.REFINERY_RUNS;
      else process.env.REFINERY_RUNS = saved;
    }
  });

  it.each([["{}"], ["null"], ["[1]"]])("config.json %s: exit 3 naming the file", async (content) => {
    const dir = join(root, `bad-config-${content.length}`);
    cpSync(ppoRun, dir, { recursive: true });
    writeFileSync(join(dir, "config.json"), content);
    expectOneLine(await cli("eval", dir), EXIT.damaged, /config\.json is not a run config/);
    expectOneLine(await cli("train", "--resume", dir), EXIT.damaged, /config\.json is not a run config/);
  });

  it("weights.bin missing: exit 3 naming it", async () => {
    const dir = join(root, "no-weights");
    cpSync(ppoRun, dir, { recursive: true });
    rmSync(join(dir, "policy", "weights.bin"));
    expectOneLine(await cli("eval", dir), EXIT.damaged, /weights\.bin is missing/);
  });

  it("metrics.jsonl a directory: exit 3 for plot and resume", async () => {
    const dir = join(root, "metrics-dir");
    cpSync(ppoRun, dir, { recursive: true });
    rmSync(join(dir, "metrics.jsonl"));
    mkdirSync(join(dir, "metrics.jsonl"));
    expectOneLine(await cli("plot", dir, "--out", join(root, "m.png")), EXIT.damaged, /metrics\.jsonl is a directory/);
    expectOneLine(await cli("train", "--resume", dir), EXIT.damaged, /metrics\.jsonl is a directory/);
  });

  it.each([["10.255.255.1", /no network interface of this machine has that address/], ["no-such-host.invalid", /does not resolve/]])(
    "dashboard --host %s: exit 4",
    async (host, pattern) => {
      expectOneLine(await cli("dashboard", "--host", host, "--port", "0", "--runs-root", join(root, "runs")), EXIT.environment, /cannot listen on/, pattern, /--host 127\.0\.0\.1/);
    },
  );

  it("stdout closed early (`refinery list | head -1`): exit 0, nothing on stderr", () => {
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BIN}" list | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}" >&2`], { encoding: "utf8" });
    expect(r.stderr.trim()).toBe("0");
  });

  it("system errors are classified: permission and disk 4, missing or misplaced files 3, anything else a one-line internal error 1", () => {
    const sys = (code: string, extra: object = {}) => describeFailure(Object.assign(new Error(code), { code, syscall: "open", path: "/x/y", ...extra }));
    expect(sys("EACCES")).toMatchObject({ code: 4, message: expect.stringMatching(/^permission denied: cannot open \/x\/y\. Fix: /) });
    expect(sys("EROFS").code).toBe(4);
    expect(sys("ENOSPC").message).toMatch(/no space left/);
    expect(sys("ENOTDIR").code).toBe(3);
    expect(sys("SQLITE_READONLY").code).toBe(4);
    const bug = describeFailure(new TypeError("x is not a function\n  at somewhere"));
    expect(bug.code).toBe(1);
    expect(bug.message).toMatch(/^internal error: x is not a function at somewhere\. Fix: this is a bug/);
    expect(bug.message).not.toContain("\n");
  });

  it("--help lists the exit codes and the environment variables", async () => {
    const r = await cli("--help");
    expect(r.out).toMatch(/Exit codes:\n {2}0 {2}success\n {2}1 {2}internal error[^\n]*\n {2}2 {2}usage[^\n]*\n {2}3 {2}damaged[^\n]*\n {2}4 {2}environment/);
    for (const name of ["REFINERY_RUNS", "REFINERY_DEBUG", "REFINERY_MEMORY_LIMIT_MB", "REFINERY_MUJOCO"]) expect(r.out).toMatch(new RegExp(`\\n {2}${name}[ =]`));
  });
});

describe("item 10: budgets", () => {
  const never = join(root, "never-budget");
  it.each([
    ["numEnvs=100000000", /needs about [\d.]+ TB of memory \(.*rollout buffer/],
    ["hidden=[100000000]", /needs about [\d.]+ GB of memory \(.*network parameters/],
  ])("--set %s is refused with the estimate, before anything is created", async (set, pattern) => {
    expectOneLine(await cli("train", "--set", set, "--out", never), EXIT.usage, pattern, /more than the .* allowed/);
    expect(existsSync(never)).toBe(false);
  });

  it("a text model too large for memory is refused", async () => {
    expectOneLine(await cli("sft", "--task", "addition", "--set", "model.width=8192", "--set", "model.ffWidth=32768", "--out", never), EXIT.usage, /sft config needs about .* GB/);
  });

  it("numMinibatches larger than the batch is refused", async () => {
    expectOneLine(await cli("train", ...FAST, "--set", "numMinibatches=129", "--out", never), EXIT.usage, /numMinibatches = 129 is larger than the batch of 128 steps/, /at most 128/);
    expect(existsSync(never)).toBe(false);
  });

  it("the estimate of the default configs is small (a few MB), so no ordinary run is refused", () => {
    expect(estimateMemory("ppo", { ...ALGORITHMS.ppo.defaults }).bytes).toBeLessThan(64 * 2 ** 20);
    expect(estimateMemory("grpo", { ...ALGORITHMS.grpo.defaults }).bytes).toBeLessThan(256 * 2 ** 20);
    expect(formatBytes(1536)).toBe("1.5 KB");
  });

  it("--steps that whole iterations cannot hit: a note says what will train, and the JSON has requested_steps", async () => {
    const dir = join(root, "steps-note");
    const r = await cli("train", "--steps", "300", "--out", dir, "--json", ...FAST);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/note: 300 steps is not a multiple of numEnvs × numSteps = 128; training 2 iterations = 256 steps/);
    expect(JSON.parse(r.out.trim().split("\n").at(-1) as string)).toMatchObject({ steps: 256, requested_steps: 300 });
  });
});

describe("item 12: eval", () => {
  it("is deterministic by default, samples with --stochastic, and prints the threshold", async () => {
    const d = await cli("eval", ppoRun, "--episodes", "2", "--json");
    expect(d.code, d.err).toBe(0);
    expect(JSON.parse(d.out)).toMatchObject({ deterministic: true, reward_threshold: 475, threshold_reached: false });
    const s = await cli("eval", ppoRun, "--episodes", "2", "--stochastic", "--json");
    expect(JSON.parse(s.out)).toMatchObject({ deterministic: false });
    const text = await cli("eval", ppoRun, "--episodes", "2");
    expect(text.out).toMatch(/\(deterministic actions\).*; threshold 475: not reached/);
  });

  it("--k larger than --samples, text options on an env run and env options on a text run are errors", async () => {
    expectOneLine(await cli("eval", sftRun, "--samples", "2", "--k", "1,4"), EXIT.usage, /--k 4 is larger than --samples 2/);
    expectOneLine(await cli("eval", ppoRun, "--problems", "5"), EXIT.usage, /--problems applies to text runs/);
    expectOneLine(await cli("eval", ppoRun, "--k", "2"), EXIT.usage, /--k applies to text runs/);
    expectOneLine(await cli("eval", sftRun, "--episodes", "3"), EXIT.usage, /--episodes applies to env runs/);
    expectOneLine(await cli("eval", ppoRun, "--stochastic", "--deterministic"), EXIT.usage, /contradict/);
  });
});

describe("item 16: smaller things", () => {
  it("train honours REFINERY_RUNS, and a text run's default directory name has no ':'", async () => {
    const runsRoot = join(root, "env-root");
    const saved = process.env.REFINERY_RUNS;
    process.env.REFINERY_RUNS = runsRoot;
    try {
      const r = await cli("train", "--steps", "128", "--quiet", "--json", ...FAST);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out).run_dir).toMatch(new RegExp(`^${runsRoot}/ppo-CartPole-v1-s1-\\d{8}-\\d{6}$`));
      const t = await cli("sft", "--task", "addition", "--iterations", "1", "--quiet", "--json", ...TINY_TEXT);
      expect(t.code, t.err).toBe(0);
      expect(JSON.parse(t.out).run_dir).toMatch(new RegExp(`^${runsRoot}/sft-text-addition-s1-\\d{8}-\\d{6}$`));
    } finally {
      if (saved === undefined) delete process.env.REFINERY_RUNS;
      else process.env.REFINERY_RUNS = saved;
    }
  });

  it("--env with --task (no --algo) names the env/task conflict, not the algorithm", async () => {
    expectOneLine(await cli("train", "--env", "CartPole-v1", "--task", "addition"), EXIT.usage, /names both: env "CartPole-v1" .* and task "addition"/);
  });

  it("a nested key from a config file is reported as from the file, even when --set touches the same object", async () => {
    const file = join(root, "nested.json");
    writeFileSync(file, JSON.stringify({ model: { width: "wide" } }));
    expectOneLine(await cli("sft", "--task", "addition", "--config", file, "--set", "model.layers=1"), EXIT.usage, /key "model\.width" = "wide" \(from config file .*nested\.json\)/);
  });

  it("a config file with a UTF-8 byte-order mark is read (JSON and YAML)", async () => {
    const json = join(root, "bom.json");
    writeFileSync(json, "\uFEFF" + JSON.stringify({ gamma: 0.9, numEnvs: 2, numSteps: 64, backend: "cpu", evalEpisodes: 1 }));
    const r = await cli("train", "--config", json, "--steps", "128", "--out", join(root, "bom-run"), "--quiet", "--json");
    expect(r.code, r.err).toBe(0);
    const yaml = join(root, "bom.yaml");
    writeFileSync(yaml, "\uFEFFgamma: 0.95\n");
    const y = await cli("train", "--config", yaml, "--set", "numMinibatches=100000", "--out", join(root, "never-yaml"));
    // Parsed (the bad minibatch count is the error, not the BOM).
    expectOneLine(y, EXIT.usage, /numMinibatches/);
  });

  it("plot --out DIR (an existing directory) writes DIR/curves.png and DIR/curves.svg", async () => {
    const out = join(root, "plots");
    mkdirSync(out);
    const r = await cli("plot", ppoRun, "--out", out, "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ png: join(out, "curves.png"), svg: join(out, "curves.svg") });
    expect(existsSync(join(out, "curves.png"))).toBe(true);
    expect(existsSync(`${out}.png`)).toBe(false);
  });

  it("plot --out under a file is one line, exit 2 (found by the fuzz test)", async () => {
    const file = join(root, "plot-file");
    writeFileSync(file, "");
    expectOneLine(await cli("plot", ppoRun, "--out", join(file, "x.png")), EXIT.usage, /--out .* lies under .*plot-file, which is a file/);
  });

  it("runs rm a a removes the run once", async () => {
    const rmRoot = join(root, "rm-root");
    cpSync(ppoRun, join(rmRoot, "a"), { recursive: true });
    const r = await cli("runs", "rm", "a", "a", "--runs-root", rmRoot);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(rmRoot, "a"))).toBe(false);
  });
});
