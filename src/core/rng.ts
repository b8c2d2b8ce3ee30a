import { ConfigError, describeValue } from "./errors.js";

/**
 * Seeded, splittable pseudo-random generator.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna, 2018) — 128 bits of state in four uint32
 * words, period 2^128 − 1, fast with `Math.imul` and no BigInt. Seeds are expanded into
 * the state with SplitMix32 so that nearby seeds (0, 1, 2, …) give unrelated streams.
 * `split()` derives an independent child generator from four outputs of the parent passed
 * through the same mixer, so a tree of generators is reproducible from one seed.
 *
 * Float64 uniforms use 53 random bits (two outputs), as numpy's `random()` does.
 * Normals use the Box–Muller transform; the spare value is cached and is part of the
 * state, so `getState()`/`setState()` restore a generator exactly.
 *
 * The streams are refinery's own: the same seed gives the same numbers on every
 * platform, but not the numbers numpy's PCG64 would give.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    validateSeed(seed, "Rng seed");
    // Split the (up to 53-bit) seed into two 32-bit halves and mix each.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let x = (lo ^ 0x9e3779b9) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) | 0;
      return splitmix32(x ^ Math.imul(hi, 0x85ebca6b));
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator seeded from the platform's entropy source, for unseeded use. */
  static fromEntropy(): Rng {
    return new Rng(entropySeed());
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.s0 = n0 >>> 0;
    this.s1 = n1 >>> 0;
    this.s2 = n2 >>> 0;
    this.s3 = n3 >>> 0;
    return result;
  }

  /** Uniform float64 in [0, 1) with 53 random bits; with bounds, uniform in [low, high). */
  uniform(low = 0, high = 1): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    const u = (a * 67108864 + b) / 9007199254740992;
    return low + (high - low) * u;
  }

  /** Standard normal (or N(mean, std²)) by Box–Muller. */
  normal(mean = 0, std = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + std * this.spare;
    }
    let u1 = this.uniform();
    while (u1 === 0) u1 = this.uniform();
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return mean + std * r * Math.cos(theta);
  }

  /** Uniform integer in [low, high) — unbiased (rejection sampling). */
  integer(low: number, high: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high <= low) {
      throw new ConfigError(
        `integer(low, high) needs safe integers with low < high, got low=${describeValue(low)}, high=${describeValue(high)}`,
        "pass integers such that high > low",
      );
    }
    const range = high - low;
    if (range <= 4294967296) {
      // Lemire-style rejection on 32 bits.
      const limit = 4294967296 - (4294967296 % range);
      let x = this.nextUint32();
      while (x >= limit) x = this.nextUint32();
      return low + (x % range);
    }
    // Wide ranges: rejection on 53-bit uniforms.
    const limit = 9007199254740992 - (9007199254740992 % range);
    for (;;) {
      const x = this.uniform() * 9007199254740992;
      if (x < limit) return low + (x % range);
    }
  }

  /** Index drawn with probability proportional to `weights[i]` (need not sum to 1). */
  categorical(weights: ArrayLike<number>): number {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new ConfigError(
          `categorical weights must be finite and non-negative, got weights[${i}] = ${describeValue(w)}`,
          "pass probabilities (or unnormalised non-negative weights)",
        );
      }
      total += w;
    }
    if (n === 0 || total <= 0) {
      throw new ConfigError("categorical weights are empty or sum to zero", "pass at least one positive weight");
    }
    const u = this.uniform() * total;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += weights[i];
      if (u < acc) return i;
    }
    // Floating-point round-off: return the last index with positive weight.
    for (let i = n - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return n - 1;
  }

  /** Index drawn from softmax(logits), computed stably. */
  categoricalFromLogits(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): number {
    let max = -Infinity;
    for (let i = 0; i < length; i++) if (logits[offset + i] > max) max = logits[offset + i];
    let total = 0;
    for (let i = 0; i < length; i++) total += Math.exp(logits[offset + i] - max);
    const u = this.uniform() * total;
    let acc = 0;
    for (let i = 0; i < length; i++) {
      acc += Math.exp(logits[offset + i] - max);
      if (u < acc) return i;
    }
    return length - 1;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.integer(0, i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** Independent child generator; advances this generator by four outputs. */
  split(): Rng {
    const child = Object.create(Rng.prototype) as Rng;
    child.s0 = splitmix32(this.nextUint32() ^ 0x243f6a88);
    child.s1 = splitmix32(this.nextUint32() ^ 0x85a308d3);
    child.s2 = splitmix32(this.nextUint32() ^ 0x13198a2e);
    child.s3 = splitmix32(this.nextUint32() ^ 0x03707344);
    child.spare = 0;
    child.hasSpare = false;
    if ((child.s0 | child.s1 | child.s2 | child.s3) === 0) child.s0 = 1;
    return child;
  }

  /** A fresh seed (a non-negative safe integer) drawn from this generator. */
  nextSeed(): number {
    return (this.nextUint32() >>> 11) * 4294967296 + this.nextUint32();
  }

  /** Serialisable state: restores this generator exactly with `setState`. */
  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.hasSpare ? this.spare : null };
  }

  setState(state: RngState): void {
    if (!state || !Array.isArray(state.s) || state.s.length !== 4 || state.s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
      throw new ConfigError(`malformed Rng state ${describeValue(state)}`, "pass an object returned by rng.getState()");
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.hasSpare = state.spare !== null && state.spare !== undefined;
    this.spare = this.hasSpare ? (state.spare as number) : 0;
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }
}

export interface RngState {
  s: number[];
  spare: number | null;
}

/** Seeds are non-negative safe integers (0 … 2^53 − 1), as Gymnasium's are non-negative ints. */
export function validateSeed(seed: unknown, what = "seed"): asserts seed is number {
  if (typeof seed !== "number" || !Number.isSafeInteger(seed) || seed < 0) {
    throw new ConfigError(
      `${what} must be a non-negative integer, got ${describeValue(seed)}${typeof seed === "string" ? " (a string)" : ""}`,
      "pass an integer such as 0, 1, 42 (at most 2^53 - 1), or leave the seed out",
      "invalid_seed",
    );
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** SplitMix32 finaliser (a 32-bit avalanche mixer). */
function splitmix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function entropySeed(): number {
  const buf = new Uint32Array(2);
  globalThis.crypto.getRandomValues(buf);
  return (buf[0] >>> 11) * 4294967296 + buf[1];
}
