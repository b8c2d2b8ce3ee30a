import { z } from "zod";
import { ConfigError, describeValue } from "./errors.js";

/**
 * Config is validated at the edge with zod. Errors name the key, the value given and
 * what was expected, and list the allowed keys when a key is unknown.
 */
export function parseConfig<S extends z.ZodObject>(schema: S, raw: unknown, source = "config"): z.infer<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const allowed = Object.keys(schema.shape).sort();
  const lines = result.error.issues.map((issue) => describeIssue(issue, raw, allowed));
  throw new ConfigError(`invalid ${source}: ${lines.join("; ")}`, fixFor(result.error.issues, allowed));
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, allowed: string[]): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys
      .map((k) => {
        const close = allowed.filter((a) => a.toLowerCase() === k.toLowerCase() || similar(a, k));
        return `unknown key "${k}"${close.length ? ` (did you mean "${close[0]}"?)` : ""}`;
      })
      .join("; ");
  }
  const value = valueAt(raw, issue.path as PropertyKey[]);
  return `key "${path}" = ${describeValue(value)}: ${issue.message}`;
}

function fixFor(issues: z.core.$ZodIssue[], allowed: string[]): string {
  if (issues.some((i) => i.code === "unrecognized_keys")) return `use only the allowed keys: ${allowed.join(", ")}`;
  return "correct the value(s) named above (see `refinery list` for every option and its default)";
}

function valueAt(obj: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function similar(a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/[_-]/g, ""), y = b.toLowerCase().replace(/[_-]/g, "");
  if (x === y) return true;
  if (Math.abs(x.length - y.length) > 2) return false;
  let diff = 0;
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) diff++;
  return diff <= 2;
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
  let value: unknown = text;
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
export function describeSchema(schema: z.ZodObject, defaults: Record<string, unknown>): { key: string; default: unknown; description: string }[] {
  return Object.entries(schema.shape).map(([key, s]) => ({
    key,
    default: defaults[key],
    description: (s as z.ZodType).description ?? "",
  }));
}
