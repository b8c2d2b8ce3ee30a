import type * as tf from "#tfjs-core";
import { ConfigError } from "../core/errors.js";
import type { SpaceJSON } from "../core/spaces.js";
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
  activation: "tanh" | "relu";
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

/** The LayersModel artifacts (topology, weight specs and data) of a saved actor-critic policy. */
export function actorLayersModel(arrays: readonly NamedArray[], extra: JsonObject, version = "0.1.0"): tf.io.ModelArtifacts {
  const spec = extra as unknown as ActorSpec;
  if (spec.kind !== "actor-critic") {
    throw new ConfigError(`cannot export a "${String(spec.kind)}" policy`, "export runs of control tasks (ppo, grpo, rloo, … on an env); text policies are not exported yet", "unsupported_policy");
  }
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
    const kernel = param(byName, `actor/dense_${i}/kernel`);
    const bias = Float32Array.from(param(byName, `actor/dense_${i}/bias`).data);
    const units = bias.length;
    if (kernel.data.length !== inSize * units) {
      throw new ConfigError(`actor/dense_${i}/kernel has ${kernel.data.length} values, expected ${inSize}×${units}`, "export a policy saved by refinery, unedited", "corrupt_weights");
    }
    if (i === 0 && foldShift !== 0) {
      for (let o = 0; o < units; o++) {
        let column = 0;
        for (let r = 0; r < inSize; r++) column += kernel.data[r * units + o];
        bias[o] -= foldShift * column;
      }
    }
    const last = i === depth - 1;
    layers.push(dense(last ? "action" : `dense_${i}`, units, last ? "linear" : spec.activation, layers.length === 0 ? [null, obsSize] : undefined));
    const name = last ? "action" : `dense_${i}`;
    weights.push({ name: `${name}/kernel`, shape: [inSize, units], data: Float32Array.from(kernel.data) }, { name: `${name}/bias`, shape: [units], data: bias });
    inSize = units;
  }
  const discrete = spec.actionSpace.type === "Discrete";
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
        output: discrete ? "logits: the action is the argmax" : "mean: the deterministic action (clip it to the action space's bounds)",
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
