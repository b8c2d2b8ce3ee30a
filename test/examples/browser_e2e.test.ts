// End to end in a real browser: the browser example (examples/browser, bundled by its
// serve.mjs with esbuild from `import … from "refinery-rl"`) trains PPO on CartPole in
// headless Chromium, and plays a policy saved by a tiny `refinery train` run, fetched over
// HTTP. No network beyond 127.0.0.1.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { make } from "../../src/envs/registry.js";
import { loadPolicy } from "../../src/train/load_policy.js";
import { cli, exited } from "../store/helpers.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";

const SERVE = fileURLToPath(new URL("../../examples/browser/serve.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "refinery-browser-example-"));
const children: ChildProcess[] = [];
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  await Promise.all(children.map(exited));
  rmSync(tmp, { recursive: true, force: true });
});


function pageAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const m = /refinery browser example: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr?.on("data", (d) => (err += d));
    child.on("exit", (code) => reject(new Error(`serve.mjs exited (code ${code}):\n${out}\n${err}`)));
  });
}

interface ExampleState {
  phase: string;
  backend: string;
  returns: number[];
  played: { by: string; seed: number; return: number; length: number }[];
  error: string | null;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("examples/browser in headless Chromium", () => {
  it("trains PPO on CartPole live (the return rises) and plays a policy saved by `refinery train`", { timeout: 120_000 }, async () => {
    requireChromium();
    const runDir = join(tmp, "run");
    const trained = await cli("train", "--env", "CartPole-v1", "--steps", "4096", "--seed", "1", "--set", "backend=cpu", "--out", runDir, "--quiet", "--json");
    expect(trained.code, trained.err).toBe(0);

    const server = spawn(process.execPath, [SERVE, "--port", "0", "--policy", runDir], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(server);
    const url = await pageAddress(server);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && !/404/.test(m.text()) && pageErrors.push(m.text())));
    await page.goto(`${url}?seed=1&iterations=20&frameDelay=0`);
    await page.waitForFunction(() => /^ready|^error/.test(document.getElementById("status")?.textContent ?? ""), null, { timeout: 30_000 });
    expect(await page.textContent("#status")).toBe("ready (tfjs wasm backend)");

    const read = () => page.evaluate(() => (globalThis as unknown as { refineryExample: ExampleState }).refineryExample);
    await page.click("#train");
    await page.waitForFunction(() => ["trained", "error"].includes((globalThis as unknown as { refineryExample: ExampleState }).refineryExample.phase), null, { timeout: 60_000 });
    const afterTraining = await read();
    expect(afterTraining.error).toBeNull();
    // The page's default backend, auto, resolved to refinery's SIMD kernels (Chromium has WebAssembly SIMD).
    expect(afterTraining.backend).toBe("kernels");
    expect(afterTraining.returns).toHaveLength(20);
    const first = mean(afterTraining.returns.slice(0, 5));
    const last = mean(afterTraining.returns.slice(-5));
    console.log(`browser example: mean return of iterations 1-5 ${first.toFixed(1)}, 16-20 ${last.toFixed(1)}`);
    // A random CartPole policy scores ~22; a seeded run on one backend is deterministic.
    expect(first).toBeLessThan(35);
    expect(last).toBeGreaterThan(first + 5);
    // The curve was drawn: the chart canvas holds the line's colour.
    const drawn = await page.evaluate(() => {
      const c = document.getElementById("chart") as HTMLCanvasElement;
      const data = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let blue = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] === 31 && data[i + 1] === 119 && data[i + 2] === 180) blue++;
      return blue;
    });
    expect(drawn).toBeGreaterThan(50);

    // The saved policy, fetched from /policy/ (model.json + weights.bin) and played in the page…
    await page.click("#load");
    await page.waitForFunction(() => {
      const s = (globalThis as unknown as { refineryExample: ExampleState }).refineryExample;
      return s.phase === "error" || s.played.filter((p) => p.by === "loaded").length === 3;
    }, null, { timeout: 30_000 });
    const played = (await read()).played.filter((p) => p.by === "loaded");
    expect((await read()).error).toBeNull();
    // …acts exactly as the same files loaded in Node: same seeds, same returns.
    const policy = await loadPolicy(runDir, { backend: "cpu" });
    for (const p of played) {
      const env = make("CartPole-v1");
      let [obs] = env.reset({ seed: p.seed });
      let total = 0;
      for (;;) {
        const [next, reward, terminated, truncated] = env.step(policy.act(obs as Float32Array, { deterministic: true }) as number);
        total += reward;
        obs = next;
        if (terminated || truncated) break;
      }
      expect(p.return).toBe(total);
      expect(p.length).toBe(total); // CartPole pays 1 per step
    }
    policy.dispose();
    console.log(`browser example: loaded policy returns ${played.map((p) => p.return).join(", ")}`);
    expect(played.every((p) => p.return > 8)).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
