import { describeValue, EnvError } from "../core/errors.js";
import { isNumericArray, type Box, type Discrete } from "../core/spaces.js";

/**
 * Action checks shared by the built-in envs. They throw an EnvError that names the env,
 * the action and the space, instead of computing garbage from a bad action.
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

/** Throws when `step` is called before the first `reset`. */
export function requireReset(hasState: boolean, envName: string): void {
  if (!hasState) {
    throw new EnvError("reset_needed", `${envName}: step() was called before reset()`, "call env.reset() (optionally with a seed) first");
  }
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
