import { ConfigError, describeValue } from "./errors.js";
import type { Rng } from "./rng.js";

/** Element types a Box can hold (the numpy dtypes Gymnasium's classic envs use). */
export type BoxDtype = "float32" | "float64" | "int32";

export type BoxValue = Float32Array | Float64Array | Int32Array;

export type SpaceJSON =
  | { type: "Discrete"; n: number; start: number }
  | { type: "Box"; shape: number[]; dtype: BoxDtype; low: (number | string)[]; high: (number | string)[] }
  | { type: "MultiDiscrete"; nvec: number[] }
  | { type: "MultiBinary"; shape: number[] }
  | { type: "Tuple"; spaces: SpaceJSON[] }
  | { type: "Dict"; spaces: Record<string, SpaceJSON> };

/**
 * A set of valid observations or actions, as in Gymnasium: it can sample an element,
 * test membership and describe itself as JSON.
 */
export interface Space<T> {
  /** Shape of one element (`[]` for a Discrete scalar). */
  readonly shape: readonly number[];
  /** A random element, drawn with the given generator. */
  sample(rng: Rng): T;
  /** True when `x` is an element of this space (type, shape and bounds). */
  contains(x: unknown): x is T;
  /** A JSON description, inverted by `spaceFromJSON`. */
  toJSON(): SpaceJSON;
  /** Readable one-line description, e.g. `Box(-2, 2, (1,), float32)`. */
  toString(): string;
}

/** The integers {start, …, start + n − 1}. Elements are plain numbers. */
export class Discrete implements Space<number> {
  readonly shape: readonly number[] = [];
  constructor(
    readonly n: number,
    readonly start = 0,
  ) {
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new ConfigError(`Discrete(n) needs a positive integer n, got ${describeValue(n)}`, "pass n >= 1");
    }
    if (!Number.isSafeInteger(start)) {
      throw new ConfigError(`Discrete start must be an integer, got ${describeValue(start)}`, "pass an integer start");
    }
  }
  sample(rng: Rng): number {
    return this.start + rng.integer(0, this.n);
  }
  contains(x: unknown): x is number {
    return typeof x === "number" && Number.isInteger(x) && x >= this.start && x < this.start + this.n;
  }
  toJSON(): SpaceJSON {
    return { type: "Discrete", n: this.n, start: this.start };
  }
  toString(): string {
    return this.start === 0 ? `Discrete(${this.n})` : `Discrete(${this.n}, start=${this.start})`;
  }
}

/**
 * A (possibly unbounded) box in R^shape. Bounds are stored in the space's dtype, as
 * numpy stores them (so float32 bounds are rounded to float32). Elements are typed arrays
 * in row-major order.
 *
 * `sample` follows Gymnasium: uniform on bounded dimensions, standard normal on
 * dimensions unbounded on both sides, shifted exponential on half-bounded ones;
 * int32 boxes sample integers uniformly in [low, high].
 *
 * The type parameter is the element's array type and defaults to Float32Array (the
 * default dtype); write `new Box<Float64Array>(…, "float64")` for other dtypes.
 */
export class Box<T extends BoxValue = Float32Array> implements Space<T> {
  readonly shape: readonly number[];
  readonly dtype: BoxDtype;
  readonly low: BoxValue;
  readonly high: BoxValue;
  /** Number of elements (product of the shape). */
  readonly size: number;

  constructor(
    low: number | ArrayLike<number>,
    high: number | ArrayLike<number>,
    shape?: readonly number[],
    dtype: BoxDtype = "float32",
  ) {
    if (dtype !== "float32" && dtype !== "float64" && dtype !== "int32") {
      throw new ConfigError(`Box dtype ${describeValue(dtype)} is not supported`, 'use "float32", "float64" or "int32"');
    }
    const inferred =
      shape ?? (typeof low !== "number" ? [low.length] : typeof high !== "number" ? [high.length] : undefined);
    if (!inferred) {
      throw new ConfigError("Box needs a shape when low and high are both scalars", "pass shape, e.g. new Box(-1, 1, [3])");
    }
    if (inferred.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new ConfigError(`Box shape must be non-negative integers, got ${describeValue(inferred)}`, "pass e.g. [4]");
    }
    this.shape = [...inferred];
    this.dtype = dtype;
    this.size = this.shape.reduce((a, b) => a * b, 1);
    this.low = this.fill(low, "low");
    this.high = this.fill(high, "high");
    for (let i = 0; i < this.size; i++) {
      if (Number.isNaN(this.low[i]) || Number.isNaN(this.high[i]) || this.low[i] > this.high[i]) {
        throw new ConfigError(
          `Box bounds invalid at index ${i}: low=${this.low[i]}, high=${this.high[i]}`,
          "make every low <= high and neither NaN",
        );
      }
    }
  }

