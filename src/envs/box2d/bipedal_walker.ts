import type { Body, RevoluteJoint, World } from "planck";
import { ConfigError, describeValue, EnvError } from "../../core/errors.js";
import { Rng, type RngState } from "../../core/rng.js";
import { Box, type Space } from "../../core/spaces.js";
import { BaseEnv, type EnvMetadata, type Info, type ResetArgs, type RgbFrame, type Snapshotable, type StepResult } from "../env.js";
import { boxAction, checkOptionKeys, requireReset } from "../validate.js";
import { planck } from "./planck.js";
import { renderBipedalWalker } from "./render.js";

export const WALKER_FPS = 50;
export const WALKER_SCALE = 30.0;
const MOTORS_TORQUE = 80;
const SPEED_HIP = 4;
const SPEED_KNEE = 6;
const LIDAR_RANGE = 160 / WALKER_SCALE;
const INITIAL_RANDOM = 5;
export const HULL_POLY: readonly (readonly [number, number])[] = [[-30, 9], [6, 9], [34, 1], [34, -8], [-30, -8]];
const LEG_DOWN = -8 / WALKER_SCALE;
export const WALKER_LEG_W = 8 / WALKER_SCALE;
export const WALKER_LEG_H = 34 / WALKER_SCALE;
export const WALKER_VIEWPORT_W = 600;
export const WALKER_VIEWPORT_H = 400;
export const TERRAIN_STEP = 14 / WALKER_SCALE;
export const TERRAIN_LENGTH = 200;
export const TERRAIN_HEIGHT = WALKER_VIEWPORT_H / WALKER_SCALE / 4;
const TERRAIN_GRASS = 10;
const TERRAIN_STARTPAD = 20;
const FRICTION = 2.5;

type Point = [number, number];

/** The static world an episode runs on, drawn from the generator at reset (Gymnasium's order). */
export interface WalkerTerrain {
  x: number[];
  y: number[];
  /** Stumps, stairs and pit walls (hardcore only), as polygons. */
  obstacles: Point[][];
  /** Each cloud's five corners (decoration). */
  clouds: Point[][];
}

/** Gymnasium's `_generate_terrain` and `_generate_clouds`, drawing from `rng` in the same order. */
export function generateTerrain(rng: Rng, hardcore: boolean): WalkerTerrain {
  const GRASS = 0, STUMP = 1, STAIRS = 2, PIT = 3, STATES = 4;
  let state = GRASS, velocity = 0.0, y = TERRAIN_HEIGHT, counter = TERRAIN_STARTPAD, oneshot = false;
  const xs: number[] = [], ys: number[] = [], obstacles: Point[][] = [];
  let stairSteps = 0, stairWidth = 0, stairHeight = 0, originalY = 0;
  for (let i = 0; i < TERRAIN_LENGTH; i++) {
    const x = i * TERRAIN_STEP;
    xs.push(x);
    if (state === GRASS && !oneshot) {
      velocity = 0.8 * velocity + 0.01 * Math.sign(TERRAIN_HEIGHT - y);
      if (i > TERRAIN_STARTPAD) velocity += rng.uniform(-1, 1) / WALKER_SCALE;
      y += velocity;
    } else if (state === PIT && oneshot) {
      counter = rng.integer(3, 5);
      const poly: Point[] = [[x, y], [x + TERRAIN_STEP, y], [x + TERRAIN_STEP, y - 4 * TERRAIN_STEP], [x, y - 4 * TERRAIN_STEP]];
      obstacles.push(poly, poly.map(([px, py]) => [px + TERRAIN_STEP * counter, py] as Point));
      counter += 2;
      originalY = y;
    } else if (state === PIT && !oneshot) {
      y = originalY;
      if (counter > 1) y -= 4 * TERRAIN_STEP;
    } else if (state === STUMP && oneshot) {
      counter = rng.integer(1, 3);
      obstacles.push([[x, y], [x + counter * TERRAIN_STEP, y], [x + counter * TERRAIN_STEP, y + counter * TERRAIN_STEP], [x, y + counter * TERRAIN_STEP]]);
    } else if (state === STAIRS && oneshot) {
      stairHeight = rng.uniform() > 0.5 ? 1 : -1;
      stairWidth = rng.integer(4, 5);
      stairSteps = rng.integer(3, 5);
      originalY = y;
      for (let s = 0; s < stairSteps; s++) {
        obstacles.push([
          [x + s * stairWidth * TERRAIN_STEP, y + s * stairHeight * TERRAIN_STEP],
          [x + (1 + s) * stairWidth * TERRAIN_STEP, y + s * stairHeight * TERRAIN_STEP],
          [x + (1 + s) * stairWidth * TERRAIN_STEP, y + (-1 + s * stairHeight) * TERRAIN_STEP],
          [x + s * stairWidth * TERRAIN_STEP, y + (-1 + s * stairHeight) * TERRAIN_STEP],
        ]);
      }
      counter = stairSteps * stairWidth;
    } else if (state === STAIRS && !oneshot) {
      const s = stairSteps * stairWidth - counter - stairHeight;
      y = originalY + (s / stairWidth) * stairHeight * TERRAIN_STEP;
    }
    oneshot = false;
    ys.push(y);
    counter -= 1;
    if (counter === 0) {
      counter = rng.integer(TERRAIN_GRASS / 2, TERRAIN_GRASS);
      state = state === GRASS && hardcore ? rng.integer(1, STATES) : GRASS;
      oneshot = true;
    }
  }
  const clouds: Point[][] = [];
  for (let i = 0; i < TERRAIN_LENGTH / 20; i++) {
    const cx = rng.uniform(0, TERRAIN_LENGTH) * TERRAIN_STEP;
    const cy = (WALKER_VIEWPORT_H / WALKER_SCALE) * 3 / 4;
    clouds.push(Array.from({ length: 5 }, (_, a) => {
      const px = cx + 15 * TERRAIN_STEP * Math.sin((3.14 * 2 * a) / 5) + rng.uniform(0, 5 * TERRAIN_STEP);
      const py = cy + 5 * TERRAIN_STEP * Math.cos((3.14 * 2 * a) / 5) + rng.uniform(0, 5 * TERRAIN_STEP);
      return [px, py] as Point;
    }));
  }
  return { x: xs, y: ys, obstacles, clouds };
}

