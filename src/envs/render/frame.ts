import { ConfigError, describeValue } from "../../core/errors.js";

/**
 * Render modes, as Gymnasium's `render_mode`. Only `"rgb_array"` exists in refinery: the
 * env returns the picture and the caller shows or records it (there is no window).
 */
export type RenderMode = "rgb_array";

export const RENDER_MODES: readonly RenderMode[] = ["rgb_array"];

/**
 * One rendered picture: `height` rows of `width` RGB pixels, row-major, 3 bytes per
 * pixel, top row first — the memory layout of Gymnasium's `(H, W, 3)` uint8 array.
 * The pixel at column x, row y starts at `data[(y * width + x) * 3]`.
 */
export interface RgbFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Gymnasium's `metadata`: the render modes an env supports and its natural frame rate. */
export interface EnvMetadata {
  renderModes: readonly RenderMode[];
  /** Frames per second at which an episode plays back in real time (Gymnasium's `render_fps`). */
  renderFps?: number;
}

/**
 * Reads the `renderMode` constructor option (null when absent) and checks it against the
 * env's supported modes. Returns the other options, for the env's own option checks.
 */
export function takeRenderMode(
  kwargs: Record<string, unknown>,
  metadata: EnvMetadata,
  envName: string,
): { renderMode: RenderMode | null; rest: Record<string, unknown> } {
  if (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs)) return { renderMode: null, rest: kwargs };
  const { renderMode, ...rest } = kwargs;
  if (renderMode === undefined || renderMode === null) return { renderMode: null, rest };
  if (!metadata.renderModes.includes(renderMode as RenderMode)) {
    const modes = metadata.renderModes.map((m) => JSON.stringify(m)).join(", ");
    throw new ConfigError(
      `${envName}: renderMode ${describeValue(renderMode)} is not supported`,
      metadata.renderModes.length ? `pass one of ${modes}, e.g. make("${envName}", { renderMode: "rgb_array" }), or leave it out` : "leave renderMode out: this env cannot render",
      "invalid_render_mode",
    );
  }
  return { renderMode: renderMode as RenderMode, rest };
}

/** Reads the RGB pixel at (x, y) of a frame, for tests and tools. */
export function pixelAt(frame: RgbFrame, x: number, y: number): [number, number, number] {
  const i = (y * frame.width + x) * 3;
  return [frame.data[i], frame.data[i + 1], frame.data[i + 2]];
}
