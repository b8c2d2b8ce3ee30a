import type * as Planck from "planck";
import { ConfigError } from "../../core/errors.js";
import { nodeBuiltin } from "../../core/platform.js";

/**
 * planck, the JavaScript port of Box2D the Box2D envs run on, loaded on first use rather
 * than when refinery-rl is imported: most programs never make a Box2D env, and the library
 * is a fifth of the core's bundle. In Node it is required synchronously the first time a
 * Box2D env is made (through `process.getBuiltinModule`, so no bundler sees a `node:`
 * import); in a browser, or on Node < 20.16, `await loadBox2d()` loads it beforehand
 * (bundlers split the dynamic import into a chunk of its own).
 */
export type PlanckLibrary = typeof Planck;

let library: PlanckLibrary | null = null;

/** Loads the physics library of the Box2D envs; call it once before `make("LunarLander-v3")` in a browser. */
export async function loadBox2d(): Promise<void> {
  library ??= (await import("planck")) as PlanckLibrary;
}

/** The loaded library; loads it synchronously in Node, else throws saying to call `loadBox2d()`. */
export function planck(): PlanckLibrary {
  if (library) return library;
  const nodeModule = nodeBuiltin<typeof import("node:module")>("module");
  if (nodeModule) {
    library = nodeModule.createRequire(import.meta.url)("planck") as PlanckLibrary;
    return library;
  }
  throw new ConfigError(
    "the Box2D envs (LunarLander-v3, LunarLanderContinuous-v3) need the planck physics library, which is not loaded yet",
    "run `await loadBox2d()` (exported by refinery-rl) once before making a Box2D env",
    "box2d_not_loaded",
  );
}
