import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";

// The kernels' helper thread in a browser: a Web Worker from a Blob URL on the arena's
// shared memory. A cross-origin-isolated page (COOP + COEP headers) gets two threads with
// results bit-identical to one; a page without those headers has no SharedArrayBuffer and
// falls back to one thread on an ordinary memory.

const ENTRY = `
import { KernelArena } from "./src/nn/kernels/arena.ts";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function run() {
  const two = new KernelArena(65536, { threads: 2, fma: false });
  for (let i = 0; i < 200 && two.helper !== null && !two.helper.ready; i++) await sleep(25);
  if (two.helper !== null) { two.helper.takeBack = false; two.minSplitMacs = 0; }
  const one = new KernelArena(65536, { threads: 1, fma: false });
  const [m, k, n] = [40, 37, 48];
  const outs = [one, two].map((a) => {
    const pa = a.alloc(m * k), pb = a.alloc(k * n), pc = a.alloc(m * n);
    for (let i = 0; i < m * k; i++) a.f32[pa / 4 + i] = Math.sin(i * 0.7);
    for (let i = 0; i < k * n; i++) a.f32[pb / 4 + i] = Math.cos(i * 1.3);
    a.matmul(pa, pb, pc, m, k, n, 0, false, 1);
    return Array.from(new Uint32Array(a.f32.slice(pc / 4, pc / 4 + m * n).buffer));
  });
  const result = { isolated: self.crossOriginIsolated === true, threads: two.threads, shared: Object.prototype.toString.call(two.memory.buffer) === "[object SharedArrayBuffer]", identical: outs[0].every((x, i) => x === outs[1][i]), helped: two.helper?.counts.helped ?? 0 };
  two.close();
  return result;
}
run().then((r) => { window.result = r; }, (e) => { window.result = { error: String(e && e.stack || e) }; });
`;

let server: Server;
let base = "";
let browser: Browser;

beforeAll(async () => {
  requireChromium();
  const bundle = await build({ stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: "js" }, bundle: true, format: "esm", platform: "browser", write: false, logLevel: "silent" });
  const js = bundle.outputFiles[0].text;
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="bundle.js"></script>';
  server = createServer((req, res) => {
    const isolated = req.url?.startsWith("/isolated/") === true;
    const headers: Record<string, string> = isolated ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } : {};
    if (req.url?.endsWith("bundle.js")) res.writeHead(200, { ...headers, "Content-Type": "text/javascript" }).end(js);
    else res.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function resultOf(path: string): Promise<Record<string, unknown>> {
  const page = await browser.newPage();
  try {
    await page.goto(`${base}${path}`);
    await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, { timeout: 60_000 });
    return (await page.evaluate(() => (window as { result?: unknown }).result)) as Record<string, unknown>;
  } finally {
    await page.close();
  }
}

describe("kernel helper thread in a browser", () => {
  it("runs in a Web Worker on a cross-origin-isolated page, bit-identical to one thread", async () => {
    const r = await resultOf("/isolated/index.html");
    expect(r).toEqual({ isolated: true, threads: 2, shared: true, identical: true, helped: 1 });
  }, 120_000);

  it("falls back to one thread on a page without cross-origin isolation", async () => {
    const r = await resultOf("/plain/index.html");
    expect(r).toEqual({ isolated: false, threads: 1, shared: false, identical: true, helped: 0 });
  }, 120_000);
});
