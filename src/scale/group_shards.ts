import type { IterationMetrics } from "../algos/types.js";
import type { GroupBatch } from "../rollout/group_collector.js";
import type { TextBatch, TextStart } from "../rollout/text_collector.js";
import { WireError, type WireArray, type WireMessage } from "./wire.js";

/**
 * Group and text batches on the wire. A group algorithm's iteration (numStarts × groupSize
 * episodes, or numPrompts × groupSize completions) is collected as `shards` pieces of whole
 * groups; the learner puts them back one after the other (group axis) in shard order.
 *
 * Only what cannot be derived is sent: the per-step episode and group indices, the episode
 * starts and `dones` follow from the episode lengths, and are rebuilt (and so cannot be
 * inconsistent) on the learner.
 */

/** The layout every piece of a run has; a piece that differs is rejected. */
export interface GroupShape {
  numGroups: number;
  groupSize: number;
  obsSize: number;
  actSize: number;
  discrete: boolean;
  /** Whether pieces carry V(obs) per step (a recipe with a learned baseline). */
  values: boolean;
}

export function groupShapeOf(b: GroupBatch): GroupShape {
  return { numGroups: b.numGroups, groupSize: b.groupSize, obsSize: b.obsSize, actSize: b.actSize, discrete: b.discrete, values: b.values !== undefined };
}

/** Header fields and arrays of a group batch (the caller adds kind, run, session, …). */
export function groupPayload(b: GroupBatch): { header: Record<string, unknown>; arrays: Record<string, WireArray> } {
  const arrays: Record<string, WireArray> = {
    obs: b.obs,
    actions: b.actions,
    logProbs: b.logProbs,
    rewards: b.rewards,
    episodeLength: b.episodeLength,
    episodeReturn: b.episodeReturn,
    terminated: b.terminated,
    truncated: b.truncated,
    finalObs: b.finalObs,
  };
  if (b.values) arrays.values = b.values;
  // The masks the actions were chosen under (action masking), so the update scores them under the same masks.
  if (b.actionMasks) arrays.actionMasks = b.actionMasks;
  return {
    header: { numGroups: b.numGroups, groupSize: b.groupSize, obsSize: b.obsSize, actSize: b.actSize, discrete: b.discrete, groupSeed: Array.from(b.groupSeed) },
    arrays,
  };
}

type Ctor = abstract new (...args: never[]) => unknown;

function need<T>(a: Record<string, WireArray>, name: string, C: Ctor, length: number): T {
  const x = a[name];
  if (!(x instanceof C) || x.length !== length) throw new WireError(`array ${name} is missing or has the wrong type or length`);
  return x as T;
}

/** The group batch of a decoded message, checked against the run's layout (WireError otherwise). */
export function decodeGroupBatch(msg: WireMessage, shape: GroupShape): GroupBatch {
  const h = msg.header;
  for (const key of ["numGroups", "groupSize", "obsSize", "actSize", "discrete"] as const) {
    if (h[key] !== shape[key]) throw new WireError(`batch ${key} ${JSON.stringify(h[key])} is not the run's ${JSON.stringify(shape[key])}`);
  }
  const a = msg.arrays;
  const B = shape.numGroups;
  const G = shape.groupSize;
  const n = B * G;
  const episodeLength = need<Int32Array>(a, "episodeLength", Int32Array, n);
  let numSteps = 0;
  for (const len of episodeLength) {
    if (len < 0) throw new WireError("negative episode length");
    numSteps += len;
  }
  const seeds = h.groupSeed;
  if (!Array.isArray(seeds) || seeds.length !== B || !seeds.every((s) => typeof s === "number")) throw new WireError("groupSeed is not a list of one number per group");
  const { obsSize, actSize, discrete } = shape;
  const batch: GroupBatch = {
    numGroups: B,
    groupSize: G,
    numEpisodes: n,
    numSteps,
    obsSize,
    actSize,
    discrete,
    obs: need(a, "obs", Float32Array, numSteps * obsSize),
    actions: discrete ? need(a, "actions", Int32Array, numSteps) : need(a, "actions", Float32Array, numSteps * actSize),
    logProbs: need(a, "logProbs", Float32Array, numSteps),
    rewards: need(a, "rewards", Float32Array, numSteps),
    dones: new Uint8Array(numSteps),
    episodeIndex: new Int32Array(numSteps),
    groupIndex: new Int32Array(numSteps),
    episodeReturn: need(a, "episodeReturn", Float32Array, n),
    episodeLength,
    episodeStart: new Int32Array(n),
    episodeGroup: Int32Array.from({ length: n }, (_, e) => Math.floor(e / G)),
    terminated: need(a, "terminated", Uint8Array, n),
    truncated: need(a, "truncated", Uint8Array, n),
    finalObs: need(a, "finalObs", Float32Array, n * obsSize),
    groupSeed: Float64Array.from(seeds as number[]),
  };
  if (shape.values) batch.values = need(a, "values", Float32Array, numSteps);
  const masks = a.actionMasks;
  if (masks !== undefined) {
    if (!(masks instanceof Uint8Array) || !discrete || (numSteps > 0 ? masks.length % numSteps !== 0 : masks.length !== 0)) throw new WireError("array actionMasks has the wrong type or length");
    batch.actionMasks = masks;
  }
  fillIndices(batch);
  return batch;
}

