import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

// These tests check the package as users get it: the built dist/ (`npm run build`, run by
// `npm ci`) and what `npm pack` would publish.
const root = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, "utf8")) as {
  exports: Record<string, Record<string, string> | string>;
  dependencies: Record<string, string>;
  files: string[];
};

function node(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(`${root}/dist/index.js`) || !existsSync(`${root}/vendor/tfjs-gradients.js`)) {
    throw new Error("dist/ is missing. Fix: run `npm run build` (npm ci does it) before these tests");
  }
});

describe("package entry points", () => {
  it("every file named in exports exists after the build", () => {
    for (const [entry, conditions] of Object.entries(pkg.exports)) {
      for (const [condition, file] of Object.entries(typeof conditions === "string" ? { default: conditions } : conditions)) {
        expect(existsSync(`${root}/${file}`), `${entry} ${condition} -> ${file}`).toBe(true);
      }
    }
  });

  it("require() loads the ES module on a Node that can (module-sync condition)", () => {
    const r = node(["-e", 'const r = require("refinery-rl"); console.log(typeof r.make, typeof r.initBackend)']);
    expect(r.stderr).not.toContain("Error");
    expect(r.stdout.trim()).toBe("function function");
  });

  it("the require condition of older Nodes throws one line that says how to load the package", () => {
    const r = node(["-e", `require(${JSON.stringify(`${root}/${(pkg.exports["."] as Record<string, string>).require}`)})`]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refinery-rl is an ES module");
    expect(r.stderr).toContain('Fix: load it with `const refinery = await import("refinery-rl")`');
  });

  it("importing the package loads no tensor backend, SQLite, resvg or HTTP server", () => {
    const script = `
      await import("refinery-rl");
      const { createRequire } = await import("node:module");
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      const heavy = ["tfjs-backend-cpu", "tfjs-backend-wasm", "libsql", "@resvg", "tfjs-gradients"].filter((name) => loaded.some((p) => p.includes(name)));
      if (process.moduleLoadList.includes("NativeModule http")) heavy.push("node:http");
      console.log(JSON.stringify(heavy));`;
    const r = node(["--input-type=module", "-e", script]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("the tfjs umbrella package and better-sqlite3 are not dependencies", () => {
    expect(Object.keys(pkg.dependencies)).not.toContain("@tensorflow/tfjs");
    expect(Object.keys(pkg.dependencies)).not.toContain("better-sqlite3");
  });
});

describe("npm pack", () => {
  it("ships dist/, the generated gradients and the CLI, and no source maps or sources", () => {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/require.cjs", "dist/cli/main.js", "vendor/tfjs-gradients.js", "bin/refinery.js", "README.md"]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("test/"))).toEqual([]);
  });
});
