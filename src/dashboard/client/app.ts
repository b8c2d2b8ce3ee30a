/**
 * The dashboard page's script (runs in the browser). It lists runs, plots the selected
 * runs' curves with uPlot, keeps them live through the server's event stream, and shows
 * their configs side by side. Curves arrive downsampled (a few thousand points per series
 * however long the run): first a sampled preview, then the exact M4 curves. Served as an ES module; uPlot is loaded before it as a
 * global script. Nothing here leaves the page's own origin.
 */
import type UPlot from "uplot";

interface Run {
  id: string;
  name: string;
  algo: string;
  env: string;
  seed: number | null;
  status: string;
  step: number;
  iteration: number;
  startedAt: string | null;
  pid: number | null;
  config: Record<string, unknown>;
  metrics: Record<string, number | null>;
}

interface MetricRecord {
  seq: number;
  runId: string;
  kind: string;
  iteration: number;
  step: number;
  row: Record<string, unknown>;
}

/** One curve: steps and values, sorted by step. */
interface Series {
  x: number[];
  y: number[];
}

interface CurvesReply {
  cursor: number;
  runs: { id: string; kinds: Record<string, { exact: boolean; rows: number; series: Record<string, Series> }> }[];
}

/** A sweep's trial (GET /api/sweeps/NAME). */
interface SweepTrial {
  id: string;
  overrides: Record<string, unknown>;
  status: string;
  step: number;
  hasRun: boolean;
  metrics: Record<string, number | null>;
  error: string | null;
}

interface SweepDetail {
  name: string;
  sweep: string | null;
  total: number;
  done: number;
  running: number;
  failed: number;
  skippedLines: number;
  keys: string[];
  trials: SweepTrial[];
}

interface ChartSpec {
  metric: string;
  title: string;
  kind: "train" | "eval";
}

const CHARTS: ChartSpec[] = [
  { metric: "episodeReturnMean", title: "Episode return", kind: "train" },
  { metric: "evalReturnMean", title: "Evaluation return", kind: "eval" },
  { metric: "episodeLengthMean", title: "Episode length", kind: "train" },
  { metric: "policyLoss", title: "Policy loss", kind: "train" },
  { metric: "valueLoss", title: "Value loss", kind: "train" },
  { metric: "entropy", title: "Entropy", kind: "train" },
  { metric: "approxKl", title: "Approx. KL", kind: "train" },
  { metric: "clipFraction", title: "Clip fraction", kind: "train" },
  { metric: "sps", title: "Steps per second", kind: "train" },
  { metric: "learningRate", title: "Learning rate", kind: "train" },
];

/** Keys of a metrics row that place it rather than measure something: never offered as curves. */
const NOT_CURVES = new Set(["kind", "iteration", "step"]);

/** Where the curves the user added are remembered between visits. */
const EXTRA_KEY = "refinery.extraCharts";

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"];

/**
 * Points per series asked of the server: about four per pixel column of a chart (M4 keeps
 * first, last, min and max per column), never more than a few thousand.
 */
const POINTS = Math.min(4000, Math.max(800, 4 * Math.ceil(window.innerWidth / 2)));

const uPlotCtor = (window as unknown as { uPlot: typeof UPlot }).uPlot;

const state = {
  runs: [] as Run[],
  selected: [] as string[],
  /** Per run, per kind, per metric: the curve drawn (downsampled, then grown by live rows). */
  curves: new Map<string, Map<string, Map<string, Series>>>(),
  /** Live rows of runs whose exact curves are still loading, replayed on top of them when they arrive. */
  buffered: new Map<string, MetricRecord[]>(),
  /** Cancels the requests of a selection that changed. */
  loading: null as AbortController | null,
  cursor: 0,
  smoothing: 0,
  autoSelected: false,
  stream: null as EventSource | null,
  charts: new Map<string, { plot: UPlot | null; el: HTMLElement; seriesKey: string }>(),
  /** Curves added with the "add a curve" selector (custom metrics, algorithm diagnostics). */
  extra: loadExtraCharts(),
  /** The text run whose sampled completions are shown, and when they were last fetched. */
  completionsRun: null as string | null,
  completionsAt: 0,
  completionsTimer: null as number | null,
  /** Sweep directories under the root, the one shown, and its trials. */
  sweeps: [] as string[],
  sweep: null as string | null,
  sweepDetail: null as SweepDetail | null,
  /** Selected trials as "SWEEP/TRIAL" (neither name can hold "/", so no run id looks like one), plotted after the runs. */
  trials: [] as string[],
  /** Their curves, per kind, per metric (reloaded while a trial runs). */
  trialCurves: new Map<string, Map<string, Map<string, Series>>>(),
  trialSort: { key: "id", desc: false },
};

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: { accept: "application/json" }, signal });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Everything drawn: the selected runs, then the selected sweep trials. */
function plotted(): string[] {
  return [...state.selected, ...state.trials];
}

