import type { Body } from "planck";
import type { RgbFrame } from "../render/frame.js";
import { Surface, type Rgb } from "../render/surface.js";
import { HULL_POLY, TERRAIN_HEIGHT, TERRAIN_STEP, WALKER_LEG_H, WALKER_LEG_W, WALKER_SCALE, WALKER_VIEWPORT_H, WALKER_VIEWPORT_W, type WalkerWorld } from "./bipedal_walker.js";
import { CHUNK_X, CHUNKS, H, HELIPAD_X1, HELIPAD_X2, HELIPAD_Y, LANDER_POLY, LEG_H, LEG_W, SCALE, VIEWPORT_H, VIEWPORT_W, type LanderWorld } from "./lander_world.js";

type Point = [number, number];

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const HULL_FILL: Rgb = [128, 102, 230];
const HULL_EDGE: Rgb = [77, 77, 128];
const FLAG: Rgb = [204, 204, 0];

const LANDER_VERTICES: Point[] = LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE]);
const LEG_VERTICES: Point[] = [[-LEG_W / SCALE, -LEG_H / SCALE], [LEG_W / SCALE, -LEG_H / SCALE], [LEG_W / SCALE, LEG_H / SCALE], [-LEG_W / SCALE, LEG_H / SCALE]];

/** A body's local vertices in picture coordinates (y up; the picture is flipped at the end). */
function placed(body: Body, vertices: Point[]): Point[] {
  return vertices.map(([x, y]) => {
    const p = body.getWorldPoint({ x, y });
    return [p.x * SCALE, p.y * SCALE];
  });
}

/**
 * LunarLander's picture as Gymnasium draws it (600×400, drawn with y up, then flipped): a
 * white ground under black sky polygons reaching from each terrain chunk to the top, the
 * exhaust particles fading from white to red, the hull and legs filled (128, 102, 230)
 * with (77, 77, 128) outlines, and a white pole 50 px high with a yellow pennant at each end
 * of the pad.
 */
export function renderLunarLander(w: LanderWorld, particles: readonly { x: number; y: number; ttl: number }[]): RgbFrame {
  const s = new Surface(VIEWPORT_W, VIEWPORT_H);
  s.fill(WHITE);
  const smoothY = w.setup.smoothY;
  for (let i = 0; i < CHUNKS - 1; i++) {
    const sky: Point[] = [
      [CHUNK_X[i] * SCALE, smoothY[i] * SCALE],
      [CHUNK_X[i + 1] * SCALE, smoothY[i + 1] * SCALE],
      [CHUNK_X[i + 1] * SCALE, H * SCALE],
      [CHUNK_X[i] * SCALE, H * SCALE],
    ];
    s.filledPolygon(sky, BLACK);
    s.aaPolygon(sky, BLACK);
  }
  for (const p of particles) {
    const red = Math.trunc(Math.max(0.2, 0.15 + p.ttl) * 255), other = Math.trunc(Math.max(0.2, 0.5 * p.ttl) * 255);
    s.filledCircle(Math.trunc(p.x * SCALE), Math.trunc(p.y * SCALE), 2, [Math.min(255, red), Math.min(255, other), Math.min(255, other)]);
  }
  const bodies: [Body, Point[]][] = [[w.lander, LANDER_VERTICES], [w.legs[0], LEG_VERTICES], [w.legs[1], LEG_VERTICES]];
  for (const [body, vertices] of bodies) {
    const path = placed(body, vertices);
    s.filledPolygon(path, HULL_FILL);
    s.aaPolygon(path, HULL_FILL);
    s.aaLines([...path, path[0]], HULL_EDGE);
  }
  for (const x of [HELIPAD_X1 * SCALE, HELIPAD_X2 * SCALE]) {
    const flagy1 = HELIPAD_Y * SCALE, flagy2 = flagy1 + 50;
    s.line(x, flagy1, x, flagy2, WHITE);
    const pennant: Point[] = [[x, flagy2], [x, flagy2 - 10], [x + 25, flagy2 - 5]];
    s.filledPolygon(pennant, FLAG);
    s.aaPolygon(pennant, FLAG);
  }
  s.flipVertical();
  return s.toFrame();
}

const WALKER_SKY: Rgb = [215, 215, 255];
const WALKER_GROUND: Rgb = [102, 153, 76];

function boxPoints(hx: number, hy: number): Point[] {
  return [[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]];
}

/**
 * BipedalWalker's picture as Gymnasium draws it: the 600×400 window following the hull
 * (the hull a fifth of the width from the left), a pale blue sky, clouds scrolling at half
 * speed, green ground under the terrain line (alternating light greens), white obstacles
 * with grey outlines, one red lidar ray at a time, the legs (the far leg lighter), the
 * violet hull, and the start flag.
 */
