import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Writes a file atomically: the bytes go to a temporary file in the same directory, which
 * is flushed and then renamed over the target. A crash leaves either the old file or the
 * new one, never a half-written one.
 */
export function atomicWriteFile(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  const fd = openSync(tmp, "w");
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Writes a directory atomically: `fill(tmpDir)` writes its files into a temporary sibling
 * directory, which is then renamed to `path` (replacing an existing one). Readers see the
 * whole directory or none of it.
 */
export async function atomicWriteDir(path: string, fill: (dir: string) => void | Promise<void>): Promise<void> {
  const parent = dirname(path);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  mkdirSync(tmp);
  try {
    await fill(tmp);
    if (existsSync(path)) {
      const old = join(parent, `.${basename(path)}.old-${process.pid}-${Date.now()}`);
      renameSync(path, old);
      renameSync(tmp, path);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, path);
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Tidies a directory after an interrupted atomic write by a process that is gone: a
 * `.name.old-PID-*` whose `name` is missing (killed between the two renames of
 * atomicWriteDir) is put back; other `.name.tmp-PID-*` / `.name.old-PID-*` leftovers are
 * removed. Only leftovers of dead processes (or of this one) are touched: a live process's
 * temporary files are its work in progress. Only a run's owner calls this.
 */
export function cleanStaleTempFiles(dir: string, isGone: (pid: number) => boolean): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const m = /^\.(.+)\.(tmp|old)-(\d+)-/.exec(entry);
    if (!m) continue;
    const pid = Number(m[3]);
    if (pid !== process.pid && !isGone(pid)) continue;
    if (m[2] === "old" && !existsSync(join(dir, m[1]))) renameSync(join(dir, entry), join(dir, m[1]));
    else rmSync(join(dir, entry), { recursive: true, force: true });
  }
}
