import type { Body } from "planck";
import type { RgbFrame } from "../render/frame.js";
import { Surface, type Rgb } from "../render/surface.js";
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
