// Rewrites the "## Options" section (to the end of the file) of docs/algorithms.md from the config schemas.
import { readFileSync, writeFileSync } from "node:fs";
import { optionsMarkdown } from "../src/cli/list.js";

const path = new URL("../docs/algorithms.md", import.meta.url);
const doc = readFileSync(path, "utf8");
const at = doc.indexOf("## Options\n");
if (at < 0) throw new Error("docs/algorithms.md has no '## Options' section");
writeFileSync(path, doc.slice(0, at) + optionsMarkdown());
console.log("docs/algorithms.md: options section regenerated");
