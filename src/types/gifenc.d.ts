// Types for the parts of gifenc (MIT, no bundled types) that refinery uses.
declare module "gifenc" {
  export type GifPalette = number[][];
  export interface GifFrameOptions {
    palette?: GifPalette;
    /** Milliseconds; stored in hundredths of a second. */
    delay?: number;
    /** -1 once, 0 forever, n > 0 that many times. */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    dispose?: number;
  }
  export interface GifEncoderInstance {
    writeFrame(index: Uint8Array, width: number, height: number, options?: GifFrameOptions): void;
    finish(): void;
    bytes(): Uint8Array;
    bytesView(): Uint8Array;
  }
  export function GIFEncoder(options?: { initialCapacity?: number; auto?: boolean }): GifEncoderInstance;
  export function quantize(rgba: Uint8Array, maxColors: number, options?: { format?: "rgb565" | "rgb444" | "rgba4444" }): GifPalette;
  export function applyPalette(rgba: Uint8Array, palette: GifPalette, format?: "rgb565" | "rgb444" | "rgba4444"): Uint8Array;
  const api: {
    GIFEncoder: typeof GIFEncoder;
    quantize: typeof quantize;
    applyPalette: typeof applyPalette;
  };
  export default api;
}
