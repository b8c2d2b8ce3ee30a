import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { RefineryError, describeValue } from "../core/errors.js";

/**
 * Saving and loading weights in TensorFlow.js's model format — `model.json` (with a
 * `weightsManifest`) next to `weights.bin` — over node:fs, so the same files load in a
 * browser with tfjs's http loader. tfjs's own `file://` handler lives in tfjs-node, which
 * cannot be installed here.
 *
 * Node-only: this is the one file of nn/ that touches node:fs.
 *
 * Writes are atomic per file (temp file, fsync, rename): weights.bin first, model.json
 * last. model.json records the SHA-256 of its weights.bin, so if a crash lands between
 * the two renames the pair is reported as torn on load instead of silently mixing an
 * old manifest with new weights.
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

interface IntegrityRecord {
  weightsBytes: number;
  weightsSha256: string;
}

/** An IOHandler reading and writing `dir/model.json` + `dir/weights.bin`. */
export function fileSystemHandler(dir: string): { save: tf.io.SaveHandler; load: tf.io.LoadHandler } {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

/** Saves plain typed arrays (and optional JSON metadata) in the tfjs format. */
export async function saveWeights(dir: string, arrays: readonly NamedArray[], extra: JsonObject = {}): Promise<void> {
  const seen = new Set<string>();
  const specs: tf.io.WeightsManifestEntry[] = arrays.map((a) => {
    const shape = a.shape ?? [a.data.length];
    const dtype = a.data instanceof Float32Array ? "float32" : a.data instanceof Int32Array ? "int32" : null;
    if (dtype === null || shape.reduce((x, y) => x * y, 1) !== a.data.length || seen.has(a.name)) {
      throw new RefineryError(
        "invalid_weights",
        `cannot save weight ${describeValue(a.name)}: needs a unique name and a Float32Array or Int32Array whose length matches shape [${shape.join(", ")}], got ${describeValue(a.data)}`,
        "pass arrays from getWeights() with their parameter names and shapes",
      );
    }
    seen.add(a.name);
    return { name: a.name, shape: [...shape], dtype };
  });
  const weightData = concatBytes(arrays.map((a) => new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)));
  await saveArtifacts(dir, {
    format: "refinery-weights",
    generatedBy: "refinery",
    convertedBy: null,
    weightSpecs: specs,
    weightData: weightData.buffer as ArrayBuffer,
    userDefinedMetadata: extra as { [key: string]: object },
  });
}

/** Loads weights saved by saveWeights (or any float32/int32 tfjs model) as typed arrays. */
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
        `weight ${spec.name} in ${path.join(dir, MODEL_JSON)} has dtype ${spec.dtype}${spec.quantization ? " (quantized)" : ""}`,
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

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new RefineryError("unsupported_model", "binary (protobuf) model topologies cannot be saved to model.json", "save a layers model or plain weights");
  }
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
  const integrity: IntegrityRecord = { weightsBytes: weights.byteLength, weightsSha256: sha256(weights) };
  const modelJson = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    trainingConfig: artifacts.trainingConfig,
    signature: artifacts.signature,
    userDefinedMetadata: artifacts.userDefinedMetadata,
    modelInitializer: artifacts.modelInitializer,
    initializerSignature: artifacts.initializerSignature,
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
    refinery: integrity,
  };
  await fs.mkdir(dir, { recursive: true });
  const weightsPath = path.join(dir, WEIGHTS_BIN);
  const jsonPath = path.join(dir, MODEL_JSON);
  const weightsTmp = await writeTemp(weightsPath, weights);
  const jsonTmp = await writeTemp(jsonPath, JSON.stringify(modelJson));
  await fs.rename(weightsTmp, weightsPath);
  await fs.rename(jsonTmp, jsonPath);
  await syncDirectory(dir);
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = path.join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await fs.readFile(jsonPath, "utf8");
  } catch (err) {
    throw new RefineryError("weights_not_found", `cannot read ${jsonPath} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, "pass a directory written by saveWeights or a policy's save");
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
      for (const p of group.paths) {
        try {
          parts.push(new Uint8Array(await fs.readFile(path.resolve(dir, p))));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          // A missing or unreadable weights file is a damaged save, not a crash.
          if (code === "ENOENT" || code === "EISDIR") throw tornFiles(dir, `${p} is ${code === "ENOENT" ? "missing" : "a directory"}`);
          throw err;
        }
      }
    }
    const data = concatBytes(parts);
    if (json.refinery && (data.byteLength !== json.refinery.weightsBytes || sha256(data) !== json.refinery.weightsSha256)) {
      throw tornFiles(dir, "weights.bin does not match the checksum recorded in model.json");
    }
    return [manifest.flatMap((g) => g.weights), data.buffer as ArrayBuffer];
  });
}

let tempCounter = 0;

/** Writes and fsyncs `${target}.tmp-<pid>-<n>`; returns its path. */
async function writeTemp(target: string, data: Uint8Array | string): Promise<string> {
  const tmp = `${target}.tmp-${process.pid}-${tempCounter++}`;
  const handle = await fs.open(tmp, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return tmp;
}

/** Makes the renames durable; not every platform can fsync a directory, which is fine. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // Best effort only.
  } finally {
    await handle?.close();
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function tornFiles(dir: string, problem: string): RefineryError {
  return new RefineryError(
    "corrupt_weights",
    `${path.join(dir, MODEL_JSON)}: ${problem}`,
    "the save was interrupted or the files were edited; use an earlier checkpoint or save again",
  );
}
