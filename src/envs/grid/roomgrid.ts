import { ConfigError, describeValue } from "../../core/errors.js";
import { Actions, COLOR_NAMES, COLOR_TO_IDX, IDX_TO_COLOR, type Color } from "./constants.js";
import { MiniGridEnv, RejectLayout, type MiniGridOptions } from "./minigrid_env.js";
import { ball, box, door, key, WorldObj } from "./objects.js";

/** A room of a RoomGrid; door slots are ordered right, down, left, up. */
export class Room {
  readonly doors: (WorldObj | true | null)[] = [null, null, null, null];
  readonly doorPos: ([number, number] | null)[] = [null, null, null, null];
  readonly neighbors: (Room | null)[] = [null, null, null, null];
  locked = false;
  readonly objs: WorldObj[] = [];
  constructor(
    readonly top: [number, number],
    readonly size: [number, number],
  ) {}
  posInside(x: number, y: number): boolean {
    return x >= this.top[0] && y >= this.top[1] && x < this.top[0] + this.size[0] && y < this.top[1] + this.size[1];
  }
}

export type ObjKind = "key" | "ball" | "box";

/**
 * MiniGrid's `RoomGrid`: rows × cols square rooms of side `roomSize` sharing walls (grid side
 * (roomSize − 1)·count + 1), with helpers to add doors, objects and the agent in rooms.
 * `layoutRooms()` draws every room's east and south door position row-major, even where no
 * door is placed, as MiniGrid does.
 */
export abstract class RoomGridEnv extends MiniGridEnv {
  readonly roomSize: number;
  readonly numRows: number;
  readonly numCols: number;
  roomGrid: Room[][] = [];

  constructor(opts: { roomSize: number; numRows: number; numCols: number; maxSteps: number; envName: string }) {
    const base: MiniGridOptions = {
      width: (opts.roomSize - 1) * opts.numCols + 1,
      height: (opts.roomSize - 1) * opts.numRows + 1,
      maxSteps: opts.maxSteps,
      seeThroughWalls: false,
      envName: opts.envName,
    };
    super(base);
    this.roomSize = opts.roomSize;
    this.numRows = opts.numRows;
    this.numCols = opts.numCols;
  }

  protected layoutRooms(): void {
    const s = this.roomSize;
    this.roomGrid = [];
    for (let j = 0; j < this.numRows; j++) {
      const row: Room[] = [];
      for (let i = 0; i < this.numCols; i++) {
        const room = new Room([i * (s - 1), j * (s - 1)], [s, s]);
        row.push(room);
        this.grid.wallRect(room.top[0], room.top[1], s, s);
      }
      this.roomGrid.push(row);
    }
    for (let j = 0; j < this.numRows; j++) {
      for (let i = 0; i < this.numCols; i++) {
        const room = this.roomGrid[j][i];
        const xl = room.top[0] + 1, yl = room.top[1] + 1;
        const xm = room.top[0] + room.size[0] - 1, ym = room.top[1] + room.size[1] - 1;
        if (i < this.numCols - 1) {
          room.neighbors[0] = this.roomGrid[j][i + 1];
          room.doorPos[0] = [xm, this.randInt(yl, ym)];
        }
        if (j < this.numRows - 1) {
          room.neighbors[1] = this.roomGrid[j + 1][i];
          room.doorPos[1] = [this.randInt(xl, xm), ym];
        }
        if (i > 0) {
          room.neighbors[2] = this.roomGrid[j][i - 1];
          room.doorPos[2] = room.neighbors[2].doorPos[0];
        }
        if (j > 0) {
          room.neighbors[3] = this.roomGrid[j - 1][i];
          room.doorPos[3] = room.neighbors[3].doorPos[1];
        }
      }
    }
    // The agent starts in the middle room's centre, facing right, until placed.
    this.agentX = Math.floor(this.numCols / 2) * (s - 1) + Math.floor(s / 2);
    this.agentY = Math.floor(this.numRows / 2) * (s - 1) + Math.floor(s / 2);
    this.agentDir = 0;
  }

  getRoom(i: number, j: number): Room {
    return this.roomGrid[j][i];
  }

  roomFromPos(x: number, y: number): Room {
    return this.roomGrid[Math.floor(y / (this.roomSize - 1))][Math.floor(x / (this.roomSize - 1))];
  }

  /** Puts `obj` on a free cell of room (i, j) not next to the agent. */
  placeInRoom(i: number, j: number, obj: WorldObj): [number, number] {
    const room = this.getRoom(i, j);
    const pos = this.placeObj(obj, room.top, room.size, (x, y) => Math.abs(this.agentX - x) + Math.abs(this.agentY - y) < 2, 1000);
    room.objs.push(obj);
    return pos;
  }

