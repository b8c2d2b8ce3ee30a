import { describe, expect, it } from "vitest";
import { bucketGrid, CurveDownsampler, rawSeries } from "../../src/dashboard/downsample.js";
import { makeRng } from "./helpers.js";

/** Rows like a trainer's: steps 128 apart, a noisy return and a loss with rare spikes. */
function rows(n: number, seed = 1) {
  const rand = makeRng(seed);
  return Array.from({ length: n }, (_, i) => ({
    step: 128 * (i + 1),
    row: { kind: "train", iteration: i + 1, step: 128 * (i + 1), episodeReturnMean: i / 10 + rand() * 50, policyLoss: rand() < 0.001 ? 100 : rand() * 0.01, skipped: rand() < 0.5 ? null : 1 },
  }));
}

describe("M4 downsampling", () => {
  it("keeps at most 4 points per bucket and the first, last, minimum and maximum of every bucket", () => {
    const data = rows(10_000);
    const grid = bucketGrid(data[0].step, data[data.length - 1].step, 50);
    expect(grid.count).toBeLessThanOrEqual(50);
    const down = new CurveDownsampler(grid);
    for (const r of data) down.add(r.step, r.row);
    const out = down.result();
    expect(Object.keys(out).sort()).toEqual(["episodeReturnMean", "policyLoss", "skipped"]);
    for (const key of ["episodeReturnMean", "policyLoss"] as const) {
      const s = out[key];
      expect(s.x.length).toBeLessThanOrEqual(200);
      expect(s.x).toEqual([...s.x].sort((a, b) => a - b));
      const kept = new Set(s.x.map((x, i) => `${x}:${s.y[i]}`));
      for (let b = 0; b < grid.count; b++) {
        const inBucket = data.filter((r) => Math.floor((r.step - grid.start) / grid.width) === b).map((r) => ({ x: r.step, y: r.row[key] }));
        if (!inBucket.length) continue;
        const ys = inBucket.map((p) => p.y);
        const min = Math.min(...ys);
        const max = Math.max(...ys);
        expect(kept.has(`${inBucket[0].x}:${inBucket[0].y}`), `first of bucket ${b}`).toBe(true);
        expect(kept.has(`${inBucket.at(-1)!.x}:${inBucket.at(-1)!.y}`), `last of bucket ${b}`).toBe(true);
        expect(s.y.some((y, i) => y === min && Math.floor((s.x[i] - grid.start) / grid.width) === b), `min of bucket ${b}`).toBe(true);
        expect(s.y.some((y, i) => y === max && Math.floor((s.x[i] - grid.start) / grid.width) === b), `max of bucket ${b}`).toBe(true);
      }
    }
    // The rare spikes survive downsampling.
    expect(out.policyLoss.y.filter((y) => y === 100).length).toBe(data.filter((r) => r.row.policyLoss === 100).length);
    expect(down.rows).toBe(10_000);
  });

  it("keeps every point when there are fewer rows than buckets", () => {
    const data = rows(30);
    const down = new CurveDownsampler(bucketGrid(128, 128 * 30, 500));
    for (const r of data) down.add(r.step, r.row);
    expect(down.result().episodeReturnMean).toEqual({ x: data.map((r) => r.step), y: data.map((r) => r.row.episodeReturnMean) });
  });

  it("restricts to the asked metrics and skips null and non-finite values", () => {
    const down = new CurveDownsampler(bucketGrid(0, 9, 10), new Set(["a"]));
    for (let i = 0; i < 10; i++) down.add(i, { a: i % 3 === 0 ? null : i, b: i, c: Number.NaN });
    expect(down.result()).toEqual({ a: { x: [1, 2, 4, 5, 7, 8], y: [1, 2, 4, 5, 7, 8] } });
    expect(rawSeries([{ step: 5, row: { a: 1, b: "x", step: 5 } }])).toEqual({ a: { x: [5], y: [1] } });
  });
});
