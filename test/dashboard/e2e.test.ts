// End to end in a real browser: a PPO run trains in one child process, the dashboard
// serves in another, and Debian's headless Chromium (driven by playwright-core) watches
// the run's return curve grow. Set REFINERY_UPDATE_SCREENSHOTS=1 to also write the
// screenshot to docs/images/dashboard.png (the README's picture).
import { type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { exited, spawnTs } from "../store/helpers.js";
import { bigRun } from "./helpers.js";
import { CHROMIUM, CHROMIUM_ARGS, requireChromium } from "../helpers/chromium.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-e2e-"));
const children: ChildProcess[] = [];
let browser: BrowserContext | undefined;

afterAll(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
  await Promise.all(children.map(exited));
  rmSync(tmp, { recursive: true, force: true });
});


/** Resolves with the first stdout line matching `re` of a child, or rejects when it exits first. */
function lineFrom(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const m = re.exec(out);
      if (m) resolve(m);
    });
    child.stderr?.on("data", (d) => (err += d));
    child.on("exit", (code) => reject(new Error(`${what} exited (code ${code}) before printing ${re}:\n${out}\n${err}`)));
  });
}

describe("dashboard in headless Chromium", () => {
  it("lists a run that is training and its return curve gains points while it trains", { timeout: 90_000 }, async () => {
    requireChromium();
    const root = join(tmp, "runs");
    mkdirSync(root);
    const cliChild = new URL("./cli_child.ts", import.meta.url);
    // Far more steps than the test needs, so it is still training when the page looks twice
    // however fast the machine is; the test stops it (SIGTERM) at the end.
    const trainer = spawnTs(cliChild, [
      "train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "1000000", "--seed", "1", "--out", join(root, "ppo-cartpole-s1"),
      "--set", "backend=cpu", "--set", "numEnvs=2", "--set", "numSteps=64", "--json",
    ]);
    children.push(trainer);
    const server = spawnTs(cliChild, ["dashboard", "--port", "0", "--runs-root", root]);
    children.push(server);
    const [, url] = await lineFrom(server, /refinery dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, "the dashboard");

    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmp, "chromium-profile-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && pageErrors.push(m.text())));
    await page.goto(url);

    // The run appears in the list, marked running, and is plotted.
    const row = page.locator('tr[data-run="ppo-cartpole-s1"]');
    await row.waitFor({ timeout: 30_000 });
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 10_000 }).toBe("running");
    const chart = page.locator('.chart[data-metric="episodeReturnMean"]');
    const points = async () => Number(await chart.getAttribute("data-points"));
    await expect.poll(points, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const first = await points();
    await page.waitForTimeout(3000);
    await expect.poll(points, { timeout: 20_000 }).toBeGreaterThan(first);
    expect(await row.locator(".status").textContent()).toBe("running");
    expect(trainer.exitCode).toBeNull();
    expect(await chart.locator("canvas").count()).toBe(1);
    await expect.poll(() => page.locator("#connection").textContent()).toBe("live");
    // The config view shows the run's config.
    expect(await page.locator("#config-table").textContent()).toContain("CartPole-v1");

    const shot = join(tmp, "dashboard.png");
    const png = await page.screenshot({ path: shot });
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(png.length).toBeGreaterThan(20_000);
    if (process.env.REFINERY_UPDATE_SCREENSHOTS === "1") copyFileSync(shot, fileURLToPath(new URL("../../docs/images/dashboard.png", import.meta.url)));
    expect(pageErrors).toEqual([]);
  });

  it("draws a long run from a sampled preview, says so while the exact curves load, then draws those", { timeout: 120_000 }, async () => {
    requireChromium();
    const root = join(tmp, "long-runs");
    const ROWS = 30_000;
    // An id with characters that need URL encoding: the page must encode it, the server decode it.
    bigRun(root, "long \\ 50% #1 ü+", ROWS, { evalEvery: 50 });
    const server = spawnTs(new URL("./cli_child.ts", import.meta.url), ["dashboard", "--port", "0", "--runs-root", root]);
    children.push(server);
    const [, url] = await lineFrom(server, /refinery dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, "the dashboard");
    browser ??= await chromium.launchPersistentContext(mkdtempSync(join(tmp, "chromium-profile-")), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    // Every state the charts go through, and what the progress line said, recorded as it happens.
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { chartStates: string[] }).chartStates = seen;
      new MutationObserver(() => {
        const charts = document.getElementById("charts");
        const note = document.getElementById("loading");
        const entry = `${charts?.dataset.state}|${note && !note.hidden ? note.textContent : ""}`;
        if (seen.at(-1) !== entry) seen.push(entry);
      }).observe(document, { subtree: true, attributes: true, childList: true, characterData: true });
    });
    await page.goto(url);
    await page.locator('#charts[data-state="ready"] .chart[data-metric="episodeReturnMean"] canvas').waitFor({ timeout: 90_000 });
    const states = await page.evaluate(() => (window as unknown as { chartStates: string[] }).chartStates);
    const phases = states.map((s) => s.split("|")[0]).filter((p, i, all) => p !== all[i - 1]);
    expect(phases.slice(-3)).toEqual(["loading", "preview", "ready"]);
    expect(states.some((s) => /^preview\|showing a sample; reading every row of long \\ 50% #1 ü\+/.test(s))).toBe(true);
    expect(await page.locator("#loading").isHidden()).toBe(true);
    const points = Number(await page.locator('.chart[data-metric="episodeReturnMean"]').getAttribute("data-points"));
    expect(points).toBeGreaterThan(500);
    expect(points).toBeLessThanOrEqual(4000);
    expect(Number(await page.locator('.chart[data-metric="evalReturnMean"]').getAttribute("data-points"))).toBeGreaterThan(100);
    expect(pageErrors).toEqual([]);
  });
});
