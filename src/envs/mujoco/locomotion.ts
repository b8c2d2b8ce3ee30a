import type { Box } from "../../core/spaces.js";
import type { Info, StepResult } from "../env.js";
import { obliqueCamera, sideCamera, topCamera, type SceneCamera } from "../render/mujoco.js";
import { clip, COMMON_OPTIONS, EnvOptions, MujocoEnv, sumOfSquares, unboundedObs } from "./base.js";
import { ANT_XML, HALF_CHEETAH_XML, HOPPER_XML, SWIMMER_XML, WALKER2D_XML } from "./models.js";

/** qpos without its first `skip` entries, then qvel (optionally clipped to ±clipVel). */
function positionsAndVelocities(env: MujocoEnv, skip: number, clipVel = Infinity): Float64Array {
  const q = env.data.qpos, v = env.data.qvel;
  const out = new Float64Array(q.length - skip + v.length);
  for (let i = skip; i < q.length; i++) out[i - skip] = q[i];
  for (let i = 0; i < v.length; i++) out[q.length - skip + i] = clip(v[i], -clipVel, clipVel);
  return out;
}

/** x, y, z of body `b`'s frame. */
function bodyPos(env: MujocoEnv, b: number): [number, number, number] {
  const x = env.data.xpos;
  return [x[3 * b], x[3 * b + 1], x[3 * b + 2]];
}

const HC = "HalfCheetah-v5";

/**
 * Gymnasium's HalfCheetah-v5: make a planar cheetah run forward.
 *
 * - Observation (17, float64): qpos without the root x (8), qvel (9); 18 with
 *   `excludeCurrentPositionsFromObservation: false`.
 * - Action: Box(-1, 1, (6,), float32) for the thigh, shin and foot joints.
 * - Reward: `reward_forward` = forwardRewardWeight (1) × x velocity of the root over the
 *   step + `reward_ctrl` = −ctrlCostWeight (0.1) × Σa². Never terminates; frame skip 5.
 * - Reset: qpos + U(−0.1, 0.1), qvel + 0.1·N(0, 1).
 */
export class HalfCheetahEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array>;
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly resetNoiseScale: number;
  readonly excludeCurrentPositions: boolean;

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(kwargs, [...COMMON_OPTIONS, "forwardRewardWeight", "ctrlCostWeight", "resetNoiseScale", "excludeCurrentPositionsFromObservation"], HC);
    super(HC, HALF_CHEETAH_XML, 5, options, kwargs);
    this.forwardRewardWeight = options.number("forwardRewardWeight", 1.0);
    this.ctrlCostWeight = options.number("ctrlCostWeight", 0.1);
    this.resetNoiseScale = options.number("resetNoiseScale", 0.1);
    this.excludeCurrentPositions = options.bool("excludeCurrentPositionsFromObservation", true);
    this.observationSpace = unboundedObs(this.model.nq + this.model.nv - (this.excludeCurrentPositions ? 1 : 0));
  }

  protected resetModel(): void {
    this.setQposQvel(this.uniformNoise(this.initQpos, this.resetNoiseScale), this.normalNoise(this.initQvel, this.resetNoiseScale));
  }

  protected override resetInfo(): Info {
    return { x_position: this.data.qpos[0] };
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    const xBefore = this.data.qpos[0];
    this.doSimulation(a);
    const xAfter = this.data.qpos[0];
    const xVelocity = (xAfter - xBefore) / this.dt;
    const forward = this.forwardRewardWeight * xVelocity;
    const ctrlCost = this.ctrlCostWeight * sumOfSquares(a);
    const obs = this.observation();
    return [obs, forward - ctrlCost, false, false, { x_position: xAfter, x_velocity: xVelocity, reward_forward: forward, reward_ctrl: -ctrlCost }];
  }

  protected observation(): Float64Array {
    return positionsAndVelocities(this, this.excludeCurrentPositions ? 1 : 0);
  }

  protected camera(): SceneCamera {
    return sideCamera([bodyPos(this, 1)[0], 0, 0.4], 4);
  }
}

interface PlanarWalkerSpec {
  name: string;
  xml: string;
  healthyZ: readonly [number, number];
  healthyAngle: readonly [number, number];
  /** Hopper also bounds every state value; Walker2d does not. */
  healthyState: readonly [number, number] | null;
}

/**
 * Hopper-v5 and Walker2d-v5: planar walkers with a healthy region. Reward =
 * `reward_forward` (forwardRewardWeight 1 × x velocity) + `reward_survive` (healthyReward 1
 * while healthy) + `reward_ctrl` (−1e-3 × Σa²); terminated when unhealthy (if
 * terminateWhenUnhealthy). Observation: qpos without x, then qvel clipped to ±10.
 * Reset: qpos and qvel + U(−5e-3, 5e-3). Frame skip 4 (dt 0.008).
 */
