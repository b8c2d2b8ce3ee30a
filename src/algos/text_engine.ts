/**
 * The group algorithms on text tasks: the same `GroupRecipe` (advantages, objective, clip, KL,
 * aggregation, EPO, D³S) the control engine runs, with a token policy (a causal transformer)
 * in place of the actor-critic and prompts in place of start states:
 *
 *   TextGroupCollector: B prompts × G completions, sampled with the key/value cache; the reward
 *   arrives from the TextEnv at EOS or the length limit  →  recipe.advantages  →  [D³S]
 *   → for μ epochs, for minibatches of whole completions:
 *       one batched forward gives logπ_θ and H of every completion token (softmax(z/τ)),
 *       groupStepLoss (the control engine's) gives L and dL/dlogπ, dL/dH,
 *       the transformer's hand-written backward gives the parameter gradients, Adam steps
 *
 * Only the completion tokens are actions: the context (BOS + prompt, or iGRPO's conditioned
 * prompt) is read, never trained on. π_ref (KL) is the initial policy (the SFT model).
 */
import { zeroVarianceGroupFraction } from "../advantage/group.js";
import { checkCheckpointBackend, initBackend, resolveRunBackend, type RunBackend } from "../core/backend.js";
import { simdKernelsAvailable } from "../nn/kernels/simd.js";
import { ConfigError } from "../core/errors.js";
import { Rng, type RngState } from "../core/rng.js";
import { combineRewards, type RewardFn } from "../envs/text/rewards.js";
import { makeTask } from "../envs/text/registry.js";
import { problemSet, type TextTask } from "../envs/text/task.js";
import { TextEnv } from "../envs/text/text_env.js";
import { EntropyHistory, type EntropyHistoryState } from "../loss/epo.js";
import { ArrayAdam } from "../nn/optim.js";
import type { KernelBackendOptions } from "../nn/transformer.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import type { GroupBatch } from "../rollout/group_collector.js";
import { TextGroupCollector, type TextBatch, type TextStart } from "../rollout/text_collector.js";
import { evaluateText, type TextEvalResult } from "../train/text_eval.js";
import { loadTokenPolicy, newTextPolicy } from "../train/text_policy.js";
import type { D3sConfig } from "./group_config.js";
import {
  gatherMinibatch,
  perTurnEntropy,
  readDiagnostics,
  runEpochs,
  stepLossGradients,
  turnIndexOf,
  type AdvantageContext,
  type EpoSettings,
  type GroupRecipe,
  type Minibatch,
  type StepDiagnostics,
} from "./group_engine.js";
import type { ModelConfig } from "./text_config.js";
import { applyD3s } from "./selection.js";
import { prefixed, putAdam, putWeights, takeAdam, type NamedArrays } from "./state.js";
import type { ActingPolicy, Algorithm, CompletionTurn, IterationMetrics, SampledCompletion } from "./types.js";

/** The keys of a text run the engine reads (every text group config has them). */
export interface TextRunConfig {
  task: string;
  taskOptions: Record<string, number | string | boolean>;
  seed: number;
  iterations: number;
  init: string | null;
  chars: string | null;
  model: ModelConfig;
  maxCompletionLength: number | null;
  evalProblems: number;
  numPrompts: number;
  groupSize: number;
  temperature: number;
  topK: number;
  rewards: { name: string; weight: number }[];
  learningRate: number;
  annealLr: boolean;
  warmupIterations: number;
  maxGradNorm: number;
  /**
   * "kernels": the transformer and Adam on refinery's WebAssembly SIMD kernels (tfjs cpu for
   * the rest); "wasm"/"cpu": the JS path with that tfjs backend; "auto": kernels where
   * WebAssembly SIMD runs, else wasm (see resolveTextBackend).
   */
  backend: RunBackend | "auto";
  /** Threads of the kernels backend ("auto": 2 where a helper thread can run on a host with ≥ 2 cores). */
  kernelThreads?: "auto" | 1 | 2;
  evalEvery: number;
  checkpointEvery: number;
  checkpointSeconds: number;
  selection: "none" | "d3s";
  d3s: D3sConfig;
}

