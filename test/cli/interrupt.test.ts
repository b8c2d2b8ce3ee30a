import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exited, spawnTs } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-interrupt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const iterations = (dir: string) => (existsSync(join(dir, "metrics.jsonl")) ? readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.includes('"kind":"train"')).length : 0);
const status = (dir: string) => (existsSync(join(dir, "status.json")) ? (JSON.parse(readFileSync(join(dir, "status.json"), "utf8")) as { status: string; iteration: number }) : null);

describe("refinery train and signals", () => {
  it("SIGINT stops the run before the next iteration: status interrupted, exit code 130, a hint to resume", async () => {
    const dir = join(root, "run");
    const child = spawnTs(new URL("../dashboard/cli_child.ts", import.meta.url), [
      "train", "--env", "CartPole-v1", "--steps", "10000000", "--seed", "1", "--out", dir, "--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--quiet",
    ]);
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr += d));
    const deadline = Date.now() + 60_000;
    while (iterations(dir) < 2 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(iterations(dir)).toBeGreaterThanOrEqual(2);
    expect(status(dir)?.status).toBe("running");
    child.kill("SIGINT");
    expect(await exited(child)).toBe(130);
    expect(status(dir)?.status).toBe("interrupted");
    expect(stderr).toMatch(/refinery: run .*run stopped by SIGINT at step [\d,]+ \(checkpoint \d+ saved, run marked interrupted\)\. Fix: continue it with `refinery train --resume .*run`/);
  });
});
