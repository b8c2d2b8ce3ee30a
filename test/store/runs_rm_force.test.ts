import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { RunDir } from "../../src/train/run.js";
import { cli, fakeRun } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-rm-force-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

const CHILD = fileURLToPath(new URL("../helpers/cli_child.ts", import.meta.url));

describe("refinery runs rm on a run that is training", () => {
  it("refuses without --force; with --force stops the trainer (SIGTERM), waits for it, then removes the whole run", async () => {
    const dir = join(root, "live");
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, "train", "--out", dir, "--steps", "400000", "--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=32", "--quiet"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let err = "";
    child.stderr?.on("data", (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!(existsSync(join(dir, "owner.lock")) && new RunDir(dir).readMetrics().length >= 2)) {
      if (Date.now() > deadline) throw new Error("the run did not start");
      await new Promise((r) => setTimeout(r, 20));
    }

    const refused = await cli("runs", "rm", "live", "--runs-root", root);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(new RegExp(`run live is still training \\(pid ${child.pid} on \\S+ since .*\\)\\. Fix: .*--force`));
    expect(existsSync(dir)).toBe(true);

    const forced = await cli("runs", "rm", "live", "--force", "--runs-root", root);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.err).toMatch(new RegExp(`stopping run live \\(SIGTERM to pid ${child.pid}\\)`));
    expect(forced.out).toMatch(/^removed run live /m);
    expect(await exited).toBe(143);
    expect(err).toMatch(/SIGTERM: stopping after this iteration/);
    // No headless directory comes back: the trainer had stopped before the removal.
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(dir)).toBe(false);
    const list = await cli("runs", "--runs-root", root, "--json");
    expect((JSON.parse(list.out) as { id: string }[]).map((r) => r.id)).not.toContain("live");
  }, 120_000);

  it("never removes a directory that holds a run store or other runs", async () => {
    const nested = join(root, "nested");
    fakeRun(join(root, "plain"), { seed: 1, returns: [1, 2] });
    // A run made in a runs root before --out was confined: it holds other runs and a store.
    fakeRun(nested, { seed: 2, returns: [3] });
    mkdirSync(join(nested, "inner"));
    writeFileSync(join(nested, "inner", "config.json"), JSON.stringify({ algo: "ppo", config: { env: "CartPole-v1" } }));
    writeFileSync(join(nested, "runs.db"), "");
    const r = await cli("runs", "rm", "nested", "--runs-root", root);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/run nested .* holds other runs or a run store/);
    expect(existsSync(join(nested, "inner", "config.json"))).toBe(true);
    expect((await cli("runs", "rm", "plain", "--runs-root", root)).code).toBe(0);
    expect(existsSync(root)).toBe(true);
  });
});
