import { DIR_TO_VEC, OBJECT_TO_IDX, VIEW_SIZE } from "./constants.js";
import { wall, WorldObj } from "./objects.js";

/** A width×height board of cells, each empty (null) or holding one object (MiniGrid's `Grid`). */
export class Grid {
  readonly cells: (WorldObj | null)[];

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.cells = new Array<WorldObj | null>(width * height).fill(null);
  }

  inBounds(x: number, y: number): boolean {
    return x >= 0 && x < this.width && y >= 0 && y < this.height;
  }

  get(x: number, y: number): WorldObj | null {
    return this.cells[y * this.width + x];
  }

  set(x: number, y: number, obj: WorldObj | null): void {
    this.cells[y * this.width + x] = obj;
  }

  /** A wall from (x, y) to the right, `length` cells (default: to the edge). */
  horzWall(x: number, y: number, length = this.width - x, make: () => WorldObj = wall): void {
    for (let i = 0; i < length; i++) this.set(x + i, y, make());
  }

  /** A wall from (x, y) downwards, `length` cells (default: to the edge). */
  vertWall(x: number, y: number, length = this.height - y, make: () => WorldObj = wall): void {
    for (let j = 0; j < length; j++) this.set(x, y + j, make());
  }

  /** The outline of a w×h rectangle with top-left corner (x, y). */
  wallRect(x: number, y: number, w: number, h: number): void {
    this.horzWall(x, y, w);
    this.horzWall(x, y + h - 1, w);
    this.vertWall(x, y, h);
    this.vertWall(x + w - 1, y, h);
  }
}

/**
 * The egocentric view (MiniGrid's `gen_obs_grid` + `process_vis` + `encode`): a
 * VIEW_SIZE² × 3 encoding indexed `[vx][vy][c]`, row-major with vx outermost, as numpy lays
 * out `image[vx][vy][c]`. vx runs along the agent's left → right, vy far → near; the agent
 * sits at (3, 6) looking "up" the array. The world cell at forward distance f and lateral
 * offset l (positive = agent's right) is view cell (3 + l, 6 − f). Cells outside the grid read
 * as grey walls. With `seeThroughWalls` false, cells hidden behind walls and closed doors
 * encode (0, 0, 0). The agent's own cell shows what it carries, else empty.
 */
export function egocentricView(
  grid: Grid,
  agentX: number,
  agentY: number,
  dir: number,
  carrying: WorldObj | null,
  seeThroughWalls: boolean,
  out: Int32Array = new Int32Array(VIEW_SIZE * VIEW_SIZE * 3),
): Int32Array {
  const n = VIEW_SIZE, half = n >> 1;
  const [dx, dy] = DIR_TO_VEC[dir];
  const rx = -dy, ry = dx;
  const outside = wall();
  // view[vx][vy] holds the object of that cell before occlusion.
  const view: (WorldObj | null)[] = new Array<WorldObj | null>(n * n);
  for (let vx = 0; vx < n; vx++) {
    for (let vy = 0; vy < n; vy++) {
      const f = n - 1 - vy, l = vx - half;
      const x = agentX + f * dx + l * rx, y = agentY + f * dy + l * ry;
      view[vx * n + vy] = grid.inBounds(x, y) ? grid.get(x, y) : outside;
    }
  }
  const visible = seeThroughWalls ? new Uint8Array(n * n).fill(1) : visibilityMask(view, n);
  // The agent's cell shows the carried object (after occlusion, as MiniGrid).
  view[half * n + (n - 1)] = carrying;
  for (let vx = 0; vx < n; vx++) {
    for (let vy = 0; vy < n; vy++) {
      const i = vx * n + vy, o = i * 3;
      if (!visible[i]) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
        continue;
      }
      const obj = view[i];
      if (obj === null) {
        out[o] = OBJECT_TO_IDX.empty;
        out[o + 1] = 0;
        out[o + 2] = 0;
      } else {
        const [t, c, s] = obj.encode();
        out[o] = t;
        out[o + 1] = c;
        out[o + 2] = s;
      }
    }
  }
  return out;
}