abstract class PlanarWalkerEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array>;
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly healthyReward: number;
  readonly terminateWhenUnhealthy: boolean;
  readonly healthyZRange: [number, number];
  readonly healthyAngleRange: [number, number];
  readonly healthyStateRange: [number, number] | null;
  readonly resetNoiseScale: number;
  readonly excludeCurrentPositions: boolean;

  protected constructor(spec: PlanarWalkerSpec, kwargs: Record<string, unknown>) {
    const keys: string[] = [...COMMON_OPTIONS, "forwardRewardWeight", "ctrlCostWeight", "healthyReward", "terminateWhenUnhealthy", "healthyZRange", "healthyAngleRange", "resetNoiseScale", "excludeCurrentPositionsFromObservation"];
    if (spec.healthyState) keys.push("healthyStateRange");
    const options = new EnvOptions(kwargs, keys, spec.name);
    super(spec.name, spec.xml, 4, options, kwargs);
    this.forwardRewardWeight = options.number("forwardRewardWeight", 1.0);
    this.ctrlCostWeight = options.number("ctrlCostWeight", 1e-3);
    this.healthyReward = options.number("healthyReward", 1.0);
    this.terminateWhenUnhealthy = options.bool("terminateWhenUnhealthy", true);
    this.healthyZRange = options.range("healthyZRange", spec.healthyZ);
    this.healthyAngleRange = options.range("healthyAngleRange", spec.healthyAngle);
    this.healthyStateRange = spec.healthyState ? options.range("healthyStateRange", spec.healthyState) : null;
    this.resetNoiseScale = options.number("resetNoiseScale", 5e-3);
    this.excludeCurrentPositions = options.bool("excludeCurrentPositionsFromObservation", true);
    this.observationSpace = unboundedObs(this.model.nq + this.model.nv - (this.excludeCurrentPositions ? 1 : 0));
  }

  /** Strictly inside every range (Gymnasium's `min < value < max`). */
  get isHealthy(): boolean {
    const q = this.data.qpos, v = this.data.qvel;
    const z = q[1], angle = q[2];
    const [zLo, zHi] = this.healthyZRange, [aLo, aHi] = this.healthyAngleRange;
    if (!(zLo < z && z < zHi) || !(aLo < angle && angle < aHi)) return false;
    if (this.healthyStateRange) {
      // state_vector()[2:]: qpos from index 2, then every (unclipped) velocity.
      const [lo, hi] = this.healthyStateRange;
      for (let i = 2; i < q.length; i++) if (!(lo < q[i] && q[i] < hi)) return false;
      for (let i = 0; i < v.length; i++) if (!(lo < v[i] && v[i] < hi)) return false;
    }
    return true;
  }

  protected resetModel(): void {
    this.setQposQvel(this.uniformNoise(this.initQpos, this.resetNoiseScale), this.uniformNoise(this.initQvel, this.resetNoiseScale));
  }

  protected override resetInfo(): Info {
    return { x_position: this.data.qpos[0], z_distance_from_origin: this.data.qpos[1] - this.initQpos[1] };
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    const xBefore = this.data.qpos[0];
    this.doSimulation(a);
    const xAfter = this.data.qpos[0];
    const xVelocity = (xAfter - xBefore) / this.dt;
    const healthy = this.isHealthy;
    const forward = this.forwardRewardWeight * xVelocity;
    const survive = healthy ? this.healthyReward : 0;
    const ctrlCost = this.ctrlCostWeight * sumOfSquares(a);
    const obs = this.observation();
    const terminated = !healthy && this.terminateWhenUnhealthy;
    return [
      obs,
      forward + survive - ctrlCost,
      terminated,
      false,
      {
        x_position: xAfter,
        z_distance_from_origin: this.data.qpos[1] - this.initQpos[1],
        x_velocity: xVelocity,
        reward_forward: forward,
        reward_ctrl: -ctrlCost,
        reward_survive: survive,
      },
    ];
  }

  protected observation(): Float64Array {
    return positionsAndVelocities(this, this.excludeCurrentPositions ? 1 : 0, 10);
  }

  protected camera(): SceneCamera {
    return sideCamera([bodyPos(this, 1)[0], 0, 0.9], 4);
  }
}

/**
 * Gymnasium's Hopper-v5: hop forward on one leg. Observation 11 (qpos[1:] 5, qvel 6),
 * action Box(-1, 1, (3,)). Healthy: z = qpos[1] > 0.7, |angle = qpos[2]| < 0.2 and every
 * value of (qpos[2:], qvel) inside (−100, 100).
 */
export class HopperEnv extends PlanarWalkerEnv {
  constructor(kwargs: Record<string, unknown> = {}) {
    super({ name: "Hopper-v5", xml: HOPPER_XML, healthyZ: [0.7, Infinity], healthyAngle: [-0.2, 0.2], healthyState: [-100, 100] }, kwargs);
  }
}

