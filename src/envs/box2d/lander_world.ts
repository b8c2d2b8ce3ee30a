import type { Body, Contact, World } from "planck";
import { planck } from "./planck.js";

/**
 * The physics of Gymnasium 1.x's LunarLander-v3 on planck (a JavaScript port of Box2D 2.3):
 * the same constants, bodies, fixtures, joint and engine impulses as Gymnasium's
 * `lunar_lander.py` on pybox2d, created in the same order. Box2D computes in float32 and
 * planck in float64, so trajectories agree with Gymnasium's in shape, not to the bit.
 *
 * A LanderWorld is rebuilt from its inputs (terrain, initial push, wind offsets) and then
 * driven by one `EngineInput` per step; it holds no randomness of its own, which is what
 * lets the env replay a recorded episode exactly (see LunarLanderEnv.setState).
 */

export const FPS = 50;
/** World units to pixels; forces are tuned to it. */
export const SCALE = 30.0;
export const MAIN_ENGINE_POWER = 13.0;
export const SIDE_ENGINE_POWER = 0.6;
/** Bound of each component of the random force on the lander at reset. */
export const INITIAL_RANDOM = 1000.0;
export const LANDER_POLY: readonly (readonly [number, number])[] = [[-14, 17], [-17, 0], [-17, -10], [17, -10], [17, 0], [14, 17]];
export const LEG_AWAY = 20;
export const LEG_DOWN = 18;
export const LEG_W = 2;
export const LEG_H = 8;
export const LEG_SPRING_TORQUE = 40;
export const SIDE_ENGINE_HEIGHT = 14;
export const SIDE_ENGINE_AWAY = 12;
/** How far below the lander's centre the main engine's impulse acts (pixels). */
export const MAIN_ENGINE_Y_LOCATION = 4;
export const VIEWPORT_W = 600;
export const VIEWPORT_H = 400;
export const CHUNKS = 11;
export const W = VIEWPORT_W / SCALE;
export const H = VIEWPORT_H / SCALE;
export const HELIPAD_Y = H / 4;
/** x of the terrain's chunk boundaries; the helipad spans chunks 4 to 6. */
export const CHUNK_X: readonly number[] = Array.from({ length: CHUNKS }, (_, i) => (W / (CHUNKS - 1)) * i);
const MID = Math.floor(CHUNKS / 2);
export const HELIPAD_X1 = CHUNK_X[MID - 1];
export const HELIPAD_X2 = CHUNK_X[MID + 1];
const VELOCITY_ITERATIONS = 6 * 30;
const POSITION_ITERATIONS = 2 * 30;

/** The inputs that fix an episode's world at reset. */
export interface LanderSetup {
  gravity: number;
  /** Terrain heights at the CHUNKS chunk boundaries (Gymnasium's `smooth_y`). */
  smoothY: number[];
  /** The random force applied to the lander's centre at reset. */
  initialForce: [number, number];
  enableWind: boolean;
  windPower: number;
  turbulencePower: number;
  /** Wind and turbulence offsets `C` at reset (integers in [-9999, 9999)). */
  windIdx: number;
  torqueIdx: number;
}

/**
 * What the engines do in one step: main throttle (0 or 0.5..1), side throttle (0 or
 * 0.5..1) and its direction (-1 left, +1 right), and the two dispersion draws (each
 * uniform in [-1, 1) / SCALE) that Gymnasium draws every step, firing or not.
 */
export interface EngineInput {
  mPower: number;
  sPower: number;
  direction: number;
  dispersion0: number;
  dispersion1: number;
}

/** Where an engine pushed in a step: for the exhaust particles of the picture. */
export interface EngineImpulse {
  x: number;
  y: number;
  ix: number;
  iy: number;
  /** 3.5 for the main engine, 0.7 for a side engine (Gymnasium's particle densities). */
  mass: number;
  power: number;
}

/** Gymnasium's terrain: 12 heights uniform in [0, H/2), the helipad chunks flattened, then smoothed. */
export function smoothTerrain(heights: ArrayLike<number>): number[] {
  const height = Array.from(heights);
  for (let i = MID - 2; i <= MID + 2; i++) height[i] = HELIPAD_Y;
  // Python's height[i - 1] at i = 0 is height[-1], the twelfth (last) height.
  return Array.from({ length: CHUNKS }, (_, i) => 0.33 * (height[(i - 1 + height.length) % height.length] + height[i] + height[i + 1]));
}

export class LanderWorld {
  readonly world: World;
  readonly moon: Body;
  readonly lander: Body;
  readonly legs: [Body, Body];
  /** Gymnasium's `leg.ground_contact` of each leg. */
  readonly legContact: [boolean, boolean] = [false, false];
  /** Set when the lander's hull touches the ground (Gymnasium's `game_over`). */
  gameOver = false;
  windIdx: number;
  torqueIdx: number;

