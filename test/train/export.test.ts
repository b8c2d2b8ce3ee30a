import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, normalize } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { run, type CliIo } from "../../src/cli/main.js";
import { Rng } from "../../src/core/rng.js";
import { loadPolicy } from "../../src/train/load_policy.js";
import { train } from "../../src/train/trainer.js";

const root = mkdtempSync(join(tmpdir(), "refinery-export-"));
let server: Server;
let base = "";

beforeAll(async () => {
  // A plain static server: tf.loadLayersModel fetches model.json and the weight files over HTTP, as in a browser.
  server = createServer((req, res) => {
    const file = normalize(join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "content-type": file.endsWith(".json") ? "application/json" : "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: "", stderr: "", out: (s: string) => void (io.stdout += s), err: (s: string) => void (io.stderr += s) };
  return io;
}

/** Tiny off-policy runs: 200 steps, training from step 100. */
const OFF_POLICY = { totalTimesteps: 200, iterationSteps: 100, learningStarts: 100, batchSize: 16, hidden: [16, 16], evalEpisodes: 1, backend: "cpu", seed: 3 };

async function trainedRun(name: string, env: string, overrides: Record<string, unknown>, algo = "ppo"): Promise<string> {
  const dir = join(root, name);
  const base = algo === "ppo" ? { numEnvs: 2, numSteps: 32, totalTimesteps: 64 * 4, evalEpisodes: 1, backend: "cpu", seed: 3 } : OFF_POLICY;
  const config = resolveConfig({ algo, env, overrides: { ...base, ...overrides } });
  await train({ runDir: dir, algo, config, store: false });
  return dir;
}

/** Observations spread around the typical range, including values the clip catches. */
function observations(n: number, size: number, scale: number): Float32Array {
  const rng = new Rng(11);
  const out = new Float32Array(n * size);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-scale, scale);
  return out;
}

async function compare(name: string, env: string, overrides: Record<string, unknown>, scale: number, algo = "ppo") {
  const dir = await trainedRun(name, env, overrides, algo);
  const io = capture();
  expect(await run(["export", dir, "--format", "tfjs", "--json"], io)).toBe(0);
  const result = JSON.parse(io.stdout) as { out: string; output: string };
  expect(result.out).toBe(`${dir}/export-tfjs`);
  const model = await tfl.loadLayersModel(`${base}/${name}/export-tfjs/model.json`);
  const policy = await loadPolicy(dir, { backend: "cpu" });
  const size = model.inputs[0].shape[1] as number;
  const n = 64;
  const obs = observations(n, size, scale);
  const predicted = tf.tidy(() => (model.predict(tf.tensor2d(obs, [n, size])) as tf.Tensor2D).arraySync());
  const ours = Array.from({ length: n }, (_, i) => policy.act(obs.subarray(i * size, (i + 1) * size), { deterministic: true }));
  policy.dispose();
  model.dispose();
  return { predicted, ours, output: result.output };
}

const argmax = (row: number[]) => row.indexOf(Math.max(...row));

describe("refinery export --format tfjs", () => {
  it("CartPole: tf.loadLayersModel reads the export and its argmax equals refinery's deterministic actions", async () => {
    const { predicted, ours, output } = await compare("cartpole", "CartPole-v1", {}, 2);
    expect(output).toBe("logits");
    expect(predicted.map(argmax)).toEqual(ours);
    // Both actions occur, so agreement is not a constant.
    expect(new Set(ours).size).toBe(2);
  });

  it("with observation normalisation and clipping folded in, actions still match", async () => {
    const { predicted, ours } = await compare("cartpole-norm", "CartPole-v1", { normObs: true, clipObs: 0.5 }, 3);
    expect(predicted.map(argmax)).toEqual(ours);
  });

  it("Pendulum (Box actions): the model outputs refinery's deterministic mean action", async () => {
    const { predicted, ours, output } = await compare("pendulum", "Pendulum-v1", { normObs: true, clipObs: 10 }, 1);
    expect(output).toBe("mean");
    for (let i = 0; i < ours.length; i++) expect(predicted[i][0]).toBeCloseTo((ours[i] as Float32Array)[0], 4);
  });

  it("DQN (CartPole): the model outputs Q(s, ·), whose argmax is refinery's greedy action; a dueling Q-network is refused with a fix", async () => {
    const { predicted, ours, output } = await compare("dqn", "CartPole-v1", {}, 2, "dqn");
    expect(output).toBe("q-values");
    expect(predicted.map(argmax)).toEqual(ours);
    expect(new Set(ours).size).toBe(2);
    const dueling = await trainedRun("dqn-dueling", "CartPole-v1", { dueling: true }, "dqn");
    const io = capture();
    expect(await run(["export", dueling], io)).not.toBe(0);
    expect(io.stderr).toMatch(/cannot export a dueling Q-network.*Fix: train with dueling false/);
  });

  it.each(["sac", "td3", "mdpo-off"])("%s (Pendulum): the model outputs refinery's deterministic action, inside the bounds", async (algo) => {
    const { predicted, ours, output } = await compare(algo, "Pendulum-v1", {}, 3, algo);
    expect(output).toBe("action");
    for (let i = 0; i < ours.length; i++) {
      expect(predicted[i][0]).toBeCloseTo((ours[i] as Float32Array)[0], 4);
      expect(Math.abs(predicted[i][0])).toBeLessThanOrEqual(2);
    }
    expect(new Set(predicted.map((r) => r[0].toFixed(3))).size).toBeGreaterThan(5);
  });

  it("--format onnx is a one-line error saying why and what to do instead", async () => {
    const io = capture();
    expect(await run(["export", join(root, "cartpole"), "--format", "onnx"], io)).toBe(2);
    expect(io.stderr).toMatch(/--format onnx is not supported: npm has no maintained ONNX model writer.*Fix: export with --format tfjs/);
    expect(io.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("loadPolicy reads a run over HTTP (a URL) as it reads it from disk: same actions", async () => {
    const byPath = await loadPolicy(join(root, "cartpole-norm"), { backend: "cpu" });
    const byUrl = await loadPolicy(`${base}/cartpole-norm/`, { backend: "cpu" });
    const obs = observations(32, 4, 3);
    for (let i = 0; i < 32; i++) {
      const o = obs.subarray(i * 4, i * 4 + 4);
      expect(byUrl.act(o)).toBe(byPath.act(o));
    }
    expect(byUrl.env).toBe("CartPole-v1");
    byPath.dispose();
    byUrl.dispose();
    await expect(loadPolicy(`${base}/missing/`)).rejects.toMatchObject({ code: "policy_not_found" });
  });

  it("a directory without a saved policy is named in the error", async () => {
    const io = capture();
    expect(await run(["export", join(root, "nothing-here")], io)).toBe(2);
    expect(io.stderr).toMatch(/no saved policy in .*nothing-here/);
  });
});
