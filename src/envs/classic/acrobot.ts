import { ConfigError, describeValue } from "../../core/errors.js";
import { Box, Discrete, type Space } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderAcrobot } from "../render/classic.js";
import { checkOptionKeys, discreteAction, finiteState, requireReset, resetBounds } from "../validate.js";

const ENV_NAME = "Acrobot-v1";
const OPTION_KEYS = ["bookOrNips", "torqueNoiseMax"] as const;
const STATE_NAMES = ["theta1", "theta2", "dtheta1", "dtheta2"] as const;

export type AcrobotDynamics = "book" | "nips";

export interface AcrobotOptions {
  /** "book" (default): Sutton & Barto's equations; "nips": the 1996 paper's, which lack one term. */
  bookOrNips?: AcrobotDynamics;
  /** Uniform noise in [-max, max] added to the torque each step, drawn from `npRandom` (default 0). */
  torqueNoiseMax?: number;
}

/**
 * The acrobot swing-up task (Sutton 1996; Sutton & Barto's book), as Gymnasium 1.3.0's
 * `Acrobot-v1`: a two-link chain hangs from a fixed joint and only the middle joint is
 * driven (torque -1, 0 or +1). Reward -1 per step; the episode terminates with reward 0
 * once the free end is more than one link length above the fixed joint. One step
 * integrates the equations of motion over 0.2 s with a single RK4 step in float64,
 * wraps both angles into [-π, π] and bounds the velocities at ±4π and ±9π, as Gymnasium.
 *
 * Observation: `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]` as float32, where θ2 is
 * relative to the first link.
 */
