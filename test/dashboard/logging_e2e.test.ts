// The dashboard's views of what a run logs beyond the fixed curves, in headless Chromium:
// a custom metric (logger.record) offered by the "add a curve" selector and plotted, and the
// sampled completions of a text run in a table.
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { attachRunStore } from "../../src/store/sink.js";
import { RunDir } from "../../src/train/run.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../helpers/chromium.js";

const tmp = mkdtempSync(join(tmpdir(), "refinery-logging-e2e-"));
let browser: BrowserContext | undefined;
let dashboard: Dashboard | undefined;

afterAll(async () => {
  await browser?.close();
  await dashboard?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A finished run's files, written through the store as the trainer writes them. */
function finishedRun(dir: string, algo: string, config: Record<string, unknown>, rows: Record<string, unknown>[]): void {
  const run = RunDir.create(dir, algo, config);
  const store = attachRunStore(run);
  run.writeStatus({ status: "running", pid: process.pid, iteration: 0, step: 0 });
  for (const r of rows) run.appendMetrics(r);
  run.writeStatus({ status: "finished", pid: process.pid, iteration: rows.length, step: rows.at(-1)?.step ?? 0 });
  store.detach();
}

describe("dashboard: custom metrics and sampled completions", () => {
  it("offers a recorded metric as a curve and shows a text run's completions", { timeout: 90_000 }, async () => {
    try {
      accessSync(CHROMIUM, constants.X_OK);
    } catch {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's chromium package (\`apt-get install -y --no-install-recommends chromium\`; .ci/run does).`);
    }
    const root = join(tmp, "runs");
    mkdirSync(root);
    finishedRun(
      join(root, "ppo-custom"),
      "ppo",
      { env: "CartPole-v1", seed: 1 },
      [1, 2, 3, 4].map((i) => ({ kind: "train", iteration: i, step: 128 * i, episodeReturnMean: 10 * i, "custom/score": i * i })),
    );
    const textDir = join(root, "grpo-text");
    finishedRun(textDir, "grpo", { task: "addition", seed: 1 }, [{ kind: "train", iteration: 1, step: 40, episodeReturnMean: 0.5 }]);
    const completions = [
      { iteration: 1, step: 40, prompt: "3+4=", completion: "7", reward: 1, correct: true },
      { iteration: 1, step: 40, prompt: "5+5=", completion: "11", reward: 0, correct: false },
    ];
    writeFileSync(join(textDir, "completions.jsonl"), completions.map((c) => JSON.stringify(c) + "\n").join(""));

    dashboard = await startDashboard({ runsRoot: root, port: 0 });
    browser = await chromium.launchPersistentContext(mkdtempSync(join(tmp, "profile-")), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1000 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(dashboard.url);

    // Select only the control run.
    await page.locator('tr[data-run="ppo-custom"]').waitFor();
    for (const id of ["ppo-custom", "grpo-text"]) {
      const row = page.locator(`tr[data-run="${id}"]`);
      const selected = ((await row.getAttribute("class")) ?? "").includes("selected");
      if (selected !== (id === "ppo-custom")) await row.click();
    }
    const choice = page.locator('#extra-metric option[value="train:custom/score"]');
    await expect.poll(() => choice.count(), { timeout: 10_000 }).toBe(1);
    await page.selectOption("#extra-metric", "train:custom/score");
    const chart = page.locator('.chart[data-metric="custom/score"]');
    await expect.poll(async () => Number(await chart.getAttribute("data-points")), { timeout: 10_000 }).toBe(4);
    expect(await chart.locator("canvas").count()).toBe(1);
    // Once plotted, it is no longer offered.
    expect(await choice.count()).toBe(0);
    expect(await page.locator("#completions-section").isHidden()).toBe(true);

    // Now the text run: its completions appear, newest first.
    await page.locator('tr[data-run="grpo-text"]').click();
    const table = page.locator("#completions-table");
    await table.waitFor({ timeout: 10_000 });
    const cells = await table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent)));
    expect(cells).toEqual([
      ["1", "5+5=", "11", "0"],
      ["1", "3+4=", "7", "1"],
    ]);
    expect(await page.locator("#completions-run").textContent()).toBe("grpo-text");

    // The added curve survives a reload (remembered in the browser), and can be removed.
    await page.reload();
    await expect.poll(() => chart.count(), { timeout: 10_000 }).toBe(1);
    await chart.locator(".remove-chart").click();
    expect(await chart.count()).toBe(0);
    await page.screenshot({ path: process.env.REFINERY_SHOT ?? join(tmp, "logging.png") });
    expect(pageErrors).toEqual([]);
  });

  it("shows a multi-turn run's sampled episodes as transcripts: the policy's turns and the env's answers apart, tool calls and results marked, reward and success", { timeout: 90_000 }, async () => {
    const root = join(tmp, "agent-runs");
    mkdirSync(root);
    const dir = join(root, "grpo-calc");
    finishedRun(dir, "grpo", { task: "calc", seed: 1 }, [{ kind: "train", iteration: 1, step: 300, episodeReturnMean: 0.5 }]);
    const episodes = [
      {
        iteration: 10,
        step: 3000,
        prompt: "12*34+56=?",
        completion: "calc(12*34) [=408;] | calc(408+56) [=464;] | ans 464",
        reward: 1,
        correct: true,
        turns: [
          { text: "calc(12*34)", observation: "=408;", toolCall: true, malformed: false, role: "actor" },
          { text: "calc(408+56)", observation: "=464;", toolCall: true, malformed: false, role: "actor" },
          { text: "ans 464", observation: "", toolCall: false, malformed: false, role: "actor" },
        ],
      },
      {
        iteration: 10,
        step: 3000,
        prompt: "11*22+33=?",
        completion: "cal( [?;] | ans 7",
        reward: 0,
        correct: false,
        turns: [
          { text: "cal(", observation: "?;", toolCall: false, malformed: true, role: "actor" },
          { text: "ans 7", observation: "", toolCall: false, malformed: false, role: "actor" },
        ],
      },
    ];
    writeFileSync(join(dir, "completions.jsonl"), episodes.map((c) => JSON.stringify(c) + "\n").join(""));
    const agentDashboard = await startDashboard({ runsRoot: root, port: 0 });
    try {
      browser ??= await chromium.launchPersistentContext(mkdtempSync(join(tmp, "profile-")), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 1000 } });
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(e.message));
      await page.goto(agentDashboard.url);
      const row = page.locator('tr[data-run="grpo-calc"]');
      await row.waitFor();
      if (!((await row.getAttribute("class")) ?? "").includes("selected")) await row.click();
      const table = page.locator("#completions-table");
      await table.waitFor({ timeout: 10_000 });
      expect(await page.locator("#completions-title").textContent()).toBe("Sampled episodes");
      expect(await table.locator("thead th").allTextContents()).toEqual(["iteration", "prompt", "episode", "turns", "tool calls", "reward", "success"]);
      // Newest first (the file's last line is the failed episode).
      const rows = table.locator("tbody tr");
      expect(await rows.count()).toBe(2);
      const cells = (i: number) => rows.nth(i).locator("td").allTextContents();
      expect((await cells(1)).filter((_, k) => k !== 2)).toEqual(["10", "12*34+56=?", "3", "2", "1", "✓ solved"]);
      expect((await cells(0)).filter((_, k) => k !== 2)).toEqual(["10", "11*22+33=?", "2", "0", "0", "✗ not solved"]);
      // The solved episode: policy turns and env answers alternate, each marked with what it is.
      const parts = await rows.nth(1).locator(".transcript > .turn").evaluateAll((spans) => spans.map((s) => ({ cls: s.className, tag: s.querySelector(".tag")?.textContent, text: s.lastChild?.textContent })));
      expect(parts).toEqual([
        { cls: "turn policy tool-call", tag: "tool call", text: "calc(12*34)" },
        { cls: "turn env tool-result", tag: "tool result", text: "=408;" },
        { cls: "turn policy tool-call", tag: "tool call", text: "calc(408+56)" },
        { cls: "turn env tool-result", tag: "tool result", text: "=464;" },
        { cls: "turn policy answer", tag: "answer", text: "ans 464" },
      ]);
      const failed = await rows.nth(0).locator(".transcript > .turn").evaluateAll((spans) => spans.map((s) => s.className));
      expect(failed).toEqual(["turn policy malformed", "turn env env", "turn policy answer"]);
      // Policy text and env text look different (not only by class name).
      const look = (sel: string) => rows.nth(1).locator(sel).first().evaluate((n) => getComputedStyle(n).backgroundColor);
      expect(await look(".turn.policy")).not.toBe(await look(".turn.env"));
      await page.screenshot({ path: process.env.REFINERY_SHOT_AGENT ?? join(tmp, "agent-transcripts.png"), fullPage: true });
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      await agentDashboard.close();
    }
  });
});
