import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { SyncVectorEnv } from "../../src/envs/vector.js";
import { TimeLimit } from "../../src/envs/wrappers.js";
import { ReplayBuffer, type ReplayBufferOptions } from "../../src/replay/buffer.js";

/** A one-env step whose observation is [v], action a, reward r. */
function step(v: number, r: number, opts: { a?: number; next?: number; term?: boolean; trunc?: boolean; final?: number } = {}) {
  const ended = opts.term || opts.trunc;
  return {
    obs: Float32Array.of(v),
    actions: [opts.a ?? 0],
    rewards: [r],
    nextObs: Float32Array.of(opts.next ?? v + 1),
    terminated: [opts.term ? 1 : 0],
    truncated: [opts.trunc ? 1 : 0],
    finalObs: [ended && opts.final !== undefined ? Float32Array.of(opts.final) : null],
  };
}

function buffer(o: Partial<ReplayBufferOptions> = {}): ReplayBuffer {
  return new ReplayBuffer({ capacity: 10, numEnvs: 1, obsSize: 1, actSize: 1, discrete: true, gamma: 0.5, ...o });
}

describe("ReplayBuffer: ring", () => {
  it("overwrites the oldest slot once full and keeps the newest capacity transitions", () => {
    const b = buffer({ capacity: 3 });
    for (let t = 0; t < 5; t++) b.add(step(t, t));
    expect(b.size).toBe(3);
    const all = b.gather([0, 1, 2]);
    // Slots 0,1 were overwritten by t=3,4; slot 2 still holds t=2.
    expect(Array.from(all.obs)).toEqual([3, 4, 2]);
    expect(Array.from(all.rewards)).toEqual([3, 4, 2]);
    expect(() => b.gather([3])).toThrow(/outside the 3 stored rows/);
  });

  it("rounds the capacity down to whole vector steps", () => {
    const b = buffer({ capacity: 10, numEnvs: 4 });
    expect(b.slots).toBe(2);
    expect(b.capacity).toBe(8);
  });

  it("refuses bad sizes with a fix", () => {
    expect(() => buffer({ capacity: 0 })).toThrow(/capacity must be .*Fix: set bufferSize/);
    expect(() => buffer({ nStep: 0 })).toThrow(/nStep must be a positive integer/);
    expect(() => buffer().sample(4, new Rng(0))).toThrow(/empty replay buffer/);
  });
});

