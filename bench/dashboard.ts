/**
 * Dashboard with a long run: `npm run bench -- dashboard [--rows 1000000] [--root DIR] [--no-browser]`.
 *
 * Builds a runs root in a temp directory (or reuses --root) holding one finished run with
 * `--rows` training rows (and an evaluation row every 100 iterations), starts
 * `refinery dashboard` on it in a child process, and measures:
 *   - /api/runs latency alone, and while the run's curve requests are in flight;
 *   - time and bytes of the sampled preview and of the exact downsampled curves;
 *   - a page of raw rows, and an event stream from cursor 0 for a few seconds;
 *   - the first curve drawn in headless Chromium (when /usr/bin/chromium exists);
 *   - the dashboard process's peak RSS.
 * It prints numbers and asserts nothing.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RunStore } from "../src/store/store.js";
import { RunDir } from "../src/train/run.js";

const RUN_ID = "ppo-long";

export async function benchDashboard(args: string[]): Promise<void> {
  const serveAt = args.indexOf("--serve");
  if (serveAt >= 0) return serve(args[serveAt + 1]);
  const rows = Number(option(args, "--rows") ?? 1_000_000);
  const given = option(args, "--root");
  const root = given ?? mkdtempSync(join(tmpdir(), "refinery-bench-dashboard-"));
  try {
    if (!existsSync(join(root, RUN_ID))) {
      const t0 = performance.now();
      buildRoot(root, rows);
      console.log(`built a store with ${rows.toLocaleString("en-US")} training rows in ${((performance.now() - t0) / 1000).toFixed(1)} s (${root})`);
    }
    await measure(root, !args.includes("--no-browser"));
  } finally {
    if (!given) rmSync(root, { recursive: true, force: true });
  }
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A finished PPO-like run whose rows go straight into the store, 20,000 per transaction. */
function buildRoot(root: string, rows: number): void {
  const run = RunDir.create(join(root, RUN_ID), "ppo", { env: "CartPole-v1", seed: 1, totalTimesteps: 128 * rows });
  run.writeStatus({ status: "finished", pid: process.pid, iteration: rows, step: 128 * rows });
  const store = RunStore.open(root);
  store.importRun(run.path);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let start = 1; start <= rows; start += 20_000) {
    const batch: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(start + 20_000, rows + 1); i++) {
      batch.push({
        kind: "train", iteration: i, step: 128 * i,
        policyLoss: (rand() - 0.5) * 0.02, valueLoss: rand() * 10, entropy: 0.69 - (0.5 * i) / rows, approxKl: rand() * 0.01,
        clipFraction: rand() * 0.2, explainedVariance: rand(), learningRate: 2.5e-4 * (1 - i / rows), episodes: 3,
        episodeReturnMean: 20 + (480 * i) / rows + rand() * 40, episodeLengthMean: 20 + (480 * i) / rows, sps: 5000 + rand() * 500, wallSeconds: i * 0.025,
      });
      if (i % 100 === 0) batch.push({ kind: "eval", iteration: i, step: 128 * i, evalReturnMean: 20 + (480 * i) / rows, evalReturnStd: rand() * 10, evalLengthMean: 200 });
    }
    store.recordMetricsBatch(RUN_ID, batch);
  }
  store.recordStatus(RUN_ID, { status: "finished", pid: process.pid, iteration: rows, step: 128 * rows, updatedAt: new Date().toISOString() });
  store.close();
}

/** The child: the dashboard itself, as `refinery dashboard` runs it. */
async function serve(root: string): Promise<void> {
  const { run } = await import("../src/cli/main.js");
  process.exitCode = await run(["dashboard", "--port", "0", "--runs-root", root]);
}