/** One lidar ray: from the hull down and forward, and where it stopped. */
export interface LidarRay {
  p1: Point;
  p2: Point;
  fraction: number;
}

/** The world of one episode: terrain, hull, two legs of two segments on motorised hips and knees. */
export class WalkerWorld {
  readonly world: World;
  readonly hull: Body;
  /** Upper left, lower left, upper right, lower right (Gymnasium's `legs`). */
  readonly legs: Body[] = [];
  /** Left hip, left knee, right hip, right knee. */
  readonly joints: RevoluteJoint[] = [];
  readonly lowerContact: [boolean, boolean] = [false, false];
  gameOver = false;
  readonly lidar: LidarRay[] = Array.from({ length: 10 }, () => ({ p1: [0, 0], p2: [0, 0], fraction: 1 }));

  constructor(readonly terrain: WalkerTerrain, initialForce: number) {
    const { World, Vec2, Edge, Polygon, Box: BoxShape, RevoluteJoint: Joint } = planck();
    this.world = new World({ gravity: new Vec2(0, -10) });
    for (const poly of terrain.obstacles) {
      const body = this.world.createBody({ type: "static" });
      body.createFixture({ shape: new Polygon(poly.map(([x, y]) => new Vec2(x, y))), friction: FRICTION });
    }
    for (let i = 0; i < TERRAIN_LENGTH - 1; i++) {
      const body = this.world.createBody({ type: "static" });
      body.createFixture({ shape: new Edge(new Vec2(terrain.x[i], terrain.y[i]), new Vec2(terrain.x[i + 1], terrain.y[i + 1])), friction: FRICTION, filterCategoryBits: 0x0001 });
    }
    const initX = (TERRAIN_STEP * TERRAIN_STARTPAD) / 2, initY = TERRAIN_HEIGHT + 2 * WALKER_LEG_H;
    this.hull = this.world.createBody({ type: "dynamic", position: new Vec2(initX, initY) });
    this.hull.createFixture({
      shape: new Polygon(HULL_POLY.map(([x, y]) => new Vec2(x / WALKER_SCALE, y / WALKER_SCALE))),
      density: 5.0, friction: 0.1, filterCategoryBits: 0x0020, filterMaskBits: 0x001, restitution: 0.0,
    });
    this.hull.applyForceToCenter(new Vec2(initialForce, 0), true);
    for (const i of [-1, 1]) {
      const leg = this.world.createBody({ type: "dynamic", position: new Vec2(initX, initY - WALKER_LEG_H / 2 - LEG_DOWN), angle: i * 0.05 });
      leg.createFixture({ shape: new BoxShape(WALKER_LEG_W / 2, WALKER_LEG_H / 2), density: 1.0, restitution: 0.0, filterCategoryBits: 0x0020, filterMaskBits: 0x001 });
      this.legs.push(leg);
      this.joints.push(this.world.createJoint(new Joint({
        bodyA: this.hull, bodyB: leg, localAnchorA: new Vec2(0, LEG_DOWN), localAnchorB: new Vec2(0, WALKER_LEG_H / 2),
        // pybox2d's revoluteJointDef takes the bodies' angle difference as the reference.
        referenceAngle: i * 0.05,
        enableMotor: true, enableLimit: true, maxMotorTorque: MOTORS_TORQUE, motorSpeed: i, lowerAngle: -0.8, upperAngle: 1.1,
      }))!);
      const lower = this.world.createBody({ type: "dynamic", position: new Vec2(initX, initY - (WALKER_LEG_H * 3) / 2 - LEG_DOWN), angle: i * 0.05 });
      lower.createFixture({ shape: new BoxShape((0.8 * WALKER_LEG_W) / 2, WALKER_LEG_H / 2), density: 1.0, restitution: 0.0, filterCategoryBits: 0x0020, filterMaskBits: 0x001 });
      this.legs.push(lower);
      this.joints.push(this.world.createJoint(new Joint({
        bodyA: leg, bodyB: lower, localAnchorA: new Vec2(0, -WALKER_LEG_H / 2), localAnchorB: new Vec2(0, WALKER_LEG_H / 2), referenceAngle: 0,
        enableMotor: true, enableLimit: true, maxMotorTorque: MOTORS_TORQUE, motorSpeed: 1, lowerAngle: -1.6, upperAngle: -0.1,
      }))!);
    }
    this.world.on("begin-contact", (c) => {
      const a = c.getFixtureA().getBody(), b = c.getFixtureB().getBody();
      if (a === this.hull || b === this.hull) this.gameOver = true;
      if (a === this.legs[1] || b === this.legs[1]) this.lowerContact[0] = true;
      if (a === this.legs[3] || b === this.legs[3]) this.lowerContact[1] = true;
    });
    this.world.on("end-contact", (c) => {
      const a = c.getFixtureA().getBody(), b = c.getFixtureB().getBody();
      if (a === this.legs[1] || b === this.legs[1]) this.lowerContact[0] = false;
      if (a === this.legs[3] || b === this.legs[3]) this.lowerContact[1] = false;
    });
  }

