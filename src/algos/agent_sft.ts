/**
 * SFT on demonstration episodes of a multi-turn task: each iteration draws `batchSize` train
 * problems, plays each problem's demonstration through the env (so the observations are the
 * env's own: tool results, feedback), and takes one Adam step on the mean negative
 * log-likelihood of the policy's tokens (every turn, with its EOS) given everything before
 * them. The env's tokens are context only:
 *
 *   L = −(1/N) Σ_episodes Σ_{t policy token} log π_θ(x_t | BOS, prompt, x_{<t})      N = policy tokens of the batch
 */
import { z } from "zod";
import { Rng } from "../core/rng.js";
import { EOS } from "../envs/text/tokenizer.js";
import type { AgentEvalResult } from "../train/agent_eval.js";
import { agentTaskShape, AGENT_TASK_DEFAULTS } from "./agent_config.js";
import { agentPolicySpec, agentSetup, greedyAgentEvaluation, type AgentSetup } from "./agent_engine.js";
import { SupervisedTokenTrainer } from "./sft.js";
import { resolveTextBackend, textLearningRate } from "./text_engine.js";
import type { RunBackend } from "../core/backend.js";
import type { Algorithm, IterationMetrics } from "./types.js";
import { ConfigError } from "../core/errors.js";

export const agentSftSchema = z
  .object({
    ...agentTaskShape,
    batchSize: z.number().int().positive().describe("demonstration episodes per step"),
  })
  .strict();

export type AgentSFTConfig = z.infer<typeof agentSftSchema>;

export const AGENT_SFT_DEFAULTS: AgentSFTConfig = {
  ...AGENT_TASK_DEFAULTS,
  iterations: 600,
  batchSize: 32,
  learningRate: 3e-3,
  annealLr: true,
  warmupIterations: 30,
  evalEvery: 200,
};

export class AgentSFT extends SupervisedTokenTrainer<AgentSFTConfig & { backend: RunBackend }, AgentSetup> implements Algorithm {

  static async create(config: AgentSFTConfig): Promise<AgentSFT> {
    const resolved = { ...config, backend: resolveTextBackend(config.backend) };
    const root = new Rng(config.seed);
    const setup = await agentSetup(resolved, root.split());
    return new AgentSFT(resolved, setup, root.split(), config.backend);
  }

  /** Contexts, transcripts and policy-token masks of `count` demonstration episodes drawn from `rng`. */
  demonstrations(rng: Rng, count: number): { contexts: Int32Array[]; transcripts: Int32Array[]; masks: Uint8Array[] } {
    const { policy, makeEnv } = this.setup;
    const env = makeEnv("train");
    const contexts: Int32Array[] = [];
    const transcripts: Int32Array[] = [];
    const masks: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      env.reset(rng.nextSeed());
      for (const turn of env.problem.demonstration) {
        if (env.isDone) break;
        env.step([...policy.tokenizer.encode(turn), EOS]);
      }
      if (env.lastResult?.correct !== 1) {
        throw new ConfigError(`task ${env.task.name}: the demonstration of ${JSON.stringify(env.problem.prompt)} does not end in a verified answer within the context`, "use a model with a longer model.contextLength");
      }
      contexts.push(env.context);
      transcripts.push(env.transcript);
      masks.push(env.policyMask);
    }
    return { contexts, transcripts, masks };
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const t0 = performance.now();
    const lr = Math.max(1e-12, textLearningRate(c, this.iterationsDone));
    this.optimizer.setLearningRate(lr);
    const { contexts, transcripts, masks } = this.demonstrations(this.rng, c.batchSize);
    const out = this.policy.evaluate(contexts, transcripts, 1, true);
    // evaluate() returns every transcript token, transcript after transcript; the loss keeps the policy's.
    let N = 0;
    for (const m of masks) for (const x of m) N += x;
    const dLogProb = new Float32Array(out.logProb.length);
    let nll = 0;
    let k = 0;
    for (const m of masks) {
      for (const x of m) {
        if (x) {
          dLogProb[k] = -1 / N;
          nll -= out.logProb[k];
        }
        k++;
      }
    }
    const grads = this.policy.backward(out.pass as NonNullable<typeof out.pass>, dLogProb, null);
    const gradNorm = this.optimizer.applyGradients(grads, c.maxGradNorm);
    this.iterationsDone++;
    this.tokenCount += N;
    const seconds = (performance.now() - t0) / 1000;
    return { learningRate: lr, loss: nll / N, gradNorm, tokens: N, contextTokens: out.logProb.length - N, updateSeconds: seconds, trainTokensPerSecond: N / Math.max(seconds, 1e-9) };
  }

  evaluate(): AgentEvalResult {
    return greedyAgentEvaluation(this.setup, this.config.evalProblems);
  }

  makeEvalEnv(): never {
    throw new ConfigError("sft on a multi-turn task evaluates with its own episodes (evaluate()), not with a step env", "use refinery eval RUN_DIR or evaluateAgent");
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array>; shapes: Record<string, number[]> } {
    return { spec: agentPolicySpec(this.policy, this.config), weights: this.policy.getWeights(), shapes: this.policy.paramShapes() };
  }
}