  addObject(i: number, j: number, kind?: ObjKind, color?: Color): [WorldObj, [number, number]] {
    const k = kind ?? this.randElem<ObjKind>(["key", "ball", "box"]);
    const c = color ?? this.randColor();
    const obj = k === "key" ? key(c) : k === "ball" ? ball(c) : box(c);
    return [obj, this.placeInRoom(i, j, obj)];
  }

  addDoor(i: number, j: number, doorIdx?: number, color?: Color, locked?: boolean): [WorldObj, [number, number]] {
    const room = this.getRoom(i, j);
    let idx = doorIdx;
    if (idx === undefined) {
      for (;;) {
        idx = this.randInt(0, 4);
        if (room.neighbors[idx] && room.doors[idx] === null) break;
      }
    }
    const c = color ?? this.randColor();
    const isLocked = locked ?? this.randBool();
    room.locked = isLocked;
    const d = door(c, { isLocked });
    const pos = room.doorPos[idx]!;
    this.grid.set(pos[0], pos[1], d);
    room.doors[idx] = d;
    room.neighbors[idx]!.doors[(idx + 2) % 4] = d;
    return [d, pos];
  }

  removeWall(i: number, j: number, wallIdx: number): void {
    const room = this.getRoom(i, j);
    const [tx, ty] = room.top, [w, h] = room.size;
    if (wallIdx === 0) for (let k = 1; k < h - 1; k++) this.grid.set(tx + w - 1, ty + k, null);
    else if (wallIdx === 1) for (let k = 1; k < w - 1; k++) this.grid.set(tx + k, ty + h - 1, null);
    else if (wallIdx === 2) for (let k = 1; k < h - 1; k++) this.grid.set(tx, ty + k, null);
    else for (let k = 1; k < w - 1; k++) this.grid.set(tx + k, ty, null);
    room.doors[wallIdx] = true;
    room.neighbors[wallIdx]!.doors[(wallIdx + 2) % 4] = true;
  }

  /** The agent in room (i, j) (random rooms when omitted), re-drawn until it does not face an object. */
  placeAgentInRoom(i?: number, j?: number, randDir = true): [number, number] {
    const ri = i ?? this.randInt(0, this.numCols);
    const rj = j ?? this.randInt(0, this.numRows);
    const room = this.getRoom(ri, rj);
    for (;;) {
      this.placeAgent(room.top, room.size, randDir, 1000);
      const [fx, fy] = this.frontPos();
      const front = this.grid.get(fx, fy);
      if (front === null || front.type === "wall") return [this.agentX, this.agentY];
    }
  }

  /** Adds unlocked doors at random until every room is reachable from the agent's room. */
  connectAll(doorColors: readonly Color[] = COLOR_NAMES, maxIters = 5000): WorldObj[] {
    const start = this.roomFromPos(this.agentX, this.agentY);
    const added: WorldObj[] = [];
    const reach = (): number => {
      const seen = new Set<Room>();
      const stack = [start];
      while (stack.length) {
        const room = stack.pop()!;
        if (seen.has(room)) continue;
        seen.add(room);
        for (let k = 0; k < 4; k++) if (room.doors[k]) stack.push(room.neighbors[k]!);
      }
      return seen.size;
    };
    for (let iter = 0; ; iter++) {
      if (iter > maxIters) throw new RejectLayout("connectAll failed");
      if (reach() === this.numRows * this.numCols) break;
      const i = this.randInt(0, this.numCols), j = this.randInt(0, this.numRows), k = this.randInt(0, 4);
      const room = this.getRoom(i, j);
      if (!room.doorPos[k] || room.doors[k]) continue;
      if (room.locked || room.neighbors[k]!.locked) continue;
      const color = this.randElem(doorColors);
      added.push(this.addDoor(i, j, k, color, false)[0]);
    }
    return added;
  }

  /** `num` random key/ball/box objects in room (i, j) or random rooms (MiniGrid's `add_distractors`). */
  addDistractors(i: number | undefined, j: number | undefined, num: number, allUnique: boolean): WorldObj[] {
    const existing: string[] = [];
    for (const row of this.roomGrid) for (const room of row) for (const o of room.objs) existing.push(`${o.type}:${o.color}`);
    const out: WorldObj[] = [];
    while (out.length < num) {
      const color = this.randElem(COLOR_NAMES);
      const type = this.randElem<ObjKind>(["key", "ball", "box"]);
      if (allUnique && existing.includes(`${type}:${color}`)) continue;
      const ri = i ?? this.randInt(0, this.numCols);
      const rj = j ?? this.randInt(0, this.numRows);
      const [obj] = this.addObject(ri, rj, type, color);
      existing.push(`${type}:${color}`);
      out.push(obj);
    }
    return out;
  }
}

/**
 * `MiniGrid-KeyCorridorS3R{1,2,3}-v0`: 3 × R rooms of side 3; the middle column is a hallway;
 * a ball sits behind a locked door in the right column, its key in the left column.
 * Success: picking up the ball (reward 1 − 0.9·t/T). max_steps 30·S².
 */
