import * as tf from "#tfjs-core";
import { RefineryError } from "../core/errors.js";
import { isUrl, joinLocation, loadNodeBuiltin, readBytes, readText, sha256Hex } from "../core/platform.js";

/**
 * Reading weights saved in TensorFlow.js's model format (`model.json` with a
 * `weightsManifest`, next to `weights.bin`) from a directory in Node or a URL anywhere.
 * Isomorphic: writing lives in nn/io.ts (Node only).
 */

export const MODEL_JSON = "model.json";
export const WEIGHTS_BIN = "weights.bin";

export type WeightArray = Float32Array | Int32Array;

export interface NamedArray {
  name: string;
  data: WeightArray;
  /** Defaults to [data.length] when saving; always present when loaded. */
  shape?: number[];
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface IntegrityRecord {
  weightsBytes: number;
  weightsSha256: string;
}

/** Loads weights saved by saveWeights (or any float32/int32 tfjs model) as typed arrays, from a directory or a URL. */
export async function loadWeights(dir: string): Promise<{ arrays: NamedArray[]; extra: JsonObject }> {
  const artifacts = await loadArtifacts(dir);
  const specs = artifacts.weightSpecs ?? [];
  const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const arrays: NamedArray[] = [];
  let offset = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization || (spec.dtype !== "float32" && spec.dtype !== "int32")) {
      throw new RefineryError(
        "unsupported_weights",
        `weight ${spec.name} in ${joinLocation(dir, MODEL_JSON)} has dtype ${spec.dtype}${spec.quantization ? " (quantized)" : ""}`,
        "only unquantized float32 and int32 weights can be loaded as typed arrays",
      );
    }
    const byteLength = size * 4;
    if (offset + byteLength > bytes.byteLength) throw tornFiles(dir, "weights.bin is shorter than its manifest");
    // slice() copies into an aligned buffer of the right length.
    const chunk = bytes.slice(offset, offset + byteLength).buffer;
    arrays.push({ name: spec.name, shape: [...spec.shape], data: spec.dtype === "float32" ? new Float32Array(chunk) : new Int32Array(chunk) });
    offset += byteLength;
  }
  const extra = (artifacts.userDefinedMetadata ?? {}) as JsonObject;
  return { arrays, extra };
}

/** The tfjs ModelArtifacts of `dir/model.json` and its weight files; checks the checksum refinery records. */
export async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = joinLocation(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readText(jsonPath);
  } catch (err) {
    const reason = (err as Error).message.replace(/^cannot read \S+ /, "");
    throw new RefineryError("weights_not_found", `cannot read ${jsonPath} ${reason}`, "pass a directory written by saveWeights or a policy's save");
  }
  let json: tf.io.ModelJSON & { refinery?: IntegrityRecord };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw tornFiles(dir, "model.json is not valid JSON");
  }
  if (!Array.isArray(json.weightsManifest)) throw tornFiles(dir, "model.json has no weightsManifest");
  return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
    const parts: Uint8Array[] = [];
    for (const group of manifest) {
      for (const p of group.paths) parts.push(await readBytes(await weightsPathInside(dir, p)));
    }
    const data = concatBytes(parts);
    if (json.refinery) {
      const digest = await sha256Hex(data);
      // Without Web Crypto (plain-http pages other than localhost) only the size can be checked.
      if (data.byteLength !== json.refinery.weightsBytes || (digest !== null && digest !== json.refinery.weightsSha256)) {
        throw tornFiles(dir, "weights.bin does not match the checksum recorded in model.json");
      }
    }
    return [manifest.flatMap((g) => g.weights), data.buffer as ArrayBuffer];
  });
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

export function tornFiles(dir: string, problem: string): RefineryError {
  return new RefineryError(
    "corrupt_weights",
    `${joinLocation(dir, MODEL_JSON)}: ${problem}`,
    "the save was interrupted or the files were edited; use an earlier checkpoint or save again",
  );
}

/**
 * The location a manifest path names, which must lie inside the model directory: a
 * model.json saying `../x` or `/etc/x`, or (on disk) a weights file that is a symlink leading
 * out, is refused, so loading a run or policy never reads files it does not hold.
 */
export async function weightsPathInside(dir: string, p: string): Promise<string> {
  const refuse = (why: string) =>
    new RefineryError("corrupt_weights", `${joinLocation(dir, MODEL_JSON)} names the weights file ${JSON.stringify(p)}, ${why}`, "weights files must lie inside the model directory; save the model again");
  if (isUrl(p) || p.startsWith("/") || p.startsWith("\\") || /^[a-z]:/i.test(p) || p.split(/[\\/]/).includes("..")) throw refuse("which lies outside its directory");
  const full = joinLocation(dir, p);
  if (isUrl(dir)) return full;
  const fs = await loadNodeBuiltin<typeof import("node:fs")>("fs");
  const path = await loadNodeBuiltin<typeof import("node:path")>("path");
  if (!fs || !path) return full;
  let real: string;
  let realDir: string;
  try {
    [real, realDir] = await Promise.all([fs.promises.realpath(full), fs.promises.realpath(dir)]);
  } catch (err) {
    // A missing weights file is a damaged save, not a crash.
    const code = (err as { code?: string }).code;
    throw tornFiles(dir, code === "ENOENT" ? `${p} is missing` : `${p} cannot be read (${code ?? String(err)})`);
  }
  if (!real.startsWith(realDir + path.sep)) throw refuse("which leads outside its directory");
  if (fs.statSync(real).isDirectory()) throw tornFiles(dir, `${p} is a directory`);
  return full;
}
