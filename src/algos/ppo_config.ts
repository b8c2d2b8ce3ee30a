import { MAX_SEED } from "../core/config.js";
import { z } from "zod";
import { kernelThreadsShape } from "./text_config.js";

/**
 * PPO's options. Defaults are CleanRL's `ppo.py` (discrete actions); the
 * `cleanrl-continuous` preset switches to `ppo_continuous_action.py`'s. Every default is
 * written here once; `refinery list` prints this table.
 */
export const ppoConfigSchema = z
  .object({
    env: z.string().min(1).describe("environment id (refinery list)"),
    seed: z.number().int().min(0).max(MAX_SEED).describe("seed of everything: weights, actions, envs"),
    totalTimesteps: z.number().int().positive().describe("env steps to train for (all envs together)"),
    numEnvs: z.number().int().positive().describe("parallel envs in the vector env"),
    numSteps: z.number().int().positive().describe("steps per env per rollout"),
    vectorEnv: z
      .enum(["sync", "async"])
      .describe("where the training envs run: sync (this thread) or async (worker threads, same results; pays off for slow envs)"),
    workers: z.number().int().positive().describe("with vectorEnv=async: worker threads the envs are split over"),
    learningRate: z.number().positive().describe("Adam learning rate (eps 1e-5)"),
    annealLr: z.boolean().describe("decay the learning rate linearly to 0 over training"),
    gamma: z.number().min(0).max(1).describe("discount factor γ"),
    gaeLambda: z.number().min(0).max(1).describe("GAE λ"),
    numMinibatches: z.number().int().positive().describe("minibatches per epoch"),
    updateEpochs: z.number().int().positive().describe("passes over each rollout"),
    normAdv: z.boolean().describe("normalise advantages per minibatch (unbiased std)"),
    clipCoef: z.number().positive().describe("ratio clip ε (also the value clip range)"),
    annealClip: z.boolean().describe("decay clipCoef linearly to 0 (SB3's lin_X clip schedules)"),
    clipVloss: z.boolean().describe("clip the value loss around the old values"),
    entCoef: z.number().min(0).describe("entropy bonus coefficient"),
    vfCoef: z.number().min(0).describe("value loss coefficient (the value loss is 0.5·mean squared error)"),
    maxGradNorm: z.number().positive().describe("global gradient-norm clip"),
    targetKl: z.number().positive().nullable().describe("stop an update's epochs early when approx-KL exceeds this (null: never)"),
    bootstrapTruncated: z
      .boolean()
      .describe("bootstrap time-limit truncations from V(final obs) (SB3); false treats them as terminal (CleanRL)"),
    hidden: z.array(z.number().int().positive()).min(1).describe("hidden layer widths of actor and critic"),
    activation: z.enum(["tanh", "relu"]).describe("hidden activation"),
    initLogStd: z.number().describe("initial log-std of the Gaussian policy, or of every gSDE log-std entry (Box actions)"),
    useSde: z
      .boolean()
      .describe("explore with generalized state-dependent exploration (gSDE, SB3's use_sde) instead of the state-independent Gaussian; Box actions only"),
    sdeSampleFreq: z
      .union([z.literal(-1), z.number().int().positive()])
      .describe("with useSde: draw new exploration noise every N steps of a rollout (−1: only at the start of each rollout)"),
    orthoInit: z
      .boolean()
      .describe("orthogonal init (√2 hidden, 0.01 policy head, 1 value head, zero biases); false: PyTorch's default nn.Linear init, uniform ±1/√fan_in"),
    features: z
      .enum(["flat", "grid"])
      .describe("what the actor and critic MLPs read: flat (the observation as it is) or grid (grid envs: their Dict observation through cell, mission and direction embeddings, docs/grid-worlds.md)"),
    actionMasking: z
      .enum(["auto", "on", "off"])
      .describe("honour the env's action masks (info.action_mask or an actionMasks() method) in sampling, log-probs, entropy and the loss: auto = when the env provides them"),
    normObs: z.boolean().describe("normalise observations with running statistics (NormalizeObservation)"),
    normReward: z.boolean().describe("scale rewards by the running std of the discounted return (NormalizeReward)"),
    clipObs: z.number().positive().nullable().describe("clip normalised observations to ±clipObs (null: no clip)"),
    clipReward: z.number().positive().nullable().describe("clip normalised rewards to ±clipReward (null: no clip)"),
    backend: z
      .enum(["auto", "wasm", "cpu", "kernels"])
      .describe("what computes the updates: tfjs's wasm or cpu backend, or kernels (refinery's WebAssembly SIMD kernels; tfjs cpu only holds the weights); auto: kernels where WebAssembly SIMD runs and the policy has kernel gradients (not features grid), else wasm, resolved when the run is created and recorded in its config.json"),
    kernelThreads: kernelThreadsShape(),
    evalEvery: z.number().int().min(0).describe("evaluate every N updates (0: only at the end)"),
    evalEpisodes: z.number().int().positive().describe("episodes per evaluation"),
    evalDeterministic: z.boolean().describe("evaluate with the mode of the policy instead of sampling"),
    checkpointEvery: z.number().int().min(0).describe("write a checkpoint every N updates (0: only at the end)"),
    checkpointSeconds: z.number().min(0).describe("write a checkpoint every N seconds of wall time as well (0: off)"),
  })
  .strict();

export type PPOConfig = z.infer<typeof ppoConfigSchema>;

