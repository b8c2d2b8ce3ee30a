import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/algos/index.js";
import { PPO } from "../../src/algos/ppo.js";
import { run } from "../../src/cli/main.js";
import type { PPOConfig } from "../../src/algos/ppo_config.js";
import { makeVec, type VecStepResult } from "../../src/envs/vector.js";
import { iterations } from "../helpers/algos.js";
import { AsyncVectorEnv } from "../../src/scale/async_vector.js";

const open: AsyncVectorEnv[] = [];
async function asyncVec(id: string, n: number, workers: number): Promise<AsyncVectorEnv> {
  const v = await AsyncVectorEnv.create({ kind: "make", id }, n, { workers });
  open.push(v);
  return v;
}
afterEach(() => {
  for (const v of open.splice(0)) v.close();
});

/** Deterministic pseudo-random numbers in [0, 1) (no shared state with the envs). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function expectSameStep(a: VecStepResult, s: VecStepResult): void {
  expect(Array.from(a[0])).toEqual(Array.from(s[0]));
  expect(Array.from(a[1])).toEqual(Array.from(s[1]));
  expect(Array.from(a[2])).toEqual(Array.from(s[2]));
  expect(Array.from(a[3])).toEqual(Array.from(s[3]));
  expect(a[4].finalObs.map((o) => (o ? Array.from(o) : null))).toEqual(s[4].finalObs.map((o) => (o ? Array.from(o) : null)));
  expect(a[4].finalInfo).toEqual(s[4].finalInfo);
  expect(a[4].envInfos).toEqual(s[4].envInfos);
  expect(a[4].episode).toEqual(s[4].episode);
}

describe("AsyncVectorEnv", () => {
  it("matches SyncVectorEnv step for step on CartPole (5 envs over 2 workers)", async () => {
    const a = await asyncVec("CartPole-v1", 5, 2);
    const s = makeVec("CartPole-v1", 5);
    expect(Array.from(a.reset({ seed: 7 })[0])).toEqual(Array.from(s.reset({ seed: 7 })[0]));
    const rand = lcg(1);
    let ended = 0;
    for (let t = 0; t < 600; t++) {
      const act = Int32Array.from({ length: 5 }, () => (rand() < 0.5 ? 0 : 1));
      const ra = a.step(act), rs = s.step(act);
      expectSameStep(ra, rs);
      ended += ra[2].reduce((x, y) => x + y, 0);
    }
    expect(ended).toBeGreaterThan(20); // autoreset was exercised
    s.close();
  });

  it("matches SyncVectorEnv on Pendulum with Box actions, truncations and final observations (4 envs, 2 workers)", async () => {
    const a = await asyncVec("Pendulum-v1", 4, 2);
    const s = makeVec("Pendulum-v1", 4);
    a.reset({ seed: [3, 9, 27, 81] });
    s.reset({ seed: [3, 9, 27, 81] });
    const rand = lcg(2);
    let truncs = 0;
    for (let t = 0; t < 450; t++) {
      const act = Float32Array.from({ length: 4 }, () => 4 * rand() - 2);
      const ra = a.step(act), rs = s.step(act);
      expectSameStep(ra, rs);
      truncs += ra[3].reduce((x, y) => x + y, 0);
    }
    expect(truncs).toBe(8); // 200-step time limit, twice per env
    s.close();
  });

  it("saves and restores env states like SyncVectorEnv", async () => {
    const a = await asyncVec("CartPole-v1", 3, 2);
    const s = makeVec("CartPole-v1", 3);
    a.reset({ seed: 1 });
    s.reset({ seed: 1 });
    for (let t = 0; t < 5; t++) {
      a.step([1, 0, 1]);
      s.step([1, 0, 1]);
    }
    const saved = a.getEnvStates();
    expect(saved).toEqual(s.getEnvStates());
    const after = a.step([0, 0, 0]);
    a.step([1, 1, 1]);
    a.setEnvStates(saved);
    expectSameStep(a.step([0, 0, 0]), after);
  });

  it("reports a worker's env error as the same RefineryError as sync mode", async () => {
    const a = await asyncVec("CartPole-v1", 4, 2);
    const s = makeVec("CartPole-v1", 4);
    a.reset({ seed: 0 });
    s.reset({ seed: 0 });
    const errOf = (f: () => unknown): Error => {
      try {
        f();
      } catch (e) {
        return e as Error;
      }
      throw new Error("expected an error");
    };
    const ea = errOf(() => a.step([0, 0, 0, 5])) as Error & { code: string };
    const es = errOf(() => s.step([0, 0, 0, 5])) as Error & { code: string };
    expect(ea.name).toBe(es.name);
    expect(ea.code).toBe(es.code);
    expect(ea.message).toBe(es.message);
    expect(ea.message).toMatch(/action 5 .*Fix:/);
    expect(ea.message.split("\n")).toHaveLength(1);
    expect(() => a.step([0, 1])).toThrow(/4 values are needed/);
  });

  it("reports an env that cannot be made in a worker", async () => {
    await expect(AsyncVectorEnv.create({ kind: "make", id: "CartPole-v1" }, 2, { workers: 2, imports: ["file:///nonexistent/module.mjs"] })).rejects.toThrow(
      /nonexistent|Cannot find/,
    );
  });

  it("imports the user's modules in the workers, so user-registered envs work", async () => {
    const url = new URL("../fixtures/user_env.ts", import.meta.url).href;
    await import(url); // the main thread has it too (the CLI imports --import modules first)
    await expect(AsyncVectorEnv.create({ kind: "make", id: "UserPole-v0" }, 2, { workers: 2, imports: [] })).rejects.toThrow(/UserPole-v0/);
    const a = await AsyncVectorEnv.create({ kind: "make", id: "UserPole-v0" }, 3, { workers: 2, imports: [url] });
    open.push(a);
    const s = makeVec("UserPole-v0", 3);
    a.reset({ seed: 4 });
    s.reset({ seed: 4 });
    let truncs = 0;
    for (let t = 0; t < 120; t++) {
      const ra = a.step([t % 2, 1, 0]), rs = s.step([t % 2, 1, 0]);
      expectSameStep(ra, rs);
      truncs += ra[3].reduce((x, y) => x + y, 0);
    }
    expect(truncs).toBeGreaterThan(0); // its 5-step limit came from the user's registration
  });

  it("throws instead of hanging when a worker thread ends mid-step", async () => {
    const url = new URL("../fixtures/user_env.ts", import.meta.url).href;
    await import(url);
    const a = await AsyncVectorEnv.create({ kind: "make", id: "ExitPole-v0" }, 2, { workers: 2, imports: [url] });
    open.push(a);
    a.reset({ seed: 0 });
    a.step([0, 1]);
    a.step([0, 1]);
    expect(() => a.step([0, 1])).toThrow(/worker of envs 0–0 ended while stepping/);
    expect(() => a.step([0, 1])).toThrow(/used after close/);
  });

  it("close() ends every worker thread and later use throws", async () => {
    const a = await AsyncVectorEnv.create({ kind: "make", id: "CartPole-v1" }, 3, { workers: 3 });
    a.reset({ seed: 0 });
    const exited = a.exited();
    a.close();
    await exited;
    expect(() => a.step([0, 0, 0])).toThrow(/used after close/);
    a.close(); // harmless twice
  });
});

/** Iteration metrics without wall-clock timings. */
function untimed(m: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !k.endsWith("Seconds") && k !== "sps" && k !== "time"));
}

