import { GifReader } from "omggif";
import { describe, expect, it } from "vitest";
import type { RgbFrame } from "../../src/envs/env.js";
import { encodeGif, GifWriter } from "../../src/envs/render/gif.js";
import { make } from "../../src/envs/registry.js";

/** Decodes frame i of a GIF to RGB (omggif, an independent decoder). */
function decodeFrame(reader: GifReader, i: number): Uint8Array {
  const rgba = new Uint8Array(reader.width * reader.height * 4);
  reader.decodeAndBlitFrameRGBA(i, rgba);
  const rgb = new Uint8Array(reader.width * reader.height * 3);
  for (let p = 0; p < reader.width * reader.height; p++) rgb.set(rgba.subarray(p * 4, p * 4 + 3), p * 3);
  return rgb;
}

describe("encodeGif", () => {
  it("writes a GIF89a that decodes to the same frames, pixel for pixel, with the frame delay", () => {
    const env = make("CartPole-v1", { renderMode: "rgb_array" });
    env.reset({ seed: 2 });
    const frames: RgbFrame[] = [env.render!()];
    for (let t = 0; t < 4; t++) {
      env.step(t % 2);
      const f = env.render!();
      frames.push({ ...f, data: f.data.slice() });
    }
    const bytes = encodeGif(frames, { fps: 50 });
    expect(new TextDecoder().decode(bytes.subarray(0, 6))).toBe("GIF89a");
    const reader = new GifReader(bytes);
    expect([reader.width, reader.height]).toEqual([600, 400]);
    expect(reader.numFrames()).toBe(5);
    expect(reader.loopCount()).toBe(0);
    for (let i = 0; i < 5; i++) {
      expect(reader.frameInfo(i).delay).toBe(2); // 50 fps = 2 hundredths of a second
      expect(Buffer.from(decodeFrame(reader, i)).equals(Buffer.from(frames[i].data)), `frame ${i}`).toBe(true);
    }
  });

  it("keeps the 256 most frequent colours exact when a frame has a few more", () => {
    // 300 colours: grey levels 0..299 clamped would repeat, so use (i, 255 - i % 256, i >> 8).
    const data = new Uint8Array(40 * 40 * 3).fill(255);
    for (let i = 0; i < 300; i++) data.set([i % 256, 100, i >> 8 ? 50 : 0], i * 3);
    const out = decodeFrame(new GifReader(encodeGif([{ width: 40, height: 40, data }])), 0);
    let exact = 0, maxErr = 0;
    for (let p = 0; p < 40 * 40; p++) {
      const err = Math.max(...[0, 1, 2].map((k) => Math.abs(out[p * 3 + k] - data[p * 3 + k])));
      if (err === 0) exact++;
      maxErr = Math.max(maxErr, err);
    }
    expect(exact).toBeGreaterThanOrEqual(40 * 40 - 45); // white and 255 of the 300 colours are kept
    expect(maxErr).toBeLessThanOrEqual(50);
  });

  it("quantises a frame with many more colours", () => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let p = 0; p < 32 * 32; p++) data.set([p % 32 * 8, Math.floor(p / 32) * 8, 128], p * 3);
    const reader = new GifReader(encodeGif([{ width: 32, height: 32, data }]));
    const out = decodeFrame(reader, 0);
    let maxErr = 0;
    for (let i = 0; i < data.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i] - data[i]));
    expect(maxErr).toBeLessThan(24);
  });

  it("refuses frames of different sizes and an empty GIF, naming the fix", () => {
    const w = new GifWriter();
    w.add({ width: 2, height: 2, data: new Uint8Array(12) });
    expect(() => w.add({ width: 3, height: 2, data: new Uint8Array(18) })).toThrow(/3×2 but the first was 2×2/);
    expect(() => new GifWriter().finish()).toThrow(/at least one frame/);
    expect(() => new GifWriter({ fps: 0 })).toThrow(/fps 0/);
  });
});