export class AcrobotEnv extends BaseEnv<Float32Array, number> implements Snapshotable {
  readonly dt = 0.2;
  readonly linkLength1 = 1.0;
  readonly linkLength2 = 1.0;
  readonly linkMass1 = 1.0;
  readonly linkMass2 = 1.0;
  /** Positions of the links' centres of mass. */
  readonly linkComPos1 = 0.5;
  readonly linkComPos2 = 0.5;
  /** Moment of inertia of both links. */
  readonly linkMoi = 1.0;
  readonly maxVel1 = 4 * Math.PI;
  readonly maxVel2 = 9 * Math.PI;
  readonly availTorque: readonly number[] = [-1.0, 0.0, +1];
  /** Gymnasium's `book_or_nips` attribute; may be changed between steps, as there. */
  bookOrNips: AcrobotDynamics;
  /** Gymnasium's `torque_noise_max` attribute. */
  torqueNoiseMax: number;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: 15 };

  override readonly observationSpace = new Box(
    [-1.0, -1.0, -1.0, -1.0, -this.maxVel1, -this.maxVel2],
    [1.0, 1.0, 1.0, 1.0, this.maxVel1, this.maxVel2],
    [6],
    "float32",
  ) as Box & Space<Float32Array>;
  override readonly actionSpace = new Discrete(3);

  /** [θ1, θ2, θ̇1, θ̇2, torque]: the state augmented with the torque, as RK4 integrates it. */
  private readonly y = new Float64Array(5);
  private hasState = false;
  private readonly work = new Rk4Workspace(5);
  private readonly derivs: Derivatives = (y, out) => acrobotDerivatives(y, out, this.bookOrNips);

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const options = this.initRenderMode(kwargs, ENV_NAME);
    checkOptionKeys(options, OPTION_KEYS, ENV_NAME);
    const dyn = options.bookOrNips ?? "book";
    if (dyn !== "book" && dyn !== "nips") {
      throw new ConfigError(`${ENV_NAME}: option bookOrNips=${describeValue(dyn)} is not "book" or "nips"`, 'pass "book" (default) or "nips"');
    }
    const noise = options.torqueNoiseMax ?? 0;
    if (typeof noise !== "number" || !Number.isFinite(noise) || noise < 0) {
      throw new ConfigError(
        `${ENV_NAME}: option torqueNoiseMax=${describeValue(noise)} is not a finite non-negative number`,
        "pass e.g. 0 (default, no noise) or 0.1",
      );
    }
    this.bookOrNips = dyn;
    this.torqueNoiseMax = noise;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    const [low, high] = resetBounds(args?.options, -0.1, 0.1, ENV_NAME);
    const rng = this.npRandom;
    // Gymnasium stores the initial state as float32 (`.astype(np.float32)`).
    for (let i = 0; i < 4; i++) this.y[i] = Math.fround(rng.uniform(low, high));
    this.hasState = true;
    return [this.observation(), {}];
  }

  override step(action: number): StepResult<Float32Array> {
    const a = discreteAction(action, this.actionSpace, ENV_NAME);
    requireReset(this.hasState, ENV_NAME);
    let torque = this.availTorque[a];
    if (this.torqueNoiseMax > 0) torque += this.npRandom.uniform(-this.torqueNoiseMax, this.torqueNoiseMax);

    const y = this.y;
    y[4] = torque;
    rk4(this.derivs, y, STEP_TIMES_02, this.work);
    y[0] = wrap(y[0], -Math.PI, Math.PI);
    y[1] = wrap(y[1], -Math.PI, Math.PI);
    y[2] = bound(y[2], -this.maxVel1, this.maxVel1);
    y[3] = bound(y[3], -this.maxVel2, this.maxVel2);

    const terminated = -Math.cos(y[0]) - Math.cos(y[1] + y[0]) > 1.0;
    const reward = terminated ? 0.0 : -1.0;
    return [this.observation(), reward, terminated, false, {}];
  }

  /** `[θ1, θ2, θ̇1, θ̇2]` (Gymnasium's `env.unwrapped.state`), a copy. */
  getState(): number[] {
    requireReset(this.hasState, ENV_NAME, "getState");
    return [this.y[0], this.y[1], this.y[2], this.y[3]];
  }

  /** Continue from `state` = `[θ1, θ2, θ̇1, θ̇2]` (float64, used as given). Works without a prior reset. */
  setState(state: number[]): void {
    // The fifth entry of y is the torque, set by each step.
    this.y.set(finiteState(state, STATE_NAMES, ENV_NAME));
    this.hasState = true;
  }

  /** Gymnasium's 500×500 picture of the two links (see render/classic.ts). */
  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, ENV_NAME, "render");
    return renderAcrobot(this.y, { linkLength1: this.linkLength1, linkLength2: this.linkLength2 });
  }

  private observation(): Float32Array {
    const y = this.y;
    const obs = new Float32Array(6);
    obs[0] = Math.cos(y[0]);
    obs[1] = Math.sin(y[0]);
    obs[2] = Math.cos(y[1]);
    obs[3] = Math.sin(y[1]);
    obs[4] = y[2];
    obs[5] = y[3];
    return obs;
  }
}

/** Sample times of one env step: Gymnasium integrates over `[0, dt]` with dt = 0.2. */
const STEP_TIMES_02: readonly number[] = [0, 0.2];

/**
 * Time derivative of the augmented state `[θ1, θ2, θ̇1, θ̇2, torque]` (Gymnasium's
 * `AcrobotEnv._dsdt`), written into `out`. Same constants and the same grouping of
 * operations as Gymnasium, so the float64 results agree to the last bit whenever
 * `Math.cos`/`Math.sin` agree with numpy's.
 */
