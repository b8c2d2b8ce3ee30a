import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { fakeRun } from "../store/helpers.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";

const BIN = resolve("bin/refinery.js");
const base = mkdtempSync(join(tmpdir(), "refinery-dash-sweeps-"));
const root = join(base, "runs");
const outside = join(base, "outside");
let dash: Dashboard;
let browser: BrowserContext | undefined;

/** `refinery sweep FILE --local 2` into `root`, as a user would run it. */
function localSweep(file: string): Promise<{ code: number | null; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, "sweep", file, "--local", "2", "--json"], { env: { ...process.env, REFINERY_RUNS: root }, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => done({ code, err }));
  });
}

beforeAll(async () => {
  mkdirSync(root, { recursive: true });
  fakeRun(join(root, "plain"), { seed: 1, returns: [1, 2] });
  const file = join(base, "tiny.yaml");
  writeFileSync(file, "name: tiny\nset: { totalTimesteps: 512, evalEpisodes: 1 }\nparameters:\n  learningRate: [0.00025, 0.001]\n");
  const r = await localSweep(file);
  expect(r.code, r.err).toBe(0);
  // Outside the runs root: a sweep and a run that symlinks inside the root point to.
  mkdirSync(join(outside, "sweep-secret"), { recursive: true });
  writeFileSync(join(outside, "sweep-secret", "results.jsonl"), JSON.stringify({ id: "t000", status: "finished", overrides: {} }) + "\n");
  fakeRun(join(outside, "secret-run"), { seed: 9, returns: [99] });
  symlinkSync(join(outside, "sweep-secret"), join(root, "sweep-secret"));
  symlinkSync(join(outside, "secret-run"), join(root, "sweep-tiny", "t099"));
  dash = await startDashboard({ runsRoot: root, port: 0, pollMs: 100 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  rmSync(base, { recursive: true, force: true });
});

function get(path: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: "127.0.0.1", port: dash.port, path, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", fail);
    req.end();
  });
}

async function json<T>(path: string): Promise<T> {
  const r = await get(path);
  expect(r.status, `${path}: ${r.body}`).toBe(200);
  return JSON.parse(r.body) as T;
}

interface Trial {
  id: string;
  overrides: Record<string, unknown>;
  status: string;
  hasRun: boolean;
  step: number;
  metrics: Record<string, number | null>;
}
interface Detail {
  name: string;
  sweep: string | null;
  total: number;
  done: number;
  skippedLines: number;
  keys: string[];
  trials: Trial[];
}

