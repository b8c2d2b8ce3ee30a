import { policyActor } from "../algos/ppo.js";
import { backendName, initBackend, type BackendName } from "../core/backend.js";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";
import { Rng } from "../core/rng.js";
import { flatSize, isNumericArray, spaceFromJSON, type SpaceJSON } from "../core/spaces.js";
import { writeObservationRow } from "../envs/vector.js";
import { continuousActorFromSpec, type ContinuousActorSpec } from "../algos/continuous_agent.js";
import { joinLocation } from "../core/platform.js";
import { loadWeights, MODEL_JSON, type JsonObject, type NamedArray } from "../nn/weights_load.js";
import { ActorCritic } from "../policies/actor_critic.js";
import { epsilonGreedy } from "../algos/dqn.js";
import { envMakeOptions } from "../algos/env_stack.js";
import { writeMaskRow } from "../envs/action_mask.js";
import { QNetwork, type QNetworkSpec } from "../policies/q_network.js";

export interface LoadedPolicy {
  /** Env id the policy was trained on. */
  env: string;
  spec: Record<string, unknown>;
  /**
   * Chooses an action for one raw observation (the saved observation normalisation is applied).
   * `mask` (the env's action mask for it) restricts a policy trained with action masking to
   * the allowed actions; policies trained without masks ignore it.
   */
  act(obs: ArrayLike<number> | Record<string, unknown>, options?: { deterministic?: boolean; mask?: ArrayLike<number | boolean> | null }): number | Float32Array;
  dispose(): void;
}

/**
 * Loads a saved policy — a run directory (its `policy/`, or `best/` with `{ which: "best" }`)
 * or a policy directory itself — so it can act without the trainer. Isomorphic: in Node
 * `dir` is a path (or a URL); in a browser it is a URL, e.g. `new URL("policy/", location.href).href`,
 * whose `model.json` and `weights.bin` are fetched.
 */
export async function loadPolicy(dir: string, options: { which?: "policy" | "best"; backend?: BackendName; seed?: number } = {}): Promise<LoadedPolicy> {
  const saved = await readSavedPolicy(dir, options.which);
  // Keep a backend the caller already chose (a page that trains on wasm); else the cpu one.
  await initBackend(options.backend ?? currentBackend() ?? "cpu");
  return policyFromSaved(saved.arrays, saved.extra, saved.found, options.seed ?? 0);
}

/** The weights and spec of a run's `policy/` (or `best/`), or of a policy directory itself; a path or a URL. */
export async function readSavedPolicy(dir: string, which: "policy" | "best" = "policy"): Promise<{ arrays: NamedArray[]; extra: JsonObject; found: string }> {
  const candidates = [joinLocation(dir, which), dir];
  for (const candidate of candidates) {
    try {
      return { ...(await loadWeights(candidate)), found: candidate };
    } catch (err) {
      // Only "nothing there" moves on to the next place; a torn or foreign file is reported.
      if (!(err instanceof RefineryError && err.code === "weights_not_found")) throw err;
    }
  }
  throw new ConfigError(`no saved policy in ${dir} (looked for ${candidates.map((c) => joinLocation(c, MODEL_JSON)).join(", ")})`, "pass a run directory whose training finished, or a policy directory", "policy_not_found");
}

