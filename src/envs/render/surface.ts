import type { RgbFrame } from "./frame.js";

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/**
 * A small software rasteriser with the drawing calls Gymnasium's classic-control scenes
 * use, reproducing the integer algorithms behind them so the pictures match:
 *
 * - `filledPolygon`, `aaPolygon`, `filledCircle`, `aaCircle`, `hline`, `vline` follow
 *   SDL_gfx 2.0 (what `pygame.gfxdraw` calls): vertices truncated to integers, the same
 *   scan-line fill rule, the midpoint circle, Wu's anti-aliased lines in 32-bit fixed
 *   point and the anti-aliased ellipse of the SGE library.
 * - `line` and `aaLines` follow `pygame.draw.line` (Bresenham on truncated end points)
 *   and `pygame.draw.aalines` (Wu's algorithm on float end points, blended).
 * - Blending of a colour c at opacity a (0–255) over d is `d + floor(a·(c − d)/256)` per
 *   channel, SDL_gfx's formula for 32-bit surfaces.
 *
 * Coordinates are pygame's: x to the right, y DOWN, origin at the top left. Gymnasium
 * draws with y up and flips the surface at the end; scenes call `flipVertical()` likewise.
 * Pixels outside the surface are skipped (clipping per pixel).
 *
 * Plain typed arrays only (no DOM, no Node APIs), so it runs in the browser too.
 */
