import { RefineryError } from "./errors.js";

/**
 * The few places where the isomorphic core touches its host. The core never imports a
 * `node:` module statically (the browser bundle test checks it): in Node it reaches the
 * built-ins through `process.getBuiltinModule` at call time, and everywhere else it reads
 * over `fetch`. So `loadPolicy("runs/cp")` reads files in Node and
 * `loadPolicy("https://host/cp/")` fetches them in a browser (or in Node).
 */

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}

function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  return typeof p?.versions?.node === "string" ? p : null;
}

/** True in Node (and runtimes that mimic it), false in browsers and workers. */
export function isNode(): boolean {
  return nodeProcess() !== null;
}

/**
 * A Node built-in module, or null outside Node (and on Node < 20.16, which lacks
 * `process.getBuiltinModule`; callers then treat the answer as unknown). Synchronous, so
 * no bundler sees a `node:` import.
 */
export function nodeBuiltin<T>(id: NodeBuiltinId): T | null {
  const p = nodeProcess();
  return p && typeof p.getBuiltinModule === "function" ? (p.getBuiltinModule(`node:${id}`) as T) : null;
}

/** The same, on every Node 20: falls back to a dynamic import whose specifier bundlers cannot see. */
export async function loadNodeBuiltin<T>(id: NodeBuiltinId): Promise<T | null> {
  if (!nodeProcess()) return null;
  const sync = nodeBuiltin<T>(id);
  if (sync) return sync;
  const specifier = `node:${id}`;
  return (await import(/* @vite-ignore */ specifier)) as T;
}

type NodeBuiltinId = "fs" | "path" | "module" | "os" | "worker_threads";

type NodeFs = typeof import("node:fs");

/** URLs (http:, https:, blob:, data:, file: in a browser) are fetched; anything else is a path in Node. */
export function isUrl(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) || /^(blob|data):/i.test(location);
}

/** Joins a relative part onto a directory location: a URL, or a path (with "/", which Node accepts everywhere). */
export function joinLocation(dir: string, part: string): string {
  if (isUrl(dir)) return new URL(part, dir.endsWith("/") ? dir : `${dir}/`).href;
  const cleaned = part.replace(/^\.\//, "");
  return dir === "" ? cleaned : `${dir.replace(/[\\/]+$/, "")}/${cleaned}`;
}

/** Thrown by readLocation when nothing is there (HTTP 404, ENOENT), so callers can try another place. */
export class LocationNotFound extends RefineryError {
  constructor(readonly location: string, reason: string) {
    super("location_not_found", `cannot read ${location} (${reason})`, "check the path or URL");
  }
}

/** Reads a file or URL as bytes. */
export async function readBytes(location: string): Promise<Uint8Array> {
  const fs = isUrl(location) ? null : await loadNodeBuiltin<NodeFs>("fs");
  if (fs) {
    try {
      return new Uint8Array(await fs.promises.readFile(location));
    } catch (err) {
      throw new LocationNotFound(location, (err as { code?: string }).code ?? String(err));
    }
  }
  let response: Response;
  try {
    response = await fetch(location);
  } catch (err) {
    throw new LocationNotFound(location, `fetch failed: ${(err as Error).message}`);
  }
  if (!response.ok) throw new LocationNotFound(location, `HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export async function readText(location: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(location));
}

/** Whether a file exists, for start-up checks; null when it cannot be told synchronously (URLs, browsers). */
export function fileExists(location: string): boolean | null {
  if (isUrl(location)) return null;
  const fs = nodeBuiltin<NodeFs>("fs");
  return fs ? fs.existsSync(location) : null;
}

/** SHA-256 as hex, through Web Crypto (Node ≥ 20 and every browser on https or localhost). */
export async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) return null;
  const digest = await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
