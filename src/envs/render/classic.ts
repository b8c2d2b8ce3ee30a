import type { RgbFrame } from "./frame.js";
import { rotate, Surface, type Rgb } from "./surface.js";

/**
 * The pictures of Gymnasium's classic-control envs (`render_mode="rgb_array"`): the same
 * sizes, colours, geometry, drawing order and final vertical flip as Gymnasium 1.x's
 * `render()` methods, drawn with the rasteriser in surface.ts. Each function is pure:
 * state in, frame out.
 *
 * Coordinates are computed in float64. Where Gymnasium's state is float32 (Acrobot right
 * after a reset, MountainCarContinuous after a step) numpy computes them in float32; the
 * two agree to ~1e-4 px, so a vertex lands on another pixel only when a coordinate falls
 * that close to an integer.
 */

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
type Point = [number, number];

/** Rotates the corners of an axis-aligned rectangle [l, r] × [b, t] and moves them to (ox, oy). */
function box(l: number, r: number, t: number, b: number, angle: number, ox: number, oy: number): Point[] {
  return ([[l, b], [l, t], [r, t], [r, b]] as Point[]).map(([x, y]) => {
    const [rx, ry] = rotate(x, y, angle);
    return [rx + ox, ry + oy];
  });
}

/** Gymnasium draws every filled shape twice: an anti-aliased outline, then the fill on top. */
function polygon(s: Surface, points: Point[], c: Rgb): void {
  s.aaPolygon(points, c);
  s.filledPolygon(points, c);
}

function disc(s: Surface, x: number, y: number, r: number, c: Rgb): void {
  s.aaCircle(x, y, r, c);
  s.filledCircle(x, y, r, c);
}

export const CARTPOLE_SIZE = { width: 600, height: 400 } as const;
export const ACROBOT_SIZE = { width: 500, height: 500 } as const;
export const MOUNTAIN_CAR_SIZE = { width: 600, height: 400 } as const;
export const PENDULUM_SIZE = { width: 500, height: 500 } as const;

/**
 * CartPole-v1: a black 50×30 cart whose top is 100 px above the bottom, a brown
 * (202, 152, 101) pole 10 px wide and `2·length·scale` long hinged 7.5 px above the cart's
 * centre line, a blue-grey (129, 132, 203) axle of radius 5 and a black track line; the
 * world spans ±xThreshold·2 over the 600 px width.
 */
export function renderCartPole(state: ArrayLike<number>, params: { xThreshold?: number; length?: number } = {}): RgbFrame {
  const { width, height } = CARTPOLE_SIZE;
  const xThreshold = params.xThreshold ?? 2.4, length = params.length ?? 0.5;
  const s = new Surface(width, height);
  s.fill(WHITE);
  const scale = width / (xThreshold * 2);
  const polewidth = 10.0, polelen = scale * (2 * length), cartwidth = 50.0, cartheight = 30.0;
  const axleoffset = cartheight / 4.0;
  const cartx = state[0] * scale + width / 2.0;
  const carty = 100;
  polygon(s, box(-cartwidth / 2, cartwidth / 2, cartheight / 2, -cartheight / 2, 0, cartx, carty), BLACK);
  const pole = box(-polewidth / 2, polewidth / 2, polelen - polewidth / 2, -polewidth / 2, -state[2], cartx, carty + axleoffset);
  polygon(s, pole, [202, 152, 101]);
  disc(s, Math.trunc(cartx), Math.trunc(carty + axleoffset), Math.trunc(polewidth / 2), [129, 132, 203]);
  s.hline(0, width, carty, BLACK);
  s.flipVertical();
  return s.toFrame();
}

/**
 * Acrobot-v1: the black target line one link length above the pivot, two cyan (0, 204, 204)
 * links 0.2 wide and yellow (204, 204, 0) joints at the pivot and the elbow, on a 500×500
 * picture spanning ±2.2 link lengths.
 */
