import type { Rng } from "../core/rng.js";
import type { AgentEnv, TurnRecord } from "../envs/text/agent/env.js";
import type { AgentProblem } from "../envs/text/agent/task.js";
import { EOS } from "../envs/text/tokenizer.js";
import type { TokenPolicy } from "../policies/token_policy.js";
import type { GroupBatch } from "./group_collector.js";

/**
 * Multi-turn episodes of a token policy in AgentEnvs. Every running episode samples its next
 * turn together (one batched call of the policy's sampler per turn, the context being BOS +
 * prompt + the transcript so far), the env answers, and the loop goes on until every episode
 * has ended. The group collector below lays B problems × G episodes out as a GroupBatch whose
 * steps are the policy's tokens only (the env's tokens are context), so the group advantages,
 * minibatching and losses of the single-turn engine apply unchanged; the per-turn records
 * beside it feed the turn-level advantages (Flow-GRPO, GiGPO, HGPO).
 */

export interface AgentSampling {
  temperature: number;
  topK: number;
}

/** What the policy did in one episode: per policy token, in order, its log-probability and the entropy there. */
export interface PlayedEpisode {
  logProbs: number[];
  entropies: number[];
}

/**
 * Plays every env (already reset or restored) to the end of its episode. Returns, per env,
 * the log-probabilities and entropies of the tokens the policy wrote.
 */
export function playEpisodes(policy: TokenPolicy, envs: AgentEnv[], rng: Rng, sampling: AgentSampling, maxTurns = Infinity): PlayedEpisode[] {
  const played: PlayedEpisode[] = envs.map(() => ({ logProbs: [], entropies: [] }));
  for (let turn = 0; turn < maxTurns; turn++) {
    const rows = envs.map((env, i) => (env.isDone ? -1 : i)).filter((i) => i >= 0);
    if (rows.length === 0) return played;
    const contexts = rows.map((i) => concat(envs[i].context, envs[i].transcript));
    const budget = Int32Array.from(rows, (i) => envs[i].turnBudget);
    const count = new Int32Array(rows.length);
    const out = policy.sample(contexts, rng, { temperature: sampling.temperature, topK: sampling.topK, maxNewTokens: Math.max(...budget) }, (active, tokens) =>
      Uint8Array.from(active, (r, k) => {
        count[r]++;
        return tokens[k] === EOS || count[r] >= budget[r] ? 1 : 0;
      }),
    );
    rows.forEach((i, r) => {
      envs[i].step(out.tokens[r]);
      played[i].logProbs.push(...out.logProbs[r]);
      played[i].entropies.push(...out.entropies[r]);
    });
  }
  return played;
}

