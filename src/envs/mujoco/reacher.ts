import type { Box } from "../../core/spaces.js";
import type { StepResult } from "../env.js";
import { topCamera, type SceneCamera } from "../render/mujoco.js";
import { COMMON_OPTIONS, EnvOptions, MujocoEnv, OBJ_BODY, sumOfSquares, unboundedObs } from "./base.js";
import { REACHER_XML } from "./models.js";

const NAME = "Reacher-v5";

/**
 * Gymnasium's Reacher-v5: move the tip of a two-link arm to a random target.
 *
 * - Observation (10, float64): cos and sin of the two arm angles, the target's x, y,
 *   the arm's two joint velocities, fingertip − target (x, y).
 * - Action: Box(-1, 1, (2,), float32).
 * - Reward: `reward_dist` = −‖fingertip − target‖ × rewardDistWeight (1) after the step
 *   + `reward_ctrl` = −Σa² × rewardControlWeight (1). Never terminates; 50-step limit.
 * - Reset: qpos + U(−0.1, 0.1); the target is drawn from U(−0.2, 0.2)² until its norm is
 *   below 0.2; arm qvel + U(−0.005, 0.005), target velocity 0. Frame skip 2 (dt 0.02).
 */
export class ReacherEnv extends MujocoEnv {
  readonly observationSpace: Box<Float64Array> = unboundedObs(10);
  readonly rewardDistWeight: number;
  readonly rewardControlWeight: number;
  /** The target position of the episode (Gymnasium's `goal`). */
  goal: [number, number] = [0, 0];
  private readonly fingertip: number;
  private readonly target: number;

  constructor(kwargs: Record<string, unknown> = {}) {
    const options = new EnvOptions(kwargs, [...COMMON_OPTIONS, "rewardDistWeight", "rewardControlWeight"], NAME);
    super(NAME, REACHER_XML, 2, options, kwargs);
    this.rewardDistWeight = options.number("rewardDistWeight", 1);
    this.rewardControlWeight = options.number("rewardControlWeight", 1);
    this.fingertip = this.mj.mj_name2id(this.model, OBJ_BODY, "fingertip");
    this.target = this.mj.mj_name2id(this.model, OBJ_BODY, "target");
  }

  protected resetModel(): void {
    const qpos = this.uniformNoise(this.initQpos, 0.1);
    for (;;) {
      this.goal = [this.npRandom.uniform(-0.2, 0.2), this.npRandom.uniform(-0.2, 0.2)];
      if (Math.hypot(this.goal[0], this.goal[1]) < 0.2) break;
    }
    qpos[qpos.length - 2] = this.goal[0];
    qpos[qpos.length - 1] = this.goal[1];
    const qvel = this.uniformNoise(this.initQvel, 0.005);
    qvel[qvel.length - 2] = 0;
    qvel[qvel.length - 1] = 0;
    this.setQposQvel(qpos, qvel);
  }

  /** fingertip − target, from the bodies' frame positions (Gymnasium's `get_body_com`). */
  private tipToTarget(): [number, number, number] {
    const x = this.data.xpos, f = 3 * this.fingertip, t = 3 * this.target;
    return [x[f] - x[t], x[f + 1] - x[t + 1], x[f + 2] - x[t + 2]];
  }

  step(action: Float32Array): StepResult<Float64Array> {
    const a = this.action(action);
    this.doSimulation(a);
    const obs = this.observation();
    const v = this.tipToTarget();
    const rewardDist = -Math.hypot(v[0], v[1], v[2]) * this.rewardDistWeight;
    const rewardCtrl = -sumOfSquares(a) * this.rewardControlWeight;
    return [obs, rewardDist + rewardCtrl, false, false, { reward_dist: rewardDist, reward_ctrl: rewardCtrl }];
  }

  protected observation(): Float64Array {
    const q = this.data.qpos, v = this.data.qvel;
    const d = this.tipToTarget();
    return Float64Array.of(Math.cos(q[0]), Math.cos(q[1]), Math.sin(q[0]), Math.sin(q[1]), q[2], q[3], v[0], v[1], d[0], d[1]);
  }

  protected camera(): SceneCamera {
    return topCamera([0, 0, 0], 0.8);
  }
}