export function renderAcrobot(state: ArrayLike<number>, params: { linkLength1?: number; linkLength2?: number } = {}): RgbFrame {
  const dim = ACROBOT_SIZE.width;
  const l1 = params.linkLength1 ?? 1.0, l2 = params.linkLength2 ?? 1.0;
  const s = new Surface(dim, dim);
  s.fill(WHITE);
  const bound = l1 + l2 + 0.2;
  const scale = dim / (bound * 2);
  const offset = dim / 2;
  const p1: Point = [-l1 * Math.cos(state[0]) * scale, l1 * Math.sin(state[0]) * scale];
  const p2: Point = [p1[0] - l2 * Math.cos(state[0] + state[1]) * scale, p1[1] + l2 * Math.sin(state[0] + state[1]) * scale];
  // Gymnasium swaps the coordinates of the joints (`xys[:, ::-1]`) and draws from the first two.
  const joints: Point[] = [[0, 0], [p1[1], p1[0]], [p2[1], p2[0]]];
  const thetas = [state[0] - Math.PI / 2, state[0] + state[1] - Math.PI / 2];
  const linkLengths = [l1 * scale, l2 * scale];
  s.line(-2.2 * scale + offset, 1 * scale + offset, 2.2 * scale + offset, 1 * scale + offset, BLACK);
  for (let i = 0; i < 2; i++) {
    const x = joints[i][0] + offset, y = joints[i][1] + offset;
    polygon(s, box(0, linkLengths[i], 0.1 * scale, -0.1 * scale, thetas[i], x, y), [0, 204, 204]);
    disc(s, Math.trunc(x), Math.trunc(y), Math.trunc(0.1 * scale), [204, 204, 0]);
  }
  s.flipVertical();
  return s.toFrame();
}

/** numpy's `linspace(start, stop, num)`: `i·step + start`, with the last point exactly `stop`. */
function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

const hillHeight = (x: number): number => Math.sin(3 * x) * 0.45 + 0.55;

/**
 * MountainCar-v0 and MountainCarContinuous-v0: the black hill curve `0.45·sin(3x) + 0.55`
 * (100 anti-aliased segments), a black 40×20 car tilted by cos(3·position) radians riding
 * 10 px above the curve, grey (128, 128, 128) wheels of radius 8, and a flag pole 50 px high
 * with a yellow (204, 204, 0) pennant at the goal position.
 */
export function renderMountainCar(position: number, params: { minPosition?: number; maxPosition?: number; goalPosition?: number } = {}): RgbFrame {
  const { width, height } = MOUNTAIN_CAR_SIZE;
  const minPosition = params.minPosition ?? -1.2, maxPosition = params.maxPosition ?? 0.6, goalPosition = params.goalPosition ?? 0.5;
  const s = new Surface(width, height);
  s.fill(WHITE);
  const scale = width / (maxPosition - minPosition);
  const carwidth = 40, carheight = 20, clearance = 10;
  const curve = linspace(minPosition, maxPosition, 100).map((x): Point => [(x - minPosition) * scale, hillHeight(x) * scale]);
  s.aaLines(curve, BLACK);
  const angle = Math.cos(3 * position);
  const carX = (position - minPosition) * scale, carY = clearance + hillHeight(position) * scale;
  polygon(s, box(-carwidth / 2, carwidth / 2, carheight, 0, angle, carX, carY), BLACK);
  for (const wx of [carwidth / 4, -carwidth / 4]) {
    const [rx, ry] = rotate(wx, 0, angle);
    disc(s, Math.trunc(rx + carX), Math.trunc(ry + carY), Math.trunc(carheight / 2.5), [128, 128, 128]);
  }
  const flagx = Math.trunc((goalPosition - minPosition) * scale);
  const flagy1 = Math.trunc(hillHeight(goalPosition) * scale);
  const flagy2 = flagy1 + 50;
  s.vline(flagx, flagy1, flagy2, BLACK);
  polygon(s, [[flagx, flagy2], [flagx, flagy2 - 10], [flagx + 25, flagy2 - 5]], [204, 204, 0]);
  s.flipVertical();
  return s.toFrame();
}

/**
 * Pendulum-v1: a red (204, 77, 77) rod 0.2 wide with round ends, pivoting at the centre of
 * a 500×500 picture spanning ±2.2, a black axle of radius 5, and — once a torque was
 * applied — a curved arrow scaled by |torque| showing its direction (clockwise for
 * negative torque). Gymnasium blits a bundled image (clockwise.png) for the arrow; refinery
 * draws a similar arrow itself (a 270° black ring with a head), so those pixels differ.
 */
