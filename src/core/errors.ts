/**
 * One family of errors. Every message says what is wrong and how to fix it:
 * `new RefineryError("bad_action", "action 3 is outside Discrete(2)", "pass an integer in [0, 1]")`
 * reads "action 3 is outside Discrete(2). Fix: pass an integer in [0, 1]".
 */
export class RefineryError extends Error {
  /** Stable machine-readable code, e.g. `invalid_action`, `unknown_env`. */
  readonly code: string;
  /** What is wrong, in plain words. */
  readonly problem: string;
  /** What to do about it. */
  readonly fix: string;

  constructor(code: string, problem: string, fix: string) {
    super(fix ? `${problem}. Fix: ${fix}` : problem);
    this.name = "RefineryError";
    this.code = code;
    this.problem = problem;
    this.fix = fix;
  }
}

/** A value given by the user (config, option, seed, argument) is malformed. */
export class ConfigError extends RefineryError {
  constructor(problem: string, fix: string, code = "invalid_config") {
    super(code, problem, fix);
    this.name = "ConfigError";
  }
}

/** An environment was used against its API (bad action, step before reset, NaN observation, ...). */
export class EnvError extends RefineryError {
  constructor(code: string, problem: string, fix: string) {
    super(code, problem, fix);
    this.name = "EnvError";
  }
}

/** Short human description of any value, for error messages. */
export function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (typeof x === "number") return Number.isNaN(x) ? "NaN" : String(x);
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const arr = x as unknown as ArrayLike<number>;
    const items = Array.from({ length: Math.min(arr.length, 6) }, (_, i) => String(arr[i]));
    return `${x.constructor.name}[${items.join(", ")}${arr.length > 6 ? ", …" : ""}] (length ${arr.length})`;
  }
  if (Array.isArray(x)) {
    const items = x.slice(0, 6).map((v) => describeValue(v));
    return `[${items.join(", ")}${x.length > 6 ? ", …" : ""}] (array of length ${x.length})`;
  }
  if (typeof x === "object") return `object ${JSON.stringify(x)?.slice(0, 80) ?? ""}`;
  return String(x);
}