describe("dashboard sweeps", () => {
  it("lists a local sweep under the runs root, apart from the runs", async () => {
    const { sweeps } = await json<{ sweeps: Detail[] }>("/api/sweeps");
    expect(sweeps.map((s) => s.name)).toEqual(["sweep-tiny"]); // the symlink out of the root is not followed
    expect(sweeps[0]).toMatchObject({ sweep: "tiny", total: 2, done: 2, skippedLines: 0 });
    const { runs } = await json<{ runs: { id: string }[] }>("/api/runs");
    expect(runs.map((r) => r.id)).toEqual(["plain"]);
  });

  it("groups the sweep's trials with their configs and final metrics", async () => {
    const { sweep } = await json<{ sweep: Detail }>("/api/sweeps/sweep-tiny");
    expect(sweep.keys).toEqual(["learningRate"]);
    expect(sweep.trials.map((t) => t.id)).toEqual(["t000", "t001"]); // t099 leads out of the root
    expect(sweep.trials.map((t) => t.overrides.learningRate)).toEqual([0.00025, 0.001]);
    for (const t of sweep.trials) {
      expect(t).toMatchObject({ status: "finished", hasRun: true, step: 512 });
      expect(typeof t.metrics.evalMeanReturn).toBe("number");
      expect(typeof t.metrics.finalMeanReturn).toBe("number");
    }
  });

  it("serves a trial's curves, and overlays two", async () => {
    const reply = await json<{ runs: { id: string; kinds: Record<string, { series: Record<string, { x: number[]; y: number[] }> }> }[] }>("/api/curves?sweep=sweep-tiny&run=t000&run=t001");
    expect(reply.runs.map((r) => r.id)).toEqual(["t000", "t001"]);
    for (const r of reply.runs) {
      const s = r.kinds.train.series.episodeReturnMean;
      expect(s.x.length).toBeGreaterThan(0);
      expect(s.x.at(-1)).toBe(512);
    }
  });

  it("the page shows the sweep's trials, sorts them, and overlays the selected trials' curves", { timeout: 60_000 }, async () => {
    requireChromium();
    browser = await chromium.launchPersistentContext(mkdtempSync(join(base, "chromium-")), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(dash.url);
    const rows = page.locator("#trials tbody tr");
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(2);
    expect(await page.locator("#sweep-select").inputValue()).toBe("sweep-tiny");
    expect(await page.locator("#trials thead").textContent()).toContain("learningRate");
    // Sorting by learningRate, twice: descending puts t001 (0.001) first.
    const header = page.locator('#trials th[data-sort="set:learningRate"]');
    await header.click();
    await header.click();
    expect(await rows.first().getAttribute("data-trial")).toBe("t001");
    // The plain run is plotted on its own first; selecting both trials adds two lines.
    const chart = page.locator('.chart[data-metric="episodeReturnMean"]');
    const points = async () => Number(await chart.getAttribute("data-points"));
    await expect.poll(points, { timeout: 20_000 }).toBe(2); // the plain run's two rows
    await page.locator('#trials tr[data-trial="t000"]').click();
    await page.locator('#trials tr[data-trial="t001"]').click();
    await expect.poll(() => page.locator("#selection .chip").count(), { timeout: 20_000 }).toBe(3);
    await expect.poll(points, { timeout: 20_000 }).toBeGreaterThan(2);
    expect(await page.locator("#selection").textContent()).toContain("sweep-tiny/t001");
    expect(errors).toEqual([]);
  });

  it("refuses path traversal and symlinks out of the root through sweep and trial names", async () => {
    for (const path of [
      "/api/sweeps/..",
      "/api/sweeps/%2e%2e",
      "/api/sweeps/..%2fruns",
      "/api/sweeps/sweep-tiny%2f..",
      "/api/sweeps/sweep-secret",
      "/api/sweeps/plain",
      "/api/sweeps/%E0%A4%A",
      "/api/curves?sweep=..&run=plain",
      "/api/curves?sweep=sweep-tiny%2F..&run=plain",
      "/api/curves?sweep=sweep-tiny&run=..",
      "/api/curves?sweep=sweep-tiny&run=..%2Fplain",
      "/api/curves?sweep=sweep-tiny&run=plain",
      "/api/curves?sweep=sweep-tiny&run=t099",
      "/api/curves?sweep=sweep-secret&run=t000",
      "/api/metrics?sweep=sweep-tiny&run=t000",
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await get("/api/sweeps", "evil.example:80")).status).toBe(403);
    expect((await get("/api/curves?sweep=sweep-tiny&run=t000", "evil.example")).status).toBe(403);
  });

  it("shows trials added while it runs, and skips a half-written result line", async () => {
    const dir = join(root, "sweep-tiny");
    fakeRun(join(dir, "t002"), { seed: 3, returns: [5, 6, 7], status: "running" });
    appendFileSync(join(dir, "results.jsonl"), '{"id":"t003","overrides":{"learn');
    const { sweep } = await json<{ sweep: Detail }>("/api/sweeps/sweep-tiny");
    expect(sweep.skippedLines).toBe(1);
    expect(sweep.trials.map((t) => t.id)).toEqual(["t000", "t001", "t002"]);
    expect(sweep.trials[2]).toMatchObject({ hasRun: true, step: 384 });
    const curves = await json<{ runs: { kinds: Record<string, { series: Record<string, { y: number[] }> }> }[] }>("/api/curves?sweep=sweep-tiny&run=t002");
    expect(curves.runs[0].kinds.train.series.episodeReturnMean.y).toEqual([5, 6, 7]);
    // The rest of the line lands: the trial is listed with its result.
    appendFileSync(join(dir, "results.jsonl"), 'ingRate":0.5},"status":"failed","worker":"w","runDir":"x","error":"boom"}\n');
    const after = (await json<{ sweep: Detail }>("/api/sweeps/sweep-tiny")).sweep;
    expect(after.skippedLines).toBe(0);
    expect(after.trials.find((t) => t.id === "t003")).toMatchObject({ status: "failed", hasRun: false, overrides: { learningRate: 0.5 } });
  });
});
