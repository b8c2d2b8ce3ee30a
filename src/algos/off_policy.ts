/**
 * The off-policy loop shared by dqn (and sac, td3, …): env steps interleaved with gradient
 * steps on minibatches drawn from a replay buffer, as CleanRL's dqn.py / SB3's
 * `OffPolicyAlgorithm` run it:
 *
 *   for each vector step (numEnvs transitions):
 *     a = random (before learningStarts, for agents with randomWarmup) or agent.act(obs, explore)
 *     step the vector env; store (s, a, r, s', terminated, truncated) with s' = finalObs at episode ends
 *       (with action masking also the mask of s', from finalInfo at episode ends)
 *     if transitions > learningStarts and vectorSteps % trainFreq == 0:
 *       gradientSteps × agent.update(buffer.sample(batchSize))     (−1: trainFreq·numEnvs of them)
 *     agent.afterStep()                                             (target syncs counted in env steps, schedules)
 *
 * An *agent* is the algorithm proper (networks, optimisers, targets, losses); this file owns
 * the env, the buffer, the generators and the bookkeeping, and implements `Algorithm`, so the
 * trainer, CLI, checkpoints, evaluation and dashboard run off-policy algorithms unchanged.
 * One trainer iteration is `iterationSteps` env steps: one metrics row, and the unit of
 * evalEvery and checkpointEvery. Counting follows SB3: `learningStarts` and ε schedules count
 * env transitions (all envs), `trainFreq` counts vector steps.
 *
 * Exact resume: a checkpoint holds the agent's state, the replay buffer (unless
 * `replayInCheckpoint` is false), both generators, the envs and the current observations.
 * Without the buffer a resumed run starts with an empty one and trains again only once it
 * holds more than max(learningStarts, batchSize) transitions: the run continues, but not bit for bit.
 */
import { z } from "zod";
import { kernelThreadsShape } from "./text_config.js";
import { checkCheckpointBackend, initBackend, resolveRunBackend, type RunBackend } from "../core/backend.js";
import { MAX_SEED } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import { Box, Discrete, type Space } from "../core/spaces.js";
import { resolveActionMasking, writeMaskRow, type ActionMaskingMode } from "../envs/action_mask.js";
import type { Env, Info } from "../envs/env.js";
import { make } from "../envs/registry.js";
import { freshResetSeed, needsFreshReset, type EnvState } from "../envs/state.js";
import type { VectorEnv } from "../envs/vector.js";
import { ReplayBuffer, type ReplayBatch, type ReplayStep } from "../replay/buffer.js";
import { createTrainingVecEnv, makeTrainingEnv, type EnvStackOptions } from "./env_stack.js";
import { runShape } from "./group_config.js";
import { prefixed, putWeights, type NamedArrays } from "./state.js";
import type { ActingPolicy, Algorithm, IterationMetrics, RolloutHooks } from "./types.js";
import { setGemmThreads, simdKernelsAvailable } from "../nn/kernels/simd.js";

/** Options every off-policy algorithm has (its schema spreads these and adds its own). */
export const offPolicyShape = {
  env: z.string().min(1).describe("environment id (refinery list)"),
  seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, actions, replay sampling, envs"),
  totalTimesteps: z.number().int().positive().describe("env steps to train for (all envs together)"),
  numEnvs: z.number().int().positive().describe("parallel envs in the vector env (each vector step stores numEnvs transitions)"),
  vectorEnv: z
    .enum(["sync", "async"])
    .describe("where the training envs run: sync (this thread) or async (worker threads, same results; pays off for slow envs)"),
  workers: z.number().int().positive().describe("with vectorEnv=async: worker threads the envs are split over"),
  bufferSize: z.number().int().positive().describe("transitions the replay buffer holds; the oldest are overwritten"),
  replayInCheckpoint: z
    .boolean()
    .describe("save the replay buffer in checkpoints (exact --resume); false keeps checkpoints small, and a resumed run refills the buffer before training again"),
  batchSize: z.number().int().positive().describe("transitions per gradient step, drawn uniformly with replacement"),
  learningStarts: z.number().int().min(0).describe("env steps (all envs) collected before the first gradient step"),
  trainFreq: z.number().int().positive().describe("train every N vector steps"),
  gradientSteps: z
    .union([z.literal(-1), z.number().int().positive()])
    .describe("gradient steps per training round (−1: as many as transitions collected since the last round, trainFreq·numEnvs)"),
  gamma: z.number().min(0).max(1).describe("discount factor γ"),
  nStep: z.number().int().positive().describe("n of n-step returns (1: one-step TD targets); sums stop at episode ends"),
  iterationSteps: z.number().int().positive().describe("env steps (all envs) per iteration: one metrics row; evalEvery and checkpointEvery count iterations"),
  ...runShape,
  backend: z
    .enum(["auto", "wasm", "cpu", "kernels"])
    .describe("what computes the updates: tfjs's wasm or cpu backend, or kernels (refinery's WebAssembly SIMD kernels; tfjs cpu only holds the weights); auto: kernels where WebAssembly SIMD runs, else wasm, resolved when the run is created and recorded in its config.json"),
  kernelThreads: kernelThreadsShape(),
};

