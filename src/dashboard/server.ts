import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { BlockList, isIPv4, isIPv6, type AddressInfo } from "node:net";
import { resolve as resolvePath } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { RefineryError } from "../core/errors.js";
import { RunStore, type MetricRecord, type RunRecord } from "../store/store.js";
import { completionsLimit, latestCompletions, MAX_COMPLETIONS } from "./completions.js";
import { bucketGrid, CurveDownsampler, rawSeries, type BucketGrid, type Series } from "./downsample.js";
import { APP_CSS, INDEX_HTML } from "./page.js";
import { findSweepDirs, insideRoot, readSweep, SweepStores } from "./sweeps.js";
import { latestVideoInfo, sendLatestVideo } from "./video.js";

export interface DashboardOptions {
  /** The runs root: the directory holding the run directories and runs.db. */
  runsRoot: string;
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How often the event stream looks for new rows (ms). */
  pollMs?: number;
  /** Create the runs root when it does not exist (the default `./runs`); otherwise a missing root is an error. */
  create?: boolean;
  /**
   * Rows read per step of a long request (curves, pages, the event stream) before it yields
   * to the event loop, so other requests are answered meanwhile. Default 1000.
   */
  chunkRows?: number;
  /** Called after each step of a long request, before the next (tests use it to act while one is in flight). */
  onChunk?: (what: "curves" | "metrics" | "stream") => void | Promise<void>;
}

export interface Dashboard {
  server: Server;
  url: string;
  host: string;
  port: number;
  root: string;
  /** Bound to a loopback address: only this machine can connect, and the Host header is checked. */
  loopback: boolean;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: () => string;
}

export const DEFAULT_PORT = 6060;

/** Curve points per series when a request does not say (about four per pixel column of a wide chart). */
export const DEFAULT_CURVE_POINTS = 2000;
const MAX_CURVE_POINTS = 20_000;
/** Raw rows per page of /api/metrics when a request does not say, and the most it may ask for. */
export const DEFAULT_PAGE_ROWS = 5000;
const MAX_PAGE_ROWS = 50_000;
/** At most this many `seq` values are scanned by one query of a long read, however sparse the wanted rows are among them. */
const SCAN_WINDOW = 50_000;

