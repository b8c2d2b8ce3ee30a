import { EnvError } from "../core/errors.js";
import { Rng, validateSeed } from "../core/rng.js";
import type { Space } from "../core/spaces.js";
import { takeRenderMode, type EnvMetadata, type RenderMode, type RgbFrame } from "./render/frame.js";

export type { EnvMetadata, RenderMode, RgbFrame } from "./render/frame.js";

/** Extra information returned by `reset` and `step`; free-form, as Gymnasium's `info` dict. */
export type Info = Record<string, unknown>;

/** `[observation, reward, terminated, truncated, info]`, as Gymnasium's `step`. */
export type StepResult<O> = [obs: O, reward: number, terminated: boolean, truncated: boolean, info: Info];

export interface ResetArgs {
  /** Re-seed the env's generator before resetting. Without it the env continues its own stream. */
  seed?: number;
  /** Env-specific reset options (e.g. `{ low, high }` bounds of the initial state for classic envs). */
  options?: Record<string, unknown>;
}

/** Registration data of an env id (Gymnasium's `EnvSpec`). */
export interface EnvSpec {
  id: string;
  /** Episodes are truncated after this many steps by the TimeLimit wrapper `make` adds. */
  maxEpisodeSteps?: number;
  /** Mean return at which the task counts as solved. */
  rewardThreshold?: number;
  /** Keyword options passed to the env's constructor. */
  kwargs: Record<string, unknown>;
}

/**
 * The environment API (Gymnasium 1.x):
 *
 * - `reset({ seed, options })` starts an episode and returns `[obs, info]`. A seed
 *   re-seeds the env's generator; without one the env continues its current stream
 *   (seeded from entropy on first use).
 * - `step(action)` returns `[obs, reward, terminated, truncated, info]`. `terminated`
 *   means the MDP reached a terminal state (no bootstrapping); `truncated` means the
 *   episode was cut short (time limit) and the last observation is not terminal.
 * - `unwrapped` is the innermost env, under all wrappers.
 */
export interface Env<O = unknown, A = unknown> {
  readonly observationSpace: Space<O>;
  readonly actionSpace: Space<A>;
  /** Set by `make`; null for an env constructed directly. */
  spec: EnvSpec | null;
  readonly unwrapped: Env<unknown, unknown>;
  reset(args?: ResetArgs): [O, Info];
  step(action: A): StepResult<O>;
  close(): void;
  /** Supported render modes and frame rate (Gymnasium's `metadata`). */
  readonly metadata?: EnvMetadata;
  /** Fixed at construction (`make(id, { renderMode: "rgb_array" })`); null: the env does not render. */
  readonly renderMode?: RenderMode | null;
  /** The current picture of the env, in its render mode (Gymnasium's `render()`). */
  render?(): RgbFrame;
}

/**
 * State snapshots: the physical state as a plain number array, in Gymnasium's
 * `env.unwrapped.state` layout. After `setState(s)` the next `step` continues from `s`
 * exactly. Group, vine and branch collectors rely on this.
 */
export interface Snapshotable {
  getState(): number[];
  setState(state: number[]): void;
}

export function hasSnapshots(env: Env<unknown, unknown>): env is Env<unknown, unknown> & Snapshotable {
  const u = env.unwrapped as unknown as Partial<Snapshotable>;
  return typeof u.getState === "function" && typeof u.setState === "function";
}

/**
 * Base class for environments: holds the seeded generator (`npRandom`, named after
 * Gymnasium's `np_random`) and implements the seeding rule. Subclasses call
 * `this.seedFromReset(args)` first in their `reset`, then draw their initial state from
 * `this.npRandom`.
 */
export abstract class BaseEnv<O, A> implements Env<O, A> {
  abstract readonly observationSpace: Space<O>;
  abstract readonly actionSpace: Space<A>;
  spec: EnvSpec | null = null;
  /** Render modes and frame rate; envs that draw override it. */
  readonly metadata: EnvMetadata = { renderModes: [] };
  private rng: Rng | null = null;
  private mode: RenderMode | null = null;

