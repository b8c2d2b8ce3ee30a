import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, type CliResult } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-offpolicy-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SMALL = ["--set", "backend=cpu", "--set", "hidden=[16,16]", "--set", "batchSize=16", "--set", "learningStarts=100", "--set", "iterationSteps=100", "--set", "evalEpisodes=1"];

describe("refinery train --algo sac / td3 / mdpo-off", () => {
  const dir = join(root, "sac");
  let trained: CliResult;
  beforeAll(async () => {
    trained = await cli("train", "--algo", "sac", "--env", "Pendulum-v1", "--steps", "300", "--seed", "0", "--out", dir, "--quiet", ...SMALL);
  }, 120_000);

  it("trains SAC end to end; eval and record read the saved squashed-Gaussian actor", async () => {
    expect(trained.code, trained.err).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { algo: string; config: Record<string, unknown> };
    expect(JSON.stringify(config)).toContain('"policyFrequency":2');
    const ev = await cli("eval", dir, "--episodes", "2", "--json");
    expect(ev.code, ev.err).toBe(0);
    const s = JSON.parse(ev.out.trim()) as { env: string; returns: number[] };
    expect(s.env).toBe("Pendulum-v1");
    expect(s.returns).toHaveLength(2);
    const gif = join(root, "sac.gif");
    const rec = await cli("record", dir, "--episodes", "1", "--out", gif);
    expect(rec.code, rec.err).toBe(0);
    expect(existsSync(gif)).toBe(true);
  }, 120_000);

  it.each(["td3", "mdpo-off"])("trains %s end to end", async (algo) => {
    const out = join(root, algo);
    const r = await cli("train", "--algo", algo, "--env", "Pendulum-v1", "--steps", "200", "--seed", "0", "--out", out, "--quiet", ...SMALL);
    expect(r.code, r.err).toBe(0);
    const ev = await cli("eval", out, "--episodes", "1", "--json");
    expect(ev.code, ev.err).toBe(0);
  }, 120_000);

  it("a Discrete env is a one-line error with exit code 2", async () => {
    const r = await cli("train", "--algo", "td3", "--env", "CartPole-v1", "--steps", "200", "--out", join(root, "bad"), "--quiet", ...SMALL);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/td3 needs a bounded Box action space, got Discrete\(2\)\. Fix: /);
  }, 60_000);
});
