import type { z } from "zod";
import { parseConfig } from "../core/config.js";
import { ConfigError, describeValue } from "../core/errors.js";
import { closeMatches, registry } from "../envs/registry.js";
import { PPO } from "./ppo.js";
import { PPO_DEFAULTS, PPO_PRESETS, ppoConfigSchema, type Preset } from "./ppo_config.js";
import type { Algorithm } from "./types.js";

/** A named algorithm: its config schema, defaults, presets and constructor. */
export interface AlgorithmEntry {
  name: string;
  description: string;
  schema: z.ZodObject;
  defaults: Record<string, unknown>;
  presets: Preset[];
  create(config: Record<string, unknown>): Promise<Algorithm>;
}

export const ALGORITHMS: Record<string, AlgorithmEntry> = {
  ppo: {
    name: "ppo",
    description: "Proximal Policy Optimization with GAE (CleanRL's ppo.py defaults)",
    schema: ppoConfigSchema,
    defaults: PPO_DEFAULTS as unknown as Record<string, unknown>,
    presets: PPO_PRESETS,
    create: (config) => PPO.create(parseConfig(ppoConfigSchema, config, "ppo config")),
  },
};

export function getAlgorithm(name: string): AlgorithmEntry {
  const entry = ALGORITHMS[name];
  if (!entry) {
    throw new ConfigError(
      `unknown algorithm ${describeValue(name)}`,
      `${didYouMean(String(name), Object.keys(ALGORITHMS))}use one of: ${Object.keys(ALGORITHMS).join(", ")}`,
      "unknown_algo",
    );
  }
  return entry;
}

export interface ResolveOptions {
  algo: string;
  env?: string;
  preset?: string;
  /** Parsed config file contents (merged over defaults and preset). */
  file?: Record<string, unknown>;
  /** `--set key=value` overrides, already applied to an object. */
  overrides?: Record<string, unknown>;
  /** Name of the config file, so errors can say which file holds a bad key. */
  fileName?: string;
  /** What to call the overrides in errors (default "the overrides"; the CLI says "the command line"). */
  overridesName?: string;
}

/**
 * The full config of a run: defaults ← preset (for the env) ← config file ← overrides,
 * validated. Fails before anything is built, naming the offending key.
 */
export function resolveConfig(opts: ResolveOptions): Record<string, unknown> {
  const entry = getAlgorithm(opts.algo);
  const overrides = opts.overrides ?? {};
  const file = opts.file ?? {};
  const fileName = opts.fileName ? `config file ${opts.fileName}` : "the config file";
  const overridesName = opts.overridesName ?? "the overrides";
  const env = (overrides.env ?? file.env ?? opts.env ?? entry.defaults.env) as string;
  if (typeof env !== "string" || !registry.has(env)) {
    const from = "env" in overrides ? overridesName : "env" in file ? fileName : undefined;
    const ids = [...registry.keys()].sort();
    throw new ConfigError(
      `unknown env id ${describeValue(env)}${from ? ` (from ${from})` : ""}`,
      `${didYouMean(String(env), ids)}use one of the registered ids (refinery list): ${ids.join(", ")}`,
      "unknown_env",
    );
  }
  let presetValues: Record<string, unknown> = {};
  if (opts.preset) {
    const preset = entry.presets.find((p) => p.name === opts.preset);
    if (!preset) {
      const names = entry.presets.map((p) => p.name);
      throw new ConfigError(
        `unknown preset ${describeValue(opts.preset)} for ${entry.name}`,
        `${didYouMean(opts.preset, names)}use one of: ${names.join(", ")} (\`refinery list\` describes them)`,
        "unknown_preset",
      );
    }
    const values = preset.forEnv(env);
    if (!values) {
      throw new ConfigError(`preset "${preset.name}" has no values for ${env}`, `pick another preset or env (${preset.description})`, "unknown_preset");
    }
    presetValues = values as Record<string, unknown>;
  }
  const merged = { ...entry.defaults, ...presetValues, ...file, ...overrides, env };
  // Name the layer a bad value came from, so the user knows which file or flag to edit.
  const originOf = (key: string): string | undefined =>
    key in overrides ? overridesName : key in file ? fileName : key in presetValues ? `preset "${opts.preset}"` : undefined;
  return parseConfig(entry.schema, merged, `${entry.name} config`, { defaults: entry.defaults, originOf }) as Record<string, unknown>;
}

function didYouMean(given: string, candidates: string[]): string {
  const close = closeMatches(given, candidates);
  return close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? Otherwise ` : "";
}
