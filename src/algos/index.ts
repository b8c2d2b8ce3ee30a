import { ZodObject, type z } from "zod";
import { parseConfig } from "../core/config.js";
import { ConfigError, describeValue } from "../core/errors.js";
import { closeMatches, registry } from "../envs/registry.js";
import { inertKeys } from "./inert.js";
import { createDqn, DQN_DEFAULTS, DQN_PRESETS, dqnConfigSchema, validateDqn } from "./dqn.js";
import { createEpo, EPO_DEFAULTS, EPO_PRESETS, epoConfigSchema, validateEpo } from "./epo.js";
import { createGrpo, GRPO_DEFAULTS, GRPO_PRESETS, grpoConfigSchema, validateGrpo } from "./grpo.js";
import { createMdpoOff, MDPO_OFF_DEFAULTS, MDPO_OFF_PRESETS, mdpoOffConfigSchema, validateMdpoOff } from "./mdpo_off.js";
import { createMdpo, MDPO_DEFAULTS, MDPO_PRESETS, mdpoConfigSchema } from "./mdpo.js";
import { PolychromicPPO, POLYCHROMIC_DEFAULTS, polychromicConfigSchema, validatePolychromic } from "./polychromic.js";
import { PPO } from "./ppo.js";
import { PPO_DEFAULTS, PPO_PRESETS, ppoConfigSchema } from "./ppo_config.js";
import { createReinforce, REINFORCE_DEFAULTS, REINFORCE_PRESETS, reinforceConfigSchema, validateReinforce } from "./reinforce.js";
import { createRloo, RLOO_DEFAULTS, RLOO_PRESETS, rlooConfigSchema, validateRloo } from "./rloo.js";
import { createSac, SAC_DEFAULTS, SAC_PRESETS, sacConfigSchema, validateSac } from "./sac.js";
import { createTd3, TD3_DEFAULTS, TD3_PRESETS, td3ConfigSchema, validateTd3 } from "./td3.js";
import { TEXT_ALGORITHMS } from "./text.js";
import { AGENT_ALGORITHMS } from "./agent.js";
import { isAgentTask } from "../envs/text/agent/task.js";
import type { Algorithm, AlgorithmPreset } from "./types.js";

export { TEXT_ALGORITHMS, AGENT_ALGORITHMS };

/** A named algorithm: its config schema, defaults, presets and constructor. */
export interface AlgorithmEntry {
  name: string;
  description: string;
  schema: z.ZodObject;
  defaults: Record<string, unknown>;
  presets: AlgorithmPreset[];
  /** Checks beyond the schema that need more than the values (e.g. building the env); throws a ConfigError. */
  validate?(config: Record<string, unknown>): void;
  create(config: Record<string, unknown>): Promise<Algorithm>;
}

const parse = <S extends z.ZodObject>(schema: S, name: string, config: Record<string, unknown>): z.infer<S> => parseConfig(schema, config, `${name} config`);

