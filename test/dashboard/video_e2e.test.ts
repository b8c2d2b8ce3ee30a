// The latest recording in a real browser (Debian's headless Chromium, as e2e.test.ts).
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { make } from "../../src/envs/registry.js";
import { encodeGif } from "../../src/envs/render/gif.js";
import { fakeRun } from "../store/helpers.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/chromium.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-video-e2e-"));
let browser: BrowserContext | undefined;
let dash: Dashboard | undefined;

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("latest recording in the dashboard, headless Chromium", () => {
  it("shows the GIF of a selected run that has one and a hint for a run without, with no console errors", { timeout: 60_000 }, async () => {
    accessSync(CHROMIUM, constants.X_OK); // fails (never skips) without the browser, like e2e.test.ts
    const root = join(tmp, "runs");
    fakeRun(join(root, "a-plain"), { seed: 1, returns: [1, 2] });
    fakeRun(join(root, "b-recorded"), { seed: 2, returns: [1, 2] });
    const env = make("CartPole-v1", { renderMode: "rgb_array" });
    env.reset({ seed: 0 });
    mkdirSync(join(root, "b-recorded", "videos"));
    writeFileSync(join(root, "b-recorded", "videos", "latest.gif"), encodeGif([env.render!()]));
    dash = await startDashboard({ runsRoot: root, port: 0, pollMs: 100 });

    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmp, "profile-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(dash.url);
    for (const id of ["a-plain", "b-recorded"]) {
      const row = page.locator(`tr[data-run="${id}"]`);
      await row.waitFor({ timeout: 20_000 });
      if (!(await row.getAttribute("class"))?.includes("selected")) await row.click();
    }
    const img = page.locator('#videos figure[data-run="b-recorded"] img');
    await img.waitFor({ timeout: 20_000 });
    await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth), { timeout: 10_000 }).toBe(600);
    expect(await page.locator('#videos figure[data-run="a-plain"]').textContent()).toContain("no recording yet");
    expect(errors).toEqual([]);
  });
});
