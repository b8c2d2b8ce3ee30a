/**
 * Turn-level advantages of multi-turn episodes (pure functions on typed arrays). A *row* is one
 * turn of one episode; rows come episode after episode, turns in order. Each function returns one
 * advantage per row, which the engine broadcasts to the tokens of that turn.
 *
 * - flowGrpoAdvantages (Flow-GRPO, AgentFlow): the episode's outcome on every turn, normalised by
 *   the mean and std over all turn rows of the group (a 3-turn episode counts 3 times).
 * - gigpoAdvantages (GiGPO): that episode advantage plus ω × a step advantage from the turns of
 *   the group written after the same observation ("anchor state"), on discounted turn returns.
 * - hgpoAdvantages (HGPO): step advantages from nested groups of turns whose last k anchors
 *   match (k = 1 … historyLength + 1), weighted by (k+1)^α over the levels that give a signal.
 */

export interface TurnRows {
  /** Per row: the group (problem) of its episode. */
  group: Int32Array;
  /** Per row: its episode. Rows of one episode are contiguous and in turn order. */
  episode: Int32Array;
  /** Per row: the turn's reward (the outcome sits on the last turn). */
  reward: Float32Array;
  /** Per row: the observation the turn was written after (the prompt for turn 0). */
  anchor: string[];
}

export type NormMode = "mean_norm" | "mean_std_norm";

/** Σ_{u ≥ t} γ^{u−t} r_u within each episode: the turn's discounted return. */
export function turnReturns(rows: Pick<TurnRows, "episode" | "reward">, gamma: number): Float32Array {
  const n = rows.reward.length;
  const out = new Float32Array(n);
  let next = 0;
  for (let i = n - 1; i >= 0; i--) {
    const sameEpisode = i + 1 < n && rows.episode[i + 1] === rows.episode[i];
    next = rows.reward[i] + (sameEpisode ? gamma * next : 0);
    out[i] = next;
  }
  return out;
}

/** Each row's episode total (the sum of its episode's turn rewards). */
export function episodeTotals(rows: Pick<TurnRows, "episode" | "reward">): Float32Array {
  const sums = new Map<number, number>();
  rows.episode.forEach((e, i) => sums.set(e, (sums.get(e) ?? 0) + rows.reward[i]));
  return Float32Array.from(rows.episode, (e) => sums.get(e) as number);
}

/** Members (row indices) of each distinct key, in first-seen order. */
function clusters(keys: string[]): number[][] {
  const by = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const list = by.get(k);
    if (list) list.push(i);
    else by.set(k, [i]);
  });
  return [...by.values()];
}

function meanOf(values: Float32Array, idx: number[]): number {
  let s = 0;
  for (const i of idx) s += values[i];
  return s / idx.length;
}

function stdOf(values: Float32Array, idx: number[], mean: number, unbiased: boolean): number {
  let s = 0;
  for (const i of idx) s += (values[i] - mean) ** 2;
  return Math.sqrt(s / (unbiased ? idx.length - 1 : idx.length));
}

/**
 * Group-normalised values over the rows of each group (verl's GRPO estimator on rows): mean and
 * unbiased std over the group's rows, eps added to the std; a group of one row gets mean 0, std 1.
 * With `scaleByStd` false only the mean is subtracted.
 */
export function rowGroupNormalised(values: Float32Array, group: Int32Array, opts: { eps: number; scaleByStd: boolean }): Float32Array {
  const out = new Float32Array(values.length);
  for (const idx of clusters(Array.from(group, String))) {
    const single = idx.length === 1;
    const mean = single ? 0 : meanOf(values, idx);
    const std = single ? 1 : stdOf(values, idx, mean, true);
    for (const i of idx) out[i] = opts.scaleByStd ? (values[i] - mean) / (std + opts.eps) : values[i] - mean;
  }
  return out;
}

/** Flow-GRPO: every turn row carries its episode's total reward, normalised over the group's rows. */
export function flowGrpoAdvantages(rows: Pick<TurnRows, "group" | "episode" | "reward">, opts: { eps: number; scaleByStd: boolean } = { eps: 1e-6, scaleByStd: true }): Float32Array {
  return rowGroupNormalised(episodeTotals(rows), rows.group, opts);
}

export interface GigpoOptions {
  mode: NormMode;
  /** ω: weight of the step advantage. */
  stepWeight: number;
  gamma: number;
  eps: number;
}

/**
 * GiGPO: A = A_episode + ω·A_step. A_episode normalises the episode totals over all rows of the
 * group (as Flow-GRPO; `mean_norm` only subtracts the mean). A_step groups the rows of a group by
 * identical anchor and normalises the turn returns there (unbiased std); a singleton gets 0.
 */
export function gigpoAdvantages(rows: TurnRows, o: GigpoOptions): Float32Array {
  const scaleByStd = o.mode === "mean_std_norm";
  const episode = rowGroupNormalised(episodeTotals(rows), rows.group, { eps: o.eps, scaleByStd });
  const returns = turnReturns(rows, o.gamma);
  const step = new Float32Array(rows.reward.length);
  for (const idx of clusters(rows.anchor.map((a, i) => `${rows.group[i]}\u0000${a}`))) {
    if (idx.length < 2) continue;
    const mean = meanOf(returns, idx);
    const std = stdOf(returns, idx, mean, true);
    for (const i of idx) step[i] = scaleByStd ? (returns[i] - mean) / (std + o.eps) : returns[i] - mean;
  }
  return Float32Array.from(episode, (a, i) => a + o.stepWeight * step[i]);
}

