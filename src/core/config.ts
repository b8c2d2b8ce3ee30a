import { z } from "zod";
import { ConfigError, describeValue } from "./errors.js";

/**
 * The largest seed a run takes: 2^32 - 1, as NumPy and Gymnasium. Runs derive further seeds
 * by adding offsets (one per env, per iteration, per evaluation), which must stay exact.
 */
export const MAX_SEED = 4_294_967_295;

/** Extra knowledge for config error messages. */
export interface ParseHints {
  /** Default of each key, quoted in the fix so the user sees a known-good value. */
  defaults?: Record<string, unknown>;
  /**
   * Where a key's value came from (e.g. "the command line", "config file a.yaml"); `key`
   * may be dotted ("model.width") for a value inside an option object.
   */
  originOf?(key: string): string | undefined;
}

/**
 * Config is validated at the edge with zod. Errors name the key, the value given and
 * what was expected, and list the allowed keys when a key is unknown.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, raw: unknown, source = "config", hints: ParseHints = {}): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const allowed = Object.keys(schema.shape).sort();
  const issues = result.error.issues;
  const lines = issues.map((issue) => describeIssue(issue, raw, schema, allowed, hints));
  throw new ConfigError(`invalid ${source}: ${lines.join("; ")}`, fixFor(issues, schema, allowed, hints));
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, schema: z.ZodObject, allowed: string[], hints: ParseHints): string {
  if (issue.code === "unrecognized_keys") {
    return issue.keys
      .map((k) => {
        const origin = hints.originOf?.(k);
        const close = closeKeys(k, allowed);
        const notes = [origin ? `from ${origin}` : "", close.length ? `did you mean "${close[0]}"?` : ""].filter(Boolean);
        return `unknown key "${k}"${notes.length ? ` (${notes.join("; ")})` : ""}`;
      })
      .join("; ");
  }
  const path = issue.path.map(String).join(".");
  const value = valueAt(raw, issue.path as PropertyKey[]);
  const top = String(issue.path[0] ?? "");
  // The deepest key names the layer: model.width from a file is not "the command line" because --set model.layers was.
  const origin = top ? (hints.originOf?.(issue.path.slice(0, 2).map(String).join(".")) ?? hints.originOf?.(top)) : undefined;
  const field = issue.path.length === 1 ? (schema.shape[top] as z.ZodType | undefined) : undefined;
  return `key "${path}" = ${describeValue(value)}${origin ? ` (from ${origin})` : ""} ${plainIssue(issue, value, field)}`;
}

/** zod's issue in plain words ("must be positive (> 0)"), for numbers, lists, strings and enums. */
function plainIssue(issue: z.core.$ZodIssue, value: unknown, field: z.ZodType | undefined): string {
  switch (issue.code) {
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const bound = Number(small ? issue.minimum : issue.maximum);
      if (issue.origin === "array" || issue.origin === "set") return `must have ${small ? "at least" : "at most"} ${bound} item${bound === 1 ? "" : "s"}`;
      if (issue.origin === "string") {
        if (small && bound === 1) return "must not be empty";
        return `must have ${small ? "at least" : "at most"} ${bound} characters`;
      }
      if (small && bound === 0) return issue.inclusive ? "must not be negative (>= 0)" : "must be positive (> 0)";
      return `must be ${small ? ">" : "<"}${issue.inclusive ? "=" : ""} ${bound}`;
    }
    case "invalid_type": {
      // A null-accepting key says so: the user may have meant "off".
      const orNull = field?.safeParse(null).success ? " or null" : "";
      if (typeof value === "number" && !Number.isFinite(value)) return `must be a finite number${orNull}`;
      const expected = issue.expected === "int" ? "an integer" : issue.expected === "array" ? "a list" : withArticle(issue.expected);
      return `must be ${expected}${orNull}, not ${kindOf(value)}`;
    }
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return `is invalid: ${issue.message}`;
  }
}

function withArticle(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "number") return Number.isInteger(value) ? "a number" : "a fractional number";
  return withArticle(typeof value);
}

function fixFor(issues: z.core.$ZodIssue[], schema: z.ZodObject, allowed: string[], hints: ParseHints): string {
  if (issues.some((i) => i.code === "unrecognized_keys")) return `use only the allowed keys: ${allowed.join(", ")}`;
  const keys = [...new Set(issues.map((i) => String(i.path[0] ?? "")).filter((k) => k in schema.shape))];
  if (!keys.length) return "correct the value(s) named above (see `refinery list` for every option and its default)";
  const parts = keys.map((k) => {
    const what = describeAllowed(schema.shape[k] as z.ZodType);
    const dflt = hints.defaults && k in hints.defaults ? ` (default ${formatValue(hints.defaults[k])})` : "";
    return `set ${k} to ${what ? allowedPhrase(what) : "a valid value"}${dflt}`;
  });
  return `${parts.join("; ")}; \`refinery list\` shows every option`;
}

/** describeAllowed's words as the object of a sentence: "a number > 0", "one of tanh, relu". */
function allowedPhrase(what: string): string {
  if (/^[^\s|]+(\|[^\s|]+)+$/.test(what)) return `one of ${what.split("|").join(", ")}`;
  if (/^(integer|object)/.test(what)) return `an ${what}`;
  if (/^(number|list|string|non-empty)/.test(what)) return `a ${what}`;
  return what;
}

/** A value as a user would type it after `--set key=`: strings bare, everything else as JSON. */
export function formatValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v) ?? "undefined";
}

