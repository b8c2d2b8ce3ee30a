import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { build, type Metafile, type Plugin } from "esbuild";
import { describe, expect, it } from "vitest";

/**
 * The package's two entry points: `refinery-rl` (src/index.ts) must bundle for the
 * browser and import no Node built-in anywhere in its module graph; `refinery-rl/node`
 * (src/node.ts) holds the rest.
 */

const src = (file: string) => fileURLToPath(new URL(`../../src/${file}`, import.meta.url));
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Resolves the package's own name to its sources, as a user's bundler resolves it to dist/. */
const refineryPackage: Plugin = {
  name: "refinery-rl",
  setup(b) {
    b.onResolve({ filter: /^refinery-rl(\/node)?$/ }, (args) => ({ path: src(args.path === "refinery-rl" ? "index.ts" : "node.ts") }));
  },
};

const USER_CODE = `
import { make, PPO, createAlgorithm, runIterations, resolveConfig, loadPolicy, initBackend, evaluatePolicy, makeTextEnv } from "refinery-rl";
console.log(make, PPO, createAlgorithm, runIterations, resolveConfig, loadPolicy, initBackend, evaluatePolicy, makeTextEnv);
`;

async function bundleForBrowser(contents: string) {
  return build({
    stdin: { contents, resolveDir: fileURLToPath(new URL(".", import.meta.url)), loader: "ts" },
    bundle: true,
    platform: "browser",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [refineryPackage],
  });
}

/** Every import of every module in the graph that names a Node built-in. */
function builtinImports(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) if (NODE_BUILTINS.has(imp.path) || imp.path.startsWith("node:")) found.push(`${file} → ${imp.path}`);
  }
  return found;
}

describe("package entry points", () => {
  it("esbuild --bundle --platform=browser of code importing the core succeeds, with no Node built-in in the output", async () => {
    const result = await bundleForBrowser(USER_CODE);
    expect(result.errors).toEqual([]);
    expect(builtinImports(result.metafile)).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/(from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/);
    // Node-only modules stayed out of the bundle.
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => /src\/(store|cli|dashboard|plot)\/|src\/train\/(run|trainer|fsutil)\.ts|src\/nn\/io\.ts|better-sqlite3|resvg/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.endsWith("src/algos/ppo.ts"))).toBe(true);
    // The MuJoCo envs are in the core, but not the 11 MB WebAssembly module: a page loads it on demand.
    expect(inputs.some((f) => f.endsWith("src/envs/mujoco/base.ts"))).toBe(true);
    expect(inputs.filter((f) => /mujoco-js|mujoco_wasm|@mujoco/.test(f))).toEqual([]);
  });

  it("the same bundle of refinery-rl/node fails on its Node built-ins (so the check above can fail)", async () => {
    const failure = await bundleForBrowser(`import { train } from "refinery-rl/node"; console.log(train);`).catch((err: { errors: { text: string }[] }) => err);
    expect("errors" in failure && failure.errors.some((e) => /node:fs|node:path/.test(e.text))).toBe(true);
  });

  it("the core's module graph imports no node: module (bundled for Node, packages left external)", async () => {
    const result = await build({
      entryPoints: [src("index.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const ownModules = Object.keys(result.metafile.inputs).filter((f) => f.startsWith("src/"));
    expect(ownModules.length).toBeGreaterThan(50);
    // vendor/*.js are what package.json "imports" maps #tfjs-* to under the "node" condition
    // only (fast loading of tfjs's CommonJS builds); a browser gets the tfjs packages themselves,
    // which the browser bundle test above checks.
    expect(builtinImports(result.metafile).filter((edge) => !edge.startsWith("vendor/"))).toEqual([]);
    expect(builtinImports(result.metafile).every((edge) => /^vendor\/tfjs-[a-z-]+\.js → node:module$/.test(edge))).toBe(true);
    // The Node entry point re-exports the core and adds the Node parts, which do use built-ins.
    const node = await build({ entryPoints: [src("node.ts")], bundle: true, platform: "node", format: "esm", packages: "external", write: false, metafile: true, logLevel: "silent" });
    expect(builtinImports(node.metafile).length).toBeGreaterThan(0);
  });

  it("refinery-rl/node re-exports the core, so Node code can import everything from one place", async () => {
    const core = await import("../../src/index.js");
    const node = await import("../../src/node.js");
    for (const name of Object.keys(core)) expect(node, name).toHaveProperty(name);
    for (const name of ["train", "RunDir", "RunStore", "plotRuns", "startDashboard", "saveWeights"]) expect(node).toHaveProperty(name);
    expect(core).not.toHaveProperty("train");
  });
});
