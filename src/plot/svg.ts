/**
 * A small line-chart renderer that writes SVG text: axes with round ticks, grid, lines
 * with optional min/max bands, a legend, a title. Pure TypeScript, no DOM, so plots are
 * made from the command line and in CI without a browser.
 */

export interface ChartSeries {
  label: string;
  x: ArrayLike<number>;
  /** The line; NaN leaves a gap. */
  y: ArrayLike<number>;
  /** Optional band around the line (e.g. min and max across seeds), same length as x. */
  low?: ArrayLike<number>;
  high?: ArrayLike<number>;
  /** CSS colour; taken from the palette when omitted. */
  color?: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Note under the title (e.g. the smoothing used). */
  subtitle?: string;
}

/** Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies (yellow left out: too pale on white). */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];

const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/** Renders the series as an SVG document. */
export function renderChart(series: ChartSeries[], opts: ChartOptions): string {
  const width = opts.width ?? 900;
  const height = opts.height ?? 540;
  const margin = { left: 84, right: 28, top: opts.subtitle ? 70 : 54, bottom: 62 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const xs = series.flatMap((s) => finite(s.x));
  const ys = series.flatMap((s) => [...finite(s.y), ...finite(s.low ?? []), ...finite(s.high ?? [])]);
  const [xMin, xMax] = extent(xs, 0, 1);
  const [yMin, yMax] = extent(ys, 0, 1);
  const xTicks = niceTicks(xMin, xMax, Math.max(2, Math.round(plotW / 110)));
  const yTicks = niceTicks(yMin, yMax, Math.max(2, Math.round(plotH / 70)));
  const x0 = Math.min(xMin, xTicks[0]);
  const x1 = Math.max(xMax, xTicks[xTicks.length - 1]);
  const y0 = Math.min(yMin, yTicks[0]);
  const y1 = Math.max(yMax, yTicks[yTicks.length - 1]);
  const sx = (v: number) => margin.left + ((v - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (v: number) => margin.top + plotH - ((v - y0) / (y1 - y0 || 1)) * plotH;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="13">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold" fill="#222">${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) out.push(`<text x="${width / 2}" y="50" text-anchor="middle" font-size="12" fill="#666">${escapeXml(opts.subtitle)}</text>`);

  // Grid and tick labels.
  out.push(`<g stroke="#e5e5e5" stroke-width="1">`);
  for (const t of xTicks) out.push(`<line x1="${r(sx(t))}" y1="${margin.top}" x2="${r(sx(t))}" y2="${margin.top + plotH}"/>`);
  for (const t of yTicks) out.push(`<line x1="${margin.left}" y1="${r(sy(t))}" x2="${margin.left + plotW}" y2="${r(sy(t))}"/>`);
  out.push(`</g>`);
  out.push(`<g fill="#444" font-size="12">`);
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  for (const t of xTicks) out.push(`<text x="${r(sx(t))}" y="${margin.top + plotH + 18}" text-anchor="middle">${escapeXml(formatTick(t, xStep))}</text>`);
  for (const t of yTicks) out.push(`<text x="${margin.left - 8}" y="${r(sy(t) + 4)}" text-anchor="end">${escapeXml(formatTick(t, yStep))}</text>`);
  out.push(`</g>`);
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888" stroke-width="1"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 18}" text-anchor="middle" fill="#222" font-size="14">${escapeXml(opts.xLabel)}</text>`);
  out.push(`<text transform="translate(22 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222" font-size="14">${escapeXml(opts.yLabel)}</text>`);

  // Bands under every line, then the lines.
  const colors = series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  out.push(`<defs><clipPath id="plot-area"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath></defs>`);
  out.push(`<g clip-path="url(#plot-area)">`);
  series.forEach((s, i) => {
    if (!s.low || !s.high) return;
    for (const part of segments(s.x, s.low, s.high)) {
      const top = part.map((k) => `${r(sx(s.x[k]))},${r(sy(s.high![k]))}`);
      const bottom = part.map((k) => `${r(sx(s.x[k]))},${r(sy(s.low![k]))}`).reverse();
      out.push(`<polygon points="${[...top, ...bottom].join(" ")}" fill="${colors[i]}" fill-opacity="0.18" stroke="none"/>`);
    }
  });
  series.forEach((s, i) => {
    for (const part of segments(s.x, s.y)) {
      const pts = part.map((k) => `${r(sx(s.x[k]))},${r(sy(s.y[k]))}`).join(" ");
      if (part.length === 1) out.push(`<circle cx="${r(sx(s.x[part[0]]))}" cy="${r(sy(s.y[part[0]]))}" r="2.5" fill="${colors[i]}"/>`);
      else out.push(`<polyline points="${pts}" fill="none" stroke="${colors[i]}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`);
    }
  });
  out.push(`</g>`);

  // Legend in the corner of the plot that the data leaves emptiest.
  if (series.length) {
    const rowH = 20;
    const boxW = Math.min(plotW - 16, 24 + 6.9 * Math.max(...series.map((s) => s.label.length)) + 16);
    const boxH = rowH * series.length + 10;
    const corners = [
      [margin.left + 8, margin.top + 8],
      [margin.left + plotW - boxW - 8, margin.top + 8],
      [margin.left + 8, margin.top + plotH - boxH - 8],
      [margin.left + plotW - boxW - 8, margin.top + plotH - boxH - 8],
    ];
    const pixels = series.flatMap((s) => Array.from({ length: s.x.length }, (_, k) => [sx(s.x[k]), sy(s.y[k])]).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py)));
    const crowding = corners.map(([cx, cy]) => pixels.filter(([px, py]) => px >= cx && px <= cx + boxW && py >= cy && py <= cy + boxH).length);
    const best = crowding.indexOf(Math.min(...crowding));
    const [lx, ly] = corners[best];
    out.push(`<g transform="translate(${r(lx)} ${r(ly)})">`);
    out.push(`<rect width="${r(boxW)}" height="${boxH}" fill="#ffffff" fill-opacity="0.9" stroke="#bbb" rx="3"/>`);
    series.forEach((s, i) => {
      const y = 5 + rowH * i + rowH / 2;
      out.push(`<line x1="8" y1="${y}" x2="26" y2="${y}" stroke="${colors[i]}" stroke-width="3"/>`);
      out.push(`<text x="32" y="${y + 4}" fill="#222" font-size="12">${escapeXml(s.label)}</text>`);
    });
    out.push(`</g>`);
  }
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/**
 * About `count` round tick values (multiples of 1, 2, 2.5 or 5 × 10^k) covering [min, max].
 */