function curveOf(id: string): Map<string, Map<string, Series>> | undefined {
  return state.curves.get(id) ?? state.trialCurves.get(id);
}

function colorOf(id: string): string {
  const i = plotted().indexOf(id);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  if (Number.isInteger(x)) return x.toLocaleString("en-US");
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(1) : x.toPrecision(2);
}

// ---- run list -------------------------------------------------------------

function filters(): { algo: string; env: string; status: string } {
  return {
    algo: $<HTMLSelectElement>("filter-algo").value,
    env: $<HTMLSelectElement>("filter-env").value,
    status: $<HTMLSelectElement>("filter-status").value,
  };
}

function fillFilter(id: string, values: string[]): void {
  const select = $<HTMLSelectElement>(id);
  const current = select.value;
  const wanted = ["", ...values];
  const have = Array.from(select.options).map((o) => o.value);
  if (wanted.join("\u0000") === have.join("\u0000")) return;
  select.replaceChildren(...wanted.map((v) => el("option", { value: v }, v || "all")));
  select.value = wanted.includes(current) ? current : "";
}

function renderRuns(): void {
  const uniq = (f: (r: Run) => string) => [...new Set(state.runs.map(f))].sort();
  fillFilter("filter-algo", uniq((r) => r.algo));
  fillFilter("filter-env", uniq((r) => r.env));
  fillFilter("filter-status", uniq((r) => r.status));
  const f = filters();
  const shown = state.runs.filter((r) => (!f.algo || r.algo === f.algo) && (!f.env || r.env === f.env) && (!f.status || r.status === f.status));
  const body = document.querySelector("#runs tbody") as HTMLElement;
  body.replaceChildren(
    ...shown.map((r) => {
      const selected = state.selected.includes(r.id);
      const box = el("input", { type: "checkbox", "aria-label": `select ${r.id}` });
      box.checked = selected;
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = selected ? colorOf(r.id) : "transparent";
      const ret = r.metrics.finalMeanReturn ?? r.metrics.episodeReturnMean;
      const tr = el(
        "tr",
        { class: selected ? "selected" : "", "data-run": r.id, title: `${r.name}\n${r.startedAt ?? ""}` },
        el("td", {}, box),
        el("td", { class: "id" }, swatch, r.id),
        el("td", {}, el("span", { class: `status ${r.status}` }, r.status)),
        el("td", { class: "num" }, fmt(r.step)),
        el("td", { class: "num" }, fmt(ret)),
      );
      tr.addEventListener("click", () => toggleRun(r.id));
      return tr;
    }),
  );
  $("no-runs").hidden = state.runs.length > 0;
}

function setRuns(runs: Run[]): void {
  const before = new Map(state.runs.map((r) => [r.id, r]));
  state.runs = runs;
  const ids = new Set(runs.map((r) => r.id));
  const kept = state.selected.filter((id) => ids.has(id));
  // A run that was resumed (new process) rewrites its rows: reload it whole.
  const restarted = kept.filter((id) => {
    const old = before.get(id);
    const now = runs.find((r) => r.id === id);
    return old && now && old.pid !== now.pid && now.status === "running";
  });
  if (!state.autoSelected && runs.length) {
    state.autoSelected = true;
    const first = runs.find((r) => r.status === "running") ?? runs[0];
    if (!kept.length) kept.push(first.id);
  }
  const changed = kept.join("\u0000") !== state.selected.join("\u0000");
  state.selected = kept;
  renderRuns();
  if (changed || restarted.length) void reloadSelection();
  else renderConfig();
}

function toggleRun(id: string): void {
  state.selected = state.selected.includes(id) ? state.selected.filter((x) => x !== id) : [...state.selected, id];
  renderRuns();
  void reloadSelection();
}

// ---- data -------------------------------------------------------------------

/** Live rows: each numeric field extends its curve (a row at a step already drawn replaces that point). */
function addRows(records: MetricRecord[]): void {
  for (const m of records) {
    if (!state.selected.includes(m.runId)) continue;
    state.buffered.get(m.runId)?.push(m);
    appendRow(m);
    if (m.seq > state.cursor) state.cursor = m.seq;
  }
}

function appendRow(m: MetricRecord): void {
  let kinds = state.curves.get(m.runId);
  if (!kinds) state.curves.set(m.runId, (kinds = new Map()));
  let metrics = kinds.get(m.kind);
  if (!metrics) kinds.set(m.kind, (metrics = new Map()));
  for (const [key, v] of Object.entries(m.row)) {
    if (key === "kind" || key === "iteration" || key === "step" || typeof v !== "number" || !Number.isFinite(v)) continue;
    let s = metrics.get(key);
    if (!s) metrics.set(key, (s = { x: [], y: [] }));
    const last = s.x.length - 1;
    if (last < 0 || m.step > s.x[last]) {
      s.x.push(m.step);
      s.y.push(v);
    } else if (m.step === s.x[last]) {
      s.y[last] = v;
    } else continue; // older than what is drawn: already part of the curve
    if (s.x.length > 2 * POINTS) metrics.set(key, compact(s, POINTS));
  }
}