  constructor(readonly setup: LanderSetup) {
    const { World, Vec2, Edge, Polygon, Box, RevoluteJoint } = planck();
    this.world = new World({ gravity: new Vec2(0, setup.gravity) });
    this.windIdx = setup.windIdx;
    this.torqueIdx = setup.torqueIdx;

    this.moon = this.world.createBody({ type: "static" });
    this.moon.createFixture({ shape: new Edge(new Vec2(0, 0), new Vec2(W, 0)) });
    for (let i = 0; i < CHUNKS - 1; i++) {
      const edge = new Edge(new Vec2(CHUNK_X[i], setup.smoothY[i]), new Vec2(CHUNK_X[i + 1], setup.smoothY[i + 1]));
      this.moon.createFixture({ shape: edge, density: 0, friction: 0.1 });
    }

    const initialX = W / 2, initialY = H;
    this.lander = this.world.createBody({ type: "dynamic", position: new Vec2(initialX, initialY), angle: 0 });
    this.lander.createFixture({
      shape: new Polygon(LANDER_POLY.map(([x, y]) => new Vec2(x / SCALE, y / SCALE))),
      density: 5.0,
      friction: 0.1,
      filterCategoryBits: 0x0010,
      filterMaskBits: 0x001, // the ground only
      restitution: 0.0,
    });
    this.lander.applyForceToCenter(new Vec2(setup.initialForce[0], setup.initialForce[1]), true);

    const legs: Body[] = [];
    for (const i of [-1, 1]) {
      const leg = this.world.createBody({ type: "dynamic", position: new Vec2(initialX - (i * LEG_AWAY) / SCALE, initialY), angle: i * 0.05 });
      leg.createFixture({ shape: new Box(LEG_W / SCALE, LEG_H / SCALE), density: 1.0, restitution: 0.0, filterCategoryBits: 0x0020, filterMaskBits: 0x001 });
      this.world.createJoint(
        new RevoluteJoint(
          {
            bodyA: this.lander,
            bodyB: leg,
            localAnchorA: new Vec2(0, 0),
            localAnchorB: new Vec2((i * LEG_AWAY) / SCALE, LEG_DOWN / SCALE),
            // pybox2d's revoluteJointDef takes the bodies' angle difference as the reference.
            referenceAngle: i * 0.05,
            enableMotor: true,
            enableLimit: true,
            maxMotorTorque: LEG_SPRING_TORQUE,
            motorSpeed: 0.3 * i, // low enough not to jump back into the sky
            lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
            upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
          },
        ),
      );
      legs.push(leg);
    }
    this.legs = [legs[0], legs[1]];
    this.world.on("begin-contact", (c) => this.onContact(c, true));
    this.world.on("end-contact", (c) => this.onContact(c, false));
  }

  /** Gymnasium's ContactDetector: the hull touching anything ends the game; legs report ground contact. */
  private onContact(contact: Contact, begin: boolean): void {
    const a = contact.getFixtureA().getBody(), b = contact.getFixtureB().getBody();
    if (begin && (a === this.lander || b === this.lander)) this.gameOver = true;
    for (let i = 0; i < 2; i++) if (a === this.legs[i] || b === this.legs[i]) this.legContact[i] = begin;
  }

  /**
   * One step of Gymnasium's `step` physics: wind (when enabled and no leg touches), the
   * engine impulses, then one Box2D step of 1/FPS s with 180 velocity and 60 position
   * iterations. Returns where the engines pushed, for the picture's exhaust particles.
   */
  advance(input: EngineInput): EngineImpulse[] {
    const lander = this.lander;
    if (this.setup.enableWind && !(this.legContact[0] || this.legContact[1])) {
      // tanh(sin(2k·t) + sin(πk·t)) with k = 0.01 never repeats.
      const windMag = Math.tanh(Math.sin(0.02 * this.windIdx) + Math.sin(Math.PI * 0.01 * this.windIdx)) * this.setup.windPower;
      this.windIdx += 1;
      lander.applyForceToCenter({ x: windMag, y: 0.0 }, true);
      const torqueMag = Math.tanh(Math.sin(0.02 * this.torqueIdx) + Math.sin(Math.PI * 0.01 * this.torqueIdx)) * this.setup.turbulencePower;
      this.torqueIdx += 1;
      lander.applyTorque(torqueMag, true);
    }

    const angle = lander.getAngle();
    const tip0 = Math.sin(angle), tip1 = Math.cos(angle);
    const side0 = -tip1, side1 = tip0;
    const d0 = input.dispersion0, d1 = input.dispersion1;
    const impulses: EngineImpulse[] = [];

    if (input.mPower > 0) {
      const p = input.mPower;
      const ox = tip0 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) + side0 * d1;
      const oy = -tip1 * (MAIN_ENGINE_Y_LOCATION / SCALE + 2 * d0) - side1 * d1;
      const pos = lander.getPosition();
      const at = { x: pos.x + ox, y: pos.y + oy };
      impulses.push({ x: at.x, y: at.y, ix: ox * MAIN_ENGINE_POWER * p, iy: oy * MAIN_ENGINE_POWER * p, mass: 3.5, power: p });
      lander.applyLinearImpulse({ x: -ox * MAIN_ENGINE_POWER * p, y: -oy * MAIN_ENGINE_POWER * p }, at, true);
    }