export function niceTicks(min: number, max: number, count: number): number[] {
  if (!(max > min)) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
    return niceTicks(min - pad, max + pad, count);
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(min / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = start; t <= max + step * (1 - 1e-9); t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** Tick label: 250000 → "250k", 1500000 → "1.5M", 0.0025 → "0.0025"; decimals as the step needs. */
export function formatTick(v: number, step: number): string {
  const abs = Math.abs(v);
  for (const [div, suffix] of [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ] as const) {
    if (abs >= div && step >= div / 100) return trimZeros((v / div).toFixed(decimalsFor(step / div))) + suffix;
  }
  if (abs !== 0 && abs < 1e-3) return v.toExponential(1);
  return trimZeros(v.toFixed(decimalsFor(step)));
}

function decimalsFor(step: number): number {
  const exponent = Math.floor(Math.log10(step) + 1e-9);
  const quarter = Math.abs(step / 10 ** exponent - 2.5) < 1e-6;
  return Math.max(0, Math.min(6, -exponent + (quarter ? 1 : 0)));
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] as string);
}

/** Runs of consecutive indices where x and every given y array are finite. */
function segments(x: ArrayLike<number>, ...ys: ArrayLike<number>[]): number[][] {
  const parts: number[][] = [];
  let cur: number[] = [];
  for (let k = 0; k < x.length; k++) {
    if (Number.isFinite(x[k]) && ys.every((y) => Number.isFinite(y[k]))) cur.push(k);
    else if (cur.length) {
      parts.push(cur);
      cur = [];
    }
  }
  if (cur.length) parts.push(cur);
  return parts;
}

function finite(a: ArrayLike<number>): number[] {
  return Array.from(a).filter((v) => Number.isFinite(v));
}

function extent(values: number[], fallbackMin: number, fallbackMax: number): [number, number] {
  if (!values.length) return [fallbackMin, fallbackMax];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function r(v: number): string {
  return String(Math.round(v * 10) / 10);
}