/**
 * Defaults of the shared options that every off-policy algorithm keeps (CleanRL's scripts
 * agree on them); each algorithm's defaults spread these and set the rest, including
 * env, budget, buffer, batch and learningStarts, which its own script chooses.
 */
export const OFF_POLICY_COMMON_DEFAULTS = {
  seed: 1,
  numEnvs: 1,
  vectorEnv: "sync",
  workers: 2,
  replayInCheckpoint: true,
  gradientSteps: 1,
  gamma: 0.99,
  nStep: 1,
  iterationSteps: 1000,
  backend: "auto",
  kernelThreads: "auto",
  evalEvery: 0,
  evalEpisodes: 10,
  evalDeterministic: true,
  checkpointEvery: 0,
  checkpointSeconds: 60,
} satisfies Partial<OffPolicyConfig>;

/** CleanRL's continuous-action scripts (SAC, TD3) and mdpo-off: Pendulum here, 1M steps into a 1M buffer, batch 256, train every step. */
export const CONTINUOUS_OFF_POLICY_DEFAULTS = {
  ...OFF_POLICY_COMMON_DEFAULTS,
  env: "Pendulum-v1",
  totalTimesteps: 1_000_000,
  bufferSize: 1_000_000,
  batchSize: 256,
  trainFreq: 1,
} satisfies Partial<OffPolicyConfig>;

/** The schema of the shared options alone (each algorithm's schema extends it). */
export const offPolicySchema = z.object(offPolicyShape);
export type OffPolicyConfig = z.infer<typeof offPolicySchema>;

/** What an agent sees of the loop when it acts or learns. */
export interface OffPolicyContext {
  /** Env transitions collected so far (all envs). In `act`: before this step's. */
  step: number;
  /** Vector steps so far (each is numEnvs transitions). */
  vectorSteps: number;
  /** Gradient steps taken so far (before this one, in `update`). */
  updates: number;
  totalTimesteps: number;
  numEnvs: number;
  /** In `act`: the acting generator; in `update`: the update generator (both saved by the loop). */
  rng: Rng;
  /** In `act`, with action masking: the masks of the observations, [numEnvs, numActions]; else null. */
  actionMasks: Uint8Array | null;
}

/** What the agent's constructor gets: the spaces and a generator for its initial weights. */
export interface AgentSetup {
  observationSpace: Space<unknown>;
  /** The env's own action space, bounds intact (the training stack's ClipAction reports an unbounded Box). */
  actionSpace: Space<unknown>;
  obsSize: number;
  /** Values per action: 1 for Discrete, the Box size otherwise. */
  actSize: number;
  discrete: boolean;
  rng: Rng;
  /** Whether actions are masked (the config's actionMasking resolved against the env). */
  actionMasking: boolean;
}

/**
 * The algorithm proper of an off-policy method: networks, optimisers, target networks and
 * the loss. The loop calls `act` each vector step, `update` once per gradient step and
 * `afterStep` after each vector step.
 */
