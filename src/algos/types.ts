import type { Env } from "../envs/env.js";
import type { EvalResult } from "../train/evaluate.js";

/** Numbers an algorithm reports after one iteration (collect + update). */
export type IterationMetrics = Record<string, number>;

/**
 * Hooks into an algorithm's rollouts (the trainer's `onStep`/`onRollout` callbacks).
 * They observe; they must not change the arrays they are given.
 */
export interface RolloutHooks {
  /** After every vector-env step of a step-collector rollout: rows per env. */
  onStep?(step: { obs: Float32Array; rewards: Float64Array; terminated: Uint8Array; truncated: Uint8Array }): void;
  /** After each rollout is collected, before the update. */
  onRollout?(rollout: { steps: number; episodes: { return: number; length: number }[] }): void;
}

/** A policy that can act on observations without the trainer (evaluation, serving). */
export interface ActingPolicy {
  /**
   * Chooses one action for one observation (already passed through the env's wrappers).
   * `mask` is the env's action mask for that observation (info.action_mask or its
   * actionMasks()); policies trained with masking choose only allowed actions, others ignore it.
   */
  actOne(obs: Float32Array, deterministic: boolean, mask?: ArrayLike<number | boolean> | null): number | Float32Array;
}

/**
 * What the trainer needs from an algorithm: iterate, report, and save/restore everything
 * for an exact resume. Algorithms are compositions of the parts in rollout/, advantage/,
 * loss/ and select/; this interface is only the trainer's handle on them.
 */
export interface Algorithm {
  readonly name: string;
  /** Env steps consumed per iteration (all envs together); the mean so far when iterations vary in size. */
  readonly stepsPerIteration: number;
  /**
   * Env steps consumed so far, for algorithms whose iterations differ in size (the group
   * algorithms run whole episodes); when present it is exact, and preferable to
   * iteration × stepsPerIteration.
   */
  readonly stepsDone?: number;
  readonly totalIterations: number;
  /** Iterations done so far. */
  readonly iteration: number;
  /** Installs rollout hooks (optional: the trainer skips them for algorithms without it). */
  setHooks?(hooks: RolloutHooks): void;
  /** Runs iteration `this.iteration + 1`: collect, then update. */
  iterate(): IterationMetrics;
  /** Episodes finished since the last call: raw returns and lengths. */
  drainEpisodes(): { return: number; length: number }[];
  /** The current policy, for evaluation; `seed` seeds its action sampling (independent of training). */
  actingPolicy(seed: number): ActingPolicy;
  /**
   * Its own evaluation, when it has one (text runs: greedy pass@1 on the test split); the
   * trainer then uses it instead of playing `makeEvalEnv` episodes with `actingPolicy`.
   */
  evaluate?(): EvalResult & { passAt1?: number };
  /** A fresh env with the evaluation wrappers (observation normalisation frozen at the training statistics). */
  makeEvalEnv(): Env<unknown, unknown>;
  /**
   * The config as the run directory records it (config.json), when it differs from the one
   * `create` was given: choices made at create time resolved (PPO's `backend: "auto"`), so
   * a resume makes the same ones. Without it the trainer records the given config.
   */
  recordedConfig?(): Record<string, unknown>;
  /** Everything needed to continue exactly: JSON-safe data plus named float arrays. */
  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> };
  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void;
  /**
   * Text runs: up to `count` completions of the latest iteration's batch, spread over its
   * prompts, with their rewards (the trainer logs them to completions.jsonl).
   */
  sampleCompletions?(count: number): SampledCompletion[];
  /** Weights and metadata of the policy alone (what `loadPolicy` reads). */
  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes?: Record<string, number[]> };
  dispose(): void;
}

/**
 * One turn of a multi-turn episode: what the policy wrote and what the env answered. The
 * dashboard shows the two apart, tool calls and their results marked.
 */
export interface CompletionTurn {
  /** The policy's text (up to its end-of-turn token). */
  text: string;
  /** The env's answer appended after it ("" when the episode ended with the turn). */
  observation: string;
  toolCall: boolean;
  malformed: boolean;
  /** The policy as actor, or as critic (a verdict turn of critique-and-refine). */
  role: "actor" | "critic";
}

/** A sampled completion of a text run (for a multi-turn episode, its transcript and turns). */
export interface SampledCompletion {
  prompt: string;
  completion: string;
  reward: number;
  correct: boolean;
  turns?: CompletionTurn[];
}

/** Named config values for an env (`--preset NAME`); undefined when the preset has nothing for that env. */
export interface AlgorithmPreset {
  name: string;
  description: string;
  forEnv(env: string): Record<string, unknown> | undefined;
}