export class Surface {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
  }

  fill(c: Rgb): void {
    const d = this.data;
    if (c[0] === c[1] && c[1] === c[2]) {
      d.fill(c[0]);
      return;
    }
    for (let i = 0; i < d.length; i += 3) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
    }
  }

  /** Sets a pixel to `c` at opacity `alpha` (255: opaque), if it lies on the surface. */
  blend(x: number, y: number, c: Rgb, alpha = 255): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (alpha >= 255) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
      return;
    }
    // `>> 8` floors negative differences too, as the unsigned arithmetic of SDL_gfx ends up doing.
    d[i] = d[i] + (((c[0] - d[i]) * alpha) >> 8);
    d[i + 1] = d[i + 1] + (((c[1] - d[i + 1]) * alpha) >> 8);
    d[i + 2] = d[i + 2] + (((c[2] - d[i + 2]) * alpha) >> 8);
  }

  /** SDL_gfx's weighted pixel: opacity `(255 · weight) >> 8`. */
  private weighted(x: number, y: number, c: Rgb, weight: number): void {
    this.blend(x, y, c, (255 * weight) >> 8);
  }

  hline(x1: number, x2: number, y: number, c: Rgb): void {
    if (y < 0 || y >= this.height) return;
    let a = Math.min(x1, x2), b = Math.max(x1, x2);
    if (b < 0 || a >= this.width) return;
    a = Math.max(a, 0);
    b = Math.min(b, this.width - 1);
    for (let x = a; x <= b; x++) this.blend(x, y, c);
  }

  vline(x: number, y1: number, y2: number, c: Rgb): void {
    if (x < 0 || x >= this.width) return;
    const a = Math.max(Math.min(y1, y2), 0), b = Math.min(Math.max(y1, y2), this.height - 1);
    for (let y = a; y <= b; y++) this.blend(x, y, c);
  }

  /**
   * SDL_gfx `filledPolygonColor`: for every scan line between the lowest and highest
   * vertex, edge crossings in 16.16 fixed point, sorted, filled in pairs.
   */
  filledPolygon(points: readonly (readonly [number, number])[], c: Rgb): void {
    const n = points.length;
    if (n < 3) return;
    const vx = points.map((p) => Math.trunc(p[0]));
    const vy = points.map((p) => Math.trunc(p[1]));
    let miny = vy[0], maxy = vy[0];
    for (let i = 1; i < n; i++) {
      if (vy[i] < miny) miny = vy[i];
      else if (vy[i] > maxy) maxy = vy[i];
    }
    const ints: number[] = [];
    for (let y = miny; y <= maxy; y++) {
      ints.length = 0;
      for (let i = 0; i < n; i++) {
        const i1 = i === 0 ? n - 1 : i - 1, i2 = i;
        let y1 = vy[i1], y2 = vy[i2], x1: number, x2: number;
        if (y1 < y2) {
          x1 = vx[i1];
          x2 = vx[i2];
        } else if (y1 > y2) {
          y2 = vy[i1];
          y1 = vy[i2];
          x2 = vx[i1];
          x1 = vx[i2];
        } else {
          continue;
        }
        if ((y >= y1 && y < y2) || (y === maxy && y > y1 && y <= y2)) {
          ints.push(Math.trunc((65536 * (y - y1)) / (y2 - y1)) * (x2 - x1) + 65536 * x1);
        }
      }
      ints.sort((a, b) => a - b);
      for (let i = 0; i + 1 < ints.length; i += 2) {
        let xa = ints[i] + 1;
        xa = (xa >> 16) + ((xa & 32768) >> 15);
        let xb = ints[i + 1] - 1;
        xb = (xb >> 16) + ((xb & 32768) >> 15);
        this.hline(xa, xb, y, c);
      }
    }
  }

  /** SDL_gfx `aapolygonColor`: each edge as a Wu line without its last pixel. */
  aaPolygon(points: readonly (readonly [number, number])[], c: Rgb): void {
    const n = points.length;
    if (n < 3) return;
    for (let i = 0; i < n; i++) {
      const p = points[i], q = points[(i + 1) % n];
      this.aaLineInt(Math.trunc(p[0]), Math.trunc(p[1]), Math.trunc(q[0]), Math.trunc(q[1]), c, false);
    }
  }

  /**
   * SDL_gfx `_aalineColor` (Wu's algorithm, after Abrash, in 32-bit fixed point): the
   * first pixel opaque, then pairs of pixels weighted by the 8 top bits of the error
   * accumulator; the last pixel only when `drawEndpoint`.
   */
  aaLineInt(x1: number, y1: number, x2: number, y2: number, c: Rgb, drawEndpoint: boolean): void {
    let xx0 = x1, yy0 = y1, xx1 = x2, yy1 = y2;
    if (yy0 > yy1) {
      [yy0, yy1] = [yy1, yy0];
      [xx0, xx1] = [xx1, xx0];
    }
    let dx = xx1 - xx0;
    let dy = yy1 - yy0;
    if (dx === 0) {
      if (drawEndpoint) this.vline(x1, y1, y2, c);
      else if (dy > 0) this.vline(x1, yy0, yy0 + dy, c);
      else this.blend(x1, y1, c);
      return;
    }
    if (dy === 0) {
      if (drawEndpoint) this.hline(x1, x2, y1, c);
      else if (dx > 0) this.hline(xx0, xx0 + dx, y1, c);
      else this.blend(x1, y1, c);
      return;
    }
    if (dx === dy && drawEndpoint) {
      this.bresenhamSdl(x1, y1, x2, y2, c);
      return;
    }
    let xdir = 1;
    if (dx < 0) {
      xdir = -1;
      dx = -dx;
    }
    let erracc = 0;
    this.blend(x1, y1, c);
    if (dy > dx) {
      // 32-bit unsigned arithmetic: a 45° line gives 1 << 32, which wraps to 0 as in C.
      const erradj = Math.imul(Math.trunc((dx * 65536) / dy), 65536) >>> 0;
      let x0pxdir = xx0 + xdir;
      while (--dy) {
        const prev = erracc;
        erracc = (erracc + erradj) >>> 0;
        if (erracc <= prev) {
          xx0 = x0pxdir;
          x0pxdir += xdir;
        }
        yy0++;
        const wgt = (erracc >>> 24) & 255;
        this.weighted(xx0, yy0, c, 255 - wgt);
        this.weighted(x0pxdir, yy0, c, wgt);
      }
    } else {
      const erradj = Math.imul(Math.trunc((dy * 65536) / dx), 65536) >>> 0;
      let y0p1 = yy0 + 1;
      while (--dx) {
        const prev = erracc;
        erracc = (erracc + erradj) >>> 0;
        if (erracc <= prev) {
          yy0 = y0p1;
          y0p1++;
        }
        xx0 += xdir;
        const wgt = (erracc >>> 24) & 255;
        this.weighted(xx0, yy0, c, 255 - wgt);
        this.weighted(xx0, y0p1, c, wgt);
      }
    }
    if (drawEndpoint) this.blend(x2, y2, c);
  }

  /** SDL_gfx `lineColor` for an opaque colour (used by Wu lines at exactly 45°). */
  private bresenhamSdl(x1: number, y1: number, x2: number, y2: number, c: Rgb): void {
    const sx = x2 - x1 >= 0 ? 1 : -1, sy = y2 - y1 >= 0 ? 1 : -1;
    let dx = sx * (x2 - x1) + 1, dy = sy * (y2 - y1) + 1;
    let stepX: [number, number] = [sx, 0], stepY: [number, number] = [0, sy];
    if (dx < dy) {
      [dx, dy] = [dy, dx];
      [stepX, stepY] = [stepY, stepX];
    }
    let x = x1, y = y1, err = 0;
    for (let i = 0; i < dx; i++) {
      this.blend(x, y, c);
      x += stepX[0];
      y += stepX[1];
      err += dy;
      if (err >= dx) {
        err -= dx;
        x += stepY[0];
        y += stepY[1];
      }
    }
  }

  /** SDL_gfx `filledCircleColor`: midpoint circle, filled with horizontal lines. */
  filledCircle(x: number, y: number, rad: number, c: Rgb): void {
    if (rad < 0) return;
    if (rad === 0) {
      this.blend(x, y, c);
      return;
    }
    let cx = 0, cy = rad, ocx = -1, ocy = -1;
    let df = 1 - rad, dE = 3, dSE = -2 * rad + 5;
    do {
      const xpcx = x + cx, xmcx = x - cx, xpcy = x + cy, xmcy = x - cy;
      if (ocy !== cy) {
        if (cy > 0) {
          this.hline(xmcx, xpcx, y + cy, c);
          this.hline(xmcx, xpcx, y - cy, c);
        } else {
          this.hline(xmcx, xpcx, y, c);
        }
        ocy = cy;
      }
      if (ocx !== cx) {
        if (cx !== cy) {
          if (cx > 0) {
            this.hline(xmcy, xpcy, y - cx, c);
            this.hline(xmcy, xpcy, y + cx, c);
          } else {
            this.hline(xmcy, xpcy, y, c);
          }
        }
        ocx = cx;
      }
      if (df < 0) {
        df += dE;
        dE += 2;
        dSE += 2;
      } else {
        df += dSE;
        dE += 2;
        dSE += 4;
        cy--;
      }
      cx++;
    } while (cx <= cy);
  }

  /** SDL_gfx `aacircleColor`: the anti-aliased ellipse with equal radii. */
  aaCircle(x: number, y: number, rad: number, c: Rgb): void {
    this.aaEllipse(x, y, rad, rad, c);
  }

  /** SDL_gfx `aaellipseColor` (after the SGE library): two passes, each octant weighted by |d|/|s|. */
  aaEllipse(x: number, y: number, rx: number, ry: number, c: Rgb): void {
    if (rx < 0 || ry < 0) return;
    if (rx === 0) return this.vline(x, y - ry, y + ry, c);
    if (ry === 0) return this.hline(x - rx, x + rx, y, c);
    const a2 = rx * rx, b2 = ry * ry;
    const ds = 2 * a2, dt = 2 * b2;
    const xc2 = 2 * x, yc2 = 2 * y;
    const sab = Math.sqrt(a2 + b2);
    const dxt = roundHalfEven(a2 / sab);
    let t = 0, s = -2 * a2 * ry, d = 0;
    let xp = x, yp = y - ry;
    this.blend(xp, yp, c);
    this.blend(xc2 - xp, yp, c);
    this.blend(xp, yc2 - yp, c);
    this.blend(xc2 - xp, yc2 - yp, c);
    for (let i = 1; i <= dxt; i++) {
      xp--;
      d += t - b2;
      let ys: number;
      if (d >= 0) ys = yp - 1;
      else if (d - s - a2 > 0) {
        if (2 * d - s - a2 >= 0) ys = yp + 1;
        else {
          ys = yp;
          yp++;
          d -= s + a2;
          s += ds;
        }
      } else {
        yp++;
        ys = yp + 1;
        d -= s + a2;
        s += ds;
      }
      t -= dt;
      const weight = ellipseWeight(d, s);
      const iweight = 255 - weight;
      const xx = xc2 - xp;
      this.weighted(xp, yp, c, iweight);
      this.weighted(xx, yp, c, iweight);
      this.weighted(xp, ys, c, weight);
      this.weighted(xx, ys, c, weight);
      let yy = yc2 - yp;
      this.weighted(xp, yy, c, iweight);
      this.weighted(xx, yy, c, iweight);
      yy = yc2 - ys;
      this.weighted(xp, yy, c, weight);
      this.weighted(xx, yy, c, weight);
    }
    const dyt = roundHalfEven(b2 / sab);
    for (let i = 1; i <= dyt; i++) {
      yp++;
      d -= s + a2;
      let xs: number;
      if (d <= 0) xs = xp + 1;
      else if (d + t - b2 < 0) {
        if (2 * d + t - b2 <= 0) xs = xp - 1;
        else {
          xs = xp;
          xp--;
          d += t - b2;
          t -= dt;
        }
      } else {
        xp--;
        xs = xp - 1;
        d += t - b2;
        t -= dt;
      }
      s += ds;
      const weight = ellipseWeight(d, t);
      const iweight = 255 - weight;
      let xx = xc2 - xp;
      const yy = yc2 - yp;
      this.weighted(xp, yp, c, iweight);
      this.weighted(xx, yp, c, iweight);
      this.weighted(xp, yy, c, iweight);
      this.weighted(xx, yy, c, iweight);
      xx = xc2 - xs;
      this.weighted(xs, yp, c, weight);
      this.weighted(xx, yp, c, weight);
      this.weighted(xs, yy, c, weight);
      this.weighted(xx, yy, c, weight);
    }
  }

  /** `pygame.draw.line` with width 1: Bresenham between the truncated end points. */
  line(fx1: number, fy1: number, fx2: number, fy2: number, c: Rgb): void {
    let x1 = Math.trunc(fx1), y1 = Math.trunc(fy1);
    const x2 = Math.trunc(fx2), y2 = Math.trunc(fy2);
    const dx = Math.abs(x2 - x1), sx = x1 < x2 ? 1 : -1;
    const dy = Math.abs(y2 - y1), sy = y1 < y2 ? 1 : -1;
    let err = Math.trunc((dx > dy ? dx : -dy) / 2);
    while (x1 !== x2 || y1 !== y2) {
      this.blend(x1, y1, c);
      const e2 = err;
      if (e2 > -dx) {
        err -= dy;
        x1 += sx;
      }
      if (e2 < dy) {
        err += dx;
        y1 += sy;
      }
    }
    this.blend(x2, y2, c);
  }

  /** `pygame.draw.aalines` (open polyline, blended): each segment as `aaLine`. */
  aaLines(points: readonly (readonly [number, number])[], c: Rgb): void {
    for (let i = 1; i < points.length; i++) this.aaLine(points[i - 1][0], points[i - 1][1], points[i][0], points[i][1], c);
  }

  /**
   * pygame 2's `draw_aaline` (Wu's algorithm on float32 end points, blended with what is
   * underneath): end pixels weighted by their coverage, then two pixels per column.
   * The clipping pygame does before drawing is left out; pixels off the surface are skipped.
   */
  aaLine(fromX: number, fromY: number, toX: number, toY: number, c: Rgb): void {
    const f = Math.fround;
    fromX = f(fromX);
    fromY = f(fromY);
    toX = f(toX);
    toY = f(toY);
    let dx = f(toX - fromX), dy = f(toY - fromY);
    if (Math.abs(dx) < 0.0001 && Math.abs(dy) < 0.0001) {
      this.aaPixel(Math.floor(fromX + 0.5), Math.floor(fromY + 0.5), c, 1);
      return;
    }
    const steep = Math.abs(dx) < Math.abs(dy);
    if (steep) {
      [fromX, fromY] = [fromY, fromX];
      [toX, toY] = [toY, toX];
      [dx, dy] = [dy, dx];
    }
    if (dx < 0) {
      [fromX, toX] = [toX, fromX];
      [fromY, toY] = [toY, fromY];
      dx = -dx;
      dy = -dy;
    }
    const put = (px: number, py: number, brightness: number): void => (steep ? this.aaPixel(py, px, c, brightness) : this.aaPixel(px, py, c, brightness));
    const gradient = f(dy / dx);
    // Shifted one pixel down so that truncation floors (pygame's trick); drawn one higher.
    fromY = f(fromY + 1);
    toY = f(toY + 1);
    let xStart = Math.trunc(fromX);
    let yEnd = f(fromY + f(gradient * f(xStart - fromX)));
    let intersectY = yEnd;
    let xGap = f(1 + xStart - fromX);
    let brightness = f(yEnd - Math.trunc(yEnd));
    if (Math.trunc(yEnd) < yEnd) put(xStart, Math.trunc(yEnd), f(brightness * xGap));
    put(xStart, Math.trunc(yEnd) - 1, f(f(1 - brightness) * xGap));
    intersectY = f(intersectY + gradient);
    xStart++;
    const xEnd = Math.ceil(toX);
    yEnd = f(toY + f(gradient * f(xEnd - toX)));
    xGap = f(1 - xEnd + toX);
    brightness = f(yEnd - Math.trunc(yEnd));
    if (Math.trunc(yEnd) < yEnd) put(xEnd, Math.trunc(yEnd), f(brightness * xGap));
    put(xEnd, Math.trunc(yEnd) - 1, f(f(1 - brightness) * xGap));
    for (let x = xStart; x < xEnd; x++) {
      const y = Math.trunc(intersectY);
      const b = f(1 - intersectY + y);
      put(x, y - 1, b);
      if (y < intersectY) put(x, y, f(1 - b));
      intersectY = f(intersectY + gradient);
    }
  }

  /** pygame's `get_antialiased_color` with blending: `(uint8)(b·c + (1 − b)·background)`. */
  private aaPixel(x: number, y: number, c: Rgb, brightness: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    const f = Math.fround;
    for (let k = 0; k < 3; k++) d[i + k] = Math.trunc(f(f(brightness * c[k]) + f(f(1 - brightness) * d[i + k])));
  }

  /**
   * Draws an RGBA image (row-major, 4 bytes per pixel) with its top-left corner at (x, y),
   * alpha-blended as SDL blits a per-pixel-alpha surface onto an opaque one.
   */
  blitRgba(image: { width: number; height: number; data: Uint8Array }, x: number, y: number): void {
    for (let r = 0; r < image.height; r++) {
      for (let col = 0; col < image.width; col++) {
        const j = (r * image.width + col) * 4;
        const a = image.data[j + 3];
        if (a === 0) continue;
        const px = x + col, py = y + r;
        if (px < 0 || py < 0 || px >= this.width || py >= this.height) continue;
        const i = (py * this.width + px) * 3;
        const d = this.data;
        for (let k = 0; k < 3; k++) {
          // SDL2's ALPHA_BLEND_CHANNEL: (s·a + d·(255 − a)) / 255, rounded.
          let v = (image.data[j + k] - d[i + k]) * a + d[i + k] * 255 + 1;
          v += v >> 8;
          d[i + k] = v >> 8;
        }
      }
    }
  }

  /** `pygame.transform.flip(surf, False, True)`: reverse the order of the rows. */
  flipVertical(): void {
    const row = this.width * 3;
    const tmp = new Uint8Array(row);
    for (let top = 0, bottom = this.height - 1; top < bottom; top++, bottom--) {
      const a = top * row, b = bottom * row;
      tmp.set(this.data.subarray(a, a + row));
      this.data.copyWithin(a, b, b + row);
      this.data.set(tmp, b);
    }
  }

  toFrame(): RgbFrame {
    return { width: this.width, height: this.height, data: this.data };
  }
}