const SECURITY_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/**
 * Starts the dashboard: a read-only HTTP server for one runs root. It serves a fixed set
 * of assets (the page, its script and style, uPlot) and a JSON/event-stream API over the
 * run store; every other path is 404 and every method but GET and HEAD is 405. No path
 * from a request ever reaches the file system: run ids are looked up in the store.
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? "127.0.0.1";
  const pollMs = opts.pollMs ?? 1000;
  // Loaded here, not at the top, so importing refinery does not load the HTTP stack.
  const { createServer } = await import("node:http");
  const chunkRows = Math.max(1, Math.floor(opts.chunkRows ?? 1000));
  const onChunk = opts.onChunk ?? (() => undefined);
  checkRunsRoot(opts.runsRoot, opts.create ?? false);
  const store = RunStore.open(opts.runsRoot);
  const mainStore = store;
  store.sync();
  const assets = await loadAssets();
  const streams = new Set<ServerResponse>();
  const sweepStores = new SweepStores();
  let loopback = true;
  /** runs.db deleted or replaced (e.g. by a rebuild): read the new file, which first learns the run directories. */
  const followStore = () => {
    if (store.reopenIfReplaced()) store.sync();
  };
  // New run directories (and runs whose process died) are noticed by a periodic sync.
  const syncTimer = setInterval(() => {
    try {
      followStore();
      store.sync();
    } catch {
      // A transient failure (e.g. a run directory being removed): the next sync retries.
    }
  }, 5000);
  syncTimer.unref();

  const server = createServer((req, res) => {
    const failed = (err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    };
    try {
      void handle(req, res)?.catch(failed);
    } catch (err) {
      failed(err);
    }
  });

  function handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return sendText(res, 405, "method not allowed: the dashboard is read-only\n");
    }
    if (loopback && !loopbackHostHeader(req.headers.host)) return sendText(res, 403, "forbidden host\n");
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const path = url.pathname;
    if (path === "/" || path === "/index.html") return send(res, 200, "text/html; charset=utf-8", INDEX_HTML, req.method === "HEAD");
    if (path.startsWith("/assets/")) {
      const asset = assets.get(path.slice("/assets/".length));
      if (asset) return send(res, 200, asset.type, asset.body(), req.method === "HEAD", "public, max-age=60");
      return notFound(res);
    }
    if (!path.startsWith("/api/")) return notFound(res);
    followStore();
    if (path === "/api/runs") return sendJson(res, 200, { root: store.root, runs: listing(store) });
    if (path.startsWith("/api/runs/")) {
      const run = lookup(store, path.slice("/api/runs/".length));
      if (!run) return notFound(res);
      return sendJson(res, 200, { run: { ...withoutHost(run), metrics: store.summary(run.id) } });
    }
    if (path === "/api/sweeps") return sendJson(res, 200, { sweeps: sweepListing() });
    if (path.startsWith("/api/sweeps/")) {
      const found = sweepDir(path.slice("/api/sweeps/".length));
      if (!found) return notFound(res);
      return sendJson(res, 200, { sweep: readSweep(found.name, found.dir, sweepStores.get(found.dir), rootReal()) });
    }
    // A sweep's trials: `sweep=NAME&run=TRIAL…`, looked up in the store of that sweep's directory.
    if (url.searchParams.has("sweep")) {
      if (path !== "/api/curves") return notFound(res);
      const found = sweepDir(encodeURIComponent(url.searchParams.get("sweep") ?? ""));
      const trials = found ? sweepStores.get(found.dir) : null;
      const ids = trials ? runIds(trials, url, rootReal()) : null;
      return trials && ids ? curves(req, res, url, ids, trials) : notFound(res);
    }
    const ids = runIds(store, url);
    if (path === "/api/metrics") return ids ? metricsPage(req, res, url, ids) : notFound(res);
    if (path === "/api/curves") return ids ? curves(req, res, url, ids) : notFound(res);
    if (path === "/api/completions") {
      const run = lookup(store, encodeURIComponent(url.searchParams.get("run") ?? ""));
      if (!run) return notFound(res);
      const limit = completionsLimit(url.searchParams.get("limit"));
      if (limit === null) return sendJson(res, 400, { error: `limit must be an integer from 1 to ${MAX_COMPLETIONS}. Fix: pass e.g. limit=50` });
      return sendJson(res, 200, { run: run.id, completions: latestCompletions(run.dir, limit) });
    }
    // The latest recorded episode of one run (RUN/videos/latest.gif, written by `refinery record`).
    if (path === "/api/video" || path === "/api/video/info") {
      const ids = url.searchParams.getAll("run");
      const run = ids.length === 1 ? lookup(store, encodeURIComponent(ids[0])) : null;
      if (path === "/api/video") return sendLatestVideo(res, run ? run.dir : null, SECURITY_HEADERS, req.method === "HEAD");
      return run ? sendJson(res, 200, latestVideoInfo(run.dir)) : notFound(res);
    }
    if (path === "/api/stream") {
      if (!ids) return notFound(res);
      const since = Number(url.searchParams.get("since") ?? "0");
      return eventStream(req, res, ids, Number.isFinite(since) ? since : 0);
    }
    return notFound(res);
  }

  /** The runs root's real path: trial directories must resolve inside it. */
  const rootReal = () => realpathSync(store.root);

  /** The sweep directory named by a URL segment, only if it is one found under the root. */
  function sweepDir(segment: string): { name: string; dir: string } | null {
    const name = pathSegment(segment);
    const dir = name === null ? undefined : findSweepDirs(store.root).get(name);
    return name !== null && dir ? { name, dir } : null;
  }

  function sweepListing() {
    const real = rootReal();
    return [...findSweepDirs(store.root)].map(([name, dir]) => {
      const { trials: _trials, keys: _keys, ...head } = readSweep(name, dir, sweepStores.get(dir), real);
      return head;
    });
  }

  /** The last few downsampled curves computed, by what they were computed from (a few MB at most). */
  const curveCache = new Map<string, CurveKind>();
  const remember = (key: string, value: CurveKind) => {
    curveCache.delete(key);
    curveCache.set(key, value);
    while (curveCache.size > 16) curveCache.delete(curveCache.keys().next().value as string);
  };

  /** Yields to the event loop between steps of a long request; false once the client has gone. */
  async function nextChunk(what: "curves" | "metrics" | "stream", res: ServerResponse): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    await onChunk(what);
    return !res.destroyed;
  }

  /**
   * Raw rows, a page at a time: the given runs' rows (of one kind, with `kind`) with
   * `after` < seq <= cursor, in seq order, at most `limit`. `next` is the `after` of the
   * next page, null on the last one; paging from after=0 to next=null returns every row
   * of the runs up to the first page's cursor exactly once.
   */
  async function metricsPage(req: IncomingMessage, res: ServerResponse, url: URL, ids: string[]): Promise<void> {
    const limit = intParam(url, "limit", DEFAULT_PAGE_ROWS, 1, MAX_PAGE_ROWS);
    const after = intParam(url, "after", 0, 0, Number.MAX_SAFE_INTEGER);
    const kind = url.searchParams.get("kind") ?? undefined;
    if (limit === null || after === null) return sendText(res, 400, "limit and after must be non-negative integers (limit 1 to 50000)\n");
    const cursor = intParam(url, "cursor", store.cursor(), 0, Number.MAX_SAFE_INTEGER) as number;
    const rows: MetricRecord[] = [];
    let pos = after;
    while (rows.length < limit && pos < cursor) {
      const want = Math.min(limit - rows.length, chunkRows);
      const until = Math.min(cursor, pos + SCAN_WINDOW);
      const got = store.metricsSince(ids, pos, want, { until, kind });
      rows.push(...got);
      pos = got.length === want ? got[got.length - 1].seq : until;
      if (rows.length < limit && pos < cursor && !(await nextChunk("metrics", res))) return;
    }
    sendJson(res, 200, { cursor, rows, next: pos < cursor ? pos : null });
  }

  /**
   * The curves of the given runs, downsampled to at most `points` points per series (M4
   * buckets over steps; see downsample.ts), read page by page; a kind with no more rows than
   * `points` is sent whole. With `preview=1`, a quick
   * stand-in instead: every k-th row, found by index lookups, so a long run draws at once
   * while its exact curves are computed. `exact` says whether no row was left out.
   */
  async function curves(req: IncomingMessage, res: ServerResponse, url: URL, ids: string[], store: RunStore = mainStore): Promise<void> {
    const points = intParam(url, "points", DEFAULT_CURVE_POINTS, 8, MAX_CURVE_POINTS);
    if (points === null) return sendText(res, 400, `points must be an integer from 8 to ${MAX_CURVE_POINTS}\n`);
    const only = url.searchParams.getAll("metric");
    const keys = only.length ? new Set(only) : undefined;
    const preview = url.searchParams.get("preview") === "1";
    const cursor = store.cursor();
    const out: CurveRun[] = [];
    for (const id of ids) {
      const kinds: Record<string, CurveKind> = {};
      for (const kind of store.metricKinds(id)) {
        const range = store.metricsRange(id, kind);
        if (!range) continue;
        const span = range.maxIteration - range.minIteration + 1;
        if (span <= points) {
          // Few enough rows to send them all: every point, one bounded read.
          const rows = store.metricsPage(id, kind, range.minIteration - 1, points, range.maxIteration);
          kinds[kind] = { exact: true, rows: rows.length, series: rawSeries(rows, keys) };
          continue;
        }
        if (preview) {
          // At most points - 1 rows on an even grid of iterations, plus the last row, in chunks.
          const stride = span / (points - 1);
          const targets = Array.from({ length: points - 1 }, (_, i) => Math.floor(range.minIteration + i * stride));
          targets.push(range.maxIteration);
          const rows: { iteration: number; step: number; row: Record<string, unknown> }[] = [];
          // A seek can be a disk read on a cold cache: few per step keep other requests quick.
          const perChunk = Math.max(16, Math.floor(chunkRows / 32));
          for (let i = 0; i < targets.length; i += perChunk) {
            const from = Math.max(targets[i], (rows.at(-1)?.iteration ?? -Infinity) + 1);
            rows.push(...store.metricsAtOrAfter(id, kind, [from, ...targets.slice(i + 1, i + perChunk)]));
            if (i + perChunk < targets.length && !(await nextChunk("curves", res))) return;
          }
          kinds[kind] = { exact: false, rows: rows.length, series: rawSeries(rows, keys) };
          continue;
        }
        // A run that has not changed since its curves were computed (a finished run, mostly)
        // gets them again without reading its rows: reloading the page is instant.
        const key = JSON.stringify([store.root, store.generation, id, kind, points, only, range, store.getRun(id)?.updatedAt ?? null]);
        const cached = curveCache.get(key);
        if (cached) {
          kinds[kind] = cached;
          continue;
        }
        const down = new CurveDownsampler(bucketGrid(range.minStep, range.maxStep, Math.floor(points / 4)), keys);
        let after = range.minIteration - 1;
        for (;;) {
          const page = store.metricsPage(id, kind, after, chunkRows, range.maxIteration);
          for (const m of page) down.add(m.step, m.row);
          if (page.length < chunkRows) break;
          after = page[page.length - 1].iteration;
          if (!(await nextChunk("curves", res))) return;
        }
        kinds[kind] = { exact: true, rows: down.rows, buckets: down.grid, series: down.result() };
        remember(key, kinds[kind]);
      }
      out.push({ id, kinds });
    }
    sendJson(res, 200, { cursor, points, runs: out });
  }

  function eventStream(req: IncomingMessage, res: ServerResponse, ids: string[], since: number): void {
    res.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    streams.add(res);
    res.write("retry: 2000\n\n");
    let cursor = since;
    let signature = "";
    let generation = store.generation;
    let busy = false;
    let closed = false;
    /** Writes one event; resolves when the socket can take more (bounded memory for a slow reader). */
    const event = (name: string, data: unknown): Promise<void> | void => {
      if (res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)) return;
      return new Promise((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    };
    /** Sends the run list when it changed, then the new rows in chunks of at most `chunkRows`, yielding between chunks. */
    const tick = async () => {
      if (busy || closed) return;
      busy = true;
      try {
        followStore();
        if (store.generation !== generation) {
          // runs.db was replaced: its cursors start over, so the page reloads its curves.
          generation = store.generation;
          cursor = store.cursor();
          await event("reset", { cursor });
        }
        const runs = store.listRuns();
        const sig = JSON.stringify(runs.map((r) => [r.id, r.status, r.step, r.updatedAt, r.pid]));
        if (sig !== signature) {
          signature = sig;
          await event("runs", { runs: runs.map((r) => ({ ...withoutHost(r), metrics: store.summary(r.id) })) });
        }
        const upTo = store.cursor();
        while (!closed && cursor < upTo) {
          const until = Math.min(upTo, cursor + SCAN_WINDOW);
          const rows = store.metricsSince(ids, cursor, chunkRows, { until });
          cursor = rows.length === chunkRows ? rows[rows.length - 1].seq : until;
          if (rows.length) await event("metrics", { cursor, rows });
          if (cursor < upTo && !(await nextChunk("stream", res))) break;
        }
      } catch {
        // The store was busy or a run vanished mid-read: try again on the next tick.
      } finally {
        busy = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), pollMs);
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    const stop = () => {
      closed = true;
      clearInterval(timer);
      clearInterval(ping);
      streams.delete(res);
    };
    req.on("close", stop);
    res.on("close", stop);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      store.close();
      clearInterval(syncTimer);
      reject(listenError(err, host, opts.port ?? DEFAULT_PORT));
    });
    server.listen(opts.port ?? DEFAULT_PORT, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  loopback = isLoopbackAddress(address.address);
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    host: address.address,
    port: address.port,
    url: `http://${shownHost}:${address.port}/`,
    root: store.root,
    loopback,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(syncTimer);
        sweepStores.close();
        for (const res of streams) res.end();
        server.closeAllConnections();
        server.close(() => {
          store.close();
          resolve();
        });
      }),
  };
}