/**
 * Gymnasium's Walker2d-v5: walk forward on two legs (v5 model: both feet friction 1.9).
 * Observation 17 (qpos[1:] 8, qvel 9), action Box(-1, 1, (6,)). Healthy: 0.8 < z < 2 and
 * −1 < angle < 1.
 */
export class Walker2dEnv extends PlanarWalkerEnv {
  constructor(kwargs: Record<string, unknown> = {}) {
    super({ name: "Walker2d-v5", xml: WALKER2D_XML, healthyZ: [0.8, 2.0], healthyAngle: [-1.0, 1.0], healthyState: null }, kwargs);
  }
}

const SW = "Swimmer-v5";

/**
 * Gymnasium's Swimmer-v5: a three-link swimmer in a viscous fluid.
 *
 * - Observation (8, float64): qpos without x, y (3), qvel (5).
 * - Action: Box(-1, 1, (2,), float32).
 * - Reward: `reward_forward` (1 × x velocity of qpos[0]) + `reward_ctrl` (−1e-4 × Σa²).
 *   Never terminates; frame skip 4 (dt 0.04).
 * - Reset: qpos and qvel + U(−0.1, 0.1).
 */
export class SwimmerEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array>;
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly resetNoiseScale: number;
  readonly excludeCurrentPositions: boolean;

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(kwargs, [...COMMON_OPTIONS, "forwardRewardWeight", "ctrlCostWeight", "resetNoiseScale", "excludeCurrentPositionsFromObservation"], SW);
    super(SW, SWIMMER_XML, 4, options, kwargs);
    this.forwardRewardWeight = options.number("forwardRewardWeight", 1.0);
    this.ctrlCostWeight = options.number("ctrlCostWeight", 1e-4);
    this.resetNoiseScale = options.number("resetNoiseScale", 0.1);
    this.excludeCurrentPositions = options.bool("excludeCurrentPositionsFromObservation", true);
    this.observationSpace = unboundedObs(this.model.nq + this.model.nv - (this.excludeCurrentPositions ? 2 : 0));
  }

  protected resetModel(): void {
    this.setQposQvel(this.uniformNoise(this.initQpos, this.resetNoiseScale), this.uniformNoise(this.initQvel, this.resetNoiseScale));
  }

  protected override resetInfo(): Info {
    const q = this.data.qpos;
    return { x_position: q[0], y_position: q[1], distance_from_origin: Math.hypot(q[0], q[1]) };
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    const x0 = this.data.qpos[0], y0 = this.data.qpos[1];
    this.doSimulation(a);
    const x1 = this.data.qpos[0], y1 = this.data.qpos[1];
    const xVelocity = (x1 - x0) / this.dt, yVelocity = (y1 - y0) / this.dt;
    const forward = this.forwardRewardWeight * xVelocity;
    const ctrlCost = this.ctrlCostWeight * sumOfSquares(a);
    const info = {
      x_position: x1,
      y_position: y1,
      distance_from_origin: Math.hypot(x1, y1),
      x_velocity: xVelocity,
      y_velocity: yVelocity,
      reward_forward: forward,
      reward_ctrl: -ctrlCost,
    };
    return [this.observation(), forward - ctrlCost, false, false, info];
  }

  protected observation(): Float64Array {
    return positionsAndVelocities(this, this.excludeCurrentPositions ? 2 : 0);
  }

  protected camera(): SceneCamera {
    const [x, y] = bodyPos(this, 2);
    return topCamera([x, y, 0], 4);
  }
}

const ANT = "Ant-v5";

/**
 * Gymnasium's Ant-v5: a four-legged robot walking forward.
 *
 * - Observation (105, float64): qpos without x, y (13), qvel (14), the external contact
 *   forces `cfrc_ext` of the 13 bodies after the world clipped to [−1, 1] (78). 27 with
 *   `includeCfrcExtInObservation: false`.
 * - Action: Box(-1, 1, (8,), float32).
 * - Reward: `reward_forward` (x velocity of the torso frame) + `reward_survive` (1 while
 *   healthy) + `reward_ctrl` (−0.5 × Σa²) + `reward_contact` (−5e-4 × Σ clipped cfrc_ext²).
 * - Healthy: state finite and 0.2 ≤ z ≤ 1 (inclusive); terminated when not. Frame skip 5.
 * - Reset: qpos + U(−0.1, 0.1), qvel + 0.1·N(0, 1).
 *
 * The torso's x, y before a step come from its frame position after the previous step,
 * which is kept in snapshots (two extra numbers) so a restored env steps identically.
 */
