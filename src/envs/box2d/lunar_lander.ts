import { ConfigError, describeValue, EnvError } from "../../core/errors.js";
import type { RngState } from "../../core/rng.js";
import { Box, Discrete, type Space } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { boxAction, checkOptionKeys, discreteAction, requireReset } from "../validate.js";
import {
  ExhaustParticles,
  FPS,
  H,
  INITIAL_RANDOM,
  LanderWorld,
  SCALE,
  smoothTerrain,
  type EngineInput,
  type LanderSetup,
} from "./lander_world.js";
import { renderLunarLander } from "./render.js";

const OPTION_KEYS = ["continuous", "gravity", "enableWind", "windPower", "turbulencePower"] as const;

export interface LunarLanderOptions {
  /** Box(-1, 1, (2,)) throttles instead of Discrete(4) (Gymnasium's `continuous`). Default false. */
  continuous?: boolean;
  /** Vertical gravity, strictly between -12 and 0. Default -10. */
  gravity?: number;
  /** Apply a never-repeating wind force and turbulence torque while no leg touches the ground. Default false. */
  enableWind?: boolean;
  /** Largest wind force (Gymnasium recommends 0 to 20). Default 15. */
  windPower?: number;
  /** Largest turbulence torque (Gymnasium recommends 0 to 2). Default 1.5. */
  turbulencePower?: number;
}

/**
 * Snapshot layout (getState): the episode's setup, the generator, then one record of 4
 * numbers per step taken since the reset (including the reset's own no-op step):
 * `[format, gravity, enableWind, windPower, turbulencePower, windIdx, torqueIdx,
 *   smoothY × 11, initialForceX, initialForceY, rng × 6, steps,
 *   (mPower, ±sPower, dispersion0, dispersion1) × steps]`.
 * The generator is part of the state because every step draws the engines' dispersion
 * from it: with it, the next step depends on the snapshot alone.
 */
const FORMAT = 1;
const SETUP = 7 + 11 + 2;
const RNG = 6;
const HEADER = SETUP + RNG + 1;
const RECORD = 4;

/**
 * Gymnasium 1.x's `LunarLander-v3` (discrete and continuous) on planck, a JavaScript port of
 * Box2D 2.3: a lander pushed at random at the top of the screen must land on the pad
 * between the flags at (0, 0).
 *
 * Observation (float32): `[x, y, vx, vy, angle, angular velocity, left leg contact,
 * right leg contact]`, rescaled as Gymnasium does. Discrete actions: 0 nothing, 1 left
 * engine, 2 main engine, 3 right engine. Continuous actions `[main, lateral]` in [-1, 1]:
 * the main engine is off for main ≤ 0 and throttles 50%..100% for main in (0, 1]; the side
 * engines are off for |lateral| ≤ 0.5, else the left (lateral < -0.5) or right one fires at
 * 50%..100%.
 *
 * Reward: the change of `-100·|position| - 100·|velocity| - 100·|angle| + 10·(each leg
 * touching)`, minus 0.3 per full-throttle step of the main engine and 0.03 of a side engine;
 * -100 (instead) when the hull touches the ground or |x| ≥ 1, +100 when the lander comes to
 * rest (its Box2D body falls asleep), which also end the episode. Truncation at 1000 steps
 * is the TimeLimit's job (`make("LunarLander-v3")`).
 *
 * Snapshots replay: getState() returns the episode's inputs (terrain, push, the generator
 * and every step's engine input), and setState() rebuilds the world and replays them, so
 * the restored world is the original bit for bit. A restore costs as many physics steps as
 * the snapshot's episode had taken.
 */
