import { accessSync, constants } from "node:fs";

/** Debian's Chromium, which .ci/run installs; the end-to-end tests drive it with playwright-core. */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless, and quiet on a machine without network (no background fetches that would be refused). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Fails (never skips) when the browser is missing: CI installs it, and so must a developer. */
export function requireChromium(): void {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: the end-to-end tests need Debian's chromium package. Install it with \`apt-get update && apt-get install -y --no-install-recommends chromium\` (.ci/run does).`);
  }
}
