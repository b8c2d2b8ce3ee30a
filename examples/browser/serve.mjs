#!/usr/bin/env node
// Bundles the browser example (main.ts, importing "refinery-rl") with esbuild and serves it
// on 127.0.0.1, with tfjs's .wasm files under /wasm/ and, given --policy, a policy saved by
// `refinery train` under /policy/:
//
//   npm run example:browser -- [--port 8080] [--policy runs/ppo-CartPole-v1-s1-…]
//
// --port 0 picks a free port. The first line on stdout is the page's address.
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");

function parseArgs(argv) {
  const opts = { port: 8080, policy: null };
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (name === "--port" && /^\d+$/.test(value ?? "")) opts.port = Number(value);
    else if (name === "--policy" && value) opts.policy = value;
    else {
      console.error(`example:browser: unknown or incomplete option ${JSON.stringify(name)}. Fix: use --port N and --policy RUN_DIR.`);
      process.exit(2);
    }
    i++;
  }
  return opts;
}

/** A run directory's policy/ (or a policy directory itself). */
function policyFolder(dir) {
  for (const candidate of [join(dir, "policy"), dir]) if (existsSync(join(candidate, "model.json"))) return candidate;
  console.error(`example:browser: no saved policy in ${dir}. Fix: pass the run directory of a finished \`refinery train\` run.`);
  process.exit(2);
}

/** "refinery-rl" is this repository: its sources, bundled as a user's bundler would bundle dist/. */
const thisPackage = {
  name: "refinery-rl",
  setup(b) {
    b.onResolve({ filter: /^refinery-rl$/ }, () => ({ path: join(repo, "src/index.ts") }));
  },
};

const opts = parseArgs(process.argv.slice(2));
const policyDir = opts.policy ? policyFolder(opts.policy) : null;
const bundle = await build({
  entryPoints: [join(here, "main.ts")],
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  write: false,
  sourcemap: "inline",
  logLevel: "warning",
  plugins: [thisPackage],
});
const mainJs = bundle.outputFiles[0].contents;
const wasmDir = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"));

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".json": "application/json", ".wasm": "application/wasm", ".bin": "application/octet-stream" };

/** A file under `root`, or null (no escaping it with ..). */
function fileUnder(root, rel) {
  const file = resolve(root, "." + sep + rel);
  return file.startsWith(resolve(root) + sep) && existsSync(file) && statSync(file).isFile() ? file : null;
}

const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
  let body = null;
  let type = TYPES[extname(path)] ?? "application/octet-stream";
  if (path === "/" || path === "/index.html") {
    body = readFileSync(join(here, "index.html"));
    type = TYPES[".html"];
  } else if (path === "/main.js") {
    body = mainJs;
  } else if (path.startsWith("/wasm/")) {
    const file = fileUnder(wasmDir, path.slice("/wasm/".length));
    if (file && file.endsWith(".wasm")) body = readFileSync(file);
  } else if (path.startsWith("/policy/") && policyDir) {
    const file = fileUnder(policyDir, path.slice("/policy/".length));
    if (file) body = readFileSync(file);
  }
  if (body === null) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  res.writeHead(200, { "content-type": type, "cache-control": "no-store" }).end(body);
});

server.listen(opts.port, "127.0.0.1", () => {
  const { port } = server.address();
  console.log(`refinery browser example: http://127.0.0.1:${port}/`);
  console.log(policyDir ? `serving the policy in ${policyDir} at /policy/` : "no --policy given: the page can train, but has no saved policy to load");
});
const stop = () => server.close(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
