/**
 * DQN — Deep Q-Network (Mnih et al. 2015), as CleanRL's dqn.py, with the Double-DQN target
 * (van Hasselt et al. 2016), a dueling head (Wang et al. 2016) and n-step returns as options,
 * composed from refinery's parts:
 *
 *   OffPolicyAlgorithm (vector env → ReplayBuffer → minibatches)  with this agent:
 *     act:    ε-greedy on Q(s, ·), ε = linearSchedule(explorationStart → explorationEnd over explorationFraction·T)
 *     update: y = r + γ^m·(1 − terminated)·Q̄(s', argmax_a' Q̄(s', a'))       (double: argmax of the online Q)
 *             with action masking, a' ranges over the actions allowed in s' (the buffer stores s''s mask)
 *             L = mean (Q(s, a) − y)²  (loss "mse", CleanRL)  or  mean Huber₁(Q(s, a) − y)  ("huber", SB3)
 *             one Adam step (eps 1e-8), optional global grad-norm clip
 *     after each vector step, past learningStarts: every targetNetworkFrequency env steps
 *             Q̄ ← τ·Q + (1 − τ)·Q̄   (τ = 1: hard copy)
 *
 * Defaults are CleanRL's dqn.py; `--preset zoo` gives the RL Baselines3 Zoo's tuned settings
 * (with SB3's Huber loss and grad-norm clip 10). The loss gradient is computed in typed
 * arrays and carried through the Q-network by the MLP's hand-written backward.
 */
import { z } from "zod";
import { ConfigError } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { Discrete } from "../core/spaces.js";
import { NetworkAdam } from "../nn/network_adam.js";
import { targetUpdateDue, updateTargetNetwork } from "../nn/target.js";
import { argmaxRow, QNetwork } from "../policies/q_network.js";
import type { ReplayBatch } from "../replay/buffer.js";
import { linearSchedule, OFF_POLICY_COMMON_DEFAULTS, OffPolicyAlgorithm, offPolicyShape, validateOffPolicy, type AgentSetup, type OffPolicyAgent, type OffPolicyContext } from "./off_policy.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, AlgorithmPreset } from "./types.js";
import { toMaskRow } from "./ppo.js";

export const dqnConfigSchema = z
  .object({
    ...offPolicyShape,
    learningRate: z.number().positive().describe("Adam learning rate (eps 1e-8)"),
    targetNetworkFrequency: z.number().int().positive().describe("update the target network every N env steps (all envs), once past learningStarts"),
    tau: z.number().gt(0).max(1).describe("target update rate: 1 copies the network, < 1 is Polyak averaging θ̄ ← τθ + (1 − τ)θ̄"),
    explorationStart: z.number().min(0).max(1).describe("ε at the first step"),
    explorationEnd: z.number().min(0).max(1).describe("ε after the decay (also the ε of stochastic evaluation)"),
    explorationFraction: z.number().min(0).max(1).describe("fraction of totalTimesteps over which ε decays linearly"),
    double: z.boolean().describe("Double DQN: the online network picks the next action, the target network values it"),
    dueling: z.boolean().describe("dueling head: Q = V(s) + A(s, a) − mean_a A(s, a) on the last hidden layer"),
    loss: z.enum(["mse", "huber"]).describe("TD loss: mse (CleanRL) or huber (smooth L1 with δ = 1, SB3)"),
    maxGradNorm: z.number().positive().nullable().describe("global gradient-norm clip (null: none, CleanRL; SB3 uses 10)"),
    hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of the Q-network"),
    activation: z.enum(["tanh", "relu"]).describe("hidden activation"),
    actionMasking: z
      .enum(["auto", "on", "off"])
      .describe("honour the env's action masks in ε-greedy acting (random actions and argmax among the allowed ones) and in the TD target (max over the next state's allowed actions): auto = when the env provides them"),
  })
  .strict();

export type DQNConfig = z.infer<typeof dqnConfigSchema>;

/** CleanRL dqn.py defaults (ALGORITHMS: CartPole-v1, 500k steps). */
export const DQN_DEFAULTS: DQNConfig = {
  ...OFF_POLICY_COMMON_DEFAULTS,
  env: "CartPole-v1",
  totalTimesteps: 500_000,
  bufferSize: 10_000,
  batchSize: 128,
  learningStarts: 10_000,
  trainFreq: 10,
  learningRate: 2.5e-4,
  targetNetworkFrequency: 500,
  tau: 1,
  explorationStart: 1,
  explorationEnd: 0.05,
  explorationFraction: 0.5,
  double: false,
  dueling: false,
  loss: "mse",
  maxGradNorm: null,
  hidden: [120, 84],
  activation: "relu",
  actionMasking: "auto",
};

