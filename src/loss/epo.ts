import * as tf from "#tfjs-core";
import { ConfigError, RefineryError, describeValue } from "../core/errors.js";
import { assertNonEmpty, assertNonNegative, assertRank } from "./checks.js";

/*
 * EPO — Entropy-regularized Policy Optimization (docs/methods.md §5; VERIFIED against the
 * authors' code `WujiangXu/EPO`, paper equations not read). On top of any clipped policy
 * loss it adds
 *
 *   L_EPO = −c_H·( H̄ − c_s·w(e)·P )
 *
 * H̄ the token-mean entropy, P the entropy-smoothing penalty against the per-turn
 * historical entropy Ĥ, w(e) the phase weight over training epochs.
 */

/**
 * EPO's phase weight w(e) (§5, `enable_smooth_weights`), e the current epoch in [0, E],
 * E the number of epochs, h = ⌊E/2⌋:
 *
 *   e ≤ h:  w = 1 − 0.2·(1 − exp(−2·e/h))
 *   e > h:  w = 0.8·exp(−3·(e − h)/(E − h))
 *
 * As coded, w decreases (with a jump just after h); the paper's own schedule is UNVERIFIED.
 * With E = 1 (h = 0) the first branch is its limit, w(0) = 1.
 */
export function epoPhaseWeight(e: number, E: number): number {
  if (!Number.isSafeInteger(E) || E < 1) {
    throw new ConfigError(`epoPhaseWeight: the number of epochs E must be an integer ≥ 1, got ${describeValue(E)}`, "pass the total number of epochs");
  }
  if (!Number.isFinite(e) || e < 0 || e > E) {
    throw new ConfigError(`epoPhaseWeight: epoch e must be in [0, ${E}], got ${describeValue(e)}`, "pass the current epoch (0-based) and the total");
  }
  const h = Math.floor(E / 2);
  if (e <= h) return h === 0 ? 1 : 1 - 0.2 * (1 - Math.exp((-2 * e) / h));
  return 0.8 * Math.exp((-3 * (e - h)) / (E - h));
}

/** Serialisable state of an `EntropyHistory`, for checkpoints. */
export interface EntropyHistoryState {
  turns: number;
  iterations: number;
  sums: number[];
}

/**
 * EPO's per-turn entropy history (§5). Each training iteration appends the vector of
 * token-mean entropies per turn j = 0..J−1 (J = `turns`, the env's `max_steps`, 50 in EPO):
 * a shorter vector is left-padded with zeros, a longer one left-truncated (its last J values
 * are kept) — as the authors' trainer does. The reference is the element-wise mean over
 * all stored iterations, Ĥ_j = mean_iter(history[iter][j]). Only the running sums are kept,
 * so memory is O(J) however long training runs.
 */
export class EntropyHistory {
  private sums: Float64Array;
  private iterations = 0;

  constructor(readonly turns = 50) {
    if (!Number.isSafeInteger(turns) || turns < 1) {
      throw new ConfigError(`EntropyHistory: turns must be an integer ≥ 1, got ${describeValue(turns)}`, "pass the maximum number of turns per episode (EPO: 50)");
    }
    this.sums = new Float64Array(turns);
  }

  /** Number of iterations appended so far. */
  get size(): number {
    return this.iterations;
  }

  append(perTurn: ArrayLike<number>): void {
    const J = this.turns;
    const n = perTurn.length;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(perTurn[i])) {
        throw new ConfigError(`EntropyHistory.append: turn ${i} has entropy ${describeValue(perTurn[i])}`, "append finite per-turn mean entropies");
      }
    }
    // Aligned at the right end: value n−1 goes to slot J−1; padding (zeros) adds nothing to the sums.
    for (let j = Math.max(0, J - n); j < J; j++) this.sums[j] += perTurn[n - J + j];
    this.iterations++;
  }

  /** Ĥ_j for j = 0..J−1; all zeros before the first append. */
  reference(): Float32Array {
    const out = new Float32Array(this.turns);
    if (this.iterations > 0) for (let j = 0; j < this.turns; j++) out[j] = this.sums[j] / this.iterations;
    return out;
  }

  getState(): EntropyHistoryState {
    return { turns: this.turns, iterations: this.iterations, sums: Array.from(this.sums) };
  }

  setState(state: EntropyHistoryState): void {
    const ok =
      state && state.turns === this.turns && Number.isSafeInteger(state.iterations) && state.iterations >= 0 &&
      Array.isArray(state.sums) && state.sums.length === this.turns && state.sums.every(Number.isFinite);
    if (!ok) {
      throw new ConfigError(
        `EntropyHistory.setState: the saved state does not fit a history of ${this.turns} turns`,
        "restore a state saved from a history with the same number of turns",
      );
    }
    this.iterations = state.iterations;
    this.sums = Float64Array.from(state.sums);
  }
}

