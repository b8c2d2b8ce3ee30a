import * as gifenc from "gifenc";
import { ConfigError, describeValue } from "../../core/errors.js";
import type { RgbFrame } from "./frame.js";

/**
 * Animated GIF output for rendered episodes, with gifenc (a maintained pure-JS encoder,
 * so it runs in Node and in the browser alike).
 *
 * Every frame gets its own palette: exact when it has at most 256 colours — the classic
 * scenes do, bar MountainCar's anti-aliased curve which can add a few — so the GIF
 * reproduces the frames pixel for pixel; see `palettize` for frames with more.
 */

type GifencApi = typeof gifenc.default;

/**
 * Node loads gifenc's CommonJS build (its exports arrive as the default export); bundlers
 * load its ES module (named exports). Accept both.
 */
function api(): GifencApi {
  const ns = gifenc as unknown as Partial<GifencApi> & { default?: GifencApi };
  return typeof ns.GIFEncoder === "function" ? (ns as GifencApi) : (ns.default as GifencApi);
}

export interface GifOptions {
  /** Playback rate in frames per second (GIF delays are whole hundredths of a second). Default 30. */
  fps?: number;
  /** 0: loop for ever (default); -1: play once; n: repeat n times. */
  repeat?: number;
}

/** Streams frames into a GIF: `add` each frame as it is rendered, then `finish`. Holds no frames. */
export class GifWriter {
  private readonly encoder = api().GIFEncoder();
  private readonly delay: number;
  private readonly repeat: number;
  private size: { width: number; height: number } | null = null;
  private count = 0;

  constructor(options: GifOptions = {}) {
    const fps = options.fps ?? 30;
    if (typeof fps !== "number" || !Number.isFinite(fps) || fps <= 0 || fps > 100) {
      throw new ConfigError(`GIF fps ${describeValue(fps)} is not in (0, 100]`, "pass a frame rate such as 30 (GIF delays are whole hundredths of a second)");
    }
    this.delay = 1000 / fps;
    this.repeat = options.repeat ?? 0;
  }

  /** Frames written so far. */
  get frames(): number {
    return this.count;
  }

  add(frame: RgbFrame): void {
    if (this.size === null) this.size = { width: frame.width, height: frame.height };
    else if (frame.width !== this.size.width || frame.height !== this.size.height) {
      throw new ConfigError(`GIF frame ${this.count} is ${frame.width}×${frame.height} but the first was ${this.size.width}×${this.size.height}`, "render every frame of one GIF from the same env");
    }
    const { palette, index } = palettize(frame);
    this.encoder.writeFrame(index, frame.width, frame.height, { palette, delay: this.delay, repeat: this.repeat });
    this.count++;
  }

  /** The GIF file's bytes. */
  finish(): Uint8Array {
    if (this.count === 0) throw new ConfigError("a GIF needs at least one frame", "add frames before finish()");
    this.encoder.finish();
    return this.encoder.bytes();
  }
}

/** Encodes frames (all the same size) as an animated GIF. */
export function encodeGif(frames: Iterable<RgbFrame>, options: GifOptions = {}): Uint8Array {
  const writer = new GifWriter(options);
  for (const f of frames) writer.add(f);
  return writer.finish();
}

/** Above this many distinct colours a frame is quantised by gifenc; at or below, see `palettize`. */
const NEAREST_LIMIT = 512;

/**
 * The frame's palette and index map. At most 256 colours: an exact palette. A few more (the
 * anti-aliased curve of MountainCar gives 259): the 256 most frequent colours, exact, and
 * every other colour drawn as the nearest of them. Many more: gifenc's quantisation.
 */
function palettize(frame: RgbFrame): { palette: number[][]; index: Uint8Array } {
  const { data } = frame;
  const n = frame.width * frame.height;
  const counts = new Map<number, number>();
  // Runs of one colour are the norm (backgrounds): count a run with one map update.
  let runKey = -1, runLength = 0;
  for (let i = 0; i < n * 3; i += 3) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    if (key === runKey) {
      runLength++;
      continue;
    }
    if (runLength) counts.set(runKey, (counts.get(runKey) ?? 0) + runLength);
    if (counts.size > NEAREST_LIMIT) return quantized(frame);
    runKey = key;
    runLength = 1;
  }
  counts.set(runKey, (counts.get(runKey) ?? 0) + runLength);
  if (counts.size > NEAREST_LIMIT) return quantized(frame);
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([key]) => key);
  const kept = byFrequency.slice(0, 256);
  const slots = new Map<number, number>(kept.map((key, slot) => [key, slot]));
  for (const key of byFrequency.slice(256)) slots.set(key, nearest(key, kept));
  const palette = kept.map((key) => [key >> 16, (key >> 8) & 255, key & 255]);
  // gifenc writes a colour table of at least 2 entries.
  if (palette.length < 2) palette.push([0, 0, 0]);
  const index = new Uint8Array(n);
  let lastKey = -1, lastSlot = 0;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    if (key !== lastKey) {
      lastKey = key;
      lastSlot = slots.get(key)!;
    }
    index[p] = lastSlot;
  }
  return { palette, index };
}

/** Slot of the colour in `palette` closest to `key` (squared RGB distance). */
function nearest(key: number, palette: number[]): number {
  const r = key >> 16, g = (key >> 8) & 255, b = key & 255;
  let best = 0, bestDist = Infinity;
  palette.forEach((c, slot) => {
    const d = (r - (c >> 16)) ** 2 + (g - ((c >> 8) & 255)) ** 2 + (b - (c & 255)) ** 2;
    if (d < bestDist) {
      bestDist = d;
      best = slot;
    }
  });
  return best;
}

function quantized(frame: RgbFrame): { palette: number[][]; index: Uint8Array } {
  const n = frame.width * frame.height;
  const rgba = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    rgba[p * 4] = frame.data[p * 3];
    rgba[p * 4 + 1] = frame.data[p * 3 + 1];
    rgba[p * 4 + 2] = frame.data[p * 3 + 2];
    rgba[p * 4 + 3] = 255;
  }
  const { quantize, applyPalette } = api();
  const palette = quantize(rgba, 256);
  return { palette, index: applyPalette(rgba, palette) };
}