export interface OffPolicyAgent {
  /** Take uniformly random actions until learningStarts (SAC, TD3); DQN explores with ε from the start instead. */
  readonly randomWarmup: boolean;
  /** Actions for `numEnvs` observations (row-major): Int32 indices (Discrete) or numEnvs × actSize floats. */
  act(obs: Float32Array, numEnvs: number, explore: boolean, ctx: OffPolicyContext): Int32Array | Float32Array;
  /** One gradient step on a batch; returns numbers the loop averages over the iteration. */
  update(batch: ReplayBatch, ctx: OffPolicyContext): Record<string, number>;
  /** After every vector step and its gradient steps (hard target syncs counted in env steps). */
  afterStep?(ctx: OffPolicyContext): void;
  /** Values to report once per iteration (ε, α, …). */
  metrics?(ctx: OffPolicyContext): Record<string, number>;
  /** The policy for evaluation; `deterministic` is the trainer's evalDeterministic. */
  actingPolicy(seed: number): ActingPolicy;
  saveState(): { json: Record<string, unknown>; arrays: NamedArrays };
  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void;
  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> };
  /** Loads the weights `act` reads (exportPolicy's weights, sent by a learner), so an actor elsewhere acts as this agent would. */
  setActingWeights?(weights: NamedArrays): void;
  dispose(): void;
}

/** One vector step stored by `feed` (actors elsewhere collected it): what `ReplayBuffer.add` takes, plus its ended episodes. */
/** Chunks from actors carry no action masks yet, and a masked replay buffer needs each next state's mask. */
export function maskedActorsError(): ConfigError {
  return new ConfigError("off-policy actors (threads or remote) do not carry action masks yet, and this env's masks are on", "set actionMasking=off, or run without actors");
}

export interface FedStep extends ReplayStep {
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  episodes: { return: number; length: number }[];
  /** The envs' next vector step is not the next one stored (the chunk of another actor follows): n-step sums end here. */
  cut?: boolean;
}

/**
 * `collectChunk`'s output: `steps` vector steps of the actor's numEnvs envs. `obs` holds
 * steps + 1 rows of numEnvs observations (step k acts on row k and returns row k + 1, the
 * vector env's rows, so ended envs show their reset observation); the true last observations
 * of ended envs are in `finalObs`, one row per entry of `finalIndex` (k·numEnvs + env).
 */
export interface OffPolicyChunk {
  steps: number;
  numEnvs: number;
  obs: Float32Array;
  actions: Int32Array | Float32Array;
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  finalIndex: Int32Array;
  finalObs: Float32Array;
  /** Episodes that ended, with the vector step they ended in. */
  episodes: { at: number; return: number; length: number }[];
}

/** What an iteration accumulates (for the own loop and for one fed by actors). */
interface IterationTally {
  sums: Record<string, number>;
  updates: number;
  updateMs: number;
  episodes: { return: number; length: number }[];
  vectorSteps: number;
  t0: number;
}

/** The env stack of an off-policy run: raw observations and rewards (no normalisation). */
export function offPolicyEnvOptions(c: { env: string; gamma: number }): EnvStackOptions {
  return { env: c.env, normObs: false, normReward: false, clipObs: null, clipReward: null, gamma: c.gamma };
}

/** Config checks beyond the schema, shared by every off-policy algorithm. */
export function validateOffPolicy(c: OffPolicyConfig): void {
  if (c.iterationSteps % c.numEnvs !== 0) {
    throw new ConfigError(
      `iterationSteps = ${c.iterationSteps} is not a multiple of numEnvs = ${c.numEnvs}, so an iteration would end inside a vector step`,
      `set iterationSteps to a multiple of ${c.numEnvs} (e.g. ${c.numEnvs * Math.max(1, Math.round(c.iterationSteps / c.numEnvs))})`,
    );
  }
  if (c.bufferSize < c.numEnvs) {
    throw new ConfigError(`bufferSize = ${c.bufferSize} is smaller than numEnvs = ${c.numEnvs}: one vector step would not fit`, "set bufferSize to e.g. 10000");
  }
}

/**
 * The off-policy algorithms' `backend` as a run uses it: `auto` (the default) is `kernels`
 * where refinery's WebAssembly SIMD kernels run, else `wasm`; an explicit choice stays as it
 * is. A config from before `auto` existed without the key ran on wasm, and still does.
 */
export function resolveOffPolicyBackend(config: Pick<OffPolicyConfig, "backend">): "wasm" | "cpu" | "kernels" {
  return resolveRunBackend(config.backend as OffPolicyConfig["backend"] | undefined, simdKernelsAvailable());
}