function concat(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A start of a group: the env's snapshot after a seeded reset. */
export interface AgentStart {
  seed: number;
  state: number[];
  problem: AgentProblem;
}

/** One episode's turn structure, for turn-level credit. */
export interface EpisodeTurns {
  records: TurnRecord[];
  /** The observation each turn was written after: the prompt for turn 0, then the previous turn's observation. */
  anchors: string[];
}

export interface AgentBatch {
  /** Steps = the policy's tokens; the episode's reward sits on its last policy token. */
  batch: GroupBatch;
  starts: AgentStart[];
  /** Per episode: BOS + prompt (+ the turns before the start, for a start taken mid-episode). */
  contexts: Int32Array[];
  /** Per episode: everything after the context (turns and observations). */
  transcripts: Int32Array[];
  /** Per episode: how many of its context's last tokens are turns played before the start (REFUEL's roll-in; 0 for a fresh start). */
  prefixLengths?: Int32Array;
  /** Per episode: the transcript positions of its policy tokens, in order (step k of the episode is transcript[policyPositions[k]]). */
  policyPositions: Int32Array[];
  /** Per step: the turn (0-based) of its episode it belongs to. */
  stepTurn: Int32Array;
  turns: EpisodeTurns[];
  /** Per step: the policy's entropy when it sampled the token. */
  entropy: Float32Array;
  /** Per episode: 1 when the final answer verified. */
  correct: Float32Array;
  /** Per episode: the transcript as text, observations in [brackets], turns separated by " | ". */
  texts: string[];
}

export interface AgentCollectorOptions extends AgentSampling {
  numPrompts: number;
  groupSize: number;
}

export class AgentGroupCollector {
  readonly envs: AgentEnv[];

  constructor(
    makeEnv: () => AgentEnv,
    readonly policy: TokenPolicy,
    readonly options: AgentCollectorOptions,
  ) {
    this.envs = Array.from({ length: options.numPrompts * options.groupSize }, makeEnv);
  }

  /** B start states: each a reset with a seed drawn from `rng`. */
  drawStarts(rng: Rng, count = this.options.numPrompts): AgentStart[] {
    const env = this.envs[0];
    return Array.from({ length: count }, () => {
      const seed = rng.nextSeed();
      env.reset(seed);
      return { seed, state: env.getState(), problem: env.problem };
    });
  }

  /**
   * B starts taken mid-episode (REFUEL's roll-in): each a seeded reset followed by h turns of the
   * policy, h = turnsOf(rng) drawn per start; a roll-in that would end its episode stops one turn
   * earlier, so every start leaves at least one turn to play.
   */
  rollInStarts(rng: Rng, turnsOf: (rng: Rng) => number, count = this.options.numPrompts): AgentStart[] {
    const envs = this.envs.slice(0, count);
    const seeds = envs.map((env) => {
      const seed = rng.nextSeed();
      env.reset(seed);
      return seed;
    });
    const remaining = envs.map(() => turnsOf(rng));
    for (;;) {
      const rows = envs.map((_, i) => i).filter((i) => remaining[i] > 0);
      if (rows.length === 0) break;
      const snaps = rows.map((i) => envs[i].getState());
      playEpisodes(this.policy, rows.map((i) => envs[i]), rng, this.options, 1);
      rows.forEach((i, k) => {
        remaining[i]--;
        if (envs[i].isDone) {
          envs[i].setState(snaps[k]);
          remaining[i] = 0;
        }
      });
    }
    return envs.map((env, i) => ({ seed: seeds[i], state: env.getState(), problem: env.problem }));
  }

  /** G episodes from each start (default G = options.groupSize, starts drawn from `rng`). */
  collect(rng: Rng, starts: AgentStart[] = this.drawStarts(rng), groupSizes?: number[]): AgentBatch {
    const sizes = groupSizes ?? starts.map(() => this.options.groupSize);
    const n = sizes.reduce((a, b) => a + b, 0);
    if (n > this.envs.length) throw new Error(`AgentGroupCollector has ${this.envs.length} envs, asked for ${n} episodes`);
    const envs = this.envs.slice(0, n);
    const episodeGroup = new Int32Array(n);
    let e = 0;
    starts.forEach((s, b) => {
      for (let k = 0; k < sizes[b]; k++, e++) {
        envs[e].setState(s.state);
        episodeGroup[e] = b;
      }
    });
    // A start taken mid-episode (REFUEL's roll-in) has turns already: they are context here.
    const prefix = envs.map((env) => ({ turns: env.turns.length, tokens: env.transcript.length }));
    const played = playEpisodes(this.policy, envs, rng, this.options);
    return toAgentBatch(envs, played, starts, episodeGroup, sizes, prefix);
  }
}

/** The played episodes as an AgentBatch (G is the largest group when groups differ in size). */
export function toAgentBatch(
  envs: AgentEnv[],
  played: PlayedEpisode[],
  starts: AgentStart[],
  episodeGroup: Int32Array,
  sizes: number[],
  prefix: { turns: number; tokens: number }[] = envs.map(() => ({ turns: 0, tokens: 0 })),
): AgentBatch {
  const n = envs.length;
  const episodeLength = Int32Array.from(played, (p) => p.logProbs.length);
  const episodeStart = new Int32Array(n);
  for (let i = 1; i < n; i++) episodeStart[i] = episodeStart[i - 1] + episodeLength[i - 1];
  const numSteps = n ? episodeStart[n - 1] + episodeLength[n - 1] : 0;
  const actions = new Int32Array(numSteps);
  const logProbs = new Float32Array(numSteps);
  const entropy = new Float32Array(numSteps);
  const rewards = new Float32Array(numSteps);
  const dones = new Uint8Array(numSteps);
  const episodeIndex = new Int32Array(numSteps);
  const groupIndex = new Int32Array(numSteps);
  const stepTurn = new Int32Array(numSteps);
  const episodeReturn = new Float32Array(n);
  const terminated = new Uint8Array(n);
  const truncated = new Uint8Array(n);
  const correct = new Float32Array(n);
  const contexts: Int32Array[] = [];
  const transcripts: Int32Array[] = [];
  const policyPositions: Int32Array[] = [];
  const turns: EpisodeTurns[] = [];
  const texts: string[] = [];
  envs.forEach((env, i) => {
    const s = episodeStart[i];
    const full = env.transcript;
    const cut = prefix[i].tokens;
    const transcript = full.slice(cut);
    const mask = env.policyMask.subarray(cut);
    const positions: number[] = [];
    mask.forEach((m, p) => {
      if (m) positions.push(p);
    });
    const context = new Int32Array(env.context.length + cut);
    context.set(env.context);
    context.set(full.subarray(0, cut), env.context.length);
    contexts.push(context);
    transcripts.push(transcript);
    policyPositions.push(Int32Array.from(positions));
    positions.forEach((p, k) => (actions[s + k] = transcript[p]));
    logProbs.set(played[i].logProbs, s);
    entropy.set(played[i].entropies, s);
    episodeIndex.fill(i, s, s + episodeLength[i]);
    groupIndex.fill(episodeGroup[i], s, s + episodeLength[i]);
    const before = env.turns.slice(0, prefix[i].turns);
    const records = env.turns.slice(prefix[i].turns);
    let at = s;
    records.forEach((r, t) => {
      stepTurn.fill(t, at, at + r.length);
      at += r.length;
      rewards[at - 1] += r.reward;
      episodeReturn[i] += r.reward;
    });
    if (episodeLength[i] > 0) dones[s + episodeLength[i] - 1] = 1;
    const end = env.lastResult;
    terminated[i] = end?.terminated ? 1 : 0;
    truncated[i] = end?.terminated ? 0 : 1;
    correct[i] = end?.correct ?? 0;
    const previous = (t: number) => (t > 0 ? records[t - 1].observation : before.length ? before[before.length - 1].observation : env.problem.prompt);
    turns.push({ records, anchors: records.map((_, t) => previous(t)) });
    texts.push(records.map((r) => (r.observation ? `${r.text} [${r.observation}]` : r.text)).join(" | "));
  });
  const G = Math.max(0, ...sizes);
  return {
    batch: {
      numGroups: starts.length,
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
      episodeReturn,
      episodeLength,
      episodeStart,
      episodeGroup,
      terminated,
      truncated,
      finalObs: new Float32Array(0),
      groupSeed: Float64Array.from(starts, (s) => s.seed),
    },
    starts,
    contexts,
    transcripts,
    prefixLengths: Int32Array.from(prefix, (p) => p.tokens),
    policyPositions,
    stepTurn,
    turns,
    entropy,
    correct,
    texts,
  };
}