/** C's `lrint` in the default rounding mode: to the nearest integer, ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Weight of the outer pixel of the anti-aliased ellipse: `(uint8)(min(|d|/|s|, 1) · 255)` in float32. */
function ellipseWeight(d: number, s: number): number {
  const f = Math.fround;
  let cp = s !== 0 ? f(f(Math.abs(d)) / f(Math.abs(s))) : 1;
  if (cp > 1) cp = 1;
  return Math.trunc(f(cp * 255));
}

/**
 * pygame's `Vector2.rotate_rad(angle)` of (x, y): counter-clockwise in a y-up frame.
 * Multiples of 90° (within 1e-6) are exact, as in pygame.
 */
export function rotate(x: number, y: number, angle: number): [number, number] {
  const twoPi = 2 * Math.PI;
  const eps = 1e-6;
  let a = angle % twoPi;
  if (a < 0) a += twoPi;
  if ((a + eps) % (Math.PI / 2) < 2 * eps) {
    switch (Math.trunc((a + eps) / (Math.PI / 2))) {
      case 0:
      case 4:
        return [x, y];
      case 1:
        return [-y, x];
      case 2:
        return [-x, -y];
      case 3:
        return [y, -x];
    }
  }
  const s = Math.sin(a), c = Math.cos(a);
  return [c * x - s * y, s * x + c * y];
}