/** CleanRL `ppo.py` defaults (discrete control). */
export const PPO_DEFAULTS: PPOConfig = {
  env: "CartPole-v1",
  seed: 1,
  totalTimesteps: 500_000,
  numEnvs: 4,
  vectorEnv: "sync",
  workers: 2,
  numSteps: 128,
  learningRate: 2.5e-4,
  annealLr: true,
  gamma: 0.99,
  gaeLambda: 0.95,
  numMinibatches: 4,
  updateEpochs: 4,
  normAdv: true,
  clipCoef: 0.2,
  annealClip: false,
  clipVloss: true,
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  targetKl: null,
  bootstrapTruncated: true,
  hidden: [64, 64],
  activation: "tanh",
  initLogStd: 0,
  useSde: false,
  sdeSampleFreq: -1,
  orthoInit: true,
  features: "flat",
  actionMasking: "auto",
  normObs: false,
  normReward: false,
  clipObs: null,
  clipReward: null,
  backend: "auto",
  kernelThreads: "auto",
  evalEvery: 0,
  evalEpisodes: 10,
  evalDeterministic: true,
  checkpointEvery: 0,
  checkpointSeconds: 60,
};

/** CleanRL `ppo_continuous_action.py` defaults (continuous control). */
const CLEANRL_CONTINUOUS: Partial<PPOConfig> = {
  totalTimesteps: 1_000_000,
  numEnvs: 1,
  numSteps: 2048,
  learningRate: 3e-4,
  numMinibatches: 32,
  updateEpochs: 10,
  entCoef: 0,
  normObs: true,
  normReward: true,
  clipObs: 10,
  clipReward: 10,
};

/**
 * RL Baselines3 Zoo's tuned PPO hyperparameters (`hyperparams/ppo.yml`), translated:
 * Zoo's `batch_size` becomes numMinibatches = n_envs·n_steps / batch_size; `lin_X`
 * schedules become annealLr / annealClip; `normalize: true` turns on observation and
 * reward normalisation. SB3's value loss is the plain mean squared error (no ½) and does
 * not clip values, so vfCoef is doubled and clipVloss is off to give the same update.
 * `use_sde`, `sde_sample_freq` and `ortho_init` map to useSde, sdeSampleFreq, orthoInit.
 */
const ZOO: Record<string, Partial<PPOConfig>> = {
  "CartPole-v1": {
    totalTimesteps: 100_000, numEnvs: 8, numSteps: 32, numMinibatches: 1, updateEpochs: 20,
    gaeLambda: 0.8, gamma: 0.98, learningRate: 1e-3, annealLr: true, clipCoef: 0.2, annealClip: true,
    entCoef: 0, vfCoef: 1.0, clipVloss: false,
  },
  "Acrobot-v1": {
    totalTimesteps: 1_000_000, numEnvs: 16, numSteps: 256, numMinibatches: 64, updateEpochs: 4,
    gaeLambda: 0.94, gamma: 0.99, learningRate: 3e-4, annealLr: false, entCoef: 0, vfCoef: 1.0, clipVloss: false,
    normObs: true, normReward: true, clipObs: 10, clipReward: 10,
  },
  "MountainCar-v0": {
    totalTimesteps: 1_000_000, numEnvs: 16, numSteps: 16, numMinibatches: 4, updateEpochs: 4,
    gaeLambda: 0.98, gamma: 0.99, learningRate: 3e-4, annealLr: false, entCoef: 0, vfCoef: 1.0, clipVloss: false,
    normObs: true, normReward: true, clipObs: 10, clipReward: 10,
  },
  "MountainCarContinuous-v0": {
    totalTimesteps: 20_000, numEnvs: 1, numSteps: 8, numMinibatches: 1, updateEpochs: 10,
    gaeLambda: 0.9, gamma: 0.9999, learningRate: 7.77e-5, annealLr: false, clipCoef: 0.1, entCoef: 0.00429,
    vfCoef: 0.38, maxGradNorm: 5, clipVloss: false, initLogStd: -3.29,
    useSde: true, sdeSampleFreq: -1, orthoInit: false,
    normObs: true, normReward: true, clipObs: 10, clipReward: 10,
  },
  "Pendulum-v1": {
    totalTimesteps: 100_000, numEnvs: 4, numSteps: 1024, numMinibatches: 64, updateEpochs: 10,
    gaeLambda: 0.95, gamma: 0.9, learningRate: 1e-3, annealLr: false, entCoef: 0, vfCoef: 1.0, clipVloss: false,
    useSde: true, sdeSampleFreq: 4, initLogStd: 0, orthoInit: true,
  },
  // Zoo tuned these for LunarLander-v2, whose dynamics and rewards v3 keeps.
  "LunarLander-v3": {
    totalTimesteps: 1_000_000, numEnvs: 16, numSteps: 1024, numMinibatches: 256, updateEpochs: 4,
    gaeLambda: 0.98, gamma: 0.999, learningRate: 3e-4, annealLr: false, entCoef: 0.01, vfCoef: 1.0, clipVloss: false,
  },
};

export interface Preset {
  name: string;
  description: string;
  /** Overrides for an env id; undefined when the preset has nothing for that env. */
  forEnv(env: string): Partial<PPOConfig> | undefined;
}

export const PPO_PRESETS: Preset[] = [
  { name: "cleanrl", description: "CleanRL ppo.py defaults (the default)", forEnv: () => ({}) },
  { name: "cleanrl-continuous", description: "CleanRL ppo_continuous_action.py defaults", forEnv: () => CLEANRL_CONTINUOUS },
  {
    name: "zoo",
    description: `RL Baselines3 Zoo's tuned hyperparameters for ${Object.keys(ZOO).join(", ")}`,
    forEnv: (env) => ZOO[env],
  },
];