/** How an iteration gets its batch: one collect (grpo, rloo, ...) or iGRPO's two stages. */
export interface TextSampler {
  sample(collector: TextGroupCollector, rng: Rng): { batch: TextBatch; metrics: IterationMetrics };
}

/** Text policies have no critic: the recipes used on text never ask for values. */
const NO_CRITIC: AdvantageContext = {
  values: () => {
    throw new ConfigError("text policies have no critic", "use an advantage without a learned baseline (grpo, rloo, reinforce with baseline=none)");
  },
};

/** What a sampler needs of the engine beyond the config: more envs, a longer context. */
export interface SamplerNeeds {
  /** Largest group it collects (default groupSize). */
  maxGroupSize?: number;
  /** It conditions on a draft plus a suffix of this many characters (iGRPO). */
  draftSuffixLength?: number;
}

const plainSampler: TextSampler = {
  sample: (collector, rng) => ({ batch: collector.collect(rng), metrics: {} }),
};

/** Everything a text run needs built before training: the task, its env, its reward, the policy. */
export interface TextSetup {
  task: TextTask;
  reward: RewardFn;
  policy: TokenPolicy;
  /** Completion tokens before an episode is cut: the run's maxCompletionLength, or the task's. */
  maxCompletionLength: number;
  makeEnv(split: "train" | "test"): TextEnv;
}

/** The evaluation of every text run: greedy pass@1 (and mean reward, length) on the first `evalProblems` test problems. */
export function greedyEvaluation(setup: TextSetup, evalProblems: number): TextEvalResult {
  const problems = problemSet(setup.task, "test", evalProblems, 0, { upTo: true });
  return evaluateText(setup.policy, setup.task, setup.reward, problems, { samples: 1, temperature: 0, maxCompletionLength: setup.maxCompletionLength, seed: 0 });
}

/**
 * A text run's `backend` as it computes: `auto` (the default) is `kernels` where refinery's
 * WebAssembly SIMD kernels run, else `wasm`; an explicit choice stays. A config from before
 * `auto` existed without the key ran on wasm, and still does.
 */
export function resolveTextBackend(backend: TextRunConfig["backend"] | undefined): RunBackend {
  return resolveRunBackend(backend, simdKernelsAvailable());
}

/** The kernels backend's options of a text config. */
function kernelOptions(c: Pick<TextRunConfig, "kernelThreads">): KernelBackendOptions {
  return { threads: c.kernelThreads === "auto" || c.kernelThreads === undefined ? undefined : c.kernelThreads };
}

/** Starts the tfjs backend a token policy on `backend` needs: with the kernels, tfjs computes nothing large, and its light cpu backend does the rest. */
export async function initTextBackend(backend: RunBackend): Promise<void> {
  if ((backend as string) === "auto") throw new Error("a text run needs its backend resolved (resolveTextBackend) before it starts");
  await initBackend(backend === "kernels" ? "cpu" : backend);
}

/** Puts a token policy (the run's, or a KL reference) on the run's backend. */
export function placeOnBackend(policy: TokenPolicy, c: { backend: RunBackend } & Pick<TextRunConfig, "kernelThreads">): void {
  if (c.backend === "kernels") policy.model.setBackend("kernels", kernelOptions(c));
}

/**
 * Builds a text run's parts on its backend. `c.backend` is the resolved one (resolveTextBackend):
 * never "auto".
 */
export async function textSetup(
  c: Pick<TextRunConfig, "task" | "taskOptions" | "init" | "chars" | "model" | "seed" | "kernelThreads" | "maxCompletionLength"> & { backend: RunBackend; rewards?: { name: string; weight: number }[] },
  rng: Rng,
): Promise<TextSetup> {
  await initTextBackend(c.backend);
  const task = makeTask(c.task, c.taskOptions);
  const reward = combineRewards((c.rewards ?? [{ name: "correct", weight: 1 }]).map((r) => ({ fn: r.name, weight: r.weight })));
  const policy = c.init ? await loadTokenPolicy(c.init) : newTextPolicy(c.model, rng, c.chars);
  placeOnBackend(policy, c);
  const maxCompletionLength = c.maxCompletionLength ?? task.maxCompletionLength;
  const makeEnv = (split: "train" | "test") => new TextEnv({ task, tokenizer: policy.tokenizer, split, reward, maxCompletionLength });
  policy.checkFits(task.maxPromptLength + 1, maxCompletionLength, `task ${task.name}`);
  // A task whose text the tokenizer cannot encode fails here, before any training.
  const sample = task.sample(new Rng(0), "train");
  const unknown = [...new Set(sample.prompt + sample.solution)].filter((ch) => !policy.tokenizer.chars.includes(ch));
  if (unknown.length) {
    throw new ConfigError(
      `task ${task.name} uses characters the policy's tokenizer lacks: ${unknown.map((ch) => JSON.stringify(ch)).join(", ")}`,
      c.init ? `start from a run whose tokenizer has them, or train a fresh model (init=null) with chars set` : `set chars to every character the task uses, e.g. --set 'chars=${JSON.stringify(policy.tokenizer.chars + unknown.join(""))}'`,
    );
  }
  return { task, reward, policy, maxCompletionLength, makeEnv };
}