  /** Motor speed ±SPEED in the direction of each action, torque up to 80·|action|; one Box2D step; the lidar. */
  advance(action: ArrayLike<number>, out: Float64Array): void {
    const speeds = [SPEED_HIP, SPEED_KNEE, SPEED_HIP, SPEED_KNEE];
    for (let j = 0; j < 4; j++) {
      this.joints[j].setMotorSpeed(speeds[j] * Math.sign(action[j]));
      this.joints[j].setMaxMotorTorque(MOTORS_TORQUE * Math.min(Math.abs(action[j]), 1));
    }
    this.world.step(1.0 / WALKER_FPS, 6 * 30, 2 * 30);
    const pos = this.hull.getPosition(), vel = this.hull.getLinearVelocity();
    for (let i = 0; i < 10; i++) {
      const ray = this.lidar[i];
      ray.fraction = 1.0;
      ray.p1 = [pos.x, pos.y];
      ray.p2 = [pos.x + Math.sin((1.5 * i) / 10.0) * LIDAR_RANGE, pos.y - Math.cos((1.5 * i) / 10.0) * LIDAR_RANGE];
      // The closest ground hit: returning the fraction clips the ray there.
      this.world.rayCast({ x: ray.p1[0], y: ray.p1[1] }, { x: ray.p2[0], y: ray.p2[1] }, (fixture, point, _normal, fraction) => {
        if ((fixture.getFilterCategoryBits() & 1) === 0) return -1;
        ray.p2 = [point.x, point.y];
        ray.fraction = fraction;
        return fraction;
      });
    }
    const j = this.joints;
    out[0] = this.hull.getAngle();
    out[1] = (2.0 * this.hull.getAngularVelocity()) / WALKER_FPS;
    out[2] = (0.3 * vel.x * (WALKER_VIEWPORT_W / WALKER_SCALE)) / WALKER_FPS;
    out[3] = (0.3 * vel.y * (WALKER_VIEWPORT_H / WALKER_SCALE)) / WALKER_FPS;
    out[4] = j[0].getJointAngle();
    out[5] = j[0].getJointSpeed() / SPEED_HIP;
    out[6] = j[1].getJointAngle() + 1.0;
    out[7] = j[1].getJointSpeed() / SPEED_KNEE;
    out[8] = this.lowerContact[0] ? 1.0 : 0.0;
    out[9] = j[2].getJointAngle();
    out[10] = j[2].getJointSpeed() / SPEED_HIP;
    out[11] = j[3].getJointAngle() + 1.0;
    out[12] = j[3].getJointSpeed() / SPEED_KNEE;
    out[13] = this.lowerContact[1] ? 1.0 : 0.0;
    for (let i = 0; i < 10; i++) out[14 + i] = this.lidar[i].fraction;
  }
}