/** episodeStart, episodeIndex, groupIndex and dones from the episode lengths (as the collectors lay them out). */
function fillIndices(b: GroupBatch): void {
  let s = 0;
  for (let e = 0; e < b.numEpisodes; e++) {
    const len = b.episodeLength[e];
    b.episodeStart[e] = s;
    b.episodeIndex.fill(e, s, s + len);
    b.groupIndex.fill(b.episodeGroup[e], s, s + len);
    if (len > 0) b.dones[s + len - 1] = 1;
    s += len;
  }
}

/** Pieces of one iteration, one after the other: group b of piece k becomes group k·B + b. */
export function mergeGroupBatches(parts: GroupBatch[]): GroupBatch {
  if (parts.length === 1) return parts[0];
  const first = parts[0];
  const G = first.groupSize;
  const cat = <T extends Float32Array | Int32Array | Uint8Array | Float64Array>(pick: (b: GroupBatch) => T): T => {
    const xs = parts.map(pick);
    const out = new (xs[0].constructor as new (n: number) => T)(xs.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const x of xs) {
      out.set(x as never, o);
      o += x.length;
    }
    return out;
  };
  const numGroups = parts.reduce((s, p) => s + p.numGroups, 0);
  const numSteps = parts.reduce((s, p) => s + p.numSteps, 0);
  const n = numGroups * G;
  const out: GroupBatch = {
    numGroups,
    groupSize: G,
    numEpisodes: n,
    numSteps,
    obsSize: first.obsSize,
    actSize: first.actSize,
    discrete: first.discrete,
    obs: cat((b) => b.obs),
    actions: cat((b) => b.actions),
    logProbs: cat((b) => b.logProbs),
    rewards: cat((b) => b.rewards),
    dones: new Uint8Array(numSteps),
    episodeIndex: new Int32Array(numSteps),
    groupIndex: new Int32Array(numSteps),
    episodeReturn: cat((b) => b.episodeReturn),
    episodeLength: cat((b) => b.episodeLength),
    episodeStart: new Int32Array(n),
    episodeGroup: Int32Array.from({ length: n }, (_, e) => Math.floor(e / G)),
    terminated: cat((b) => b.terminated),
    truncated: cat((b) => b.truncated),
    finalObs: cat((b) => b.finalObs),
    groupSeed: cat((b) => b.groupSeed),
  };
  if (first.values) out.values = cat((b) => b.values as Float32Array);
  // Masks travel when every piece has them (the same env, so the same number of actions).
  if (parts.every((p) => p.actionMasks)) out.actionMasks = cat((b) => b.actionMasks as Uint8Array);
  fillIndices(out);
  return out;
}

