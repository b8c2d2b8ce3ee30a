import { Resvg } from "@resvg/resvg-js";

/**
 * Rasterises SVG text to PNG bytes with resvg (a Rust SVG renderer shipped as a prebuilt
 * npm package). Text uses the system's fonts; `scale` 2 gives crisp images on high-density screens.
 */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "#ffffff",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}
