import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { encodeGif } from "../../src/envs/render/gif.js";
import { fakeRun } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-dash-video-"));
const outside = mkdtempSync(join(tmpdir(), "refinery-outside-"));
const gif = encodeGif([{ width: 2, height: 2, data: new Uint8Array(12).fill(200) }]);
let dash: Dashboard;

beforeAll(async () => {
  fakeRun(join(root, "recorded"), { seed: 1, returns: [1] });
  fakeRun(join(root, "plain"), { seed: 2, returns: [1] });
  fakeRun(join(root, "escape"), { seed: 3, returns: [1] });
  mkdirSync(join(root, "recorded", "videos"));
  writeFileSync(join(root, "recorded", "videos", "latest.gif"), gif);
  writeFileSync(join(outside, "secret.gif"), "not for the dashboard");
  mkdirSync(join(root, "escape", "videos"));
  symlinkSync(join(outside, "secret.gif"), join(root, "escape", "videos", "latest.gif"));
  dash = await startDashboard({ runsRoot: root, port: 0, pollMs: 100 });
});
afterAll(async () => {
  await dash?.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

function get(path: string, method = "GET"): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: dash.port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"], body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("GET /api/video?run=ID", () => {
  it("serves the run's videos/latest.gif as image/gif", async () => {
    const r = await get("/api/video?run=recorded");
    expect(r.status).toBe(200);
    expect(r.type).toBe("image/gif");
    expect(r.body.equals(Buffer.from(gif))).toBe(true);
    const head = await get("/api/video?run=recorded", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it.each([
    ["a run without a recording", "/api/video?run=plain"],
    ["an unknown run", "/api/video?run=nope"],
    ["a path instead of a run id", "/api/video?run=../recorded"],
    ["no run", "/api/video"],
    ["two runs", "/api/video?run=recorded&run=plain"],
    ["a recording that links outside the run directory", "/api/video?run=escape"],
  ])("is 404 for %s", async (_what, path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain("not for the dashboard");
  });

  it("/api/video/info says whether there is a recording, so the page asks for the GIF only then", async () => {
    const yes = JSON.parse((await get("/api/video/info?run=recorded")).body.toString()) as { available: boolean; bytes: number; modifiedAt: string };
    expect(yes).toMatchObject({ available: true, bytes: gif.length });
    expect(Number.isNaN(Date.parse(yes.modifiedAt))).toBe(false);
    expect(JSON.parse((await get("/api/video/info?run=plain")).body.toString())).toEqual({ available: false, bytes: null, modifiedAt: null });
    expect(JSON.parse((await get("/api/video/info?run=escape")).body.toString())).toMatchObject({ available: false });
    expect((await get("/api/video/info?run=nope")).status).toBe(404);
  });

  it("the page has a place for the recording", async () => {
    const page = await get("/");
    expect(page.body.toString()).toContain('id="videos"');
    const app = await get("/assets/app.js");
    expect(app.body.toString()).toContain("/api/video/info?");
  });
});
