/**
 * refinery — reinforcement learning in TypeScript: the isomorphic core (`refinery-rl`).
 *
 * Everything here runs in Node, browsers and workers: it imports no Node built-in (a test
 * bundles it with esbuild for the browser and checks). Run directories, train() with
 * checkpoints, the run store, PNG plots, the dashboard and the CLI are Node-only and live
 * in `refinery-rl/node` (src/node.ts), which re-exports this module too.
 *
 * The environment layer (this entry point's `envs` exports) has no tensor dependency.
 */
export { RefineryError, ConfigError, EnvError } from "./core/errors.js";
export { Rng, validateSeed, type RngState } from "./core/rng.js";
export {
  Box,
  Discrete,
  MultiDiscrete,
  MultiBinary,
  Tuple,
  Dict,
  spaceFromJSON,
  flatSize,
  flatDim,
  flattenInto,
  type Space,
  type SpaceJSON,
  type BoxDtype,
  type BoxValue,
  type AnySpace,
} from "./core/spaces.js";
export {
  BaseEnv,
  Wrapper,
  hasSnapshots,
  type Env,
  type EnvSpec,
  type Info,
  type ResetArgs,
  type StepResult,
  type Snapshotable,
} from "./envs/env.js";
export { make, prepareEnv, register, registry, listEnvs, type EnvRegistration, type MakeOptions } from "./envs/registry.js";
export * from "./envs/wrappers.js";
export * from "./envs/vector.js";
export { ACTION_MASKING_MODES, readActionMask, resolveActionMasking, withActionMask, type ActionMaskingMode } from "./envs/action_mask.js";
export type { EnvRecipe } from "./scale/protocol.js";
export * from "./envs/check.js";
export { CartPoleEnv } from "./envs/classic/cartpole.js";
export { AcrobotEnv } from "./envs/classic/acrobot.js";
export { MountainCarEnv } from "./envs/classic/mountain_car.js";
export { ContinuousMountainCarEnv } from "./envs/classic/continuous_mountain_car.js";
export { PendulumEnv } from "./envs/classic/pendulum.js";
export { LunarLanderEnv, landerShaping, landerThrottles, type LunarLanderOptions } from "./envs/box2d/lunar_lander.js";
export { loadBox2d } from "./envs/box2d/planck.js";
export { loadMujoco, mujocoLoaded, mujocoPackage, MUJOCO_PACKAGES, type MujocoFactory, type MujocoModule, type MujocoPackage } from "./envs/mujoco/loader.js";
export { MujocoEnv } from "./envs/mujoco/base.js";
export { InvertedPendulumEnv, InvertedDoublePendulumEnv } from "./envs/mujoco/pendulums.js";
export { HalfCheetahEnv, HopperEnv, Walker2dEnv, SwimmerEnv, AntEnv } from "./envs/mujoco/locomotion.js";
export { ReacherEnv } from "./envs/mujoco/reacher.js";
export { renderMujocoScene, type SceneCamera, type SceneGeom } from "./envs/render/mujoco.js";
// Grid worlds (MiniGrid / BabyAI): envs, observation wrappers and the pieces to build your own.
export { MiniGridEnv, RejectLayout, type GridObs, type DrawSource, type MiniGridOptions } from "./envs/grid/minigrid_env.js";
export { RoomGridEnv, Room, KeyCorridorEnv, UnlockEnv } from "./envs/grid/roomgrid.js";
export { EmptyEnv, DoorKeyEnv, FourRoomsEnv, LavaGapEnv, GoToDoorEnv, MultiRoomEnv } from "./envs/grid/envs.js";
export { GoToLocalEnv, PickupLocEnv } from "./envs/grid/babyai.js";
export { Grid } from "./envs/grid/grid.js";
export { WorldObj } from "./envs/grid/objects.js";
export { ImgObsWrapper, OneHotPartialObsWrapper, FullyObsWrapper, GRID_OBSERVATIONS, type GridObservation } from "./envs/grid/wrappers.js";
export { MISSION_VOCAB, MISSION_LENGTH, encodeMission, decodeMission } from "./envs/grid/mission.js";
export { OBJECT_TO_IDX, COLOR_TO_IDX, STATE_TO_IDX, COLOR_NAMES, ACTION_NAMES, DIR_TO_VEC } from "./envs/grid/constants.js";
export { RENDER_MODES, pixelAt, type RenderMode, type RgbFrame, type EnvMetadata } from "./envs/render/frame.js";
export { renderCartPole, renderAcrobot, renderMountainCar, renderPendulum } from "./envs/render/classic.js";
export { encodeGif, GifWriter, type GifOptions } from "./envs/render/gif.js";
export { recordEpisodes, type RecordOptions, type RecordResult } from "./train/record.js";

