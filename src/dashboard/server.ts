import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { RefineryError } from "../core/errors.js";
import { RunStore, type RunRecord } from "../store/store.js";
import { completionsLimit, latestCompletions, MAX_COMPLETIONS } from "./completions.js";
import { APP_CSS, INDEX_HTML } from "./page.js";
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
}

export interface Dashboard {
  server: Server;
  url: string;
  host: string;
  port: number;
  root: string;
  close(): Promise<void>;
}

interface Asset {
  type: string;
  body: () => string;
}

export const DEFAULT_PORT = 6060;

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

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
  const store = RunStore.open(opts.runsRoot);
  store.sync();
  const assets = await loadAssets();
  const streams = new Set<ServerResponse>();
  // New run directories (and runs whose process died) are noticed by a periodic sync.
  const syncTimer = setInterval(() => {
    try {
      store.sync();
    } catch {
      // A transient failure (e.g. a run directory being removed): the next sync retries.
    }
  }, 5000);
  syncTimer.unref();

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    }
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return sendText(res, 405, "method not allowed: the dashboard is read-only\n");
    }
    if (!hostAllowed(req.headers.host, host)) return sendText(res, 403, "forbidden host\n");
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const path = url.pathname;
    if (path === "/" || path === "/index.html") return send(res, 200, "text/html; charset=utf-8", INDEX_HTML, req.method === "HEAD");
    if (path.startsWith("/assets/")) {
      const asset = assets.get(path.slice("/assets/".length));
      if (asset) return send(res, 200, asset.type, asset.body(), req.method === "HEAD", "public, max-age=60");
      return notFound(res);
    }
    if (path === "/api/runs") return sendJson(res, 200, { root: store.root, runs: listing(store) });
    if (path.startsWith("/api/runs/")) {
      const run = lookup(store, path.slice("/api/runs/".length));
      if (!run) return notFound(res);
      return sendJson(res, 200, { run: { ...withoutHost(run), metrics: store.summary(run.id) } });
    }
    if (path === "/api/metrics") {
      const ids = runIds(store, url);
      if (!ids) return notFound(res);
      const cursor = store.cursor();
      const rows = ids.flatMap((id) => store.metrics(id));
      return sendJson(res, 200, { cursor, rows: rows.filter((r) => r.seq <= cursor) });
    }
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
      const ids = runIds(store, url);
      if (!ids) return notFound(res);
      const since = Number(url.searchParams.get("since") ?? "0");
      return eventStream(req, res, ids, Number.isFinite(since) ? since : 0);
    }
    return notFound(res);
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
    const event = (name: string, data: unknown) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const tick = () => {
      try {
        const runs = store.listRuns();
        const sig = JSON.stringify(runs.map((r) => [r.id, r.status, r.step, r.updatedAt, r.pid]));
        if (sig !== signature) {
          signature = sig;
          event("runs", { runs: runs.map((r) => ({ ...withoutHost(r), metrics: store.summary(r.id) })) });
        }
        for (;;) {
          const rows = store.metricsSince(ids, cursor, 2000);
          if (!rows.length) break;
          cursor = rows[rows.length - 1].seq;
          event("metrics", { cursor, rows });
          if (rows.length < 2000) break;
        }
      } catch {
        // The store was busy or a run vanished mid-read: try again on the next tick.
      }
    };
    tick();
    const timer = setInterval(tick, pollMs);
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    const stop = () => {
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
      if (err.code === "EADDRINUSE") reject(new RefineryError("port_in_use", `port ${opts.port ?? DEFAULT_PORT} on ${host} is already in use`, "pass another --port, or --port 0 for any free port"));
      else reject(err);
    });
    server.listen(opts.port ?? DEFAULT_PORT, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    host: address.address,
    port: address.port,
    url: `http://${shownHost}:${address.port}/`,
    root: store.root,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(syncTimer);
        for (const res of streams) res.end();
        server.closeAllConnections();
        server.close(() => {
          store.close();
          resolve();
        });
      }),
  };
}

function listing(store: RunStore) {
  return store.listRuns().map((r) => ({ ...withoutHost(r), metrics: store.summary(r.id) }));
}

function withoutHost(r: RunRecord): Omit<RunRecord, "host"> {
  const { host: _host, ...rest } = r;
  return rest;
}

/** A run from a URL path segment, only if the store knows it. */
function lookup(store: RunStore, segment: string): RunRecord | null {
  let id: string;
  try {
    id = decodeURIComponent(segment);
  } catch {
    return null;
  }
  if (!id || id === "." || id === ".." || /[/\\\0]/.test(id)) return null;
  return store.getRun(id);
}

/** The `run` query parameters, if every one names a known run. */
function runIds(store: RunStore, url: URL): string[] | null {
  const ids = url.searchParams.getAll("run");
  for (const id of ids) if (!lookup(store, encodeURIComponent(id))) return null;
  return [...new Set(ids)];
}

/**
 * Guards against DNS rebinding: a server bound to loopback answers only requests addressed
 * to a loopback name, so a web page on another origin cannot read run data through it.
 */
function hostAllowed(header: string | undefined, bound: string): boolean {
  if (!LOOPBACK_NAMES.has(bound)) return true;
  if (!header) return false;
  const name = header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.split(":")[0];
  return LOOPBACK_NAMES.has(name.toLowerCase());
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