export class TextGroupOptimizer implements Algorithm {
  readonly name: string;
  readonly optimizer: ArrayAdam;
  private readonly reference: TokenPolicy | null;
  private readonly collector: TextGroupCollector;
  private readonly history: EntropyHistory | null;
  private rng: Rng;
  private iterationsDone = 0;
  private tokenCount = 0;
  private episodes: { return: number; length: number }[] = [];
  /** The latest iteration's sampled batch, kept for sampleCompletions. */
  private lastSampled: TextBatch | null = null;

  private constructor(
    readonly recipe: GroupRecipe,
    /** The config with its backend resolved (never "auto"). */
    readonly config: TextRunConfig & { backend: RunBackend },
    /** The backend the caller asked for ("auto" refuses a checkpoint of another backend). */
    readonly requestedBackend: TextRunConfig["backend"],
    readonly setup: TextSetup,
    private readonly sampler: TextSampler,
    rng: Rng,
    reference: TokenPolicy | null,
    maxGroupSize: number,
  ) {
    this.name = recipe.name;
    this.rng = rng;
    this.reference = reference;
    this.optimizer = new ArrayAdam(setup.policy.model.parameters(), { learningRate: config.learningRate, epsilon: 1e-8, kernels: setup.policy.model.backend === "kernels" });
    this.history = recipe.epo ? new EntropyHistory(recipe.epo.turns) : null;
    this.collector = new TextGroupCollector(() => setup.makeEnv("train"), setup.policy, {
      numPrompts: config.numPrompts,
      groupSize: config.groupSize,
      temperature: config.temperature,
      topK: config.topK,
      maxGroupSize,
    });
  }

  /** Builds the policy (fresh, or loaded from `init`) and, with a KL term, its frozen copy as π_ref. */
  static async create(recipe: GroupRecipe, config: TextRunConfig, sampler: TextSampler = plainSampler, opts: SamplerNeeds = {}): Promise<TextGroupOptimizer> {
    if (recipe.critic) {
      throw new ConfigError(`${recipe.name} with a learned value baseline needs a critic, and text policies have none`, "use baseline=none (or grpo/rloo, whose baselines are the group's rewards)");
    }
    const requested = config.backend;
    config = { ...config, backend: resolveTextBackend(requested) };
    const root = new Rng(config.seed);
    const setup = await textSetup(config as TextRunConfig & { backend: RunBackend }, root.split());
    if (opts.draftSuffixLength !== undefined) {
      // The conditioned context holds the prompt, a whole draft and the suffix, then the refinement.
      const mcl = config.maxCompletionLength ?? setup.task.maxCompletionLength;
      setup.policy.checkFits(setup.task.maxPromptLength + 1 + mcl + opts.draftSuffixLength, mcl, `${recipe.name} on ${setup.task.name} (prompt + draft + refinement)`);
    }
    let reference: TokenPolicy | null = null;
    if (recipe.kl) {
      reference = config.init ? await loadTokenPolicy(config.init) : newTextPolicy(config.model, new Rng(0), config.chars);
      reference.setWeights(setup.policy.getWeights());
      placeOnBackend(reference, config as TextRunConfig & { backend: RunBackend });
    }
    return new TextGroupOptimizer(recipe, config as TextRunConfig & { backend: RunBackend }, requested, setup, sampler, root.split(), reference, opts.maxGroupSize ?? config.groupSize);
  }

