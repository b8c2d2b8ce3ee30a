import * as gifenc from "gifenc";
import { ConfigError, describeValue } from "../../core/errors.js";
import type { RgbFrame } from "./frame.js";

/**
 * Animated GIF output for rendered episodes, with gifenc (a maintained pure-JS encoder,
 * so it runs in Node and in the browser alike).
 *
 * Every frame gets its own exact palette when it has at most 256 colours — the classic
 * scenes do: a few flat colours plus their anti-aliased blends — so the GIF reproduces
 * the frames pixel for pixel. A frame with more colours is quantised to 256 by gifenc.
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

/** An exact palette and index map when the frame has ≤ 256 colours, else gifenc's quantisation. */
function palettize(frame: RgbFrame): { palette: number[][]; index: Uint8Array } {
  const { data } = frame;
  const n = frame.width * frame.height;
  const index = new Uint8Array(n);
  const slots = new Map<number, number>();
  const palette: number[][] = [];
  // Runs of one colour are the norm (backgrounds), so the last lookup is cached.
  let lastKey = -1, lastSlot = 0;
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    if (key !== lastKey) {
      let slot = slots.get(key);
      if (slot === undefined) {
        if (palette.length === 256) return quantized(frame);
        slot = palette.length;
        slots.set(key, slot);
        palette.push([data[i], data[i + 1], data[i + 2]]);
      }
      lastKey = key;
      lastSlot = slot;
    }
    index[p] = lastSlot;
  }
  // gifenc writes a colour table of at least 2 entries.
  if (palette.length < 2) palette.push([0, 0, 0]);
  return { palette, index };
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