  private fill(v: number | ArrayLike<number>, name: string): BoxValue {
    const out = allocate(this.dtype, this.size);
    if (typeof v === "number") {
      out.fill(this.dtype === "int32" ? clampInt(v) : v);
    } else {
      if (v.length !== this.size) {
        throw new ConfigError(
          `Box ${name} has ${v.length} values but the shape [${this.shape.join(", ")}] has ${this.size}`,
          `pass ${this.size} values or a scalar`,
        );
      }
      for (let i = 0; i < this.size; i++) out[i] = this.dtype === "int32" ? clampInt(v[i]) : v[i];
    }
    return out;
  }

  /** True when every dimension has finite low and high. */
  isBounded(): boolean {
    for (let i = 0; i < this.size; i++) if (!Number.isFinite(this.low[i]) || !Number.isFinite(this.high[i])) return false;
    return true;
  }

  sample(rng: Rng): T {
    const out = allocate(this.dtype, this.size) as T;
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i], hi = this.high[i];
      const loF = Number.isFinite(lo), hiF = Number.isFinite(hi);
      if (this.dtype === "int32") {
        out[i] = rng.integer(lo, hi + 1);
      } else if (loF && hiF) {
        out[i] = rng.uniform(lo, hi);
      } else if (!loF && !hiF) {
        out[i] = rng.normal();
      } else if (loF) {
        out[i] = lo - Math.log(1 - rng.uniform());
      } else {
        out[i] = hi + Math.log(1 - rng.uniform());
      }
      // Rounding to float32 may step just outside a bound; keep samples inside.
      if (out[i] > hi) out[i] = hi;
      if (out[i] < lo) out[i] = lo;
    }
    return out;
  }

  contains(x: unknown): x is T {
    if (!isNumericArray(x) || x.length !== this.size) return false;
    const intOnly = this.dtype === "int32";
    for (let i = 0; i < this.size; i++) {
      const v = x[i];
      if (typeof v !== "number" || Number.isNaN(v)) return false;
      if (intOnly && !Number.isInteger(v)) return false;
      // Compare in the space's precision, as numpy casts before comparing.
      const c = this.dtype === "float32" ? Math.fround(v) : v;
      if (c < this.low[i] || c > this.high[i]) return false;
    }
    return true;
  }

  toJSON(): SpaceJSON {
    const enc = (a: BoxValue) => Array.from(a, (v) => (Number.isFinite(v) ? v : String(v)));
    return { type: "Box", shape: [...this.shape], dtype: this.dtype, low: enc(this.low), high: enc(this.high) };
  }

  toString(): string {
    const bound = (a: BoxValue) => {
      const first = a[0];
      return a.every((v) => v === first) ? fmt(first) : `[${Array.from(a, fmt).join(", ")}]`;
    };
    return `Box(${bound(this.low)}, ${bound(this.high)}, (${this.shape.join(", ")}${this.shape.length === 1 ? "," : ""}), ${this.dtype})`;
  }
}

/** A vector of independent discrete choices; element i is in {0, …, nvec[i] − 1}. Elements are Int32Arrays. */
export class MultiDiscrete implements Space<Int32Array> {
  readonly shape: readonly number[];
  readonly nvec: Int32Array;
  constructor(nvec: ArrayLike<number>) {
    if (nvec.length === 0 || Array.from(nvec).some((n) => !Number.isSafeInteger(n) || n <= 0 || n > 0x7fffffff)) {
      throw new ConfigError(`MultiDiscrete needs positive integers, got ${describeValue(nvec)}`, "pass e.g. [3, 2, 5]");
    }
    this.nvec = Int32Array.from(nvec);
    this.shape = [nvec.length];
  }
  sample(rng: Rng): Int32Array {
    const out = new Int32Array(this.nvec.length);
    for (let i = 0; i < out.length; i++) out[i] = rng.integer(0, this.nvec[i]);
    return out;
  }
  contains(x: unknown): x is Int32Array {
    if (!isNumericArray(x) || x.length !== this.nvec.length) return false;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= this.nvec[i]) return false;
    }
    return true;
  }
  toJSON(): SpaceJSON {
    return { type: "MultiDiscrete", nvec: Array.from(this.nvec) };
  }
  toString(): string {
    return `MultiDiscrete([${Array.from(this.nvec).join(", ")}])`;
  }
}