  private batchSource: (() => { batch: TextBatch; metrics: IterationMetrics }) | null = null;

  /** Where the next iterations get their sampled batch: null (default) samples here; a source (a remote learner's) replaces the sampler. */
  setBatchSource(source: (() => { batch: TextBatch; metrics: IterationMetrics }) | null): void {
    this.batchSource = source;
  }

  /** One sampled batch with the current weights, as an iteration would sample it (remote actors call this). */
  sampleBatch(): { batch: TextBatch; metrics: IterationMetrics } {
    return this.sampler.sample(this.collector, this.rng);
  }

  get policy(): TokenPolicy {
    return this.setup.policy;
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  get totalIterations(): number {
    return this.config.iterations;
  }

  /** Sampled completion tokens so far (a token is an env step). */
  get stepsDone(): number {
    return this.tokenCount;
  }

  get stepsPerIteration(): number {
    return this.iterationsDone > 0 ? this.tokenCount / this.iterationsDone : this.config.numPrompts * this.config.groupSize;
  }

  get progress(): number {
    return Math.min(1, this.iterationsDone / this.config.iterations);
  }

  get maxCompletionLength(): number {
    return this.collector.maxCompletionLength;
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const r = this.recipe;
    const progress = this.progress;
    const lr = textLearningRate(c, this.iterationsDone);
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));
    this.refreshReference();

    const t0 = performance.now();
    const { batch: sampled, metrics: samplerMetrics } = this.batchSource ? this.batchSource() : this.sampler.sample(this.collector, this.rng);
    const full = sampled.batch;
    this.lastSampled = sampled;
    const t1 = performance.now();
    const { advantages } = r.advantages(full, NO_CRITIC);
    if (this.history) this.history.append(perTurnEntropy(full, sampled.entropy, this.turnIndex(full), this.history.turns));

    let batch = full;
    let adv = advantages;
    let stepKeep: Uint8Array | null = null;
    let keepRatio = 1;
    let groupKeep = full.groupSize;
    if (c.selection === "d3s") {
      const sel = applyD3s(full, advantages, sampled.entropy, progress, c.d3s, (subset) => r.advantages(subset, NO_CRITIC).advantages);
      ({ batch, advantages: adv, stepKeep, keepRatio, groupKeep } = sel);
    }
    const kept = stepKeep ? stepKeep.reduce((s, k) => s + k, 0) : batch.numSteps;
    const contexts = Array.from(batch.episodeGroup, (g) => sampled.contexts[g]);
    const refLogProbs = this.reference ? this.logProbsOf(this.reference, batch, contexts) : null;
    const stats = this.update(batch, contexts, adv, stepKeep, refLogProbs, progress);
    const t2 = performance.now();

