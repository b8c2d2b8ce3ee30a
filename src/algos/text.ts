import type { z } from "zod";
import { parseConfig } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { fileExists } from "../core/platform.js";
import { combineRewards } from "../envs/text/rewards.js";
import { makeTask } from "../envs/text/registry.js";
import { EPO_DEFAULTS, EPO_PRESETS, epoConfigSchema, epoSettings, type EPOConfig } from "./epo.js";
import { GRPO_DEFAULTS, GRPO_PRESETS, grpoRecipe, grpoShape, type GRPOConfig } from "./grpo.js";
import { createIgrpo, IGRPO_DEFAULTS, igrpoConfigSchema } from "./igrpo.js";
import type { GroupRecipe } from "./group_engine.js";
import type { AlgorithmEntry } from "./index.js";
import type { AlgorithmPreset } from "./types.js";
import { REINFORCE_DEFAULTS, reinforceConfigSchema, reinforceRecipe, type ReinforceConfig } from "./reinforce.js";
import { RLOO_DEFAULTS, RLOO_PRESETS, rlooConfigSchema, rlooRecipe, type RLOOConfig } from "./rloo.js";
import { SFT, SFT_DEFAULTS, sftConfigSchema, type SFTConfig } from "./sft.js";
import { textDefaultsOf, textSchemaOf } from "./text_config.js";
import { TextGroupOptimizer, type TextRunConfig } from "./text_engine.js";

/*
 * The algorithms on text tasks (a run whose config names a `task`): sft, and the group
 * algorithms with the same recipes as on control tasks (grpo, rloo, reinforce, epo) plus igrpo.
 */

/**
 * Defaults where text differs from control for every group algorithm, tuned on 2-digit
 * addition from an SFT model: the learning rate is small, as in RL on language models
 * (at 1e-4 and above the noisy policy gradient knocked the SFT model off its optimum and
 * held-out pass@1 fell), with a short warm-up.
 */
const TEXT_RL_DEFAULTS = {
  iterations: 100,
  numPrompts: 16,
  groupSize: 8,
  learningRate: 3e-5,
  annealLr: false,
  warmupIterations: 10,
  updateEpochs: 1,
  numMinibatches: 2,
  maxGradNorm: 1,
  evalEvery: 25,
};

/** REINFORCE takes one full-batch step per iteration: it has no epoch or minibatch keys. */
function withoutEpochs(d: typeof TEXT_RL_DEFAULTS): Record<string, unknown> {
  const { updateEpochs: _e, numMinibatches: _m, ...rest } = d;
  return rest;
}

const parse = <S extends z.ZodObject>(schema: S, name: string, config: Record<string, unknown>): z.infer<S> => parseConfig(schema, config, `${name} config`);

/** Start-up checks of a text run: the task, its options, the rewards and the init run exist. */
function validateText(c: { task: string; taskOptions: Record<string, unknown>; init: string | null; rewards?: { name: string; weight: number }[]; groupSize?: number; numMinibatches?: number; numPrompts?: number }): void {
  makeTask(c.task, c.taskOptions);
  if (c.rewards) combineRewards(c.rewards.map((r) => ({ fn: r.name, weight: r.weight })));
  if (c.init !== null && fileExists(c.init) === false) {
    throw new ConfigError(`init ${c.init} does not exist`, "pass the directory of a finished text run (e.g. made by `refinery sft`), or init=null for a fresh model");
  }
  if (c.numMinibatches !== undefined && c.numPrompts !== undefined && c.groupSize !== undefined && c.numMinibatches > c.numPrompts * c.groupSize) {
    throw new ConfigError(
      `numMinibatches = ${c.numMinibatches} is more than the ${c.numPrompts * c.groupSize} completions of an iteration (numPrompts × groupSize)`,
      `set numMinibatches to at most ${c.numPrompts * c.groupSize}`,
    );
  }
}

type Text<C> = C & TextRunConfig;