export const ALGORITHMS: Record<string, AlgorithmEntry> = {
  ppo: {
    name: "ppo",
    description: "Proximal Policy Optimization with GAE (CleanRL's ppo.py defaults)",
    schema: ppoConfigSchema,
    defaults: PPO_DEFAULTS as unknown as Record<string, unknown>,
    presets: PPO_PRESETS,
    create: (config) => PPO.create(parseConfig(ppoConfigSchema, config, "ppo config")),
  },
  grpo: {
    name: "grpo",
    description: "Group Relative Policy Optimization: G episodes per start state, group-normalised returns, clipped ratio, optional KL to a reference (Dr. GRPO: --preset dr-grpo)",
    schema: grpoConfigSchema,
    defaults: GRPO_DEFAULTS,
    presets: GRPO_PRESETS,
    validate: (config) => validateGrpo(parse(grpoConfigSchema, "grpo", config)),
    create: (config) => createGrpo(parse(grpoConfigSchema, "grpo", config)),
  },
  rloo: {
    name: "rloo",
    description: "REINFORCE with the leave-one-out baseline over G episodes per start state; LOOP (clipped ratio, several epochs) when clip is on",
    schema: rlooConfigSchema,
    defaults: RLOO_DEFAULTS,
    presets: RLOO_PRESETS,
    validate: (config) => validateRloo(parse(rlooConfigSchema, "rloo", config)),
    create: (config) => createRloo(parse(rlooConfigSchema, "rloo", config)),
  },
  reinforce: {
    name: "reinforce",
    description: "REINFORCE: Monte-Carlo policy gradient on discounted returns-to-go, optionally with a learned value baseline",
    schema: reinforceConfigSchema,
    defaults: REINFORCE_DEFAULTS,
    presets: REINFORCE_PRESETS,
    validate: (config) => validateReinforce(parse(reinforceConfigSchema, "reinforce", config)),
    create: (config) => createReinforce(parse(reinforceConfigSchema, "reinforce", config)),
  },
  mdpo: {
    name: "mdpo",
    description: "Mirror Descent Policy Optimization (on-policy): GAE and a critic, several full-batch steps on ρ·Â − KL(π‖π_old)/t_k with an annealed t_k",
    schema: mdpoConfigSchema,
    defaults: MDPO_DEFAULTS,
    presets: MDPO_PRESETS,
    create: (config) => createMdpo(parse(mdpoConfigSchema, "mdpo", config)),
  },
  dqn: {
    name: "dqn",
    description: "Deep Q-Network (off-policy, Discrete actions): replay buffer, target network, ε-greedy; Double DQN, dueling head and n-step returns as options",
    schema: dqnConfigSchema,
    defaults: DQN_DEFAULTS,
    presets: DQN_PRESETS,
    validate: (config) => validateDqn(parse(dqnConfigSchema, "dqn", config)),
    create: (config) => createDqn(parse(dqnConfigSchema, "dqn", config)),
  },
  epo: {
    name: "epo",
    description: "Entropy-regularized Policy Optimization on GRPO: entropy bonus with smoothing against the per-turn historical entropy and a phase weight",
    schema: epoConfigSchema,
    defaults: EPO_DEFAULTS,
    presets: EPO_PRESETS,
    validate: (config) => validateEpo(parse(epoConfigSchema, "epo", config)),
    create: (config) => createEpo(parse(epoConfigSchema, "epo", config)),
  },
  sac: {
    name: "sac",
    description: "Soft Actor-Critic (off-policy, Box actions): tanh-squashed Gaussian actor, twin Q critics with targets, automatic entropy temperature",
    schema: sacConfigSchema,
    defaults: SAC_DEFAULTS,
    presets: SAC_PRESETS,
    validate: (config) => validateSac(parse(sacConfigSchema, "sac", config)),
    create: (config) => createSac(parse(sacConfigSchema, "sac", config)),
  },
  td3: {
    name: "td3",
    description: "Twin Delayed DDPG (off-policy, Box actions): deterministic actor with Gaussian exploration, clipped double-Q, target policy smoothing, delayed actor updates",
    schema: td3ConfigSchema,
    defaults: TD3_DEFAULTS,
    presets: TD3_PRESETS,
    validate: (config) => validateTd3(parse(td3ConfigSchema, "td3", config)),
    create: (config) => createTd3(parse(td3ConfigSchema, "td3", config)),
  },
  polychromic: {
    name: "polychromic",
    description: "Polychromic PPO: vine rollouts from env snapshots, a set objective mean(R)·diversity scored over n-subsets of each vine state's continuations, set advantages on the continuations, GAE elsewhere, PPO's clipped loss",
    schema: polychromicConfigSchema,
    defaults: POLYCHROMIC_DEFAULTS,
    presets: [],
    validate: (config) => validatePolychromic(parse(polychromicConfigSchema, "polychromic", config)),
    create: (config) => PolychromicPPO.create(parse(polychromicConfigSchema, "polychromic", config)),
  },
  "mdpo-off": {
    name: "mdpo-off",
    description: "Mirror Descent Policy Optimization, off-policy (SAC-like): KL to a periodically frozen actor, twin Q and a value network, Box actions",
    schema: mdpoOffConfigSchema,
    defaults: MDPO_OFF_DEFAULTS,
    presets: MDPO_OFF_PRESETS,
    validate: (config) => validateMdpoOff(parse(mdpoOffConfigSchema, "mdpo-off", config)),
    create: (config) => createMdpoOff(parse(mdpoOffConfigSchema, "mdpo-off", config)),
  },
};

