/** The dashboard's HTML shell; the script (client/app.ts) fills it in. */
export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>refinery dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/uPlot.iife.min.js"></script>
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header>
  <h1>refinery</h1>
  <span id="root" class="muted"></span>
  <span id="connection" class="connection" title="live updates">connecting…</span>
</header>
<main>
  <aside>
    <section class="filters">
      <label>algo <select id="filter-algo"><option value="">all</option></select></label>
      <label>env <select id="filter-env"><option value="">all</option></select></label>
      <label>status <select id="filter-status"><option value="">all</option></select></label>
    </section>
    <table id="runs" class="runs">
      <thead><tr><th></th><th>run</th><th>status</th><th class="num">steps</th><th class="num">return</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-runs" class="muted" hidden>No runs yet. Train one with <code>refinery train</code>; it appears here as soon as it starts.</p>
    <section id="sweeps-section" class="sweeps" hidden>
      <h2>Sweeps <select id="sweep-select" aria-label="sweep"></select></h2>
      <p id="sweep-progress" class="muted"></p>
      <div class="trials-box"><table id="trials" class="runs trials"><thead></thead><tbody></tbody></table></div>
    </section>
  </aside>
  <section class="content">
    <div class="toolbar">
      <span id="selection" class="muted">select runs on the left to plot them</span>
      <select id="extra-metric" title="plot another logged number, e.g. a custom metric from logger.record"><option value="">add a curve…</option></select>
      <span id="loading" class="loading" role="status" aria-live="polite" hidden></span>
      <label class="smoothing">smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value="0"> <output id="smoothing-value">0.00</output></label>
    </div>
    <div id="charts" class="charts" data-state="ready"></div>
    <section id="completions-section" class="completions" hidden>
      <h2><span id="completions-title">Sampled completions</span> <span id="completions-run" class="muted"></span></h2>
      <div id="completions"></div>
    </section>
    <section class="videos">
      <h2>Latest recording</h2>
      <div id="videos"></div>
    </section>
    <section class="config">
      <h2>Config <label class="only-diff"><input id="only-diff" type="checkbox" checked> only differences</label></h2>
      <div id="config"></div>
    </section>
  </section>