/** Snapshot layout: `[format, hardcore, rng at reset × 6, rng now × 6, steps, action × 4 per step]`. */
const FORMAT = 1;
const HEADER = 2 + 6 + 6 + 1;

function rngToNumbers(s: RngState): number[] {
  return [...s.s, s.spare === null ? 0 : 1, s.spare ?? 0];
}

function numbersToRng(v: ArrayLike<number>, at: number): RngState | null {
  const words = [v[at], v[at + 1], v[at + 2], v[at + 3]];
  if (words.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff) || (v[at + 4] !== 0 && v[at + 4] !== 1)) return null;
  return { s: words, spare: v[at + 4] === 1 ? v[at + 5] : null };
}

/**
 * Gymnasium 1.x's `BipedalWalker-v3` on planck (a JavaScript port of Box2D 2.3): a
 * four-joint walker on rough grass (or, with `hardcore: true`, stumps, stairs and pits)
 * must walk to the far end.
 *
 * Observation (24 float32): hull angle, angular velocity, horizontal and vertical speed,
 * each hip's and knee's angle and speed, each lower leg's ground contact, and 10 lidar
 * fractions. Action: Box(-1, 1, (4,)) — hip and knee motors of both legs; each motor turns
 * at full speed in the action's direction with torque up to 80·|action|.
 *
 * Reward: 130/30 per unit of forward progress of the hull, minus 5× the change of |hull
 * angle|, minus 0.028·|action| per motor per step; -100 (instead) and the end when the hull
 * touches the ground or the walker falls off the left edge; the episode also terminates at
 * the far end. Truncation at 1600 steps (2000 hardcore) is the TimeLimit's job.
 *
 * Snapshots: the generator at reset (from which the terrain is rebuilt), the generator now,
 * and every action since the reset; setState rebuilds and replays, so the restore is exact.
 *
 * Not registered (no `make("BipedalWalker-v3")`) yet: Gymnasium's demonstration controller,
 * which walks far on about half of Gymnasium's episodes (mean return ≈ 110 over 100 seeds),
 * falls after 160–210 steps on every seed here (return ≈ -77), so the dynamics are not yet
 * Gymnasium's and results would not compare. Construct the class directly to experiment.
 */
export class BipedalWalkerEnv extends BaseEnv<Float32Array, Float32Array> implements Snapshotable {
  readonly hardcore: boolean;
  override readonly metadata: EnvMetadata = { renderModes: ["rgb_array"], renderFps: WALKER_FPS };
  override readonly observationSpace = new Box(
    [-Math.PI, -5, -5, -5, -Math.PI, -5, -Math.PI, -5, -0, -Math.PI, -5, -Math.PI, -5, -0, ...Array<number>(10).fill(-1)],
    [Math.PI, 5, 5, 5, Math.PI, 5, Math.PI, 5, 5, Math.PI, 5, Math.PI, 5, 5, ...Array<number>(10).fill(1)],
    [24],
    "float32",
  ) as Box & Space<Float32Array>;
  override readonly actionSpace = new Box(-1, 1, [4], "float32") as Box & Space<Float32Array>;

  private world: WalkerWorld | null = null;
  private resetRng: RngState | null = null;
  private actions: number[] = [];
  private prevShaping: number | null = null;
  private lidarRender = 0;
  private readonly state = new Float64Array(24);
  private readonly envName: string;

  constructor(kwargs: Record<string, unknown> = {}) {
    super();
    this.envName = kwargs?.hardcore === true ? "BipedalWalkerHardcore-v3" : "BipedalWalker-v3";
    const options = this.initRenderMode(kwargs, this.envName);
    checkOptionKeys(options, ["hardcore"], this.envName);
    const hardcore = options.hardcore ?? false;
    if (typeof hardcore !== "boolean") throw new ConfigError(`${this.envName}: option hardcore=${describeValue(hardcore)} is not a boolean`, "pass true or false (default false)");
    this.hardcore = hardcore;
  }

