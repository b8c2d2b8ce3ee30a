import { ConfigError, describeValue } from "../../core/errors.js";
import { Actions, COLOR_NAMES, COLOR_TO_IDX, IDX_TO_COLOR, type Color } from "./constants.js";
import { MiniGridEnv } from "./minigrid_env.js";
import { door, goal, key, lava, WorldObj } from "./objects.js";

function sizeOption(value: unknown, min: number, envName: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new ConfigError(`${envName}: size ${describeValue(value)} is not an integer >= ${min}`, `pass size >= ${min}`);
  }
  return value as number;
}

/**
 * `MiniGrid-Empty-NxN-v0`: an empty room, the goal in the bottom-right corner, the agent at
 * (1, 1) facing right (`randomStart: true`: a random free cell and direction, as
 * `Empty-Random-*`). max_steps 4·N².
 */
export class EmptyEnv extends MiniGridEnv {
  readonly randomStart: boolean;
  constructor(kwargs: Record<string, unknown> = {}) {
    const size = sizeOption(kwargs.size ?? 8, 3, "MiniGrid-Empty");
    super({ width: size, height: size, maxSteps: 4 * size * size, seeThroughWalls: true, envName: `MiniGrid-Empty-${size}x${size}-v0` });
    const o = this.readOptions(kwargs, ["size", "randomStart"]);
    this.randomStart = o.randomStart === true;
  }
  protected genGrid(): void {
    this.grid.wallRect(0, 0, this.width, this.height);
    this.grid.set(this.width - 2, this.height - 2, goal());
    if (this.randomStart) {
      this.placeAgent();
    } else {
      this.agentX = 1;
      this.agentY = 1;
      this.agentDir = 0;
    }
    this.mission = "get to the green goal square";
  }
}

/**
 * `MiniGrid-DoorKey-NxN-v0`: a wall splits the room; the agent and a yellow key are left of
 * it, a locked yellow door in it, the goal bottom-right. max_steps 10·N².
 */
export class DoorKeyEnv extends MiniGridEnv {
  constructor(kwargs: Record<string, unknown> = {}) {
    const size = sizeOption(kwargs.size ?? 8, 5, "MiniGrid-DoorKey");
    super({ width: size, height: size, maxSteps: 10 * size * size, seeThroughWalls: false, envName: `MiniGrid-DoorKey-${size}x${size}-v0` });
    this.readOptions(kwargs, ["size"]);
  }
  protected genGrid(): void {
    const w = this.width, h = this.height;
    this.grid.wallRect(0, 0, w, h);
    this.grid.set(w - 2, h - 2, goal());
    const split = this.randInt(2, w - 2);
    this.grid.vertWall(split, 0);
    this.placeAgent([0, 0], [split, h]);
    const doorY = this.randInt(1, w - 2);
    this.grid.set(split, doorY, door("yellow", { isLocked: true }));
    this.placeObj(key("yellow"), [0, 0], [split, h]);
    this.mission = "use the key to open the door and then get to the goal";
  }
}

/**
 * `MiniGrid-FourRooms-v0`: 19×19, walls at x = 9 and y = 9 with one gap per wall segment,
 * agent and goal uniform on free cells. max_steps 100.
 */
export class FourRoomsEnv extends MiniGridEnv {
  constructor(kwargs: Record<string, unknown> = {}) {
    super({ width: 19, height: 19, maxSteps: 100, seeThroughWalls: false, envName: "MiniGrid-FourRooms-v0" });
    this.readOptions(kwargs);
  }
  protected genGrid(): void {
    const w = this.width, h = this.height;
    const g = this.grid;
    g.horzWall(0, 0);
    g.horzWall(0, h - 1);
    g.vertWall(0, 0);
    g.vertWall(w - 1, 0);
    const roomW = Math.floor(w / 2), roomH = Math.floor(h / 2);
    for (let j = 0; j < 2; j++) {
      for (let i = 0; i < 2; i++) {
        const xL = i * roomW, yT = j * roomH, xR = xL + roomW, yB = yT + roomH;
        if (i + 1 < 2) {
          g.vertWall(xR, yT, roomH);
          g.set(xR, this.randInt(yT + 1, yB), null);
        }
        if (j + 1 < 2) {
          g.horzWall(xL, yB, roomW);
          g.set(this.randInt(xL + 1, xR), yB, null);
        }
      }
    }
    this.placeAgent();
    this.placeObj(goal());
    this.mission = "reach the goal";
  }
}

/**
 * `MiniGrid-LavaGapSN-v0`: agent (1, 1) facing right, goal bottom-right, a lava column with
 * one gap between them; stepping into lava ends the episode with reward 0. max_steps 4·N².
 */
