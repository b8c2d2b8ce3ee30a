import { ConfigError, EnvError, describeValue } from "../core/errors.js";
import type { Env, Info } from "./env.js";

/**
 * Action masks (MaskablePPO semantics): for a Discrete(n) action space, n flags with 1 for
 * each action the policy may take in the current state and 0 for the others.
 *
 * Where a mask comes from, first match wins:
 * 1. an `actionMasks()` method on the env (the outermost wrapper that has one, else
 *    `env.unwrapped`) — SB3's `action_masks()`, read at the env's current state;
 * 2. `info.action_mask` of the `reset`/`step` that produced the observation (the grid envs).
 * Vector envs read it right after each reset and step (after the same-step autoreset, so the
 * mask of a reset row is the new episode's) and put it in `info.action_mask` of that row.
 */

/** `auto`: mask when the env provides masks; `on`: require them; `off`: ignore them. */
export type ActionMaskingMode = "auto" | "on" | "off";
export const ACTION_MASKING_MODES: readonly ActionMaskingMode[] = ["auto", "on", "off"];

interface MaskMethod {
  actionMasks(): ArrayLike<number | boolean>;
}

function hasMaskMethod(x: unknown): x is MaskMethod {
  return typeof x === "object" && x !== null && typeof (x as Partial<MaskMethod>).actionMasks === "function";
}

/** The env (or wrapper) whose `actionMasks()` answers for `env`, or null. */
function maskSource(env: Env<unknown, unknown>): MaskMethod | null {
  let cur: unknown = env;
  for (let depth = 0; depth < 64 && cur && typeof cur === "object"; depth++) {
    if (hasMaskMethod(cur)) return cur;
    if (!("env" in cur)) break;
    cur = (cur as { env: unknown }).env;
  }
  const base = env.unwrapped as unknown;
  return hasMaskMethod(base) ? base : null;
}

/** The mask of `env`'s current state (method first, then `info.action_mask`), or null if it gives none. */
export function readActionMask(env: Env<unknown, unknown>, info: Info | null | undefined): ArrayLike<number | boolean> | null {
  const source = maskSource(env);
  if (source) return source.actionMasks();
  const m = info?.action_mask;
  return m === undefined || m === null ? null : (m as ArrayLike<number | boolean>);
}

/**
 * `info` with `action_mask` set from the env's `actionMasks()` method when it has one (so the
 * mask travels with the info through vector envs and worker threads); otherwise `info` itself.
 */
export function withActionMask(env: Env<unknown, unknown>, info: Info): Info {
  const source = maskSource(env);
  return source ? { ...info, action_mask: source.actionMasks() } : info;
}

/** Whether an env provides masks: it has the method, or its reset info had `action_mask`. */
export function providesActionMasks(env: Env<unknown, unknown>, resetInfo: Info | null | undefined): boolean {
  return maskSource(env) !== null || (resetInfo?.action_mask !== undefined && resetInfo?.action_mask !== null);
}

/**
 * Copies one mask into `out[offset .. offset + n)` as 0/1, checking its length and that some
 * action is allowed (a row with every action masked has no distribution).
 */
export function writeMaskRow(mask: ArrayLike<number | boolean> | null | undefined, n: number, out: Uint8Array, offset: number, where: string): void {
  if (!mask || typeof mask !== "object" || mask.length !== n) {
    throw new EnvError(
      "invalid_action_mask",
      `${where}: action mask ${describeValue(mask)} should have ${n} entries, one per action`,
      `return an action_mask (info or actionMasks()) of length ${n} from every reset and step, or set actionMasking=off`,
    );
  }
  let any = 0;
  for (let i = 0; i < n; i++) {
    const v = mask[i] ? 1 : 0;
    out[offset + i] = v;
    any |= v;
  }
  if (!any) {
    throw new EnvError("invalid_action_mask", `${where}: action mask allows no action`, "allow at least one action in every state (e.g. a no-op)");
  }
}

/**
 * Resolves an `actionMasking` option against what the env provides: on/off for the run.
 * `on` without masks is a one-line error naming the fix.
 */
export function resolveActionMasking(mode: ActionMaskingMode | undefined, provides: boolean, envName: string, discrete: boolean): boolean {
  const m = mode ?? "auto";
  if (!ACTION_MASKING_MODES.includes(m)) {
    throw new ConfigError(`actionMasking ${describeValue(m)} is not a mode`, `use one of ${ACTION_MASKING_MODES.join(", ")}`);
  }
  if (m === "off") return false;
  if (m === "on" && !discrete) {
    throw new ConfigError(`actionMasking=on needs a Discrete action space, but ${envName} has continuous actions`, "set actionMasking=auto or off");
  }
  if (m === "on" && !provides) {
    throw new ConfigError(
      `actionMasking=on but ${envName} provides no action masks (no info.action_mask from reset, no actionMasks() method)`,
      "use an env that returns info.action_mask (e.g. the MiniGrid-… ids), add an actionMasks() method, or set actionMasking=auto",
    );
  }
  return provides && discrete;
}
