import type { RgbFrame } from "../render/frame.js";
import { COLOR_RGB } from "./constants.js";
import type { Grid } from "./grid.js";
import type { WorldObj } from "./objects.js";

/** Pixels per cell, MiniGrid's `TILE_PIXELS`. */
export const TILE_PIXELS = 32;

type Rgb = readonly [number, number, number];
/** A shape test on tile coordinates in [0, 1]², as MiniGrid's `point_in_*` helpers. */
type Shape = (x: number, y: number) => boolean;

const inRect = (x0: number, x1: number, y0: number, y1: number): Shape => (x, y) => x >= x0 && x <= x1 && y >= y0 && y <= y1;
const inCircle = (cx: number, cy: number, r: number): Shape => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
function inTriangle(a: readonly [number, number], b: readonly [number, number], c: readonly [number, number]): Shape {
  return (x, y) => {
    const s = (p: readonly [number, number], q: readonly [number, number]) => (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1]);
    const d1 = s(a, b), d2 = s(b, c), d3 = s(c, a);
    return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
  };
}
function inLine(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  return (x, y) => {
    const dx = x1 - x0, dy = y1 - y0;
    const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)));
    const px = x0 + t * dx, py = y0 + t * dy;
    return (x - px) ** 2 + (y - py) ** 2 <= r * r;
  };
}

/** One tile's pixels, drawn by filling shapes (pixel centres tested against each shape). */
class Tile {
  readonly data = new Uint8Array(TILE_PIXELS * TILE_PIXELS * 3);
  fill(shape: Shape, c: Rgb): void {
    const n = TILE_PIXELS;
    for (let py = 0; py < n; py++) {
      for (let px = 0; px < n; px++) {
        if (!shape((px + 0.5) / n, (py + 0.5) / n)) continue;
        const o = (py * n + px) * 3;
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
      }
    }
  }
}

const scale = (c: Rgb, f: number): Rgb => [Math.floor(c[0] * f), Math.floor(c[1] * f), Math.floor(c[2] * f)];
const BLACK: Rgb = [0, 0, 0];

function drawObject(tile: Tile, obj: WorldObj): void {
  const c = COLOR_RGB[obj.color];
  switch (obj.type) {
    case "wall":
      tile.fill(inRect(0, 1, 0, 1), c);
      break;
    case "goal":
      tile.fill(inRect(0, 1, 0, 1), c);
      break;
    case "floor":
      tile.fill(inRect(0.031, 1, 0.031, 1), scale(c, 0.5));
      break;
    case "lava":
      tile.fill(inRect(0, 1, 0, 1), [255, 128, 0]);
      for (const y of [0.3, 0.5, 0.7]) {
        // Three black wavy lines, as MiniGrid draws.
        for (const [x0, x1, dy0, dy1] of [[0.1, 0.3, 0, 0.03], [0.3, 0.5, 0.03, 0], [0.5, 0.7, 0, 0.03], [0.7, 0.9, 0.03, 0]] as const) {
          tile.fill(inLine(x0, y + dy0, x1, y + dy1, 0.03), BLACK);
        }
      }
      break;
    case "door":
      if (obj.isOpen) {
        tile.fill(inRect(0.88, 1, 0, 1), c);
        tile.fill(inRect(0.92, 0.96, 0.04, 0.96), BLACK);
      } else if (obj.isLocked) {
        tile.fill(inRect(0, 1, 0, 1), c);
        tile.fill(inRect(0.06, 0.94, 0.06, 0.94), scale(c, 0.45));
        tile.fill(inRect(0.52, 0.75, 0.5, 0.56), c); // key slot
      } else {
        tile.fill(inRect(0, 1, 0, 1), c);
        tile.fill(inRect(0.04, 0.96, 0.04, 0.96), BLACK);
        tile.fill(inRect(0.08, 0.92, 0.08, 0.92), c);
        tile.fill(inRect(0.12, 0.88, 0.12, 0.88), BLACK);
        tile.fill(inCircle(0.75, 0.5, 0.08), c); // handle
      }
      break;
    case "key":
      tile.fill(inRect(0.5, 0.63, 0.31, 0.88), c); // shaft
      tile.fill(inRect(0.38, 0.5, 0.59, 0.66), c); // teeth
      tile.fill(inRect(0.38, 0.5, 0.81, 0.88), c);
      tile.fill(inCircle(0.56, 0.28, 0.19), c); // ring
      tile.fill(inCircle(0.56, 0.28, 0.064), BLACK);
      break;
    case "ball":
      tile.fill(inCircle(0.5, 0.5, 0.31), c);
      break;
    case "box":
      tile.fill(inRect(0.12, 0.88, 0.12, 0.88), c);
      tile.fill(inRect(0.18, 0.82, 0.18, 0.82), BLACK);
      tile.fill(inRect(0.16, 0.84, 0.47, 0.53), c);
      break;
  }
}

function drawAgent(tile: Tile, dir: number): void {
  // MiniGrid's triangle pointing right, rotated by 90° per direction about the centre.
  const rot = (p: readonly [number, number]): [number, number] => {
    const a = (Math.PI / 2) * dir;
    const x = p[0] - 0.5, y = p[1] - 0.5;
    return [0.5 + x * Math.cos(a) - y * Math.sin(a), 0.5 + x * Math.sin(a) + y * Math.cos(a)];
  };
  tile.fill(inTriangle(rot([0.12, 0.19]), rot([0.87, 0.5]), rot([0.12, 0.81])), [255, 0, 0]);
}

/**
 * The whole grid, MiniGrid's `rgb_array` look: black floor with grey grid lines, 32-pixel
 * tiles, the agent as a red triangle, and the cells the agent sees lightened toward white.
 */
export function renderGrid(grid: Grid, agentX: number, agentY: number, agentDir: number, highlight: Uint8Array | null): RgbFrame {
  const n = TILE_PIXELS;
  const width = grid.width * n, height = grid.height * n;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const tile = new Tile();
      // Grid lines on the top and left edge of every tile.
      tile.fill(inRect(0, 0.031, 0, 1), [100, 100, 100]);
      tile.fill(inRect(0, 1, 0, 0.031), [100, 100, 100]);
      const obj = grid.get(x, y);
      if (obj) drawObject(tile, obj);
      if (x === agentX && y === agentY) drawAgent(tile, agentDir);
      const lit = highlight !== null && highlight[y * grid.width + x] === 1;
      for (let py = 0; py < n; py++) {
        const src = py * n * 3;
        const dst = ((y * n + py) * width + x * n) * 3;
        for (let i = 0; i < n * 3; i++) {
          const v = tile.data[src + i];
          data[dst + i] = lit ? v + Math.floor((255 - v) * 0.3) : v;
        }
      }
    }
  }
  return { width, height, data };
}
