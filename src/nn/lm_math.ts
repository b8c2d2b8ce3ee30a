import { ConfigError, describeValue } from "../core/errors.js";
import type { Rng } from "../core/rng.js";

/**
 * Small pure functions of a language model's output: token log-probabilities, entropies,
 * their gradients with respect to the logits, and sampling. All work on row-major logits
 * [rows, V] in Float32Arrays; sums run in float64.
 */

/**
 * Per position k: the log-softmax of logits row `rows[k]` at `targets[k]`, into
 * `outLogProb[k]`, and (when `outEntropy` is given) the entropy H = −Σ p log p of that
 * row's softmax, into `outEntropy[k]`. `logits` is [*, V], row-major.
 */
export function tokenLogProbs(
  logits: Float32Array,
  V: number,
  rows: Int32Array,
  targets: Int32Array,
  outLogProb: Float32Array,
  outEntropy: Float32Array | null,
): void {
  checkRows(logits, V, rows, targets, "tokenLogProbs");
  if (outLogProb.length < rows.length || (outEntropy !== null && outEntropy.length < rows.length)) {
    throw new ConfigError(`tokenLogProbs: output arrays need ${rows.length} entries`, "pass outLogProb (and outEntropy) with one entry per position");
  }
  for (let k = 0; k < rows.length; k++) {
    const base = rows[k] * V;
    const { max, logSum } = logSumExp(logits, base, V);
    const lse = max + logSum;
    outLogProb[k] = logits[base + targets[k]] - lse;
    if (outEntropy !== null) {
      // H = lse − Σ p·z, with p = exp(z − lse).
      let expected = 0;
      for (let j = 0; j < V; j++) {
        const z = logits[base + j];
        expected += Math.exp(z - lse) * z;
      }
      outEntropy[k] = lse - expected;
    }
  }
}

/**
 * Backpropagation of `tokenLogProbs`: adds to `dLogits` (laid out like `logits`, indexed
 * by row) the gradient of a loss whose derivatives with respect to each position's
 * log-probability and entropy are `dLogProb[k]` and `dEntropy[k]`:
 *   d logp/dz_j = onehot(target)_j − p_j,   dH/dz_j = −p_j (log p_j + H).
 * Several positions may share a row; their contributions add up.
 */
export function logitGradients(
  logits: Float32Array,
  V: number,
  rows: Int32Array,
  targets: Int32Array,
  dLogProb: Float32Array,
  dEntropy: Float32Array | null,
  dLogits: Float32Array,
): void {
  checkRows(logits, V, rows, targets, "logitGradients");
  if (dLogProb.length < rows.length || (dEntropy !== null && dEntropy.length < rows.length)) {
    throw new ConfigError(`logitGradients: dLogProb (and dEntropy) need ${rows.length} entries`, "pass one derivative per position");
  }
  if (dLogits.length < logits.length) {
    throw new ConfigError(`logitGradients: dLogits has ${dLogits.length} entries, logits ${logits.length}`, "pass a gradient array shaped like logits");
  }
  for (let k = 0; k < rows.length; k++) {
    const base = rows[k] * V;
    const { max, logSum } = logSumExp(logits, base, V);
    const lse = max + logSum;
    const gLogProb = dLogProb[k];
    const gEntropy = dEntropy === null ? 0 : dEntropy[k];
    let entropy = 0;
    if (gEntropy !== 0) {
      let expected = 0;
      for (let j = 0; j < V; j++) expected += Math.exp(logits[base + j] - lse) * logits[base + j];
      entropy = lse - expected;
    }
    for (let j = 0; j < V; j++) {
      const logp = logits[base + j] - lse;
      const p = Math.exp(logp);
      dLogits[base + j] += -gLogProb * p - gEntropy * p * (logp + entropy);
    }
    dLogits[base + targets[k]] += gLogProb;
  }
}

export interface SampledToken {
  token: number;
  /** Log-probability of `token` under the distribution it was drawn from (tempered, top-k); 0 for greedy. */
  logProb: number;
  /** Log-probability of `token` under the plain softmax of the logits (temperature 1, no top-k). */
  rawLogProb: number;
}