// Training: algorithms, a file-free training loop, saved policies (read from a path in Node or a URL anywhere).
export { initBackend, backendName, type BackendName, type InitBackendOptions } from "./core/backend.js";
export { AGENT_ALGORITHMS } from "./algos/agent.js";
export { ALGORITHMS, getAlgorithm, resolveConfig, type AlgorithmEntry, type ResolveOptions } from "./algos/index.js";
export { PPO } from "./algos/ppo.js";
export { ppoConfigSchema, PPO_DEFAULTS, PPO_PRESETS, type PPOConfig } from "./algos/ppo_config.js";
export type { Algorithm, ActingPolicy, IterationMetrics } from "./algos/types.js";
export type { TrainRow, Callbacks, StartInfo } from "./train/trainer.js";
export type { LockOwner } from "./train/lock.js";
export type { MetricLogger, LogFormat, CompletionRecord, CompletionTurn } from "./train/logger.js";
export { createAlgorithm, runIterations, yieldToEventLoop, type LoopCallbacks, type RunIterationsOptions, type RunIterationsResult } from "./train/loop.js";
export { evaluatePolicy, type EvalResult } from "./train/evaluate.js";
export { loadPolicy, type LoadedPolicy } from "./train/load_policy.js";
export { loadWeights, type NamedArray, type JsonObject } from "./nn/weights_load.js";
export { actorLayersModel } from "./train/export.js";
export { loadTextPolicy, type LoadTextPolicyOptions } from "./train/text_policy.js";
export { evaluateAgent, transcriptText, type AgentEvalOptions, type AgentEvalResult } from "./train/agent_eval.js";
export { AgentGroupCollector, playEpisodes, type AgentBatch, type AgentStart, type EpisodeTurns } from "./rollout/agent_collector.js";
export { flowGrpoAdvantages, gigpoAdvantages, hgpoAdvantages, turnReturns, type TurnRows, type GigpoOptions, type HgpoOptions } from "./advantage/turn.js";
export { textPolicy, type LoadedTextPolicy, type GenerateOptions, type Generation, type TextPolicyInfo } from "./policies/text_generator.js";
export { TokenPolicy, type TokenPolicySpec, type ModelOptions, type SampleOptions } from "./policies/token_policy.js";
export { TransformerLM, type TransformerConfig, type KvCache } from "./nn/transformer.js";
export { gae, type GaeInput } from "./advantage/gae.js";
export { normalizeAdvantages } from "./advantage/normalize.js";
export { StepCollector, type RolloutBatch } from "./rollout/step_collector.js";
export { ActorCritic, type ActorCriticOptions, type PolicyFeatures } from "./policies/actor_critic.js";
export { GridFeatures, type GridFeaturesOptions, type GridFeaturesSpec } from "./nn/grid_features.js";
export { MLP } from "./nn/mlp.js";
export { Categorical, DiagGaussian, MASKED_LOGIT, maskLogits, maskLogitsInPlace } from "./nn/distributions.js";
export { Adam } from "./nn/optim.js";
export { captureEnvState, restoreEnvState, type EnvState } from "./envs/state.js";

// The critic-free family and its parts (issue 4).
export { GroupPolicyOptimizer } from "./algos/group_engine.js";
export { MDPO } from "./algos/mdpo.js";
export {
  OffPolicyAlgorithm,
  offPolicyShape,
  offPolicySchema,
  linearSchedule,
  type OffPolicyAgent,
  type OffPolicyConfig,
  type OffPolicyContext,
  type AgentSetup,
} from "./algos/off_policy.js";
export { DQNAgent, dqnConfigSchema, DQN_DEFAULTS, DQN_PRESETS, type DQNConfig } from "./algos/dqn.js";
export { ReplayBuffer, type ReplayBatch, type ReplayBufferOptions, type ReplayStep } from "./replay/buffer.js";
export { QNetwork, type QNetworkOptions } from "./policies/q_network.js";
export { updateTarget } from "./nn/target.js";
export { SACAgent, sacConfigSchema, SAC_DEFAULTS, SAC_PRESETS, type SACConfig } from "./algos/sac.js";
export { TD3Agent, td3ConfigSchema, TD3_DEFAULTS, TD3_PRESETS, type TD3Config } from "./algos/td3.js";
export { MdpoOffAgent, mdpoOffConfigSchema, MDPO_OFF_DEFAULTS, MDPO_OFF_PRESETS, type MdpoOffConfig } from "./algos/mdpo_off.js";
export { ContinuousQ, type ContinuousQOptions } from "./policies/continuous_q.js";
export { SquashedGaussianActor, type SquashedGaussianOptions, type LogStdBounds } from "./policies/squashed_gaussian.js";
export { DeterministicActor, type DeterministicActorOptions } from "./policies/deterministic_actor.js";
export {
  bellmanTarget,
  softBootstrap,
  qRegression,
  sacActorLoss,
  alphaLoss,
  smoothTargetActions,
  deterministicActorLoss,
  mdpoOffActorLoss,
  mdpoValueTarget,
  polyakUpdate,
} from "./loss/offpolicy.js";
export { GroupCollector, type GroupBatch } from "./rollout/group_collector.js";
export { discountedReturnsToGo, broadcastEpisodeValue } from "./advantage/returns.js";
export { groupRelativeAdvantage, leaveOneOutAdvantage, zeroVarianceGroupFraction } from "./advantage/group.js";
export { allSubsets, polychromicScore, setAdvantages, type DiversityFn, type TrajectorySummary } from "./advantage/set.js";
export { registerDiversity, getDiversity, listDiversities, finalCellKey, outcomeClassKey } from "./advantage/diversity.js";
export { VineCollector, goalReached, returnAtLeast, type VineBatch, type VineOptions, type VinePolicy, type SuccessPredicate } from "./rollout/vine_collector.js";
export { PolychromicPPO, polychromicAdvantages, polychromicConfigSchema, POLYCHROMIC_DEFAULTS, type PolychromicConfig } from "./algos/polychromic.js";
export { controlPassAtK, type ControlPassAtKOptions, type ControlPassAtKResult, type BatchSampler } from "./train/control_pass_at_k.js";
export { selectMaxVarianceSubset, selectTopTokens, d3sSchedule } from "./select/d3s.js";
export { GSDE } from "./nn/gsde.js";

export * from "./envs/text/index.js";