export class AntEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array>;
  readonly forwardRewardWeight: number;
  readonly ctrlCostWeight: number;
  readonly contactCostWeight: number;
  readonly healthyReward: number;
  readonly terminateWhenUnhealthy: boolean;
  readonly healthyZRange: [number, number];
  readonly contactForceRange: [number, number];
  readonly resetNoiseScale: number;
  readonly excludeCurrentPositions: boolean;
  readonly includeCfrcExt: boolean;
  private readonly mainBody = 1;
  private lastXy: [number, number] = [0, 0];

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(
      kwargs,
      [
        ...COMMON_OPTIONS,
        "forwardRewardWeight",
        "ctrlCostWeight",
        "contactCostWeight",
        "healthyReward",
        "terminateWhenUnhealthy",
        "healthyZRange",
        "contactForceRange",
        "resetNoiseScale",
        "excludeCurrentPositionsFromObservation",
        "includeCfrcExtInObservation",
      ],
      ANT,
    );
    super(ANT, ANT_XML, 5, options, kwargs);
    this.forwardRewardWeight = options.number("forwardRewardWeight", 1);
    this.ctrlCostWeight = options.number("ctrlCostWeight", 0.5);
    this.contactCostWeight = options.number("contactCostWeight", 5e-4);
    this.healthyReward = options.number("healthyReward", 1.0);
    this.terminateWhenUnhealthy = options.bool("terminateWhenUnhealthy", true);
    this.healthyZRange = options.range("healthyZRange", [0.2, 1.0]);
    this.contactForceRange = options.range("contactForceRange", [-1.0, 1.0]);
    this.resetNoiseScale = options.number("resetNoiseScale", 0.1);
    this.excludeCurrentPositions = options.bool("excludeCurrentPositionsFromObservation", true);
    this.includeCfrcExt = options.bool("includeCfrcExtInObservation", true);
    const m = this.model;
    this.observationSpace = unboundedObs(m.nq + m.nv - (this.excludeCurrentPositions ? 2 : 0) + (this.includeCfrcExt ? 6 * (m.nbody - 1) : 0));
  }

  get isHealthy(): boolean {
    const q = this.data.qpos, v = this.data.qvel;
    for (let i = 0; i < q.length; i++) if (!Number.isFinite(q[i])) return false;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
    return this.healthyZRange[0] <= q[2] && q[2] <= this.healthyZRange[1];
  }

  /** cfrc_ext of every body (world included) clipped to contactForceRange. */
  contactForces(): Float64Array {
    const [lo, hi] = this.contactForceRange;
    return this.data.cfrc_ext.map((f) => clip(f, lo, hi));
  }

  protected resetModel(): void {
    this.setQposQvel(this.uniformNoise(this.initQpos, this.resetNoiseScale), this.normalNoise(this.initQvel, this.resetNoiseScale));
    const [x, y] = bodyPos(this, this.mainBody);
    this.lastXy = [x, y];
  }

  protected override resetInfo(): Info {
    const q = this.data.qpos;
    return { x_position: q[0], y_position: q[1], distance_from_origin: Math.hypot(q[0], q[1]) };
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    const [x0, y0] = this.lastXy;
    this.doSimulation(a);
    const [x1, y1] = bodyPos(this, this.mainBody);
    this.lastXy = [x1, y1];
    const xVelocity = (x1 - x0) / this.dt, yVelocity = (y1 - y0) / this.dt;
    const healthy = this.isHealthy;
    const forward = xVelocity * this.forwardRewardWeight;
    const survive = healthy ? this.healthyReward : 0;
    const ctrlCost = this.ctrlCostWeight * sumOfSquares(a);
    const contactCost = this.contactCostWeight * sumOfSquares(this.contactForces());
    const terminated = !healthy && this.terminateWhenUnhealthy;
    const q = this.data.qpos;
    const info = {
      reward_forward: forward,
      reward_ctrl: -ctrlCost,
      reward_contact: -contactCost,
      reward_survive: survive,
      x_position: q[0],
      y_position: q[1],
      distance_from_origin: Math.hypot(q[0], q[1]),
      x_velocity: xVelocity,
      y_velocity: yVelocity,
    };
    return [this.observation(), forward + survive - ctrlCost - contactCost, terminated, false, info];
  }

  protected observation(): Float64Array {
    const base = positionsAndVelocities(this, this.excludeCurrentPositions ? 2 : 0);
    if (!this.includeCfrcExt) return base;
    const forces = this.contactForces().subarray(6); // without the world body
    const out = new Float64Array(base.length + forces.length);
    out.set(base, 0);
    out.set(forces, base.length);
    return out;
  }

  protected override extraState(): number[] {
    return [...this.lastXy];
  }

  protected override setExtraState(values: number[]): void {
    this.lastXy = [values[0], values[1]];
  }

  protected camera(): SceneCamera {
    const [x, y] = bodyPos(this, this.mainBody);
    return obliqueCamera([x, y, 0.4], 5, Math.PI / 4);
  }
}