    this.iterationsDone++;
    const sampledTokens = full.numSteps + (samplerMetrics.draftTokens ?? 0);
    this.tokenCount += sampledTokens;
    for (let e = 0; e < full.numEpisodes; e++) this.episodes.push({ return: full.episodeReturn[e], length: full.episodeLength[e] });
    const mean = (x: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += x[i];
      return x.length ? sum / x.length : 0;
    };
    return {
      learningRate: lr,
      ...stats,
      rewardMean: mean(full.episodeReturn),
      correctFraction: mean(sampled.correct),
      completionLength: mean(full.episodeLength),
      truncatedFraction: mean(full.truncated),
      zeroVarianceGroups: full.groupSize > 1 ? zeroVarianceGroupFraction(full.episodeReturn, full.episodeGroup) : NaN,
      selectedFraction: full.numSteps ? kept / full.numSteps : 0,
      ...(c.selection === "d3s" ? { keepRatio, groupKeep } : {}),
      ...samplerMetrics,
      iterationTokens: full.numSteps,
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
      sampledTokensPerSecond: sampledTokens / Math.max((t1 - t0) / 1000, 1e-9),
    };
  }

  /** logπ of every step of `batch` under `policy` (π_ref), in forwards of 64 completions. */
  private logProbsOf(policy: TokenPolicy, batch: GroupBatch, contexts: Int32Array[]): Float32Array {
    const logProb = new Float32Array(batch.numSteps);
    const chunk = 64;
    for (let e0 = 0; e0 < batch.numEpisodes; e0 += chunk) {
      const eps = Array.from({ length: Math.min(chunk, batch.numEpisodes - e0) }, (_, k) => e0 + k);
      const out = policy.evaluate(
        eps.map((e) => contexts[e]),
        eps.map((e) => completionOf(batch, e)),
        this.config.temperature,
        false,
      );
      logProb.set(out.logProb, batch.episodeStart[e0]);
    }
    return logProb;
  }

  private update(batch: GroupBatch, contexts: Int32Array[], adv: Float32Array, stepKeep: Uint8Array | null, refLogProbs: Float32Array | null, progress: number): IterationMetrics {
    const r = this.recipe;
    const n = batch.numEpisodes;
    const numMinibatches = Math.max(1, Math.min(r.numMinibatches, n));
    const turns = this.history ? this.turnIndex(batch) : null;
    const reference = this.history ? this.history.reference() : null;
    return runEpochs(r, n, numMinibatches, this.rng, (episodes) => {
      const mb = gatherMinibatch(batch, episodes, adv, stepKeep, refLogProbs, turns, reference);
      return mb.numSteps === 0 ? null : this.policyStep(batch, episodes, contexts, mb, progress);
    });
  }

  /**
   * One Adam step on a minibatch of whole completions. The forward runs over every token of
   * them (each token's context); the loss covers only the kept tokens (`mb.rows`).
   */
  private policyStep(batch: GroupBatch, episodes: Int32Array, contexts: Int32Array[], mb: Minibatch, progress: number): StepDiagnostics {
    const r = this.recipe;
    const policy = this.policy;
    const eps = Array.from(episodes);
    const out = policy.evaluate(
      eps.map((e) => contexts[e]),
      eps.map((e) => completionOf(batch, e)),
      this.config.temperature,
      true,
    );
    // Where each kept step sits in the forward's flat token order (episode after episode).
    const offset = new Map<number, number>();
    let o = 0;
    for (const e of eps) {
      offset.set(e, o);
      o += batch.episodeLength[e];
    }
    const pick = Int32Array.from(mb.rows, (t) => (offset.get(batch.episodeIndex[t]) as number) + t - batch.episodeStart[batch.episodeIndex[t]]);
    const grads = stepLossGradients(r, out, pick, mb, this.maxCompletionLength, progress);
    const dLogProbAll = grads.dLogProbAll;
    const dEntropyAll = grads.dEntropyAll;
    const diag = grads.diagnostics;
    const paramGrads = policy.backward(out.pass as NonNullable<typeof out.pass>, dLogProbAll, dEntropyAll);
    const gradNorm = this.optimizer.applyGradients(paramGrads, this.config.maxGradNorm);
    return readDiagnostics(diag, gradNorm);
  }

  private turnIndex(batch: GroupBatch): Int32Array {
    return turnIndexOf(batch, (this.recipe.epo as EpoSettings).turns, this.maxCompletionLength);
  }

  private refreshReference(): void {
    const kl = this.recipe.kl;
    if (!this.reference || !kl || kl.refUpdateEvery === 0) return;
    if (this.iterationsDone > 0 && this.iterationsDone % kl.refUpdateEvery === 0) this.reference.setWeights(this.policy.getWeights());
  }

  sampleCompletions(count: number): SampledCompletion[] {
    const s = this.lastSampled;
    return s ? spreadCompletions(s, s.completions, count) : [];
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  evaluate(): TextEvalResult {
    return greedyEvaluation(this.setup, this.config.evalProblems);
  }

  actingPolicy(seed: number): ActingPolicy {
    return textActingPolicy(this.policy, seed);
  }

  makeEvalEnv(): TextEnv {
    return this.setup.makeEnv("test");
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const arrays: NamedArrays = {};
    putWeights(arrays, "policy/", this.policy.getWeights());
    if (this.reference) putWeights(arrays, "reference/", this.reference.getWeights());
    const adam = putAdam(arrays, "adam", this.optimizer.getState());
    return {
      json: {
        iteration: this.iterationsDone,
        steps: this.tokenCount,
        rng: this.rng.getState(),
        adam,
        backend: this.config.backend,
        ...(this.history ? { entropyHistory: this.history.getState() } : {}),
      },
      arrays,
    };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    checkCheckpointBackend(this.requestedBackend, this.config.backend, json.backend);
    this.policy.setWeights(prefixed(arrays, "policy/"));
    if (this.reference) this.reference.setWeights(prefixed(arrays, "reference/"));
    this.optimizer.setState(takeAdam(json, arrays, "adam"));
    if (this.history) this.history.setState(json.entropyHistory as EntropyHistoryState);
    this.rng = Rng.fromState(json.rng as RngState);
    this.iterationsDone = json.iteration as number;
    this.tokenCount = json.steps as number;
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: textPolicySpec(this.policy, this.config), weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }

  dispose(): void {
    for (const env of this.collector.envs) env.close();
  }
}