/** A text piece: its group batch plus the prompts, contexts, token entropies, completions and verdicts. */
export interface TextPiece {
  batch: TextBatch;
  metrics: IterationMetrics;
}

export function textPayload(p: TextPiece): { header: Record<string, unknown>; arrays: Record<string, WireArray> } {
  const t = p.batch;
  const g = groupPayload(t.batch);
  const contextLength = Int32Array.from(t.contexts, (c) => c.length);
  const contexts = new Int32Array(contextLength.reduce((s, l) => s + l, 0));
  let o = 0;
  for (const c of t.contexts) {
    contexts.set(c, o);
    o += c.length;
  }
  return {
    header: { ...g.header, starts: t.starts, completions: t.completions, metrics: p.metrics },
    arrays: { ...g.arrays, entropy: t.entropy, correct: t.correct, contexts, contextLength },
  };
}

export function decodeTextPiece(msg: WireMessage, shape: GroupShape): TextPiece {
  const batch = decodeGroupBatch(msg, shape);
  const h = msg.header;
  const a = msg.arrays;
  const B = batch.numGroups;
  const n = batch.numEpisodes;
  const starts = h.starts;
  if (!Array.isArray(starts) || starts.length !== B || !starts.every(isTextStart)) throw new WireError("starts are not one {seed, state, problem} per group");
  const completions = h.completions;
  if (!Array.isArray(completions) || completions.length !== n || !completions.every((c) => typeof c === "string")) throw new WireError("completions are not one string per episode");
  const metrics = h.metrics;
  if (!metrics || typeof metrics !== "object" || Array.isArray(metrics) || !Object.values(metrics).every((v) => typeof v === "number")) throw new WireError("metrics are not an object of numbers");
  const contextLength = need<Int32Array>(a, "contextLength", Int32Array, B);
  let total = 0;
  for (const l of contextLength) {
    if (l < 1) throw new WireError("a context is empty");
    total += l;
  }
  const flat = need<Int32Array>(a, "contexts", Int32Array, total);
  const contexts: Int32Array[] = [];
  let o = 0;
  for (const l of contextLength) {
    contexts.push(flat.slice(o, o + l));
    o += l;
  }
  return {
    batch: {
      batch,
      starts: starts as TextStart[],
      contexts,
      entropy: need(a, "entropy", Float32Array, batch.numSteps),
      completions: completions as string[],
      correct: need(a, "correct", Float32Array, n),
    },
    metrics: metrics as IterationMetrics,
  };
}

function isTextStart(s: unknown): boolean {
  if (!s || typeof s !== "object") return false;
  const x = s as Record<string, unknown>;
  const p = x.problem as Record<string, unknown> | undefined;
  return typeof x.seed === "number" && Array.isArray(x.state) && !!p && typeof p.prompt === "string" && typeof p.solution === "string" && !!p.data && typeof p.data === "object";
}

/**
 * Text pieces one after the other. Sampler metrics (iGRPO's) that count tokens are summed,
 * the others averaged over the pieces (each piece has the same number of prompts).
 */
export function mergeTextPieces(parts: TextPiece[]): TextPiece {
  if (parts.length === 1) return parts[0];
  const metrics: IterationMetrics = {};
  for (const key of Object.keys(parts[0].metrics)) {
    const values = parts.map((p) => p.metrics[key] ?? 0);
    const total = values.reduce((s, v) => s + v, 0);
    metrics[key] = /Tokens$/.test(key) ? total : total / values.length;
  }
  const catF = (pick: (t: TextBatch) => Float32Array) => {
    const xs = parts.map((p) => pick(p.batch));
    const out = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
    let o = 0;
    for (const x of xs) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };
  return {
    batch: {
      batch: mergeGroupBatches(parts.map((p) => p.batch.batch)),
      starts: parts.flatMap((p) => p.batch.starts),
      contexts: parts.flatMap((p) => p.batch.contexts),
      entropy: catF((t) => t.entropy),
      completions: parts.flatMap((p) => p.batch.completions),
      correct: catF((t) => t.correct),
    },
    metrics,
  };
}