interface CurveKind {
  /** False for a preview that left rows out. */
  exact: boolean;
  /** Rows read. */
  rows: number;
  /** The M4 buckets, when the curves were downsampled. */
  buckets?: BucketGrid;
  series: Record<string, Series>;
}

interface CurveRun {
  id: string;
  kinds: Record<string, CurveKind>;
}

/** A missing runs root is an error unless asked to create it (a mistyped --runs-root must not become a new empty root). */
function checkRunsRoot(root: string, create: boolean): void {
  const abs = resolvePath(root);
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    if (create) return;
    throw new RefineryError("no_runs_root", `the runs root ${abs} does not exist`, "check the path given to --runs-root or REFINERY_RUNS (it is the directory holding your run directories and runs.db), or train a run into it first");
  }
  if (!isDir) throw new RefineryError("runs_root_not_dir", `the runs root ${abs} is a file, not a directory`, "pass --runs-root the directory holding your run directories");
}

/** A failed listen as a one-line error naming the address. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  switch (err.code) {
    case "EADDRINUSE":
      return new RefineryError("port_in_use", `port ${port} on ${host} is already in use`, "pass another --port, or --port 0 for any free port");
    case "EACCES":
      return new RefineryError("permission_denied", `binding port ${port} on ${host} is not permitted`, "pass a port above 1023, or --port 0 for any free port");
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EINVAL":
      return new RefineryError(
        "address_unavailable",
        `cannot listen on --host ${host}: ${err.code === "EADDRNOTAVAIL" ? "no network interface of this machine has that address" : err.code === "EINVAL" ? "that is not a usable address" : "the name does not resolve"}`,
        "pass --host 127.0.0.1 (this machine only), or an address this machine owns (0.0.0.0: every interface)",
      );
    default:
      return err;
  }
}

/** An integer query parameter within [min, max], `fallback` when absent, null when malformed. */
function intParam(url: URL, name: string, fallback: number, min: number, max: number): number | null {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  return n < min ? null : Math.min(n, max);
}

