import type { Rng } from "../core/rng.js";
import type { TextProblem } from "../envs/text/task.js";
import type { TextEnv } from "../envs/text/text_env.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import type { GroupBatch } from "./group_collector.js";

/**
 * The group collector for text tasks: B prompts × G completions. It is the group collector of
 * the control tasks with a token policy: each prompt is a start state (a TextEnv reset with a
 * fresh seed, captured with getState and restored into the G envs of its group), each
 * completion an episode, each token an action, and the reward arrives from the env at the
 * end-of-sequence token or the length limit. All B·G completions are sampled together, one
 * token per still-running completion per step, through the model's key/value cache.
 *
 * The result is a GroupBatch (obsSize 0: the observation of a token step is its context, which
 * `contexts` and the earlier actions of the episode hold), so every advantage estimator and
 * selector of the group algorithms applies unchanged, plus what text needs beside it.
 */

/** A start state of a group: the env's snapshot after a seeded reset. */
export interface TextStart {
  seed: number;
  state: number[];
  problem: TextProblem;
}

export interface TextBatch {
  batch: GroupBatch;
  /** Per group: the start state, and the context the model read (BOS + prompt, or a conditioned prompt). */
  starts: TextStart[];
  contexts: Int32Array[];
  /** Per step: the entropy of the policy at that token (recorded while sampling). */
  entropy: Float32Array;
  /** Per episode: the completion as text (up to EOS) and whether the task's verifier accepts it. */
  completions: string[];
  correct: Float32Array;
}

export interface TextCollectorOptions {
  numPrompts: number;
  groupSize: number;
  temperature: number;
  topK: number;
  /** The largest group `collect` will be asked for (iGRPO's drafts), default groupSize. */
  maxGroupSize?: number;
}

export class TextGroupCollector {
  readonly envs: TextEnv[];

  constructor(
    makeEnv: () => TextEnv,
    readonly policy: TokenPolicy,
    readonly options: TextCollectorOptions,
  ) {
    this.envs = Array.from({ length: options.numPrompts * Math.max(options.groupSize, options.maxGroupSize ?? 0) }, makeEnv);
  }

  get maxCompletionLength(): number {
    return this.envs[0].maxCompletionLength;
  }

  /** B fresh start states: each a reset with a seed drawn from `rng`. */
  drawStarts(rng: Rng): TextStart[] {
    const G = this.options.groupSize;
    return Array.from({ length: this.options.numPrompts }, (_, b) => {
      const env = this.envs[b * G];
      const seed = rng.nextSeed();
      env.reset({ seed });
      return { seed, state: env.getState(), problem: env.problem };
    });
  }

  /**
   * G completions for each start (new starts from `rng` unless given). `context(start, g)` gives
   * the tokens the model reads for group g (default: BOS + its prompt); the env, and so the
   * reward, always score the completion against the start's own problem.
   */
  collect(rng: Rng, starts: TextStart[] = this.drawStarts(rng), context?: (start: TextStart, g: number) => Int32Array, groupSize = this.options.groupSize): TextBatch {
    const B = starts.length;
    const G = groupSize;
    const n = B * G;
    const envs = this.envs.slice(0, n);
    if (envs.length < n) throw new Error(`TextGroupCollector has ${this.envs.length} envs, asked for ${n} completions`);
    starts.forEach((s, b) => {
      for (let k = 0; k < G; k++) envs[b * G + k].setState(s.state);
    });
    const contexts = starts.map((s, g) => (context ? context(s, g) : this.policy.encodeContext(s.problem.prompt)));
    const rowContexts = Array.from({ length: n }, (_, i) => contexts[Math.floor(i / G)]);
    const reward = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const completions: string[] = new Array<string>(n).fill("");
    const correct = new Float32Array(n);
    const sampled = this.policy.sample(
      rowContexts,
      rng,
      { temperature: this.options.temperature, topK: this.options.topK, maxNewTokens: this.maxCompletionLength },
      (rows, tokens) => {
        const done = new Uint8Array(rows.length);
        rows.forEach((i, k) => {
          const [, r, term, trunc, info] = envs[i].step(tokens[k]);
          if (!term && !trunc) return;
          done[k] = 1;
          reward[i] = r;
          terminated[i] = term ? 1 : 0;
          truncated[i] = trunc ? 1 : 0;
          completions[i] = String(info.completion ?? "");
          correct[i] = Number(info.correct ?? 0);
        });
        return done;
      },
    );
    const batch = toGroupBatch(sampled, reward, terminated, truncated, B, G, starts);
    const entropy = new Float32Array(batch.numSteps);
    sampled.entropies.forEach((h, i) => entropy.set(h, batch.episodeStart[i]));
    return { batch, starts, contexts, entropy, completions, correct };
  }
}

/** The sampled completions as a GroupBatch: one episode per completion, the reward on its last token. */
function toGroupBatch(
  sampled: { tokens: Int32Array[]; logProbs: Float32Array[] },
  reward: Float32Array,
  terminated: Uint8Array,
  truncated: Uint8Array,
  B: number,
  G: number,
  starts: TextStart[],
): GroupBatch {
  const n = B * G;
  const episodeLength = Int32Array.from(sampled.tokens, (t) => t.length);
  const episodeStart = new Int32Array(n);
  for (let i = 1; i < n; i++) episodeStart[i] = episodeStart[i - 1] + episodeLength[i - 1];
  const numSteps = n ? episodeStart[n - 1] + episodeLength[n - 1] : 0;
  const actions = new Int32Array(numSteps);
  const logProbs = new Float32Array(numSteps);
  const rewards = new Float32Array(numSteps);
  const dones = new Uint8Array(numSteps);
  const episodeIndex = new Int32Array(numSteps);
  const groupIndex = new Int32Array(numSteps);
  for (let i = 0; i < n; i++) {
    const s = episodeStart[i];
    const len = episodeLength[i];
    actions.set(sampled.tokens[i], s);
    logProbs.set(sampled.logProbs[i], s);
    episodeIndex.fill(i, s, s + len);
    groupIndex.fill(Math.floor(i / G), s, s + len);
    if (len > 0) {
      rewards[s + len - 1] = reward[i];
      dones[s + len - 1] = 1;
    }
  }
  return {
    numGroups: B,
    groupSize: G,
    numEpisodes: n,
    numSteps,
    obsSize: 0,
    actSize: 1,
    discrete: true,
    obs: new Float32Array(0),
    actions,
    logProbs,
    rewards,
    dones,
    episodeIndex,
    groupIndex,
    episodeReturn: Float32Array.from(reward),
    episodeLength,
    episodeStart,
    episodeGroup: Int32Array.from({ length: n }, (_, i) => Math.floor(i / G)),
    terminated,
    truncated,
    finalObs: new Float32Array(0),
    groupSeed: Float64Array.from(starts, (s) => s.seed),
  };
}