export class LunarLanderEnv extends BaseEnv<Float32Array, number | Float32Array> implements Snapshotable {
  readonly continuous: boolean;
  readonly gravity: number;
  readonly enableWind: boolean;
  readonly windPower: number;
  readonly turbulencePower: number;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: FPS };
  override readonly observationSpace = new Box(
    [-2.5, -2.5, -10, -10, -2 * Math.PI, -10, -0, -0],
    [2.5, 2.5, 10, 10, 2 * Math.PI, 10, 1, 1],
    [8],
    "float32",
  ) as Box & Space<Float32Array>;
  readonly actionSpace: Space<number | Float32Array>;

  private world: LanderWorld | null = null;
  private particles: ExhaustParticles | null = null;
  /** The snapshot header of the current episode (without the step count) and its step records, flattened. */
  private header: number[] = [];
  private records: number[] = [];
  private prevShaping: number | null = null;
  private readonly state = new Float64Array(8);
  private readonly envName: string;

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    const continuous = kwargs?.continuous === true;
    this.envName = continuous ? "LunarLanderContinuous-v3" : "LunarLander-v3";
    const options = this.initRenderMode(kwargs, this.envName);
    checkOptionKeys(options, OPTION_KEYS, this.envName);
    this.continuous = booleanOption(options, "continuous", false, this.envName);
    this.enableWind = booleanOption(options, "enableWind", false, this.envName);
    this.gravity = numberOption(options, "gravity", -10.0, this.envName);
    if (!(this.gravity > -12.0 && this.gravity < 0.0)) {
      throw new ConfigError(`${this.envName}: option gravity=${describeValue(this.gravity)} is outside (-12, 0)`, "pass a gravity strictly between -12 and 0, e.g. -10 (the default)");
    }
    this.windPower = numberOption(options, "windPower", 15.0, this.envName);
    this.turbulencePower = numberOption(options, "turbulencePower", 1.5, this.envName);
    this.actionSpace = (this.continuous ? new Box(-1, 1, [2], "float32") : new Discrete(4)) as Space<number | Float32Array>;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    if (args?.options && Object.keys(args.options).length > 0) {
      throw new EnvError("invalid_option", `${this.envName}: reset options ${describeValue(args.options)} are not supported`, "call reset() with a seed only; set gravity and wind when making the env");
    }
    const rng = this.npRandom;
    // Gymnasium's draw order: 12 terrain heights, the push, then the wind offsets (when enabled).
    const heights = Array.from({ length: 12 }, () => rng.uniform(0, H / 2));
    const initialForce: [number, number] = [rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM), rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM)];
    let windIdx = 0, torqueIdx = 0;
    if (this.enableWind) {
      windIdx = rng.integer(-9999, 9999);
      torqueIdx = rng.integer(-9999, 9999);
    }
    this.start({
      gravity: this.gravity,
      smoothY: smoothTerrain(heights),
      initialForce,
      enableWind: this.enableWind,
      windPower: this.windPower,
      turbulencePower: this.turbulencePower,
      windIdx,
      torqueIdx,
    });
    // Gymnasium's reset returns the observation of one no-op step (which also sets the shaping baseline).
    const [obs] = this.step(this.continuous ? new Float32Array(2) : 0);
    return [obs, {}];
  }

  override step(action: number | Float32Array): StepResult<Float32Array> {
    const input = this.engineInput(action);
    requireReset(this.world !== null, this.envName);
    const world = this.world!;
    const rng = this.npRandom;
    input.dispersion0 = rng.uniform(-1.0, 1.0) / SCALE;
    input.dispersion1 = rng.uniform(-1.0, 1.0) / SCALE;
    this.records.push(input.mPower, input.direction * input.sPower, input.dispersion0, input.dispersion1);
    const impulses = world.advance(input);
    if (this.particles) {
      for (const impulse of impulses) this.particles.emit(impulse);
      this.particles.step();
    }
    world.observe(this.state);
    const s = this.state;
    const shaping = landerShaping(s);
    let reward = this.prevShaping === null ? 0 : shaping - this.prevShaping;
    this.prevShaping = shaping;
    reward -= input.mPower * 0.3; // less fuel spent is better
    reward -= input.sPower * 0.03;
    let terminated = false;
    if (world.gameOver || Math.abs(s[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!world.awake) {
      terminated = true;
      reward = +100;
    }
    return [Float32Array.from(s), reward, terminated, false, {}];
  }

  /**
   * The episode so far as replayable inputs (layout above the class). Its length grows by 4
   * numbers per step: about 4,000 numbers for a 1,000-step episode.
   */
  getState(): number[] {
    requireReset(this.world !== null, this.envName, "getState");
    const rng = this.npRandom.getState();
    const spare = rng.spare ?? null;
    return this.header.concat(rng.s, [spare === null ? 0 : 1, spare ?? 0, this.records.length / RECORD], this.records);
  }

  /**
   * Rebuilds the snapshot's world and replays its steps, so the next `step` continues
   * exactly where the snapshot was taken. The snapshot must come from an env with the same
   * gravity and wind options. Exhaust particles (decoration) start afresh.
   */
  setState(state: number[]): void {
    const { setup, rng, records } = this.parseState(state);
    this.npRandom.setState(rng);
    if (this.world && sameNumbers(this.header, state, 0, SETUP) && this.records.length === records.length && sameNumbers(this.records, state, HEADER, records.length)) {
      return; // already there
    }
    this.start(setup);
    const input: EngineInput = { mPower: 0, sPower: 0, direction: 0, dispersion0: 0, dispersion1: 0 };
    const world = this.world!;
    for (let i = 0; i < records.length; i += RECORD) {
      input.mPower = records[i];
      input.sPower = Math.abs(records[i + 1]);
      input.direction = Math.sign(records[i + 1]);
      input.dispersion0 = records[i + 2];
      input.dispersion1 = records[i + 3];
      world.advance(input);
    }
    this.records = records;
    if (records.length > 0) {
      world.observe(this.state);
      this.prevShaping = landerShaping(this.state);
    }
  }

  override close(): void {
    this.world = null;
    this.particles = null;
  }

  /** Gymnasium's 600×400 picture: black sky above the terrain, the pad's flags, the lander and its legs, exhaust. */
  protected override renderFrame(): RgbFrame {
    requireReset(this.world !== null, this.envName, "render");
    return renderLunarLander(this.world!, this.particles ? this.particles.age() : []);
  }

  private start(setup: LanderSetup): void {
    this.world = new LanderWorld(setup);
    this.particles = this.renderMode !== null ? new ExhaustParticles(setup.gravity, setup.smoothY) : null;
    this.header = [
      FORMAT, setup.gravity, setup.enableWind ? 1 : 0, setup.windPower, setup.turbulencePower, setup.windIdx, setup.torqueIdx,
      ...setup.smoothY, setup.initialForce[0], setup.initialForce[1],
    ];
    this.records = [];
    this.prevShaping = null;
  }

  /** The engines an action fires (dispersion filled in by `step`). */
  private engineInput(action: unknown): EngineInput {
    const a = this.continuous
      ? boxAction(action, this.actionSpace as unknown as Box, this.envName)
      : discreteAction(action, this.actionSpace as unknown as Discrete, this.envName);
    return { ...landerThrottles(a, this.continuous), dispersion0: 0, dispersion1: 0 };
  }

  private parseState(state: unknown): { setup: LanderSetup; rng: RngState; records: number[] } {
    const name = this.envName;
    const values = Array.isArray(state) || (ArrayBuffer.isView(state) && !(state instanceof DataView)) ? (state as ArrayLike<unknown>) : null;
    const bad = (why: string): never => {
      throw new ConfigError(`${name}: setState got ${why}`, "pass an array returned by getState() of a LunarLander env made with the same options", "invalid_state");
    };
    if (!values || values.length < HEADER) return bad(`${describeValue(state)}, not a LunarLander snapshot (at least ${HEADER} numbers)`);
    for (let i = 0; i < values.length; i++) {
      if (typeof values[i] !== "number" || !Number.isFinite(values[i])) bad(`a non-finite value ${describeValue(values[i])} at index ${i}`);
    }
    const v = values as ArrayLike<number>;
    if (v[0] !== FORMAT) bad(`snapshot format ${v[0]}, expected ${FORMAT}`);
    const steps = v[HEADER - 1];
    if (!Number.isInteger(steps) || steps < 0 || v.length !== HEADER + RECORD * steps) bad(`${v.length} numbers for ${steps} steps (expected ${HEADER} + ${RECORD}·steps)`);
    const mine: [string, number, number][] = [
      ["gravity", v[1], this.gravity],
      ["enableWind", v[2], this.enableWind ? 1 : 0],
      ["windPower", v[3], this.windPower],
      ["turbulencePower", v[4], this.turbulencePower],
    ];
    for (const [key, theirs, ours] of mine) {
      if (theirs !== ours) {
        throw new ConfigError(`${name}: the snapshot was taken with ${key}=${theirs} but this env has ${key}=${ours}`, `make the env with the options of the env the snapshot came from`, "invalid_state");
      }
    }
    const setup: LanderSetup = {
      gravity: v[1],
      enableWind: v[2] === 1,
      windPower: v[3],
      turbulencePower: v[4],
      windIdx: v[5],
      torqueIdx: v[6],
      smoothY: Array.from({ length: 11 }, (_, i) => v[7 + i]),
      initialForce: [v[18], v[19]],
    };
    const words = [v[SETUP], v[SETUP + 1], v[SETUP + 2], v[SETUP + 3]];
    if (words.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff) || (v[SETUP + 4] !== 0 && v[SETUP + 4] !== 1)) bad(`a malformed generator state at indices ${SETUP}..${SETUP + RNG - 1}`);
    const rng: RngState = { s: words, spare: v[SETUP + 4] === 1 ? v[SETUP + 5] : null };
    return { setup, rng, records: Array.from({ length: v.length - HEADER }, (_, i) => v[HEADER + i]) };
  }
}

