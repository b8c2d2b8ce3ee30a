// A long run through the dashboard's API: downsampled curves, a sampled preview, paged raw
// rows and the event stream, all read in bounded chunks while other requests are answered.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../src/dashboard/server.js";
import { RunStore, type MetricRecord } from "../../src/store/store.js";
import { bigRun } from "./helpers.js";

const ROWS = 6000;
const CHUNK = 250;
const root = mkdtempSync(join(tmpdir(), "refinery-dashboard-large-"));
let dash: Dashboard;
let all: MetricRecord[];
/** What the next step of a long request waits for (set by a test, then cleared). */
let chunkGate: ((what: string) => Promise<void>) | null = null;
const chunks: string[] = [];

beforeAll(async () => {
  bigRun(root, "long", ROWS, { seed: 3, evalEvery: 10 });
  bigRun(root, "other", 700, { seed: 4 });
  // A third run whose rows are interleaved with the first's in seq order.
  const store = RunStore.open(root);
  store.recordMetricsBatch("other", [{ kind: "train", iteration: 701, step: 128 * 701, episodeReturnMean: 1 }]);
  store.recordMetricsBatch("long", [{ kind: "train", iteration: ROWS + 1, step: 128 * (ROWS + 1), episodeReturnMean: 2 }]);
  all = [...store.metrics("long"), ...store.metrics("other")];
  store.close();
  dash = await startDashboard({
    runsRoot: root,
    port: 0,
    pollMs: 50,
    chunkRows: CHUNK,
    onChunk: async (what) => {
      chunks.push(what);
      await chunkGate?.(what);
    },
  });
});
afterAll(async () => {
  await dash?.close();
  rmSync(root, { recursive: true, force: true });
});

interface Curves {
  cursor: number;
  points: number;
  runs: { id: string; kinds: Record<string, { exact: boolean; rows: number; buckets?: { start: number; width: number; count: number }; series: Record<string, { x: number[]; y: number[] }> }> }[];
}

