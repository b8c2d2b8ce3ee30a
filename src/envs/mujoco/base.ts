import { ConfigError, describeValue } from "../../core/errors.js";
import { Box } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { renderMujocoScene, type SceneCamera, type SceneGeom } from "../render/mujoco.js";
import { boxAction, checkOptionKeys, finiteState, requireReset } from "../validate.js";
import { modelFromXml, mujocoModule, type MjDataLike, type MjModelLike, type MujocoModule } from "./loader.js";

/**
 * Reads an env's constructor options (Gymnasium's keyword arguments in camelCase):
 * unknown keys and values of the wrong kind are a ConfigError naming the key.
 */
export class EnvOptions {
  constructor(
    private readonly kwargs: Record<string, unknown>,
    allowed: readonly string[],
    private readonly envName: string,
  ) {
    checkOptionKeys(kwargs, allowed, envName);
  }

  number(key: string, fallback: number): number {
    const v = this.kwargs[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ConfigError(`${this.envName}: option ${key}=${describeValue(v)} is not a finite number`, `pass a number for ${key}`);
    }
    return v;
  }

  positiveInt(key: string, fallback: number): number {
    const v = this.number(key, fallback);
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${this.envName}: option ${key}=${v} is not a positive integer`, `pass e.g. ${key}: ${fallback}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.kwargs[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") throw new ConfigError(`${this.envName}: option ${key}=${describeValue(v)} is not a boolean`, `pass true or false for ${key}`);
    return v;
  }

  /** A `[low, high]` pair; ±Infinity allowed (Gymnasium's `float("inf")` bounds). */
  range(key: string, fallback: readonly [number, number]): [number, number] {
    const v = this.kwargs[key];
    if (v === undefined) return [fallback[0], fallback[1]];
    if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== "number" || Number.isNaN(x)) || (v[0] as number) > (v[1] as number)) {
      throw new ConfigError(`${this.envName}: option ${key}=${describeValue(v)} is not a [low, high] pair`, `pass two numbers with low <= high, e.g. ${key}: [${fallback[0]}, ${fallback[1]}]`);
    }
    return [v[0] as number, v[1] as number];
  }

  string(key: string): string | undefined {
    const v = this.kwargs[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v.trim() === "") throw new ConfigError(`${this.envName}: option ${key}=${describeValue(v)} is not a non-empty string`, `pass an MJCF document as a string for ${key}`);
    return v;
  }
}

/** Options every MuJoCo env accepts besides its own. */
export const COMMON_OPTIONS = ["renderMode", "frameSkip", "xml", "width", "height"] as const;

/** MuJoCo's mjtObj value for sites, bodies (for mj_name2id). */
export const OBJ_BODY = 1;

/**
 * The shared part of the MuJoCo v5 envs (Gymnasium's `MujocoEnv`): the model compiled from
 * an MJCF string, `frameSkip` physics steps per env step, the action space from the
 * actuators' control ranges, `setQposQvel` (Gymnasium's `set_state`), snapshots and an
 * orthographic `rgb_array` picture.
 *
 * Snapshots (`getState`) are `[time, qpos…, qvel…, act…, qacc_warmstart…, extra…]`: the
 * physics state plus the solver's warm start, so a restored env steps bit for bit like the
 * original (the warm start changes the constraint solver's last digits). The generator is
 * saved beside it by `captureEnvState`, like every env's.
 */
export abstract class MujocoEnv extends BaseEnv<Float64Array, Float32Array> implements Snapshotable {
  abstract override readonly observationSpace: Box<Float64Array>;
  readonly actionSpace: Box;
  override readonly metadata: EnvMetadata;
  readonly frameSkip: number;
  /** Seconds per env step: the model's timestep × frameSkip. */
  readonly dt: number;
  /** qpos and qvel right after the model is compiled (Gymnasium's `init_qpos`, `init_qvel`). */
  readonly initQpos: Float64Array;
  readonly initQvel: Float64Array;
  protected readonly mj: MujocoModule;
  private modelHandle: MjModelLike | null;
  private dataHandle: MjDataLike | null;
  protected hasState = false;
  private readonly frameSize: { width: number; height: number };

