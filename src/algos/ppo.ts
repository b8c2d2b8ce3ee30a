/**
 * PPO — Proximal Policy Optimization (Schulman et al., 2017) with GAE, as CleanRL's
 * ppo.py / ppo_continuous_action.py, composed from refinery's parts:
 *
 *   StepCollector (numEnvs × numSteps)  →  gae(γ, λ)  →  for each epoch, for each minibatch:
 *     Â = normalise(A)                                   (per minibatch, if normAdv)
 *     L = mean(clippedSurrogate(ρ, Â, ε)) − entCoef·mean(H) + vfCoef·valueLoss(V, R, V_old, ε)
 *     Adam step with global grad-norm clipping
 *   stop the epochs early when approx-KL > targetKl
 *
 * The update rule is ALGORITHMS.md §1. Deviation from CleanRL, on by default and behind
 * `bootstrapTruncated`: time-limit truncations are bootstrapped from V(final obs).
 */
import * as tf from "@tensorflow/tfjs-core";
import { gae } from "../advantage/gae.js";
import { normalizeAdvantages } from "../advantage/normalize.js";
import { initBackend } from "../core/backend.js";
import { Rng, type RngState } from "../core/rng.js";
import type { Env } from "../envs/env.js";
import { captureEnvState, restoreEnvState, type EnvState } from "../envs/state.js";
import type { SyncVectorEnv } from "../envs/vector.js";
import { approxKl, clipFraction } from "../loss/kl.js";
import { clippedSurrogate } from "../loss/surrogate.js";
import { valueLoss } from "../loss/value.js";
import { Adam, type AdamState } from "../nn/optim.js";
import { ActorCritic } from "../policies/actor_critic.js";
import { StepCollector, type RolloutBatch } from "../rollout/step_collector.js";
import { findObsNormalizer, makeTrainingEnv, makeTrainingVecEnv } from "./env_stack.js";
import type { PPOConfig } from "./ppo_config.js";
import type { ActingPolicy, Algorithm, IterationMetrics } from "./types.js";

export class PPO implements Algorithm {
  readonly name = "ppo";
  readonly stepsPerIteration: number;
  readonly totalIterations: number;
  readonly minibatchSize: number;
  readonly vec: SyncVectorEnv;
  readonly policy: ActorCritic;
  readonly optimizer: Adam;
  private readonly collector: StepCollector;
  private rng: Rng;
  private iterationsDone = 0;
  private episodes: { return: number; length: number }[] = [];

  /** Use `await PPO.create(config)`: the tensor backend must be ready before networks exist. */
  private constructor(readonly config: PPOConfig) {
    const c = config;
    this.stepsPerIteration = c.numEnvs * c.numSteps;
    this.totalIterations = Math.max(1, Math.floor(c.totalTimesteps / this.stepsPerIteration));
    this.minibatchSize = Math.max(1, Math.floor(this.stepsPerIteration / c.numMinibatches));
    const root = new Rng(c.seed);
    const initRng = root.split();
    this.rng = root.split();
    this.vec = makeTrainingVecEnv(c, c.numEnvs);
    this.policy = new ActorCritic({
      observationSpace: this.vec.singleObservationSpace,
      actionSpace: this.vec.singleActionSpace,
      hidden: c.hidden,
      activation: c.activation,
      initLogStd: c.initLogStd,
      rng: initRng,
    });
    this.optimizer = new Adam(this.policy.trainableVariables(), { learningRate: c.learningRate, epsilon: 1e-5 });
    this.collector = new StepCollector(this.vec, this.policy, c.numSteps, c.gamma, c.bootstrapTruncated);
    this.collector.reset(c.seed);
  }

  static async create(config: PPOConfig): Promise<PPO> {
    await initBackend(config.backend);
    return new PPO(config);
  }

  get iteration(): number {
    return this.iterationsDone;
  }

