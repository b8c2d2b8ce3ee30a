import { ConfigError, describeValue } from "../core/errors.js";

/**
 * Where each episode lies in a flat, episode-contiguous step array: episode e occupies
 * steps `episodeStart[e] .. episodeStart[e] + episodeLength[e] − 1` (a `GroupBatch` is one).
 */
export interface EpisodeSpans {
  episodeStart: ArrayLike<number>;
  episodeLength: ArrayLike<number>;
}

export interface ReturnsToGoOptions {
  /**
   * Per-step baseline b_t to subtract (REINFORCE with a learned baseline: V(s_t)). Without
   * it the output is the plain return-to-go.
   */
  baseline?: ArrayLike<number>;
  /**
   * Per-episode value added after the last step, discounted: G_t += γ^(T−t)·bootstrap[e].
   * Pass V(final observation) for truncated episodes and 0 for terminated ones; default 0
   * everywhere (plain Monte-Carlo returns).
   */
  bootstrap?: ArrayLike<number>;
}

/**
 * Discounted return-to-go per step, within each episode — the Monte-Carlo credit of
 * REINFORCE (issue 4; docs/methods.md §7, the textbook form):
 *
 *   G_t = Σ_{k=t}^{T−1} γ^(k−t)·r_k  (+ γ^(T−t)·bootstrap[e])      computed backwards
 *   out_t = G_t − b_t   with a baseline,   G_t   without
 *
 * Episodes never mix: each sum stops at its episode's last step. Sums run in float64.
 * With γ = 1 and no baseline, out at an episode's first step is its undiscounted return.
 */
export function discountedReturnsToGo(
  rewards: ArrayLike<number>,
  spans: EpisodeSpans,
  gamma: number,
  options: ReturnsToGoOptions = {},
): Float32Array {
  const { baseline, bootstrap } = options;
  if (!Number.isFinite(gamma) || gamma < 0 || gamma > 1) {
    throw new ConfigError(`discountedReturnsToGo: gamma must be in [0, 1], got ${describeValue(gamma)}`, "set gamma to e.g. 0.99");
  }
  const n = rewards.length;
  checkSpans(spans, n);
  if (baseline && baseline.length !== n) {
    throw new ConfigError(
      `discountedReturnsToGo: baseline has ${baseline.length} values for ${n} steps`,
      "pass one baseline value per step (e.g. the batch's values)",
    );
  }
  const numEpisodes = spans.episodeStart.length;
  if (bootstrap && bootstrap.length !== numEpisodes) {
    throw new ConfigError(
      `discountedReturnsToGo: bootstrap has ${bootstrap.length} values for ${numEpisodes} episodes`,
      "pass one bootstrap value per episode (0 for terminated episodes)",
    );
  }
  const out = new Float32Array(n);
  for (let e = 0; e < numEpisodes; e++) {
    const start = spans.episodeStart[e];
    let g = bootstrap ? bootstrap[e] : 0;
    for (let t = start + spans.episodeLength[e] - 1; t >= start; t--) {
      g = rewards[t] + gamma * g;
      out[t] = baseline ? g - baseline[t] : g;
    }
  }
  return out;
}

/**
 * Outcome-only credit (docs/methods.md §2 "every token t of o_i gets A_{i,t} = A_i", §3 "every
 * step of trajectory i uses the same A_i"): each step gets its episode's value,
 *
 *   out_t = perEpisode[episodeIndex[t]]
 */
export function broadcastEpisodeValue(perEpisode: ArrayLike<number>, episodeIndex: ArrayLike<number>): Float32Array {
  const n = episodeIndex.length;
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    const e = episodeIndex[t];
    if (!(e >= 0 && e < perEpisode.length) || !Number.isInteger(e)) {
      throw new ConfigError(
        `broadcastEpisodeValue: step ${t} belongs to episode ${describeValue(e)} but there are ${perEpisode.length} episode values`,
        "pass one value per episode and the batch's episodeIndex",
      );
    }
    out[t] = perEpisode[e];
  }
  return out;
}

function checkSpans(spans: EpisodeSpans, numSteps: number): void {
  const { episodeStart, episodeLength } = spans;
  if (episodeStart.length !== episodeLength.length) {
    throw new ConfigError(
      `episode spans: ${episodeStart.length} starts but ${episodeLength.length} lengths`,
      "pass episodeStart and episodeLength of the same batch",
    );
  }
  for (let e = 0; e < episodeStart.length; e++) {
    const start = episodeStart[e], length = episodeLength[e];
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > numSteps) {
      throw new ConfigError(
        `episode spans: episode ${e} (start ${describeValue(start)}, length ${describeValue(length)}) does not fit in ${numSteps} steps`,
        "pass the episodeStart/episodeLength that belong to these rewards",
      );
    }
  }
}
