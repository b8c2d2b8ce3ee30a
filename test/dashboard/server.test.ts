import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { attachRunStore } from "../../src/store/sink.js";
import { RunDir } from "../../src/train/run.js";
import { fakeRun } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-dashboard-"));
let dash: Dashboard;

beforeAll(async () => {
  fakeRun(join(root, "done"), { seed: 1, returns: [10, 20, 30] });
  dash = await startDashboard({ runsRoot: root, port: 0, pollMs: 100 });
});
afterAll(async () => {
  await dash?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request: the path is sent exactly as given (fetch would normalise it). */
function raw(path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: dash.port, path, method: opts.method ?? "GET", headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard server", () => {
  it("binds 127.0.0.1 by default", () => {
    const address = dash.server.address();
    expect(typeof address === "object" && address?.address).toBe("127.0.0.1");
    expect(dash.url).toBe(`http://127.0.0.1:${dash.port}/`);
  });

  it("serves the page, its assets and the run API", async () => {
    const page = await raw("/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'/);
    expect(page.body).toContain('<script type="module" src="/assets/app.js">');
    for (const [path, type] of [["/assets/app.js", /javascript/], ["/assets/app.css", /css/], ["/assets/uPlot.iife.min.js", /javascript/], ["/assets/uPlot.min.css", /css/]] as const) {
      const r = await raw(path);
      expect(r.status, path).toBe(200);
      expect(r.headers["content-type"]).toMatch(type);
      expect(r.body.length).toBeGreaterThan(500);
    }
    expect((await raw("/assets/uPlot.iife.min.js")).body).toContain("uPlot");
    const runs = JSON.parse((await raw("/api/runs")).body) as { root: string; runs: { id: string; status: string; metrics: Record<string, number> }[] };
    expect(runs.root).toBe(root);
    expect(runs.runs).toMatchObject([{ id: "done", status: "finished", metrics: { episodeReturnMean: 30 } }]);
    const one = JSON.parse((await raw("/api/runs/done")).body) as { run: { id: string; config: Record<string, unknown> } };
    expect(one.run).toMatchObject({ id: "done", config: { seed: 1 } });
    const metrics = JSON.parse((await raw("/api/metrics?run=done")).body) as { cursor: number; rows: { kind: string; row: Record<string, unknown> }[] };
    expect(metrics.rows.filter((r) => r.kind === "train").map((r) => r.row.episodeReturnMean)).toEqual([10, 20, 30]);
    expect(metrics.cursor).toBeGreaterThan(0);
    const head = await raw("/", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it.each([
    "/../package.json",
    "/%2e%2e/package.json",
    "/%2E%2E/%2E%2E/package.json",
    "/assets/../../package.json",
    "/assets/%2e%2e/%2e%2e/package.json",
    "/assets/..%2f..%2fpackage.json",
    "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
    "/assets/..%5c..%5cpackage.json",
    "/assets/app.js/../../../package.json",
    "/assets/",
    "/assets/app.ts",
    "/assets/server.ts",
    "/api/runs/..%2f..%2fpackage.json",
    "/api/runs/%2e%2e",
    "/api/runs/done%2f..%2f..%2fpackage.json",
    "/api/metrics?run=..%2fpackage.json",
    "//etc/passwd",
    "/package.json",
    "/node_modules/uplot/package.json",
    "/src/dashboard/server.ts",
    "/runs.db",
    "/done/metrics.jsonl",
  ])("path traversal and unknown files are 404: %s", async (path) => {
    const r = await raw(path);
    expect(r.status).toBe(404);
    expect(r.body).not.toContain("refinery-rl");
    expect(r.body).not.toContain("root:");
  });

  it("unknown routes are 404", async () => {
    for (const path of ["/nope", "/api", "/api/nope", "/api/runs/nope", "/index.htm", "/api/stream?run=nope"]) expect((await raw(path)).status, path).toBe(404);
  });

  it.each(["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])("%s is 405: the dashboard is read-only", async (method) => {
    for (const path of ["/", "/api/runs", "/api/runs/done"]) {
      const r = await raw(path, { method });
      expect(r.status).toBe(405);
      expect(r.headers.allow).toBe("GET, HEAD");
    }
    expect((await raw("/api/runs/done")).status).toBe(200); // still there
  });

  it("answers only requests addressed to a loopback name (no DNS rebinding)", async () => {
    expect((await raw("/api/runs", { host: "evil.example:80" })).status).toBe(403);
    expect((await raw("/api/runs", { host: `localhost:${dash.port}` })).status).toBe(200);
  });

  it("streams new metrics rows of the watched runs as server-sent events", async () => {
    const run = RunDir.create(join(root, "live"), "ppo", { env: "CartPole-v1", seed: 7 });
    const store = attachRunStore(run);
    run.writeStatus({ status: "running", pid: process.pid });
    const events: { event: string; data: { rows?: { runId: string; iteration: number }[]; runs?: { id: string }[] } }[] = [];
    const controller = new AbortController();
    const res = await fetch(`${dash.url}api/stream?run=live&since=0`, { signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    let buffer = "";
    const readUntil = async (done: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!done() && Date.now() < deadline) {
        const { value } = await reader.read();
        buffer += new TextDecoder().decode(value);
        const parts = buffer.split("\n\n");
        buffer = parts.pop() ?? "";
        for (const part of parts) {
          const name = /^event: (.+)$/m.exec(part)?.[1];
          const data = /^data: (.+)$/m.exec(part)?.[1];
          if (name && data) events.push({ event: name, data: JSON.parse(data) });
        }
      }
    };
    await readUntil(() => events.some((e) => e.event === "runs"));
    expect(events.find((e) => e.event === "runs")?.data.runs?.map((r) => r.id).sort()).toEqual(["done", "live"]);
    for (let i = 1; i <= 3; i++) run.appendMetrics({ kind: "train", iteration: i, step: 128 * i, episodeReturnMean: i });
    const rows = () => events.filter((e) => e.event === "metrics").flatMap((e) => e.data.rows ?? []);
    await readUntil(() => rows().length >= 3);
    expect(rows().map((r) => [r.runId, r.iteration])).toEqual([["live", 1], ["live", 2], ["live", 3]]);
    controller.abort();
    store.detach();
  });
});