/**
 * The learning rate of iteration i (0-based): a linear warm-up over the first `warmupIterations`
 * (Adam's first steps move every parameter by about the full learning rate, whatever its
 * gradient's noise, which knocks a fine-tuned model off its optimum), then constant or a
 * linear decay to 0.
 */
export function textLearningRate(c: { learningRate: number; annealLr: boolean; warmupIterations: number; iterations: number }, i: number): number {
  const warm = c.warmupIterations > 0 ? Math.min(1, (i + 1) / c.warmupIterations) : 1;
  const decay = c.annealLr ? 1 - i / c.iterations : 1;
  return c.learningRate * warm * decay;
}

/** What a saved text policy's model.json records beside its weights. */
/**
 * Up to `count` episodes of a sampled batch as completion records (prompt, text, reward,
 * correct), evenly spaced over the batch, which is laid out group after group: different
 * prompts first. `texts[e]` is episode e's completion (or transcript).
 */
export function spreadCompletions(
  s: { starts: readonly { problem: { prompt: string } }[]; batch: GroupBatch; correct: ArrayLike<number> },
  texts: readonly string[],
  count: number,
  turnsOf?: (episode: number) => CompletionTurn[],
): SampledCompletion[] {
  const n = s.batch.numEpisodes;
  const k = Math.min(count, n);
  const picks = [...new Set(Array.from({ length: k }, (_, i) => Math.floor((i * n) / k)))];
  return picks.map((e) => ({
    prompt: s.starts[s.batch.episodeGroup[e]].problem.prompt,
    completion: texts[e],
    reward: s.batch.episodeReturn[e],
    correct: s.correct[e] > 0,
    ...(turnsOf ? { turns: turnsOf(e) } : {}),
  }));
}

export function textPolicySpec(policy: TokenPolicy, c: { task: string; taskOptions: Record<string, unknown>; temperature?: number; maxCompletionLength: number | null }): Record<string, unknown> {
  return { ...policy.spec, task: c.task, taskOptions: c.taskOptions, temperature: c.temperature ?? 1, maxCompletionLength: c.maxCompletionLength };
}

/** The tokens of episode `e` of a batch. */
export function completionOf(batch: GroupBatch, e: number): Int32Array {
  const s = batch.episodeStart[e];
  return (batch.actions as Int32Array).subarray(s, s + batch.episodeLength[e]);
}

/**
 * A text policy behind the ActingPolicy interface, for code that steps a TextEnv: the
 * observation is the env's token ids (BOS, prompt, completion so far, PAD-filled). It runs
 * the whole prefix through the model at every step (no cache), so prefer the batched
 * evaluation (`evaluateText`) for anything large.
 */
export function textActingPolicy(policy: TokenPolicy, seed: number): ActingPolicy {
  const rng = new Rng(seed);
  const V = policy.vocabSize;
  return {
    actOne(obs: Float32Array, deterministic: boolean): number {
      const ids = obs as unknown as ArrayLike<number>;
      let len = ids.length;
      while (len > 0 && ids[len - 1] === 0) len--;
      const tokens = Int32Array.from({ length: len }, (_, i) => ids[i]);
      const { logits } = policy.model.forward(tokens, 1, len, null, false);
      const last = logits.subarray((len - 1) * V, len * V);
      let best = 0;
      if (deterministic) {
        for (let v = 1; v < V; v++) if (last[v] > last[best]) best = v;
        return best;
      }
      return rng.categoricalFromLogits(last);
    },
  };
}

export type { TextStart };