  protected constructor(
    readonly envName: string,
    defaultXml: string,
    defaultFrameSkip: number,
    protected readonly options: EnvOptions,
    kwargsRenderMode: Record<string, unknown>,
  ) {
    super();
    this.mj = mujocoModule(envName);
    this.frameSkip = options.positiveInt("frameSkip", defaultFrameSkip);
    this.frameSize = { width: options.positiveInt("width", 480), height: options.positiveInt("height", 480) };
    this.modelHandle = modelFromXml(this.mj, options.string("xml") ?? defaultXml, envName);
    this.dataHandle = new this.mj.MjData(this.modelHandle);
    const m = this.modelHandle;
    this.dt = m.opt.timestep * this.frameSkip;
    this.metadata = { renderModes: ["rgb_array"], renderFps: Math.round(1 / this.dt) };
    this.initRenderMode(kwargsRenderMode, envName);
    this.initQpos = Float64Array.from(this.dataHandle.qpos);
    this.initQvel = Float64Array.from(this.dataHandle.qvel);
    this.actionSpace = actionSpaceOf(m, envName);
  }

  get model(): MjModelLike {
    if (!this.modelHandle) throw new ConfigError(`${this.envName}: the env was closed`, "make a new env; close() frees its MuJoCo memory");
    return this.modelHandle;
  }

  get data(): MjDataLike {
    if (!this.dataHandle) throw new ConfigError(`${this.envName}: the env was closed`, "make a new env; close() frees its MuJoCo memory");
    return this.dataHandle;
  }

  /** Copies of the current generalised positions and velocities. */
  qpos(): Float64Array {
    return Float64Array.from(this.data.qpos);
  }

  qvel(): Float64Array {
    return Float64Array.from(this.data.qvel);
  }

  reset(args?: ResetArgs): [Float64Array, Info] {
    this.seedFromReset(args);
    this.mj.mj_resetData(this.model, this.data);
    this.resetModel();
    this.hasState = true;
    return [this.observation(), this.resetInfo()];
  }

  /** Draws the initial state from `npRandom` and sets it (Gymnasium's `reset_model`). */
  protected abstract resetModel(): void;

  protected abstract observation(): Float64Array;

  protected resetInfo(): Info {
    return {};
  }

  /** Checks and converts the action (float32, the space's dtype); values are not clipped, as in Gymnasium. */
  protected action(action: unknown): Float32Array {
    requireReset(this.hasState, this.envName);
    return boxAction(action, this.actionSpace, this.envName);
  }

  abstract override step(action: Float32Array): StepResult<Float64Array>;

  /**
   * Gymnasium's `do_simulation`: ctrl ← action, `frameSkip` physics steps, then
   * `mj_rnePostConstraint` so the contact forces `cfrc_ext` are current. MuJoCo clamps
   * ctrl to the actuators' ranges itself.
   */
  protected doSimulation(action: Float32Array): void {
    const m = this.model, d = this.data;
    d.ctrl.set(action);
    for (let i = 0; i < this.frameSkip; i++) this.mj.mj_step(m, d);
    this.mj.mj_rnePostConstraint(m, d);
  }

  /** Gymnasium's `set_state`: writes qpos and qvel, then `mj_forward` for the derived quantities. */
  protected setQposQvel(qpos: ArrayLike<number>, qvel: ArrayLike<number>): void {
    const d = this.data;
    d.qpos.set(qpos);
    d.qvel.set(qvel);
    this.mj.mj_forward(this.model, d);
  }

  /** `nq` draws of U(−scale, scale) added to `initQpos`, as `np_random.uniform(size=nq)`. */
  protected uniformNoise(base: Float64Array, scale: number): Float64Array {
    const out = Float64Array.from(base);
    for (let i = 0; i < out.length; i++) out[i] += this.npRandom.uniform(-scale, scale);
    return out;
  }

  /** `base + scale·N(0, 1)` per element, as `scale * np_random.standard_normal(size)`. */
  protected normalNoise(base: Float64Array, scale: number): Float64Array {
    const out = Float64Array.from(base);
    for (let i = 0; i < out.length; i++) out[i] += scale * this.npRandom.normal(0, 1);
    return out;
  }

  /** Env-specific values a restored step needs besides the physics (e.g. Ant's last torso position). */
  protected extraState(): number[] {
    return [];
  }

  protected setExtraState(values: number[]): void {
    void values;
  }