describe("ReplayBuffer: termination vs truncation", () => {
  it("stores the true final observation as nextObs, and dones = terminated only", () => {
    const b = buffer({ gamma: 0.99 });
    b.add(step(0, 1, { next: 1 }));
    b.add(step(1, 1, { next: 100, trunc: true, final: 2 })); // 100 = the reset observation
    b.add(step(100, 1, { next: 200, term: true, final: 101 }));
    const batch = b.gather([0, 1, 2]);
    expect(Array.from(batch.nextObs)).toEqual([1, 2, 101]);
    expect(Array.from(batch.dones)).toEqual([0, 0, 1]);
    expect(Array.from(batch.discounts)).toEqual([0.99, 0.99, 0.99].map(Math.fround));
  });

  it("gives the worked Double-DQN targets: truncated bootstraps, terminated does not", () => {
    // r = 1, γ = 0.99, Q̄(s') = 2 (the max): y = r + discount·(1 − done)·2.
    const b = buffer({ gamma: 0.99 });
    b.add(step(0, 1, { trunc: true, final: 5 }));
    b.add(step(1, 1, { term: true, final: 6 }));
    const batch = b.gather([0, 1]);
    const y = (k: number) => batch.rewards[k] + batch.discounts[k] * (1 - batch.dones[k]) * 2;
    expect(y(0)).toBeCloseTo(2.98, 6);
    expect(y(1)).toBeCloseTo(1.0, 6);
  });

  it("refuses a truncation without its final observation", () => {
    const b = buffer();
    expect(() => b.add({ ...step(0, 1, { trunc: true }), finalObs: [null] })).toThrow(/truncated but no finalObs.*Fix: pass the vector env's info.finalObs/);
  });

  it("takes a real vector env's same-step autoreset rows", () => {
    class Count extends BaseEnv<Float32Array, number> {
      readonly observationSpace = new Box(-100, 100, [1]);
      readonly actionSpace = new Discrete(2);
      private t = 0;
      reset(args?: ResetArgs): [Float32Array, Info] {
        this.seedFromReset(args);
        this.t = 0;
        return [Float32Array.of(-1), {}];
      }
      step(): StepResult<Float32Array> {
        this.t++;
        return [Float32Array.of(this.t), 1, false, false, {}];
      }
    }
    const vec = new SyncVectorEnv([() => new TimeLimit(new Count(), 2), () => new TimeLimit(new Count(), 3)]);
    const b = new ReplayBuffer({ capacity: 20, numEnvs: 2, obsSize: 1, actSize: 1, discrete: true, gamma: 1, nStep: 5 });
    let [obs] = vec.reset({ seed: 0 });
    for (let t = 0; t < 3; t++) {
      const [next, rewards, terminated, truncated, info] = vec.step([0, 1]);
      b.add({ obs, actions: [0, 1], rewards, nextObs: next, terminated, truncated, finalObs: info.finalObs });
      obs = next;
    }
    const batch = b.gather([0, 1, 2, 3, 4, 5]);
    // env 0 (limit 2): -1→1, 1→2 (truncated, final 2), -1→1. env 1 (limit 3): -1→1, 1→2, 2→3 (truncated).
    expect(Array.from(batch.obs)).toEqual([-1, -1, 1, 1, -1, 2]);
    // 5-step returns stop at each env's episode end and at the newest slot.
    expect(Array.from(batch.rewards)).toEqual([2, 3, 1, 2, 1, 1]);
    expect(Array.from(batch.nextObs)).toEqual([2, 3, 2, 3, 1, 3]);
    expect(Array.from(batch.dones)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.actions)).toEqual([0, 1, 0, 1, 0, 1]);
  });
});

describe("ReplayBuffer: n-step returns", () => {
  it("sums n discounted rewards and bootstraps with γ^n", () => {
    const b = buffer({ nStep: 3, gamma: 0.5 });
    for (let t = 0; t < 6; t++) b.add(step(t, t + 1));
    const batch = b.gather([0, 3]);
    expect(batch.rewards[0]).toBeCloseTo(1 + 0.5 * 2 + 0.25 * 3, 6);
    expect(batch.discounts[0]).toBeCloseTo(0.125, 7);
    expect(batch.nextObs[0]).toBe(3);
    expect(batch.rewards[1]).toBeCloseTo(4 + 0.5 * 5 + 0.25 * 6, 6);
    expect(batch.nextObs[1]).toBe(6);
  });

  it("stops at a termination (masked) and at a truncation (bootstrapped from the final observation)", () => {
    const b = buffer({ nStep: 4, gamma: 0.5 });
    b.add(step(0, 1));
    b.add(step(1, 2, { term: true, final: 9 }));
    b.add(step(10, 4));
    b.add(step(11, 8, { trunc: true, final: 12 }));
    b.add(step(20, 16));
    const batch = b.gather([0, 2]);
    expect(batch.rewards[0]).toBeCloseTo(1 + 0.5 * 2, 6);
    expect(batch.dones[0]).toBe(1);
    expect(batch.discounts[0]).toBeCloseTo(0.25, 7);
    expect(batch.rewards[1]).toBeCloseTo(4 + 0.5 * 8, 6);
    expect(batch.dones[1]).toBe(0);
    expect(batch.nextObs[1]).toBe(12);
    expect(batch.discounts[1]).toBeCloseTo(0.25, 7);
  });

  it("stops at the newest slot and follows the ring across the wrap, never into overwritten data", () => {
    const b = buffer({ capacity: 4, nStep: 3, gamma: 0.5 });
    for (let t = 0; t < 6; t++) b.add(step(t, t + 1)); // slots now hold t = 4, 5, 2, 3; newest = slot 1 (t=5)
    const batch = b.gather([2, 3, 0, 1]);
    // t=2: 3 + 0.5·4 + 0.25·5 (slots 2 → 3 → 0 across the wrap)
    expect(batch.rewards[0]).toBeCloseTo(3 + 2 + 1.25, 6);
    expect(batch.nextObs[0]).toBe(5);
    // t=3: 4 + 0.5·5 + 0.25·6, slots 3 → 0 → 1 (the newest)
    expect(batch.rewards[1]).toBeCloseTo(4 + 2.5 + 1.5, 6);
    // t=4: 5 + 0.5·6, then the newest slot: only two steps, discount γ²
    expect(batch.rewards[2]).toBeCloseTo(5 + 3, 6);
    expect(batch.discounts[2]).toBeCloseTo(0.25, 7);
    // t=5 is the newest: one step.
    expect(batch.rewards[3]).toBeCloseTo(6, 6);
    expect(batch.discounts[3]).toBeCloseTo(0.5, 7);
    expect(batch.nextObs[3]).toBe(6);
  });

  it("walks each env's own rows when several envs share a slot", () => {
    const b = new ReplayBuffer({ capacity: 8, numEnvs: 2, obsSize: 1, actSize: 1, discrete: true, gamma: 1, nStep: 2 });
    for (let t = 0; t < 3; t++) {
      b.add({ obs: Float32Array.of(t, 10 + t), actions: [0, 1], rewards: [1, 100], nextObs: Float32Array.of(t + 1, 11 + t), terminated: [0, 0], truncated: [0, 0] });
    }
    const batch = b.gather([0, 1]);
    expect(Array.from(batch.rewards)).toEqual([2, 200]);
    expect(Array.from(batch.nextObs)).toEqual([2, 12]);
  });
});