/**
 * MiniGrid's `process_vis`: starting from the agent's cell, each visible cell that can be seen
 * through lights its right neighbour and (above row 0) the cells above and above-right; then a
 * right-to-left pass does the mirror image. Rows go from the agent's row (vy = n−1) to the far one.
 */
export function visibilityMask(view: readonly (WorldObj | null)[], n: number): Uint8Array {
  const mask = new Uint8Array(n * n);
  const at = (vx: number, vy: number) => vx * n + vy;
  mask[at(n >> 1, n - 1)] = 1;
  const seeThrough = (vx: number, vy: number) => {
    const c = view[at(vx, vy)];
    return c === null || c.seeBehind();
  };
  for (let j = n - 1; j >= 0; j--) {
    for (let i = 0; i < n - 1; i++) {
      if (!mask[at(i, j)] || !seeThrough(i, j)) continue;
      mask[at(i + 1, j)] = 1;
      if (j > 0) {
        mask[at(i + 1, j - 1)] = 1;
        mask[at(i, j - 1)] = 1;
      }
    }
    for (let i = n - 1; i > 0; i--) {
      if (!mask[at(i, j)] || !seeThrough(i, j)) continue;
      mask[at(i - 1, j)] = 1;
      if (j > 0) {
        mask[at(i - 1, j - 1)] = 1;
        mask[at(i, j - 1)] = 1;
      }
    }
  }
  return mask;
}

/**
 * The whole grid encoded `[x][y][c]` (MiniGrid's `FullyObsWrapper`): every cell visible, the
 * agent's cell = (10, 0, dir).
 */
export function fullEncoding(grid: Grid, agentX: number, agentY: number, dir: number): Int32Array {
  const out = new Int32Array(grid.width * grid.height * 3);
  for (let x = 0; x < grid.width; x++) {
    for (let y = 0; y < grid.height; y++) {
      const o = (x * grid.height + y) * 3;
      const obj = grid.get(x, y);
      const [t, c, s] = obj ? obj.encode() : [OBJECT_TO_IDX.empty, 0, 0];
      out[o] = t;
      out[o + 1] = c;
      out[o + 2] = s;
    }
  }
  const a = (agentX * grid.height + agentY) * 3;
  out[a] = OBJECT_TO_IDX.agent;
  out[a + 1] = 0;
  out[a + 2] = dir;
  return out;
}

/** World cells covered by the agent's view (for the render's highlight), as a width×height mask. */
export function viewCells(grid: Grid, agentX: number, agentY: number, dir: number, seeThroughWalls: boolean): Uint8Array {
  const n = VIEW_SIZE, half = n >> 1;
  const [dx, dy] = DIR_TO_VEC[dir];
  const rx = -dy, ry = dx;
  const outside = wall();
  const view: (WorldObj | null)[] = new Array<WorldObj | null>(n * n);
  for (let vx = 0; vx < n; vx++) {
    for (let vy = 0; vy < n; vy++) {
      const f = n - 1 - vy, l = vx - half;
      const x = agentX + f * dx + l * rx, y = agentY + f * dy + l * ry;
      view[vx * n + vy] = grid.inBounds(x, y) ? grid.get(x, y) : outside;
    }
  }
  const visible = seeThroughWalls ? new Uint8Array(n * n).fill(1) : visibilityMask(view, n);
  const out = new Uint8Array(grid.width * grid.height);
  for (let vx = 0; vx < n; vx++) {
    for (let vy = 0; vy < n; vy++) {
      if (!visible[vx * n + vy]) continue;
      const f = n - 1 - vy, l = vx - half;
      const x = agentX + f * dx + l * rx, y = agentY + f * dy + l * ry;
      if (grid.inBounds(x, y)) out[y * grid.width + x] = 1;
    }
  }
  return out;
}