    if (input.sPower > 0) {
      const p = input.sPower, dir = input.direction;
      const ox = tip0 * d0 + side0 * (3 * d1 + (dir * SIDE_ENGINE_AWAY) / SCALE);
      const oy = -tip1 * d0 - side1 * (3 * d1 + (dir * SIDE_ENGINE_AWAY) / SCALE);
      const pos = lander.getPosition();
      // Gymnasium's 17 (not SIDE_ENGINE_HEIGHT) makes the thrust point, and so the torque,
      // depend on the lander's orientation; kept as is.
      const at = { x: pos.x + ox - (tip0 * 17) / SCALE, y: pos.y + oy + (tip1 * SIDE_ENGINE_HEIGHT) / SCALE };
      impulses.push({ x: at.x, y: at.y, ix: ox * SIDE_ENGINE_POWER * p, iy: oy * SIDE_ENGINE_POWER * p, mass: 0.7, power: p });
      lander.applyLinearImpulse({ x: -ox * SIDE_ENGINE_POWER * p, y: -oy * SIDE_ENGINE_POWER * p }, at, true);
    }

    this.world.step(1.0 / FPS, VELOCITY_ITERATIONS, POSITION_ITERATIONS);
    return impulses;
  }

  /** Gymnasium's 8-value state, in float64: position, velocity, angle and angular velocity rescaled, leg contacts. */
  observe(out: Float64Array): void {
    const pos = this.lander.getPosition();
    const vel = this.lander.getLinearVelocity();
    out[0] = (pos.x - VIEWPORT_W / SCALE / 2) / (VIEWPORT_W / SCALE / 2);
    out[1] = (pos.y - (HELIPAD_Y + LEG_DOWN / SCALE)) / (VIEWPORT_H / SCALE / 2);
    out[2] = (vel.x * (VIEWPORT_W / SCALE / 2)) / FPS;
    out[3] = (vel.y * (VIEWPORT_H / SCALE / 2)) / FPS;
    out[4] = this.lander.getAngle();
    out[5] = (20.0 * this.lander.getAngularVelocity()) / FPS;
    out[6] = this.legContact[0] ? 1.0 : 0.0;
    out[7] = this.legContact[1] ? 1.0 : 0.0;
  }

  get awake(): boolean {
    return this.lander.isAwake();
  }
}

/**
 * The exhaust particles of the picture, in a world of their own (ground only): Gymnasium
 * puts them in the lander's world, where they touch nothing but the ground; here they
 * cannot change the lander's physics at all, so rendering or not gives the same episode.
 */
export class ExhaustParticles {
  private readonly world: World;
  private readonly particles: { body: Body; ttl: number }[] = [];

  constructor(gravity: number, smoothY: readonly number[]) {
    const { World, Vec2, Edge } = planck();
    this.world = new World({ gravity: new Vec2(0, gravity) });
    const ground = this.world.createBody({ type: "static" });
    ground.createFixture({ shape: new Edge(new Vec2(0, 0), new Vec2(W, 0)) });
    for (let i = 0; i < CHUNKS - 1; i++) {
      ground.createFixture({ shape: new Edge(new Vec2(CHUNK_X[i], smoothY[i]), new Vec2(CHUNK_X[i + 1], smoothY[i + 1])), friction: 0.1 });
    }
  }

  emit(impulse: EngineImpulse): void {
    const { Circle, Vec2 } = planck();
    const body = this.world.createBody({ type: "dynamic", position: new Vec2(impulse.x, impulse.y), angle: 0 });
    body.createFixture({ shape: new Circle(new Vec2(0, 0), 2 / SCALE), density: impulse.mass, friction: 0.1, filterCategoryBits: 0x0100, filterMaskBits: 0x001, restitution: 0.3 });
    body.applyLinearImpulse(new Vec2(impulse.ix, impulse.iy), new Vec2(impulse.x, impulse.y), true);
    this.particles.push({ body, ttl: impulse.power });
    this.clean(false);
  }

  step(): void {
    if (this.particles.length) this.world.step(1.0 / FPS, VELOCITY_ITERATIONS, POSITION_ITERATIONS);
  }

  /** Gymnasium ages the particles when it draws: ttl -= 0.15 per render() call. Returns them for drawing. */
  age(): { x: number; y: number; ttl: number }[] {
    for (const p of this.particles) p.ttl -= 0.15;
    this.clean(false);
    return this.particles.map((p) => ({ x: p.body.getPosition().x, y: p.body.getPosition().y, ttl: p.ttl }));
  }

  clean(all: boolean): void {
    while (this.particles.length && (all || this.particles[0].ttl < 0)) this.world.destroyBody(this.particles.shift()!.body);
  }
}
