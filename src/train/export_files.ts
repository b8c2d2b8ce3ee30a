import { fileSystemHandler } from "../nn/io.js";
import { actorLayersModel, exportOutput, ONNX_UNSUPPORTED, type ExportFormat, type ExportOutput } from "./export.js";
import { readSavedPolicy } from "./load_policy.js";

export interface ExportOptions {
  format?: ExportFormat;
  /** Output directory (default: `<runDir>/export-<format>`). */
  out?: string;
  /** Export `best/` instead of `policy/`. */
  which?: "policy" | "best";
}

/**
 * Writes a run's saved actor as a TensorFlow.js LayersModel (`model.json` + `weights.bin`)
 * that `tf.loadLayersModel` reads without refinery. Node only (writes files).
 */
export async function exportPolicy(runDir: string, options: ExportOptions = {}): Promise<{ out: string; from: string; format: ExportFormat; output: ExportOutput }> {
  const format = options.format ?? "tfjs";
  if (format === "onnx") throw ONNX_UNSUPPORTED;
  const saved = await readSavedPolicy(runDir, options.which ?? "policy");
  const artifacts = actorLayersModel(saved.arrays, saved.extra);
  const out = options.out ?? `${runDir.replace(/[\\/]+$/, "")}/export-${format}`;
  await fileSystemHandler(out).save(artifacts);
  return { out, from: saved.found, format, output: exportOutput(saved.extra) };
}