function listing(store: RunStore) {
  return store.listRuns().map((r) => ({ ...withoutHost(r), metrics: store.summary(r.id) }));
}

function withoutHost(r: RunRecord): Omit<RunRecord, "host"> {
  const { host: _host, ...rest } = r;
  return rest;
}

/** A directory name from a URL path segment: null when it does not decode or could be a path ("", ".", "..", "/" or NUL in it). */
function pathSegment(segment: string): string | null {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return null;
  }
  // A run directory's name may hold any character but "/" and NUL (a backslash, %, #, spaces, unicode).
  return !id || id === "." || id === ".." || /[/\0]/.test(id) ? null : id;
}

/** A run from a URL path segment, only if the store knows it. Ids are only ever looked up in the store, never used as paths. */
function lookup(store: RunStore, segment: string): RunRecord | null {
  const id = pathSegment(segment);
  return id === null ? null : store.getRun(id);
}

/** The `run` query parameters, if every one names a known run (and, given the root's real path, one whose directory resolves inside it). */
function runIds(store: RunStore, url: URL, rootReal?: string): string[] | null {
  const ids = url.searchParams.getAll("run");
  for (const id of ids) {
    const run = lookup(store, encodeURIComponent(id));
    if (!run || (rootReal !== undefined && !insideRoot(rootReal, run.dir))) return null;
  }
  return [...new Set(ids)];
}

