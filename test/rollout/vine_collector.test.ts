import { describe, expect, it } from "vitest";
import { allSubsets } from "../../src/advantage/set.js";
import { getDiversity } from "../../src/advantage/diversity.js";
import { Rng } from "../../src/core/rng.js";
import { Wrapper } from "../../src/envs/env.js";
import { make } from "../../src/envs/registry.js";
import type { ActBuffers } from "../../src/policies/actor_critic.js";
import { goalReached, VineCollector, type VineBatch, type VinePolicy } from "../../src/rollout/vine_collector.js";
import { polychromicAdvantages } from "../../src/algos/polychromic.js";

/** Grid test policy without tensors: uniform over the 7 actions; V(obs) = the sum of the observation / 100. */
class UniformPolicy implements VinePolicy {
  readonly obsSize = 980;
  readonly actSize = 1;
  readonly discrete = true;
  buffers(n: number): ActBuffers {
    return { actions: new Int32Array(n), logProbs: new Float32Array(n), values: new Float32Array(n) };
  }
  act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, _det = false, withValues = true): void {
    for (let i = 0; i < batch; i++) {
      out.actions[i] = rng.integer(0, 7);
      out.logProbs[i] = Math.log(1 / 7);
    }
    if (withValues) this.values(obs, batch, out.values);
  }
  values(obs: Float32Array, batch: number, out: Float32Array): Float32Array {
    for (let i = 0; i < batch; i++) {
      let s = 0;
      for (let j = 0; j < 980; j++) s += obs[i * 980 + j];
      out[i] = s / 100;
    }
    return out;
  }
}

const ENV = "MiniGrid-Empty-5x5-v0";
const options = { numRollouts: 3, vineStatesPerRollout: 2, numVines: 3, setSize: 2, subsetMode: "all" as const, numSubsets: 1, success: goalReached };

function collect(seed: number): VineBatch {
  const c = new VineCollector(() => make(ENV), new UniformPolicy(), options);
  try {
    return c.collect(new Rng(seed));
  } finally {
    c.close();
  }
}

const rowsOf = (b: VineBatch, i: number) => Array.from({ length: b.length[i] }, (_, k) => b.start[i] + k);
const obsAt = (b: VineBatch, row: number) => Array.from(b.obs.subarray(row * 980, (row + 1) * 980));

