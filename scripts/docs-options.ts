// Rewrites the "## Options" section (to the end of the file) of docs/algorithms.md from the config schemas.
import { readFileSync, writeFileSync } from "node:fs";
import { agentOptionsMarkdown, optionsMarkdown } from "../src/cli/list.js";

const path = new URL("../docs/algorithms.md", import.meta.url);
const doc = readFileSync(path, "utf8");
const at = doc.indexOf("## Options\n");
if (at < 0) throw new Error("docs/algorithms.md has no '## Options' section");
writeFileSync(path, doc.slice(0, at) + optionsMarkdown());
console.log("docs/algorithms.md: options section regenerated");

// The same for the multi-turn algorithms in docs/agents.md.
const agentsPath = new URL("../docs/agents.md", import.meta.url);
const agents = readFileSync(agentsPath, "utf8");
const agentsAt = agents.indexOf("## Options\n");
if (agentsAt < 0) throw new Error("docs/agents.md has no '## Options' section");
writeFileSync(agentsPath, agents.slice(0, agentsAt) + agentOptionsMarkdown());
console.log("docs/agents.md: options section regenerated");
