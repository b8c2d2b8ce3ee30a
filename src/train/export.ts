import type * as tf from "#tfjs-core";
import { ConfigError } from "../core/errors.js";
import { Box, spaceFromJSON, type BoxValue, type SpaceJSON } from "../core/spaces.js";
import type { JsonObject, NamedArray } from "../nn/weights_load.js";

/**
 * A saved actor-critic policy's actor as a standard TensorFlow.js LayersModel (Keras
 * topology in model.json + weights.bin), which `tf.loadLayersModel` from
 * @tensorflow/tfjs-layers (and tensorflowjs_converter, to Keras) reads without refinery.
 *
 * Its input is the raw observation [batch, obsSize] and its output the deterministic
 * action: logits [batch, n] for Discrete actions (take the argmax), the mean
 * [batch, actDim] for Box actions (refinery's deterministic action; the env clips it to
 * the bounds). Saved observation normalisation is part of the model: a "normalize" Dense
 * layer with a diagonal kernel (1/std) and, when observations were clipped, a "clip_obs"
 * ReLU layer (shifted by clipObs, capped at 2·clipObs) whose shift is folded into the
 * next layer's bias. Isomorphic: this builds the artifacts; writing them is the caller's.
 */

interface ActorSpec {
  kind: string;
  env: string;
  observationSpace: SpaceJSON;
  actionSpace: SpaceJSON;
  hidden: number[];
  /** Absent in the off-policy actors' specs (always ReLU). */
  activation?: "tanh" | "relu";
  /** Q-networks: a dueling head (not exportable as a Sequential model). */
  dueling?: boolean;
  obsNorm: { mean: ArrayLike<number>; var: ArrayLike<number>; count: number } | null;
  clipObs: number | null;
}

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
}

interface Weight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export const EXPORT_FORMATS = ["tfjs", "onnx"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** Why ONNX is refused, in one place for the CLI and the docs' wording. */
export const ONNX_UNSUPPORTED = new ConfigError(
  "--format onnx is not supported: npm has no maintained ONNX model writer (onnx-proto only ships protobuf bindings, on protobufjs 6), and writing ONNX graphs by hand is out of scope",
  "export with --format tfjs and convert it (tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras, then tf2onnx)",
  "unsupported_export_format",
);

/** What the exported model outputs, by the kind of saved policy. */
export type ExportOutput = "logits" | "mean" | "q-values" | "action";

/**
 * How each exportable policy kind maps onto a Sequential model: the prefix of its MLP's
 * weights, the hidden activation, and how the last layer becomes the output —
 * "plain" (its outputs as they are), or "squash" (the first actDim outputs through tanh,
 * then scale·y + bias onto the action box: SAC's squashed mean, TD3's μ(s)).
 */
function exportLayout(spec: ActorSpec): { prefix: string; activation: "tanh" | "relu"; head: "plain" | "squash"; output: ExportOutput } {
  switch (spec.kind) {
    case "actor-critic":
      return { prefix: "actor", activation: spec.activation ?? "tanh", head: "plain", output: spec.actionSpace.type === "Discrete" ? "logits" : "mean" };
    case "q-network":
      if (spec.dueling) {
        throw new ConfigError("cannot export a dueling Q-network: its V + A − mean A head is not a Sequential model", "train with dueling false to export, or load the run with loadPolicy", "unsupported_policy");
      }
      return { prefix: "q", activation: spec.activation ?? "relu", head: "plain", output: "q-values" };
    case "squashed-gaussian":
    case "deterministic-actor":
      return { prefix: "actor", activation: "relu", head: "squash", output: "action" };
    default:
      throw new ConfigError(`cannot export a "${String(spec.kind)}" policy`, "export runs of control tasks (ppo, dqn, sac, td3, … on an env); text policies are not exported yet", "unsupported_policy");
  }
}

/** What `actorLayersModel` would output for a saved policy's spec (throws for kinds it cannot export). */
export function exportOutput(extra: JsonObject): ExportOutput {
  return exportLayout(extra as unknown as ActorSpec).output;
}

/**
 * The LayersModel artifacts (topology, weight specs and data) of a saved policy: an
 * actor-critic's actor, a (non-dueling) DQN Q-network, or SAC's / TD3's / mdpo-off's actor.
 */
export function actorLayersModel(arrays: readonly NamedArray[], extra: JsonObject, version = "0.1.0"): tf.io.ModelArtifacts {
  const spec = extra as unknown as ActorSpec;
  const layout = exportLayout(spec);
  const byName = new Map(arrays.map((a) => [a.name, a]));
  const obsSize = spaceSize(spec.observationSpace);
  const layers: KerasLayer[] = [];
  const weights: Weight[] = [];
  let foldShift = 0;
  if (spec.obsNorm) {
    const c = spec.clipObs;
    const kernel = new Float32Array(obsSize * obsSize);
    const bias = new Float32Array(obsSize);
    for (let i = 0; i < obsSize; i++) {
      const std = Math.sqrt(spec.obsNorm.var[i] + 1e-8);
      kernel[i * obsSize + i] = 1 / std;
      bias[i] = -spec.obsNorm.mean[i] / std + (c ?? 0);
    }
    layers.push(dense("normalize", obsSize, "linear", [null, obsSize]));
    weights.push({ name: "normalize/kernel", shape: [obsSize, obsSize], data: kernel }, { name: "normalize/bias", shape: [obsSize], data: bias });
    if (c !== null) {
      // clip(z, -c, c) = min(max(z + c, 0), 2c) − c; the final "− c" is folded into the next bias.
      layers.push({ class_name: "ReLU", config: { max_value: 2 * c, name: "clip_obs", trainable: false } });
      foldShift = c;
    }
  }
  const depth = spec.hidden.length + 1;
  let inSize = obsSize;
  for (let i = 0; i < depth; i++) {
    const kernel = param(byName, `${layout.prefix}/dense_${i}/kernel`);
    let bias: Float32Array = Float32Array.from(param(byName, `${layout.prefix}/dense_${i}/bias`).data);
    let units = bias.length;
    if (kernel.data.length !== inSize * units) {
      throw new ConfigError(`${layout.prefix}/dense_${i}/kernel has ${kernel.data.length} values, expected ${inSize}×${units}`, "export a policy saved by refinery, unedited", "corrupt_weights");
    }
    let kernelData: Float32Array = Float32Array.from(kernel.data);
    const last = i === depth - 1;
    const squash = last && layout.head === "squash";
    if (squash) {
      // The squashed Gaussian's net also outputs log σ (columns actDim…): keep the mean's columns.
      const box = actionBox(spec.actionSpace);
      const keep = box.low.length;
      kernelData = keepColumns(kernelData, inSize, units, keep);
      bias = bias.slice(0, keep);
      units = keep;
    }
    if (i === 0 && foldShift !== 0) {
      for (let o = 0; o < units; o++) {
        let column = 0;
        for (let r = 0; r < inSize; r++) column += kernel.data[r * units + o];
        bias[o] -= foldShift * column;
      }
    }
    const name = last && !squash ? "action" : `dense_${i}`;
    layers.push(dense(name, units, last ? (squash ? "tanh" : "linear") : layout.activation, layers.length === 0 ? [null, obsSize] : undefined));
    weights.push({ name: `${name}/kernel`, shape: [inSize, units], data: kernelData }, { name: `${name}/bias`, shape: [units], data: bias });
    inSize = units;
    if (squash) {
      // a = scale·tanh(·) + bias as a Dense layer with a diagonal kernel.
      const box = actionBox(spec.actionSpace);
      const scale = new Float32Array(units * units);
      const shift = new Float32Array(units);
      for (let j = 0; j < units; j++) {
        scale[j * units + j] = (box.high[j] - box.low[j]) / 2;
        shift[j] = (box.high[j] + box.low[j]) / 2;
      }
      layers.push(dense("action", units, "linear"));
      weights.push({ name: "action/kernel", shape: [units, units], data: scale }, { name: "action/bias", shape: [units], data: shift });
    }
  }
  const outputs: Record<ExportOutput, string> = {
    logits: "logits: the action is the argmax",
    mean: "mean: the deterministic action (clip it to the action space's bounds)",
    "q-values": "Q(s, ·): the greedy action is the argmax",
    action: "the deterministic action, inside the action space's bounds",
  };
  return {
    modelTopology: {
      class_name: "Sequential",
      config: { name: "refinery_actor", layers },
      keras_version: "tfjs-layers 4.22.0",
      backend: "tensor_flow.js",
    },
    format: "layers-model",
    generatedBy: `refinery ${version}`,
    convertedBy: null,
    weightSpecs: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: "float32" as const })),
    weightData: concat(weights.map((w) => w.data)),
    userDefinedMetadata: {
      refinery: {
        env: spec.env,
        observationSpace: spec.observationSpace,
        actionSpace: spec.actionSpace,
        output: outputs[layout.output],
      } as unknown as object,
    },
  };
}

