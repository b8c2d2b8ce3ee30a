import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/**
 * The entry of a worker thread whose module sits next to this file (src/scale/ or dist/scale/):
 * `<name>.js` in dist/; under tsx or vitest (this file is .ts) a small bootstrap that registers
 * tsx in the new thread first and then imports `<name>.ts` (Node 20 does not apply
 * `--import tsx` to a worker's .ts entry). Pass `eval` on to `new Worker`.
 */
export function workerEntry(name: string): { entry: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith(".ts")) return { entry: new URL(`./${name}.js`, import.meta.url), eval: false };
  // tsx's ESM API (require.resolve finds its CommonJS twin next to it).
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const worker = new URL(`./${name}.ts`, import.meta.url).href;
  return { entry: `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); });`, eval: true };
}