export class OffPolicyAlgorithm implements Algorithm {
  readonly stepsPerIteration: number;
  readonly totalIterations: number;
  readonly buffer: ReplayBuffer;
  readonly agent: OffPolicyAgent;
  /** The env's action space with its bounds (what the agent was built for). */
  readonly actionSpace: Space<unknown>;
  private actRng: Rng;
  private updateRng: Rng;
  private obs: Float32Array | null = null;
  /** The action masks of `obs` when masking, else null. */
  private masks: Uint8Array | null = null;

  /** Whether this run acts under action masks (actors elsewhere cannot carry them yet). */
  get actionMasked(): boolean {
    return this.masks !== null;
  }
  private readonly masking: boolean;
  private readonly numActions: number;
  private vectorSteps = 0;
  private updates = 0;
  private iterationsDone = 0;
  /** Training waits until the buffer holds more transitions than this (set after a resume without the buffer). */
  private refillTo = 0;
  private episodes: { return: number; length: number }[] = [];
  private hooks: RolloutHooks = {};
  private readonly batch: ReplayBatch;
  /** The iteration being fed by actors elsewhere (`beginFedIteration`), else null. */
  private fed: IterationTally | null = null;

  private constructor(
    readonly name: string,
    readonly config: OffPolicyConfig,
    readonly vec: VectorEnv,
    makeAgent: (setup: AgentSetup) => OffPolicyAgent,
    /** The backend the caller asked for ("auto" or the one in `config`). */
    readonly requestedBackend: OffPolicyConfig["backend"] = config.backend,
  ) {
    const c = config;
    validateOffPolicy(c);
    this.stepsPerIteration = c.iterationSteps;
    this.totalIterations = Math.max(1, Math.floor(c.totalTimesteps / c.iterationSteps));
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.actRng = root.split();
    this.updateRng = root.split();
    // The env's own action space: the training stack's ClipAction reports an unbounded Box, but
    // random warmup and squashed actors need the real bounds.
    const probe = make(c.env);
    const space = probe.actionSpace as Space<unknown>;
    probe.close();
    this.actionSpace = space;
    const discrete = space instanceof Discrete;
    if (!discrete && !(space instanceof Box)) {
      throw new ConfigError(`${name} needs a Discrete or Box action space, got ${String(space)}`, "pick an env with Discrete or Box actions (refinery list)");
    }
    this.numActions = space instanceof Discrete ? space.n : 0;
    const [obs0, resetInfo] = vec.reset({ seed: c.seed });
    const firstMask = resetInfo.envInfos[0]?.action_mask;
    const mode = (c as { actionMasking?: ActionMaskingMode }).actionMasking;
    this.masking = resolveActionMasking(mode, firstMask !== undefined && firstMask !== null, String(vec), discrete);
    this.obs = obs0;
    this.masks = this.masking ? this.readMasks(resetInfo.envInfos) : null;
    this.agent = makeAgent({ observationSpace: vec.singleObservationSpace, actionSpace: space, obsSize: vec.obsSize, actSize: vec.actSize, discrete, rng: initRng, actionMasking: this.masking });
    if (this.agent.randomWarmup && space instanceof Box && !space.isBounded()) {
      throw new ConfigError(`${name} takes uniform random actions before learningStarts, but ${String(space)} is unbounded`, "use an env with a bounded Box action space");
    }
    // With masking the buffer keeps each transition's next-state mask (DQN's masked target).
    const maskWidth = this.masking ? this.numActions : 0;
    this.buffer = new ReplayBuffer({ capacity: c.bufferSize, numEnvs: vec.numEnvs, obsSize: vec.obsSize, actSize: discrete ? 1 : vec.actSize, discrete, gamma: c.gamma, nStep: c.nStep, maskWidth });
    this.batch = this.buffer.allocateBatch(c.batchSize);
  }

  /** The action masks of a reset's or step's rows (the infos carry the current rows' masks). */
  private readMasks(infos: Info[], out: Uint8Array = new Uint8Array(this.vec.numEnvs * this.numActions)): Uint8Array {
    for (let e = 0; e < this.vec.numEnvs; e++) writeMaskRow(infos[e]?.action_mask as ArrayLike<number> | undefined, this.numActions, out, e * this.numActions, `${String(this.vec)} env ${e}`);
    return out;
  }