export class LavaGapEnv extends MiniGridEnv {
  constructor(kwargs: Record<string, unknown> = {}) {
    const size = sizeOption(kwargs.size ?? 5, 5, "MiniGrid-LavaGap");
    super({ width: size, height: size, maxSteps: 4 * size * size, seeThroughWalls: false, envName: `MiniGrid-LavaGapS${size}-v0` });
    this.readOptions(kwargs, ["size"]);
  }
  protected genGrid(): void {
    const w = this.width, h = this.height;
    this.grid.wallRect(0, 0, w, h);
    this.agentX = 1;
    this.agentY = 1;
    this.agentDir = 0;
    this.grid.set(w - 2, h - 2, goal());
    const gapX = this.randInt(2, w - 2);
    const gapY = this.randInt(1, h - 1);
    this.grid.vertWall(gapX, 1, h - 2, lava);
    this.grid.set(gapX, gapY, null);
    this.mission = "avoid the lava and get to the green goal square";
  }
}

/**
 * `MiniGrid-GoToDoor-NxN-v0`: a room of random size W, H ∈ [5, N] with one door per wall in
 * four distinct colours; success is `done` while 4-adjacent to the named door (reward
 * 1 − 0.9·t/T); `toggle` or `done` anywhere else ends the episode with 0. max_steps 4·N².
 */
export class GoToDoorEnv extends MiniGridEnv {
  targetX = 0;
  targetY = 0;
  targetColor: Color = "red";
  constructor(kwargs: Record<string, unknown> = {}) {
    const size = sizeOption(kwargs.size ?? 5, 5, "MiniGrid-GoToDoor");
    super({ width: size, height: size, maxSteps: 4 * size * size, seeThroughWalls: true, envName: `MiniGrid-GoToDoor-${size}x${size}-v0` });
    this.readOptions(kwargs, ["size"]);
  }
  protected genGrid(): void {
    const w = this.randInt(5, this.width + 1);
    const h = this.randInt(5, this.height + 1);
    this.grid.wallRect(0, 0, w, h);
    const pos: [number, number][] = [
      [this.randInt(2, w - 2), 0],
      [this.randInt(2, w - 2), h - 1],
      [0, this.randInt(2, h - 2)],
      [w - 1, this.randInt(2, h - 2)],
    ];
    const colors: Color[] = [];
    while (colors.length < pos.length) {
      const c = this.randElem(COLOR_NAMES);
      if (!colors.includes(c)) colors.push(c);
    }
    pos.forEach(([x, y], i) => this.grid.set(x, y, door(colors[i])));
    this.placeAgent([0, 0], [w, h]);
    const t = this.randInt(0, pos.length);
    [this.targetX, this.targetY] = pos[t];
    this.targetColor = colors[t];
    this.mission = `go to the ${this.targetColor} door`;
  }
  protected override applyAction(a: number): [number, boolean] {
    let [reward, terminated] = super.applyAction(a);
    if (a === Actions.toggle) terminated = true;
    if (a === Actions.done) {
      const dx = Math.abs(this.agentX - this.targetX), dy = Math.abs(this.agentY - this.targetY);
      if (dx + dy === 1) reward = this.successReward();
      terminated = true;
    }
    return [reward, terminated];
  }
  protected override doneMatters(): boolean {
    return true;
  }
  protected override adjustMask(mask: Int8Array): void {
    mask[Actions.toggle] = 1; // toggling ends the episode here
  }
  protected override taskState(): number[] {
    return [this.targetX, this.targetY, COLOR_TO_IDX[this.targetColor]];
  }
  protected override setTaskState(s: number[]): void {
    if (s.length !== 3 || s[2] < 0 || s[2] > 5) throw new ConfigError(`${this.envName}: snapshot task part ${describeValue(s)} is not [targetX, targetY, colour]`, "pass a state returned by getState() of the same env id");
    [this.targetX, this.targetY] = s;
    this.targetColor = IDX_TO_COLOR[s[2]];
  }
}

interface ChainRoom {
  top: [number, number];
  size: [number, number];
  entry: [number, number];
}

/**
 * `MiniGrid-MultiRoom-N*-S*-v*`: a chain of rooms of side U[4, maxRoomSize] joined by closed
 * doors (each a colour other than the previous door's), the agent in the first room, the
 * goal in the last. max_steps 20 per room by default.
 */