/** The text entry of a control group algorithm: its schema and defaults for text, and its recipe run by the text engine. */
function groupTextEntry<C>(e: {
  name: string;
  description: string;
  controlShape: Record<string, z.ZodType>;
  controlDefaults: C;
  /** Text defaults over the control ones (default: TEXT_RL_DEFAULTS). */
  textDefaults?: Record<string, unknown>;
  presets: AlgorithmPreset[];
  /** Checks beyond the schema, before the shared text checks. */
  check?: (c: Text<C>) => void;
  recipe: (c: Text<C>) => GroupRecipe;
}): AlgorithmEntry {
  const schema = textSchemaOf(e.controlShape);
  const read = (config: Record<string, unknown>) => parse(schema, e.name, config) as unknown as Text<C>;
  return {
    name: e.name,
    description: e.description,
    schema,
    defaults: textDefaultsOf(e.controlDefaults as unknown as Record<string, unknown>, e.textDefaults ?? TEXT_RL_DEFAULTS),
    presets: e.presets,
    validate: (config) => {
      const c = read(config);
      e.check?.(c);
      validateText(c);
    },
    create: (config) => {
      const c = read(config);
      return TextGroupOptimizer.create(e.recipe(c), c);
    },
  };
}

export const TEXT_ALGORITHMS: Record<string, AlgorithmEntry> = {
  sft: {
    name: "sft",
    description: "supervised fine-tuning on a text task's correct demonstrations (the warm-up RLVR starts from)",
    schema: sftConfigSchema,
    defaults: SFT_DEFAULTS as unknown as Record<string, unknown>,
    presets: [],
    validate: (config) => validateText(parse(sftConfigSchema, "sft", config)),
    create: (config) => SFT.create(parse(sftConfigSchema, "sft", config) as SFTConfig),
  },
  grpo: groupTextEntry<GRPOConfig>({
    name: "grpo",
    description: "GRPO on a text task: G completions per prompt, group-normalised rewards, clipped ratio per token, optional KL to the initial (SFT) model",
    controlShape: grpoShape,
    controlDefaults: GRPO_DEFAULTS,
    presets: GRPO_PRESETS,
    recipe: (c) => grpoRecipe(c),
  }),
  rloo: groupTextEntry<RLOOConfig>({
    name: "rloo",
    description: "RLOO/LOOP on a text task: leave-one-out baseline over G completions per prompt",
    controlShape: rlooConfigSchema.shape,
    controlDefaults: RLOO_DEFAULTS,
    presets: RLOO_PRESETS,
    recipe: (c) => rlooRecipe(c),
  }),
  reinforce: groupTextEntry<ReinforceConfig>({
    name: "reinforce",
    description: "REINFORCE on a text task: the completion's reward on every token, normalised over the batch (no critic on text)",
    controlShape: reinforceConfigSchema.shape,
    controlDefaults: REINFORCE_DEFAULTS,
    textDefaults: { ...withoutEpochs(TEXT_RL_DEFAULTS), baseline: "none", normAdv: true, gamma: 1 },
    presets: [],
    check: (c) => {
      if (c.baseline !== "none") throw new ConfigError(`reinforce on a text task has no critic, so baseline = "${c.baseline}" cannot apply`, "use baseline=none (the default on text), or grpo/rloo for a group baseline");
    },
    recipe: (c) => reinforceRecipe(c),
  }),
  epo: groupTextEntry<EPOConfig>({
    name: "epo",
    description: "EPO on GRPO on a text task: entropy bonus smoothed against the historical entropy per token position bucket",
    controlShape: epoConfigSchema.shape,
    controlDefaults: EPO_DEFAULTS,
    presets: EPO_PRESETS,
    recipe: (c) => grpoRecipe(c as GRPOConfig, "epo", epoSettings(c)),
  }),
  igrpo: {
    name: "igrpo",
    description: "iGRPO: N drafts per prompt, the best conditions G refinements, GRPO on the refinements (text tasks only)",
    schema: igrpoConfigSchema,
    defaults: { ...IGRPO_DEFAULTS, ...TEXT_RL_DEFAULTS, groupSize: 4 },
    presets: GRPO_PRESETS,
    validate: (config) => validateText(parse(igrpoConfigSchema, "igrpo", config) as unknown as Text<GRPOConfig>),
    create: (config) => createIgrpo(parse(igrpoConfigSchema, "igrpo", config) as unknown as Parameters<typeof createIgrpo>[0]),
  },
};