  override reset(args?: ResetArgs): [Float32Array, Info] {
    this.seedFromReset(args);
    if (args?.options && Object.keys(args.options).length > 0) {
      throw new EnvError("invalid_option", `${this.envName}: reset options ${describeValue(args.options)} are not supported`, "call reset() with a seed only");
    }
    this.start(this.npRandom.getState());
    const [obs] = this.step(new Float32Array(4)); // Gymnasium's reset returns the first no-op step's observation
    return [obs, {}];
  }

  override step(action: Float32Array): StepResult<Float32Array> {
    const a = boxAction(action, this.actionSpace, this.envName);
    requireReset(this.world !== null, this.envName);
    const world = this.world!;
    for (let i = 0; i < 4; i++) this.actions.push(a[i]);
    world.advance(a, this.state);
    const pos = world.hull.getPosition();
    // Moving forward earns ~300 over the course; keeping the hull level is the only other shaping.
    const shaping = (130 * pos.x) / WALKER_SCALE - 5.0 * Math.abs(this.state[0]);
    let reward = this.prevShaping === null ? 0 : shaping - this.prevShaping;
    this.prevShaping = shaping;
    for (let i = 0; i < 4; i++) reward -= 0.00035 * MOTORS_TORQUE * Math.min(Math.abs(a[i]), 1);
    let terminated = false;
    if (world.gameOver || pos.x < 0) {
      reward = -100;
      terminated = true;
    }
    if (pos.x > (TERRAIN_LENGTH - TERRAIN_GRASS) * TERRAIN_STEP) terminated = true;
    return [Float32Array.from(this.state), reward, terminated, false, {}];
  }

  getState(): number[] {
    requireReset(this.world !== null, this.envName, "getState");
    return [FORMAT, this.hardcore ? 1 : 0, ...rngToNumbers(this.resetRng!), ...rngToNumbers(this.npRandom.getState()), this.actions.length / 4, ...this.actions];
  }

  setState(state: number[]): void {
    const bad = (why: string): never => {
      throw new ConfigError(`${this.envName}: setState got ${why}`, "pass an array returned by getState() of a BipedalWalker env with the same hardcore option", "invalid_state");
    };
    if (!Array.isArray(state) || state.length < HEADER) return bad(`${describeValue(state)}, not a BipedalWalker snapshot`);
    state.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) bad(`a non-finite value ${describeValue(v)} at index ${i}`);
    });
    if (state[0] !== FORMAT) bad(`snapshot format ${state[0]}, expected ${FORMAT}`);
    if (state[1] !== (this.hardcore ? 1 : 0)) bad(`a snapshot taken with hardcore=${state[1] === 1} but this env has hardcore=${this.hardcore}`);
    const atReset = numbersToRng(state, 2), now = numbersToRng(state, 8);
    if (!atReset || !now) return bad("a malformed generator state");
    const steps = state[HEADER - 1];
    if (!Number.isInteger(steps) || steps < 0 || state.length !== HEADER + 4 * steps) bad(`${state.length} numbers for ${steps} steps`);
    this.start(atReset);
    const actions = state.slice(HEADER);
    for (let t = 0; t < steps; t++) this.world!.advance(actions.slice(4 * t, 4 * t + 4), this.state);
    this.actions = actions;
    if (steps > 0) this.prevShaping = (130 * this.world!.hull.getPosition().x) / WALKER_SCALE - 5.0 * Math.abs(this.state[0]);
    this.npRandom.setState(now);
  }

  override close(): void {
    this.world = null;
  }

  protected override renderFrame(): RgbFrame {
    requireReset(this.world !== null, this.envName, "render");
    this.lidarRender = (this.lidarRender + 1) % 100;
    return renderBipedalWalker(this.world!, this.lidarRender);
  }

  /** Draws terrain, clouds and the push from a generator in the state `rng`, and builds the world. */
  private start(rng: RngState): void {
    const gen = Rng.fromState(rng);
    const terrain = generateTerrain(gen, this.hardcore);
    const force = gen.uniform(-INITIAL_RANDOM, INITIAL_RANDOM);
    this.npRandom = gen;
    this.resetRng = rng;
    this.world = new WalkerWorld(terrain, force);
    this.actions = [];
    this.prevShaping = null;
    this.lidarRender = 0;
  }
}
