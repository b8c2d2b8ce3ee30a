import { EnvError } from "../../core/errors.js";
import { Box } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderPendulum } from "../render/classic.js";
import { finiteState, numberOptions, requireReset, scalarBoxAction, toFloat } from "../validate.js";

const NAME = "Pendulum-v1";
const OPTION_KEYS = ["g"] as const;
const STATE_NAMES = ["theta", "thetaDot"] as const;
const f32 = Math.fround;

/** Gymnasium's default reset bounds: θ uniform in [−π, π], θ̇ uniform in [−1, 1]. */
const DEFAULT_X = Math.PI;
const DEFAULT_Y = 1.0;

/**
 * Gymnasium's Pendulum-v1: swing a pendulum up and keep it upright with a limited torque.
 *
 * - Observation: `Box([-1, -1, -8], [1, 1, 8], (3,), float32)` — cos θ, sin θ, θ̇.
 * - Action: `Box(-2, 2, (1,), float32)`; actions are converted to float32 and the torque
 *   is the action clipped to [−2, 2].
 * - Dynamics (semi-implicit Euler, dt = 0.05): `θ̇ += (3g/(2l)·sin θ + 3/(m·l²)·u)·dt`,
 *   clipped to ±8; `θ += θ̇·dt`.
 * - Reward: `−(normalize(θ)² + 0.1·θ̇² + 0.001·u²)` of the state before the step, with θ
 *   normalized to [−π, π). Never terminates (the TimeLimit of `make` truncates at 200).
 * - Reset: θ uniform in [−x_init, x_init] (default π), θ̇ in [−y_init, y_init] (default 1).
 *
 * The state is float64 and the torque float32, as in Gymnasium; under numpy 2's promotion
 * rules the torque terms (`u²`, `0.001·u²`, `3/(m·l²)·u`) are float32 operations, which
 * `step` reproduces with Math.fround. Options: `g` (default 10.0).
 */
export class PendulumEnv extends BaseEnv<Float32Array, Float32Array> implements Snapshotable {
  readonly maxSpeed = 8;
  readonly maxTorque = 2.0;
  readonly dt = 0.05;
  readonly g: number;
  readonly m = 1.0;
  readonly l = 1.0;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 30 };
  /** The clipped torque of the last step (Gymnasium's `last_u`, shown by render); null after reset. */
  lastU: number | null = null;

  readonly observationSpace = new Box([-1.0, -1.0, -this.maxSpeed], [1.0, 1.0, this.maxSpeed], [3], "float32");
  /** Actions are float32, the dtype of this space: any action is converted to float32 first. */
  readonly actionSpace = new Box(-this.maxTorque, this.maxTorque, [1], "float32");

  private theta = 0;
  private thetaDot = 0;
  private hasState = false;

  // Products of Python floats, evaluated once in Gymnasium's order.
  private readonly gravityTerm: number;
  /** `3.0 / (m * l**2)`, a Python float rounded to float32 where it meets the float32 torque. */
  private readonly torqueTerm32: number;
  private readonly torqueCost32 = f32(0.001);

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const options = numberOptions(this.initRenderMode(kwargs, NAME), OPTION_KEYS, NAME);
    this.g = options.g ?? 10.0;
    this.gravityTerm = (3 * this.g) / (2 * this.l);
    this.torqueTerm32 = f32(3.0 / (this.m * this.l ** 2));
  }

  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    const options = args?.options;
    const x = options && "x_init" in options ? finiteOption(options.x_init, "x_init") : DEFAULT_X;
    const y = options && "y_init" in options ? finiteOption(options.y_init, "y_init") : DEFAULT_Y;
    // np_random.uniform(low=-high, high=high) draws θ then θ̇.
    this.theta = this.npRandom.uniform(-x, x);
    this.thetaDot = this.npRandom.uniform(-y, y);
    this.lastU = null;
    this.hasState = true;
    return [this.observation(), {}];
  }

  step(action: Float32Array): StepResult<Float32Array> {
    requireReset(this.hasState, NAME);
    const th = this.theta;
    const thdot = this.thetaDot;
    const u = Math.min(Math.max(scalarBoxAction(action, this.actionSpace, NAME), -this.maxTorque), this.maxTorque);

    this.lastU = u;
    const normalized = angleNormalize(th);
    // float64 + float64 + float32: only `0.001 * u**2` is float32 (twice rounded).
    const costs = normalized * normalized + 0.1 * (thdot * thdot) + f32(this.torqueCost32 * f32(u * u));

    let newThetaDot = thdot + (this.gravityTerm * Math.sin(th) + f32(this.torqueTerm32 * u)) * this.dt;
    newThetaDot = Math.min(Math.max(newThetaDot, -this.maxSpeed), this.maxSpeed);
    this.theta = th + newThetaDot * this.dt;
    this.thetaDot = newThetaDot;
    return [this.observation(), -costs, false, false, {}];
  }

  /** `[theta, thetaDot]`, Gymnasium's `env.unwrapped.state`. */
  getState(): number[] {
    requireReset(this.hasState, NAME, "getState");
    return [this.theta, this.thetaDot];
  }

  setState(state: number[]): void {
    [this.theta, this.thetaDot] = finiteState(state, STATE_NAMES, NAME);
    this.hasState = true;
  }

  /** Gymnasium's 500×500 picture of the rod and the torque arrow (see render/classic.ts). */
  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, NAME, "render");
    return renderPendulum(this.theta, this.lastU);
  }

  private observation(): Float32Array {
    const obs = new Float32Array(3);
    obs[0] = Math.cos(this.theta);
    obs[1] = Math.sin(this.theta);
    obs[2] = this.thetaDot;
    return obs;
  }
}

/**
 * `((x + π) mod 2π) − π` with numpy's floor-mod (the result takes the divisor's sign):
 * fmod (JS `%`, exact) then shifted by one period when negative, as numpy's divmod does.
 */
export function angleNormalize(x: number): number {
  const period = 2 * Math.PI;
  let r = (x + Math.PI) % period;
  if (r < 0) r += period;
  return r - Math.PI;
}

function finiteOption(v: unknown, name: string): number {
  const x = toFloat(v, name, NAME);
  if (!Number.isFinite(x)) {
    throw new EnvError("invalid_option", `${NAME}: reset option ${name}=${x} is not finite`, `pass a finite number for ${name}`);
  }
  return x;
}
