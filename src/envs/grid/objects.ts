import { COLOR_TO_IDX, IDX_TO_COLOR, OBJECT_TO_IDX, type Color, type ObjectType } from "./constants.js";

/**
 * A grid object (MiniGrid's `WorldObj` and subclasses) as one small class: the type decides
 * the behaviour, as MiniGrid's subclasses do.
 */
export class WorldObj {
  /** Doors only. */
  isOpen = false;
  /** Doors only; a locked door is also closed. */
  isLocked = false;
  /** Boxes only: what toggling the box reveals (null: nothing). */
  contains: WorldObj | null = null;

  constructor(
    readonly type: ObjectType,
    readonly color: Color,
  ) {}

  /** The agent can stand on it: open doors, goals, lava and floor. */
  canOverlap(): boolean {
    return this.type === "goal" || this.type === "lava" || this.type === "floor" || (this.type === "door" && this.isOpen);
  }

  canPickup(): boolean {
    return this.type === "key" || this.type === "ball" || this.type === "box";
  }

  /** False for walls and closed doors: the view is occluded behind them. */
  seeBehind(): boolean {
    if (this.type === "wall") return false;
    if (this.type === "door") return this.isOpen;
    return true;
  }

  /** `(type, colour, state)` as in MiniGrid's observations; state is 0 except for doors. */
  encode(): [number, number, number] {
    let state = 0;
    if (this.type === "door") state = this.isOpen ? 0 : this.isLocked ? 2 : 1;
    return [OBJECT_TO_IDX[this.type], COLOR_TO_IDX[this.color], state];
  }

  /** A deep copy (box contents included). */
  clone(): WorldObj {
    const o = new WorldObj(this.type, this.color);
    o.isOpen = this.isOpen;
    o.isLocked = this.isLocked;
    o.contains = this.contains ? this.contains.clone() : null;
    return o;
  }
}

export const wall = (color: Color = "grey"): WorldObj => new WorldObj("wall", color);
export const floor = (color: Color = "blue"): WorldObj => new WorldObj("floor", color);
export const goal = (): WorldObj => new WorldObj("goal", "green");
export const lava = (): WorldObj => new WorldObj("lava", "red");
export const key = (color: Color = "blue"): WorldObj => new WorldObj("key", color);
export const ball = (color: Color = "blue"): WorldObj => new WorldObj("ball", color);

export function box(color: Color, contains: WorldObj | null = null): WorldObj {
  const b = new WorldObj("box", color);
  b.contains = contains;
  return b;
}

export function door(color: Color, opts: { isOpen?: boolean; isLocked?: boolean } = {}): WorldObj {
  const d = new WorldObj("door", color);
  d.isLocked = opts.isLocked ?? false;
  d.isOpen = !d.isLocked && (opts.isOpen ?? false);
  return d;
}

/** Builds an object from its encoding (type index, colour index, state); null for empty cells. */
export function decodeObject(type: number, color: number, state: number): WorldObj | null {
  const name = Object.keys(OBJECT_TO_IDX)[type] as ObjectType | "unseen" | "empty" | "agent" | undefined;
  if (name === undefined || name === "unseen" || name === "empty" || name === "agent") return null;
  const obj = new WorldObj(name, IDX_TO_COLOR[color]);
  if (name === "door") {
    obj.isOpen = state === 0;
    obj.isLocked = state === 2;
  }
  return obj;
}
