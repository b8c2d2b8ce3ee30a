/**
 * Config comparison shared by `refinery runs compare`, the plots (which group runs that
 * differ only in their seed) and the dashboard's config diff.
 */

/** Keys that identify a run's randomness, not its setup: runs differing only here are seeds of one experiment. */
export const SEED_KEYS: readonly string[] = ["seed"];

/**
 * A config as flat `key → value text` pairs: nested objects become dotted keys, other
 * values are written as JSON (so `[64,64]`, `"tanh"`, `null` compare by their text).
 */
export function flattenConfig(config: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(config).sort()) {
    const value = config[key];
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value)) Object.assign(out, flattenConfig(value as Record<string, unknown>, name));
    else out[name] = JSON.stringify(value) ?? "undefined";
  }
  return out;
}

/** The keys whose values differ between the configs, with each config's value ("—" where it has none). */
export function configDifferences(configs: Record<string, unknown>[]): { key: string; values: string[] }[] {
  const flat = configs.map((c) => flattenConfig(c));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  return keys
    .map((key) => ({ key, values: flat.map((f) => f[key] ?? "—") }))
    .filter((d) => new Set(d.values).size > 1);
}

/** Identifies an experiment: the algorithm and the config without its seed. Runs with equal keys are seeds of one experiment. */
export function experimentKey(algo: string, config: Record<string, unknown>): string {
  const flat = flattenConfig(config);
  for (const k of SEED_KEYS) delete flat[k];
  return JSON.stringify([algo, flat]);
}
