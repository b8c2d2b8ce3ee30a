import { Box, Discrete } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderMountainCar } from "../render/classic.js";
import { discreteAction, finiteState, numberOptions, requireReset, resetBounds } from "../validate.js";

const NAME = "MountainCar-v0";
const OPTION_KEYS = ["goalVelocity"] as const;
const STATE_NAMES = ["position", "velocity"] as const;

/**
 * Gymnasium's MountainCar-v0 (Moore, 1990): an underpowered car in a valley must rock
 * back and forth to reach the flag on the right hill.
 *
 * - Observation: `Box([-1.2, -0.07], [0.6, 0.07], (2,), float32)` — position, velocity.
 * - Action: `Discrete(3)` — 0 push left, 1 no push, 2 push right.
 * - Dynamics: `velocity += (action − 1)·0.001 − 0.0025·cos(3·position)`, clipped to
 *   ±0.07; `position += velocity`, clipped to [−1.2, 0.6]; hitting the left wall while
 *   moving left stops the car (inelastic collision).
 * - Reward −1 per step; terminates when `position ≥ 0.5` and `velocity ≥ goalVelocity`.
 * - Reset: position uniform in [−0.6, −0.4] (or `options.low`/`options.high`), velocity 0.
 *
 * The state is float64, as in Gymnasium; observations are that state rounded to float32.
 * Options: `goalVelocity` (default 0).
 */
export class MountainCarEnv extends BaseEnv<Float32Array, number> implements Snapshotable {
  readonly minPosition = -1.2;
  readonly maxPosition = 0.6;
  readonly maxSpeed = 0.07;
  readonly goalPosition = 0.5;
  readonly goalVelocity: number;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 30 };
  readonly force = 0.001;
  readonly gravity = 0.0025;

  readonly observationSpace = new Box([this.minPosition, -this.maxSpeed], [this.maxPosition, this.maxSpeed], [2], "float32");
  readonly actionSpace = new Discrete(3);

  private position = 0;
  private velocity = 0;
  private hasState = false;

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const options = numberOptions(this.initRenderMode(kwargs, NAME), OPTION_KEYS, NAME);
    this.goalVelocity = options.goalVelocity ?? 0;
  }

  reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    const [low, high] = resetBounds(args?.options, -0.6, -0.4, NAME);
    this.position = this.npRandom.uniform(low, high);
    this.velocity = 0;
    this.hasState = true;
    return [this.observation(), {}];
  }

  step(action: number): StepResult<Float32Array> {
    requireReset(this.hasState, NAME);
    const a = discreteAction(action, this.actionSpace, NAME);
    let position = this.position;
    let velocity = this.velocity;
    velocity += (a - 1) * this.force + Math.cos(3 * position) * -this.gravity;
    velocity = Math.min(Math.max(velocity, -this.maxSpeed), this.maxSpeed);
    position += velocity;
    position = Math.min(Math.max(position, this.minPosition), this.maxPosition);
    if (position === this.minPosition && velocity < 0) velocity = 0;
    const terminated = position >= this.goalPosition && velocity >= this.goalVelocity;
    this.position = position;
    this.velocity = velocity;
    return [this.observation(), -1.0, terminated, false, {}];
  }

  /** `[position, velocity]`, Gymnasium's `env.unwrapped.state`. */
  getState(): number[] {
    requireReset(this.hasState, NAME, "getState");
    return [this.position, this.velocity];
  }

  setState(state: number[]): void {
    [this.position, this.velocity] = finiteState(state, STATE_NAMES, NAME);
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