describe("ReplayBuffer: sampling and checkpoints", () => {
  function filled(o: Partial<ReplayBufferOptions> = {}, steps = 7): ReplayBuffer {
    const b = new ReplayBuffer({ capacity: 10, numEnvs: 2, obsSize: 3, actSize: 2, discrete: false, gamma: 0.9, nStep: 2, ...o });
    const rng = new Rng(5);
    for (let t = 0; t < steps; t++) {
      const u = () => Float32Array.from({ length: 6 }, () => rng.normal());
      b.add({ obs: u(), actions: Float32Array.from({ length: 4 }, () => rng.uniform()), rewards: [rng.normal(), rng.normal()], nextObs: u(), terminated: [t % 3 === 2 ? 1 : 0, 0], truncated: [0, t % 4 === 3 ? 1 : 0], finalObs: [u().subarray(0, 3), u().subarray(3)] });
    }
    return b;
  }

  it("draws indices uniformly with replacement from the seeded generator", () => {
    const b = buffer({ capacity: 10 });
    for (let t = 0; t < 10; t++) b.add(step(t, t));
    const counts = new Array(10).fill(0);
    const rng = new Rng(3);
    for (let k = 0; k < 200; k++) for (const i of b.sample(50, rng).indices) counts[i]++;
    // 10 000 draws over 10 rows: 1000 each; 4 standard deviations is ±120.
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
    expect(Array.from(b.sample(16, new Rng(9)).indices)).toEqual(Array.from(b.sample(16, new Rng(9)).indices));
  });

  it("continuous actions keep their actSize columns", () => {
    const b = filled();
    const batch = b.gather([5]);
    expect(batch.actions).toBeInstanceOf(Float32Array);
    expect(batch.actions.length).toBe(2);
  });

  it("saveState/loadState round-trips a partly filled and a wrapped buffer exactly", () => {
    const fresh = () => new ReplayBuffer({ capacity: 10, numEnvs: 2, obsSize: 3, actSize: 2, discrete: false, gamma: 0.9, nStep: 2 });
    for (const steps of [3, 7]) {
      const a = filled({}, steps);
      const s = a.saveState();
      expect(s.arrays.obs.length).toBe(a.size * 3);
      const b = fresh();
      // Through JSON, as a checkpoint's JSON part travels.
      b.loadState({ json: JSON.parse(JSON.stringify(s.json)) as Record<string, unknown>, arrays: s.arrays });
      expect(b.size).toBe(a.size);
      expect(b.sample(32, new Rng(1))).toEqual(a.sample(32, new Rng(1)));
      // The write position came back too: the next add lands in the same slot.
      const more = { obs: new Float32Array(6).fill(7), actions: new Float32Array(4), rewards: [1, 2], nextObs: new Float32Array(6), terminated: [0, 0], truncated: [0, 0] };
      a.add(more);
      b.add(more);
      expect(b.sample(64, new Rng(2))).toEqual(a.sample(64, new Rng(2)));
    }
  });

  it("discrete action indices survive the float checkpoint arrays", () => {
    const a = buffer();
    for (let t = 0; t < 4; t++) a.add(step(t, t, { a: t % 3 }));
    const b = buffer();
    b.loadState(a.saveState());
    expect(Array.from(b.gather([0, 1, 2, 3]).actions)).toEqual([0, 1, 2, 0]);
  });

  it("refuses a checkpoint of a different buffer shape", () => {
    const s = filled().saveState();
    const other = new ReplayBuffer({ capacity: 20, numEnvs: 2, obsSize: 3, actSize: 2, discrete: false, gamma: 0.9 });
    expect(() => other.loadState(s)).toThrow(/does not fit this one.*Fix: resume with the config/);
  });
});

