import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { agentOptionsMarkdown, optionsMarkdown } from "../../src/cli/list.js";

describe("docs/algorithms.md", () => {
  it("lists every option, default and preset exactly as the config schemas have them (npm run docs:options)", () => {
    const doc = readFileSync(new URL("../../docs/algorithms.md", import.meta.url), "utf8");
    const at = doc.indexOf("## Options\n");
    expect(at).toBeGreaterThan(0);
    expect(doc.slice(at)).toBe(optionsMarkdown());
  });
});

describe("docs/agents.md", () => {
  it("lists every option of the multi-turn algorithms exactly as their schemas have them (npm run docs:options)", () => {
    const doc = readFileSync(new URL("../../docs/agents.md", import.meta.url), "utf8");
    const at = doc.indexOf("## Options\n");
    expect(at).toBeGreaterThan(0);
    expect(doc.slice(at)).toBe(agentOptionsMarkdown());
  });
});
