import { beforeAll, describe, expect, it } from "vitest";
import { epsilonGreedy } from "../../src/algos/dqn.js";
import { initBackend } from "../../src/core/backend.js";
import { Rng } from "../../src/core/rng.js";
import { Box, Discrete } from "../../src/core/spaces.js";
import { readActionMask, resolveActionMasking } from "../../src/envs/action_mask.js";
import { BaseEnv, type Info, type ResetArgs, type StepResult } from "../../src/envs/env.js";
import { make } from "../../src/envs/registry.js";
import { makeVec, SyncVectorEnv } from "../../src/envs/vector.js";
import { TimeLimit } from "../../src/envs/wrappers.js";
import { ActorCritic } from "../../src/policies/actor_critic.js";
import { QNetwork } from "../../src/policies/q_network.js";
import { GroupCollector } from "../../src/rollout/group_collector.js";
import { StepCollector } from "../../src/rollout/step_collector.js";
import { AsyncVectorEnv } from "../../src/scale/async_vector.js";

/**
 * A line of 4 cells; the agent starts at 0 and the episode ends with reward 1 at cell 3.
 * Actions: 0 left, 1 right, 2 wait. Masks: at 0 [0, 1, 1] (no left), elsewhere [1, 1, 0]
 * (no waiting), at the end [1, 0, 0] — so the reset mask differs from the terminal one.
 */
class MaskLine extends BaseEnv<Float32Array, number> {
  readonly observationSpace = new Box(0, 1, [4]);
  readonly actionSpace = new Discrete(3);
  pos = 0;
  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    this.pos = 0;
    return [this.obs(), { action_mask: this.mask() }];
  }
  step(a: number): StepResult<Float32Array> {
    if (a === 0) this.pos = Math.max(0, this.pos - 1);
    if (a === 1) this.pos = Math.min(3, this.pos + 1);
    const done = this.pos === 3;
    return [this.obs(), done ? 1 : 0, done, false, { action_mask: this.mask() }];
  }
  mask(): Int8Array {
    return Int8Array.from(this.pos === 0 ? [0, 1, 1] : this.pos === 3 ? [1, 0, 0] : [1, 1, 0]);
  }
  obs(): Float32Array {
    const o = new Float32Array(4);
    o[this.pos] = 1;
    return o;
  }
  getState(): number[] {
    return [this.pos];
  }
  setState(s: number[]): void {
    this.pos = s[0];
  }
}

/** MaskLine whose actionMasks() method says "wait only", overriding info.action_mask. */
class MethodMaskLine extends MaskLine {
  actionMasks(): number[] {
    return [0, 0, 1];
  }
}

const limited = (env: MaskLine) => () => {
  const e = new TimeLimit(env, 20);
  e.spec = { id: "MaskLine", maxEpisodeSteps: 20, kwargs: {} };
  return e;
};