/** The server's M4 downsampling, on the client: a curve grown by live rows is cut back to `points` points. */
function compact(s: Series, points: number): Series {
  const buckets = Math.max(1, Math.floor(points / 4));
  const x0 = s.x[0];
  const width = Math.max(1, Math.ceil((s.x[s.x.length - 1] - x0 + 1) / buckets));
  const out: Series = { x: [], y: [] };
  let i = 0;
  while (i < s.x.length) {
    const b = Math.floor((s.x[i] - x0) / width);
    let j = i;
    let lo = i;
    let hi = i;
    while (j < s.x.length && Math.floor((s.x[j] - x0) / width) === b) {
      if (s.y[j] < s.y[lo]) lo = j;
      if (s.y[j] > s.y[hi]) hi = j;
      j++;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((p, q) => p - q)) {
      out.x.push(s.x[k]);
      out.y.push(s.y[k]);
    }
    i = j;
  }
  return out;
}

/** The curves of a server reply replace the runs' curves. */
function setCurves(reply: CurvesReply): void {
  for (const run of reply.runs) {
    const kinds = new Map<string, Map<string, Series>>();
    for (const [kind, k] of Object.entries(run.kinds)) kinds.set(kind, new Map(Object.entries(k.series)));
    state.curves.set(run.id, kinds);
  }
}

/** The progress line above the charts; empty hides it. */
function setLoading(text: string, phase: "loading" | "preview" | "ready"): void {
  const note = $("loading");
  note.textContent = text;
  note.hidden = !text;
  $("charts").dataset.state = phase;
}

/** The selected runs as coloured chips: the charts' legend. */
function renderSelection(): void {
  const host = $("selection");
  if (!plotted().length) {
    host.replaceChildren("select runs on the left to plot them");
    return;
  }
  host.replaceChildren(
    ...plotted().map((id) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = colorOf(id);
      return el("span", { class: "chip" }, swatch, id);
    }),
  );
}

/**
 * Loads the selected runs' curves: a sampled preview of all of them first (a few thousand
 * rows, read through the index, so even a run with a million rows draws at once), then
 * the exact downsampled curves of each run whose preview left rows out, one run at a time.
 * New rows are followed through the event stream from the preview's cursor on.
 */
async function reloadSelection(): Promise<void> {
  state.stream?.close();
  state.stream = null;
  state.loading?.abort();
  const loading = new AbortController();
  state.loading = loading;
  state.curves = new Map();
  state.buffered = new Map();
  const ids = [...state.selected];
  renderSelection();
  const query = (runs: string[], points: number, extra: [string, string][] = []) => new URLSearchParams([...runs.map((id): [string, string] => ["run", id]), ["points", String(points)], ...extra]);
  let cursor = 0;
  let inexact: string[] = [];
  try {
    if (ids.length) {
      setLoading(`loading the curves of ${ids.length === 1 ? "1 run" : `${ids.length} runs`}…`, "loading");
      renderCharts();
      // The preview reads one row per point: fewer points draw sooner, and it is replaced anyway.
      const preview = await getJson<CurvesReply>(`/api/curves?${query(ids, Math.min(POINTS, 1000), [["preview", "1"]])}`, loading.signal);
      setCurves(preview);
      cursor = preview.cursor;
      inexact = preview.runs.filter((r) => Object.values(r.kinds).some((k) => !k.exact)).map((r) => r.id);
    }
    state.cursor = cursor;
    for (const id of inexact) state.buffered.set(id, []);
    renderCharts();
    renderConfig();
    void renderVideos();
    openStream();
    for (const [i, id] of inexact.entries()) {
      const rows = state.runs.find((r) => r.id === id)?.iteration;
      setLoading(`showing a sample; reading every row of ${id}${rows ? ` (${rows.toLocaleString("en-US")} iterations)` : ""}${inexact.length > 1 ? `, run ${i + 1} of ${inexact.length}` : ""}…`, "preview");
      const exact = await getJson<CurvesReply>(`/api/curves?${query([id], POINTS)}`, loading.signal);
      setCurves(exact);
      for (const m of state.buffered.get(id) ?? []) appendRow(m);
      state.buffered.delete(id);
      renderCharts();
    }
    setLoading("", "ready");
  } catch (err) {
    if (loading.signal.aborted) return; // the selection changed: a newer load runs
    setLoading(`could not load the curves (${(err as Error).message}); reload the page to retry`, "ready");
  }
}