function dense(name: string, units: number, activation: string, batchInputShape?: (number | null)[]): KerasLayer {
  return {
    class_name: "Dense",
    config: {
      units,
      activation,
      use_bias: true,
      kernel_initializer: { class_name: "Zeros", config: {} },
      bias_initializer: { class_name: "Zeros", config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
      name,
      trainable: true,
      ...(batchInputShape ? { batch_input_shape: batchInputShape, dtype: "float32" } : {}),
    },
  };
}

/** The bounded Box of a saved continuous actor. */
function actionBox(json: SpaceJSON): Box<BoxValue> {
  const box = spaceFromJSON(json);
  if (!(box instanceof Box) || !box.isBounded()) {
    throw new ConfigError(`a squashed actor needs a bounded Box action space, the saved spec has ${json.type}`, "export a policy saved by sac, td3 or mdpo-off, unedited", "corrupt_weights");
  }
  return box;
}

/** The first `keep` columns of a row-major [rows, cols] matrix. */
function keepColumns(a: Float32Array, rows: number, cols: number, keep: number): Float32Array {
  const out = new Float32Array(rows * keep);
  for (let r = 0; r < rows; r++) out.set(a.subarray(r * cols, r * cols + keep), r * keep);
  return out;
}

function param(byName: Map<string, NamedArray>, name: string): NamedArray {
  const found = byName.get(name);
  if (!found || !(found.data instanceof Float32Array)) {
    throw new ConfigError(`the saved policy has no float32 weight ${name}`, "export a policy saved by refinery (its policy/ or best/ directory), unedited", "corrupt_weights");
  }
  return found;
}

function spaceSize(space: SpaceJSON): number {
  const shape = (space as { shape?: number[] }).shape;
  if (!shape) throw new ConfigError(`cannot export a policy whose observation space is ${space.type}`, "export policies of Box observation spaces", "unsupported_policy");
  return shape.reduce((a, b) => a * b, 1);
}

function concat(parts: readonly Float32Array[]): ArrayBuffer {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out.buffer;
}
