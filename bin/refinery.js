#!/usr/bin/env node
// Entry point of the `refinery` command. The TypeScript sources are compiled to dist/
// by `npm run build` (run automatically by `npm ci` / `npm install` through `prepare`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error("refinery: dist/ is missing. Fix: run `npm run build` (or `npm ci`) in the package directory first.");
  process.exit(1);
}
const cli = await import(main.href);
await cli.main(process.argv.slice(2));
