import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type CliIo } from "../../src/cli/main.js";

const root = mkdtempSync(join(tmpdir(), "refinery-text-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

const TINY = ["--set", "backend=cpu", "--set", "model.layers=1", "--set", "model.width=16", "--set", "model.heads=2", "--set", "model.ffWidth=32", "--set", "taskOptions.digits=1", "--set", "evalProblems=10"];

describe("refinery sft / train --task / eval on a text run", () => {
  const sftDir = join(root, "sft");
  const grpoDir = join(root, "grpo");

  it("sft trains a text policy and writes a run with greedy pass@1 in its metrics", async () => {
    const r = await cli("sft", "--task", "addition", "--iterations", "5", "--out", sftDir, "--quiet", "--json", ...TINY, "--set", "batchSize=8");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim()).env).toBe("text:addition");
    expect(existsSync(join(sftDir, "policy", "model.json"))).toBe(true);
    const evals = readFileSync(join(sftDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.kind === "eval");
    expect(evals.at(-1).evalPassAt1).toBeGreaterThanOrEqual(0);
  });

  it("train --algo grpo --task starts from the SFT run, and eval prints pass@1 greedy and sampled and pass@k", async () => {
    const r = await cli("train", "--algo", "grpo", "--task", "addition", "--init", sftDir, "--iterations", "2", "--out", grpoDir, "--quiet", "--set", "backend=cpu", "--set", "numPrompts=2", "--set", "groupSize=2", "--set", "taskOptions.digits=1", "--set", "evalProblems=10");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const e = await cli("eval", grpoDir, "--problems", "10", "--samples", "4", "--k", "1,2,4");
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/greedy: {2}pass@1 \d+\.\d%/);
    expect(e.out).toMatch(/pass@1 [\d.]+%, pass@2 [\d.]+%, pass@4 [\d.]+%/);
    const j = await cli("eval", grpoDir, "--problems", "10", "--samples", "2", "--json");
    const parsed = JSON.parse(j.out.trim());
    expect(parsed.problems).toBe(10);
    expect(Object.keys(parsed.sampled.pass_at_k)).toEqual(["1", "2"]);
  });

  it("by default trains on the kernels (recorded in config.json), and eval scores on them: its greedy figures are the run's own", async () => {
    const dir = join(root, "sft-kernels");
    const small = TINY.slice(2); // without backend=cpu: the default, auto
    const r = await cli("sft", "--task", "addition", "--iterations", "40", "--out", dir, "--quiet", ...small, "--set", "batchSize=16", "--set", "evalProblems=20");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).config.backend).toBe("kernels");
    const evals = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.kind === "eval");
    const last = evals.at(-1);
    const e = JSON.parse((await cli("eval", dir, "--problems", "20", "--samples", "1", "--json")).out.trim());
    expect(e.backend).toBe("kernels");
    expect(e.greedy.pass_at_1).toBe(last.evalPassAt1);
    expect(e.greedy.mean_length).toBe(last.evalLengthMean);
    expect(e.greedy.mean_reward).toBe(last.evalReturnMean);
  });

  it("names the problem and the fix for a task without --task, --steps on a text run, ppo on a task and a missing --import", async () => {
    const noTask = await cli("sft");
    expect(noTask.code).toBe(2);
    expect(noTask.err).toMatch(/needs a task.*--task/);
    const steps = await cli("train", "--algo", "grpo", "--task", "addition", "--steps", "100");
    expect(steps.code).toBe(2);
    expect(steps.err).toMatch(/--iterations/);
    const ppo = await cli("train", "--algo", "ppo", "--task", "addition");
    expect(ppo.code).toBe(2);
    expect(ppo.err).toMatch(/runs on envs/);
    const imp = await cli("sft", "--task", "addition", "--import", join(root, "missing.mjs"));
    expect(imp.code).toBe(2);
    expect(imp.err).toMatch(/no such file/);
  });

  it("--import loads a module before the command", async () => {
    const mod = join(root, "side_effect.mjs");
    writeFileSync(mod, "globalThis.__refineryImported = (globalThis.__refineryImported ?? 0) + 1;\n");
    const r = await cli("sft", "--task", "addition", "--import", mod, "--iterations", "1", "--out", join(root, "imp"), "--quiet", ...TINY, "--set", "batchSize=2");
    expect(r.code).toBe(0);
    expect((globalThis as { __refineryImported?: number }).__refineryImported).toBe(1);
  });

  it("list shows the text tasks and the text algorithms", async () => {
    const r = await cli("list");
    expect(r.out).toMatch(/Text tasks/);
    for (const t of ["addition", "multiplication", "sorting", "countdown", "parity"]) expect(r.out).toContain(t);
    expect(r.out).toMatch(/Text algorithm igrpo/);
    expect(r.out).toMatch(/Text algorithm sft \(refinery sft --task NAME\)/);
  });
});