/**
 * How the smoothing penalty is built (§5):
 * - `"as-coded"`: the authors' code — a constant `penalty` where the entropy is outside the
 *   band, 0 inside. It shifts the loss value but carries no gradient.
 * - `"differentiable"`: relu(κ_l·Ĥ − H) + relu(H − κ_r·Ĥ), which pulls the entropy back into
 *   the band. **Our choice, UNVERIFIED** against the paper's equation; `penalty` is unused.
 */
export type SmoothingMode = "as-coded" | "differentiable";

export interface SmoothingOptions {
  /** κ_l: lower edge of the band, as a fraction of Ĥ. Default 0.8. */
  kappaLow?: number;
  /** κ_r: upper edge of the band. Default 1.2. */
  kappaHigh?: number;
  /** The constant p outside the band in `"as-coded"` mode (`out_range_penalty`). Default 0.1. */
  penalty?: number;
  /** Default `"as-coded"` (faithful to the repository). */
  mode?: SmoothingMode;
}

export const EPO_SMOOTHING_DEFAULTS: Required<SmoothingOptions> = { kappaLow: 0.8, kappaHigh: 1.2, penalty: 0.1, mode: "as-coded" };

/**
 * EPO's entropy-smoothing penalty per token (§5, mask mode `token`):
 *
 *   as-coded:        p = 0 if κ_l·Ĥ < H < κ_r·Ĥ, else `penalty`    (boundaries count as outside)
 *   differentiable:  p = relu(κ_l·Ĥ − H) + relu(H − κ_r·Ĥ)         (UNVERIFIED, our choice)
 *
 * `tokenEntropy` is `[N]`; `reference` is Ĥ of each token's turn (`[N]`, e.g. gathered from
 * `EntropyHistory.reference()` by turn index) or one number for all. Returns `[N]`; P is its
 * token mean. The as-coded penalty has zero gradient (the comparison is cut from the
 * gradient tape, so it can sit in a loss whose other terms are differentiated).
 */
export function smoothingPenalty(tokenEntropy: tf.Tensor1D, reference: tf.Tensor1D | number, options: SmoothingOptions = {}): tf.Tensor1D {
  const { kappaLow, kappaHigh, penalty, mode } = { ...EPO_SMOOTHING_DEFAULTS, ...options };
  assertRank("smoothingPenalty", "tokenEntropy", tokenEntropy, 1);
  if (typeof reference !== "number" && (reference.rank !== 1 || reference.shape[0] !== tokenEntropy.shape[0])) {
    throw new RefineryError(
      "shape_mismatch",
      `smoothingPenalty: reference has shape [${reference.shape.join(", ")}] but tokenEntropy has shape [${tokenEntropy.shape.join(", ")}]`,
      "pass one reference entropy per token (Ĥ of the token's turn) or a single number",
    );
  }
  assertNonNegative("smoothingPenalty", "kappaLow", kappaLow);
  assertNonNegative("smoothingPenalty", "penalty", penalty);
  if (!(kappaHigh >= kappaLow) || !Number.isFinite(kappaHigh)) {
    throw new ConfigError(`smoothingPenalty: kappaHigh (${describeValue(kappaHigh)}) must be finite and ≥ kappaLow (${kappaLow})`, "use e.g. kappaLow 0.8, kappaHigh 1.2");
  }
  const ref = typeof reference === "number" ? tf.scalar(reference) : reference;
  const low = tf.mul(ref, kappaLow);
  const high = tf.mul(ref, kappaHigh);
  switch (mode) {
    case "differentiable":
      return tf.add(tf.relu(tf.sub(low, tokenEntropy)), tf.relu(tf.sub(tokenEntropy, high)));
    case "as-coded":
      return constantOutsideBand(tokenEntropy, low, high, penalty);
    default:
      throw new ConfigError(`smoothingPenalty: mode ${describeValue(mode)} is unknown`, 'use "as-coded" or "differentiable"');
  }
}

/** `penalty` outside the open band (low, high), 0 inside, with a zero gradient (comparisons have none in tfjs). */
function constantOutsideBand(entropy: tf.Tensor1D, low: tf.Tensor, high: tf.Tensor, penalty: number): tf.Tensor1D {
  const f = tf.customGrad((...inputs) => {
    const [h, lo, hi] = inputs as tf.Tensor[];
    const inside = tf.logicalAnd(tf.greater(h, lo), tf.less(h, hi));
    const value = tf.where(inside, tf.zerosLike(h), tf.fill(h.shape, penalty));
    return { value, gradFunc: () => [tf.zerosLike(h), tf.zerosLike(lo), tf.zerosLike(hi)] };
  });
  return f(entropy, low, high) as tf.Tensor1D;
}

