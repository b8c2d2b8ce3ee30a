/**
 * refinery — reinforcement learning in TypeScript.
 *
 * The environment layer (this entry point's `envs` exports) has no tensor dependency.
 */
export { RefineryError, ConfigError, EnvError } from "./core/errors.js";
export { Rng, validateSeed, type RngState } from "./core/rng.js";
export {
  Box,
  Discrete,
  MultiDiscrete,
  spaceFromJSON,
  flatSize,
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
export { make, register, registry, listEnvs, type EnvRegistration, type MakeOptions } from "./envs/registry.js";
export * from "./envs/wrappers.js";
export * from "./envs/vector.js";
export * from "./envs/check.js";
export { CartPoleEnv } from "./envs/classic/cartpole.js";
export { AcrobotEnv } from "./envs/classic/acrobot.js";
export { MountainCarEnv } from "./envs/classic/mountain_car.js";
export { ContinuousMountainCarEnv } from "./envs/classic/continuous_mountain_car.js";
export { PendulumEnv } from "./envs/classic/pendulum.js";