/**
 * The latest recorded episode (`refinery record`) of each selected run: asks
 * /api/video/info first, so a run without a recording costs no failed image request.
 */
async function renderVideos(): Promise<void> {
  const host = $("videos");
  const ids = [...state.selected];
  if (!ids.length) {
    host.replaceChildren(el("p", { class: "muted" }, "Select a run to see its latest recorded episode."));
    return;
  }
  const infos = await Promise.all(ids.map((id) => getJson<{ available: boolean; modifiedAt: string | null }>(`/api/video/info?${new URLSearchParams({ run: id }).toString()}`).catch(() => null)));
  if (ids.join("\u0000") !== state.selected.join("\u0000")) return; // the selection changed meanwhile
  host.replaceChildren(
    ...ids.map((id, i) => {
      const info = infos[i];
      const view = info?.available
        ? el("img", { src: `/api/video?${new URLSearchParams({ run: id, t: info.modifiedAt ?? "" }).toString()}`, alt: `latest recorded episode of ${id}` })
        : el("p", { class: "muted" }, "no recording yet: ", el("code", {}, "refinery record RUN_DIR"));
      return el("figure", { "data-run": id }, view, el("figcaption", {}, id));
    }),
  );
}

function openStream(): void {
  state.stream?.close();
  const params = new URLSearchParams([["since", String(state.cursor)], ...state.selected.map((id) => ["run", id])]);
  const stream = new EventSource(`/api/stream?${params}`);
  state.stream = stream;
  const conn = $("connection");
  stream.addEventListener("open", () => {
    conn.textContent = "live";
    conn.className = "connection live";
  });
  stream.addEventListener("error", () => {
    conn.textContent = "reconnecting…";
    conn.className = "connection down";
  });
  stream.addEventListener("runs", (e) => setRuns((JSON.parse((e as MessageEvent).data) as { runs: Run[] }).runs));
  // runs.db was replaced (a rebuild): its cursors start over, so load the curves afresh.
  stream.addEventListener("reset", () => void reloadSelection());
  stream.addEventListener("metrics", (e) => {
    if (state.stream !== stream) return;
    addRows((JSON.parse((e as MessageEvent).data) as { rows: MetricRecord[] }).rows);
    renderCharts();
  });
}

// ---- charts -----------------------------------------------------------------

/** TensorBoard's smoothing (debiased exponential moving average), as `refinery plot --smooth`. */
function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return values;
  let avg = 0;
  let norm = 0;
  return values.map((v) => {
    if (v === null) return null;
    avg = avg * weight + v * (1 - weight);
    norm = norm * weight + (1 - weight);
    return avg / norm;
  });
}

/** One x axis (the union of steps) and one y array per selected run, null where a run has no value. */
function chartData(spec: ChartSpec): { data: UPlot.AlignedData; points: number } {
  const perRun = plotted().map((id) => {
    const s = curveOf(id)?.get(spec.kind)?.get(spec.metric) ?? { x: [], y: [] };
    return { xs: s.x, ys: smooth(s.y, state.smoothing) };
  });
  const steps = [...new Set(perRun.flatMap((r) => r.xs))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  let points = 0;
  const series = perRun.map((r) => {
    const out: (number | null)[] = new Array(steps.length).fill(null);
    r.xs.forEach((x, k) => {
      out[index.get(x) as number] = r.ys[k];
      points++;
    });
    return out;
  });
  return { data: [steps, ...series] as UPlot.AlignedData, points };
}

function chartKey(spec: ChartSpec): string {
  return `${spec.kind}:${spec.metric}`;
}

function allCharts(): ChartSpec[] {
  return [...CHARTS, ...state.extra];
}

function renderCharts(): void {
  const host = $("charts");
  for (const spec of allCharts()) {
    if (state.charts.has(chartKey(spec))) continue;
    const extra = state.extra.includes(spec);
    const title = el("h3", {}, spec.title);
    if (extra) {
      const remove = el("button", { class: "remove-chart", title: "remove this curve", type: "button" }, "×");
      remove.addEventListener("click", () => removeExtraChart(spec));
      title.append(" ", remove);
    }
    const box = el("div", { class: "chart", "data-metric": spec.metric, "data-kind": spec.kind, "data-points": "0" }, title);
    host.append(box);
    state.charts.set(chartKey(spec), { plot: null, el: box, seriesKey: "" });
  }
  renderCurveChoices();
  scheduleCompletions();
  for (const spec of allCharts()) {
    const chart = state.charts.get(chartKey(spec))!;
    const { data, points } = chartData(spec);
    chart.el.dataset.points = String(points);
    const seriesKey = plotted().map((id) => `${id}=${colorOf(id)}`).join(",");
    if (!points) {
      chart.plot?.destroy();
      chart.plot = null;
      chart.seriesKey = "";
      const empty = chart.el.querySelector(".empty") ?? chart.el.appendChild(el("div", { class: "empty" }));
      const phase = $("charts").dataset.state;
      empty.textContent = !plotted().length ? "no run selected" : phase === "loading" ? "loading…" : spec.kind === "eval" ? "no evaluation yet" : "no data yet";
      continue;
    }
    chart.el.querySelector(".empty")?.remove();
    if (chart.plot && chart.seriesKey === seriesKey) {
      chart.plot.setData(data);
      continue;
    }
    chart.plot?.destroy();
    chart.seriesKey = seriesKey;
    chart.plot = new uPlotCtor(
      {
        width: Math.max(300, chart.el.clientWidth - 4),
        height: 200,
        // Steps from 0, so charts line up and a lone evaluation point is not centred in an arbitrary range.
        scales: {
          x: { time: false, range: (u: UPlot) => [0, Math.max(1, Number(u.data[0].at(-1) ?? 1))] },
          // A constant series (a clip fraction of 0) gets a small range around its value, not uPlot's 0..100.
          y: { range: (_u: UPlot, min: number, max: number) => (min === max ? [min - (Math.abs(min) * 0.1 || 0.01), max + (Math.abs(max) * 0.1 || 0.01)] : uPlotCtor.rangeNum(min, max, 0.1, true)) },
        },
        // The run list's colour swatches and the chips above the charts name the lines.
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: "step", value: (_u, v) => (v === null || v === undefined ? "–" : v.toLocaleString("en-US")) },
          // Evaluations are sparse (sometimes a single one at the end): draw them as dots too.
          ...plotted().map((id) => ({ label: id, stroke: colorOf(id), fill: undefined, width: 1.6, spanGaps: true, points: { show: spec.kind === "eval", size: 6, fill: colorOf(id) } })),
        ],
        axes: [{ values: (_u: UPlot, ticks: number[]) => ticks.map(shortNumber) }, { size: 64, values: (_u: UPlot, ticks: number[]) => ticks.map(shortNumber) }],
      },
      data,
      chart.el,
    );
  }
}