/**
 * What EPO's smoothing does on a batch, for the metrics: [P, out-of-band fraction], P the
 * token mean of `smoothingPenalty` (before c_s·w, whether or not the gate applies it) and the
 * fraction of tokens whose entropy is outside the open band (κ_l·Ĥ, κ_r·Ĥ).
 */
export function epoBandStats(tokenEntropy: tf.Tensor1D, reference: tf.Tensor1D | number, options: SmoothingOptions = {}): tf.Tensor1D {
  const { kappaLow, kappaHigh } = { ...EPO_SMOOTHING_DEFAULTS, ...options };
  const h = tokenEntropy; // a diagnostic: it is never part of the differentiated loss
  const ref = typeof reference === "number" ? tf.scalar(reference) : reference;
  const inside = tf.logicalAnd(tf.greater(h, tf.mul(ref, kappaLow)), tf.less(h, tf.mul(ref, kappaHigh)));
  const outside = tf.sub(1, tf.mean(tf.cast(inside, "float32")));
  return tf.stack([tf.mean(smoothingPenalty(h, reference, options)), outside]) as tf.Tensor1D;
}

export interface EpoEntropyOptions extends SmoothingOptions {
  /** c_s, `entropy_smooth_coeff`. Default 1.0. */
  smoothCoef?: number;
  /** w(e) from `epoPhaseWeight`, or 1 when smooth weights are off. Default 1. */
  phaseWeight?: number;
  /**
   * Whether P is applied at all. The authors apply it only when the micro-batch holds turns
   * with index ≥ J/2 (`epoSmoothingApplies`); otherwise P = 0. Default true.
   */
  applySmoothing?: boolean;
}

/**
 * EPO's regularised entropy (§5), the quantity the loss maximises:
 *
 *   H̄ − c_s·w·P,    H̄ = mean(H),  P = mean(smoothingPenalty(H, Ĥ))
 *
 * over the (already masked and flattened) response tokens — token-mean aggregation.
 */
export function epoEntropyTerm(tokenEntropy: tf.Tensor1D, reference: tf.Tensor1D | number, options: EpoEntropyOptions = {}): tf.Scalar {
  const { smoothCoef = 1, phaseWeight = 1, applySmoothing = true, ...smoothing } = options;
  assertRank("epoEntropyTerm", "tokenEntropy", tokenEntropy, 1);
  assertNonEmpty("epoEntropyTerm", "tokenEntropy", tokenEntropy);
  for (const [name, v] of [["smoothCoef", smoothCoef], ["phaseWeight", phaseWeight]] as const) {
    if (!Number.isFinite(v)) throw new ConfigError(`epoEntropyTerm: ${name} must be a finite number, got ${describeValue(v)}`, `set ${name}`);
  }
  const meanEntropy = tf.mean(tokenEntropy) as tf.Scalar;
  if (!applySmoothing) return meanEntropy;
  const P = tf.mean(smoothingPenalty(tokenEntropy, reference, smoothing));
  return tf.sub(meanEntropy, tf.mul(P, smoothCoef * phaseWeight)) as tf.Scalar;
}

/**
 * EPO's entropy loss term (§5), to minimise: −c_H·(H̄ − c_s·w·P) with c_H = `entropyCoef`
 * (`entropy_coeff`, default 0.001). Add it to the policy loss with weight 1.
 */
export function epoEntropyLoss(
  tokenEntropy: tf.Tensor1D,
  reference: tf.Tensor1D | number,
  options: EpoEntropyOptions & { entropyCoef?: number } = {},
): tf.Scalar {
  const { entropyCoef = 0.001, ...rest } = options;
  if (!Number.isFinite(entropyCoef)) {
    throw new ConfigError(`epoEntropyLoss: entropyCoef must be a finite number, got ${describeValue(entropyCoef)}`, "set entropyCoef (EPO: 0.001)");
  }
  return tf.mul(epoEntropyTerm(tokenEntropy, reference, rest), -entropyCoef) as tf.Scalar;
}

/**
 * The authors' gate for P (§5): apply the smoothing penalty only when the micro-batch holds
 * a turn with index j ≥ J/2 (`maxTurns` = J).
 */
export function epoSmoothingApplies(turnIndex: ArrayLike<number>, maxTurns: number): boolean {
  for (let i = 0; i < turnIndex.length; i++) if (turnIndex[i] >= maxTurns / 2) return true;
  return false;
}
