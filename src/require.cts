// What `require("refinery-rl")` loads on a Node that cannot require ES modules (before
// 20.19); newer Nodes load the real module through the "module-sync" export condition.
throw new Error(
  'refinery-rl is an ES module and this Node cannot load it with require(). Fix: load it with `const refinery = await import("refinery-rl")`, make your project an ES module ("type": "module" in package.json, or name the file .mjs) and write `import { make } from "refinery-rl"`, or upgrade to Node 20.19+, whose require() loads ES modules.',
);