async function measure(root: string, browser: boolean): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./index.ts", import.meta.url)), "dashboard", "--serve", root], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (d) => {
        out += d;
        const m = /refinery dashboard: (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`the dashboard exited (code ${code})`)));
    });
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) idle.push((await timed(url + "api/runs")).ms);
    console.log(`/api/runs alone: median ${median(idle).toFixed(1)} ms, max ${Math.max(...idle).toFixed(1)} ms`);

    const q = `run=${encodeURIComponent(RUN_ID)}&points=2000`;
    const preview = await whileProbing(url, () => timed(`${url}api/curves?${q}&preview=1`));
    console.log(`sampled preview (2000 points per series): ${preview.result.ms.toFixed(0)} ms, ${kb(preview.result.bytes)}; /api/runs meanwhile: ${probeLine(preview.probes)}`);
    const exact = await whileProbing(url, () => timed(`${url}api/curves?${q}`));
    console.log(`exact M4 curves (2000 points per series, every row read): ${(exact.result.ms / 1000).toFixed(2)} s, ${kb(exact.result.bytes)}; /api/runs meanwhile: ${probeLine(exact.probes)}`);
    const page = await timed(`${url}api/metrics?run=${encodeURIComponent(RUN_ID)}&limit=5000`);
    console.log(`one page of 5000 raw rows: ${page.ms.toFixed(0)} ms, ${kb(page.bytes)}`);
    const stream = await whileProbing(url, () => streamFor(`${url}api/stream?run=${encodeURIComponent(RUN_ID)}&since=0`, 5000));
    console.log(`event stream from cursor 0, 5 s: ${stream.result.rows.toLocaleString("en-US")} rows, ${kb(stream.result.bytes)}; /api/runs meanwhile: ${probeLine(stream.probes)}`);
    if (browser) await firstDraw(url);
    console.log(`dashboard process peak RSS: ${peakRss(child.pid as number)}`);
  } finally {
    child.kill("SIGTERM");
    const hard = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on("exit", resolve)));
    clearTimeout(hard);
  }
}

async function timed(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { ms: performance.now() - t0, bytes: body.length };
}

/** Runs `work` while asking /api/runs over and over (one at a time); the latencies of those requests. */
async function whileProbing<T>(url: string, work: () => Promise<T>): Promise<{ result: T; probes: number[] }> {
  let done = false;
  const probes: number[] = [];
  const probing = (async () => {
    while (!done) {
      probes.push((await timed(url + "api/runs")).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await work();
  done = true;
  await probing;
  return { result, probes };
}

async function streamFor(url: string, ms: number): Promise<{ rows: number; bytes: number }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let rows = 0;
  let bytes = 0;
  let tail = "";
  const stop = setTimeout(() => controller.abort(), ms);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      bytes += value.length;
      const text = tail + decoder.decode(value, { stream: true });
      const parts = text.split("\n\n");
      tail = parts.pop() ?? "";
      for (const p of parts) if (p.startsWith("event: metrics")) rows += (JSON.parse(p.slice(p.indexOf("data: ") + 6)) as { rows: unknown[] }).rows.length;
    }
  } catch {
    // aborted after `ms`
  } finally {
    clearTimeout(stop);
  }
  return { rows, bytes };
}

/** Time from opening the page to the first point of the return chart, and to the exact curves, in headless Chromium. */
async function firstDraw(url: string): Promise<void> {
  const chromiumPath = "/usr/bin/chromium";
  try {
    accessSync(chromiumPath, constants.X_OK);
  } catch {
    console.log("first draw in a browser: skipped (no /usr/bin/chromium)");
    return;
  }
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(join(tmpdir(), "refinery-bench-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: ["--headless", "--no-sandbox", "--disable-gpu"], viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const t0 = performance.now();
    await page.goto(url);
    await page.locator('.chart[data-metric="episodeReturnMean"] canvas').waitFor({ timeout: 120_000 });
    const first = performance.now() - t0;
    await page.locator('#charts[data-state="ready"]').waitFor({ timeout: 300_000 });
    const ready = performance.now() - t0;
    const points = await page.locator('.chart[data-metric="episodeReturnMean"]').getAttribute("data-points");
    console.log(`in Chromium: first curve drawn ${(first / 1000).toFixed(2)} s after navigation, exact curves ${(ready / 1000).toFixed(2)} s (return chart: ${points} points)`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function peakRss(pid: number): string {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? `${(Number(m[1]) / 1024).toFixed(0)} MB` : "unknown";
  } catch {
    return "unknown (no /proc)";
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function probeLine(ms: number[]): string {
  if (!ms.length) return "none completed";
  return `${ms.length} requests, median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
}

function kb(bytes: number): string {
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}
