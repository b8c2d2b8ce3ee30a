import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";
import type { ServerResponse } from "node:http";
import { LATEST_VIDEO } from "../train/record.js";

/**
 * The latest recorded episode of a run (RUN/videos/latest.gif), or null when there is
 * none. Only that fixed file is ever read, and only if its real path (symlinks resolved)
 * lies inside the run directory — no part of the request reaches the file system.
 */
export function latestVideo(runDir: string): Uint8Array | null {
  const real = confinedVideoPath(runDir);
  try {
    return real === null ? null : readFileSync(real);
  } catch {
    return null;
  }
}

/** `{ available, bytes, modifiedAt }` of the run's latest recording, for the page to decide whether to show it. */
export function latestVideoInfo(runDir: string): { available: boolean; bytes: number | null; modifiedAt: string | null } {
  const real = confinedVideoPath(runDir);
  try {
    if (real !== null) {
      const st = statSync(real);
      if (st.isFile()) return { available: true, bytes: st.size, modifiedAt: st.mtime.toISOString() };
    }
  } catch {
    // Removed meanwhile: not available.
  }
  return { available: false, bytes: null, modifiedAt: null };
}

/** The real path of RUN/videos/latest.gif if it exists inside the run directory, else null. */
function confinedVideoPath(runDir: string): string | null {
  const file = join(runDir, LATEST_VIDEO);
  if (!existsSync(file)) return null;
  try {
    const root = realpathSync(runDir);
    const real = realpathSync(file);
    return real.startsWith(root + sep) ? real : null;
  } catch {
    return null;
  }
}

/** Sends the GIF (no-store: `refinery record` replaces it in place), or 404. */
export function sendLatestVideo(res: ServerResponse, runDir: string | null, headers: Record<string, string>, headOnly: boolean): void {
  const gif = runDir === null ? null : latestVideo(runDir);
  if (!gif) {
    res.writeHead(404, { ...headers, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
    res.end(headOnly ? undefined : "no recording: run `refinery record RUN` first\n");
    return;
  }
  res.writeHead(200, { ...headers, "Content-Type": "image/gif", "Content-Length": gif.length, "Cache-Control": "no-store" });
  res.end(headOnly ? undefined : gif);
}