/** A JSON value without RecordEpisodeStatistics' wall-clock fields. */
function withoutClock(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (k, v: unknown) => (k === "elapsedSeconds" || k === "timeQueue" ? undefined : v)));
}

describe("PPO with vectorEnv=async", () => {
  const cfg = (overrides: Record<string, unknown>) =>
    resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numSteps: 32, totalTimesteps: 1280, backend: "cpu", numEnvs: 3, ...overrides } }) as PPOConfig;

  it("gives bit-identical metrics, weights and checkpoints to sync", async () => {
    const sync = await PPO.create(cfg({}));
    const asy = await PPO.create(cfg({ vectorEnv: "async", workers: 2 }));
    try {
      for (let i = 0; i < 3; i++) expect(untimed(asy.iterate())).toEqual(untimed(sync.iterate()));
      const ws = sync.policy.getWeights(), wa = asy.policy.getWeights();
      for (const k of Object.keys(ws)) expect(Array.from(wa[k])).toEqual(Array.from(ws[k]));
      // Resume: a fresh async PPO loaded from the async checkpoint continues exactly like sync.
      const state = asy.saveState();
      expect(withoutClock(state.json.envs)).toEqual(withoutClock(sync.saveState().json.envs));
      const resumed = await PPO.create(cfg({ vectorEnv: "async", workers: 2 }));
      try {
        resumed.loadState(state);
        expect(untimed(resumed.iterate())).toEqual(untimed(sync.iterate()));
      } finally {
        resumed.dispose();
      }
    } finally {
      sync.dispose();
      asy.dispose();
    }
  });
});

