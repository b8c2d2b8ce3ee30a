import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GifReader } from "omggif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunDir } from "../../src/train/run.js";
import { cli, type CliResult } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-record-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("refinery record", () => {
  const dir = join(root, "pendulum");
  let trained: CliResult;
  beforeAll(async () => {
    // A few iterations are enough: record only needs a saved policy.
    trained = await cli("train", "--env", "Pendulum-v1", "--steps", "512", "--seed", "0", "--out", dir, "--quiet", "--set", "backend=cpu", "--set", "numEnvs=1", "--set", "numSteps=256", "--set", "evalEpisodes=1");
  }, 120_000);

  it("writes an animated GIF with one frame per step plus one per reset, to --out and RUN/videos/latest.gif", async () => {
    expect(trained.code, trained.err).toBe(0);
    const out = join(root, "clips", "pendulum.gif");
    const r = await cli("record", dir, "--episodes", "2", "--out", out, "--fps", "25", "--json");
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out.trim()) as { env: string; lengths: number[]; frames: number; fps: number; deterministic: boolean; files: string[] };
    expect(s).toMatchObject({ env: "Pendulum-v1", lengths: [200, 200], frames: 402, fps: 25, deterministic: true });
    const latest = join(dir, "videos", "latest.gif");
    expect(s.files).toEqual([out, latest]);
    const bytes = readFileSync(out);
    expect(bytes.equals(readFileSync(latest))).toBe(true);
    expect(bytes.subarray(0, 6).toString("latin1")).toBe("GIF89a");
    const reader = new GifReader(bytes);
    expect([reader.width, reader.height, reader.numFrames()]).toEqual([500, 500, 402]);
    expect(reader.frameInfo(0).delay).toBe(4);
  }, 120_000);

  it("is reproducible: the same seed gives the same GIF; text output names the files", async () => {
    const first = await cli("record", dir, "--episodes", "1", "--seed", "3");
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/^Pendulum-v1: 1 episode \(deterministic actions\), returns -?[\d.]+; 201 frames at 30 fps/);
    expect(first.out).toContain(join(dir, "videos", "latest.gif"));
    const a = readFileSync(join(dir, "videos", "latest.gif"));
    await cli("record", dir, "--episodes", "1", "--seed", "3");
    expect(readFileSync(join(dir, "videos", "latest.gif")).equals(a)).toBe(true);
    await cli("record", dir, "--episodes", "1", "--seed", "4");
    expect(readFileSync(join(dir, "videos", "latest.gif")).equals(a)).toBe(false);
  }, 120_000);

  it("fails with exit code 2 on a directory that is not a run, a bad --fps and a text run", async () => {
    const notRun = await cli("record", root);
    expect(notRun.code).toBe(2);
    expect(notRun.err).toMatch(/not a run directory/);
    const fps = await cli("record", dir, "--fps", "0");
    expect(fps.code).toBe(2);
    expect(fps.err).toMatch(/--fps must be a number in \(0, 100\]/);
    expect(existsSync(join(root, "videos"))).toBe(false);
    RunDir.create(join(root, "text"), "grpo", { task: "addition", seed: 0 });
    const text = await cli("record", join(root, "text"));
    expect(text.code).toBe(2);
    expect(text.err).toMatch(/text run \(task addition\); text episodes have no pictures\. Fix: /);
    expect(existsSync(join(root, "text", "videos"))).toBe(false);
  });

  it("--help lists every option with its default", async () => {
    const r = await cli("record", "--help");
    expect(r.code).toBe(0);
    const entries: string[] = [];
    for (const line of r.out.slice(r.out.indexOf("Options:")).split("\n").slice(1)) {
      if (/^ {2}-/.test(line)) entries.push(line.trim());
      else if (line.trim() && entries.length) entries[entries.length - 1] += " " + line.trim();
    }
    const flags = entries.filter((e) => !e.startsWith("-h")).map((e) => e.split(" ")[0]);
    expect(flags).toEqual(["--episodes", "--out", "--seed", "--stochastic", "--fps", "--best", "--json"]);
    for (const e of entries.filter((x) => !x.startsWith("-h"))) expect(e, e).toMatch(/\(default: [^)]/);
  });
});