  iterate(): IterationMetrics {
    const c = this.config;
    const frac = 1 - this.iterationsDone / this.totalIterations;
    const lr = c.annealLr ? frac * c.learningRate : c.learningRate;
    const clip = c.annealClip ? frac * c.clipCoef : c.clipCoef;
    this.optimizer.setLearningRate(Math.max(lr, 1e-12));

    const t0 = performance.now();
    const batch = this.collector.collect(this.rng);
    const t1 = performance.now();
    const { advantages, returns } = gae({ ...batch, numEnvs: batch.numEnvs, gamma: c.gamma, lambda: c.gaeLambda });
    const stats = this.update(batch, advantages, returns, Math.max(clip, 1e-8));
    const t2 = performance.now();
    this.policy.syncFastWeights();
    this.iterationsDone++;
    this.episodes.push(...batch.episodes);
    return {
      learningRate: lr,
      clipCoef: clip,
      ...stats,
      explainedVariance: explainedVariance(batch.values, returns),
      rolloutSeconds: (t1 - t0) / 1000,
      updateSeconds: (t2 - t1) / 1000,
    };
  }

  /** Minibatch epochs over one rollout (CleanRL's inner loops). */
  private update(batch: RolloutBatch, advantages: Float32Array, returns: Float32Array, clip: number): IterationMetrics {
    const c = this.config;
    const n = batch.numSteps * batch.numEnvs;
    const mb = this.minibatchSize;
    const { obsSize, actSize, discrete } = batch;
    const mbObs = new Float32Array(mb * obsSize);
    const mbAct = discrete ? new Int32Array(mb) : new Float32Array(mb * actSize);
    const mbLogp = new Float32Array(mb);
    const mbAdv = new Float32Array(mb);
    const mbRet = new Float32Array(mb);
    const mbVal = new Float32Array(mb);
    let sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0, gradNorm: 0 };
    let count = 0;
    let epochs = 0;
    let lastKl = 0;
    for (let epoch = 0; epoch < c.updateEpochs; epoch++) {
      const perm = this.rng.permutation(n);
      for (let start = 0; start + mb <= n; start += mb) {
        for (let k = 0; k < mb; k++) {
          const i = perm[start + k];
          mbObs.set(batch.obs.subarray(i * obsSize, (i + 1) * obsSize), k * obsSize);
          if (discrete) mbAct[k] = batch.actions[i];
          else mbAct.set(batch.actions.subarray(i * actSize, (i + 1) * actSize), k * actSize);
          mbLogp[k] = batch.logProbs[i];
          mbAdv[k] = advantages[i];
          mbRet[k] = returns[i];
          mbVal[k] = batch.values[i];
        }
        const adv = c.normAdv ? normalizeAdvantages(mbAdv) : mbAdv;
        let diag: tf.Tensor | null = null;
        const { gradNorm } = this.optimizer.minimize(() => {
          const obsT = tf.tensor2d(mbObs, [mb, obsSize]);
          const actT = discrete ? tf.tensor1d(mbAct as Int32Array, "int32") : tf.tensor2d(mbAct as Float32Array, [mb, actSize]);
          const oldLogp = tf.tensor1d(mbLogp);
          const { logProb, entropy, value } = this.policy.evaluate(obsT, actT);
          const pg = tf.mean(clippedSurrogate(logProb, oldLogp, tf.tensor1d(adv), clip)) as tf.Scalar;
          const vl = valueLoss(value, tf.tensor1d(mbRet), c.clipVloss ? tf.tensor1d(mbVal) : undefined, c.clipVloss ? clip : undefined);
          const ent = tf.mean(entropy) as tf.Scalar;
          diag = tf.keep(tf.stack([pg, vl, ent, approxKl(logProb, oldLogp), clipFraction(logProb, oldLogp, clip)]));
          return tf.add(tf.sub(pg, tf.mul(c.entCoef, ent)), tf.mul(c.vfCoef, vl)) as tf.Scalar;
        }, c.maxGradNorm);
        const d = (diag as unknown as tf.Tensor).dataSync();
        (diag as unknown as tf.Tensor).dispose();
        sums = {
          policyLoss: sums.policyLoss + d[0],
          valueLoss: sums.valueLoss + d[1],
          entropy: sums.entropy + d[2],
          approxKl: sums.approxKl + d[3],
          clipFraction: sums.clipFraction + d[4],
          gradNorm: sums.gradNorm + gradNorm,
        };
        lastKl = d[3];
        count++;
      }
      epochs++;
      if (c.targetKl !== null && lastKl > c.targetKl) break;
    }
    const mean = (x: number) => (count ? x / count : 0);
    return {
      policyLoss: mean(sums.policyLoss),
      valueLoss: mean(sums.valueLoss),
      entropy: mean(sums.entropy),
      approxKl: mean(sums.approxKl),
      clipFraction: mean(sums.clipFraction),
      gradNorm: mean(sums.gradNorm),
      epochs,
    };
  }

  drainEpisodes(): { return: number; length: number }[] {
    const out = this.episodes;
    this.episodes = [];
    return out;
  }

  actingPolicy(seed: number): ActingPolicy {
    // Its own generator: evaluating must not perturb the training stream.
    return policyActor(this.policy, new Rng(seed));
  }

  makeEvalEnv(): Env<unknown, unknown> {
    const env = makeTrainingEnv(this.config, false);
    const evalNorm = findObsNormalizer(env);
    const trainNorm = findObsNormalizer(this.vec.envs[0]);
    if (evalNorm && trainNorm) {
      evalNorm.setStatistics(trainNorm.getStatistics());
      evalNorm.updateRunningMean = false;
    }
    return env;
  }

  saveState(): { json: Record<string, unknown>; arrays: Record<string, Float32Array> } {
    const adam = this.optimizer.getState();
    const arrays: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.policy.getWeights())) arrays[`policy/${k}`] = v;
    arrays["adam/m"] = adam.m;
    arrays["adam/v"] = adam.v;
    const obs = this.collector.currentObs;
    if (obs) arrays["collector/obs"] = obs;
    return {
      json: {
        iteration: this.iterationsDone,
        rng: this.rng.getState(),
        adam: { step: adam.step, learningRate: adam.learningRate },
        envs: this.vec.envs.map((e) => captureEnvState(e)),
      },
      arrays,
    };
  }

  loadState(state: { json: Record<string, unknown>; arrays: Record<string, Float32Array> }): void {
    const { json, arrays } = state;
    const weights: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(arrays)) if (k.startsWith("policy/")) weights[k.slice(7)] = v;
    this.policy.setWeights(weights);
    const adam = json.adam as { step: number; learningRate: number };
    this.optimizer.setState({ ...adam, m: arrays["adam/m"], v: arrays["adam/v"] } as AdamState);
    this.rng = Rng.fromState(json.rng as RngState);
    (json.envs as EnvState[]).forEach((s, i) => restoreEnvState(this.vec.envs[i], s));
    this.vec.markReset();
    this.collector.currentObs = arrays["collector/obs"] ?? null;
    this.iterationsDone = json.iteration as number;
    this.policy.syncFastWeights();
  }

  exportPolicy(): { spec: Record<string, unknown>; weights: Record<string, Float32Array> } {
    const norm = findObsNormalizer(this.vec.envs[0]);
    return {
      spec: {
        ...this.policy.spec,
        env: this.config.env,
        obsNorm: norm ? norm.getStatistics() : null,
        clipObs: this.config.normObs ? this.config.clipObs : null,
      },
      weights: this.policy.getWeights(),
    };
  }

  dispose(): void {
    this.vec.close();
    this.policy.dispose();
    this.optimizer.dispose();
  }
}

/** Wraps an ActorCritic as an ActingPolicy (batch of one). */
export function policyActor(policy: ActorCritic, rng: Rng): ActingPolicy {
  const buf = policy.buffers(1);
  return {
    actOne(obs: Float32Array, deterministic: boolean) {
      policy.act(obs, 1, rng, buf, deterministic, false);
      return policy.discrete ? buf.actions[0] : Float32Array.from(buf.actions);
    },
  };
}

/** 1 − Var(R − V) / Var(R): how much of the return variance the critic explains. */
export function explainedVariance(values: Float32Array, returns: Float32Array): number {
  const n = returns.length;
  let mr = 0, md = 0;
  for (let i = 0; i < n; i++) {
    mr += returns[i];
    md += returns[i] - values[i];
  }
  mr /= n;
  md /= n;
  let vr = 0, vd = 0;
  for (let i = 0; i < n; i++) {
    vr += (returns[i] - mr) ** 2;
    const d = returns[i] - values[i] - md;
    vd += d * d;
  }
  return vr === 0 ? NaN : 1 - vd / vr;
}
