import { ConfigError, describeValue } from "../../core/errors.js";
import { Actions, COLOR_NAMES, COLOR_TO_IDX, DIR_TO_VEC, IDX_TO_COLOR, type Color } from "./constants.js";
import { RejectLayout } from "./minigrid_env.js";
import { allObjectsReachable, RoomGridEnv, type ObjKind } from "./roomgrid.js";

/** Locations of BabyAI's object phrases, relative to the agent's start pose. */
export type Loc = "left" | "right" | "front" | "behind";
const LOC_NAMES: readonly Loc[] = ["left", "right", "front", "behind"];
const KIND_IDX: Record<ObjKind, number> = { key: 0, ball: 1, box: 2 };
const KINDS: readonly ObjKind[] = ["key", "ball", "box"];

/** BabyAI's `ObjDesc`: a type, an optional colour, an optional location. */
export interface ObjDesc {
  type: ObjKind;
  color: Color | null;
  loc: Loc | null;
}

/**
 * BabyAI's single-room levels (`RoomGridLevel` with 1×1 rooms of side 8, max_steps 64):
 * success is checked after every action and pays 1 − 0.9·t/T. The mission follows BabyAI's
 * grammar for one clause: `go to | pick up` + object phrase, where the phrase is
 * `the` (exactly one object matches) or `a`, an optional colour, the type, and an optional
 * location (`in front of you`, `behind you`, `on your left`, `on your right`, judged from the
 * agent's start pose).
 */
abstract class BabyAILevel extends RoomGridEnv {
  desc: ObjDesc = { type: "ball", color: null, loc: null };
  /** Start cells of the objects the description matches (the verifier's object set). */
  targets: [number, number][] = [];

  constructor(envName: string, kwargs: Record<string, unknown>) {
    super({ roomSize: 8, numRows: 1, numCols: 1, maxSteps: 64, envName });
    this.readOptions(kwargs);
  }

  /** The cells of objects matching `desc` now, locations judged from the agent's current pose. */
  protected matching(desc: ObjDesc): [number, number][] {
    const out: [number, number][] = [];
    const room = this.roomFromPos(this.agentX, this.agentY);
    const [d1x, d1y] = DIR_TO_VEC[this.agentDir];
    const d2x = -d1y, d2y = d1x;
    for (let x = 0; x < this.width; x++) {
      for (let y = 0; y < this.height; y++) {
        const cell = this.grid.get(x, y);
        if (!cell || cell.type !== desc.type || (desc.color !== null && cell.color !== desc.color)) continue;
        if (desc.loc !== null) {
          if (!room.posInside(x, y)) continue;
          const vx = x - this.agentX, vy = y - this.agentY;
          const along = vx * d1x + vy * d1y, side = vx * d2x + vy * d2y;
          const ok = desc.loc === "left" ? side < 0 : desc.loc === "right" ? side > 0 : desc.loc === "front" ? along > 0 : along < 0;
          if (!ok) continue;
        }
        out.push([x, y]);
      }
    }
    return out;
  }

  /** BabyAI's `ObjDesc.surface`. */
  protected phrase(desc: ObjDesc, count: number): string {
    let s: string = desc.type;
    if (desc.color) s = `${desc.color} ${s}`;
    if (desc.loc === "front") s += " in front of you";
    else if (desc.loc === "behind") s += " behind you";
    else if (desc.loc) s += ` on your ${desc.loc}`;
    return `${count > 1 ? "a" : "the"} ${s}`;
  }

  protected override taskState(): number[] {
    const d = this.desc;
    const out = [KIND_IDX[d.type], d.color === null ? -1 : COLOR_TO_IDX[d.color], d.loc === null ? -1 : LOC_NAMES.indexOf(d.loc), this.targets.length];
    for (const [x, y] of this.targets) out.push(x, y);
    return out;
  }