describe("ReplayBuffer: next-state action masks", () => {
  /** Counts steps; obs [t] (reset: [0]); masks: t = 0 → [0, 1, 1], odd t → [1, 1, 0], even t > 0 → [1, 0, 1]. */
  class MaskCount extends BaseEnv<Float32Array, number> {
    readonly observationSpace = new Box(-100, 100, [1]);
    readonly actionSpace = new Discrete(3);
    private t = 0;
    static mask(t: number): number[] {
      return t === 0 ? [0, 1, 1] : t % 2 ? [1, 1, 0] : [1, 0, 1];
    }
    reset(args?: ResetArgs): [Float32Array, Info] {
      this.seedFromReset(args);
      this.t = 0;
      return [Float32Array.of(0), { action_mask: MaskCount.mask(0) }];
    }
    step(a: number): StepResult<Float32Array> {
      this.t++;
      // Action 2 at an even step ends the episode (a termination); the time limit truncates.
      const terminated = a === 2 && this.t % 2 === 0;
      return [Float32Array.of(this.t), 1, terminated, false, { action_mask: MaskCount.mask(this.t) }];
    }
  }

  const masked = (o: Partial<ReplayBufferOptions> = {}) => new ReplayBuffer({ capacity: 40, numEnvs: 2, obsSize: 1, actSize: 1, discrete: true, gamma: 1, maskWidth: 3, ...o });

  /** Runs a vector env of two MaskCount copies (time limits 3 and 4) for `steps` steps into `b`. */
  function fill(b: ReplayBuffer, steps: number): number {
    const vec = new SyncVectorEnv([() => new TimeLimit(new MaskCount(), 3), () => new TimeLimit(new MaskCount(), 4)]);
    let [obs] = vec.reset({ seed: 0 });
    let ends = 0;
    for (let t = 0; t < steps; t++) {
      const actions = [t % 3, 2];
      const [next, rewards, terminated, truncated, info] = vec.step(actions);
      const nextMasks = Uint8Array.from(info.envInfos.flatMap((i) => Array.from(i.action_mask as number[])));
      ends += terminated.reduce((a, x) => a + x, 0) + truncated.reduce((a, x) => a + x, 0);
      b.add({ obs, actions, rewards, nextObs: next, terminated, truncated, finalObs: info.finalObs, nextMasks, finalMasks: info.finalInfo.map((f) => f?.action_mask as number[] | undefined) });
      obs = next;
    }
    vec.close();
    return ends;
  }

  for (const nStep of [1, 3]) {
    it(`every row's next mask is the mask of the observation it bootstraps from, across autoresets (nStep ${nStep})`, () => {
      const b = masked({ nStep });
      expect(fill(b, 12)).toBeGreaterThan(4);
      const batch = b.gather(Array.from({ length: b.size }, (_, i) => i));
      const masks = batch.nextMasks as Uint8Array;
      expect(masks).toHaveLength(b.size * 3);
      let truncatedRows = 0;
      for (let k = 0; k < b.size; k++) {
        const v = batch.nextObs[k];
        // nextObs is never a reset observation (0): an ended row keeps its true last one, and so its mask.
        expect(v).toBeGreaterThan(0);
        if (batch.dones[k]) continue; // a termination never bootstraps (its mask is unused)
        expect(Array.from(masks.subarray(k * 3, k * 3 + 3))).toEqual(MaskCount.mask(v));
        // Row k is env k % 2's (limits 3 and 4): reaching the limit is a truncation, whose next
        // mask must be the last observation's, not the reset mask the vector env returned.
        if (v === (k % 2 === 0 ? 3 : 4)) truncatedRows++;
      }
      expect(truncatedRows).toBeGreaterThan(0);
    });
  }

  it("refuses a masking add without next masks, and a truncation without its final mask; a termination without one stores all-allowed", () => {
    const b = masked({ numEnvs: 1 });
    const base = { obs: Float32Array.of(0), actions: [0], rewards: [1], nextObs: Float32Array.of(0), finalObs: [Float32Array.of(5)] };
    expect(() => b.add({ ...base, terminated: [0], truncated: [0] })).toThrow(/nextMasks needs 3 values.*Fix: pass the masks of the returned rows/);
    expect(() => b.add({ ...base, terminated: [0], truncated: [1], nextMasks: Uint8Array.of(0, 1, 1) })).toThrow(/truncated but no final action mask.*Fix: pass the vector env's info.finalInfo/);
    b.add({ ...base, terminated: [1], truncated: [0], nextMasks: Uint8Array.of(0, 1, 1) });
    expect(Array.from(b.gather([0]).nextMasks as Uint8Array)).toEqual([1, 1, 1]);
    b.add({ ...base, terminated: [0], truncated: [1], nextMasks: Uint8Array.of(0, 1, 1), finalMasks: [[true, false, false]] });
    expect(Array.from(b.gather([1]).nextMasks as Uint8Array)).toEqual([1, 0, 0]);
    // A buffer without maskWidth has no masks in its batches.
    expect(buffer().allocateBatch(2).nextMasks).toBeUndefined();
  });

  it("checkpoints keep the masks; a checkpoint without masks (older runs) loads with every action allowed", () => {
    const a = masked();
    fill(a, 9);
    const s = a.saveState();
    const b = masked();
    b.loadState({ json: JSON.parse(JSON.stringify(s.json)) as Record<string, unknown>, arrays: s.arrays });
    expect(b.sample(64, new Rng(3))).toEqual(a.sample(64, new Rng(3)));
    // Without masks: a buffer written before masking (no maskWidth, no nextMasks array).
    const plain = new ReplayBuffer({ capacity: 40, numEnvs: 2, obsSize: 1, actSize: 1, discrete: true, gamma: 1 });
    const vec = new SyncVectorEnv([() => new TimeLimit(new MaskCount(), 3), () => new TimeLimit(new MaskCount(), 4)]);
    let [obs] = vec.reset({ seed: 0 });
    for (let t = 0; t < 5; t++) {
      const [next, rewards, terminated, truncated, info] = vec.step([1, 1]);
      plain.add({ obs, actions: [1, 1], rewards, nextObs: next, terminated, truncated, finalObs: info.finalObs });
      obs = next;
    }
    vec.close();
    const old = plain.saveState();
    delete old.json.maskWidth;
    const resumed = masked();
    resumed.loadState(old);
    expect(resumed.size).toBe(plain.size);
    const batch = resumed.gather(Array.from({ length: resumed.size }, (_, i) => i));
    expect(Array.from(batch.nextMasks as Uint8Array).every((m) => m === 1)).toBe(true);
    expect(Array.from(batch.nextObs)).toEqual(Array.from(plain.gather(Array.from({ length: plain.size }, (_, i) => i)).nextObs));
    // Saved masks are ignored by a buffer that stores none.
    const noMasks = new ReplayBuffer({ capacity: 40, numEnvs: 2, obsSize: 1, actSize: 1, discrete: true, gamma: 1 });
    noMasks.loadState(s);
    expect(noMasks.size).toBe(a.size);
  });
});
