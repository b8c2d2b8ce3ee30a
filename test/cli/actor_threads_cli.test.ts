import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run, type CliIo } from "../../src/cli/main.js";

const root = mkdtempSync(join(tmpdir(), "refinery-actor-threads-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await run(argv, io);
  return { code, out, err };
}

const GRPO = ["train", "--algo", "grpo", "--env", "CartPole-v1", "--steps", "400", "--set", "numStarts=2", "--set", "groupSize=4", "--set", "evalEpisodes=1", "--set", "backend=cpu", "--quiet", "--json"];

describe("refinery train --actor-threads / --max-staleness", () => {
  it("trains grpo with 2 actor threads one iteration ahead and logs the staleness metrics", async () => {
    const out = join(root, "grpo");
    const r = await cli(...GRPO, "--actor-threads", "2", "--max-staleness", "1", "--out", out);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim());
    const rows = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.kind === "train");
    expect(summary.steps).toBe(rows.reduce((s: number, row: Record<string, number>) => s + row.iterationSteps, 0));
    expect(rows.every((row: Record<string, number>) => row["remote/shards"] === 2 && row["remote/stalenessMax"] <= 1 && row["remote/staleness"] <= 1)).toBe(true);
    expect(rows.at(-1)["remote/stalenessMax"]).toBe(1);
  });

  it("refuses options that cannot act, in one line, before making the run", async () => {
    const cases: [string[], RegExp][] = [
      [["--max-staleness", "1"], /--max-staleness 1 bounds how far actors run ahead, and this run has none\. Fix: add --actor-threads N/],
      [["--actor-threads", "3"], /--actor-threads 3 does not divide numStarts 2/],
    ];
    for (const [flags, message] of cases) {
      const out = join(root, `refused-${flags.join("")}`);
      const r = await cli(...GRPO, ...flags, "--out", out);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
    const ppo = await cli("train", "--algo", "ppo", "--env", "CartPole-v1", "--actor-threads", "2", "--max-staleness", "1", "--out", join(root, "ppo"), "--quiet");
    expect(ppo.code).not.toBe(0);
    expect(ppo.err).toMatch(/--max-staleness 1: ppo stays exactly on-policy with --actor-threads.*Fix: drop --max-staleness/);
    const async = await cli("train", "--algo", "ppo", "--env", "CartPole-v1", "--actor-threads", "2", "--set", "vectorEnv=async", "--out", join(root, "async"), "--quiet");
    expect(async.code).not.toBe(0);
    expect(async.err).toMatch(/vectorEnv=async has nothing to do with --actor-threads.*Fix: drop --set vectorEnv=async/);
    expect(existsSync(join(root, "async"))).toBe(false);
  });
});
