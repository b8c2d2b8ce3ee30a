import { ConfigError, describeValue, RefineryError } from "../../core/errors.js";
import { Dict, Discrete, MultiDiscrete, type Space } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { checkOptionKeys, discreteAction, requireReset } from "../validate.js";
import { Actions, COLOR_NAMES, DIR_TO_VEC, NUM_COLORS, NUM_OBJECTS, NUM_STATES, OBJECT_TO_IDX, VIEW_SIZE, type Color } from "./constants.js";
import { egocentricView, Grid, viewCells } from "./grid.js";
import { decodeMission, encodeMission, MISSION_LENGTH, MISSION_VOCAB } from "./mission.js";
import { decodeObject, WorldObj } from "./objects.js";
import { renderGrid } from "./render.js";

/** MiniGrid's observation: the egocentric image, the facing direction and the mission as token ids. */
export interface GridObs {
  [key: string]: unknown;
  /** 7×7×3 encoding, `image[(vx·7 + vy)·3 + c]` (see egocentricView). */
  image: Int32Array;
  /** 0 = right, 1 = down, 2 = left, 3 = up. */
  direction: number;
  /** MISSION_LENGTH token ids of MISSION_VOCAB, 0-padded. */
  mission: Int32Array;
}

/**
 * Where generation draws come from. MiniGrid draws every layout choice with
 * `np_random.integers(lo, hi)`; here `randInt(lo, hi)` (hi exclusive) plays that part. Tests
 * pass a scripted source to pin a layout; by default it is the env's seeded generator.
 */
export interface DrawSource {
  randInt(lo: number, hi: number): number;
}

/** Thrown inside generation to start the layout again (BabyAI's RejectSampling). */
export class RejectLayout extends Error {}

export interface MiniGridOptions {
  width: number;
  height: number;
  maxSteps: number;
  seeThroughWalls: boolean;
  envName: string;
}

/** Per-cell image nvec: object type, colour, state. */
export function imageSpace(cells: number, states = NUM_STATES): MultiDiscrete {
  const nvec: number[] = [];
  for (let i = 0; i < cells; i++) nvec.push(NUM_OBJECTS, NUM_COLORS, states);
  return new MultiDiscrete(nvec);
}

export const MISSION_SPACE = new MultiDiscrete(new Array<number>(MISSION_LENGTH).fill(MISSION_VOCAB.length));

/** Numbers of the snapshot before the cells: width, height, x, y, dir, stepCount, carried object (4). */
const HEADER = 10;

/**
 * The MiniGrid environment core (`minigrid_env.py`): a grid, an agent with a position, a
 * direction and at most one carried object, MiniGrid's seven actions with its exact
 * semantics, the reward `1 − 0.9·stepCount/maxSteps` on success and truncation at
 * `maxSteps`. Subclasses build the layout in `genGrid()` with `randInt`/`placeObj`/
 * `placeAgent` (drawn in MiniGrid's order) and add their success rules in `step`.
 *
 * Snapshots: `getState()` is the whole world as numbers (see `getState`), so group and vine
 * collectors can restart any number of rollouts from one state.
 */