/**
 * Binary vectors (Gymnasium's `MultiBinary`): every element is 0 or 1. `n` is a length or a
 * shape; elements are row-major Int8Arrays (numpy's int8).
 */
export class MultiBinary implements Space<Int8Array> {
  readonly shape: readonly number[];
  /** Number of bits (product of the shape). */
  readonly size: number;
  constructor(n: number | readonly number[]) {
    const shape = typeof n === "number" ? [n] : [...n];
    if (shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
      throw new ConfigError(`MultiBinary needs a positive length or shape, got ${describeValue(n)}`, "pass e.g. 8 or [7, 7, 20]");
    }
    this.shape = shape;
    this.size = shape.reduce((a, b) => a * b, 1);
  }
  sample(rng: Rng): Int8Array {
    const out = new Int8Array(this.size);
    for (let i = 0; i < out.length; i++) out[i] = rng.integer(0, 2);
    return out;
  }
  contains(x: unknown): x is Int8Array {
    if (!isNumericArray(x) || x.length !== this.size) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== 0 && x[i] !== 1) return false;
    return true;
  }
  toJSON(): SpaceJSON {
    return { type: "MultiBinary", shape: [...this.shape] };
  }
  toString(): string {
    return this.shape.length === 1 ? `MultiBinary(${this.size})` : `MultiBinary((${this.shape.join(", ")}))`;
  }
}

/**
 * A fixed-length tuple of spaces (Gymnasium's `Tuple`); elements are plain arrays whose
 * item i belongs to space i. `shape` is `[]`, as Gymnasium's is None: use `flatDim`.
 */
export class Tuple implements Space<unknown[]> {
  readonly shape: readonly number[] = [];
  readonly spaces: readonly Space<unknown>[];
  constructor(spaces: readonly Space<unknown>[]) {
    if (!Array.isArray(spaces) || spaces.some((s) => !isSpace(s))) {
      throw new ConfigError(`Tuple needs an array of spaces, got ${describeValue(spaces)}`, "pass e.g. new Tuple([new Discrete(2), new Box(0, 1, [3])])");
    }
    this.spaces = [...spaces];
  }
  sample(rng: Rng): unknown[] {
    return this.spaces.map((s) => s.sample(rng));
  }
  contains(x: unknown): x is unknown[] {
    return Array.isArray(x) && x.length === this.spaces.length && this.spaces.every((s, i) => s.contains(x[i]));
  }
  toJSON(): SpaceJSON {
    return { type: "Tuple", spaces: this.spaces.map((s) => s.toJSON()) };
  }
  toString(): string {
    return `Tuple(${this.spaces.map(String).join(", ")})`;
  }
}

/**
 * Named sub-spaces (Gymnasium's `Dict`); elements are plain objects with exactly these keys.
 * Keys are kept sorted, as Gymnasium sorts the keys of a dict it is given, so that flattening
 * and `sample` visit them in one fixed order. `shape` is `[]`: use `flatDim`.
 */
export class Dict implements Space<Record<string, unknown>> {
  readonly shape: readonly number[] = [];
  readonly spaces: Readonly<Record<string, Space<unknown>>>;
  readonly keys: readonly string[];
  constructor(spaces: Record<string, Space<unknown>>) {
    if (spaces === null || typeof spaces !== "object" || Array.isArray(spaces) || Object.values(spaces).some((s) => !isSpace(s))) {
      throw new ConfigError(`Dict needs an object of spaces, got ${describeValue(spaces)}`, "pass e.g. new Dict({ image: new MultiDiscrete([...]), direction: new Discrete(4) })");
    }
    this.keys = Object.keys(spaces).sort();
    const sorted: Record<string, Space<unknown>> = {};
    for (const k of this.keys) sorted[k] = spaces[k];
    this.spaces = sorted;
  }
  sample(rng: Rng): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of this.keys) out[k] = this.spaces[k].sample(rng);
    return out;
  }
  contains(x: unknown): x is Record<string, unknown> {
    if (x === null || typeof x !== "object" || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
    const obj = x as Record<string, unknown>;
    const keys = Object.keys(obj);
    return keys.length === this.keys.length && this.keys.every((k) => k in obj && this.spaces[k].contains(obj[k]));
  }
  toJSON(): SpaceJSON {
    const spaces: Record<string, SpaceJSON> = {};
    for (const k of this.keys) spaces[k] = this.spaces[k].toJSON();
    return { type: "Dict", spaces };
  }
  toString(): string {
    return `Dict(${this.keys.map((k) => `${k}: ${String(this.spaces[k])}`).join(", ")})`;
  }
}

export type AnySpace = Discrete | Box<BoxValue> | MultiDiscrete | MultiBinary | Tuple | Dict;