// ---- curves beyond the fixed ones ------------------------------------------------

function loadExtraCharts(): ChartSpec[] {
  try {
    const saved = JSON.parse(localStorage.getItem(EXTRA_KEY) ?? "[]") as ChartSpec[];
    return Array.isArray(saved) ? saved.filter((c) => typeof c.metric === "string" && (c.kind === "train" || c.kind === "eval")) : [];
  } catch {
    return [];
  }
}

function saveExtraCharts(): void {
  try {
    localStorage.setItem(EXTRA_KEY, JSON.stringify(state.extra));
  } catch {
    // storage off (private window): the curves last for this visit
  }
}

/** Every numeric key of the selected runs' rows that has no chart yet, as "kind:metric". */
function curveChoices(): string[] {
  const shown = new Set(allCharts().map(chartKey));
  const found = new Set<string>();
  for (const id of state.selected) {
    for (const [kind, series] of state.curves.get(id) ?? []) {
      if (kind !== "train" && kind !== "eval") continue;
      for (const metric of series.keys()) if (!NOT_CURVES.has(metric)) found.add(`${kind}:${metric}`);
    }
  }
  return [...found].filter((k) => !shown.has(k)).sort();
}

/** The "add a curve" selector: lists custom metrics (logger.record) and every other logged number. */
function renderCurveChoices(): void {
  const select = $<HTMLSelectElement>("extra-metric");
  const choices = curveChoices();
  const have = Array.from(select.options).slice(1).map((o) => o.value);
  if (choices.join("\u0000") === have.join("\u0000")) return;
  select.replaceChildren(el("option", { value: "" }, choices.length ? "add a curve…" : "no other curves"), ...choices.map((c) => el("option", { value: c }, c.replace(":", " · "))));
  select.value = "";
}

function addExtraChart(choice: string): void {
  const [kind, ...rest] = choice.split(":");
  const metric = rest.join(":");
  if (!metric || (kind !== "train" && kind !== "eval")) return;
  state.extra.push({ metric, kind, title: kind === "eval" ? `${metric} (evaluation)` : metric });
  saveExtraCharts();
  renderCharts();
}

function removeExtraChart(spec: ChartSpec): void {
  state.extra = state.extra.filter((s) => s !== spec);
  saveExtraCharts();
  const chart = state.charts.get(chartKey(spec));
  chart?.plot?.destroy();
  chart?.el.remove();
  state.charts.delete(chartKey(spec));
  renderCharts();
}

// ---- sampled completions of a text run ---------------------------------------------

interface Completion {
  iteration: number;
  step: number;
  prompt: string;
  completion: string;
  reward: number;
  correct: boolean;
  /** Multi-turn episodes: each turn's policy text and the env's answer. */
  turns?: { text: string; observation: string; toolCall: boolean; malformed: boolean; role: "actor" | "critic" }[];
}

