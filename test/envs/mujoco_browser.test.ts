// The MuJoCo envs in a real browser: a page bundled by esbuild (platform browser, code
// splitting) imports refinery's core and hands `mujoco-js` over with loadMujoco(() =>
// import("mujoco-js")), as docs/mujoco.md tells users; headless Chromium loads it from
// 127.0.0.1, steps InvertedPendulum-v5 and renders a frame.
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";
import { loadMujoco } from "../../src/envs/mujoco/loader.js";
import { make } from "../../src/envs/registry.js";

const PAGE_CODE = `
import { loadMujoco, make } from "refinery-rl";
const out = { error: null };
try {
  const mj = await loadMujoco(() => import("mujoco-js").then((m) => m.default()));
  out.version = mj.mj_versionString();
  const env = make("InvertedPendulum-v5", { renderMode: "rgb_array", width: 64, height: 64 });
  const [obs] = env.reset({ seed: 3 });
  out.reset = Array.from(obs);
  const steps = [];
  for (let t = 0; t < 5; t++) {
    const [o, r, term] = env.step(new Float32Array([0.5]));
    steps.push([Array.from(o), r, term]);
  }
  out.steps = steps;
  out.frameBytes = env.render().data.length;
  env.close();
} catch (e) {
  out.error = String(e && e.stack || e);
}
window.__mujoco = out;
`;

const src = (file: string) => fileURLToPath(new URL(`../../src/${file}`, import.meta.url));
let browser: Browser | undefined;
let server: Server | undefined;
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

describe("MuJoCo envs in headless Chromium", () => {
  it("loads mujoco-js on demand in a page and steps like Node does", { timeout: 180_000 }, async () => {
    requireChromium();
    const bundle = await build({
      stdin: { contents: PAGE_CODE, resolveDir: fileURLToPath(new URL(".", import.meta.url)), loader: "js" },
      bundle: true,
      splitting: true,
      outdir: "/out",
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
      // The Node-only branch of the Emscripten glue imports "module"; browsers never take it.
      external: ["module"],
      plugins: [{ name: "refinery-rl", setup: (b) => b.onResolve({ filter: /^refinery-rl$/ }, () => ({ path: src("index.ts") })) }],
    });
    const files = new Map(bundle.outputFiles.map((f) => [f.path.replace(/^\/out/, ""), f.contents]));
    const main = [...files.keys()].find((k) => k.startsWith("/stdin"))!;
    // The 11 MB module is its own chunk, fetched only when loadMujoco runs.
    expect(files.get(main)!.length).toBeLessThan(3_000_000);
    server = createServer((req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><script type="module" src="${main}"></script>`);
        return;
      }
      const body = files.get(req.url ?? "");
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "text/javascript" }).end(body);
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => (window as unknown as { __mujoco?: unknown }).__mujoco !== undefined, undefined, { timeout: 150_000 });
    const got = (await page.evaluate(() => (window as unknown as { __mujoco: unknown }).__mujoco)) as {
      error: string | null;
      version: string;
      reset: number[];
      steps: [number[], number, boolean][];
      frameBytes: number;
    };
    expect(got.error).toBeNull();
    expect(got.version).toMatch(/^3\./);
    expect(got.frameBytes).toBe(64 * 64 * 3);

    // The same seed and actions in Node: the same reset, and steps equal to rounding.
    await loadMujoco();
    const env = make<Float64Array, Float32Array>("InvertedPendulum-v5");
    expect(Array.from(env.reset({ seed: 3 })[0])).toEqual(got.reset);
    for (const [obs, reward, term] of got.steps) {
      const [o, r, t] = env.step(new Float32Array([0.5]));
      o.forEach((x, i) => expect(obs[i]).toBeCloseTo(x, 9));
      expect([r, t]).toEqual([reward, term]);
    }
  });
});