/**
 * Draws one token from `logits[offset, offset + V)`.
 * - temperature 0: greedy — the argmax (ties go to the lowest id), drawing nothing from
 *   `rng`; `logProb` is 0 (the greedy choice is certain).
 * - temperature > 0: softmax(z / temperature), restricted to the `topK` largest logits
 *   when 0 < topK < V (ties at the cut go to the lower ids), renormalised; exactly one
 *   `rng.uniform()` draw per call, walked through the cumulative probabilities in id
 *   order. topK = 1 therefore picks the greedy token (and still draws once).
 * Returns the token, its log-probability under that sampling distribution, and under the
 * model's plain temperature-1 softmax.
 */
export function sampleToken(logits: Float32Array, offset: number, V: number, rng: Rng, temperature: number, topK: number): SampledToken {
  if (!Number.isSafeInteger(V) || V < 1 || !Number.isSafeInteger(offset) || offset < 0 || offset + V > logits.length) {
    throw new ConfigError(`sampleToken: logits[${describeValue(offset)}, +${describeValue(V)}) is outside an array of length ${logits.length}`, "pass the offset of one row of V logits");
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new ConfigError(`sampling temperature must be a finite number ≥ 0, got ${describeValue(temperature)}`, "pass e.g. 1 (plain sampling) or 0 (greedy)");
  }
  if (!Number.isSafeInteger(topK) || topK < 0) {
    throw new ConfigError(`top-k must be a non-negative integer, got ${describeValue(topK)}`, "pass 0 (off) or e.g. 40");
  }
  const { max, logSum } = logSumExp(logits, offset, V);
  const rawLse = max + logSum;
  if (temperature === 0) {
    let best = 0;
    for (let j = 1; j < V; j++) if (logits[offset + j] > logits[offset + best]) best = j;
    return { token: best, logProb: 0, rawLogProb: logits[offset + best] - rawLse };
  }
  const keep = topK > 0 && topK < V ? topKMask(logits, offset, V, topK) : null;
  // Tempered, masked log-normaliser: max over kept logits, then Σ exp((z − max)/T).
  let tMax = -Infinity;
  for (let j = 0; j < V; j++) if ((keep === null || keep[j] === 1) && logits[offset + j] > tMax) tMax = logits[offset + j];
  let total = 0;
  for (let j = 0; j < V; j++) if (keep === null || keep[j] === 1) total += Math.exp((logits[offset + j] - tMax) / temperature);
  const u = rng.uniform() * total;
  let token = -1;
  let acc = 0;
  for (let j = 0; j < V; j++) {
    if (keep !== null && keep[j] === 0) continue;
    acc += Math.exp((logits[offset + j] - tMax) / temperature);
    token = j;
    if (u < acc) break;
  }
  // (Round-off can leave u ≥ the final sum: the last kept token is taken then.)
  const logProb = (logits[offset + token] - tMax) / temperature - Math.log(total);
  return { token, logProb, rawLogProb: logits[offset + token] - rawLse };
}

/** 1 for the k largest logits (ties broken towards lower ids), 0 elsewhere. */
function topKMask(logits: Float32Array, offset: number, V: number, k: number): Uint8Array {
  const order = Array.from({ length: V }, (_, j) => j);
  order.sort((a, b) => logits[offset + b] - logits[offset + a] || a - b);
  const keep = new Uint8Array(V);
  for (let r = 0; r < k; r++) keep[order[r]] = 1;
  return keep;
}

/** max and log Σ exp(z − max) of logits[base, base + V). */
function logSumExp(logits: Float32Array, base: number, V: number): { max: number; logSum: number } {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[base + j] > max) max = logits[base + j];
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(logits[base + j] - max);
  return { max, logSum: Math.log(sum) };
}

function checkRows(logits: Float32Array, V: number, rows: Int32Array, targets: Int32Array, what: string): void {
  if (!Number.isSafeInteger(V) || V < 1) {
    throw new ConfigError(`${what}: vocabulary size V must be a positive integer, got ${describeValue(V)}`, "pass the number of logits per row");
  }
  if (targets.length < rows.length) {
    throw new ConfigError(`${what}: ${rows.length} rows but ${targets.length} targets`, "pass one target token per row index");
  }
  const numRows = Math.floor(logits.length / V);
  for (let k = 0; k < rows.length; k++) {
    if (rows[k] < 0 || rows[k] >= numRows) {
      throw new ConfigError(`${what}: row index ${rows[k]} (position ${k}) is outside the ${numRows} logit rows`, "pass row indices into the [rows, V] logits");
    }
    if (targets[k] < 0 || targets[k] >= V) {
      throw new ConfigError(`${what}: target token ${targets[k]} (position ${k}) is outside [0, ${V})`, "pass token ids smaller than the vocabulary size");
    }
  }
}
