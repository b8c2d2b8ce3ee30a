import { createRequire } from "node:module";

type ResvgModule = typeof import("@resvg/resvg-js");

let resvgModule: ResvgModule | null = null;

/** resvg is a native module: it is loaded on the first PNG, so SVG plots and everything else never pay for it. */
function loadResvg(): ResvgModule {
  resvgModule ??= createRequire(import.meta.url)("@resvg/resvg-js") as ResvgModule;
  return resvgModule;
}

/**
 * Rasterises SVG text to PNG bytes with resvg (a Rust SVG renderer whose prebuilt binaries
 * are npm packages for each platform). Text uses the system's fonts; `scale` 2 gives crisp
 * images on high-density screens.
 */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const { Resvg } = loadResvg();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "#ffffff",
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}