export class KeyCorridorEnv extends RoomGridEnv {
  targetColor: Color = "red";
  constructor(kwargs: Record<string, unknown> = {}) {
    const numRows = kwargs.numRows ?? 3, roomSize = kwargs.roomSize ?? 6;
    if (!Number.isSafeInteger(numRows) || (numRows as number) < 1 || !Number.isSafeInteger(roomSize) || (roomSize as number) < 3) {
      throw new ConfigError(`MiniGrid-KeyCorridor: numRows ${describeValue(numRows)} / roomSize ${describeValue(roomSize)} invalid`, "pass numRows >= 1 and roomSize >= 3");
    }
    const s = roomSize as number, r = numRows as number;
    super({ roomSize: s, numRows: r, numCols: 3, maxSteps: 30 * s * s, envName: `MiniGrid-KeyCorridorS${s}R${r}-v0` });
    this.readOptions(kwargs, ["numRows", "roomSize"]);
  }
  protected genGrid(): void {
    this.layoutRooms();
    for (let j = 1; j < this.numRows; j++) this.removeWall(1, j, 3);
    const row = this.randInt(0, this.numRows);
    const [d] = this.addDoor(2, row, 2, undefined, true);
    const [obj] = this.addObject(2, row, "ball");
    this.addObject(0, this.randInt(0, this.numRows), "key", d.color);
    this.placeAgentInRoom(1, Math.floor(this.numRows / 2));
    this.connectAll();
    this.targetColor = obj.color;
    this.mission = `pick up the ${obj.color} ball`;
  }
  protected override applyAction(a: number): [number, boolean] {
    let [reward, terminated] = super.applyAction(a);
    // The only ball of the level is the target, so type and colour identify it.
    if (a === Actions.pickup && this.carrying?.type === "ball" && this.carrying.color === this.targetColor) {
      reward = this.successReward();
      terminated = true;
    }
    return [reward, terminated];
  }
  protected override taskState(): number[] {
    return [COLOR_TO_IDX[this.targetColor]];
  }
  protected override setTaskState(s: number[]): void {
    if (s.length !== 1 || !(s[0] >= 0 && s[0] < 6)) throw new ConfigError(`${this.envName}: snapshot task part ${describeValue(s)} is not [ballColour]`, "pass a state returned by getState() of the same env id");
    this.targetColor = IDX_TO_COLOR[s[0]];
  }
}

/**
 * `MiniGrid-Unlock-v0`: two rooms of side 6 joined by a locked door of random colour; the key
 * and the agent are in the left room. Success: the toggle that opens the door. max_steps 288.
 */
export class UnlockEnv extends RoomGridEnv {
  doorX = 0;
  doorY = 0;
  constructor(kwargs: Record<string, unknown> = {}) {
    super({ roomSize: 6, numRows: 1, numCols: 2, maxSteps: 8 * 36, envName: "MiniGrid-Unlock-v0" });
    this.readOptions(kwargs);
  }
  protected genGrid(): void {
    this.layoutRooms();
    const [d, pos] = this.addDoor(0, 0, 0, undefined, true);
    this.addObject(0, 0, "key", d.color);
    this.placeAgentInRoom(0, 0);
    [this.doorX, this.doorY] = pos;
    this.mission = "open the door";
  }
  protected override applyAction(a: number): [number, boolean] {
    let [reward, terminated] = super.applyAction(a);
    const d = this.grid.get(this.doorX, this.doorY);
    if (a === Actions.toggle && d?.type === "door" && d.isOpen) {
      reward = this.successReward();
      terminated = true;
    }
    return [reward, terminated];
  }
  protected override taskState(): number[] {
    return [this.doorX, this.doorY];
  }
  protected override setTaskState(s: number[]): void {
    if (s.length !== 2) throw new ConfigError(`${this.envName}: snapshot task part ${describeValue(s)} is not [doorX, doorY]`, "pass a state returned by getState() of the same env id");
    [this.doorX, this.doorY] = s;
  }
}

/** Every non-wall object must be reachable from the agent through empty cells and doors (BabyAI's check). */
export function allObjectsReachable(env: RoomGridEnv): boolean {
  const { grid } = env;
  const seen = new Uint8Array(grid.width * grid.height);
  const stack: [number, number][] = [[env.agentX, env.agentY]];
  while (stack.length) {
    const [x, y] = stack.pop()!;
    if (!grid.inBounds(x, y) || seen[y * grid.width + x]) continue;
    seen[y * grid.width + x] = 1;
    const cell = grid.get(x, y);
    if (cell && cell.type !== "door" && !(x === env.agentX && y === env.agentY)) continue;
    stack.push([x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]);
  }
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const cell = grid.get(x, y);
      if (cell && cell.type !== "wall" && !seen[y * grid.width + x]) return false;
    }
  }
  return true;
}