export function acrobotDerivatives(y: ArrayLike<number>, out: Float64Array, bookOrNips: AcrobotDynamics = "book"): void {
  const m1 = 1.0, m2 = 1.0, l1 = 1.0, lc1 = 0.5, lc2 = 0.5, I1 = 1.0, I2 = 1.0;
  const g = 9.8;
  const a = y[4];
  const theta1 = y[0], theta2 = y[1], dtheta1 = y[2], dtheta2 = y[3];
  const cosTheta2 = Math.cos(theta2);
  const sinTheta2 = Math.sin(theta2);
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * cosTheta2) + I1 + I2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * cosTheta2) + I2;
  const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - Math.PI / 2.0);
  const phi1 =
    -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sinTheta2 -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sinTheta2 +
    (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - Math.PI / 2) +
    phi2;
  let ddtheta2: number;
  if (bookOrNips === "nips") {
    // The NIPS paper's equation lacks the centrifugal term of the book's.
    ddtheta2 = (a + (d2 / d1) * phi1 - phi2) / (m2 * lc2 ** 2 + I2 - (d2 * d2) / d1);
  } else {
    ddtheta2 =
      (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sinTheta2 - phi2) /
      (m2 * lc2 ** 2 + I2 - (d2 * d2) / d1);
  }
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  out[0] = dtheta1;
  out[1] = dtheta2;
  out[2] = ddtheta1;
  out[3] = ddtheta2;
  for (let i = 4; i < out.length; i++) out[i] = 0.0;
}

/** `derivs(y, out)` writes dy/dt at `y` into `out`. */
export type Derivatives = (y: Float64Array, out: Float64Array) => void;

/** Scratch buffers for `rk4`, so that integrating allocates nothing. */
export class Rk4Workspace {
  readonly k1: Float64Array;
  readonly k2: Float64Array;
  readonly k3: Float64Array;
  readonly k4: Float64Array;
  readonly tmp: Float64Array;
  constructor(readonly size: number) {
    this.k1 = new Float64Array(size);
    this.k2 = new Float64Array(size);
    this.k3 = new Float64Array(size);
    this.k4 = new Float64Array(size);
    this.tmp = new Float64Array(size);
  }
}

/**
 * Classic 4th-order Runge–Kutta through the sample times `t` (Gymnasium's acrobot `rk4`),
 * one RK4 step per interval. Integrates `y` in place and returns it: Gymnasium returns
 * the last row of its output, which is the same numbers.
 */
export function rk4(derivs: Derivatives, y: Float64Array, t: ArrayLike<number>, work = new Rk4Workspace(y.length)): Float64Array {
  const n = y.length;
  if (work.size !== n) {
    throw new ConfigError(`rk4: workspace size ${work.size} does not match the state length ${n}`, "pass new Rk4Workspace(y.length)");
  }
  const { k1, k2, k3, k4, tmp } = work;
  for (let step = 0; step < t.length - 1; step++) {
    const dt = t[step + 1] - t[step];
    const dt2 = dt / 2.0;
    derivs(y, k1);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + dt2 * k1[i];
    derivs(tmp, k2);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + dt2 * k2[i];
    derivs(tmp, k3);
    for (let i = 0; i < n; i++) tmp[i] = y[i] + dt * k3[i];
    derivs(tmp, k4);
    const w = dt / 6.0;
    for (let i = 0; i < n; i++) y[i] = y[i] + w * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  return y;
}

/** Farther than this many periods outside [m, M], `wrap` reduces with `%` first (see there). */
const WRAP_FAR_PERIODS = 1e6;

/**
 * Wraps `x` into [m, M] by adding or subtracting whole periods `M - m`, one at a time
 * as Gymnasium does (so the rounding matches). Unlike Gymnasium it does not loop for
 * ever on an infinite `x` (it returns NaN) and jumps close with `%` when `x` is more than
 * a million periods away — neither happens from a state the env itself produced.
 */
export function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  if (!(Math.abs(x) <= WRAP_FAR_PERIODS * diff)) x = m + ((x - m) % diff);
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}

/** Clips `x` into [m, M] (Gymnasium's `bound`: `min(max(x, m), M)`, NaN passes through). */
export function bound(x: number, m: number, M: number): number {
  const low = m > x ? m : x;
  return M < low ? M : low;
}