  protected override setTaskState(s: number[]): void {
    const ok = s.length >= 4 && s[0] >= 0 && s[0] < 3 && s[1] >= -1 && s[1] < 6 && s[2] >= -1 && s[2] < 4 && s.length === 4 + 2 * s[3];
    if (!ok) throw new ConfigError(`${this.envName}: snapshot task part ${describeValue(s)} is not [type, colour, location, n, x1, y1, …]`, "pass a state returned by getState() of the same env id");
    this.desc = { type: KINDS[s[0]], color: s[1] < 0 ? null : IDX_TO_COLOR[s[1]], loc: s[2] < 0 ? null : LOC_NAMES[s[2]] };
    this.targets = [];
    for (let i = 0; i < s[3]; i++) this.targets.push([s[4 + 2 * i], s[5 + 2 * i]]);
  }
}

/**
 * `BabyAI-GoToLocal-v0`: one 8×8 room, 8 random objects; go to (face) a matching object.
 * Success as soon as an object of the described type and colour is in the front cell.
 */
export class GoToLocalEnv extends BabyAILevel {
  constructor(kwargs: Record<string, unknown> = {}) {
    super("BabyAI-GoToLocal-v0", kwargs);
  }
  protected genGrid(): void {
    this.layoutRooms();
    this.placeAgentInRoom();
    const objs = this.addDistractors(undefined, undefined, 8, false);
    if (!allObjectsReachable(this)) throw new RejectLayout("unreachable object");
    const obj = this.randElem(objs);
    this.desc = { type: obj.type as ObjKind, color: obj.color, loc: null };
    this.targets = this.matching(this.desc);
    this.mission = `go to ${this.phrase(this.desc, this.targets.length)}`;
  }
  protected override applyAction(a: number): [number, boolean] {
    let [reward, terminated] = super.applyAction(a);
    const [fx, fy] = this.frontPos();
    const front = this.grid.inBounds(fx, fy) ? this.grid.get(fx, fy) : null;
    if (front && front.type === this.desc.type && (this.desc.color === null || front.color === this.desc.color)) {
      reward = this.successReward();
      terminated = true;
    }
    return [reward, terminated];
  }
}

/**
 * `BabyAI-PickupLoc-v0`: one 8×8 room, 8 random objects; pick up an object described by
 * type, maybe colour and maybe location. Success when the pickup of this step grabbed one of
 * the objects the description matched at the start.
 */
export class PickupLocEnv extends BabyAILevel {
  constructor(kwargs: Record<string, unknown> = {}) {
    super("BabyAI-PickupLoc-v0", kwargs);
  }
  protected genGrid(): void {
    this.layoutRooms();
    this.addDistractors(undefined, undefined, 8, false);
    this.placeAgentInRoom();
    if (!allObjectsReachable(this)) throw new RejectLayout("unreachable object");
    // rand_instr: one "action" clause of kind "pickup" (both single-choice draws, kept for the order).
    this.randElem(["action"]);
    this.randElem(["pickup"]);
    for (let tries = 0; ; tries++) {
      if (tries > 100) throw new RejectLayout("no describable object");
      const color = this.randElem<Color | null>([null, ...COLOR_NAMES]);
      const type = this.randElem<ObjKind>(["box", "ball", "key"]);
      const loc = this.randBool() ? this.randElem(LOC_NAMES) : null;
      const desc: ObjDesc = { type, color, loc };
      const found = this.matching(desc);
      if (found.length === 0) continue;
      this.desc = desc;
      this.targets = found;
      break;
    }
    this.mission = `pick up ${this.phrase(this.desc, this.targets.length)}`;
  }
  protected override applyAction(a: number): [number, boolean] {
    const before = this.carrying;
    const [fx, fy] = this.frontPos();
    let [reward, terminated] = super.applyAction(a);
    // The grabbed object left (fx, fy); objects never move onto a matched start cell while
    // its object is still there, so the start cell identifies the object.
    if (a === Actions.pickup && before === null && this.carrying !== null && this.targets.some(([x, y]) => x === fx && y === fy)) {
      reward = this.successReward();
      terminated = true;
    }
    return [reward, terminated];
  }
}
