import { ConfigError } from "../core/errors.js";
import type { DiversityFn, TrajectorySummary } from "./set.js";

/*
 * Diversity scores d ∈ [0, 1] of a set of trajectories, for the polychromic objective
 * (set.ts). Built in:
 *   final-cells      distinct final agent cells / n (grid worlds; other envs: distinct final
 *                    observations, rounded to 1e-3)
 *   outcome-classes  distinct outcome classes / n, a class being success or failure together
 *                    with the set of grid quadrants the trajectory passed through (in
 *                    FourRooms the quadrants are the rooms, so a class is "which rooms, and did
 *                    it reach the goal")
 * Your own: `registerDiversity(name, fn)` in a module loaded with `--import`, then
 * `--set diversity=name`.
 */

const DIVERSITY = new Map<string, { fn: DiversityFn; description: string }>();

export function registerDiversity(name: string, fn: DiversityFn, description = "a user diversity function"): void {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new ConfigError(`diversity name "${name}" is not a plain name`, "use letters, digits, - and _");
  DIVERSITY.set(name, { fn, description });
}

export function listDiversities(): { name: string; description: string }[] {
  return [...DIVERSITY].map(([name, d]) => ({ name, description: d.description }));
}

/** The diversity function named `name`, with its result checked to lie in [0, 1]. */
export function getDiversity(name: string): DiversityFn {
  const entry = DIVERSITY.get(name);
  if (!entry) {
    throw new ConfigError(
      `unknown diversity "${name}"`,
      `use one of: ${[...DIVERSITY.keys()].join(", ")}, or registerDiversity("${name}", fn) in a module passed with --import`,
    );
  }
  return (set) => {
    const d = entry.fn(set);
    if (!(d >= 0 && d <= 1)) throw new ConfigError(`diversity "${name}" returned ${String(d)} for a set of ${set.length}`, "return a number in [0, 1]");
    return d;
  };
}

/** The key `final-cells` compares: the final cell, else the rounded final observation. */
export function finalCellKey(t: TrajectorySummary): string {
  if (t.finalCell) return `${t.finalCell[0]},${t.finalCell[1]}`;
  return Array.from(t.finalObs, (v) => Math.round(v * 1000)).join(",");
}

/** The outcome class of `outcome-classes`: success flag and the sorted quadrants visited. */
export function outcomeClassKey(t: TrajectorySummary): string {
  const flag = t.success ? "S" : "F";
  if (!t.gridSize) return `${flag}:${finalCellKey(t)}`;
  const [w, h] = t.gridSize;
  const quadrants = new Set<number>();
  for (let i = 0; i + 1 < t.cells.length; i += 2) quadrants.add((t.cells[i] < w / 2 ? 0 : 1) + (t.cells[i + 1] < h / 2 ? 0 : 2));
  return `${flag}:${[...quadrants].sort().join("")}`;
}

/** Distinct keys over the set, divided by its size. */
export function distinctFraction(set: readonly TrajectorySummary[], key: (t: TrajectorySummary) => string): number {
  return set.length ? new Set(set.map(key)).size / set.length : 0;
}

registerDiversity("final-cells", (set) => distinctFraction(set, finalCellKey), "distinct final agent cells / n");
registerDiversity("outcome-classes", (set) => distinctFraction(set, outcomeClassKey), "distinct (success, quadrants visited) classes / n");
