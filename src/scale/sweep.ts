import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { resolveConfig } from "../algos/index.js";
import { applySets } from "../core/config.js";
import { ConfigError } from "../core/errors.js";
import { Rng } from "../core/rng.js";

/**
 * A sweep: a grid or a random search over any config keys (the keys of `--set`, dotted for
 * nested ones), each point trained with every seed. Plain data, so it goes through Redis.
 *
 *   name: lr-sweep            # optional; default: the file's name
 *   algo: ppo                 # default ppo
 *   set: { env: CartPole-v1, totalTimesteps: 20000 }   # fixed for every trial
 *   search: grid              # or random (then `trials` points are drawn)
 *   parameters:
 *     learningRate: [2.5e-4, 1e-3]              # grid values, or random choices
 *     gaeLambda: { min: 0.9, max: 0.99 }        # random only: uniform
 *     entCoef: { min: 1e-4, max: 1e-1, log: true }
 *   seeds: [1, 2]
 */
const rangeSchema = z.object({ min: z.number(), max: z.number(), log: z.boolean().optional(), integer: z.boolean().optional() }).strict();
const valueSchema = z.union([z.number(), z.string(), z.boolean(), z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);
export const sweepSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, "letters, digits, '.', '_' or '-' (at most 80)").optional(),
    algo: z.string().default("ppo"),
    preset: z.string().optional(),
    set: z.record(z.string(), valueSchema).default({}),
    search: z.enum(["grid", "random"]).default("grid"),
    trials: z.number().int().positive().optional(),
    searchSeed: z.number().int().min(0).default(0),
    parameters: z.record(z.string(), z.union([z.array(valueSchema).min(1), rangeSchema])).default({}),
    seeds: z.array(z.number().int().min(0)).min(1).optional(),
  })
  .strict();

export type SweepSpec = z.infer<typeof sweepSpecSchema> & { name: string };

export interface Trial {
  /** "t000", "t001", … in order; also the trial's run directory name. */
  id: string;
  algo: string;
  preset?: string;
  /** Config keys (dotted) and values: the sweep's `set`, the point, and the seed. */
  overrides: Record<string, unknown>;
}

/** Reads and checks a sweep file (YAML or JSON). */
export function readSweepSpec(path: string): SweepSpec {
  if (!existsSync(path)) throw new ConfigError(`sweep file ${path} does not exist`, "pass the path of a YAML file (see docs/scaling.md)");
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot parse sweep file ${path}: ${(err as Error).message.split("\n")[0]}`, "fix the YAML syntax");
  }
  const parsed = sweepSpecSchema.safeParse(data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`sweep file ${path}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`, "see the sweep format in docs/scaling.md");
  }
  const spec = parsed.data;
  const name = spec.name ?? basename(path).replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80);
  return { ...spec, name };
}

/** Every trial of a sweep, each config checked now (a bad key fails before anything is queued). */
export function expandTrials(spec: SweepSpec): Trial[] {
  const points = spec.search === "grid" ? gridPoints(spec) : randomPoints(spec);
  const seeds = spec.seeds ?? [undefined];
  const trials: Trial[] = [];
  for (const point of points) {
    for (const seed of seeds) {
      const overrides: Record<string, unknown> = { ...spec.set, ...point, ...(seed === undefined ? {} : { seed }) };
      trials.push({ id: `t${String(trials.length).padStart(3, "0")}`, algo: spec.algo, preset: spec.preset, overrides });
    }
  }
  for (const t of trials) trialConfig(t);
  return trials;
}

/** The resolved config of a trial (ConfigError naming the trial when a key or value is wrong). */
export function trialConfig(t: Trial): Record<string, unknown> {
  try {
    return resolveConfig({ algo: t.algo, preset: t.preset, overrides: applySets({}, toSets(t.overrides)), overridesName: `sweep trial ${t.id}` });
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`sweep trial ${t.id} (${JSON.stringify(t.overrides)}): ${err.problem}`, err.fix);
    throw err;
  }
}

/** `key=JSON` strings for `--set`. */
export function toSets(overrides: Record<string, unknown>): string[] {
  return Object.entries(overrides).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

function gridPoints(spec: SweepSpec): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(spec.parameters)) {
    if (!Array.isArray(values)) throw new ConfigError(`sweep parameter ${key} is a range, which a grid cannot enumerate`, `list its values (${key}: [a, b, c]) or use search: random`);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

function randomPoints(spec: SweepSpec): Record<string, unknown>[] {
  if (spec.trials === undefined) throw new ConfigError("a random sweep needs `trials` (how many points to draw)", "add e.g. trials: 8");
  const rng = new Rng(spec.searchSeed);
  return Array.from({ length: spec.trials }, () => {
    const p: Record<string, unknown> = {};
    for (const [key, dist] of Object.entries(spec.parameters)) {
      if (Array.isArray(dist)) {
        p[key] = dist[Math.floor(rng.uniform() * dist.length)];
        continue;
      }
      if (!(dist.max > dist.min) || (dist.log && dist.min <= 0)) throw new ConfigError(`sweep parameter ${key}: range [${dist.min}, ${dist.max}] is empty${dist.log ? " or not positive (log)" : ""}`, "give min < max (both > 0 with log: true)");
      const u = rng.uniform();
      let x = dist.log ? Math.exp(Math.log(dist.min) + u * (Math.log(dist.max) - Math.log(dist.min))) : dist.min + u * (dist.max - dist.min);
      if (dist.integer) x = Math.min(dist.max, Math.floor(x));
      p[key] = x;
    }
    return p;
  });
}

/** What is kept of a finished (or failed) trial, in Redis and in the sweep's directory. */
export interface TrialResult {
  id: string;
  overrides: Record<string, unknown>;
  status: "finished" | "failed";
  worker: string;
  runDir: string;
  steps?: number;
  finalMeanReturn?: number | null;
  evalMeanReturn?: number | null;
  stepsToThreshold?: number | null;
  wallSeconds?: number;
  error?: string;
}
