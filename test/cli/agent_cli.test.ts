import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type CliIo } from "../../src/cli/main.js";

const root = mkdtempSync(join(tmpdir(), "refinery-agent-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

const TINY = ["--set", "backend=cpu", "--set", "model.layers=1", "--set", "model.width=16", "--set", "model.heads=2", "--set", "model.ffWidth=32", "--set", "model.contextLength=64", "--set", "taskOptions.bits=3", "--set", "evalProblems=4"];

describe("refinery sft / train / eval on a multi-turn task", () => {
  const sftDir = join(root, "sft");
  const rlDir = join(root, "gigpo");

  it("sft on demonstrations, then gigpo from it, then eval prints success, pass@k, turns and tool calls", async () => {
    const s = await cli("sft", "--task", "guess", "--iterations", "3", "--out", sftDir, "--quiet", ...TINY, "--set", "batchSize=4");
    expect(s.err).toBe("");
    expect(s.code).toBe(0);
    expect(existsSync(join(sftDir, "policy", "model.json"))).toBe(true);
    const r = await cli("train", "--algo", "gigpo", "--task", "guess", "--init", sftDir, "--iterations", "1", "--out", rlDir, "--quiet", "--set", "backend=cpu", "--set", "numPrompts=2", "--set", "groupSize=2", "--set", "taskOptions.bits=3", "--set", "evalProblems=4");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const e = await cli("eval", rlDir, "--problems", "4", "--samples", "2");
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/guess \{"bits":3\} \(multi-turn\): \d+ held-out problems/);
    expect(e.out).toMatch(/greedy: {2}success [\d.]+%, [\d.]+ turns, [\d.]+ tool calls/);
    expect(e.out).toMatch(/pass@1 [\d.]+%, pass@2 [\d.]+%/);
    const j = await cli("eval", rlDir, "--problems", "4", "--samples", "2", "--json");
    const parsed = JSON.parse(j.out.trim());
    expect(parsed.greedy.mean_turns).toBeGreaterThan(0);
    expect(Object.keys(parsed.sampled.pass_at_k)).toEqual(["1", "2"]);
    expect(parsed.transcripts.length).toBeGreaterThan(0);
  }, 120_000);

  it("names the problem and the fix for a single-turn algorithm on a multi-turn task", async () => {
    const r = await cli("train", "--algo", "igrpo", "--task", "calc", "--out", join(root, "bad"));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown algorithm "igrpo" for the multi-turn task calc.*use one of: sft, grpo/);
  });

  it("refinery list shows the multi-turn tasks, tools and algorithms", async () => {
    const r = await cli("list");
    expect(r.out).toMatch(/Multi-turn tasks/);
    expect(r.out).toMatch(/calc {2,}arithmetic with a calculator tool/);
    expect(r.out).toMatch(/Multi-turn algorithm hgpo/);
  });
});