export interface HgpoOptions {
  /** Anchors of history beyond the current one: levels k = 1 … historyLength + 1. */
  historyLength: number;
  /** α of the level weights (k+1)^α. */
  alpha: number;
  mode: NormMode;
  gamma: number;
  eps: number;
  /** Add the episode advantage (normalised over the group's rows) as level 0 with weight 1. */
  baseGroup: boolean;
}

/**
 * HGPO: for every level k, the rows of a group whose last k anchors (ending at the row's own) are
 * identical form a cluster; with ≥ 2 members its turn returns are normalised (population std in
 * `mean_std_norm`). A row's advantage is Σ w_k·a_k over its levels with a_k ≠ 0, w_k = (k+1)^α /
 * (Σ (k+1)^α + eps) over those levels. A level k needs k anchors of history: turn t has levels
 * k ≤ t + 1 (our reading: a shorter history would repeat a lower level).
 */
export function hgpoAdvantages(rows: TurnRows, o: HgpoOptions): Float32Array {
  const n = rows.reward.length;
  const returns = turnReturns(rows, o.gamma);
  const turnOf = new Int32Array(n);
  for (let i = 1; i < n; i++) turnOf[i] = rows.episode[i] === rows.episode[i - 1] ? turnOf[i - 1] + 1 : 0;
  const levels: { k: number; a: Float32Array; has: Uint8Array }[] = [];
  if (o.baseGroup) {
    const base = rowGroupNormalised(episodeTotals(rows), rows.group, { eps: o.eps, scaleByStd: o.mode === "mean_std_norm" });
    levels.push({ k: 0, a: base, has: new Uint8Array(n).fill(1) });
  }
  for (let k = 1; k <= o.historyLength + 1; k++) {
    const a = new Float32Array(n);
    const has = new Uint8Array(n);
    const keys = Array.from({ length: n }, (_, i) => (turnOf[i] + 1 < k ? `\u0001${i}` : `${rows.group[i]}\u0000${rows.anchor.slice(i - k + 1, i + 1).join("\u0000")}`));
    for (const idx of clusters(keys)) {
      if (idx.length < 2) continue;
      const mean = meanOf(returns, idx);
      const std = stdOf(returns, idx, mean, false);
      for (const i of idx) {
        a[i] = o.mode === "mean_std_norm" ? (returns[i] - mean) / (std + o.eps) : returns[i] - mean;
        has[i] = 1;
      }
    }
    levels.push({ k, a, has });
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let weightSum = 0;
    let sum = 0;
    for (const l of levels) {
      if (!l.has[i] || l.a[i] === 0) continue;
      const w = (l.k + 1) ** o.alpha;
      weightSum += w;
      sum += w * l.a[i];
    }
    out[i] = weightSum > 0 ? sum / (weightSum + o.eps) : 0;
  }
  return out;
}

/**
 * ProRAG's dual-granularity advantage, per token: the outcome advantage of its episode plus β
 * times its process score normalised over all tokens of its group,
 *
 *   A_{i,t} = (r_i − mean_g r) / (std_g r + eps) + β·(p_{i,t} − μ_g) / σ_g
 *
 * std_g unbiased over the group's episodes; μ_g, σ_g over the group's tokens with the population
 * variance and 1e-8 inside the square root (σ_g = 1 for a group of ≤ 1 token). `tokenScore` is
 * the score of each token (its turn's score); `tokenEpisode` the episode of each token.
 */
export function processRewardAdvantages(
  episodeReturn: ArrayLike<number>,
  episodeGroup: ArrayLike<number>,
  tokenScore: Float32Array,
  tokenEpisode: Int32Array,
  opts: { beta: number; eps: number },
): Float32Array {
  const outcome = new Float64Array(episodeReturn.length);
  const byGroup = clusters(Array.from(episodeGroup as ArrayLike<number>, String));
  const returns = Float32Array.from(episodeReturn as ArrayLike<number>);
  for (const idx of byGroup) {
    if (idx.length < 2) continue;
    const mean = meanOf(returns, idx);
    const std = stdOf(returns, idx, mean, true);
    for (const i of idx) outcome[i] = (returns[i] - mean) / (std + opts.eps);
  }
  const tokenGroup = Array.from(tokenEpisode, (e) => String(episodeGroup[e]));
  const out = new Float32Array(tokenScore.length);
  for (const idx of clusters(tokenGroup)) {
    const mean = meanOf(tokenScore, idx);
    let v = 0;
    for (const i of idx) v += (tokenScore[i] - mean) ** 2;
    const sigma = idx.length <= 1 ? 1 : Math.sqrt(v / idx.length + 1e-8);
    for (const i of idx) out[i] = outcome[tokenEpisode[i]] + opts.beta * ((tokenScore[i] - mean) / sigma);
  }
  return out;
}