export function renderPendulum(theta: number, lastU: number | null): RgbFrame {
  const dim = PENDULUM_SIZE.width;
  const s = new Surface(dim, dim);
  s.fill(WHITE);
  const bound = 2.2;
  const scale = dim / (bound * 2);
  const offset = Math.floor(dim / 2);
  const rodLength = 1 * scale, rodWidth = 0.2 * scale;
  const red: Rgb = [204, 77, 77];
  polygon(s, box(0, rodLength, rodWidth / 2, -rodWidth / 2, theta + Math.PI / 2, offset, offset), red);
  disc(s, offset, offset, Math.trunc(rodWidth / 2), red);
  const [ex, ey] = rotate(rodLength, 0, theta + Math.PI / 2);
  disc(s, Math.trunc(ex + offset), Math.trunc(ey + offset), Math.trunc(rodWidth / 2), red);
  if (lastU !== null) {
    const size = Math.trunc((scale * Math.abs(lastU)) / 2);
    if (size > 0) {
      // As Gymnasium: flipped vertically (undone by the final flip) and mirrored for positive torque.
      const arrow = arrowImage(size, lastU > 0);
      s.blitRgba(arrow, offset - Math.floor(size / 2), offset - Math.floor(size / 2));
    }
  }
  disc(s, offset, offset, Math.trunc(0.05 * scale), BLACK);
  s.flipVertical();
  return s.toFrame();
}

/** Arrow images by size and direction: drawing one takes longer than the rest of the frame. */
const arrowCache = new Map<string, RgbaImage>();

function arrowImage(size: number, mirrored: boolean): RgbaImage {
  const key = `${size}:${mirrored}`;
  let img = arrowCache.get(key);
  if (!img) {
    img = flipRgba(clockwiseArrow(size), mirrored, true);
    arrowCache.set(key, img);
  }
  return img;
}

interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * A black clockwise arrow on a transparent square of `size` pixels, as seen on screen: a
 * ring of radius 0.36·size and width 0.14·size over 270°, ending in a triangular head.
 * Edges are anti-aliased by 4×4 supersampling.
 */
export function clockwiseArrow(size: number): RgbaImage {
  const data = new Uint8Array(size * size * 4);
  const c = size / 2, radius = 0.36 * size, half = 0.07 * size;
  const start = (150 * Math.PI) / 180, sweep = (270 * Math.PI) / 180;
  const end = start + sweep;
  const tip: Point = [c + radius * Math.cos(end) - 0.22 * size * Math.sin(end), c + radius * Math.sin(end) + 0.22 * size * Math.cos(end)];
  const baseIn: Point = [c + (radius - 0.17 * size) * Math.cos(end), c + (radius - 0.17 * size) * Math.sin(end)];
  const baseOut: Point = [c + (radius + 0.17 * size) * Math.cos(end), c + (radius + 0.17 * size) * Math.sin(end)];
  const xs = [tip[0], baseIn[0], baseOut[0]], ys = [tip[1], baseIn[1], baseOut[1]];
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const inside = (x: number, y: number): boolean => {
    const dx = x - c, dy = y - c;
    if (Math.abs(Math.sqrt(dx * dx + dy * dy) - radius) <= half) {
      let a = Math.atan2(dy, dx);
      while (a < start) a += 2 * Math.PI;
      if (a - start <= sweep) return true;
    }
    return x >= x0 && x <= x1 && y >= y0 && y <= y1 && inTriangle(x, y, tip, baseIn, baseOut);
  };
  const n = 4;
  const reach = radius + 0.2 * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Pixels far from the ring and the head stay transparent without sampling.
      const dx = x + 0.5 - c, dy = y + 0.5 - c, r = Math.sqrt(dx * dx + dy * dy);
      if ((r < radius - half - 1 || r > reach) && !(x + 1 >= x0 && x <= x1 && y + 1 >= y0 && y <= y1)) continue;
      let hits = 0;
      for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) if (inside(x + (i + 0.5) / n, y + (j + 0.5) / n)) hits++;
      data[(y * size + x) * 4 + 3] = Math.round((255 * hits) / (n * n));
    }
  }
  return { width: size, height: size, data };
}

function inTriangle(x: number, y: number, a: Point, b: Point, c: Point): boolean {
  const side = (p: Point, q: Point): number => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const s1 = side(a, b), s2 = side(b, c), s3 = side(c, a);
  return (s1 >= 0 && s2 >= 0 && s3 >= 0) || (s1 <= 0 && s2 <= 0 && s3 <= 0);
}

/** `pygame.transform.flip` of an RGBA image. */
function flipRgba(img: RgbaImage, horizontal: boolean, vertical: boolean): RgbaImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const sx = horizontal ? img.width - 1 - x : x, sy = vertical ? img.height - 1 - y : y;
      out.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx) * 4 + 4), (y * img.width + x) * 4);
    }
  }
  return { width: img.width, height: img.height, data: out };
}
