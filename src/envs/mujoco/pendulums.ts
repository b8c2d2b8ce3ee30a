import type { Box } from "../../core/spaces.js";
import type { StepResult } from "../env.js";
import { sideCamera, type SceneCamera } from "../render/mujoco.js";
import { clip, COMMON_OPTIONS, EnvOptions, MujocoEnv, unboundedObs } from "./base.js";
import { INVERTED_DOUBLE_PENDULUM_XML, INVERTED_PENDULUM_XML } from "./models.js";

const IP = "InvertedPendulum-v5";

/**
 * Gymnasium's InvertedPendulum-v5: keep a pole upright on a cart.
 *
 * - Observation (4, float64): qpos (cart x, pole angle), qvel.
 * - Action: Box(-3, 3, (1,), float32), the cart force (gear 100).
 * - Reward: 1 per step while the pole is up (`info.reward_survive`), 0 on the step it falls.
 * - Terminates when |angle| > 0.2 or the observation is not finite; frame skip 2 (dt 0.04).
 * - Reset: qpos and qvel + U(−0.01, 0.01). Options: `resetNoiseScale`, `frameSkip`, `xml`.
 */
export class InvertedPendulumEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array>;
  readonly resetNoiseScale: number;

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(kwargs, [...COMMON_OPTIONS, "resetNoiseScale"], IP);
    super(IP, INVERTED_PENDULUM_XML, 2, options, kwargs);
    this.resetNoiseScale = options.number("resetNoiseScale", 0.01);
    this.observationSpace = unboundedObs(this.model.nq + this.model.nv);
  }

  protected resetModel(): void {
    const qpos = this.uniformNoise(this.initQpos, this.resetNoiseScale);
    const qvel = this.uniformNoise(this.initQvel, this.resetNoiseScale);
    this.setQposQvel(qpos, qvel);
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    this.doSimulation(a);
    const obs = this.observation();
    const terminated = !obs.every(Number.isFinite) || Math.abs(obs[1]) > 0.2;
    const reward = terminated ? 0 : 1;
    return [obs, reward, terminated, false, { reward_survive: reward }];
  }

  protected observation(): Float64Array {
    const d = this.data;
    const out = new Float64Array(this.model.nq + this.model.nv);
    out.set(d.qpos, 0);
    out.set(d.qvel, this.model.nq);
    return out;
  }

  protected camera(): SceneCamera {
    return sideCamera([0, 0, 0.2], 2.6);
  }
}

const IDP = "InvertedDoublePendulum-v5";

/**
 * Gymnasium's InvertedDoublePendulum-v5: balance two stacked poles on a cart.
 *
 * - Observation (9, float64): cart x, sin and cos of the two hinge angles, qvel clipped to
 *   ±10 (3), the cart's constraint force clipped to ±10 (1).
 * - Action: Box(-1, 1, (1,), float32) (gear 500).
 * - Reward: `reward_survive` (healthyReward 10 while the tip is above y = 1) +
 *   `distance_penalty` −(0.01·x² + (y − 2)²) of the tip site + `velocity_penalty`
 *   −(1e-3·v₁² + 5e-3·v₂²) of the hinge velocities.
 * - Terminates when the tip's height y ≤ 1; frame skip 5 (dt 0.05).
 * - Reset: qpos + U(−0.1, 0.1), qvel + 0.1·N(0, 1). Options: `healthyReward`, `resetNoiseScale`, `frameSkip`, `xml`.
 */
export class InvertedDoublePendulumEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array> = unboundedObs(9);
  readonly healthyReward: number;
  readonly resetNoiseScale: number;

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(kwargs, [...COMMON_OPTIONS, "healthyReward", "resetNoiseScale"], IDP);
    super(IDP, INVERTED_DOUBLE_PENDULUM_XML, 5, options, kwargs);
    this.healthyReward = options.number("healthyReward", 10.0);
    this.resetNoiseScale = options.number("resetNoiseScale", 0.1);
  }

  protected resetModel(): void {
    const qpos = this.uniformNoise(this.initQpos, this.resetNoiseScale);
    const qvel = this.normalNoise(this.initQvel, this.resetNoiseScale);
    this.setQposQvel(qpos, qvel);
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    this.doSimulation(a);
    const d = this.data;
    const x = d.site_xpos[0], y = d.site_xpos[2];
    const obs = this.observation();
    const terminated = y <= 1;
    const v1 = d.qvel[1], v2 = d.qvel[2];
    const distPenalty = 0.01 * x ** 2 + (y - 2) ** 2;
    const velPenalty = 1e-3 * v1 ** 2 + 5e-3 * v2 ** 2;
    const aliveBonus = this.healthyReward * (terminated ? 0 : 1);
    const reward = aliveBonus - distPenalty - velPenalty;
    return [obs, reward, terminated, false, { reward_survive: aliveBonus, distance_penalty: -distPenalty, velocity_penalty: -velPenalty }];
  }

  protected observation(): Float64Array {
    const d = this.data;
    const q = d.qpos, v = d.qvel;
    return Float64Array.of(
      q[0],
      Math.sin(q[1]),
      Math.sin(q[2]),
      Math.cos(q[1]),
      Math.cos(q[2]),
      clip(v[0], -10, 10),
      clip(v[1], -10, 10),
      clip(v[2], -10, 10),
      clip(d.qfrc_constraint[0], -10, 10),
    );
  }

  protected camera(): SceneCamera {
    return sideCamera([0, 0, 0.5], 3);
  }
}
