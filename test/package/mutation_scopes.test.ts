import { existsSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- plain .mjs build scripts without type declarations
import { resolveMutate, resolveMutateEntry } from "../../scripts/mutation-ranges.mjs";
// @ts-expect-error -- plain .mjs build scripts without type declarations
import { SCOPES } from "../../scripts/mutation-scopes.mjs";

type Scope = { mutate: string[]; tests: string[] };

/** Whether a scope's path, or its recursive glob (a directory, then a file suffix), names at least one file (Node 20 has no fs.globSync). */
function matchesSomething(pattern: string): boolean {
  if (!pattern.includes("*")) return existsSync(pattern);
  const base = pattern.slice(0, pattern.indexOf("*"));
  const suffix = pattern.slice(pattern.lastIndexOf("*") + 1);
  return existsSync(base) && (readdirSync(base, { recursive: true }) as string[]).some((f) => f.endsWith(suffix));
}

/** The mutation scopes name functions, not lines, so code that moves keeps them right; a rename must fail here, not in an hour-long Stryker run. */
describe("npm run mutation scopes", () => {
  it.each(Object.keys(SCOPES as Record<string, Scope>))("%s resolves to existing code and tests", (name) => {
    const scope = (SCOPES as Record<string, Scope>)[name];
    const mutate = resolveMutate(scope.mutate) as string[];
    expect(mutate.length).toBeGreaterThan(0);
    for (const entry of mutate) {
      const range = /^(.*):(\d+)-(\d+)$/.exec(entry);
      if (range) {
        expect(existsSync(range[1]), entry).toBe(true);
        expect(Number(range[3])).toBeGreaterThanOrEqual(Number(range[2]));
      } else expect(matchesSomething(entry), entry).toBe(true);
    }
    for (const t of scope.tests) expect(matchesSomething(t), t).toBe(true);
  });

  it("a name the file does not declare, or declares twice, is an error that says how to fix the scope", () => {
    expect(() => resolveMutateEntry("src/algos/ppo.ts#noSuchFunction")).toThrow(/src\/algos\/ppo\.ts declares no function, method or class named noSuchFunction\. Fix: update scripts\/mutation-scopes\.mjs/);
    // ppo.ts has two classes (PPO, Minibatch), each with a constructor: the bare name is ambiguous, the qualified one is not.
    expect(() => resolveMutateEntry("src/algos/ppo.ts#constructor")).toThrow(/src\/algos\/ppo\.ts declares constructor 2 times\. Fix: qualify it as Class\.constructor/);
    const [ppoCtor] = resolveMutateEntry("src/algos/ppo.ts#PPO.constructor") as string[];
    const [mbCtor] = resolveMutateEntry("src/algos/ppo.ts#Minibatch.constructor") as string[];
    expect(ppoCtor).toMatch(/^src\/algos\/ppo\.ts:\d+-\d+$/);
    expect(mbCtor).not.toBe(ppoCtor);
    expect(resolveMutateEntry("src/algos/ppo.ts#PPO.update")).toEqual(resolveMutateEntry("src/algos/ppo.ts#update"));
  });
});
