/**
 * SFT — supervised fine-tuning on a task's demonstrations, the warm-up RLVR starts from. Each
 * iteration draws `batchSize` fresh problems of the train split, and takes one Adam step on
 * the mean negative log-likelihood of their correct completions (solution + EOS) given BOS +
 * prompt; the prompt tokens are context, not targets:
 *
 *   L = −(1/N) Σ_i Σ_t log π_θ(y_{i,t} | BOS, prompt_i, y_{i,<t})     N = completion tokens of the batch
 *
 * The logits are not tempered (τ = 1). Evaluation: greedy pass@1 on the test split.
 *
 * With `refinementRate` > 0 some demonstrations teach the refinement format of iGRPO
 * (q ⊕ draft ⊕ separator → the solution, the draft right or off by one): a model this small
 * has no prior for reading a draft, so without them iGRPO's stage-2 refinements of an SFT model
 * are never right and carry no signal (measured: zero-variance groups in 9 of 10 iterations).
 */
import { z } from "zod";
import { checkCheckpointBackend, type RunBackend } from "../core/backend.js";
import { Rng } from "../core/rng.js";
import { EOS } from "../envs/text/tokenizer.js";
import { ArrayAdam } from "../nn/optim.js";
import { loadSupervised, saveSupervised } from "./state.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import { taskShape, TEXT_DEFAULTS, textBackendShape, warmupShape } from "./text_config.js";
import { greedyEvaluation, resolveTextBackend, textActingPolicy, textLearningRate, textPolicySpec, textSetup, type TextSetup } from "./text_engine.js";
import type { TextEvalResult } from "../train/text_eval.js";
import type { ActingPolicy, Algorithm, IterationMetrics } from "./types.js";
import type { TextEnv } from "../envs/text/text_env.js";

export const sftConfigSchema = z
  .object({
    ...taskShape,
    batchSize: z.number().int().positive().describe("demonstrations (problems) per step"),
    learningRate: z.number().positive().describe("Adam learning rate (eps 1e-8)"),
    annealLr: z.boolean().describe("decay the learning rate linearly to 0 over the iterations"),
    warmupIterations: warmupShape.warmupIterations,
    demoNoise: z
      .number().min(0).max(1)
      .describe("fraction of demonstrations whose last digit is replaced by the next one (d → d+1 mod 10): imperfect SFT data, for studying what RL with a verifier fixes"),
    refinementRate: z
      .number().min(0).max(1)
      .describe("fraction of demonstrations shown as refinements: context prompt ⊕ draft ⊕ separator, the draft the solution or (half the time) the solution with its last digit off by one, target the solution — the format iGRPO's stage 2 reads"),
    separator: z.string().describe("text after the draft in refinement demonstrations (iGRPO's separator)"),
    maxGradNorm: z.number().positive().describe("global gradient-norm clip"),
    backend: textBackendShape,
    evalEvery: z.number().int().min(0).describe("evaluate (greedy pass@1 on the test split) every N iterations (0: only at the end)"),
    checkpointEvery: z.number().int().min(0).describe("write a checkpoint every N iterations (0: only at the end)"),
    checkpointSeconds: z.number().min(0).describe("write a checkpoint every N seconds of wall time as well (0: off)"),
  })
  .strict();

export type SFTConfig = z.infer<typeof sftConfigSchema>;

export const SFT_DEFAULTS: SFTConfig = {
  ...TEXT_DEFAULTS,
  iterations: 1000,
  batchSize: 64,
  learningRate: 3e-3,
  annealLr: true,
  warmupIterations: 50,
  demoNoise: 0,
  refinementRate: 0,
  separator: ";",
  maxGradNorm: 1,
  backend: "auto",
  evalEvery: 200,
  checkpointEvery: 0,
  checkpointSeconds: 60,
};

/** The text with its last digit replaced by the next one (9 → 0); unchanged without a digit. */
export function corruptLastDigit(text: string): string {
  for (let i = text.length - 1; i >= 0; i--) {
    const d = text.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) return text.slice(0, i) + String((d + 1) % 10) + text.slice(i + 1);
  }
  return text;
}

/**
 * What SFT on single- and multi-turn tasks shares: one ArrayAdam over the policy's
 * parameters, the generator, the counters (iterations, tokens trained on), their getters,
 * and the checkpoint. Subclasses write `iterate` and evaluation.
 */
export abstract class SupervisedTokenTrainer<C extends { iterations: number; batchSize: number; learningRate: number; backend: RunBackend }, S extends { policy: TokenPolicy }> {
  readonly name = "sft";
  readonly optimizer: ArrayAdam;
  protected rng: Rng;
  protected iterationsDone = 0;
  protected tokenCount = 0;