/**
 * A multi-turn episode as a transcript: the policy's turns and the env's answers in two styles,
 * each with a tag saying what it is (a tool call and its result, the final answer, feedback).
 */
function transcript(c: Completion): HTMLElement {
  const turns = c.turns ?? [];
  const parts = turns.flatMap((t, i) => {
    const last = i === turns.length - 1;
    const kind = t.role === "critic" ? "verdict" : t.toolCall ? "tool call" : t.malformed ? "malformed" : last && !t.observation ? "answer" : "turn";
    const policy = el("span", { class: `turn policy ${kind.replace(" ", "-")}`, title: `policy: ${kind}` }, el("span", { class: "tag" }, kind), t.text);
    if (!t.observation) return [policy];
    const what = t.toolCall ? "tool result" : "env";
    return [policy, el("span", { class: `turn env ${what.replace(" ", "-")}`, title: `env: ${what}` }, el("span", { class: "tag" }, what), t.observation)];
  });
  return el("div", { class: "transcript" }, ...parts);
}

/** Refetches the completions of the first selected text run, at most every 3 s while metrics arrive. */
function scheduleCompletions(): void {
  const run = state.selected.map((id) => state.runs.find((r) => r.id === id)).find((r) => r?.env.startsWith("text:"));
  const section = $("completions-section");
  if (!run) {
    section.hidden = true;
    state.completionsRun = null;
    return;
  }
  const now = Date.now();
  if (run.id === state.completionsRun && now - state.completionsAt < 3000) {
    // Throttled: fetch once more when the interval ends, so the last rows of a run are not missed.
    state.completionsTimer ??= window.setTimeout(() => {
      state.completionsTimer = null;
      scheduleCompletions();
    }, 3000 - (now - state.completionsAt));
    return;
  }
  state.completionsRun = run.id;
  state.completionsAt = now;
  void loadCompletions(run.id);
}

async function loadCompletions(id: string): Promise<void> {
  const data = await getJson<{ completions: Completion[] }>(`/api/completions?${new URLSearchParams({ run: id, limit: "40" })}`);
  if (state.completionsRun !== id) return;
  const section = $("completions-section");
  section.hidden = false;
  $("completions-run").textContent = id;
  const host = $("completions");
  if (!data.completions.length) {
    host.replaceChildren(el("p", { class: "muted" }, "No completions logged yet (every logCompletionsEvery iterations; 0 turns them off)."));
    return;
  }
  // Newest first: the latest samples are what one watches.
  const rows = [...data.completions].reverse();
  if (rows.some((c) => c.turns)) {
    // Multi-turn episodes: the transcript, its turns and tool calls, the reward and whether the answer verified.
    const head = el("tr", {}, el("th", { class: "num" }, "iteration"), el("th", {}, "prompt"), el("th", {}, "episode"), el("th", { class: "num" }, "turns"), el("th", { class: "num" }, "tool calls"), el("th", { class: "num" }, "reward"), el("th", {}, "success"));
    const body = rows.map((c) =>
      el(
        "tr",
        { class: `episode ${c.correct ? "correct" : ""}` },
        el("td", { class: "num" }, String(c.iteration)),
        el("td", { class: "text" }, c.prompt),
        el("td", { class: "text" }, c.turns ? transcript(c) : c.completion),
        el("td", { class: "num" }, String(c.turns?.length ?? "")),
        el("td", { class: "num" }, String(c.turns?.filter((t) => t.toolCall).length ?? "")),
        el("td", { class: "num" }, fmt(c.reward)),
        el("td", { class: c.correct ? "success yes" : "success no" }, c.correct ? "✓ solved" : "✗ not solved"),
      ),
    );
    host.replaceChildren(el("table", { id: "completions-table", class: "episodes" }, el("thead", {}, head), el("tbody", {}, ...body)));
    $("completions-title").textContent = "Sampled episodes";
    return;
  }
  $("completions-title").textContent = "Sampled completions";
  const head = el("tr", {}, el("th", { class: "num" }, "iteration"), el("th", {}, "prompt"), el("th", {}, "completion"), el("th", { class: "num" }, "reward"));
  const body = rows.map((c) =>
    el("tr", { class: c.correct ? "correct" : "" }, el("td", { class: "num" }, String(c.iteration)), el("td", { class: "text" }, c.prompt), el("td", { class: "text" }, c.completion), el("td", { class: "num" }, fmt(c.reward))),
  );
  host.replaceChildren(el("table", { id: "completions-table" }, el("thead", {}, head), el("tbody", {}, ...body)));
}

function shortNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a !== 0 && a < 1e-3) return v.toExponential(0);
  return String(+v.toPrecision(3));
}

// ---- config -------------------------------------------------------------------

