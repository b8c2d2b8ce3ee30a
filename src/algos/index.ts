import type { z } from "zod";
import { parseConfig } from "../core/config.js";
import { ConfigError, describeValue } from "../core/errors.js";
import { registry } from "../envs/registry.js";
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
      `use one of: ${Object.keys(ALGORITHMS).join(", ")}`,
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
}

/**
 * The full config of a run: defaults ← preset (for the env) ← config file ← overrides,
 * validated. Fails before anything is built, naming the offending key.
 */
export function resolveConfig(opts: ResolveOptions): Record<string, unknown> {
  const entry = getAlgorithm(opts.algo);
  const env = (opts.overrides?.env ?? opts.file?.env ?? opts.env ?? entry.defaults.env) as string;
  if (typeof env !== "string" || !registry.has(env)) {
    // make() gives the close-match message; reuse it by asking the registry the same way.
    throw new ConfigError(
      `unknown env id ${describeValue(env)}`,
      `use one of the registered ids (refinery list): ${[...registry.keys()].sort().join(", ")}`,
      "unknown_env",
    );
  }
  let presetValues: Record<string, unknown> = {};
  if (opts.preset) {
    const preset = entry.presets.find((p) => p.name === opts.preset);
    if (!preset) {
      throw new ConfigError(
        `unknown preset ${describeValue(opts.preset)} for ${entry.name}`,
        `use one of: ${entry.presets.map((p) => p.name).join(", ")}`,
        "unknown_preset",
      );
    }
    const values = preset.forEnv(env);
    if (!values) {
      throw new ConfigError(`preset "${preset.name}" has no values for ${env}`, `pick another preset or env (${preset.description})`, "unknown_preset");
    }
    presetValues = values as Record<string, unknown>;
  }
  const merged = { ...entry.defaults, ...presetValues, ...(opts.file ?? {}), ...(opts.overrides ?? {}), env };
  return parseConfig(entry.schema, merged, `${entry.name} config`) as Record<string, unknown>;
}