export function renderBipedalWalker(w: WalkerWorld, lidarRender: number): RgbFrame {
  // Computed here, not at load: bipedal_walker.ts and this module import each other.
  const HULL_POINTS: Point[] = HULL_POLY.map(([x, y]) => [x / WALKER_SCALE, y / WALKER_SCALE]);
  const UPPER_POINTS: Point[] = boxPoints(WALKER_LEG_W / 2, WALKER_LEG_H / 2);
  const LOWER_POINTS: Point[] = boxPoints((0.8 * WALKER_LEG_W) / 2, WALKER_LEG_H / 2);
  const s = new Surface(WALKER_VIEWPORT_W, WALKER_VIEWPORT_H);
  const scroll = w.hull.getPosition().x - WALKER_VIEWPORT_W / WALKER_SCALE / 5;
  // Gymnasium draws on a surface 600 + scroll·30 px wide and keeps its last 600 columns.
  const shift = Math.trunc(Math.max(0, scroll) * WALKER_SCALE);
  const px = (p: Point, dx = 0): Point => [p[0] * WALKER_SCALE + dx - shift, p[1] * WALKER_SCALE];
  s.fill(WALKER_SKY);
  const t = w.terrain;
  for (const cloud of t.clouds) {
    const x1 = Math.min(...cloud.map((p) => p[0])), x2 = Math.max(...cloud.map((p) => p[0]));
    if (x2 < scroll / 2 || x1 > scroll / 2 + WALKER_VIEWPORT_W / WALKER_SCALE) continue;
    const poly = cloud.map((p) => px(p, (scroll * WALKER_SCALE) / 2));
    s.filledPolygon(poly, WHITE);
    s.aaPolygon(poly, WHITE);
  }
  for (let i = 0; i < t.x.length - 1; i++) {
    if (t.x[i + 1] < scroll || t.x[i] > scroll + WALKER_VIEWPORT_W / WALKER_SCALE) continue;
    const poly: Point[] = [px([t.x[i], t.y[i]]), px([t.x[i + 1], t.y[i + 1]]), px([t.x[i + 1], 0]), px([t.x[i], 0])];
    s.filledPolygon(poly, WALKER_GROUND);
    s.aaPolygon(poly, WALKER_GROUND);
  }
  if (lidarRender < 2 * w.lidar.length) {
    const ray = w.lidar[lidarRender < w.lidar.length ? lidarRender : w.lidar.length - lidarRender - 1 + w.lidar.length];
    const a = px(ray.p1), b = px(ray.p2);
    s.line(a[0], a[1], b[0], b[1], [255, 0, 0]);
  }
  // Gymnasium's draw list: terrain (reversed creation order), legs, hull.
  for (let i = t.x.length - 2; i >= 0; i--) {
    const a = px([t.x[i], t.y[i]]), b = px([t.x[i + 1], t.y[i + 1]]);
    if (b[0] < 0 || a[0] > WALKER_VIEWPORT_W) continue;
    s.aaLine(a[0], a[1], b[0], b[1], [76, i % 2 === 0 ? 255 : 204, 76]);
  }
  for (const poly of t.obstacles) outlined(s, poly.map((p) => px(p)), WHITE, [153, 153, 153]);
  w.legs.forEach((leg, k) => {
    const side = k < 2 ? -1 : 1;
    const points = (k % 2 === 0 ? UPPER_POINTS : LOWER_POINTS).map(([x, y]) => {
      const p = leg.getWorldPoint({ x, y });
      return px([p.x, p.y]);
    });
    outlined(s, points, [153 - side * 25, 76 - side * 25, 127 - side * 25], [102 - side * 25, 51 - side * 25, 76 - side * 25]);
  });
  const hull = HULL_POINTS.map(([x, y]) => {
    const p = w.hull.getWorldPoint({ x, y });
    return px([p.x, p.y]);
  });
  outlined(s, hull, [127, 51, 229], [76, 76, 127]);
  const flagy1 = TERRAIN_HEIGHT * WALKER_SCALE, flagy2 = flagy1 + 50, fx = TERRAIN_STEP * 3 * WALKER_SCALE - shift;
  s.aaLine(fx, flagy1, fx, flagy2, BLACK);
  const flag: Point[] = [[fx, flagy2], [fx, flagy2 - 10], [fx + 25, flagy2 - 5]];
  s.filledPolygon(flag, [230, 51, 0]);
  for (let i = 0; i < 3; i++) s.line(flag[i][0], flag[i][1], flag[(i + 1) % 3][0], flag[(i + 1) % 3][1], BLACK);
  s.flipVertical();
  return s.toFrame();
}

/** A filled polygon with an outline, as Gymnasium's draw list does for polygon fixtures. */
function outlined(s: Surface, path: Point[], fill: Rgb, edge: Rgb): void {
  s.filledPolygon(path, fill);
  s.aaPolygon(path, fill);
  for (let i = 0; i < path.length; i++) {
    const a = path[i], b = path[(i + 1) % path.length];
    s.line(a[0], a[1], b[0], b[1], edge);
  }
  s.aaPolygon(path, edge);
}