function flatten(obj: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (v && typeof v === "object" && !Array.isArray(v)) Object.assign(out, flatten(v as Record<string, unknown>, name));
    else out[name] = JSON.stringify(v) ?? "undefined";
  }
  return out;
}

/** The selected runs' configs side by side; keys whose values differ are marked (and alone, with "only differences"). */
function renderConfig(): void {
  const host = $("config");
  const runs = state.selected.map((id) => state.runs.find((r) => r.id === id)).filter((r): r is Run => !!r);
  if (!runs.length) {
    host.replaceChildren(el("p", { class: "muted" }, "Select a run to see its config; select two or more to compare them."));
    return;
  }
  const flat = runs.map((r) => flatten({ algo: r.algo, ...r.config }));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const onlyDiff = $<HTMLInputElement>("only-diff").checked && runs.length > 1;
  const rows = keys
    .map((k) => ({ key: k, values: flat.map((f) => f[k] ?? "—") }))
    .map((r) => ({ ...r, differs: new Set(r.values).size > 1 }))
    .filter((r) => !onlyDiff || r.differs);
  const head = el("tr", {}, el("th", {}, "key"), ...runs.map((r) => el("th", {}, r.id)));
  const body = rows.map((r) => el("tr", {}, el("td", { class: "key" }, r.key), ...r.values.map((v) => el("td", { class: r.differs ? "differs" : "" }, v))));
  const note = onlyDiff && !rows.length ? [el("p", { class: "muted" }, "The selected runs have identical configs.")] : [];
  host.replaceChildren(el("table", { id: "config-table" }, el("thead", {}, head), el("tbody", {}, ...body)), ...note);
}

// ---- sweeps ---------------------------------------------------------------------

/** Re-reads the sweeps (new trials, results, running trials' progress) and reloads the curves of selected trials still running. */
async function refreshSweeps(): Promise<void> {
  try {
    const { sweeps } = await getJson<{ sweeps: { name: string }[] }>("/api/sweeps");
    state.sweeps = sweeps.map((s) => s.name);
    $("sweeps-section").hidden = !state.sweeps.length;
    if (!state.sweep || !state.sweeps.includes(state.sweep)) state.sweep = state.sweeps[0] ?? null;
    const select = $<HTMLSelectElement>("sweep-select");
    if (Array.from(select.options).map((o) => o.value).join("\u0000") !== state.sweeps.join("\u0000")) {
      select.replaceChildren(...state.sweeps.map((n) => el("option", { value: n }, n)));
    }
    select.value = state.sweep ?? "";
    const before = state.sweepDetail;
    state.sweepDetail = state.sweep ? (await getJson<{ sweep: SweepDetail }>(`/api/sweeps/${encodeURIComponent(state.sweep)}`)).sweep : null;
    renderTrials();
    // Trials that ran since the last look (or still run) have new rows.
    const stale = state.trials.filter((key) => {
      const [sweep, id] = key.split("/");
      if (sweep !== state.sweep) return false;
      const now = state.sweepDetail?.trials.find((t) => t.id === id);
      const old = before?.trials.find((t) => t.id === id);
      return now && (now.status === "running" || now.step !== old?.step || now.status !== old?.status);
    });
    if (stale.length) await loadTrialCurves(stale);
  } catch {
    // The server restarts or a sweep directory is removed: the next refresh tries again.
  }
}

function trialValue(t: SweepTrial, key: string): string | number | null {
  if (key === "id" || key === "status") return t[key];
  if (key === "step") return t.step;
  if (key.startsWith("set:")) {
    const v = t.overrides[key.slice(4)];
    return typeof v === "number" || typeof v === "string" ? v : v === undefined ? null : JSON.stringify(v);
  }
  return t.metrics[key] ?? null;
}