describe("VineCollector", () => {
  const b = collect(3);
  const vines = b.vineRollout.length;

  it("lays out B base trajectories, then N continuations per vine state, p vine states per base trajectory", () => {
    expect(b.numRollouts).toBe(3);
    expect(vines).toBe(Array.from({ length: 3 }, (_, i) => Math.min(2, b.length[i])).reduce((a, x) => a + x, 0));
    expect(b.length).toHaveLength(3 + vines * 3);
    expect(b.summaries).toHaveLength(b.length.length);
    let total = 0;
    b.length.forEach((len, i) => {
      expect(b.start[i]).toBe(total);
      total += len;
      expect(b.dones[b.start[i] + len - 1]).toBe(1);
      expect(rowsOf(b, i).slice(0, -1).every((r) => b.dones[r] === 0)).toBe(true);
      expect(b.returns[i]).toBeCloseTo(rowsOf(b, i).reduce((s, r) => s + b.rewards[r], 0), 6);
      expect(b.terminated[i] + b.truncated[i]).toBe(1);
      const last = b.rewards[b.start[i] + len - 1];
      expect(b.summaries[i].success).toBe(b.terminated[i] === 1 && last > 0);
      // Truncated trajectories are bootstrapped from V(final obs); terminated ones are not.
      expect(b.finalValues[i] !== 0).toBe(b.truncated[i] === 1);
    });
    expect(b.numSteps).toBe(total);
    b.subsets.forEach((s) => expect(s).toEqual(allSubsets(3, 2)));
    // Two vine states of one base trajectory are distinct times, in order.
    for (let v = 1; v < vines; v++) if (b.vineRollout[v] === b.vineRollout[v - 1]) expect(b.vineTime[v]).toBeGreaterThan(b.vineTime[v - 1]);
  });

  it("every continuation starts from its vine state: the base trajectory's observation and cell at that time", () => {
    let sameFirstAction = 0;
    for (let v = 0; v < vines; v++) {
      const base = b.vineRollout[v];
      const t = b.vineTime[v];
      const baseRow = b.start[base] + t;
      for (let j = 0; j < 3; j++) {
        const i = 3 + v * 3 + j;
        expect(obsAt(b, b.start[i])).toEqual(obsAt(b, baseRow));
        const cells = b.summaries[i].cells;
        expect([cells[0], cells[1]]).toEqual([b.summaries[base].cells[2 * t], b.summaries[base].cells[2 * t + 1]]);
        // The env was restored exactly: the same first action leads to the same next observation.
        if (b.actions[b.start[i]] === b.actions[baseRow] && b.length[i] > 1 && t + 1 < b.length[base]) {
          expect(obsAt(b, b.start[i] + 1)).toEqual(obsAt(b, baseRow + 1));
          sameFirstAction++;
        }
      }
    }
    expect(sameFirstAction).toBeGreaterThan(0);
  });

  it("the same seed gives the same batch; another seed another", () => {
    const again = collect(3);
    expect(Array.from(again.actions)).toEqual(Array.from(b.actions));
    expect(Array.from(again.vineTime)).toEqual(Array.from(b.vineTime));
    expect(Array.from(collect(4).actions)).not.toEqual(Array.from(b.actions));
  });

  it("polychromic advantages: GAE on base steps, each continuation's set advantage on all its steps, GAE returns as value targets", () => {
    const gamma = 0.9, lambda = 0.8;
    const d = getDiversity("final-cells");
    const out = polychromicAdvantages(b, d, gamma, lambda);
    // GAE written out per trajectory (bootstrapping truncated ones from V(final obs)).
    const gaeAdv = new Float64Array(b.numSteps);
    b.length.forEach((len, i) => {
      let next = 0;
      for (let k = len - 1; k >= 0; k--) {
        const r = b.start[i] + k;
        const nextV = k === len - 1 ? b.finalValues[i] : b.values[r + 1];
        const delta = b.rewards[r] + gamma * nextV - b.values[r];
        next = delta + gamma * lambda * (k === len - 1 ? 0 : next);
        gaeAdv[r] = next;
      }
    });
    for (let r = 0; r < b.numSteps; r++) expect(out.returns[r]).toBeCloseTo(gaeAdv[r] + b.values[r], 4);
    for (let i = 0; i < 3; i++) for (const r of rowsOf(b, i)) expect(out.advantages[r]).toBeCloseTo(gaeAdv[r], 4);
    let scoreSum = 0, count = 0;
    for (let v = 0; v < vines; v++) {
      const m = [0, 1, 2].map((j) => b.summaries[3 + v * 3 + j]);
      const f = (x: number, y: number) => ((m[x].return + m[y].return) / 2) * (m[x].finalCell!.join() === m[y].finalCell!.join() ? 0.5 : 1);
      const scores = [f(0, 1), f(0, 2), f(1, 2)];
      scoreSum += scores.reduce((a, x) => a + x, 0);
      count += 3;
      const V = (scores[0] + scores[1] + scores[2]) / 3;
      const want = [(scores[0] + scores[1]) / 2 - V, (scores[0] + scores[2]) / 2 - V, (scores[1] + scores[2]) / 2 - V];
      for (let j = 0; j < 3; j++) for (const r of rowsOf(b, 3 + v * 3 + j)) expect(out.advantages[r]).toBeCloseTo(want[j], 6);
    }
    expect(out.setScore).toBeCloseTo(scoreSum / count, 6);
    expect(b.summaries.slice(3).some((s) => s.success)).toBe(true);
  });

  it("refuses a set larger than the continuations, in one line", () => {
    expect(() => new VineCollector(() => make(ENV), new UniformPolicy(), { ...options, setSize: 4 })).toThrow(/setSize 4 is more than numVines 3.*Fix:/);
  });
});

