import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { GifReader } from "omggif";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard } from "../../src/dashboard/server.js";
import { cli, type CliResult } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-poly-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = ["--set", "backend=cpu", "--set", "numRollouts=2", "--set", "vineStatesPerRollout=1", "--set", "numVines=2", "--set", "setSize=2", "--set", "hidden=[16]", "--set", "evalEpisodes=1"];
const fixture = (name: string) => join(import.meta.dirname, "..", "fixtures", name);

describe("polychromic from the command line, and eval --pass-at", () => {
  const dir = join(root, "run");
  let trained: CliResult;
  beforeAll(async () => {
    trained = await cli("train", "--algo", "polychromic", "--env", "MiniGrid-Empty-5x5-v0", "--steps", "300", "--seed", "0", "--out", dir, "--quiet", ...TINY);
  }, 180_000);

  it("trains and logs the set score and diversity", () => {
    expect(trained.code, trained.err).toBe(0);
    const rows = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const it0 = rows.find((r) => typeof r.setScore === "number");
    expect(it0).toBeDefined();
    expect(it0!.diversity as number).toBeGreaterThan(0);
    expect(it0!.diversity as number).toBeLessThanOrEqual(1);
  });

  it("eval --pass-at plays every start state several times and reports pass@k and coverage", async () => {
    const r = await cli("eval", dir, "--pass-at", "1,3", "--episodes", "2", "--json");
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out.trim().split("\n").pop()!) as { pass_at_k: Record<string, number>; attempts: number; start_states: number; success: string; coverage: number };
    expect(s).toMatchObject({ attempts: 3, start_states: 2, success: "goal" });
    expect(s.pass_at_k["3"]).toBeGreaterThanOrEqual(s.pass_at_k["1"]);
    expect(s.coverage).toBeCloseTo(s.pass_at_k["3"], 12); // n = k: pass@n is "solved at least once"
    const text = await cli("eval", dir, "--pass-at", "1,3", "--episodes", "2");
    expect(text.out).toMatch(/^MiniGrid-Empty-5x5-v0: pass@1 [\d.]+, pass@3 [\d.]+ over 2 start states × 3 sampled attempts \(success: goal\); coverage/);
  }, 120_000);

  it("bad pass@k options are one-line errors with the fix", async () => {
    const few = await cli("eval", dir, "--pass-at", "1,4", "--attempts", "2");
    expect(few.code).toBe(2);
    expect(few.err).toMatch(/pass@4 needs at least 4 attempts.*raise --attempts/);
    const orphan = await cli("eval", dir, "--attempts", "4");
    expect(orphan.code).toBe(2);
    expect(orphan.err).toMatch(/--attempts applies to pass@k.*--pass-at/);
  }, 60_000);

  it("a grid run's recorded episode (refinery record) is what the dashboard's /api/video serves", async () => {
    const rec = await cli("record", dir, "--episodes", "1", "--json");
    expect(rec.code, rec.err).toBe(0);
    const { frames, env } = JSON.parse(rec.out.trim()) as { frames: number; env: string };
    expect(env).toBe("MiniGrid-Empty-5x5-v0");
    const dash = await startDashboard({ runsRoot: root, port: 0, pollMs: 100 });
    try {
      const get = (path: string) =>
        new Promise<{ status: number; type?: string; body: Buffer }>((resolve, reject) => {
          const req = request({ host: "127.0.0.1", port: dash.port, path }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (d: Buffer) => chunks.push(d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body: Buffer.concat(chunks) }));
          });
          req.on("error", reject);
          req.end();
        });
      const info = JSON.parse((await get("/api/video/info?run=run")).body.toString()) as { available: boolean };
      expect(info.available).toBe(true);
      const r = await get("/api/video?run=run");
      expect(r.status).toBe(200);
      expect(r.type).toBe("image/gif");
      expect(r.body.equals(readFileSync(join(dir, "videos", "latest.gif")))).toBe(true);
      // MiniGrid's tile look: 5×5 tiles of 32 px, one frame per step plus the reset's.
      const gif = new GifReader(r.body);
      expect([gif.width, gif.height, gif.numFrames()]).toEqual([160, 160, frames]);
    } finally {
      await dash.close();
    }
  }, 120_000);

  it("a diversity registered in an --import module is used; an unknown one is refused at start-up", async () => {
    const bad = await cli("train", "--algo", "polychromic", "--env", "MiniGrid-Empty-5x5-v0", "--steps", "100", "--set", "diversity=distinct-x", "--out", join(root, "bad"), "--quiet", ...TINY);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown diversity "distinct-x".*--import/);
    const ok = await cli("train", "--algo", "polychromic", "--import", fixture("user_diversity.ts"), "--env", "MiniGrid-Empty-5x5-v0", "--steps", "100", "--set", "diversity=distinct-x", "--out", join(root, "ok"), "--quiet", ...TINY);
    expect(ok.code, ok.err).toBe(0);
  }, 180_000);
});
