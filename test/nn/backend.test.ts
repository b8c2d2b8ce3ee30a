import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backendName, initBackend } from "../../src/core/backend.js";
import { ConfigError, RefineryError } from "../../src/core/errors.js";
import { Rng } from "../../src/core/rng.js";
import { MLP } from "../../src/nn/mlp.js";

// Runs first (suites run in order): nothing has initialised a backend in this process yet.
describe("before initBackend", () => {
  it("backendName and network constructors ask for initBackend", () => {
    expect(() => backendName()).toThrow(RefineryError);
    expect(() => new MLP({ sizes: [2, 2], rng: new Rng(0) })).toThrow(/initBackend/);
  });
});

describe("initBackend", () => {
  const realFetch = globalThis.fetch;
  const fetched: string[] = [];

  beforeAll(async () => {
    // The wasm binaries must come from node_modules, never from the network.
    globalThis.fetch = ((input: unknown) => {
      fetched.push(String(input));
      return Promise.reject(new Error("network access during initBackend"));
    }) as typeof fetch;
    await initBackend("wasm");
  });

  afterAll(() => {
    globalThis.fetch = realFetch;
  });

  it("starts wasm from the package's files without fetching", () => {
    expect(backendName()).toBe("wasm");
    expect(tf.getBackend()).toBe("wasm");
    expect(fetched).toEqual([]);
  });

  it("registers gradients (tf.variableGrads works)", () => {
    const v = tf.variable(tf.tensor1d([0, 1]));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.tanh(v)));
    const g = grads[v.name].dataSync();
    // d/dx tanh(x) = 1 - tanh(x)^2
    expect(g[0]).toBeCloseTo(1, 6);
    expect(g[1]).toBeCloseTo(1 - Math.tanh(1) ** 2, 6);
    tf.dispose([v, value, grads[v.name]]);
  });

  it("is idempotent and switches between cpu and wasm", async () => {
    await expect(initBackend("wasm")).resolves.toBe("wasm");
    await expect(initBackend("cpu")).resolves.toBe("cpu");
    expect(backendName()).toBe("cpu");
    const [a, b] = await Promise.all([initBackend("wasm"), initBackend("wasm")]);
    expect([a, b]).toEqual(["wasm", "wasm"]);
    expect(tf.getBackend()).toBe("wasm");
  });

  it("rejects unknown backends with a ConfigError listing the choices", async () => {
    const err = await initBackend("webgl" as "cpu").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('"webgl"');
    expect((err as ConfigError).message).toContain("cpu, wasm");
    expect(backendName()).toBe("wasm");
  });
});