function isSpace(s: unknown): s is Space<unknown> {
  const x = s as Partial<Space<unknown>> | null;
  return !!x && typeof x.sample === "function" && typeof x.contains === "function" && typeof x.toJSON === "function";
}

/**
 * Length of Gymnasium's `flatten(space, x)`: Box and MultiBinary their size, Discrete n
 * (one-hot), MultiDiscrete the sum of nvec (one one-hot per entry), Tuple and Dict the sum of
 * their parts.
 */
export function flatDim(space: Space<unknown>): number {
  if (space instanceof Discrete) return space.n;
  if (space instanceof MultiDiscrete) return space.nvec.reduce((a, b) => a + b, 0);
  if (space instanceof Tuple) return space.spaces.reduce((a, s) => a + flatDim(s), 0);
  if (space instanceof Dict) return space.keys.reduce((a, k) => a + flatDim(space.spaces[k]), 0);
  return space.shape.reduce((a, b) => a * b, 1);
}

/**
 * Gymnasium's `flatten`: writes element `x` of `space` into `out` from `offset` as floats
 * (one-hot for Discrete and MultiDiscrete, raw values otherwise, Dict parts in sorted key
 * order) and returns the offset after it.
 */
export function flattenInto(space: Space<unknown>, x: unknown, out: Float32Array, offset = 0): number {
  if (space instanceof Discrete) {
    out.fill(0, offset, offset + space.n);
    out[offset + (x as number) - space.start] = 1;
    return offset + space.n;
  }
  if (space instanceof MultiDiscrete) {
    const v = x as ArrayLike<number>;
    let o = offset;
    for (let i = 0; i < space.nvec.length; i++) {
      out.fill(0, o, o + space.nvec[i]);
      out[o + v[i]] = 1;
      o += space.nvec[i];
    }
    return o;
  }
  if (space instanceof Tuple) {
    let o = offset;
    space.spaces.forEach((s, i) => (o = flattenInto(s, (x as unknown[])[i], out, o)));
    return o;
  }
  if (space instanceof Dict) {
    let o = offset;
    for (const k of space.keys) o = flattenInto(space.spaces[k], (x as Record<string, unknown>)[k], out, o);
    return o;
  }
  const v: ArrayLike<number> = typeof x === "number" ? [x] : (x as ArrayLike<number>);
  const n = flatSize(space);
  for (let i = 0; i < n; i++) out[offset + i] = v[i];
  return offset + n;
}

/** Rebuild a space from `space.toJSON()`. */
export function spaceFromJSON(json: SpaceJSON): AnySpace {
  switch (json?.type) {
    case "Discrete":
      return new Discrete(json.n, json.start ?? 0);
    case "Box": {
      const dec = (a: (number | string)[]) => a.map((v) => (typeof v === "string" ? Number(v) : v));
      return new Box<BoxValue>(dec(json.low), dec(json.high), json.shape, json.dtype);
    }
    case "MultiDiscrete":
      return new MultiDiscrete(json.nvec);
    case "MultiBinary":
      return new MultiBinary(json.shape);
    case "Tuple":
      return new Tuple(json.spaces.map(spaceFromJSON));
    case "Dict": {
      const spaces: Record<string, Space<unknown>> = {};
      for (const [k, v] of Object.entries(json.spaces)) spaces[k] = spaceFromJSON(v);
      return new Dict(spaces);
    }
    default:
      throw new ConfigError(`unknown space description ${describeValue(json)}`, 'pass the output of space.toJSON() (type "Discrete", "Box", "MultiDiscrete", "MultiBinary", "Tuple" or "Dict")');
  }
}

/** Number of scalars in one element of the space (1 for Discrete; the sum of the parts for Tuple and Dict). */
export function flatSize(space: Space<unknown>): number {
  if (space instanceof Tuple) return space.spaces.reduce((a, s) => a + flatSize(s), 0);
  if (space instanceof Dict) return space.keys.reduce((a, k) => a + flatSize(space.spaces[k]), 0);
  return space.shape.reduce((a, b) => a * b, 1);
}

export function isNumericArray(x: unknown): x is ArrayLike<number> {
  if (Array.isArray(x)) return true;
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

export function allocate(dtype: BoxDtype, n: number): BoxValue {
  return dtype === "float32" ? new Float32Array(n) : dtype === "float64" ? new Float64Array(n) : new Int32Array(n);
}

function clampInt(v: number): number {
  if (v === Infinity) return 0x7fffffff;
  if (v === -Infinity) return -0x80000000;
  return v;
}

function fmt(v: number): string {
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return String(v);
}