/** Config keys that only make sense with group rollouts: named so ppo/mdpo can say why they reject them. */
const GROUP_ONLY_KEYS = ["selection", "d3s"];

/** A config for a text task (it names a `task`), rather than an env. */
export function isTextConfig(config: Record<string, unknown> | undefined): boolean {
  return config !== undefined && typeof config.task === "string";
}

/**
 * The algorithm of a name; with `text`, its text-task version (a run whose config names a
 * task): sft and igrpo exist only there, ppo and mdpo only on envs. With `task` a multi-turn
 * task (registerAgentTask), its multi-turn version.
 */
export function getAlgorithm(name: string, text = false, task?: unknown): AlgorithmEntry {
  if (text && isAgentTask(task)) {
    const entry = AGENT_ALGORITHMS[name];
    if (!entry) {
      throw new ConfigError(
        `unknown algorithm ${describeValue(name)} for the multi-turn task ${String(task)}`,
        `${didYouMean(String(name), Object.keys(AGENT_ALGORITHMS))}use one of: ${Object.keys(AGENT_ALGORITHMS).join(", ")}`,
        "unknown_algo",
      );
    }
    return entry;
  }
  const table = text ? TEXT_ALGORITHMS : ALGORITHMS;
  const entry = table[name];
  if (!entry) {
    const other = text ? ALGORITHMS[name] : TEXT_ALGORITHMS[name];
    const hint = other
      ? text
        ? `${name} runs on envs (--env), not on text tasks; on a text task use one of: ${Object.keys(TEXT_ALGORITHMS).join(", ")}`
        : `${name} runs on text tasks: give one with --task (e.g. --task addition)`
      : `${didYouMean(String(name), Object.keys(table))}use one of: ${Object.keys(table).join(", ")}${text ? "" : ` (on text tasks, with --task: ${Object.keys(TEXT_ALGORITHMS).join(", ")})`}`;
    throw new ConfigError(`unknown algorithm ${describeValue(name)}${text ? " for a text task" : ""}`, hint, "unknown_algo");
  }
  return entry;
}

export interface ResolveOptions {
  algo: string;
  env?: string;
  /** A text task instead of an env (also read from `task` in the file or overrides). */
  task?: string;
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
  const overrides = opts.overrides ?? {};
  const file = opts.file ?? {};
  const text = opts.task !== undefined || "task" in overrides || "task" in file;
  const fileName = opts.fileName ? `config file ${opts.fileName}` : "the config file";
  const overridesName = opts.overridesName ?? "the overrides";
  // Checked before the algorithm: with both, the conflict is the env and the task, whatever the algorithm.
  if (text && (opts.env !== undefined || "env" in overrides || "env" in file)) {
    const where = (key: string) => (key in overrides || (key === "task" && opts.task !== undefined) || (key === "env" && opts.env !== undefined) ? overridesName : fileName);
    throw new ConfigError(
      `a run takes an env or a text task, and this one names both: env ${describeValue(overrides.env ?? file.env ?? opts.env)} (from ${where("env")}) and task ${describeValue(overrides.task ?? file.task ?? opts.task)} (from ${where("task")})`,
      "drop --env (or env) for a text run, or --task (or task) for an env run",
      "env_and_task",
    );
  }
  const entry = getAlgorithm(opts.algo, text, overrides.task ?? file.task ?? opts.task);
  const env = (text ? (overrides.task ?? file.task ?? opts.task ?? entry.defaults.task) : (overrides.env ?? file.env ?? opts.env ?? entry.defaults.env)) as string;
  if (!text && (typeof env !== "string" || !registry.has(env))) {
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
  const merged = mergeLayers(entry.defaults, presetValues, file, overrides, text ? { task: env } : { env });
  // Name the layer a bad value came from, so the user knows which file or flag to edit.
  const originOf = (key: string): string | undefined =>
    hasPath(overrides, key) ? overridesName : hasPath(file, key) ? fileName : hasPath(presetValues, key) ? `preset "${opts.preset}"` : undefined;
  rejectGroupKeys(entry, merged, originOf);
  rejectUnknownNestedKeys(entry, merged, originOf);
  const config = parseConfig(entry.schema, merged, `${entry.name} config`, { defaults: entry.defaults, originOf }) as Record<string, unknown>;
  rejectInertKeys(entry, config, [
    [overrides, overridesName],
    [file, fileName],
    [presetValues, `preset "${opts.preset}"`],
  ]);
  entry.validate?.(config);
  return config;
}

/** A key the user set (to a non-default value) that cannot have an effect is an error, not ignored. */
function rejectInertKeys(entry: AlgorithmEntry, config: Record<string, unknown>, layers: [Record<string, unknown>, string][]): void {
  const at = (obj: unknown, path: string[]): { found: boolean; value?: unknown } => {
    let cur = obj;
    for (const p of path) {
      if (!isPlainObject(cur) || !(p in cur)) return { found: false };
      cur = cur[p];
    }
    return { found: true, value: cur };
  };
  for (const inert of inertKeys(entry.name, config)) {
    const path = inert.key.split(".");
    const fallback = at(entry.defaults, path).value;
    for (const [layer, name] of layers) {
      const set = at(layer, path);
      if (!set.found || JSON.stringify(set.value) === JSON.stringify(fallback)) continue;
      throw new ConfigError(
        `${inert.key} = ${describeValue(set.value)} (from ${name}) has no effect on ${entry.name}: ${inert.because}`,
        inert.fix,
        "inert_option",
      );
    }
  }
}

/**
 * Later layers override earlier ones key by key; nested option objects (`d3s`) merge too, so
 * `--set d3s.levels=step` keeps the other d3s defaults. Lists and other values are replaced.
 */
function mergeLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeLayers(out[k] as Record<string, unknown>, v) : v;
    }
  }
  return out;
}

