import { ConfigError, describeValue } from "../../core/errors.js";
import { Box, Discrete, type Space } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderCartPole } from "../render/classic.js";
import { checkOptionKeys, discreteAction, finiteState, requireReset, resetBounds } from "../validate.js";

const ENV_NAME = "CartPole-v1";
const OPTION_KEYS = ["suttonBartoReward"] as const;
const STATE_NAMES = ["x", "x_dot", "theta", "theta_dot"] as const;

export interface CartPoleOptions {
  /** Gymnasium's `sutton_barto_reward`: 0 per surviving step and -1 on (and after) the terminal step. */
  suttonBartoReward?: boolean;
}

/**
 * The cart-pole balancing task of Barto, Sutton & Anderson (1983), as Gymnasium 1.3.0's
 * `CartPole-v1`: same constants, the same Euler update in the same order, the same
 * termination test and rewards, so a trajectory matches Gymnasium's to float64 round-off
 * (`Math.cos`/`Math.sin` may differ from numpy's in the last bit).
 *
 * Observation: `[x, x_dot, theta, theta_dot]` as float32. Actions: 0 pushes the cart left,
 * 1 pushes it right, with a force of 10 N. Reward +1 per step including the terminal one.
 * The episode terminates when |theta| > 12° or |x| > 2.4; truncation at 500 steps is the
 * TimeLimit wrapper's job (`make("CartPole-v1")`), never this class's.
 */
export class CartPoleEnv extends BaseEnv<Float32Array, number> implements Snapshotable {
  readonly gravity = 9.8;
  readonly masscart = 1.0;
  readonly masspole = 0.1;
  readonly totalMass = this.masspole + this.masscart;
  /** Half the pole's length, as in Gymnasium. */
  readonly length = 0.5;
  readonly polemassLength = this.masspole * this.length;
  readonly forceMag = 10.0;
  /** Seconds between state updates. */
  readonly tau = 0.02;
  /** Gymnasium's `kinematics_integrator` attribute; "euler" is what CartPole-v1 uses. */
  kinematicsIntegrator: "euler" | "semi-implicit euler" = "euler";
  readonly thetaThresholdRadians = (12 * 2 * Math.PI) / 360;
  readonly xThreshold = 2.4;
  readonly suttonBartoReward: boolean;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 50 };

  // Bounds are twice the termination thresholds so that a failing observation still lies inside.
  override readonly observationSpace = new Box(
    [-this.xThreshold * 2, -Infinity, -this.thetaThresholdRadians * 2, -Infinity],
    [this.xThreshold * 2, Infinity, this.thetaThresholdRadians * 2, Infinity],
    [4],
    "float32",
  ) as Box & Space<Float32Array>;
  override readonly actionSpace = new Discrete(2);

  /** Physics state [x, x_dot, theta, theta_dot] in float64. */
  private readonly state = new Float64Array(4);
  private hasState = false;
  /** Gymnasium's `steps_beyond_terminated`: null until the first terminal step. */
  private stepsBeyondTerminated: number | null = null;

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const options = this.initRenderMode(kwargs, ENV_NAME);
    checkOptionKeys(options, OPTION_KEYS, ENV_NAME);
    const flag = options.suttonBartoReward ?? false;
    if (typeof flag !== "boolean") {
      throw new ConfigError(
        `${ENV_NAME}: option suttonBartoReward=${describeValue(flag)} is not a boolean`,
        "pass true or false (default false)",
      );
    }
    this.suttonBartoReward = flag;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    const [low, high] = resetBounds(args?.options, -0.05, 0.05, ENV_NAME);
    const rng = this.npRandom;
    for (let i = 0; i < 4; i++) this.state[i] = rng.uniform(low, high);
    this.hasState = true;
    this.stepsBeyondTerminated = null;
    return [this.observation(), {}];
  }

  override step(action: number): StepResult<Float32Array> {
    const a = discreteAction(action, this.actionSpace, ENV_NAME);
    requireReset(this.hasState, ENV_NAME);
    const s = this.state;
    let x = s[0], xDot = s[1], theta = s[2], thetaDot = s[3];

    const force = a === 1 ? this.forceMag : -this.forceMag;
    const costheta = Math.cos(theta);
    const sintheta = Math.sin(theta);
    // Florian (2007), "Correct equations for the dynamics of the cart-pole system";
    // grouped exactly as Gymnasium groups them so the float64 results agree.
    const temp = (force + this.polemassLength * (thetaDot * thetaDot) * sintheta) / this.totalMass;
    const thetaacc =
      (this.gravity * sintheta - costheta * temp) /
      (this.length * (4.0 / 3.0 - (this.masspole * (costheta * costheta)) / this.totalMass));
    const xacc = temp - (this.polemassLength * thetaacc * costheta) / this.totalMass;

    if (this.kinematicsIntegrator === "euler") {
      x = x + this.tau * xDot;
      xDot = xDot + this.tau * xacc;
      theta = theta + this.tau * thetaDot;
      thetaDot = thetaDot + this.tau * thetaacc;
    } else {
      xDot = xDot + this.tau * xacc;
      x = x + this.tau * xDot;
      thetaDot = thetaDot + this.tau * thetaacc;
      theta = theta + this.tau * thetaDot;
    }
    s[0] = x;
    s[1] = xDot;
    s[2] = theta;
    s[3] = thetaDot;

    const terminated =
      x < -this.xThreshold ||
      x > this.xThreshold ||
      theta < -this.thetaThresholdRadians ||
      theta > this.thetaThresholdRadians;

    let reward: number;
    if (!terminated) {
      reward = this.suttonBartoReward ? 0.0 : 1.0;
    } else if (this.stepsBeyondTerminated === null) {
      // The pole just fell: the terminal step still earns the step reward.
      this.stepsBeyondTerminated = 0;
      reward = this.suttonBartoReward ? -1.0 : 1.0;
    } else {
      // Stepping past termination is undefined behaviour in Gymnasium; it pays 0 (or -1).
      this.stepsBeyondTerminated += 1;
      reward = this.suttonBartoReward ? -1.0 : 0.0;
    }
    return [this.observation(), reward, terminated, false, {}];
  }

  /** `[x, x_dot, theta, theta_dot]` (Gymnasium's `env.unwrapped.state`), a copy. */
  getState(): number[] {
    requireReset(this.hasState, ENV_NAME, "getState");
    return Array.from(this.state);
  }

  /**
   * Continue from `state` = `[x, x_dot, theta, theta_dot]`, as a fresh state: the
   * after-termination bookkeeping is cleared, so a terminal next step pays the normal
   * terminal reward. Works without a prior reset.
   */
  setState(state: number[]): void {
    this.state.set(finiteState(state, STATE_NAMES, ENV_NAME));
    this.hasState = true;
    this.stepsBeyondTerminated = null;
  }

  /** Gymnasium's 600×400 picture of the cart and pole (see render/classic.ts). */
  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, ENV_NAME, "render");
    return renderCartPole(this.state, { xThreshold: this.xThreshold, length: this.length });
  }

  private observation(): Float32Array {
    const obs = new Float32Array(4);
    obs[0] = this.state[0];
    obs[1] = this.state[1];
    obs[2] = this.state[2];
    obs[3] = this.state[3];
    return obs;
  }
}
