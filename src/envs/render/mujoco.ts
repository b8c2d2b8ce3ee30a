import type { RgbFrame } from "./frame.js";
import { Surface, type Rgb } from "./surface.js";

/**
 * A small software renderer for the MuJoCo envs: an orthographic projection of the geoms
 * (planes, spheres, capsules, cylinders, boxes, ellipsoids as spheres) painted far to near
 * with flat colours and a darker outline. It is NOT MuJoCo's OpenGL renderer: no lighting,
 * shadows, textures or perspective — enough to see what a policy does in a recorded GIF,
 * in Node and in the browser alike, with no GPU.
 */

/** mjtGeom values. */
export const GEOM = { plane: 0, hfield: 1, sphere: 2, capsule: 3, ellipsoid: 4, cylinder: 5, box: 6 } as const;

export interface SceneGeom {
  type: number;
  /** MuJoCo's geom_size: radius/half-sizes, per type. */
  size: readonly [number, number, number];
  /** World position of the geom's frame. */
  pos: readonly [number, number, number];
  /** World orientation, row-major 3×3 (geom_xmat). */
  mat: readonly number[];
  /** RGBA in [0, 1]. */
  rgba: readonly [number, number, number, number];
}

/**
 * An orthographic camera: `right` and `up` span the picture, `forward` points into it
 * (away from the viewer); `center` is the world point at the middle of the picture and
 * `span` the width of the picture in metres.
 */
export interface SceneCamera {
  center: readonly [number, number, number];
  right: readonly [number, number, number];
  up: readonly [number, number, number];
  forward: readonly [number, number, number];
  span: number;
}

type Vec3 = readonly [number, number, number];

const SKY: Rgb = [178, 196, 214];
const FLOOR_A: Rgb = [120, 140, 120];
const FLOOR_B: Rgb = [150, 172, 150];
/** Side length of the floor's checker squares, metres (they show motion when the camera tracks the body). */
const CHECKER = 0.5;

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** Side view (x right, z up, looking along +y). */
export function sideCamera(center: Vec3, span: number): SceneCamera {
  return { center, right: [1, 0, 0], up: [0, 0, 1], forward: [0, 1, 0], span };
}

/** Top-down view (x right, y up, looking down −z). */
export function topCamera(center: Vec3, span: number): SceneCamera {
  return { center, right: [1, 0, 0], up: [0, 1, 0], forward: [0, 0, -1], span };
}

/** Looking down at `elevation` radians from the horizontal, from −y. */
export function obliqueCamera(center: Vec3, span: number, elevation: number): SceneCamera {
  const s = Math.sin(elevation), c = Math.cos(elevation);
  return { center, right: [1, 0, 0], up: [0, s, c], forward: [0, c, -s], span };
}

interface Item {
  depth: number;
  draw: (s: Surface) => void;
}

/** Renders the geoms seen through `camera` into a width × height RGB frame. */
export function renderMujocoScene(geoms: readonly SceneGeom[], camera: SceneCamera, width: number, height: number): RgbFrame {
  const s = new Surface(width, height);
  const scale = width / camera.span;
  const project = (p: Vec3): [number, number] => {
    const d: Vec3 = [p[0] - camera.center[0], p[1] - camera.center[1], p[2] - camera.center[2]];
    return [width / 2 + dot(d, camera.right) * scale, height / 2 - dot(d, camera.up) * scale];
  };
  const depthOf = (p: Vec3): number => dot(p, camera.forward);

  s.fill(SKY);
  const items: Item[] = [];
  for (const g of geoms) {
    if (g.rgba[3] <= 0) continue;
    const colour: Rgb = [Math.round(255 * g.rgba[0]), Math.round(255 * g.rgba[1]), Math.round(255 * g.rgba[2])];
    if (g.type === GEOM.plane) {
      drawPlane(s, g, camera, scale);
      continue;
    }
    const item = geomItem(g, colour, scale, project, depthOf);
    if (item) items.push(item);
  }
  // Painter's algorithm: the farthest geom first.
  items.sort((a, b) => b.depth - a.depth);
  for (const it of items) it.draw(s);
  return s.toFrame();
}

function column(mat: readonly number[], j: number): Vec3 {
  return [mat[j], mat[3 + j], mat[6 + j]];
}