  /** Resets the vector env with a seed, keeping the masks of the new observations. */
  private resetEnvs(seed: number): Float32Array {
    const [obs, info] = this.vec.reset({ seed });
    if (this.masking) this.masks = this.readMasks(info.envInfos);
    return obs;
  }

  /**
   * Builds the backend and the training envs, then the agent (`makeAgent`, given the config
   * with `backend: "auto"` resolved) and the loop around it.
   */
  static async create(name: string, config: OffPolicyConfig, makeAgent: (setup: AgentSetup, resolved: OffPolicyConfig) => OffPolicyAgent): Promise<OffPolicyAlgorithm> {
    const resolved: OffPolicyConfig = { ...config, backend: resolveOffPolicyBackend(config) };
    // With the kernels, tfjs only stores the weights: its light cpu backend does.
    await initBackend(resolved.backend === "kernels" ? "cpu" : (resolved.backend as "wasm" | "cpu"));
    setGemmThreads(config.kernelThreads);
    const vec = await createTrainingVecEnv(offPolicyEnvOptions(config), config.numEnvs, config);
    try {
      return new OffPolicyAlgorithm(name, resolved, vec, (setup) => makeAgent(setup, resolved), config.backend);
    } catch (e) {
      vec.close();
      throw e;
    }
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  get stepsDone(): number {
    return this.vectorSteps * this.vec.numEnvs;
  }

  setHooks(hooks: RolloutHooks): void {
    this.hooks = hooks;
  }

  private context(rng: Rng): OffPolicyContext {
    return {
      step: this.stepsDone,
      vectorSteps: this.vectorSteps,
      updates: this.updates,
      totalTimesteps: this.config.totalTimesteps,
      numEnvs: this.vec.numEnvs,
      rng,
      actionMasks: this.masks,
    };
  }

  iterate(): IterationMetrics {
    if (this.fed) return this.endFedIteration();
    const c = this.config;
    const numEnvs = this.vec.numEnvs;
    const tally = newTally();
    for (let k = 0; k < c.iterationSteps / numEnvs; k++) {
      const obs = this.obs as Float32Array;
      const actions = this.chooseActions(obs, this.stepsDone, this.vectorSteps);
      const [next, rewards, terminated, truncated, info] = this.vec.step(actions);
      if (this.masks) this.readMasks(info.envInfos, this.masks);
      const masked = this.masks ? { nextMasks: this.masks, finalMasks: info.finalInfo.map((f) => f?.action_mask as ArrayLike<number> | undefined) } : {};
      const episodes: { return: number; length: number }[] = [];
      for (const ep of info.episode) if (ep) episodes.push({ return: ep.r, length: ep.l });
      this.obs = next;
      this.store({ obs, actions, rewards, nextObs: next, terminated, truncated, finalObs: info.finalObs, episodes, ...masked }, tally);
    }
    return this.finishIteration(tally);
  }

  /** Exploration actions for the current observations: random during warm-up, else the agent's. `step` counts env transitions. */
  private chooseActions(obs: Float32Array, step: number, vectorSteps: number): Int32Array | Float32Array {
    if (this.agent.randomWarmup && step < this.config.learningStarts) return this.randomActions();
    return this.agent.act(obs, this.vec.numEnvs, true, { ...this.context(this.actRng), step, vectorSteps });
  }

  /** Stores one vector step, then takes the gradient steps due and the agent's after-step work (the loop's body after acting). */
  private store(step: FedStep, tally: IterationTally, onGradientStep?: (updates: number) => void): void {
    const c = this.config;
    this.hooks.onStep?.({ obs: step.nextObs, rewards: step.rewards, terminated: step.terminated, truncated: step.truncated });
    this.buffer.add(step.cut && c.nStep > 1 ? cutStep(step, this.vec.obsSize) : step);
    tally.episodes.push(...step.episodes);
    this.vectorSteps++;
    tally.vectorSteps++;
    if (this.trainingDue()) {
      const u0 = performance.now();
      const steps = c.gradientSteps === -1 ? c.trainFreq * this.vec.numEnvs : c.gradientSteps;
      for (let g = 0; g < steps; g++) {
        const batch = this.buffer.sample(c.batchSize, this.updateRng, this.batch);
        const m = this.agent.update(batch, this.context(this.updateRng));
        this.updates++;
        tally.updates++;
        for (const [key, v] of Object.entries(m)) tally.sums[key] = (tally.sums[key] ?? 0) + v;
        onGradientStep?.(this.updates);
      }
      tally.updateMs += performance.now() - u0;
    }
    this.agent.afterStep?.(this.context(this.actRng));
  }

  private finishIteration(tally: IterationTally): IterationMetrics {
    const c = this.config;
    const total = performance.now() - tally.t0;
    this.hooks.onRollout?.({ steps: c.iterationSteps, episodes: tally.episodes });
    this.episodes.push(...tally.episodes);
    this.iterationsDone++;
    const means: Record<string, number> = {};
    for (const [key, v] of Object.entries(tally.sums)) means[key] = v / tally.updates;
    return {
      ...means,
      ...this.agent.metrics?.(this.context(this.actRng)),
      gradientSteps: tally.updates,
      replaySize: this.buffer.size,
      rolloutSeconds: (total - tally.updateMs) / 1000,
      updateSeconds: tally.updateMs / 1000,
    };
  }

  /**
   * Learner side of actors elsewhere (src/scale/offpolicy_actors.ts): the next iteration's
   * iterationSteps / numEnvs vector steps arrive through `feed` (before the trainer calls
   * `iterate`, which then only reports them); the schedule of gradient steps, target syncs
   * and metrics is the loop's own, counted in the transitions stored.
   */
  beginFedIteration(): void {
    if (this.fed) throw new Error("beginFedIteration: the previous fed iteration was not ended by iterate()");
    // Chunks from actors carry no action masks yet, and a masked replay buffer needs each next state's mask.
    if (this.masks) throw maskedActorsError();
    this.fed = newTally();
  }

  /** Stores one vector step collected elsewhere and trains as the loop would; `onGradientStep` sees the gradient-step count after each one. */
  feed(step: FedStep, onGradientStep?: (updates: number) => void): void {
    if (!this.fed) throw new Error("feed: call beginFedIteration() first");
    this.store(step, this.fed, onGradientStep);
  }

  /** Vector steps fed into the current iteration so far (0 when not fed). */
  get fedVectorSteps(): number {
    return this.fed?.vectorSteps ?? 0;
  }

  private endFedIteration(): IterationMetrics {
    const tally = this.fed as IterationTally;
    const want = this.config.iterationSteps / this.vec.numEnvs;
    if (tally.vectorSteps !== want) throw new Error(`a fed iteration needs ${want} vector steps, got ${tally.vectorSteps}`);
    this.fed = null;
    return this.finishIteration(tally);
  }

  /** Gradient steps taken so far. */
  get gradientStepsDone(): number {
    return this.updates;
  }

  /**
   * Gradient steps the loop will take while storing the next `vectorSteps` vector steps: its
   * schedule depends only on the counts, so a learner can tell how many weight versions
   * lie ahead of a chunk before it arrives.
   */
  updatesAhead(vectorSteps: number): number {
    const c = this.config;
    const n = this.vec.numEnvs;
    const perRound = c.gradientSteps === -1 ? c.trainFreq * n : c.gradientSteps;
    let size = this.buffer.size;
    let total = 0;
    for (let k = 1; k <= vectorSteps; k++) {
      size = Math.min(this.buffer.capacity, size + n);
      const vs = this.vectorSteps + k;
      if (vs * n > c.learningStarts && vs % c.trainFreq === 0 && size > this.refillTo) total += perRound;
    }
    return total;
  }

  /**
   * Actor side: steps this algorithm's own envs `steps` times with its current weights and
   * returns the transitions, taking no gradient step. `startStep` is the learner's count of
   * env transitions before this chunk: it drives the warm-up and the exploration schedule
   * exactly as the single-process loop's count would.
   */
  collectChunk(steps: number, startStep: number): OffPolicyChunk {
    const n = this.vec.numEnvs;
    const o = this.vec.obsSize;
    const a = this.actionSpace instanceof Discrete ? 1 : this.vec.actSize;
    const obs = new Float32Array((steps + 1) * n * o);
    obs.set(this.obs as Float32Array, 0);
    const actions = this.actionSpace instanceof Discrete ? new Int32Array(steps * n) : new Float32Array(steps * n * a);
    const rewards = new Float64Array(steps * n);
    const terminated = new Uint8Array(steps * n);
    const truncated = new Uint8Array(steps * n);
    const finals: { index: number; obs: Float32Array }[] = [];
    const episodes: OffPolicyChunk["episodes"] = [];
    for (let k = 0; k < steps; k++) {
      const step = startStep + k * n;
      actions.set(this.chooseActions(this.obs as Float32Array, step, step / n), k * n * a);
      const [next, r, term, trunc, info] = this.vec.step(actions.subarray(k * n * a, (k + 1) * n * a));
      if (this.masks) this.readMasks(info.envInfos, this.masks);
      rewards.set(r, k * n);
      terminated.set(term, k * n);
      truncated.set(trunc, k * n);
      info.finalObs.forEach((f, e) => {
        if (f) finals.push({ index: k * n + e, obs: f.subarray(0, o) });
      });
      for (const ep of info.episode) if (ep) episodes.push({ at: k, return: ep.r, length: ep.l });
      obs.set(next, (k + 1) * n * o);
      this.obs = next;
    }
    const finalObs = new Float32Array(finals.length * o);
    finals.forEach((f, i) => finalObs.set(f.obs, i * o));
    return { steps, numEnvs: n, obs, actions, rewards, terminated, truncated, finalIndex: Int32Array.from(finals, (f) => f.index), finalObs, episodes };
  }

  /** Actor side: new episodes and a new acting generator from `seed` (a resumed run's actors do not replay the first run's episodes). */
  reseed(seed: number): void {
    this.actRng = new Rng(seed);
    this.obs = this.resetEnvs(seed);
  }

  private trainingDue(): boolean {
    const c = this.config;
    return this.stepsDone > c.learningStarts && this.vectorSteps % c.trainFreq === 0 && this.buffer.size > this.refillTo;
  }

  private randomActions(): Int32Array | Float32Array {
    const space = this.actionSpace;
    const n = this.vec.numEnvs;
    if (space instanceof Discrete) {
      const out = new Int32Array(n);
      for (let e = 0; e < n; e++) out[e] = space.sample(this.actRng);
      return out;
    }
    const k = this.vec.actSize;
    const out = new Float32Array(n * k);
    for (let e = 0; e < n; e++) out.set((space as Box).sample(this.actRng) as Float32Array, e * k);
    return out;
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  actingPolicy(seed: number): ActingPolicy {
    return this.agent.actingPolicy(seed);
  }

  makeEvalEnv(): Env<unknown, unknown> {
    return makeTrainingEnv(offPolicyEnvOptions(this.config), false);
  }

  saveState(): { json: Record<string, unknown>; arrays: NamedArrays } {
    // A stop signal between a fed iteration's steps and iterate(): the iteration is whole, so it counts (its metrics row is lost).
    if (this.fed) this.endFedIteration();
    const agent = this.agent.saveState();
    const arrays: NamedArrays = {};
    putWeights(arrays, "agent/", agent.arrays);
    if (this.obs) arrays["loop/obs"] = this.obs;
    if (this.masks) arrays["loop/masks"] = Float32Array.from(this.masks);
    const json: Record<string, unknown> = {
      iteration: this.iterationsDone,
      vectorSteps: this.vectorSteps,
      updates: this.updates,
      refillTo: this.refillTo,
      actRng: this.actRng.getState(),
      updateRng: this.updateRng.getState(),
      envs: this.vec.getEnvStates(),
      agent: agent.json,
      replay: null,
      backend: this.config.backend,
    };
    if (this.config.replayInCheckpoint) {
      const replay = this.buffer.saveState();
      json.replay = replay.json;
      putWeights(arrays, "replay/", replay.arrays);
    }
    return { json, arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: NamedArrays }): void {
    const { json, arrays } = state;
    checkCheckpointBackend(this.requestedBackend, this.config.backend as RunBackend, json.backend);
    this.agent.loadState({ json: json.agent as Record<string, unknown>, arrays: prefixed(arrays, "agent/") });
    this.iterationsDone = json.iteration as number;
    this.vectorSteps = json.vectorSteps as number;
    this.updates = json.updates as number;
    this.refillTo = (json.refillTo as number | undefined) ?? 0;
    this.actRng = Rng.fromState(json.actRng as RngState);
    this.updateRng = Rng.fromState(json.updateRng as RngState);
    if (json.replay) {
      this.buffer.loadState({ json: json.replay as Record<string, unknown>, arrays: prefixed(arrays, "replay/") });
    } else {
      this.buffer.clear();
      this.refillTo = Math.min(this.buffer.capacity, Math.max(this.config.learningStarts, this.config.batchSize));
    }
    const envs = json.envs as EnvState[];
    this.vec.setEnvStates(envs);
    if (needsFreshReset(envs)) {
      // Envs without snapshots start new episodes from a seed of the run's seed and iteration.
      this.obs = this.resetEnvs(freshResetSeed(this.config.seed, this.iterationsDone, this.vec.numEnvs));
    } else {
      this.vec.markReset();
      const obs = arrays["loop/obs"];
      this.obs = obs ? Float32Array.from(obs) : this.resetEnvs(freshResetSeed(this.config.seed, this.iterationsDone, this.vec.numEnvs));
      const masks = arrays["loop/masks"];
      // A checkpoint without masks (written before masking): all allowed until the next step.
      if (obs && this.masking) this.masks = masks ? Uint8Array.from(masks) : new Uint8Array(this.vec.numEnvs * this.numActions).fill(1);
    }
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: NamedArrays; shapes: Record<string, number[]> } {
    const p = this.agent.exportPolicy();
    return { spec: { ...p.spec, env: this.config.env, obsNorm: null, clipObs: null }, weights: p.weights, shapes: p.shapes };
  }

  dispose(): void {
    this.vec.close();
    this.agent.dispose();
  }
}

/**
 * CleanRL's linear schedule: from `start` to `end` over `duration` steps, then flat at `end`
 * (duration 0: `end` at once). DQN's ε uses it with duration = explorationFraction·totalTimesteps.
 */
export function linearSchedule(start: number, end: number, duration: number, t: number): number {
  if (duration <= 0) return end;
  const slope = (end - start) / duration;
  const v = start + slope * t;
  return start >= end ? Math.max(v, end) : Math.min(v, end);
}

function newTally(): IterationTally {
  return { sums: {}, updates: 0, updateMs: 0, episodes: [], vectorSteps: 0, t0: performance.now() };
}

/** The step with every env that did not end marked truncated at its true next observation, so n-step sums stop at it. */
function cutStep(step: FedStep, obsSize: number): FedStep {
  const n = step.terminated.length;
  const truncated = Uint8Array.from(step.truncated);
  const finalObs: (Float32Array | null)[] = [];
  for (let e = 0; e < n; e++) {
    const ended = step.terminated[e] || step.truncated[e];
    finalObs.push(ended ? (step.finalObs?.[e] ?? null) : step.nextObs.subarray(e * obsSize, (e + 1) * obsSize));
    if (!ended) truncated[e] = 1;
  }
  return { ...step, truncated, finalObs };
}

/** The vector steps of a chunk as `feed` takes them; the last one is `cut` (the next chunk may be another actor's). */
export function chunkSteps(chunk: OffPolicyChunk, obsSize: number, actSize: number): FedStep[] {
  const n = chunk.numEnvs;
  const rows = n * obsSize;
  const finals = new Map<number, Float32Array>();
  chunk.finalIndex.forEach((index, i) => finals.set(index, chunk.finalObs.subarray(i * obsSize, (i + 1) * obsSize)));
  const out: FedStep[] = [];
  for (let k = 0; k < chunk.steps; k++) {
    const finalObs: (Float32Array | null)[] = [];
    for (let e = 0; e < n; e++) finalObs.push(finals.get(k * n + e) ?? null);
    out.push({
      obs: chunk.obs.subarray(k * rows, (k + 1) * rows),
      nextObs: chunk.obs.subarray((k + 1) * rows, (k + 2) * rows),
      actions: chunk.actions.subarray(k * n * actSize, (k + 1) * n * actSize),
      rewards: chunk.rewards.subarray(k * n, (k + 1) * n),
      terminated: chunk.terminated.subarray(k * n, (k + 1) * n),
      truncated: chunk.truncated.subarray(k * n, (k + 1) * n),
      finalObs,
      episodes: chunk.episodes.filter((ep) => ep.at === k).map((ep) => ({ return: ep.return, length: ep.length })),
      cut: k === chunk.steps - 1,
    });
  }
  return out;
}
