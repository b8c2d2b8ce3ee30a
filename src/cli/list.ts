import { AGENT_ALGORITHMS, ALGORITHMS, TEXT_ALGORITHMS, type AlgorithmEntry } from "../algos/index.js";
import { listAgentTasks, listTools } from "../envs/text/agent/task.js";
import { listTasks } from "../envs/text/registry.js";
import { describeSchema, formatValue } from "../core/config.js";
import { listEnvs } from "../envs/registry.js";
import type { CliIo } from "./io.js";

export interface AlgorithmListing {
  name: string;
  description: string;
  options: { key: string; default: unknown; allowed: string; description: string }[];
  presets: { name: string; description: string }[];
}

/** Every registered algorithm with its options (from its config schema) and presets. */
export function listAlgorithms(table: Record<string, AlgorithmEntry> = ALGORITHMS): AlgorithmListing[] {
  return Object.values(table)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a) => ({
      name: a.name,
      description: a.description,
      options: describeSchema(a.schema, a.defaults),
      presets: a.presets.map((p) => ({ name: p.name, description: p.description })),
    }));
}

/** `refinery list`: the registered environments with their specs, and the algorithms with every option. */
export function listCommand(opts: { json: boolean }, io: CliIo): void {
  const envs = listEnvs();
  const algorithms = listAlgorithms();
  const tasks = listTasks();
  const textAlgorithms = listAlgorithms(TEXT_ALGORITHMS);
  const agentTasks = listAgentTasks();
  const tools = listTools();
  const agentAlgorithms = listAlgorithms(AGENT_ALGORITHMS);
  if (opts.json) {
    io.out(JSON.stringify({ envs, algorithms, tasks, textAlgorithms, agentTasks, tools, agentAlgorithms }, null, 2) + "\n");
    return;
  }
  const lines: string[] = ["Environments (refinery train --env ID):"];
  lines.push(
    ...table(
      envs.map((e) => [
        e.id,
        e.maxEpisodeSteps ? `max ${e.maxEpisodeSteps} steps` : "no time limit",
        e.rewardThreshold !== undefined ? `solved at ${e.rewardThreshold}` : "",
        e.description ?? "",
      ]),
      "  ",
      io.columns,
    ),
  );
  for (const a of algorithms) {
    lines.push("", `Algorithm ${a.name} (refinery train --algo ${a.name}): ${a.description}`);
    lines.push("  Options (--set KEY=VALUE, or keys of a --config file):");
    lines.push(...table([["KEY", "DEFAULT", "ALLOWED", "DESCRIPTION"], ...a.options.map((o) => [o.key, formatValue(o.default), o.allowed, o.description])], "    ", io.columns));
    lines.push("  Presets (--preset NAME):");
    lines.push(...table(a.presets.map((p) => [p.name, p.description]), "    ", io.columns));
  }
  lines.push("", "Text tasks (refinery sft --task NAME, refinery train --algo ALGO --task NAME; docs/text.md):");
  lines.push(...table(tasks.map((t) => [t.name, t.description]), "  ", io.columns));
  for (const a of textAlgorithms) {
    const how = a.name === "sft" ? "refinery sft --task NAME" : `refinery train --algo ${a.name} --task NAME`;
    lines.push("", `Text algorithm ${a.name} (${how}): ${a.description}`);
    lines.push("  Options (--set KEY=VALUE, or keys of a --config file):");
    lines.push(...table([["KEY", "DEFAULT", "ALLOWED", "DESCRIPTION"], ...a.options.map((o) => [o.key, formatValue(o.default), o.allowed, o.description])], "    ", io.columns));
    if (a.presets.length) {
      lines.push("  Presets (--preset NAME):");
      lines.push(...table(a.presets.map((p) => [p.name, p.description]), "    ", io.columns));
    }
  }
  lines.push("", "Multi-turn tasks (refinery sft --task NAME, refinery train --algo ALGO --task NAME; docs/agents.md):");
  lines.push(...table(agentTasks.map((t) => [t.name, t.description]), "  ", io.columns));
  lines.push("  Tools they call:");
  lines.push(...table(tools.map((t) => [t.name, t.description]), "    ", io.columns));
  for (const a of agentAlgorithms) {
    const how = a.name === "sft" ? "refinery sft --task NAME" : `refinery train --algo ${a.name} --task NAME`;
    lines.push("", `Multi-turn algorithm ${a.name} (${how}): ${a.description}`);
    lines.push("  Options (--set KEY=VALUE, or keys of a --config file):");
    lines.push(...table([["KEY", "DEFAULT", "ALLOWED", "DESCRIPTION"], ...a.options.map((o) => [o.key, formatValue(o.default), o.allowed, o.description])], "    ", io.columns));
  }
  io.out(lines.join("\n") + "\n");
}

/**
 * Left-aligned columns; the last column is wrapped to `width` when one is given (a
 * terminal), so long descriptions stay under their heading instead of folding to column 0.
 */
function table(rows: string[][], indent: string, width?: number): string[] {
  if (!rows.length) return [];
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: n - 1 }, (_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const lead = indent.length + widths.reduce((s, w) => s + w + 2, 0);
  const room = width && width - lead >= 30 ? width - lead : Infinity;
  const out: string[] = [];
  for (const r of rows) {
    const head = indent + widths.map((w, c) => (r[c] ?? "").padEnd(w) + "  ").join("");
    const [first, ...rest] = wrap(r[n - 1] ?? "", room);
    out.push((head + first).trimEnd());
    for (const more of rest) out.push(" ".repeat(lead) + more);
  }
  return out;
}

function wrap(text: string, width: number): string[] {
  if (text.length <= width) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * The "## Options" section of docs/algorithms.md: each algorithm's description, every option
 * with its default and meaning, and its presets, generated from the config schemas so the
 * docs cannot drift from the code (`npm run docs:options` rewrites it; a test compares).
 */
export function optionsMarkdown(names: string[] = ["grpo", "rloo", "reinforce", "mdpo", "epo", "dqn", "sac", "td3", "mdpo-off"], table: Record<string, AlgorithmEntry> = ALGORITHMS): string {
  const byName = new Map(listAlgorithms(table).map((a) => [a.name, a]));
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  const out: string[] = ["## Options", ""];
  for (const name of names) {
    const a = byName.get(name);
    if (!a) throw new Error(`optionsMarkdown: no algorithm ${name}`);
    out.push(`### ${a.name}`, "", a.description, "", "| key | default | meaning |", "|---|---|---|");
    for (const o of a.options) out.push(`| \`${o.key}\` | ${cell(JSON.stringify(o.default) ?? "—")} | ${cell(o.description)} |`);
    const presets = a.presets.map((p) => `\`${p.name}\` (${p.description})`).join("; ");
    out.push("", `Presets: ${presets || "none"}`, "");
  }
  return out.join("\n");
}

/** The "## Options" section of docs/agents.md: the multi-turn algorithms' options, from their schemas. */
export function agentOptionsMarkdown(): string {
  return optionsMarkdown(Object.keys(AGENT_ALGORITHMS), AGENT_ALGORITHMS);
}
