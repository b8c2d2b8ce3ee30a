import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCurves, loadRuns, smooth, type RunCurveData } from "../../src/plot/curves.js";
import { plotRuns } from "../../src/plot/plot.js";
import { formatTick, niceTicks, renderChart } from "../../src/plot/svg.js";
import { cli, fakeRun } from "../store/helpers.js";

const root = mkdtempSync(join(tmpdir(), "refinery-plot-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk, after checking the signature. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  expect(Buffer.from(bytes.subarray(12, 16)).toString("ascii")).toBe("IHDR");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function run(id: string, seed: number, points: [number, number][], extra: Record<string, unknown> = {}): RunCurveData {
  return {
    id,
    algo: "ppo",
    config: { env: "CartPole-v1", seed, learningRate: 0.00025, ...extra },
    rows: points.map(([step, v], i) => ({ kind: "train", iteration: i + 1, step, episodeReturnMean: v })),
  };
}

describe("ticks and labels", () => {
  it("niceTicks covers the range with round steps", () => {
    expect(niceTicks(0, 500_000, 5)).toEqual([0, 100_000, 200_000, 300_000, 400_000, 500_000]);
    expect(niceTicks(-3, 17, 4)).toEqual([-5, 0, 5, 10, 15, 20]);
    expect(niceTicks(0.001, 0.0093, 4)).toEqual([0, 0.0025, 0.005, 0.0075, 0.01]);
    expect(niceTicks(5, 5, 4).length).toBeGreaterThan(1);
  });

  it("formatTick shortens thousands and millions and keeps the decimals the step needs", () => {
    expect(formatTick(250_000, 50_000)).toBe("250k");
    expect(formatTick(1_500_000, 500_000)).toBe("1.5M");
    expect(formatTick(2.5, 2.5)).toBe("2.5");
    expect(formatTick(0.0075, 0.0025)).toBe("0.0075");
    expect(formatTick(0, 100)).toBe("0");
  });
});

describe("curves", () => {
  it("runs that differ only in their seed become one mean curve with a min/max band", () => {
    const curves = buildCurves(
      [
        run("a", 1, [[100, 10], [200, 20], [300, 30]]),
        run("b", 2, [[100, 14], [200, 26], [300, 36]]),
        run("c", 3, [[100, 12], [200, 23], [300, 33], [400, 40]]),
      ],
      "episodeReturnMean",
    );
    expect(curves).toHaveLength(1);
    const [c] = curves;
    expect(c.runIds).toEqual(["a", "b", "c"]);
    expect(c.label).toBe("ppo CartPole-v1 (mean of 3 seeds, min–max)");
    // Only the steps every seed reached.
    expect(Array.from(c.x)).toEqual([100, 200, 300]);
    expect(Array.from(c.y)).toEqual([12, 23, 33]);
    expect(Array.from(c.low ?? [])).toEqual([10, 20, 30]);
    expect(Array.from(c.high ?? [])).toEqual([14, 26, 36]);
  });

  it("seeds logged at different steps are interpolated linearly", () => {
    const [c] = buildCurves([run("a", 1, [[0, 0], [100, 10]]), run("b", 2, [[0, 0], [50, 20], [100, 20]])], "episodeReturnMean");
    expect(Array.from(c.x)).toEqual([0, 50, 100]);
    expect(Array.from(c.y)).toEqual([0, 12.5, 15]);
  });

  it("different configs are separate curves labelled by what differs", () => {
    const curves = buildCurves(
      [run("a", 1, [[1, 1]]), run("b", 2, [[1, 2]]), run("c", 1, [[1, 3]], { learningRate: 0.001 })],
      "return",
    );
    expect(curves.map((c) => c.label)).toEqual(["learningRate=0.00025 (mean of 2 seeds, min–max)", "learningRate=0.001 seed 1"]);
    expect(curves[1].low).toBeUndefined();
  });

  it("eval metrics come from the evaluation rows; missing values leave gaps, not zeros", () => {
    const r = run("a", 1, [[100, 1], [200, 2]]);
    r.rows.push({ kind: "eval", iteration: 2, step: 200, evalReturnMean: 99 }, { kind: "train", iteration: 3, step: 300, episodeReturnMean: null });
    const [c] = buildCurves([r], "eval");
    expect(Array.from(c.x)).toEqual([200]);
    expect(Array.from(c.y)).toEqual([99]);
    expect(Array.from(buildCurves([r], "return")[0].x)).toEqual([100, 200]);
  });

  it("an unknown metric is an error naming the metrics that exist", () => {
    expect(() => buildCurves([run("a", 1, [[1, 1]])], "episodeReturn")).toThrow(/none of the runs has values of "episodeReturn".*episodeReturnMean/);
  });

  it("smoothing is a debiased exponential moving average", () => {
    const s = smooth({ x: [1, 2, 3], y: [10, 20, 30] }, 0.5);
    expect(s.y[0]).toBe(10);
    expect(s.y[1]).toBeCloseTo((0.5 * 10 * 0.5 + 0.5 * 20) / 0.75, 12);
    expect(smooth({ x: [1], y: [3] }, 0).y).toEqual([3]);
  });

  it("renderChart escapes text and draws bands, lines, axes and legend", () => {
    const svg = renderChart([{ label: "a <b> & c", x: [0, 1, 2], y: [1, NaN, 3], low: [0, 0, 2], high: [2, 2, 4] }], { title: "T & U", xLabel: "steps", yLabel: "return" });
    expect(svg).toContain("a &lt;b&gt; &amp; c");
    expect(svg).toContain("T &amp; U");
    expect(svg).not.toMatch(/NaN/);
    expect(svg.match(/<polygon/g)).toHaveLength(1);
    // The NaN splits the line: two one-point pieces drawn as dots.
    expect(svg.match(/<circle/g)).toHaveLength(2);
  });
});

describe("refinery plot", () => {
  beforeAll(() => {
    fakeRun(join(root, "s1"), { seed: 1, returns: [10, 30, 60, 100, 150] });
    fakeRun(join(root, "s2"), { seed: 2, returns: [12, 25, 70, 110, 160] });
    fakeRun(join(root, "s3"), { seed: 3, returns: [8, 35, 50, 90, 170] });
    fakeRun(join(root, "fast"), { seed: 1, learningRate: 0.001, returns: [20, 80, 200, 300, 400] });
  });

  it("writes a PNG and an SVG with the same basename: mean and band for the seeds, a line for the other config", () => {
    const out = join(root, "figs", "curves.png");
    const result = plotRuns({ runs: ["s1", "s2", "s3", "fast"], runsRoot: root, metric: "return", out });
    expect(result.png).toBe(out);
    expect(result.svg).toBe(join(root, "figs", "curves.svg"));
    expect(result.curves).toEqual([
      { label: "learningRate=0.00025 (mean of 3 seeds, min–max)", runIds: ["s1", "s2", "s3"], points: 5 },
      { label: "learningRate=0.001 seed 1", runIds: ["fast"], points: 5 },
    ]);
    const png = readFileSync(out);
    expect(pngSize(png)).toEqual({ width: 1800, height: 1080 });
    expect(statSync(out).size).toBeGreaterThan(20_000);
    const svg = readFileSync(result.svg, "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="900" height="540"/);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
    expect(svg.match(/<g[ >]/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
    expect(svg.match(/<polygon/g)).toHaveLength(1);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("learningRate=0.00025 (mean of 3 seeds, min–max)");
    expect(svg).toContain("episodeReturnMean (training)");
    expect(svg).toContain("environment steps");
  });

  it("the command takes run directories or ids, --smooth and --title, and reports what it drew", async () => {
    const r = await cli("plot", join(root, "s1"), "fast", "--runs-root", root, "--metric", "eval", "--smooth", "0.5", "--title", "Eval", "--out", join(root, "eval.svg"), "--scale", "1", "--json");
    expect(r.code, r.err).toBe(0);
    const data = JSON.parse(r.out) as { png: string; svg: string; curves: { label: string }[] };
    expect(data.png).toBe(join(root, "eval.png"));
    expect(pngSize(readFileSync(data.png))).toEqual({ width: 900, height: 540 });
    const svg = readFileSync(data.svg, "utf8");
    expect(svg).toContain(">Eval<");
    expect(svg).toContain("EMA smoothing 0.5");
    expect(data.curves).toHaveLength(2);
  });

  it("an unknown run or a bad option fails with exit code 2", async () => {
    const missing = await cli("plot", "nope", "--runs-root", root, "--out", join(root, "x.png"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/"nope" is neither a run directory nor the id of a run/);
    const bad = await cli("plot", "s1", "--runs-root", root, "--smooth", "1");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--smooth must be a number in \[0, 0\.999\]/);
  });

  it("loadRuns reads the run directories directly (no store needed)", () => {
    rmSync(join(root, "runs.db"), { force: true });
    const [r] = loadRuns(["s2"], root);
    expect(r).toMatchObject({ id: "s2", algo: "ppo", config: { seed: 2 } });
    expect(r.rows.filter((x) => x.kind === "train")).toHaveLength(5);
  });
});
