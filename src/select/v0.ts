/**
 * V₀-style rollout budgets: predict the current policy's success rate p̂ on a prompt before
 * sampling it, from the policy's recent (prompt, outcome) history, and spend the group budget
 * where a group can carry a signal (GRPO's advantages are zero when every episode of a group
 * scores the same).
 *
 * The predictor here is a small analogue of V₀'s in-context one: outcomes binarised at ≥ 0.5,
 * prompts described by their character counts, and p̂ = (positives + 1) / (k + 2) among the k
 * nearest recorded prompts (Laplace-smoothed; our choice). The allocation rule is the documented
 * default of the reference, itself unverified against the paper: skip prompts with p̂ < δ or
 * p̂ > 1 − δ, and split the budget in proportion to p̂(1 − p̂), rounding by largest remainder.
 */

/** Outcome labels as V₀ fits them: 1 when the score is ≥ 0.5. */
export function binariseScores(scores: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(scores as ArrayLike<number>, (s) => (s >= 0.5 ? 1 : 0));
}

/**
 * Integer group sizes summing to `budget` (when any prompt is kept): weight w_i = p̂_i(1 − p̂_i)
 * for δ ≤ p̂_i ≤ 1 − δ, else 0; share budget·w_i/Σw, floors first, the remaining units to the
 * largest remainders (ties to the earlier prompt). All weights zero: every prompt gets 0.
 */
export function allocateBudget(pHat: ArrayLike<number>, budget: number, delta: number): number[] {
  const w = Array.from(pHat as ArrayLike<number>, (p) => (p < delta || p > 1 - delta ? 0 : p * (1 - p)));
  const total = w.reduce((a, b) => a + b, 0);
  if (total <= 0) return w.map(() => 0);
  const share = w.map((x) => (budget * x) / total);
  const out = share.map(Math.floor);
  let left = budget - out.reduce((a, b) => a + b, 0);
  const order = share.map((s, i) => ({ i, r: s - Math.floor(s) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (w[i] === 0) continue;
    out[i]++;
    left--;
  }
  return out;
}

/**
 * Every group gets at least `minSize` episodes or none (one episode alone has no baseline): the
 * units of smaller groups go to the largest group.
 */
export function enforceMinGroup(sizes: number[], minSize: number): number[] {
  const out = [...sizes];
  let freed = 0;
  out.forEach((s, i) => {
    if (s > 0 && s < minSize) {
      freed += s;
      out[i] = 0;
    }
  });
  const largest = out.reduce((best, s, i) => (s > out[best] ? i : best), 0);
  if (freed > 0 && out[largest] > 0) out[largest] += freed;
  return out;
}

/** A bag-of-characters description of a prompt (counts per character code below 128). */
export function promptFeatures(prompt: string): Float32Array {
  const f = new Float32Array(128);
  for (const ch of prompt) {
    const c = ch.charCodeAt(0);
    if (c < 128) f[c]++;
  }
  return f;
}

/** The policy's recent (prompt, outcome) history and the k-nearest-neighbour success predictor over it. */
export class SuccessPredictor {
  private features: Float32Array[] = [];
  private labels: number[] = [];

  constructor(
    readonly capacity: number,
    readonly k: number,
  ) {}

  get size(): number {
    return this.labels.length;
  }

  /** Records the outcome of a prompt (binarised at ≥ 0.5); the oldest records fall out past `capacity`. */
  record(prompt: string, score: number): void {
    this.features.push(promptFeatures(prompt));
    this.labels.push(score >= 0.5 ? 1 : 0);
    if (this.labels.length > this.capacity) {
      this.features.shift();
      this.labels.shift();
    }
  }

  /** p̂ = (positives + 1) / (k' + 2) among the k' = min(k, size) nearest records (squared Euclidean distance); 0.5 with no history. */
  predict(prompt: string): number {
    const n = this.labels.length;
    if (n === 0) return 0.5;
    const f = promptFeatures(prompt);
    const d = this.features.map((g, i) => {
      let s = 0;
      for (let j = 0; j < g.length; j++) s += (g[j] - f[j]) ** 2;
      return { s, i };
    });
    d.sort((a, b) => a.s - b.s || b.i - a.i);
    const kk = Math.min(this.k, n);
    let pos = 0;
    for (let j = 0; j < kk; j++) pos += this.labels[d[j].i];
    return (pos + 1) / (kk + 2);
  }

  getState(): { labels: number[]; features: number[][] } {
    return { labels: [...this.labels], features: this.features.map((f) => Array.from(f)) };
  }

  setState(s: { labels: number[]; features: number[][] }): void {
    this.labels = [...s.labels];
    this.features = s.features.map((f) => Float32Array.from(f));
  }
}