</main>
</body>
</html>
`;

export const APP_CSS = `
:root { --fg: #1d2329; --muted: #6b7580; --line: #e2e6ea; --bg: #f6f7f9; --accent: #0072B2; font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 14px; color: var(--fg); }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 10px 18px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; letter-spacing: 0.02em; }
.muted { color: var(--muted); }
.connection { margin-left: auto; font-size: 12px; color: var(--muted); }
.connection.live::before { content: "●"; color: #2a9d55; margin-right: 4px; }
.connection.down::before { content: "●"; color: #c0392b; margin-right: 4px; }
main { display: grid; grid-template-columns: minmax(400px, 32%) 1fr; gap: 14px; padding: 14px; align-items: start; }
aside, .content > * { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
aside { padding: 10px; max-height: calc(100vh - 80px); overflow: auto; }
.filters { display: flex; gap: 8px; flex-wrap: wrap; margin-bottom: 8px; }
.filters label { font-size: 12px; color: var(--muted); display: flex; flex-direction: column; gap: 2px; }
select { font: inherit; padding: 2px 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.runs { font-size: 13px; }
.runs td.id { max-width: 240px; overflow: hidden; text-overflow: ellipsis; }
.runs th:first-child, .runs td:first-child { width: 20px; padding-right: 0; }
#selection { display: flex; flex-wrap: wrap; gap: 6px 14px; }
.chip { white-space: nowrap; font-size: 13px; }
.runs tbody tr { cursor: pointer; }
.runs tbody tr:hover { background: #f0f4f8; }
.runs tbody tr.selected { background: #e6f0f8; }
.sweeps { margin-top: 18px; }
.sweeps h2 { font-size: 14px; margin: 4px 0 6px; display: flex; gap: 8px; align-items: center; }
.sweeps select { max-width: 200px; }
.trials-box { overflow-x: auto; }
.trials th.sortable { cursor: pointer; user-select: none; }
.trials th.sorted-asc::after { content: " ▲"; }
.trials th.sorted-desc::after { content: " ▼"; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: middle; }
.status { font-size: 11px; padding: 1px 6px; border-radius: 9px; background: #eef0f2; }
.status.running { background: #dff3e6; color: #1e7a3f; }
.status.finished { background: #e3eef9; color: #1f5f99; }
.status.failed { background: #fbe4e1; color: #a5281b; }
.status.interrupted { background: #fff1d6; color: #8a5a00; }
.content { display: flex; flex-direction: column; gap: 14px; min-width: 0; }
.toolbar { display: flex; align-items: center; gap: 16px; padding: 8px 12px; }
.loading { font-size: 12px; color: var(--muted); }
.loading::before { content: ""; display: inline-block; width: 9px; height: 9px; margin-right: 6px; border: 2px solid var(--line); border-top-color: var(--accent); border-radius: 50%; animation: spin 0.8s linear infinite; vertical-align: -1px; }
@keyframes spin { to { transform: rotate(360deg); } }
.charts[data-state="loading"] .chart .empty { font-style: italic; }
.smoothing { margin-left: auto; display: flex; align-items: center; gap: 6px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 10px; padding: 10px; }
.chart { min-width: 0; }
.chart h3 { margin: 0 0 2px 6px; font-size: 13px; font-weight: 600; }
.chart .empty { height: 200px; display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 12px; border: 1px dashed var(--line); border-radius: 4px; }
.config { padding: 8px 12px; overflow-x: auto; }
.remove-chart { border: none; background: none; color: var(--muted); cursor: pointer; font-size: 14px; padding: 0 4px; }
.remove-chart:hover { color: var(--fg); }
#extra-metric { max-width: 260px; }
.completions { padding: 8px 12px; overflow-x: auto; }
.completions h2 { font-size: 14px; margin: 4px 0 8px; display: flex; gap: 16px; align-items: baseline; }
.completions td.text { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; max-width: 420px; overflow-wrap: anywhere; }
.completions tr.correct td.num:last-child { color: #1e7a3f; font-weight: 600; }
.completions .transcript { display: flex; flex-wrap: wrap; gap: 4px; align-items: baseline; }
.completions .turn { border-radius: 4px; padding: 1px 5px; white-space: pre-wrap; }
.completions .turn .tag { font-family: system-ui, sans-serif; font-size: 10px; text-transform: uppercase; letter-spacing: 0.03em; margin-right: 4px; opacity: 0.75; }
.completions .turn.policy { background: #e6effa; border: 1px solid #9dbbe3; color: #0f3d75; }
.completions .turn.policy.tool-call { border-style: dashed; }
.completions .turn.policy.answer { font-weight: 600; }
.completions .turn.policy.malformed { background: #fbeaea; border-color: #e3a1a1; color: #8a1f1f; }
.completions .turn.env { background: #f1f1ee; border: 1px solid #cfcfc7; color: #444; font-style: italic; }
.completions .turn.env.tool-result { background: #fff6df; border-color: #e6cf8f; color: #6b4f00; }
.completions td.success.yes { color: #1e7a3f; font-weight: 600; }
.completions td.success.no { color: #9a2a2a; }
.config h2 { font-size: 14px; margin: 4px 0 8px; display: flex; gap: 16px; align-items: baseline; }
.only-diff { font-size: 12px; font-weight: normal; color: var(--muted); }
.config td.differs { background: #fff6d9; }
.config td.key { color: var(--muted); }
.videos { padding: 8px 12px; }
.videos h2 { font-size: 14px; margin: 4px 0 8px; }
#videos { display: flex; flex-wrap: wrap; gap: 12px; }
#videos figure { margin: 0; }
#videos img { max-width: 100%; border: 1px solid var(--line); }
#videos figcaption { font-size: 12px; color: var(--muted); }
code { background: #eef0f2; padding: 0 3px; border-radius: 3px; }
`;