describe("action masks through vector envs and collectors", () => {
  beforeAll(async () => {
    await initBackend("cpu");
  });

  it("SyncVectorEnv: after a same-step autoreset the row's mask is the reset's; finalInfo keeps the terminal one", () => {
    const vec = new SyncVectorEnv([() => new MaskLine(), () => new MaskLine()]);
    const [, r] = vec.reset({ seed: 0 });
    expect(Array.from(r.envInfos[0].action_mask as Int8Array)).toEqual([0, 1, 1]);
    vec.step([1, 2]);
    vec.step([1, 2]);
    const [, , terminated, , info] = vec.step([1, 2]);
    expect(Array.from(terminated)).toEqual([1, 0]);
    expect(Array.from(info.envInfos[0].action_mask as Int8Array)).toEqual([0, 1, 1]); // the new episode's
    expect(Array.from(info.finalInfo[0]?.action_mask as Int8Array)).toEqual([1, 0, 0]); // the terminal state's
    expect(Array.from(info.envInfos[1].action_mask as Int8Array)).toEqual([0, 1, 1]);
  });

  it("SyncVectorEnv: an actionMasks() method's terminal mask reaches finalInfo (read before the autoreset)", () => {
    /** MaskLine whose masks come only from the method (its infos carry none). */
    class MethodOnlyLine extends MaskLine {
      actionMasks(): Int8Array {
        return this.mask();
      }
      override reset(args?: ResetArgs): [Float32Array, Info] {
        return [super.reset(args)[0], {}];
      }
      override step(a: number): StepResult<Float32Array> {
        const [o, r, te, tr] = super.step(a);
        return [o, r, te, tr, {}];
      }
    }
    const vec = new SyncVectorEnv([() => new MethodOnlyLine()]);
    vec.reset({ seed: 0 });
    vec.step([1]);
    vec.step([1]);
    const [, , terminated, , info] = vec.step([1]);
    expect(terminated[0]).toBe(1);
    expect(Array.from(info.finalInfo[0]?.action_mask as Int8Array)).toEqual([1, 0, 0]); // the terminal state's
    expect(Array.from(info.envInfos[0].action_mask as Int8Array)).toEqual([0, 1, 1]); // the new episode's
  });

  it("an env's actionMasks() method wins over info.action_mask", () => {
    const env = new MethodMaskLine();
    const [, info] = env.reset();
    expect(Array.from(readActionMask(env, info) as number[])).toEqual([0, 0, 1]);
    expect(Array.from(readActionMask(new MaskLine(), info) as Int8Array)).toEqual([0, 1, 1]);
    const vec = new SyncVectorEnv([() => new TimeLimit(new MethodMaskLine(), 5)]);
    expect(vec.reset({ seed: 1 })[1].envInfos[0].action_mask).toEqual([0, 0, 1]);
    expect(vec.step([2])[4].envInfos[0].action_mask).toEqual([0, 0, 1]);
  });

  it("AsyncVectorEnv carries the same masks as SyncVectorEnv, autoresets included", async () => {
    const id = "MiniGrid-Empty-5x5-v0";
    const sync = makeVec(id, 3);
    const async_ = await AsyncVectorEnv.create({ kind: "make", id }, 3, { workers: 2 });
    try {
      const a = sync.reset({ seed: 4 })[1].envInfos.map((i) => Array.from(i.action_mask as Int8Array));
      const b = async_.reset({ seed: 4 })[1].envInfos.map((i) => Array.from(i.action_mask as Int8Array));
      expect(b).toEqual(a);
      const rng = new Rng(9);
      let resets = 0;
      for (let t = 0; t < 120; t++) {
        const actions = Int32Array.from({ length: 3 }, () => rng.integer(0, 3));
        const s = sync.step(actions), r = async_.step(actions);
        resets += s[2].reduce((x, y) => x + y, 0) + s[3].reduce((x, y) => x + y, 0);
        expect(r[4].envInfos.map((i) => Array.from(i.action_mask as Int8Array))).toEqual(s[4].envInfos.map((i) => Array.from(i.action_mask as Int8Array)));
      }
      expect(resets).toBeGreaterThan(0); // the 100-step limit ended every episode once at least
    } finally {
      sync.close();
      async_.close();
    }
  });

  it("StepCollector stores the masks it acted under; every action is allowed; a reset row gets the reset mask", () => {
    const vec = new SyncVectorEnv([() => new MaskLine(), () => new MaskLine(), () => new MaskLine()]);
    const policy = new ActorCritic({ observationSpace: vec.singleObservationSpace, actionSpace: vec.singleActionSpace, rng: new Rng(1) });
    const collector = new StepCollector(vec, policy, 40, 0.99);
    collector.reset(0);
    expect(collector.masking).toBe(true);
    const batch = collector.collect(new Rng(2));
    const masks = batch.actionMasks as Uint8Array;
    expect(masks).toHaveLength(40 * 3 * 3);
    let ends = 0;
    for (let i = 0; i < 40 * 3; i++) {
      expect(masks[i * 3 + (batch.actions[i] as number)]).toBe(1);
      const obs = batch.obs.subarray(i * 4, i * 4 + 4);
      const pos = obs.indexOf(1);
      expect(Array.from(masks.subarray(i * 3, i * 3 + 3))).toEqual(pos === 0 ? [0, 1, 1] : [1, 1, 0]);
      if (batch.dones[i] && i + 3 < 120) {
        ends++;
        expect(Array.from(masks.subarray((i + 3) * 3, (i + 3) * 3 + 3))).toEqual([0, 1, 1]);
      }
    }
    expect(ends).toBeGreaterThan(0);
    policy.dispose();
  });

  it("actionMasking: off ignores masks, on without masks is a one-line error", () => {
    const vec = new SyncVectorEnv([() => new MaskLine()]);
    const policy = new ActorCritic({ observationSpace: vec.singleObservationSpace, actionSpace: vec.singleActionSpace, rng: new Rng(1) });
    const off = new StepCollector(vec, policy, 5, 0.99, true, -1, "off");
    off.reset(0);
    expect(off.collect(new Rng(0)).actionMasks).toBeUndefined();
    const cart = makeVec("CartPole-v1", 1);
    const p2 = new ActorCritic({ observationSpace: cart.singleObservationSpace, actionSpace: cart.singleActionSpace, rng: new Rng(1) });
    expect(() => new StepCollector(cart, p2, 5, 0.99, true, -1, "on").reset(0)).toThrow(/actionMasking=on but .* provides no action masks.*Fix: /);
    const auto = new StepCollector(cart, p2, 5, 0.99);
    auto.reset(0);
    expect(auto.masking).toBe(false);
    expect(() => resolveActionMasking("on", true, "Pendulum", false)).toThrow(/Discrete/);
    policy.dispose();
    p2.dispose();
  });

  it("GroupCollector masks acting from the snapshot's mask on, and stores the masks per step", () => {
    const policy = new ActorCritic({ observationSpace: new Box(0, 1, [4]), actionSpace: new Discrete(3), rng: new Rng(3) });
    const collector = new GroupCollector(limited(new MaskLine()), policy, 4, 2, { startState: "reset+random-steps", randomSteps: 1 });
    expect(collector.masking).toBe(true);
    const batch = collector.collect(new Rng(5));
    const masks = batch.actionMasks as Uint8Array;
    expect(masks).toHaveLength(batch.numSteps * 3);
    for (let t = 0; t < batch.numSteps; t++) {
      expect(masks[t * 3 + (batch.actions[t] as number)]).toBe(1);
      const pos = batch.obs.subarray(t * 4, t * 4 + 4).indexOf(1);
      expect(Array.from(masks.subarray(t * 3, t * 3 + 3))).toEqual(pos === 0 ? [0, 1, 1] : [1, 1, 0]);
    }
    collector.close();
    policy.dispose();
  });

  it("DQN's ε-greedy picks random and greedy actions among the allowed ones", () => {
    const q = new QNetwork({ obsSize: 4, numActions: 3, hidden: [8], activation: "relu", dueling: false, rng: new Rng(2), name: "q" });
    const obs = new Float32Array(8 * 4).map((_, i) => (i % 5) / 5);
    const masks = Uint8Array.from({ length: 8 * 3 }, (_, i) => (i % 3 === (Math.floor(i / 3) % 3) ? 1 : 0)); // one allowed per row
    const rng = new Rng(4);
    for (const eps of [1, 0]) {
      const a = epsilonGreedy(q, obs, 8, eps, rng, masks);
      for (let e = 0; e < 8; e++) expect(a[e]).toBe(e % 3);
    }
    q.dispose();
  });

  it("the grid envs' masks drive a vector env made by id", () => {
    const env = make("MiniGrid-DoorKey-5x5-v0");
    const [, info] = env.reset({ seed: 1 });
    expect(readActionMask(env, info)).toHaveLength(7);
  });
});