export class MultiRoomEnv extends MiniGridEnv {
  readonly minNumRooms: number;
  readonly maxNumRooms: number;
  readonly maxRoomSize: number;
  constructor(kwargs: Record<string, unknown> = {}) {
    const minRooms = sizeOption(kwargs.minNumRooms ?? 2, 1, "MiniGrid-MultiRoom");
    const maxRooms = sizeOption(kwargs.maxNumRooms ?? minRooms, minRooms, "MiniGrid-MultiRoom");
    const maxSize = sizeOption(kwargs.maxRoomSize ?? 10, 4, "MiniGrid-MultiRoom");
    const maxSteps = kwargs.maxSteps === undefined ? maxRooms * 20 : sizeOption(kwargs.maxSteps, 1, "MiniGrid-MultiRoom");
    super({ width: 25, height: 25, maxSteps, seeThroughWalls: false, envName: `MiniGrid-MultiRoom-N${maxRooms}-S${maxSize}` });
    this.readOptions(kwargs, ["minNumRooms", "maxNumRooms", "maxRoomSize", "maxSteps"]);
    this.minNumRooms = minRooms;
    this.maxNumRooms = maxRooms;
    this.maxRoomSize = maxSize;
  }
  protected genGrid(): void {
    const numRooms = this.randInt(this.minNumRooms, this.maxNumRooms + 1);
    let rooms: ChainRoom[] = [];
    while (rooms.length < numRooms) {
      const cur: ChainRoom[] = [];
      const entry: [number, number] = [this.randInt(0, this.width - 2), this.randInt(0, this.width - 2)];
      this.placeRoom(numRooms, cur, 4, this.maxRoomSize, 2, entry);
      if (cur.length > rooms.length) rooms = cur;
    }
    let prevColor: Color | null = null;
    rooms.forEach((room, idx) => {
      const [tx, ty] = room.top, [sx, sy] = room.size;
      for (let i = 0; i < sx; i++) {
        this.grid.set(tx + i, ty, new WorldObj("wall", "grey"));
        this.grid.set(tx + i, ty + sy - 1, new WorldObj("wall", "grey"));
      }
      for (let j = 0; j < sy; j++) {
        this.grid.set(tx, ty + j, new WorldObj("wall", "grey"));
        this.grid.set(tx + sx - 1, ty + j, new WorldObj("wall", "grey"));
      }
      if (idx > 0) {
        const choices = COLOR_NAMES.filter((c) => c !== prevColor);
        const color = this.randElem(choices);
        this.grid.set(room.entry[0], room.entry[1], door(color));
        prevColor = color;
      }
    });
    this.placeAgent(rooms[0].top, rooms[0].size);
    const last = rooms[rooms.length - 1];
    this.placeObj(goal(), last.top, last.size);
    this.mission = "traverse the rooms to get to the goal";
  }

  /** MiniGrid's recursive `_placeRoom`, with its draws in the same order. */
  private placeRoom(numLeft: number, rooms: ChainRoom[], minSz: number, maxSz: number, entryWall: number, entry: [number, number]): boolean {
    const sizeX = this.randInt(minSz, maxSz + 1);
    const sizeY = this.randInt(minSz, maxSz + 1);
    let topX: number, topY: number;
    if (rooms.length === 0) {
      [topX, topY] = entry;
    } else if (entryWall === 0) {
      topX = entry[0] - sizeX + 1;
      topY = this.randInt(entry[1] - sizeY + 2, entry[1]);
    } else if (entryWall === 1) {
      topX = this.randInt(entry[0] - sizeX + 2, entry[0]);
      topY = entry[1] - sizeY + 1;
    } else if (entryWall === 2) {
      topX = entry[0];
      topY = this.randInt(entry[1] - sizeY + 2, entry[1]);
    } else {
      topX = this.randInt(entry[0] - sizeX + 2, entry[0]);
      topY = entry[1];
    }
    if (topX < 0 || topY < 0) return false;
    if (topX + sizeX > this.width || topY + sizeY >= this.height) return false;
    for (const room of rooms.slice(0, -1)) {
      const apart = topX + sizeX < room.top[0] || room.top[0] + room.size[0] <= topX || topY + sizeY < room.top[1] || room.top[1] + room.size[1] <= topY;
      if (!apart) return false;
    }
    rooms.push({ top: [topX, topY], size: [sizeX, sizeY], entry });
    if (numLeft === 1) return true;
    for (let i = 0; i < 8; i++) {
      const walls = [0, 1, 2, 3].filter((w) => w !== entryWall);
      const exitWall = this.randElem(walls);
      const nextEntry = (exitWall + 2) % 4;
      let exit: [number, number];
      if (exitWall === 0) exit = [topX + sizeX - 1, topY + this.randInt(1, sizeY - 1)];
      else if (exitWall === 1) exit = [topX + this.randInt(1, sizeX - 1), topY + sizeY - 1];
      else if (exitWall === 2) exit = [topX, topY + this.randInt(1, sizeY - 1)];
      else exit = [topX + this.randInt(1, sizeX - 1), topY];
      if (this.placeRoom(numLeft - 1, rooms, minSz, maxSz, nextEntry, exit)) break;
    }
    return true;
  }
}