/** Whether a dotted key ("model.width") is set in a layer. */
function hasPath(layer: Record<string, unknown>, key: string): boolean {
  let cur: unknown = layer;
  for (const k of key.split(".")) {
    if (!isPlainObject(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** An unknown key inside an option object (`d3s.keepRatio`) named with its path and the keys that object has. */
function rejectUnknownNestedKeys(entry: AlgorithmEntry, merged: Record<string, unknown>, originOf: (key: string) => string | undefined): void {
  for (const [key, schema] of Object.entries(entry.schema.shape)) {
    const value = merged[key];
    if (!(schema instanceof ZodObject) || !isPlainObject(value)) continue;
    const allowed = Object.keys(schema.shape);
    const unknown = Object.keys(value).filter((k) => !allowed.includes(k));
    if (!unknown.length) continue;
    const origin = originOf(`${key}.${unknown[0]}`);
    throw new ConfigError(
      `invalid ${entry.name} config: unknown key ${unknown.map((k) => `"${key}.${k}"`).join(", ")}${origin ? ` (from ${origin})` : ""}`,
      `use only the ${key} keys: ${allowed.map((k) => `${key}.${k}`).join(", ")} (\`refinery list\` describes them)`,
    );
  }
}

/** Selection acts on groups of episodes; an algorithm without them (ppo, mdpo) says so instead of "unknown key". */
function rejectGroupKeys(entry: AlgorithmEntry, merged: Record<string, unknown>, originOf: (key: string) => string | undefined): void {
  if ("selection" in entry.schema.shape) return;
  for (const key of GROUP_ONLY_KEYS) {
    if (!(key in merged)) continue;
    if (key === "selection" && merged.selection === "none") {
      delete merged.selection; // asking for no selection is harmless anywhere
      continue;
    }
    const origin = originOf(key);
    const groupAlgos = Object.values(ALGORITHMS).filter((a) => "selection" in a.schema.shape).map((a) => a.name);
    throw new ConfigError(
      `${entry.name} has no groups of episodes (it uses the step collector), so ${key}${key === "selection" ? ` = ${describeValue(merged.selection)}` : ".*"}${origin ? ` (from ${origin})` : ""} cannot apply: D³S selects episodes within groups and steps within them`,
      `drop ${key}, or use a group algorithm: ${groupAlgos.join(", ")} (e.g. --algo grpo --set selection=d3s)`,
      "no_groups",
    );
  }
}

function didYouMean(given: string, candidates: string[]): string {
  const close = closeMatches(given, candidates);
  return close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? Otherwise ` : "";
}
