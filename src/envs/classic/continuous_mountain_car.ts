import { Box } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderMountainCar } from "../render/classic.js";
import { finiteState, numberOptions, requireReset, resetBounds, scalarBoxAction } from "../validate.js";

const NAME = "MountainCarContinuous-v0";
const OPTION_KEYS = ["goalVelocity"] as const;
const STATE_NAMES = ["position", "velocity"] as const;
const f32 = Math.fround;

/**
 * Gymnasium's MountainCarContinuous-v0: the mountain car with a continuous force.
 *
 * - Observation: `Box([-1.2, -0.07], [0.6, 0.07], (2,), float32)` — position, velocity.
 * - Action: `Box(-1, 1, (1,), float32)`; actions are converted to float32. The force is
 *   the action clipped to [−1, 1].
 * - Dynamics: `velocity += force·0.0015 − 0.0025·cos(3·position)`, clipped to ±0.07;
 *   `position += velocity`, clipped to [−1.2, 0.6]; the left wall stops the car.
 * - Reward: +100 on reaching the goal (`position ≥ 0.45` and `velocity ≥ goalVelocity`),
 *   minus `0.1·action²` of the UNclipped action, every step.
 * - Reset: position uniform in [−0.6, −0.4] (or `options.low`/`options.high`), velocity 0.
 *
 * Numeric types follow numpy 2 exactly. Gymnasium stores the state as float64 after a
 * reset but as float32 after a step, and under numpy's promotion rules (NEP 50) a float32
 * state makes most of the next step float32 arithmetic, with Python floats rounded to
 * float32 where they meet it. So the env remembers which of the two it holds, and
 * `step` rounds each operation as numpy would.
 *
 * Snapshots: `getState()` returns `[position, velocity]`. `setState(s)` treats `s` as a
 * float32 state when every value is exactly representable in float32
 * (`Math.fround(v) === v`) and as float64 otherwise. That makes getState→setState
 * round-trip exactly both after a step (float32 values) and after a reset (a random
 * float64 position, which is float32-representable with probability ~2⁻²⁹).
 *
 * Options: `goalVelocity` (default 0).
 */
export class ContinuousMountainCarEnv extends BaseEnv<Float32Array, Float32Array> implements Snapshotable {
  readonly minAction = -1.0;
  readonly maxAction = 1.0;
  readonly minPosition = -1.2;
  readonly maxPosition = 0.6;
  readonly maxSpeed = 0.07;
  readonly goalPosition = 0.45;
  readonly goalVelocity: number;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 30 };
  readonly power = 0.0015;

  readonly observationSpace = new Box([this.minPosition, -this.maxSpeed], [this.maxPosition, this.maxSpeed], [2], "float32");
  /** Actions are float32, the dtype of this space: any action is converted to float32 first. */
  readonly actionSpace = new Box(this.minAction, this.maxAction, [1], "float32");

  private position = 0;
  private velocity = 0;
  /** True when the state is Gymnasium's float32 array (after a step), false for float64 (after a reset). */
  private stateIsFloat32 = false;
  private hasState = false;

  // Python float constants as numpy rounds them when they meet a float32 value.
  private readonly power32 = f32(this.power);
  private readonly maxSpeed32 = f32(this.maxSpeed);
  private readonly minPosition32 = f32(this.minPosition);
  private readonly maxPosition32 = f32(this.maxPosition);
  private readonly goalPosition32 = f32(this.goalPosition);
  private readonly goalVelocity32: number;

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const options = numberOptions(this.initRenderMode(kwargs, NAME), OPTION_KEYS, NAME);
    this.goalVelocity = options.goalVelocity ?? 0;
    this.goalVelocity32 = f32(this.goalVelocity);
  }

  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    const [low, high] = resetBounds(args?.options, -0.6, -0.4, NAME);
    this.position = this.npRandom.uniform(low, high);
    this.velocity = 0;
    this.stateIsFloat32 = false;
    this.hasState = true;
    return [this.observation(), {}];
  }

  step(action: Float32Array): StepResult<Float32Array> {
    requireReset(this.hasState, NAME);
    const a = scalarBoxAction(action, this.actionSpace, NAME);
    const s32 = this.stateIsFloat32;
    let position = this.position;
    let velocity = this.velocity;

    // `3 * position` is float32 for a float32 state; math.cos then works in double.
    const slope = 0.0025 * Math.cos(s32 ? f32(3 * position) : 3 * position);
    // force = min(max(a, -1.0), 1.0): a clipped action becomes the Python float ±1.0, so
    // the acceleration is double; an unclipped float32 force makes it float32 (the
    // Python floats 0.0015 and `slope` are rounded to float32 first).
    const accel =
      a < this.minAction || a > this.maxAction
        ? (a < this.minAction ? this.minAction : this.maxAction) * this.power - slope
        : f32(f32(a * this.power32) - f32(slope));
    // float32 + anything stays float32 (a double acceleration is a weak Python float);
    // float64 + float32 is float64.
    velocity = s32 ? f32(velocity + f32(accel)) : velocity + accel;
    let velocityIs32 = s32;

    // Comparisons of a float32 value with a Python float happen in float32; a clipped
    // value becomes the Python float (double) itself.
    const speedLimit = velocityIs32 ? this.maxSpeed32 : this.maxSpeed;
    if (velocity > speedLimit) {
      velocity = this.maxSpeed;
      velocityIs32 = false;
    } else if (velocity < -speedLimit) {
      velocity = -this.maxSpeed;
      velocityIs32 = false;
    }

    position = s32 ? f32(position + f32(velocity)) : position + velocity;
    let positionIs32 = s32;
    if (position > (positionIs32 ? this.maxPosition32 : this.maxPosition)) {
      position = this.maxPosition;
      positionIs32 = false;
    } else if (position < (positionIs32 ? this.minPosition32 : this.minPosition)) {
      position = this.minPosition;
      positionIs32 = false;
    }
    if (position === (positionIs32 ? this.minPosition32 : this.minPosition) && velocity < 0) {
      velocity = 0;
      velocityIs32 = false;
    }

    const terminated =
      position >= (positionIs32 ? this.goalPosition32 : this.goalPosition) &&
      velocity >= (velocityIs32 ? this.goalVelocity32 : this.goalVelocity);
    // math.pow(a, 2) of the unclipped float32 action, in double.
    const reward = (terminated ? 100.0 : 0) - a * a * 0.1;

    this.position = f32(position);
    this.velocity = f32(velocity);
    this.stateIsFloat32 = true;
    return [this.observation(), reward, terminated, false, {}];
  }

  /** `[position, velocity]`, Gymnasium's `env.unwrapped.state`. */
  getState(): number[] {
    requireReset(this.hasState, NAME, "getState");
    return [this.position, this.velocity];
  }

  /** Float32 state when both values are float32-representable, float64 otherwise (see the class comment). */
  setState(state: number[]): void {
    [this.position, this.velocity] = finiteState(state, STATE_NAMES, NAME);
    this.stateIsFloat32 = f32(this.position) === this.position && f32(this.velocity) === this.velocity;
    this.hasState = true;
  }

  /** Gymnasium's 600×400 picture of the hill, the car and the flag (see render/classic.ts). */
  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, NAME, "render");
    return renderMountainCar(this.position, { minPosition: this.minPosition, maxPosition: this.maxPosition, goalPosition: this.goalPosition });
  }

  private observation(): Float32Array {
    const obs = new Float32Array(2);
    obs[0] = this.position;
    obs[1] = this.velocity;
    return obs;
  }
}