  /**
   * `config` has its backend resolved (never "auto"); `requestedBackend` is what the caller
   * asked for ("auto" refuses a checkpoint written on another backend).
   */
  protected constructor(
    readonly config: C,
    readonly setup: S,
    rng: Rng,
    readonly requestedBackend: string = config.backend,
  ) {
    this.rng = rng;
    this.optimizer = new ArrayAdam(setup.policy.model.parameters(), { learningRate: config.learningRate, epsilon: 1e-8, kernels: setup.policy.model.backend === "kernels" });
  }

  /** The config with `backend: "auto"` resolved: what a run directory records, so a resume computes on the same backend. */
  recordedConfig(): Record<string, unknown> {
    return { ...this.config };
  }

  get policy(): S["policy"] {
    return this.setup.policy;
  }
  get iteration(): number {
    return this.iterationsDone;
  }
  get totalIterations(): number {
    return this.config.iterations;
  }
  /** Demonstration tokens trained on so far. */
  get stepsDone(): number {
    return this.tokenCount;
  }
  get stepsPerIteration(): number {
    return this.iterationsDone > 0 ? this.tokenCount / this.iterationsDone : this.config.batchSize;
  }

  /** SFT has no episodes. */
  drainEpisodes(): { return: number; length: number }[] {
    return [];
  }

  actingPolicy(seed: number): ActingPolicy {
    return textActingPolicy(this.policy, seed);
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const state = saveSupervised(this, { iteration: this.iterationsDone, steps: this.tokenCount, rng: this.rng.getState() });
    return { json: { ...state.json, backend: this.config.backend }, arrays: state.arrays };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    checkCheckpointBackend(this.requestedBackend, this.config.backend, state.json.backend);
    const counters = loadSupervised(this, state);
    this.rng = Rng.fromState(counters.rng);
    this.iterationsDone = counters.iteration;
    this.tokenCount = counters.steps;
  }

  dispose(): void {}
}

export class SFT extends SupervisedTokenTrainer<SFTConfig & { backend: RunBackend }, TextSetup> implements Algorithm {

  static async create(config: SFTConfig): Promise<SFT> {
    const resolved = { ...config, backend: resolveTextBackend(config.backend) };
    const root = new Rng(config.seed);
    const setup = await textSetup({ ...resolved, rewards: undefined }, root.split());
    return new SFT(resolved, setup, root.split(), config.backend);
  }

  learningRateAt(i: number): number {
    return Math.max(1e-12, textLearningRate(this.config, i));
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const t0 = performance.now();
    const lr = this.learningRateAt(this.iterationsDone);
    this.optimizer.setLearningRate(lr);
    const { task, policy } = this.setup;
    const problems = Array.from({ length: c.batchSize }, () => task.sample(this.rng, "train"));
    const contexts = problems.map((p) => {
      if (c.refinementRate > 0 && this.rng.uniform() < c.refinementRate) {
        const draft = this.rng.uniform() < 0.5 ? corruptLastDigit(p.solution) : p.solution;
        return policy.encodeContext(`${p.prompt}${draft}${c.separator}`);
      }
      return policy.encodeContext(p.prompt);
    });
    const completions = problems.map((p) => {
      const demo = c.demoNoise > 0 && this.rng.uniform() < c.demoNoise ? corruptLastDigit(p.solution) : p.solution;
      const body = policy.tokenizer.encode(demo);
      const out = new Int32Array(body.length + 1);
      out.set(body);
      out[body.length] = EOS;
      return out;
    });
    const out = policy.evaluate(contexts, completions, 1, true);
    const N = out.logProb.length;
    let nll = 0;
    for (let i = 0; i < N; i++) nll -= out.logProb[i];
    const dLogProb = new Float32Array(N).fill(-1 / N);
    const grads = policy.backward(out.pass as NonNullable<typeof out.pass>, dLogProb, null);
    const gradNorm = this.optimizer.applyGradients(grads, c.maxGradNorm);
    this.iterationsDone++;
    this.tokenCount += N;
    const seconds = (performance.now() - t0) / 1000;
    return { learningRate: lr, loss: nll / N, gradNorm, tokens: N, updateSeconds: seconds, trainTokensPerSecond: N / Math.max(seconds, 1e-9) };
  }

  evaluate(): TextEvalResult {
    return greedyEvaluation(this.setup, this.config.evalProblems);
  }

  makeEvalEnv(): TextEnv {
    return this.setup.makeEnv("test");
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: textPolicySpec(this.policy, this.config), weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }
}
