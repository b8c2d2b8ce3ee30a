import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../src/core/backend.js";
import { RefineryError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { fileSystemHandler, loadWeights, saveWeights, type NamedArray } from "../../src/nn/io.js";
import { MLP } from "../../src/nn/mlp.js";

let root: string;

beforeAll(async () => {
  await initBackend("cpu");
  root = await mkdtemp(path.join(tmpdir(), "refinery-io-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function netArrays(net: MLP): NamedArray[] {
  return net.getWeights().map((data, i) => ({ name: net.paramNames[i], data, shape: [...net.paramShapes[i]] }));
}

describe("saveWeights / loadWeights", () => {
  it("round-trips named typed arrays, shapes and JSON metadata", async () => {
    const dir = path.join(root, "roundtrip");
    const net = new MLP({ sizes: [4, 8, 2], rng: new Rng(1), name: "actor" });
    const arrays = [...netArrays(net), { name: "counters", data: Int32Array.from([7, -3]) }];
    await saveWeights(dir, arrays, { step: 1234, env: "CartPole-v1", nested: { ok: true } });
    const { arrays: loaded, extra } = await loadWeights(dir);
    expect(loaded.map((a) => a.name)).toEqual(arrays.map((a) => a.name));
    expect(loaded.map((a) => a.shape)).toEqual([[4, 8], [8], [8, 2], [2], [2]]);
    loaded.forEach((a, i) => expect(a.data).toEqual(arrays[i].data));
    expect(loaded[4].data).toBeInstanceOf(Int32Array);
    expect(extra).toEqual({ step: 1234, env: "CartPole-v1", nested: { ok: true } });
    // Only the two final files remain: temp files were renamed away.
    expect((await readdir(dir)).sort()).toEqual(["model.json", "weights.bin"]);
    net.dispose();
  });

  it("writes tfjs's format, readable by tfjs's own loader code (as a browser would)", async () => {
    const dir = path.join(root, "tfjs-format");
    const net = new MLP({ sizes: [3, 5, 2], rng: new Rng(2), name: "critic" });
    await saveWeights(dir, netArrays(net));
    const json = JSON.parse(await readFile(path.join(dir, "model.json"), "utf8")) as tf.io.ModelJSON;
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(["./weights.bin"]);
    expect(json.weightsManifest[0].weights[0]).toEqual({ name: "critic/dense_0/kernel", shape: [3, 5], dtype: "float32" });
    const bin = await readFile(path.join(dir, "weights.bin"));
    expect(bin.byteLength).toBe(net.parameterCount * 4);
    const artifacts = await tf.io.getModelArtifactsForJSON(json, async (manifest) => [
      manifest.flatMap((g) => g.weights),
      bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    ]);
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    net.getWeights().forEach((w, i) => expect(tensors[net.paramNames[i]].dataSync()).toEqual(w));
    tf.dispose(Object.values(tensors));
    net.dispose();
  });

  it("overwrites an earlier save", async () => {
    const dir = path.join(root, "overwrite");
    await saveWeights(dir, [{ name: "x", data: Float32Array.from([1, 2, 3]) }]);
    await saveWeights(dir, [{ name: "x", data: Float32Array.from([4, 5]) }], { v: 2 });
    const { arrays, extra } = await loadWeights(dir);
    expect(Array.from(arrays[0].data)).toEqual([4, 5]);
    expect(extra).toEqual({ v: 2 });
  });

  it("detects weights.bin that does not belong to model.json (an interrupted save)", async () => {
    const dir = path.join(root, "torn");
    await saveWeights(dir, [{ name: "x", data: Float32Array.from([1, 2]) }]);
    await writeFile(path.join(dir, "weights.bin"), Buffer.from(new Float32Array([9, 9]).buffer));
    const err = await loadWeights(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefineryError);
    expect((err as RefineryError).code).toBe("corrupt_weights");
  });

  it("names the missing file and rejects bad inputs", async () => {
    const err = await loadWeights(path.join(root, "nope")).catch((e: unknown) => e);
    expect((err as RefineryError).code).toBe("weights_not_found");
    expect((err as Error).message).toContain("model.json");
    await expect(saveWeights(path.join(root, "bad"), [{ name: "x", data: new Float32Array(3), shape: [2, 2] }])).rejects.toThrow(/shape \[2, 2\]/);
    const dup = [{ name: "x", data: new Float32Array(1) }, { name: "x", data: new Float32Array(1) }];
    await expect(saveWeights(path.join(root, "bad"), dup)).rejects.toThrow(RefineryError);
  });
});

describe("fileSystemHandler", () => {
  it("saves and loads a tfjs layers model (save handler + load handler)", async () => {
    const dir = path.join(root, "layers");
    const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [2], activation: "tanh" })] });
    const x = tf.tensor2d([[0.5, -1]]);
    const before = (model.predict(x) as tf.Tensor).dataSync();
    const result = await model.save(fileSystemHandler(dir));
    expect(result.modelArtifactsInfo.weightDataBytes).toBe((2 * 3 + 3) * 4);
    const loaded = await tfl.loadLayersModel(fileSystemHandler(dir));
    expect((loaded.predict(x) as tf.Tensor).dataSync()).toEqual(before);
    model.dispose();
    loaded.dispose();
    x.dispose();
  });

  it("works with tf.io.withSaveHandler-style artifacts from encodeWeights", async () => {
    const dir = path.join(root, "encoded");
    const { data, specs } = await tf.io.encodeWeights({ a: tf.tensor1d([1, 2]), b: tf.tensor2d([[3]]) });
    const handler = tf.io.withSaveHandler((artifacts) => fileSystemHandler(dir).save(artifacts));
    await handler.save?.({ weightSpecs: specs, weightData: data, format: "custom" });
    const artifacts = await fileSystemHandler(dir).load();
    expect(artifacts.format).toBe("custom");
    const tensors = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    expect(Array.from(tensors.b.dataSync())).toEqual([3]);
    tf.dispose(Object.values(tensors));
  });
});