describe("PPO with vectorEnv=async and normObs", () => {
  it("exports and evaluates with the workers' observation statistics", async () => {
    const cfg = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { numSteps: 32, totalTimesteps: 1280, backend: "cpu", numEnvs: 3, normObs: true } }) as PPOConfig;
    const sync = await PPO.create(cfg);
    const asy = await PPO.create({ ...cfg, vectorEnv: "async", workers: 2 });
    try {
      expect(untimed(asy.iterate())).toEqual(untimed(sync.iterate()));
      const stats = asy.exportPolicy().spec.obsNorm as { count: number };
      expect(stats.count).toBeGreaterThan(32);
      expect(stats).toEqual(sync.exportPolicy().spec.obsNorm);
      const [oa] = asy.makeEvalEnv().reset({ seed: 5 }), [os] = sync.makeEvalEnv().reset({ seed: 5 });
      expect(Array.from(oa as Float32Array)).toEqual(Array.from(os as Float32Array));
    } finally {
      sync.dispose();
      asy.dispose();
    }
  });
});

describe("MDPO with vectorEnv=async", () => {
  it("gives the same metrics as sync on Pendulum (Box actions)", async () => {
    const over = { numEnvs: 3, numSteps: 64 };
    const sync = await iterations("mdpo", over, 2, "Pendulum-v1");
    const asy = await iterations("mdpo", { ...over, vectorEnv: "async", workers: 2 }, 2, "Pendulum-v1");
    expect(asy.map(untimed)).toEqual(sync.map(untimed));
  });
});

describe("refinery train --set vectorEnv=async", () => {
  it("trains on an env registered by an --import module, with the metrics of a sync run", async () => {
    const root = mkdtempSync(join(tmpdir(), "refinery-async-"));
    const mod = fileURLToPath(new URL("../fixtures/user_env.ts", import.meta.url));
    const io = { out: () => undefined, err: (e: string) => void (errors += e) };
    let errors = "";
    const common = ["train", "--algo", "ppo", "--env", "UserPole-v0", "--import", mod, "--quiet", "--set", "totalTimesteps=512", "--set", "numSteps=64", "--set", "backend=cpu"];
    try {
      expect(await run([...common, "--out", join(root, "sync")], io)).toBe(0);
      expect(await run([...common, "--set", "vectorEnv=async", "--set", "workers=2", "--out", join(root, "async")], io)).toBe(0);
      expect(errors).toBe("");
      const rows = (dir: string) =>
        readFileSync(join(root, dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => untimed(JSON.parse(l) as object));
      const sync = rows("sync");
      expect(sync.length).toBeGreaterThan(1);
      expect(rows("async")).toEqual(sync);
      expect(await run([...common, "--set", "vectorEnv=threads", "--out", join(root, "bad")], io)).not.toBe(0);
      expect(errors).toMatch(/vectorEnv/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