  private stateNames(): string[] {
    const m = this.model;
    const names = ["time"];
    for (let i = 0; i < m.nq; i++) names.push(`qpos[${i}]`);
    for (let i = 0; i < m.nv; i++) names.push(`qvel[${i}]`);
    for (let i = 0; i < m.na; i++) names.push(`act[${i}]`);
    for (let i = 0; i < m.nv; i++) names.push(`qacc_warmstart[${i}]`);
    this.extraState().forEach((_, i) => names.push(`extra[${i}]`));
    return names;
  }

  getState(): number[] {
    requireReset(this.hasState, this.envName, "getState");
    const d = this.data;
    return [d.time, ...d.qpos, ...d.qvel, ...d.act, ...d.qacc_warmstart, ...this.extraState()];
  }

  setState(state: number[]): void {
    const values = finiteState(state, this.stateNames(), this.envName);
    const m = this.model, d = this.data;
    let k = 0;
    d.time = values[k++];
    d.qpos.set(values.slice(k, (k += m.nq)));
    d.qvel.set(values.slice(k, (k += m.nv)));
    d.act.set(values.slice(k, (k += m.na)));
    const warm = values.slice(k, (k += m.nv));
    this.mj.mj_forward(m, d);
    this.mj.mj_rnePostConstraint(m, d);
    // After mj_forward: qacc_warmstart is the solver's input, which mj_forward leaves as it is.
    d.qacc_warmstart.set(warm);
    this.setExtraState(values.slice(k));
    this.hasState = true;
  }

  /** Frees the model and data in wasm memory (they are not garbage-collected). Idempotent. */
  override close(): void {
    this.dataHandle?.delete();
    this.modelHandle?.delete();
    this.dataHandle = null;
    this.modelHandle = null;
    this.hasState = false;
  }

  /** Where the orthographic camera looks; envs override it (tracking the torso, top-down, …). */
  protected abstract camera(): SceneCamera;

  protected override renderFrame(): RgbFrame {
    requireReset(this.hasState, this.envName, "render");
    return renderMujocoScene(this.sceneGeoms(), this.camera(), this.frameSize.width, this.frameSize.height);
  }

  /** The model's geoms at their current world poses, for the software renderer. */
  protected sceneGeoms(): SceneGeom[] {
    const m = this.model, d = this.data;
    const type = m.geom_type, size = m.geom_size, rgba = m.geom_rgba, pos = d.geom_xpos, mat = d.geom_xmat;
    const out: SceneGeom[] = [];
    for (let g = 0; g < m.ngeom; g++) {
      out.push({
        type: type[g],
        size: [size[3 * g], size[3 * g + 1], size[3 * g + 2]],
        pos: [pos[3 * g], pos[3 * g + 1], pos[3 * g + 2]],
        mat: Array.from(mat.subarray(9 * g, 9 * g + 9)),
        rgba: [rgba[4 * g], rgba[4 * g + 1], rgba[4 * g + 2], rgba[4 * g + 3]],
      });
    }
    return out;
  }
}

/** Box(low, high, (nu,), float32) from the actuators' ctrlrange, as Gymnasium's `_set_action_space`. */
function actionSpaceOf(m: MjModelLike, envName: string): Box {
  const range = m.actuator_ctrlrange;
  let limited: ArrayLike<number> | null;
  try {
    limited = m.actuator_ctrllimited;
  } catch {
    limited = null; // @mujoco/mujoco 3.14.0 cannot read byte arrays of flags; a set range implies a limit
  }
  const low: number[] = [], high: number[] = [];
  for (let i = 0; i < m.nu; i++) {
    if (limited ? !limited[i] : !(range[2 * i] < range[2 * i + 1])) {
      throw new ConfigError(`${envName}: actuator ${i} has no ctrlrange`, "give every actuator ctrllimited=\"true\" and a ctrlrange in the MJCF");
    }
    low.push(range[2 * i]);
    high.push(range[2 * i + 1]);
  }
  return new Box(low, high, [m.nu], "float32");
}

/** Clip to [lo, hi]. */
export function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Σ aᵢ², in float64 of the float32 action values. */
export function sumOfSquares(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

/** Unbounded float64 observation space of n values. */
export function unboundedObs(n: number): Box<Float64Array> {
  return new Box<Float64Array>(-Infinity, Infinity, [n], "float64");
}