/**
 * The engine throttles of an (already validated) action, as Gymnasium maps them. Discrete:
 * 1 left, 2 main, 3 right, each at full power. Continuous `[main, lateral]`, clipped to
 * [-1, 1]: main > 0 throttles the main engine from 50% to 100%; |lateral| > 0.5 fires the
 * left (negative) or right side engine at |lateral| (50%..100%); anything else is off.
 */
export function landerThrottles(action: number | ArrayLike<number>, continuous: boolean): { mPower: number; sPower: number; direction: number } {
  const out = { mPower: 0, sPower: 0, direction: 0 };
  if (continuous) {
    const a = action as ArrayLike<number>;
    const main = clip(a[0], -1, 1), lateral = clip(a[1], -1, 1);
    if (main > 0.0) out.mPower = (clip(main, 0.0, 1.0) + 1.0) * 0.5;
    if (Math.abs(lateral) > 0.5) {
      out.direction = Math.sign(lateral);
      out.sPower = clip(Math.abs(lateral), 0.5, 1.0);
    }
  } else {
    const a = action as number;
    if (a === 2) out.mPower = 1.0;
    if (a === 1 || a === 3) {
      out.direction = a - 2;
      out.sPower = 1.0;
    }
  }
  return out;
}

/**
 * Gymnasium's shaping term of the 8-value state: -100·‖(x, y)‖ - 100·‖(vx, vy)‖ - 100·|angle|
 * + 10 per leg touching. A step's reward is its change minus the fuel spent.
 */
export function landerShaping(s: ArrayLike<number>): number {
  return -100 * Math.sqrt(s[0] * s[0] + s[1] * s[1]) - 100 * Math.sqrt(s[2] * s[2] + s[3] * s[3]) - 100 * Math.abs(s[4]) + 10 * s[6] + 10 * s[7];
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function sameNumbers(a: readonly number[], b: ArrayLike<number>, offset: number, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (!Object.is(a[i], b[offset + i])) return false;
  return true;
}

function booleanOption(options: Record<string, unknown>, key: string, fallback: boolean, envName: string): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ConfigError(`${envName}: option ${key}=${describeValue(value)} is not a boolean`, `pass true or false (default ${fallback})`);
  return value;
}

function numberOption(options: Record<string, unknown>, key: string, fallback: number, envName: string): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new ConfigError(`${envName}: option ${key}=${describeValue(value)} is not a finite number`, `pass a number for ${key} (default ${fallback})`);
  return value;
}