/** What SB3's DQN does differently from CleanRL whatever the env: Huber loss, clip 10, MLP 256-256 in the Zoo. */
const SB3: Partial<DQNConfig> = { loss: "huber", maxGradNorm: 10, hidden: [256, 256], explorationStart: 1, tau: 1, numEnvs: 1 };

/** RL Baselines3 Zoo `hyperparams/dqn.yml` (Acrobot's values are also its LunarLander's). */
const ACROBOT_LUNAR: Partial<DQNConfig> = {
  ...SB3, totalTimesteps: 100_000, learningRate: 6.3e-4, batchSize: 128, bufferSize: 50_000, learningStarts: 0, gamma: 0.99,
  targetNetworkFrequency: 250, trainFreq: 4, gradientSteps: -1, explorationFraction: 0.12, explorationEnd: 0.1,
};
const ZOO: Record<string, Partial<DQNConfig>> = {
  "CartPole-v1": {
    ...SB3, totalTimesteps: 50_000, learningRate: 2.3e-3, batchSize: 64, bufferSize: 100_000, learningStarts: 1000, gamma: 0.99,
    targetNetworkFrequency: 10, trainFreq: 256, gradientSteps: 128, explorationFraction: 0.16, explorationEnd: 0.04,
  },
  "Acrobot-v1": ACROBOT_LUNAR,
  "LunarLander-v3": ACROBOT_LUNAR,
  "MountainCar-v0": {
    ...SB3, totalTimesteps: 120_000, learningRate: 4e-3, batchSize: 128, bufferSize: 10_000, learningStarts: 1000, gamma: 0.98,
    targetNetworkFrequency: 600, trainFreq: 16, gradientSteps: 8, explorationFraction: 0.2, explorationEnd: 0.07,
  },
};

export const DQN_PRESETS: AlgorithmPreset[] = [
  { name: "cleanrl", description: "CleanRL dqn.py defaults (the default)", forEnv: () => ({}) },
  {
    name: "zoo",
    description: `RL Baselines3 Zoo's tuned DQN hyperparameters (SB3: Huber loss, grad-norm clip 10, MLP 256-256) for ${Object.keys(ZOO).join(", ")}`,
    forEnv: (env) => ZOO[env],
  },
];

export function validateDqn(c: DQNConfig): void {
  validateOffPolicy(c);
}

/**
 * TD targets y = r + discount·(1 − done)·Q̄(s', a*) for a batch: a* = argmax Q̄(s', ·), or with
 * `qNextOnline` (Double DQN) a* = argmax Q(s', ·). Rows of `qNext*` are [numActions] per sample.
 * With `batch.nextMasks` (action masking) the argmax ranges over the actions allowed in s' only.
 */
export function dqnTargets(
  batch: Pick<ReplayBatch, "size" | "rewards" | "discounts" | "dones" | "nextMasks">,
  qNextTarget: Float32Array,
  qNextOnline: Float32Array | null,
  numActions: number,
  out = new Float32Array(batch.size),
): Float32Array {
  const masks = batch.nextMasks;
  for (let b = 0; b < batch.size; b++) {
    const q = qNextOnline ?? qNextTarget;
    const a = masks ? maskedArgmax(q, masks, b * numActions, numActions) : argmaxRow(q, b, numActions);
    out[b] = batch.rewards[b] + batch.discounts[b] * (1 - batch.dones[b]) * qNextTarget[b * numActions + a];
  }
  return out;
}

/**
 * The TD loss over a batch and its derivative with respect to each Q(s, a):
 * "mse" mean (q − y)², dL/dq = 2(q − y)/B; "huber" mean Huber₁(q − y) (½e² for |e| ≤ 1, |e| − ½
 * beyond), dL/dq = clip(q − y, −1, 1)/B.
 */
export function tdLoss(q: Float32Array, y: Float32Array, kind: "mse" | "huber", dq = new Float32Array(q.length)): { loss: number; dq: Float32Array } {
  const n = q.length;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = q[i] - y[i];
    if (kind === "mse") {
      sum += e * e;
      dq[i] = (2 * e) / n;
    } else {
      const a = Math.abs(e);
      sum += a <= 1 ? 0.5 * e * e : a - 0.5;
      dq[i] = (a <= 1 ? e : Math.sign(e)) / n;
    }
  }
  return { loss: sum / n, dq };
}