/** A LoadedPolicy from weights and the spec saved with them (what `exportPolicy()` gives, or loadWeights reads). */
export function policyFromSaved(arrays: readonly NamedArray[], extra: JsonObject, where = "the saved policy", seed = 0): LoadedPolicy {
  const spec = extra as unknown as {
    kind: string;
    env: string;
    observationSpace: SpaceJSON;
    actionSpace: SpaceJSON;
    hidden: number[];
    activation: "tanh" | "relu";
    initLogStd: number;
    actorHeadGain: number;
    /** Absent in policies saved before gSDE existed. */
    useSde?: boolean;
    orthoInit?: boolean;
    features?: "flat" | "grid";
    gridFeatures?: { cellDim?: number; tokenDim?: number };
    /** Whether the run masked actions (absent in policies saved before masking: false). */
    actionMasking?: boolean;
    obsNorm: { mean: number[] | Float64Array; var: number[] | Float64Array; count: number } | null;
    clipObs: number | null;
  };
  if (spec.kind === "token-lm") {
    throw new ConfigError(`${where} holds a text policy (a transformer over tokens), which loadPolicy cannot act with`, "load it with loadTextPolicy(dir) and call generate(prompt)", "text_policy");
  }
  if (spec.kind === "q-network") return qNetworkFromSaved(arrays, extra, seed);
  if (spec.kind === "squashed-gaussian" || spec.kind === "deterministic-actor") return continuousPolicy(arrays, extra, seed);
  if (spec.kind !== "actor-critic") {
    throw new ConfigError(`${where} holds a "${spec.kind}" policy`, "this refinery version loads actor-critic policies", "unsupported_policy");
  }
  const policy = new ActorCritic({
    observationSpace: spaceFromJSON(spec.observationSpace),
    actionSpace: spaceFromJSON(spec.actionSpace),
    hidden: spec.hidden,
    activation: spec.activation,
    initLogStd: spec.initLogStd,
    actorHeadGain: spec.actorHeadGain,
    useSde: spec.useSde ?? false,
    orthoInit: spec.orthoInit ?? true,
    features: spec.features ?? "flat",
    ...(spec.gridFeatures ? { gridFeatures: spec.gridFeatures } : {}),
    rng: new Rng(0),
  });
  const weights: Record<string, Float32Array> = {};
  for (const a of arrays) weights[a.name] = a.data as Float32Array;
  policy.setWeights(weights);
  const rng = new Rng(seed);
  // gSDE samples with exploration matrices, not per-step draws: one set drawn here from the
  // seed, kept for the policy's life (SB3's sde_sample_freq −1 over one long rollout).
  if (policy.gsde) policy.gsde.resampleNoise(rng.split());
  const actor = policyActor(policy, rng, spec.actionMasking === true);
  const norm = spec.obsNorm;
  const x = new Float32Array(policy.obsSize);
  return {
    env: spec.env,
    spec: extra as Record<string, unknown>,
    act(obs, opts = {}) {
      // A Dict observation (grid features) becomes its raw row, as the vector env wrote it in training.
      const flat: ArrayLike<number> = isNumericArray(obs) ? obs : rawRow(obs, x.length);
      for (let i = 0; i < x.length; i++) {
        let v = flat[i];
        if (norm) {
          v = (v - norm.mean[i]) / Math.sqrt(norm.var[i] + 1e-8);
          if (spec.clipObs !== null) v = Math.max(-spec.clipObs, Math.min(spec.clipObs, v));
        }
        x[i] = v;
      }
      return actor.actOne(x, opts.deterministic ?? true, opts.mask);
    },
    dispose: () => policy.dispose(),
  };
}

/** A DQN policy: greedy on Q, or ε-greedy with the run's final ε when not deterministic. */
function qNetworkFromSaved(arrays: readonly NamedArray[], extra: JsonObject, seed: number): LoadedPolicy {
  const spec = extra as unknown as QNetworkSpec & { env: string; epsilon: number; actionMasking?: boolean };
  const net = new QNetwork({ ...spec, rng: new Rng(0) });
  const weights: Record<string, Float32Array> = {};
  for (const a of arrays) weights[a.name] = a.data as Float32Array;
  net.setWeights(weights);
  const rng = new Rng(seed);
  const x = new Float32Array(net.obsSize);
  return {
    env: spec.env,
    spec: extra as Record<string, unknown>,
    act(obs, opts = {}) {
      const flat: ArrayLike<number> = isNumericArray(obs) ? obs : rawRow(obs, x.length);
      for (let i = 0; i < x.length; i++) x[i] = flat[i];
      const mask = spec.actionMasking === true && opts.mask ? maskRow(opts.mask, net.numActions) : null;
      return epsilonGreedy(net, x, 1, (opts.deterministic ?? true) ? 0 : spec.epsilon, rng, mask)[0];
    },
    dispose: () => net.dispose(),
  };
}

/** A SAC / mdpo-off (squashed Gaussian) or TD3 (deterministic) actor; these runs keep raw observations. */
function continuousPolicy(arrays: readonly NamedArray[], extra: JsonObject, seed: number): LoadedPolicy {
  const spec = extra as unknown as ContinuousActorSpec & { env: string };
  const obsSize = flatSize(spaceFromJSON(spec.observationSpace));
  const weights: Record<string, Float32Array> = {};
  for (const a of arrays) weights[a.name] = a.data as Float32Array;
  const actor = continuousActorFromSpec(spec, obsSize, weights, seed);
  const x = new Float32Array(obsSize);
  return {
    env: spec.env,
    spec: extra as Record<string, unknown>,
    act(obs, opts = {}) {
      const flat: ArrayLike<number> = isNumericArray(obs) ? obs : rawRow(obs, obsSize);
      for (let i = 0; i < obsSize; i++) x[i] = flat[i];
      return actor.act(x, opts.deterministic ?? true);
    },
    dispose: () => actor.dispose(),
  };
}

/** The `make` options the env of a loaded policy needs (the Dict observation for grid features). */
export function policyEnvOptions(policy: { env: string; spec: Record<string, unknown> }): Record<string, unknown> {
  return envMakeOptions({ env: policy.env, features: policy.spec.features === "grid" ? "grid" : "flat" });
}

function rawRow(obs: unknown, size: number): Float32Array {
  const row = new Float32Array(size);
  writeObservationRow(row, 0, size, obs, () => `loadPolicy: observation ${describeValue(obs)} does not fit the policy's ${size} inputs`);
  return row;
}

function maskRow(mask: ArrayLike<number | boolean>, n: number): Uint8Array {
  const out = new Uint8Array(n);
  writeMaskRow(mask, n, out, 0, "loaded policy");
  return out;
}

function currentBackend(): BackendName | null {
  try {
    return backendName();
  } catch {
    return null;
  }
}