function sortedTrials(detail: SweepDetail): SweepTrial[] {
  const { key, desc } = state.trialSort;
  return [...detail.trials].sort((a, b) => {
    const x = trialValue(a, key);
    const y = trialValue(b, key);
    if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1; // missing values last, either way
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
}

/** The shown sweep's trials: one row each, its config keys and final numbers; headers sort, rows select. */
function renderTrials(): void {
  const detail = state.sweepDetail;
  const table = $("trials");
  if (!detail) {
    table.querySelector("thead")?.replaceChildren();
    table.querySelector("tbody")?.replaceChildren();
    $("sweep-progress").textContent = "";
    return;
  }
  $("sweep-progress").textContent = `${detail.done}/${detail.total} done, ${detail.running} running${detail.failed ? `, ${detail.failed} failed` : ""}`;
  const columns: [string, string][] = [
    ["id", "trial"],
    ["status", "status"],
    ["step", "steps"],
    ...detail.keys.map((k): [string, string] => [`set:${k}`, k]),
    ["evalMeanReturn", "eval return"],
    ["finalMeanReturn", "train return"],
  ];
  const head = el("tr", {}, el("th", {}), ...columns.map(([key, label]) => {
    const sorted = state.trialSort.key === key ? (state.trialSort.desc ? " sorted-desc" : " sorted-asc") : "";
    const th = el("th", { class: `sortable${sorted}`, "data-sort": key, title: "sort" }, label);
    th.addEventListener("click", () => {
      state.trialSort = { key, desc: state.trialSort.key === key ? !state.trialSort.desc : key !== "id" && !key.startsWith("set:") };
      renderTrials();
    });
    return th;
  }));
  table.querySelector("thead")?.replaceChildren(head);
  table.querySelector("tbody")?.replaceChildren(
    ...sortedTrials(detail).map((t) => {
      const key = `${detail.name}/${t.id}`;
      const selected = state.trials.includes(key);
      const box = el("input", { type: "checkbox", "aria-label": `select trial ${t.id}` });
      box.checked = selected;
      if (!t.hasRun) box.disabled = true;
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = selected ? colorOf(key) : "transparent";
      const cells = columns.slice(1).map(([k]) => {
        const v = trialValue(t, k);
        if (k === "status") return el("td", {}, el("span", { class: `status ${t.status}` }, t.status));
        return el("td", { class: typeof v === "number" ? "num" : "" }, typeof v === "number" ? fmt(v) : v ?? "–");
      });
      const tr = el("tr", { class: selected ? "selected" : "", "data-trial": t.id, title: t.error ?? JSON.stringify(t.overrides) }, el("td", {}, box), el("td", { class: "id" }, swatch, t.id), ...cells);
      if (t.hasRun) tr.addEventListener("click", () => toggleTrial(key));
      return tr;
    }),
  );
}

function toggleTrial(key: string): void {
  const adding = !state.trials.includes(key);
  state.trials = adding ? [...state.trials, key] : state.trials.filter((k) => k !== key);
  if (!adding) state.trialCurves.delete(key);
  renderRuns();
  renderTrials();
  renderSelection();
  renderCharts();
  if (adding) void loadTrialCurves([key]);
}

/** Trial curves from the sweep directory's own store (a sweep is a few small runs: exact curves at once). */
async function loadTrialCurves(keys: string[]): Promise<void> {
  const bySweep = new Map<string, string[]>();
  for (const key of keys) {
    const [sweep, id] = key.split("/");
    bySweep.set(sweep, [...(bySweep.get(sweep) ?? []), id]);
  }
  for (const [sweep, ids] of bySweep) {
    const params = new URLSearchParams([["sweep", sweep], ...ids.map((id): [string, string] => ["run", id]), ["points", String(POINTS)]]);
    try {
      const reply = await getJson<CurvesReply>(`/api/curves?${params}`);
      for (const run of reply.runs) {
        const key = `${sweep}/${run.id}`;
        if (!state.trials.includes(key)) continue; // unselected meanwhile
        const kinds = new Map<string, Map<string, Series>>();
        for (const [kind, k] of Object.entries(run.kinds)) kinds.set(kind, new Map(Object.entries(k.series)));
        state.trialCurves.set(key, kinds);
      }
    } catch (err) {
      setLoading(`could not load the curves of sweep ${sweep} (${(err as Error).message}); they are retried on the next refresh`, "ready");
    }
  }
  renderCharts();
}

// ---- start ----------------------------------------------------------------------

async function start(): Promise<void> {
  const { root, runs } = await getJson<{ root: string; runs: Run[] }>("/api/runs");
  $("root").textContent = root;
  for (const id of ["filter-algo", "filter-env", "filter-status"]) $(id).addEventListener("change", renderRuns);
  $("only-diff").addEventListener("change", renderConfig);
  $<HTMLSelectElement>("extra-metric").addEventListener("change", (e) => {
    const select = e.target as HTMLSelectElement;
    if (select.value) addExtraChart(select.value);
  });
  const slider = $<HTMLInputElement>("smoothing");
  slider.addEventListener("input", () => {
    state.smoothing = Number(slider.value);
    $("smoothing-value").textContent = state.smoothing.toFixed(2);
    renderCharts();
  });
  window.addEventListener("resize", () => {
    for (const c of state.charts.values()) c.plot?.setSize({ width: Math.max(300, c.el.clientWidth - 4), height: 200 });
  });
  $<HTMLSelectElement>("sweep-select").addEventListener("change", (e) => {
    state.sweep = (e.target as HTMLSelectElement).value;
    void refreshSweeps();
  });
  renderCharts();
  setRuns(runs);
  void refreshSweeps();
  // Sweeps are files in their directories, not rows of the runs' store: looked at every few seconds.
  setInterval(() => void refreshSweeps(), 5000);
  // With a run selected, its load opens the stream at the right cursor; from 0 it would
  // replay every row of a long run the page is about to get downsampled.
  if (!state.stream && !state.loading) openStream();
}

void start();