/** The DQN agent: online and target Q-networks, Adam, the ε schedule. */
export class DQNAgent implements OffPolicyAgent {
  readonly randomWarmup = false;
  readonly q: QNetwork;
  readonly target: QNetwork;
  readonly optimizer: NetworkAdam;
  readonly numActions: number;
  /** Whether acting honours action masks (resolved by the loop from actionMasking and the env). */
  readonly masking: boolean;
  /** Whether the plain-JS weight copy that acting reads lags the variables (set by update, cleared before acting). */
  private fastStale = false;

  constructor(
    readonly config: DQNConfig,
    private readonly setup: AgentSetup,
  ) {
    const c = config;
    if (!(setup.actionSpace instanceof Discrete)) {
      throw new ConfigError(`dqn needs a Discrete action space, got ${String(setup.actionSpace)}`, "use a discrete-action env such as CartPole-v1, or sac/td3 for Box actions");
    }
    this.numActions = setup.actionSpace.n;
    this.masking = setup.actionMasking;
    const kernels = c.backend === "kernels";
    const net = { obsSize: setup.obsSize, numActions: this.numActions, hidden: c.hidden, activation: c.activation, dueling: c.dueling, kernels };
    this.q = new QNetwork({ ...net, rng: setup.rng, name: "q" });
    // The target starts as a copy (its own init draws are overwritten).
    this.target = new QNetwork({ ...net, rng: new Rng(0), name: "q_target" });
    this.updateTargetNet(1);
    this.optimizer = new NetworkAdam(this.q.parts, { learningRate: c.learningRate, epsilon: 1e-8 }, kernels);
  }

  epsilon(step: number): number {
    const c = this.config;
    return linearSchedule(c.explorationStart, c.explorationEnd, c.explorationFraction * c.totalTimesteps, step);
  }

  act(obs: Float32Array, numEnvs: number, explore: boolean, ctx: OffPolicyContext): Int32Array {
    this.syncIfStale();
    return epsilonGreedy(this.q, obs, numEnvs, explore ? this.epsilon(ctx.step) : 0, ctx.rng, ctx.actionMasks);
  }

  update(batch: ReplayBatch): Record<string, number> {
    const c = this.config;
    const nA = this.numActions;
    const size = batch.size;
    const qNextTarget = this.target.evaluate(batch.nextObs, size);
    const qNextOnline = c.double ? this.q.evaluate(batch.nextObs, size) : null;
    if (this.masking && !batch.nextMasks) {
      throw new ConfigError("this run masks actions, but a replay batch arrived without next-state masks", "store transitions in a replay buffer with maskWidth = the action count", "mask_mismatch");
    }
    const y = dqnTargets(this.masking ? batch : { ...batch, nextMasks: undefined }, qNextTarget, qNextOnline, nA);
    const actions = batch.actions as Int32Array;
    const qTaken = new Float32Array(size);
    let loss = 0;
    const { grads } = this.q.valuesAndGradients(batch.obs, size, (q) => {
      for (let b = 0; b < size; b++) qTaken[b] = q[b * nA + actions[b]];
      const td = tdLoss(qTaken, y, c.loss);
      loss = td.loss;
      const dQ = new Float32Array(size * nA);
      for (let b = 0; b < size; b++) dQ[b * nA + actions[b]] = td.dq[b];
      return dQ;
    });
    const gradNorm = this.optimizer.applyAndFree(grads, c.maxGradNorm ?? undefined);
    const stats = { loss, qValue: mean(qTaken), gradNorm };
    // The plain-JS copy of the weights that acting reads is refreshed when next needed, not after every step of a burst.
    this.fastStale = true;
    return stats;
  }

  private syncIfStale(): void {
    if (!this.fastStale) return;
    this.q.syncFastWeights();
    this.fastStale = false;
  }

  afterStep(ctx: OffPolicyContext): void {
    const c = this.config;
    if (ctx.step <= c.learningStarts) return;
    // Counted in vector steps as SB3 does: max(targetNetworkFrequency // numEnvs, 1).
    if (!targetUpdateDue(ctx.vectorSteps, Math.max(1, Math.floor(c.targetNetworkFrequency / ctx.numEnvs)))) return;
    this.updateTargetNet(c.tau);
  }