/**
 * Whether a bound address is a loopback one: all of 127.0.0.0/8 (also IPv4-mapped) and ::1.
 * Only this machine can connect to it.
 */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, "");
  if (a === "localhost") return true;
  if (isIPv4(a)) return LOOPBACK.check(a, "ipv4");
  return isIPv6(a) && LOOPBACK.check(a, "ipv6");
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/**
 * Guards against DNS rebinding: a server bound to loopback answers only requests addressed
 * to a loopback name or address (localhost, 127.x.x.x, [::1]), so a web page on another
 * origin whose name resolves to this machine cannot read run data through it.
 */
export function loopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const h = header.trim().toLowerCase();
  const name = h.startsWith("[") ? h.slice(1, h.indexOf("]")) : h.replace(/:\d*$/, "");
  if (h.startsWith("[") && !/^\[[^\]]*\](:\d*)?$/.test(h)) return false;
  return isLoopbackAddress(name);
}

function send(res: ServerResponse, status: number, type: string, body: string, headOnly: boolean, cache = "no-store"): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": cache });
  res.end(headOnly ? undefined : body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, "text/plain; charset=utf-8", text, false);
}

function sendJson(res: ServerResponse, status: number, data: unknown): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(data), res.req?.method === "HEAD");
}

function notFound(res: ServerResponse): void {
  sendText(res, 404, "not found\n");
}

/** The fixed set of files the page needs, read once. */
async function loadAssets(): Promise<Map<string, Asset>> {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const app = await appScript();
  return new Map<string, Asset>([
    ["app.js", { type: "text/javascript; charset=utf-8", body: () => app }],
    ["app.css", { type: "text/css; charset=utf-8", body: () => APP_CSS }],
    ["uPlot.iife.min.js", { type: "text/javascript; charset=utf-8", body: () => uplotJs }],
    ["uPlot.min.css", { type: "text/css; charset=utf-8", body: () => uplotCss }],
  ]);
}

/**
 * The page script. The build compiles client/app.ts next to this file; when running from
 * the TypeScript sources (development, tests) it is transpiled here instead.
 */
async function appScript(): Promise<string> {
  const compiled = fileURLToPath(new URL("./client/app.js", import.meta.url));
  if (existsSync(compiled)) return stripSourceMap(readFileSync(compiled, "utf8"));
  const source = fileURLToPath(new URL("./client/app.ts", import.meta.url));
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(readFileSync(source, "utf8"), { compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext } });
  return stripSourceMap(out.outputText);
}

function stripSourceMap(js: string): string {
  return js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
}