/** UniformPolicy that samples uniformly among the allowed actions when given masks. */
class MaskedUniformPolicy extends UniformPolicy {
  override act(obs: Float32Array, batch: number, rng: Rng, out: ActBuffers, _det = false, withValues = true, masks?: Uint8Array | null): void {
    super.act(obs, batch, rng, out, _det, withValues);
    if (!masks) return;
    for (let i = 0; i < batch; i++) {
      const allowed = [0, 1, 2, 3, 4, 5, 6].filter((a) => masks[i * 7 + a]);
      out.actions[i] = allowed[rng.integer(0, allowed.length)];
      out.logProbs[i] = Math.log(1 / allowed.length);
    }
  }
}

/** Logs, for every step of its env copy, the grid's own mask of the state the action is taken in. */
class MaskSpy extends Wrapper {
  readonly log: { mask: number[]; action: number }[] = [];
  override step(action: unknown) {
    const grid = this.unwrapped as unknown as { actionMask(): Int8Array };
    this.log.push({ mask: Array.from(grid.actionMask()), action: action as number });
    return super.step(action);
  }
}

describe("VineCollector with action masks", () => {
  it("stores, step by step, the env's own mask of the state acted in, after a snapshot restore too; acts only on allowed actions", () => {
    const spies: MaskSpy[] = [];
    const c = new VineCollector(() => {
      const spy = new MaskSpy(make(ENV));
      spies.push(spy);
      return spy;
    }, new MaskedUniformPolicy(), options);
    expect(c.masking).toBe(true);
    expect(c.maskWidth).toBe(7);
    const b = c.collect(new Rng(5));
    c.close();
    const masks = b.actionMasks as Uint8Array;
    expect(masks).toHaveLength(b.numSteps * 7);
    // Env copy e runs base trajectory e (e < B) first, then continuation e (restored from a snapshot).
    const B = b.numRollouts;
    const vineTrajs = b.length.length - B;
    let restoredChecked = 0, freshCopies = 0;
    spies.forEach((spy, e) => {
      const trajs = [...(e < B ? [e] : []), ...(e < vineTrajs ? [B + e] : [])];
      expect(spy.log).toHaveLength(trajs.reduce((n, i) => n + b.length[i], 0));
      let k = 0;
      for (const i of trajs) {
        for (const r of rowsOf(b, i)) {
          const logged = spy.log[k++];
          expect(Array.from(masks.subarray(r * 7, r * 7 + 7))).toEqual(logged.mask);
          expect(b.actions[r]).toBe(logged.action);
          expect(masks[r * 7 + b.actions[r]]).toBe(1);
        }
        if (i >= B) restoredChecked++;
        // A copy that never ran a base trajectory knows its state only from the restored snapshot.
        if (i >= B && e >= B) freshCopies++;
      }
    });
    expect(restoredChecked).toBe(vineTrajs);
    expect(freshCopies).toBeGreaterThan(0);
    // Masks vary: forward is allowed in some states and not in others (facing a wall).
    const forward = Array.from({ length: b.numSteps }, (_, r) => masks[r * 7 + 2]);
    expect(new Set(forward).size).toBe(2);
    // A continuation's first mask is its vine state's.
    for (let v = 0; v < b.vineRollout.length; v++) {
      const baseRow = b.start[b.vineRollout[v]] + b.vineTime[v];
      for (let j = 0; j < 3; j++) {
        const r = b.start[B + v * 3 + j];
        expect(Array.from(masks.subarray(r * 7, r * 7 + 7))).toEqual(Array.from(masks.subarray(baseRow * 7, baseRow * 7 + 7)));
      }
    }
  });

  it("actionMasking off stores no masks; on with an env without masks is PPO's one-line error", () => {
    const off = new VineCollector(() => make(ENV), new UniformPolicy(), { ...options, actionMasking: "off" });
    expect(off.masking).toBe(false);
    expect(off.collect(new Rng(1)).actionMasks).toBeUndefined();
    off.close();
    const cartPolicy = { ...new UniformPolicy(), obsSize: 4, buffers: (n: number) => new UniformPolicy().buffers(n), act: () => undefined, values: (_o: Float32Array, _n: number, out: Float32Array) => out };
    expect(() => new VineCollector(() => make("CartPole-v1"), cartPolicy, { ...options, actionMasking: "on" })).toThrow(/^actionMasking=on but .* provides no action masks.*Fix: /);
  });
});