async function get<T>(path: string): Promise<T> {
  const res = await fetch(dash.url + path.replace(/^\//, ""));
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

describe("a long run in the dashboard", () => {
  it("serves curves downsampled to at most `points` per series, keeping each bucket's first, last, min and max", async () => {
    const reply = await get<Curves>("/api/curves?run=long&points=200");
    const train = reply.runs[0].kinds.train;
    expect(train.exact).toBe(true);
    expect(train.rows).toBe(ROWS + 1);
    expect(Object.keys(reply.runs[0].kinds).sort()).toEqual(["eval", "train"]);
    const grid = train.buckets!;
    const raw = all.filter((m) => m.runId === "long" && m.kind === "train");
    for (const metric of ["episodeReturnMean", "policyLoss", "entropy"]) {
      const s = train.series[metric];
      expect(s.x.length, metric).toBeLessThanOrEqual(200);
      expect(s.x.length, metric).toBeGreaterThanOrEqual(grid.count);
      const bucketOf = (x: number) => Math.floor((x - grid.start) / grid.width);
      for (let b = 0; b < grid.count; b++) {
        const rows = raw.filter((m) => bucketOf(m.step) === b && typeof m.row[metric] === "number");
        if (!rows.length) continue;
        const ys = rows.map((m) => m.row[metric] as number);
        const got = s.x.map((x, i) => [x, s.y[i]] as const).filter(([x]) => bucketOf(x) === b);
        expect(got).toContainEqual([rows[0].step, ys[0]]);
        expect(got).toContainEqual([rows.at(-1)!.step, ys.at(-1)]);
        expect(Math.min(...got.map(([, y]) => y))).toBe(Math.min(...ys));
        expect(Math.max(...got.map(([, y]) => y))).toBe(Math.max(...ys));
      }
    }
    // 600 evaluation rows, 50 buckets: each series at most 200 points.
    expect(reply.runs[0].kinds.eval.series.evalReturnMean.x.length).toBeLessThanOrEqual(200);
    // Only the asked metrics.
    const one = await get<Curves>("/api/curves?run=long&points=200&metric=entropy");
    expect(Object.keys(one.runs[0].kinds.train.series)).toEqual(["entropy"]);
  });

  it("previews a long run with a sample of rows and says it is not exact", async () => {
    const reply = await get<Curves>("/api/curves?run=long&run=other&points=100&preview=1");
    const train = reply.runs[0].kinds.train;
    expect(train.exact).toBe(false);
    const s = train.series.episodeReturnMean;
    expect(s.x.length).toBeLessThanOrEqual(100);
    expect(s.x.length).toBeGreaterThan(50);
    expect(s.x[0]).toBe(128);
    expect(s.x.at(-1)).toBe(128 * (ROWS + 1));
    const byStep = new Map(all.filter((m) => m.runId === "long" && m.kind === "train").map((m) => [m.step, m.row.episodeReturnMean]));
    s.x.forEach((x, i) => expect(s.y[i]).toBe(byStep.get(x)));
    expect(reply.cursor).toBeGreaterThan(0);
    // Sparse rows (an evaluation every 10 iterations) are sampled too: each sample seeks the next row.
    const evals = reply.runs[0].kinds.eval;
    expect(evals.exact).toBe(false);
    expect(evals.series.evalReturnMean.x.length).toBeGreaterThan(90);
    expect(evals.series.evalReturnMean.x.length).toBeLessThanOrEqual(100);
    expect(new Set(evals.series.evalReturnMean.x).size).toBe(evals.series.evalReturnMean.x.length);
    // A run no longer than `points` is exact even in a preview.
    const small = await get<Curves>("/api/curves?run=other&points=1000&preview=1");
    expect(small.runs[0].kinds.train.exact).toBe(true);
    expect(small.runs[0].kinds.train.series.episodeReturnMean.x).toHaveLength(701);
  });

  it("pages raw rows: following `next` returns every row of the runs exactly once", async () => {
    for (const [query, expected] of [
      ["run=long&run=other", all],
      ["run=long&kind=eval", all.filter((m) => m.runId === "long" && m.kind === "eval")],
      ["run=other", all.filter((m) => m.runId === "other")],
    ] as const) {
      const seen: number[] = [];
      let after: number | null = 0;
      let pages = 0;
      let cursor = 0;
      while (after !== null) {
        const page: { cursor: number; rows: MetricRecord[]; next: number | null } = await get(`/api/metrics?${query}&limit=777&after=${after}${cursor ? `&cursor=${cursor}` : ""}`);
        cursor = page.cursor;
        expect(page.rows.length).toBeLessThanOrEqual(777);
        seen.push(...page.rows.map((r) => r.seq));
        after = page.next;
        pages++;
      }
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.sort((a, b) => a - b)).toEqual(expected.map((m) => m.seq).sort((a, b) => a - b));
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 777));
    }
    expect((await fetch(`${dash.url}api/metrics?run=long&limit=-1`)).status).toBe(400);
    expect((await fetch(`${dash.url}api/metrics?run=long&after=x`)).status).toBe(400);
  });

  it("answers other requests while a long curve request is in flight", async () => {
    chunks.length = 0;
    const order: string[] = [];
    let answeredWithin: number | null = null;
    chunkGate = async (what) => {
      // In the middle of the curve request, ask for the run list and wait for its answer:
      // the curve request can only go on once the run list has been served.
      if (what !== "curves" || answeredWithin !== null || chunks.length < 3) return;
      answeredWithin = chunks.length;
      const runs = await get<{ runs: { id: string }[] }>("/api/runs");
      order.push(`runs:${runs.runs.length}`);
    };
    try {
      const curves = await get<Curves>("/api/curves?run=long&points=400");
      order.push("curves");
      expect(curves.runs[0].kinds.train.rows).toBe(ROWS + 1);
    } finally {
      chunkGate = null;
    }
    expect(order).toEqual(["runs:2", "curves"]);
    expect(answeredWithin).toBe(3);
    // The curve request read the run in many chunks, yielding after each.
    expect(chunks.filter((c) => c === "curves").length).toBeGreaterThanOrEqual(Math.floor(ROWS / CHUNK));
  });

  it("streams from cursor 0 in chunks of at most chunkRows rows, every row once, answering requests in between", async () => {
    chunks.length = 0;
    let runsAnswered = 0;
    chunkGate = async (what) => {
      if (what === "stream" && chunks.length === 2) runsAnswered = (await get<{ runs: unknown[] }>("/api/runs")).runs.length;
    };
    const controller = new AbortController();
    const res = await fetch(`${dash.url}api/stream?run=long&since=0`, { signal: controller.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const sizes: number[] = [];
    const seqs: number[] = [];
    const want = all.filter((m) => m.runId === "long").length;
    try {
      while (seqs.length < want) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const parts = buffer.split("\n\n");
        buffer = parts.pop() ?? "";
        for (const part of parts) {
          if (!part.startsWith("event: metrics")) continue;
          const data = JSON.parse(/^data: (.+)$/m.exec(part)![1]) as { rows: MetricRecord[] };
          sizes.push(data.rows.length);
          seqs.push(...data.rows.map((r) => r.seq));
        }
      }
    } finally {
      controller.abort();
      chunkGate = null;
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(CHUNK);
    expect(seqs).toEqual(all.filter((m) => m.runId === "long").map((m) => m.seq).sort((a, b) => a - b));
    expect(runsAnswered).toBe(2);
  });
});
