import { ConfigError, describeValue, EnvError } from "../core/errors.js";
import { isNumericArray, type Box, type Discrete } from "../core/spaces.js";

/**
 * Input checks shared by the built-in envs. Bad actions and reset options throw an
 * EnvError, bad constructor options and snapshots a ConfigError; each names the env, the
 * value and what was expected, instead of computing garbage from it.
 */

/** Returns the action as an integer of the Discrete space, or throws. Accepts a number or a length-1 integer array. */
export function discreteAction(action: unknown, space: Discrete, envName: string): number {
  let a = action;
  if (isNumericArray(a) && a.length === 1) a = a[0];
  if (typeof a !== "number" || !Number.isInteger(a) || a < space.start || a >= space.start + space.n) {
    const why =
      typeof a === "number" && Number.isNaN(a)
        ? "is NaN"
        : typeof a === "number" && !Number.isInteger(a)
          ? "is not an integer"
          : typeof a === "number"
            ? "is out of range"
            : `has the wrong type (${typeof a})`;
    throw new EnvError(
      "invalid_action",
      `${envName}: action ${describeValue(action)} ${why} for ${space.toString()}`,
      `pass an integer in [${space.start}, ${space.start + space.n - 1}]`,
    );
  }
  return a;
}

/**
 * Returns the action converted to float32 (the Box's dtype), or throws on a wrong length,
 * a non-numeric value or NaN. Values outside the bounds are NOT clipped here: each env
 * clips exactly where Gymnasium's does.
 */
export function boxAction(action: unknown, space: Box, envName: string): Float32Array {
  let a: unknown = action;
  if (typeof a === "number" && space.size === 1) a = [a];
  if (!isNumericArray(a) || a.length !== space.size) {
    throw new EnvError(
      "invalid_action",
      `${envName}: action ${describeValue(action)} does not fit ${space.toString()} (expected ${space.size} number${space.size === 1 ? "" : "s"})`,
      `pass a Float32Array or number[] of length ${space.size}`,
    );
  }
  const out = new Float32Array(space.size);
  for (let i = 0; i < space.size; i++) {
    const v = a[i];
    if (typeof v !== "number" || Number.isNaN(v)) {
      throw new EnvError(
        "invalid_action",
        `${envName}: action ${describeValue(action)} has ${typeof v === "number" ? "NaN" : `a non-number (${typeof v})`} at index ${i}`,
        "pass finite numbers; check the policy output for NaN",
      );
    }
    out[i] = v;
  }
  return out;
}

/**
 * The action of a one-element float32 Box as a number. Same checks as `boxAction`, but the
 * common case (a Float32Array of length 1) skips its allocation: this runs every step.
 */
export function scalarBoxAction(action: unknown, space: Box, envName: string): number {
  if (action instanceof Float32Array && action.length === 1 && !Number.isNaN(action[0])) return action[0];
  return boxAction(action, space, envName)[0];
}

/**
 * Throws when `step` (or `getState`) is called before the env has a state. Snapshotable
 * envs get one from `reset()` or `setState()`.
 */
export function requireReset(hasState: boolean, envName: string, call: "step" | "getState" | "render" = "step"): void {
  if (!hasState) {
    const source = call === "step" ? "reset()" : "reset() or setState()";
    throw new EnvError("reset_needed", `${envName}: ${call}() was called before ${source}`, "call env.reset() (optionally with a seed) first");
  }
}

/**
 * Rejects constructor options an env does not know, naming the key and the allowed keys
 * (ConfigError `unknown_option`). Options that need more than a number are checked by the
 * env after this.
 */
export function checkOptionKeys(kwargs: Record<string, unknown>, allowed: readonly string[], envName: string): void {
  if (kwargs === null || typeof kwargs !== "object" || Array.isArray(kwargs)) {
    throw new ConfigError(`${envName}: options must be an object, got ${describeValue(kwargs)}`, `pass e.g. {} or { ${allowed[0]}: … }`);
  }
  for (const key of Object.keys(kwargs)) {
    if (allowed.includes(key)) continue;
    // Gymnasium spells options in snake_case (goal_velocity); point Python users to the camelCase name.
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && allowed.includes(camel) ? ` (did you mean ${camel}?)` : "";
    throw new ConfigError(
      `${envName}: unknown option ${JSON.stringify(key)}${hint}`,
      `use only the allowed options: ${allowed.map((k) => JSON.stringify(k)).join(", ")}`,
      "unknown_option",
    );
  }
}

/**
 * Reads an env's constructor options when all of them are numbers: unknown keys and
 * non-finite or non-numeric values are a ConfigError naming the key. Absent (or
 * undefined) keys are left out of the result, so the env applies its defaults.
 */
export function numberOptions<K extends string>(
  kwargs: Record<string, unknown>,
  allowed: readonly K[],
  envName: string,
): Partial<Record<K, number>> {
  checkOptionKeys(kwargs, allowed, envName);
  const out: Partial<Record<K, number>> = {};
  for (const key of allowed) {
    const value = kwargs[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigError(`${envName}: option ${key}=${describeValue(value)} is not a finite number`, `pass a number for ${key}`);
    }
    out[key] = value;
  }
  return out;
}

/**
 * Validates a `setState` argument: one finite number per name in `names` (the env's
 * state layout, used in the message). Returns a copy as a plain array, so the caller
 * can assign it knowing the whole state is valid. Throws ConfigError `invalid_state`.
 */
export function finiteState(state: unknown, names: readonly string[], envName: string): number[] {
  const n = names.length;
  const arrayLike = Array.isArray(state) || (ArrayBuffer.isView(state) && !(state instanceof DataView));
  const values = state as ArrayLike<unknown>;
  if (!arrayLike || values.length !== n) {
    throw new ConfigError(
      `${envName}: setState needs ${n} numbers [${names.join(", ")}], got ${describeValue(state)}`,
      "pass an array returned by getState()",
      "invalid_state",
    );
  }
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new ConfigError(
        `${envName}: setState value ${names[i]} (index ${i}) is ${describeValue(v)}, not a finite number`,
        "pass finite numbers, e.g. an array returned by getState()",
        "invalid_state",
      );
    }
    out[i] = v;
  }
  return out;
}

/** Parses Gymnasium's `{ low, high }` reset options (utils.maybe_parse_reset_bounds). */
export function resetBounds(
  options: Record<string, unknown> | undefined,
  defaultLow: number,
  defaultHigh: number,
  envName: string,
): [number, number] {
  if (!options) return [defaultLow, defaultHigh];
  const low = "low" in options ? toFloat(options.low, "low", envName) : defaultLow;
  const high = "high" in options ? toFloat(options.high, "high", envName) : defaultHigh;
  if (low > high) {
    throw new EnvError("invalid_option", `${envName}: reset option low (${low}) is greater than high (${high})`, "pass low <= high");
  }
  return [low, high];
}

export function toFloat(v: unknown, name: string, envName: string): number {
  const x = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof x !== "number" || Number.isNaN(x)) {
    throw new EnvError("invalid_option", `${envName}: reset option ${name}=${describeValue(v)} is not a number`, `pass a number for ${name}`);
  }
  return x;
}
