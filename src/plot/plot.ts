import { extname } from "node:path";
import { atomicWriteFile } from "../train/fsutil.js";
import { buildCurves, loadRuns, metricKind, metricName } from "./curves.js";
import { svgToPng } from "./png.js";
import { renderChart } from "./svg.js";

export interface PlotOptions {
  /** Run directories or run ids of the runs root. */
  runs: string[];
  runsRoot: string;
  metric: string;
  /** Output path; `.png` and `.svg` files with its basename are written. */
  out: string;
  smoothing?: number;
  title?: string;
  width?: number;
  height?: number;
  scale?: number;
}

/** Writes the learning curves of `metric` as an SVG and a PNG; returns both paths and the curves drawn. */
export function plotRuns(opts: PlotOptions): { png: string; svg: string; curves: { label: string; runIds: string[]; points: number }[] } {
  const metric = metricName(opts.metric);
  const curves = buildCurves(loadRuns(opts.runs, opts.runsRoot), metric, opts.smoothing ?? 0);
  const smoothing = opts.smoothing ? `EMA smoothing ${opts.smoothing}` : "";
  const svg = renderChart(curves, {
    title: opts.title ?? `${metric} (${metricKind(metric) === "eval" ? "evaluation" : "training"})`,
    subtitle: smoothing || undefined,
    xLabel: "environment steps",
    yLabel: metric,
    width: opts.width,
    height: opts.height,
  });
  const base = [".png", ".svg"].includes(extname(opts.out).toLowerCase()) ? opts.out.slice(0, -4) : opts.out;
  const svgPath = `${base}.svg`;
  const pngPath = `${base}.png`;
  atomicWriteFile(svgPath, svg);
  atomicWriteFile(pngPath, svgToPng(svg, opts.scale ?? 2));
  return { png: pngPath, svg: svgPath, curves: curves.map((c) => ({ label: c.label, runIds: c.runIds, points: c.x.length })) };
}
