import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import * as tf from "#tfjs-core";
import { RefineryError, describeValue } from "../core/errors.js";
import { concatBytes, loadArtifacts, MODEL_JSON, WEIGHTS_BIN, type IntegrityRecord, type JsonObject, type NamedArray } from "./weights_load.js";

export { loadWeights, MODEL_JSON, WEIGHTS_BIN, type JsonObject, type JsonValue, type NamedArray, type WeightArray } from "./weights_load.js";

/**
 * Saving and loading weights in TensorFlow.js's model format — `model.json` (with a
 * `weightsManifest`) next to `weights.bin` — over node:fs, so the same files load in a
 * browser with tfjs's http loader. tfjs's own `file://` handler lives in tfjs-node, which
 * cannot be installed here.
 *
 * Node-only: this is the one file of nn/ that touches node:fs. Loading is isomorphic and
 * lives in weights_load.ts (re-exported here).
 *
 * Writes are atomic per file (temp file, fsync, rename): weights.bin first, model.json
 * last. model.json records the SHA-256 of its weights.bin, so if a crash lands between
 * the two renames the pair is reported as torn on load instead of silently mixing an
 * old manifest with new weights.
 */

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

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