function geomItem(
  g: SceneGeom,
  colour: Rgb,
  scale: number,
  project: (p: Vec3) => [number, number],
  depthOf: (p: Vec3) => number,
): Item | null {
  const outline: Rgb = [Math.round(colour[0] * 0.55), Math.round(colour[1] * 0.55), Math.round(colour[2] * 0.55)];
  const depth = depthOf(g.pos);
  if (g.type === GEOM.sphere || g.type === GEOM.ellipsoid) {
    const [x, y] = project(g.pos);
    const r = Math.max(1, g.size[0] * scale);
    return { depth, draw: (s) => disc(s, x, y, r, colour, outline) };
  }
  if (g.type === GEOM.capsule || g.type === GEOM.cylinder) {
    const axis = column(g.mat, 2), h = g.size[1];
    const a = project([g.pos[0] + h * axis[0], g.pos[1] + h * axis[1], g.pos[2] + h * axis[2]]);
    const b = project([g.pos[0] - h * axis[0], g.pos[1] - h * axis[1], g.pos[2] - h * axis[2]]);
    const r = Math.max(1, g.size[0] * scale);
    const capped = g.type === GEOM.capsule;
    return { depth, draw: (s) => thickSegment(s, a, b, r, capped, colour, outline) };
  }
  if (g.type === GEOM.box) {
    const corners: [number, number][] = [];
    for (const sx of [-1, 1]) {
      for (const sy of [-1, 1]) {
        for (const sz of [-1, 1]) {
          const local = [sx * g.size[0], sy * g.size[1], sz * g.size[2]];
          const p: Vec3 = [
            g.pos[0] + g.mat[0] * local[0] + g.mat[1] * local[1] + g.mat[2] * local[2],
            g.pos[1] + g.mat[3] * local[0] + g.mat[4] * local[1] + g.mat[5] * local[2],
            g.pos[2] + g.mat[6] * local[0] + g.mat[7] * local[1] + g.mat[8] * local[2],
          ];
          corners.push(project(p));
        }
      }
    }
    const hull = convexHull(corners);
    return {
      depth,
      draw: (s) => {
        s.filledPolygon(hull, colour);
        s.aaPolygon(hull, outline);
      },
    };
  }
  return null; // height fields, meshes: not drawn
}

function disc(s: Surface, x: number, y: number, r: number, fill: Rgb, outline: Rgb): void {
  s.filledCircle(Math.round(x), Math.round(y), Math.round(r), fill);
  s.aaCircle(Math.round(x), Math.round(y), Math.round(r), outline);
}

/** A segment of half-width r: a quadrilateral, with round caps for capsules. */
function thickSegment(s: Surface, a: [number, number], b: [number, number], r: number, capped: boolean, fill: Rgb, outline: Rgb): void {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len < 1e-9) {
    disc(s, a[0], a[1], r, fill, outline);
    return;
  }
  const nx = (-dy / len) * r, ny = (dx / len) * r;
  const quad: [number, number][] = [
    [a[0] + nx, a[1] + ny],
    [b[0] + nx, b[1] + ny],
    [b[0] - nx, b[1] - ny],
    [a[0] - nx, a[1] - ny],
  ];
  if (capped) {
    disc(s, a[0], a[1], r, fill, outline);
    disc(s, b[0], b[1], r, fill, outline);
  }
  s.filledPolygon(quad, fill);
  s.aaLine(quad[0][0], quad[0][1], quad[1][0], quad[1][1], outline);
  s.aaLine(quad[2][0], quad[2][1], quad[3][0], quad[3][1], outline);
  if (!capped) {
    s.aaLine(quad[1][0], quad[1][1], quad[2][0], quad[2][1], outline);
    s.aaLine(quad[3][0], quad[3][1], quad[0][0], quad[0][1], outline);
  }
}

/**
 * A plane (the floor): each pixel's viewing ray is intersected with it and coloured by a
 * checker pattern; seen edge-on (a side view) it fills everything below its horizon line.
 */
function drawPlane(s: Surface, g: SceneGeom, cam: SceneCamera, scale: number): void {
  const n = column(g.mat, 2);
  const facing = dot(n, cam.forward);
  const edgeOn = Math.abs(facing) < 1e-6;
  const [r, u, f, c] = [cam.right, cam.up, cam.forward, cam.center];
  // Height above the plane of the picture-plane point under a pixel: linear in (a, b).
  const h0 = (c[0] - g.pos[0]) * n[0] + (c[1] - g.pos[1]) * n[1] + (c[2] - g.pos[2]) * n[2];
  const hr = dot(r, n), hu = dot(u, n);
  // The checker's second axis: depth (y) when seen from above, height (z) when edge-on.
  const k = edgeOn ? 2 : 1;
  const d = s.data;
  for (let py = 0; py < s.height; py++) {
    const b = (s.height / 2 - (py + 0.5)) / scale;
    for (let px = 0; px < s.width; px++) {
      const a = (px + 0.5 - s.width / 2) / scale;
      const height = h0 + a * hr + b * hu;
      let t = 0;
      if (edgeOn) {
        if (height > 0) continue; // above the horizon: sky
      } else {
        t = -height / facing;
      }
      const wx = c[0] + a * r[0] + b * u[0] + t * f[0];
      const wk = c[k] + a * r[k] + b * u[k] + t * f[k];
      const col = (Math.floor(wx / CHECKER) + Math.floor(wk / CHECKER)) & 1 ? FLOOR_A : FLOOR_B;
      const i = (py * s.width + px) * 3;
      d[i] = col[0];
      d[i + 1] = col[1];
      d[i + 2] = col[2];
    }
  }
}

/** Andrew's monotone chain; returns the hull counter-clockwise. */
function convexHull(points: [number, number][]): [number, number][] {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}