export abstract class MiniGridEnv extends BaseEnv<GridObs, number> implements Snapshotable {
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 10 };
  override readonly actionSpace = new Discrete(7);
  override readonly observationSpace: Space<GridObs>;
  readonly width: number;
  readonly height: number;
  readonly maxSteps: number;
  readonly seeThroughWalls: boolean;
  readonly envName: string;

  grid: Grid;
  agentX = -1;
  agentY = -1;
  agentDir = -1;
  carrying: WorldObj | null = null;
  stepCount = 0;
  mission = "";
  private hasState = false;
  private missionTokens: Int32Array = new Int32Array(MISSION_LENGTH);
  private missionTokensOf: string | null = null;
  private scripted: DrawSource | null = null;

  constructor(opts: MiniGridOptions) {
    super();
    this.width = opts.width;
    this.height = opts.height;
    this.maxSteps = opts.maxSteps;
    this.seeThroughWalls = opts.seeThroughWalls;
    this.envName = opts.envName;
    this.grid = new Grid(this.width, this.height);
    this.observationSpace = new Dict({
      image: imageSpace(VIEW_SIZE * VIEW_SIZE),
      direction: new Discrete(4),
      mission: MISSION_SPACE,
    }) as unknown as Space<GridObs>;
  }

  /** Reads the constructor options: renderMode plus the `allowed` keys; returns the latter. */
  protected readOptions(kwargs: Record<string, unknown>, allowed: readonly string[] = []): Record<string, unknown> {
    const rest = this.initRenderMode(kwargs, this.envName);
    checkOptionKeys(rest, allowed, this.envName);
    return rest;
  }

  /** Build the layout: set `grid`, the agent pose and `mission`, drawing with `randInt`. */
  protected abstract genGrid(): void;

  /** Env-specific numbers a snapshot must carry (targets, etc.); restored by `setTaskState`. */
  protected taskState(): number[] {
    return [];
  }

  protected setTaskState(state: number[]): void {
    if (state.length !== 0) throw new ConfigError(`${this.envName}: snapshot has ${state.length} task numbers, expected 0`, "pass a state returned by getState() of the same env id");
  }

  /** Use scripted generation draws instead of the seeded generator (tests); null restores it. */
  useDraws(source: DrawSource | null): void {
    this.scripted = source;
  }

  // ---------------------------------------------------------------------------------------
  // Generation helpers, in MiniGrid's draw order
  // ---------------------------------------------------------------------------------------

  /** Uniform integer in [lo, hi) (MiniGrid's `_rand_int`). */
  randInt(lo: number, hi: number): number {
    if (this.scripted) {
      const v = this.scripted.randInt(lo, hi);
      if (!Number.isInteger(v) || v < lo || v >= hi) {
        throw new RefineryError("bad_draw", `${this.envName}: scripted draw ${describeValue(v)} is outside [${lo}, ${hi})`, "script values within the range generation asks for");
      }
      return v;
    }
    return this.npRandom.integer(lo, hi);
  }

  randElem<T>(items: readonly T[]): T {
    return items[this.randInt(0, items.length)];
  }

  randBool(): boolean {
    return this.randInt(0, 2) === 0;
  }

  randColor(): Color {
    return this.randElem(COLOR_NAMES);
  }

  /**
   * Rejection-samples a free cell in the rectangle (top, size) clipped to the grid, skipping
   * occupied cells, the agent's cell and cells `reject` refuses (MiniGrid's `place_obj`), and
   * puts `obj` there (null: just find the cell).
   */
  placeObj(obj: WorldObj | null, top: [number, number] = [0, 0], size: [number, number] = [this.width, this.height], reject?: (x: number, y: number) => boolean, maxTries = Infinity): [number, number] {
    const tx = Math.max(top[0], 0), ty = Math.max(top[1], 0);
    for (let tries = 0; ; tries++) {
      if (tries > maxTries) throw new RejectLayout("placeObj: no free cell");
      const x = this.randInt(tx, Math.min(tx + size[0], this.width));
      const y = this.randInt(ty, Math.min(ty + size[1], this.height));
      if (this.grid.get(x, y) !== null) continue;
      if (x === this.agentX && y === this.agentY) continue;
      if (reject && reject(x, y)) continue;
      if (obj) this.grid.set(x, y, obj);
      return [x, y];
    }
  }

  /** A free cell for the agent and (by default) a random direction (MiniGrid's `place_agent`). */
  placeAgent(top: [number, number] = [0, 0], size: [number, number] = [this.width, this.height], randDir = true, maxTries = Infinity): [number, number] {
    this.agentX = -1;
    this.agentY = -1;
    const [x, y] = this.placeObj(null, top, size, undefined, maxTries);
    this.agentX = x;
    this.agentY = y;
    if (randDir) this.agentDir = this.randInt(0, 4);
    return [x, y];
  }

  /** The cell in front of the agent. */
  frontPos(): [number, number] {
    const [dx, dy] = DIR_TO_VEC[this.agentDir];
    return [this.agentX + dx, this.agentY + dy];
  }

  /** The success reward of MiniGrid: 1 − 0.9·stepCount/maxSteps. */
  successReward(): number {
    return 1 - 0.9 * (this.stepCount / this.maxSteps);
  }

  // ---------------------------------------------------------------------------------------
  // Gymnasium API
  // ---------------------------------------------------------------------------------------

  override reset(args?: ResetArgs): [GridObs, Info] {
    this.seedFromReset(args);
    for (;;) {
      this.agentX = -1;
      this.agentY = -1;
      this.agentDir = -1;
      this.grid = new Grid(this.width, this.height);
      try {
        this.genGrid();
      } catch (e) {
        if (e instanceof RejectLayout) continue;
        throw e;
      }
      break;
    }
    const start = this.grid.get(this.agentX, this.agentY);
    if (this.agentX < 0 || this.agentDir < 0 || (start !== null && !start.canOverlap())) {
      throw new RefineryError("bad_layout", `${this.envName}: generation left the agent at (${this.agentX}, ${this.agentY}) facing ${this.agentDir}`, "place the agent on a free cell with a direction in genGrid()");
    }
    this.carrying = null;
    this.stepCount = 0;
    this.hasState = true;
    return [this.observation(), this.info()];
  }

  override step(action: number): StepResult<GridObs> {
    const a = discreteAction(action, this.actionSpace, this.envName);
    requireReset(this.hasState, this.envName);
    const [reward, terminated] = this.applyAction(a);
    const truncated = this.stepCount >= this.maxSteps;
    return [this.observation(), reward, terminated, truncated, this.info()];
  }

  /**
   * MiniGrid's `step` before observation: count the step, act, return (reward, terminated).
   * Subclasses extend it with their own success rules.
   */
  protected applyAction(a: number): [number, boolean] {
    this.stepCount += 1;
    let reward = 0;
    let terminated = false;
    const [fx, fy] = this.frontPos();
    const front = this.grid.inBounds(fx, fy) ? this.grid.get(fx, fy) : null;
    switch (a) {
      case Actions.left:
        this.agentDir = (this.agentDir + 3) % 4;
        break;
      case Actions.right:
        this.agentDir = (this.agentDir + 1) % 4;
        break;
      case Actions.forward:
        if (front === null || front.canOverlap()) {
          this.agentX = fx;
          this.agentY = fy;
        }
        if (front?.type === "goal") {
          terminated = true;
          reward = this.successReward();
        }
        if (front?.type === "lava") terminated = true;
        break;
      case Actions.pickup:
        if (front?.canPickup() && this.carrying === null) {
          this.carrying = front;
          this.grid.set(fx, fy, null);
        }
        break;
      case Actions.drop:
        if (front === null && this.carrying !== null) {
          this.grid.set(fx, fy, this.carrying);
          this.carrying = null;
        }
        break;
      case Actions.toggle:
        if (front) this.toggle(front, fx, fy);
        break;
      default:
        break; // done: no-op unless an env gives it meaning
    }
    return [reward, terminated];
  }

  /** Door: a locked door opens with a key of its colour; others flip. Box: replaced by its contents. */
  private toggle(obj: WorldObj, x: number, y: number): void {
    if (obj.type === "door") {
      if (obj.isLocked) {
        if (this.carrying?.type === "key" && this.carrying.color === obj.color) {
          obj.isLocked = false;
          obj.isOpen = true;
        }
      } else {
        obj.isOpen = !obj.isOpen;
      }
    } else if (obj.type === "box") {
      this.grid.set(x, y, obj.contains);
    }
  }

  /** The partial observation of the current state. */
  observation(): GridObs {
    // The mission rarely changes within an episode: tokenise it once per string.
    if (this.missionTokensOf !== this.mission) {
      this.missionTokens = encodeMission(this.mission);
      this.missionTokensOf = this.mission;
    }
    return {
      image: egocentricView(this.grid, this.agentX, this.agentY, this.agentDir, this.carrying, this.seeThroughWalls),
      direction: this.agentDir,
      mission: this.missionTokens.slice(),
    };
  }

  /**
   * `info.action_mask`: 1 for each action that can change the state now, 0 for the no-ops
   * (forward into a wall or closed door, pickup with full hands or nothing to take, drop onto
   * an occupied cell, toggle on nothing toggleable or a locked door without its key, done
   * where it means nothing). Turning is always allowed, so some action is always allowed.
   */
  protected info(): Info {
    return { mission: this.mission, action_mask: this.actionMask() };
  }

  actionMask(): Int8Array {
    const mask = new Int8Array(7);
    mask[Actions.left] = 1;
    mask[Actions.right] = 1;
    const [fx, fy] = this.frontPos();
    const inside = this.grid.inBounds(fx, fy);
    const front = inside ? this.grid.get(fx, fy) : null;
    mask[Actions.forward] = inside && (front === null || front.canOverlap()) ? 1 : 0;
    mask[Actions.pickup] = front !== null && front.canPickup() && this.carrying === null ? 1 : 0;
    mask[Actions.drop] = inside && front === null && this.carrying !== null ? 1 : 0;
    let toggle = false;
    if (front?.type === "box") toggle = true;
    if (front?.type === "door") toggle = !front.isLocked || (this.carrying?.type === "key" && this.carrying.color === front.color);
    mask[Actions.toggle] = toggle ? 1 : 0;
    mask[Actions.done] = this.doneMatters() ? 1 : 0;
    this.adjustMask(mask);
    return mask;
  }

  /** Whether `done` does anything in this env (GoToDoor). */
  protected doneMatters(): boolean {
    return false;
  }

  /** Env-specific changes to the mask (e.g. GoToDoor, where toggle ends the episode). */
  protected adjustMask(mask: Int8Array): void {
    void mask;
  }

  // ---------------------------------------------------------------------------------------
  // Snapshots
  // ---------------------------------------------------------------------------------------

  /**
   * The world as numbers: `[width, height, agentX, agentY, agentDir, stepCount, carried(4),
   * cells(4 per cell, row-major by y then x), mission tokens(MISSION_LENGTH), task…]`. An
   * object is `(type, colour, state, contents)` in MiniGrid's index tables, contents being 0
   * or 1 + type·6 + colour of a box's content; an empty cell or empty hands is (1, 0, 0, 0).
   */
  getState(): number[] {
    requireReset(this.hasState, this.envName, "getState");
    const out = [this.width, this.height, this.agentX, this.agentY, this.agentDir, this.stepCount];
    pushObject(out, this.carrying);
    for (const cell of this.grid.cells) pushObject(out, cell);
    out.push(...encodeMission(this.mission));
    out.push(...this.taskState());
    return out;
  }

  setState(state: number[]): void {
    const bad = (why: string): never => {
      throw new ConfigError(`${this.envName}: malformed snapshot: ${why}`, "pass a state returned by getState() of the same env id");
    };
    if (!Array.isArray(state) || state.some((v) => !Number.isSafeInteger(v))) bad(`expected an array of integers, got ${describeValue(state)}`);
    const cells = this.width * this.height;
    const fixed = HEADER + 4 * cells + MISSION_LENGTH;
    if (state[0] !== this.width || state[1] !== this.height) bad(`grid ${state[0]}×${state[1]}, expected ${this.width}×${this.height}`);
    if (state.length < fixed) bad(`${state.length} numbers, expected at least ${fixed}`);
    const [, , x, y, dir, steps] = state;
    if (x < 0 || x >= this.width || y < 0 || y >= this.height || dir < 0 || dir > 3 || steps < 0) bad(`agent (${x}, ${y}) dir ${dir} step ${steps}`);
    const grid = new Grid(this.width, this.height);
    for (let i = 0; i < cells; i++) grid.cells[i] = readObject(state, HEADER + 4 * i, bad);
    const carrying = readObject(state, 6, bad);
    const mission = decodeMission(state.slice(HEADER + 4 * cells, fixed));
    this.setTaskState(state.slice(fixed));
    this.grid = grid;
    this.agentX = x;
    this.agentY = y;
    this.agentDir = dir;
    this.stepCount = steps;
    this.carrying = carrying;
    this.mission = mission;
    this.hasState = true;
  }

  // ---------------------------------------------------------------------------------------
  // Rendering
  // ---------------------------------------------------------------------------------------

  /** The full grid in MiniGrid's tile look (32 px tiles), the agent's view highlighted. */
  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, this.envName, "render");
    const highlight = viewCells(this.grid, this.agentX, this.agentY, this.agentDir, this.seeThroughWalls);
    return renderGrid(this.grid, this.agentX, this.agentY, this.agentDir, highlight);
  }
}

function pushObject(out: number[], obj: WorldObj | null): void {
  if (obj === null) {
    out.push(OBJECT_TO_IDX.empty, 0, 0, 0);
    return;
  }
  const [t, c, s] = obj.encode();
  let contents = 0;
  if (obj.contains) {
    const [ct, cc] = obj.contains.encode();
    contents = 1 + ct * NUM_COLORS + cc;
  }
  out.push(t, c, s, contents);
}

function readObject(state: number[], at: number, bad: (why: string) => never): WorldObj | null {
  const t = state[at], c = state[at + 1], s = state[at + 2], contents = state[at + 3];
  if (t < 1 || t > 9 || c < 0 || c >= NUM_COLORS || s < 0 || s > 2 || contents < 0 || contents > NUM_OBJECTS * NUM_COLORS) bad(`object (${t}, ${c}, ${s}, ${contents}) at index ${at}`);
  const obj = decodeObject(t, c, s);
  if (obj && contents > 0) obj.contains = decodeObject(Math.floor((contents - 1) / NUM_COLORS), (contents - 1) % NUM_COLORS, 0);
  return obj;
}
