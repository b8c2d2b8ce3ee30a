import { ConfigError, describeValue } from "../../core/errors.js";
import { Dict, MultiBinary, type Space } from "../../core/spaces.js";
import { Wrapper, type Env, type Info, type ResetArgs, type StepResult } from "../env.js";
import { FlattenObservation } from "../wrappers.js";
import { NUM_COLORS, NUM_OBJECTS, NUM_STATES, VIEW_SIZE } from "./constants.js";
import { fullEncoding } from "./grid.js";
import { imageSpace, MiniGridEnv, type GridObs } from "./minigrid_env.js";

/**
 * MiniGrid's observation wrappers (minigrid/wrappers.py), same names and meaning. Each takes
 * an env whose observation is MiniGrid's Dict (or a Dict wrapper of it).
 */

type DictObs = Record<string, unknown>;

/** Base for wrappers that map each observation. */
abstract class ObservationWrapper<O, WO> extends Wrapper<O, number, WO, number> {
  protected abstract observation(obs: WO): O;
  override reset(args?: ResetArgs): [O, Info] {
    const [obs, info] = this.env.reset(args);
    return [this.observation(obs), info];
  }
  override step(action: number): StepResult<O> {
    const [obs, reward, terminated, truncated, info] = this.env.step(action);
    return [this.observation(obs), reward, terminated, truncated, info];
  }
}

function dictSpace(env: Env<unknown, unknown>, wrapper: string): Dict {
  const s: unknown = env.observationSpace;
  if (!(s instanceof Dict) || !("image" in s.spaces)) {
    throw new ConfigError(`${wrapper} needs a grid env with a Dict observation holding "image", got ${describeValue(String(s))}`, `apply ${wrapper} to make("MiniGrid-…", { observation: "dict" }) or to another dict wrapper`);
  }
  return s;
}

/** `ImgObsWrapper`: the observation is the image alone. */
export class ImgObsWrapper extends ObservationWrapper<unknown, DictObs> {
  private readonly space: Space<unknown>;
  constructor(env: Env<DictObs, number>) {
    super(env);
    this.space = dictSpace(env, "ImgObsWrapper").spaces.image;
  }
  override get observationSpace(): Space<unknown> {
    return this.space;
  }
  protected observation(obs: DictObs): unknown {
    return obs.image;
  }
}

/**
 * `OneHotPartialObsWrapper`: the image becomes a 7×7×20 MultiBinary, per cell one-hot object
 * type (11), colour (6) and state (3), at `((vx·7 + vy)·20 + k)`.
 */
export class OneHotPartialObsWrapper extends ObservationWrapper<DictObs, DictObs> {
  private readonly space: Dict;
  constructor(env: Env<DictObs, number>) {
    super(env);
    const inner = dictSpace(env, "OneHotPartialObsWrapper");
    this.space = new Dict({ ...inner.spaces, image: new MultiBinary([VIEW_SIZE, VIEW_SIZE, NUM_OBJECTS + NUM_COLORS + NUM_STATES]) });
  }
  override get observationSpace(): Space<DictObs> {
    return this.space as unknown as Space<DictObs>;
  }
  protected observation(obs: DictObs): DictObs {
    const img = obs.image as Int32Array;
    const bits = NUM_OBJECTS + NUM_COLORS + NUM_STATES;
    const out = new Int8Array(VIEW_SIZE * VIEW_SIZE * bits);
    for (let i = 0; i < VIEW_SIZE * VIEW_SIZE; i++) {
      out[i * bits + img[i * 3]] = 1;
      out[i * bits + NUM_OBJECTS + img[i * 3 + 1]] = 1;
      out[i * bits + NUM_OBJECTS + NUM_COLORS + img[i * 3 + 2]] = 1;
    }
    return { ...obs, image: out };
  }
}

/**
 * `FullyObsWrapper`: the image is the whole grid, W×H×3 indexed `[x][y][c]`, every cell
 * visible and the agent's cell (10, 0, direction); the state channel therefore has 4 values.
 */
export class FullyObsWrapper extends ObservationWrapper<DictObs, DictObs> {
  private readonly space: Dict;
  private readonly base: MiniGridEnv;
  constructor(env: Env<DictObs, number>) {
    super(env);
    const inner = dictSpace(env, "FullyObsWrapper");
    const base = env.unwrapped;
    if (!(base instanceof MiniGridEnv)) throw new ConfigError(`FullyObsWrapper needs a grid env, got ${String(base)}`, "apply it to an env made from a MiniGrid-… or BabyAI-… id");
    this.base = base;
    this.space = new Dict({ ...inner.spaces, image: imageSpace(base.width * base.height, 4) });
  }
  override get observationSpace(): Space<DictObs> {
    return this.space as unknown as Space<DictObs>;
  }
  protected observation(obs: DictObs): DictObs {
    const b = this.base;
    return { ...obs, image: fullEncoding(b.grid, b.agentX, b.agentY, b.agentDir) };
  }
}

/**
 * Observation presets of the registered grid ids (`make(id, { observation })`):
 * - `"dict"`: MiniGrid's own `{ image, direction, mission }`.
 * - `"image"`: ImgObsWrapper — the 7×7×3 image as MultiDiscrete(147).
 * - `"flat"`: ImgObsWrapper + FlattenObservation — the image one-hot, Box(0, 1, (980,)).
 * - `"flat-mission"`: FlattenObservation of the whole Dict — one-hot direction (4), image
 *   (980) and mission tokens (16 × vocabulary), for tasks whose mission names the target.
 * - `"full"`: FullyObsWrapper + ImgObsWrapper + FlattenObservation — the whole grid one-hot.
 */
export const GRID_OBSERVATIONS = ["dict", "image", "flat", "flat-mission", "full"] as const;
export type GridObservation = (typeof GRID_OBSERVATIONS)[number];

export function wrapGridObservation(env: MiniGridEnv, observation: unknown): Env<unknown, unknown> {
  const e = env as unknown as Env<DictObs, number>;
  switch (observation) {
    case "dict":
      return env as unknown as Env<unknown, unknown>;
    case "image":
      return new ImgObsWrapper(e) as unknown as Env<unknown, unknown>;
    case "flat":
      return new FlattenObservation(new ImgObsWrapper(e)) as unknown as Env<unknown, unknown>;
    case "flat-mission":
      return new FlattenObservation(e) as unknown as Env<unknown, unknown>;
    case "full":
      return new FlattenObservation(new ImgObsWrapper(new FullyObsWrapper(e))) as unknown as Env<unknown, unknown>;
    default:
      throw new ConfigError(`${env.envName}: observation ${describeValue(observation)} is not a grid observation preset`, `pass one of ${GRID_OBSERVATIONS.map((o) => `"${o}"`).join(", ")}`);
  }
}

export type { GridObs };