/**
 * The values a schema accepts, in a few words: "number > 0", "integer in [0, 1]",
 * "tanh|relu", "number > 0 or null", "list of integer > 0 (at least 1)". Read from zod's
 * JSON Schema so it always agrees with the validation; "" when it cannot be expressed.
 */
export function describeAllowed(schema: z.ZodType): string {
  try {
    return jsonSchemaText(z.toJSONSchema(schema, { unrepresentable: "any" }) as JsonSchemaNode);
  } catch {
    return "";
  }
}

interface JsonSchemaNode {
  type?: string;
  anyOf?: JsonSchemaNode[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: JsonSchemaNode;
}

function jsonSchemaText(s: JsonSchemaNode): string {
  if (s.anyOf) return s.anyOf.map(jsonSchemaText).join(" or ");
  if (s.enum) return s.enum.map(formatValue).join("|");
  if (s.const !== undefined) return formatValue(s.const);
  switch (s.type) {
    case "null":
      return "null";
    case "boolean":
      return "true|false";
    case "integer":
    case "number":
      return numberText(s);
    case "string":
      return s.minLength ? "non-empty string" : "string";
    case "array": {
      const items = s.items ? jsonSchemaText(s.items) : "values";
      const n = s.minItems && s.maxItems === s.minItems ? ` (exactly ${s.minItems})` : s.minItems ? ` (at least ${s.minItems})` : "";
      return `list of ${items}${n}`;
    }
    case "object":
      return "object";
    default:
      return "any value";
  }
}

function numberText(s: JsonSchemaNode): string {
  const name = s.type === "integer" ? "integer" : "number";
  // zod writes the safe-integer range into every int; it says nothing to a user.
  const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  const min = s.minimum !== undefined && s.minimum > Number.MIN_SAFE_INTEGER ? s.minimum : undefined;
  const lo = s.exclusiveMinimum ?? min;
  const hi = s.exclusiveMaximum ?? max;
  if (lo !== undefined && hi !== undefined) {
    return `${name} in ${s.exclusiveMinimum !== undefined ? "(" : "["}${lo}, ${hi}${s.exclusiveMaximum !== undefined ? ")" : "]"}`;
  }
  if (lo !== undefined) return `${name} ${s.exclusiveMinimum !== undefined ? ">" : ">="} ${lo}`;
  if (hi !== undefined) return `${name} ${s.exclusiveMaximum !== undefined ? "<" : "<="} ${hi}`;
  return name;
}

function valueAt(obj: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** Allowed keys within a small edit distance of `key` (typos, case, `_`/`-`), closest first. */
function closeKeys(key: string, allowed: string[]): string[] {
  const norm = (x: string) => x.toLowerCase().replace(/[_-]/g, "");
  const k = norm(key);
  return allowed
    .map((a) => ({ a, d: editDistance(norm(a), k) }))
    .filter(({ a, d }) => d <= Math.max(2, Math.floor(a.length / 4)))
    .sort((x, y) => x.d - y.d || x.a.localeCompare(y.a))
    .map(({ a }) => a);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Parses one `--set key=value` override. Values are read as JSON when they parse
 * (numbers, booleans, null, arrays, objects) and as strings otherwise; dotted keys
 * address nested objects (`--set net.hidden=[128,128]`).
 */
export function parseSet(expr: string): [path: string[], value: unknown] {
  const eq = expr.indexOf("=");
  if (eq <= 0) {
    throw new ConfigError(`--set ${describeValue(expr)} is not of the form key=value`, "write e.g. --set learningRate=3e-4");
  }
  const key = expr.slice(0, eq).trim();
  const text = expr.slice(eq + 1).trim();
  if (!/^[A-Za-z_$][\w$]*(\.[\w$]+)*$/.test(key)) {
    throw new ConfigError(`--set ${describeValue(expr)} has a malformed key ${describeValue(key)}`, "write the key as a name, or dotted names for nested options (e.g. --set learningRate=3e-4)");
  }
  // These would reach Object.prototype through applySets' path walk.
  if (key.split(".").some((k) => k === "__proto__" || k === "constructor" || k === "prototype")) {
    throw new ConfigError(`--set ${describeValue(expr)} names a reserved key`, "use an option name from `refinery list`");
  }
  if (text === "") {
    throw new ConfigError(`--set ${describeValue(expr)} has no value after "="`, `write e.g. --set ${key}=VALUE (strings bare, numbers, true/false, null or JSON lists)`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  return [key.split("."), value];
}

/** Applies `--set` overrides to a plain config object (returns a new object). */
export function applySets(config: Record<string, unknown>, sets: string[]): Record<string, unknown> {
  const out = structuredClone(config);
  for (const s of sets) {
    const [path, value] = parseSet(s);
    let cur: Record<string, unknown> = out;
    for (const k of path.slice(0, -1)) {
      if (cur[k] === undefined || cur[k] === null || typeof cur[k] !== "object") cur[k] = {};
      cur = cur[k] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = value;
  }
  return out;
}

/** One line per option for `refinery list` / `--help`: key, default, description. */
export function describeSchema(
  schema: z.ZodObject,
  defaults: Record<string, unknown>,
): { key: string; default: unknown; allowed: string; description: string }[] {
  // An option object (d3s, model) is listed key by key, as `--set d3s.levels=step` names them.
  return Object.entries(schema.shape).flatMap(([key, s]) => {
    if (s instanceof z.ZodObject) {
      const nested = (defaults[key] ?? {}) as Record<string, unknown>;
      return describeSchema(s, nested).map((o) => ({ ...o, key: `${key}.${o.key}` }));
    }
    return [{ key, default: defaults[key], allowed: describeAllowed(s as z.ZodType), description: (s as z.ZodType).description ?? "" }];
  });
}