  /** Q̄ ← τ·Q + (1 − τ)·Q̄ (τ = 1: a copy), part by part, on the backend the networks run on. */
  private updateTargetNet(tau: number): void {
    const online = this.q.parts;
    this.target.parts.forEach((t, i) => updateTargetNetwork(t, online[i], tau, this.q.kernels));
  }

  metrics(ctx: OffPolicyContext): Record<string, number> {
    return { epsilon: this.epsilon(ctx.step) };
  }

  actingPolicy(seed: number): ActingPolicy {
    const rng = new Rng(seed);
    const eps = this.config.explorationEnd;
    return {
      actOne: (obs, deterministic, mask) => {
        this.syncIfStale();
        const m = this.masking && mask ? toMaskRow(mask, new Uint8Array(this.numActions)) : null;
        return epsilonGreedy(this.q, obs, 1, deterministic ? 0 : eps, rng, m)[0];
      },
    };
  }

  saveState(): { json: Record<string, unknown>; arrays: NamedArrays } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "online/", this.q.getWeights());
    putWeights(arrays, "target/", this.target.getWeights());
    const adam = putAdam(arrays, "adam", this.optimizer.getState());
    return { json: { adam }, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void {
    const { json, arrays } = state;
    this.q.setWeights(prefixed(arrays, "online/"));
    this.target.setWeights(prefixed(arrays, "target/"));
    this.optimizer.setState(takeAdam(json, arrays, "adam"));
    this.fastStale = false; // setWeights refreshed them
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> } {
    return {
      spec: {
        ...this.q.spec,
        observationSpace: this.setup.observationSpace.toJSON(),
        actionSpace: this.setup.actionSpace.toJSON(),
        epsilon: this.config.explorationEnd,
        actionMasking: this.masking,
      },
      weights: this.q.getWeights(),
      shapes: this.q.paramShapes(),
    };
  }

  setActingWeights(weights: NamedArrays): void {
    this.q.setWeights(weights);
    this.fastStale = false; // setWeights refreshed them
  }

  dispose(): void {
    this.q.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}

/**
 * ε-greedy actions for `n` observations: each env independently takes a uniform random
 * action with probability ε (one uniform draw, then the action draw), else argmax Q. Q is
 * evaluated only when some env acts greedily. With `masks` ([n, numActions], 1 = allowed) the
 * random action is uniform over the allowed actions and the greedy one the allowed argmax.
 */
export function epsilonGreedy(q: QNetwork, obs: Float32Array, n: number, epsilon: number, rng: Rng, masks: Uint8Array | null = null, out = new Int32Array(n)): Int32Array {
  const nA = q.numActions;
  let greedy = false;
  const random = new Uint8Array(n);
  for (let e = 0; e < n; e++) {
    if (epsilon > 0 && rng.uniform() < epsilon) {
      out[e] = masks ? nthAllowed(masks, e * nA, nA, rng.integer(0, countAllowed(masks, e * nA, nA))) : rng.integer(0, nA);
      random[e] = 1;
    } else greedy = true;
  }
  if (greedy) {
    const values = q.qValues(obs, n);
    for (let e = 0; e < n; e++) if (!random[e]) out[e] = masks ? maskedArgmax(values, masks, e * nA, nA) : argmaxRow(values, e, nA);
  }
  return out;
}

function countAllowed(masks: Uint8Array, at: number, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) c += masks[at + i] ? 1 : 0;
  return Math.max(c, 1);
}

/** The k-th allowed action of a mask row (0-based). */
function nthAllowed(masks: Uint8Array, at: number, n: number, k: number): number {
  for (let i = 0; i < n; i++) if (masks[at + i] && k-- === 0) return i;
  return 0;
}

/** The allowed action with the largest value in row `values[at .. at + n)` (mask row at the same offset). */
function maskedArgmax(values: Float32Array, masks: Uint8Array, at: number, n: number): number {
  let best = -1;
  for (let i = 0; i < n; i++) if (masks[at + i] && (best < 0 || values[at + i] > values[at + best])) best = i;
  return best < 0 ? 0 : best;
}

function mean(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return x.length ? s / x.length : 0;
}

export function createDqn(config: DQNConfig): Promise<OffPolicyAlgorithm> {
  return OffPolicyAlgorithm.create("dqn", config, (setup, resolved) => new DQNAgent({ ...config, backend: resolved.backend }, setup));
}