  get unwrapped(): Env<unknown, unknown> {
    return this as unknown as Env<unknown, unknown>;
  }

  /** The env's generator; created from entropy on first use if never seeded. */
  get npRandom(): Rng {
    if (!this.rng) this.rng = Rng.fromEntropy();
    return this.rng;
  }

  set npRandom(rng: Rng) {
    this.rng = rng;
  }

  /** Implements the seeding rule; call it first in `reset` (as Gymnasium's `super().reset(seed=seed)`). */
  protected seedFromReset(args: ResetArgs | undefined): void {
    if (args?.seed !== undefined && args.seed !== null) {
      validateSeed(args.seed, "reset seed");
      this.rng = new Rng(args.seed);
    }
  }

  abstract reset(args?: ResetArgs): [O, Info];

  abstract step(action: A): StepResult<O>;

  close(): void {}

  /** The render mode chosen at construction, or null. */
  get renderMode(): RenderMode | null {
    return this.mode;
  }

  /**
   * Reads the `renderMode` constructor option (checked against `metadata.renderModes`);
   * call it first in the constructor and check the returned remaining options.
   */
  protected initRenderMode(kwargs: Record<string, unknown>, envName: string): Record<string, unknown> {
    const { renderMode, rest } = takeRenderMode(kwargs, this.metadata, envName);
    this.mode = renderMode;
    return rest;
  }

  /**
   * The current picture (`render_mode="rgb_array"`): an RGB frame. Throws when the env was
   * made without a render mode (Gymnasium warns and returns None; a silent null would only
   * fail later, in whatever consumes the frames).
   */
  render(): RgbFrame {
    if (this.mode === null) {
      const id = this.spec?.id ?? this.constructor.name;
      const how = this.metadata.renderModes.length ? `create it with make("${id}", { renderMode: "rgb_array" })` : "this env cannot render; use one that lists render modes in its metadata";
      throw new EnvError("no_render_mode", `${id}: render() was called but the env was made without a renderMode`, how);
    }
    return this.renderFrame();
  }

  /** Draws the current state; envs with render modes override it. */
  protected renderFrame(): RgbFrame {
    throw new EnvError("render_not_supported", `${this.constructor.name} has no render()`, "use an env whose metadata lists render modes");
  }

  toString(): string {
    return `${this.constructor.name}<${this.spec?.id ?? "unregistered"}>`;
  }
}

/**
 * Base class for wrappers: forwards everything to the wrapped env. Override what the
 * wrapper changes. `env.unwrapped` reaches through every layer.
 */
export class Wrapper<O = unknown, A = unknown, WO = O, WA = A> implements Env<O, A> {
  constructor(readonly env: Env<WO, WA>) {}

  get observationSpace(): Space<O> {
    return this.env.observationSpace as unknown as Space<O>;
  }
  get actionSpace(): Space<A> {
    return this.env.actionSpace as unknown as Space<A>;
  }
  get spec(): EnvSpec | null {
    return this.env.spec;
  }
  set spec(s: EnvSpec | null) {
    this.env.spec = s;
  }
  get unwrapped(): Env<unknown, unknown> {
    return this.env.unwrapped;
  }
  reset(args?: ResetArgs): [O, Info] {
    return this.env.reset(args) as unknown as [O, Info];
  }
  step(action: A): StepResult<O> {
    return this.env.step(action as unknown as WA) as unknown as StepResult<O>;
  }
  close(): void {
    this.env.close();
  }
  get metadata(): EnvMetadata {
    return this.env.metadata ?? { renderModes: [] };
  }
  get renderMode(): RenderMode | null {
    return this.env.renderMode ?? null;
  }
  /** Passes the inner env's frame through unchanged. */
  render(): RgbFrame {
    if (typeof this.env.render !== "function") {
      throw new EnvError("render_not_supported", `${String(this.env)} has no render()`, "use an env whose metadata lists render modes");
    }
    return this.env.render();
  }
  toString(): string {
    return `${this.constructor.name}<${String(this.env)}>`;
  }
}
