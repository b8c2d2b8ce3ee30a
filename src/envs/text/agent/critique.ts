import { ConfigError, describeValue } from "../../../core/errors.js";
import type { Rng } from "../../../core/rng.js";
import { defineAgentTask, makeAgentTask, registerAgentTask, type AgentProblem, type AgentTask, type TurnResponse } from "./task.js";
import "./tasks.js";

/**
 * Critique-and-refine over any agent task whose episodes end with `ans X` (calc, lookup): after
 * the policy's first answer the env asks `=check;`, and the policy, now as its own critic, writes
 * `ok` (the episode ends with that answer) or `bad` (the env says `=retry;` and the policy
 * refines: it may call tools again and gives a second, final answer). The critic's verdict earns
 * `verdictReward` when it matches the verifier on the first answer (discriminability); the
 * outcome is the final answer's correctness (what the critique helped or hurt).
 *
 * Demonstrations: with probability `draftErrorRate` the first answer is wrong (its last digit or
 * letter moved on by one), the verdict `bad`, then the right answer; otherwise the right answer
 * and `ok`. Problems and the train/test split are the base task's.
 */
export function critiqueTask(options?: Record<string, unknown>): AgentTask {
  const { base: baseName = "calc", draftErrorRate = 0.5, verdictReward = 0.5, ...baseOptions } = (options ?? {}) as Record<string, unknown>;
  if (typeof baseName !== "string") throw new ConfigError(`task critique: option base=${describeValue(baseName)} is not a task name`, 'pass e.g. taskOptions.base=calc');
  for (const [k, v] of [["draftErrorRate", draftErrorRate], ["verdictReward", verdictReward]] as const) {
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new ConfigError(`task critique: option ${k}=${describeValue(v)} is not a number in [0, 1]`, `pass ${k} from 0 to 1`);
  }
  const base = makeAgentTask(baseName, baseOptions);
  const draftError = draftErrorRate as number;
  const verdict = verdictReward as number;

  /** Where the conversation stands after `history`: whose turn, the first answer, whether a retry was asked. */
  const stateOf = (problem: AgentProblem, history: readonly string[]) => {
    let phase: "actor" | "critic" = "actor";
    let draft: string | undefined;
    let retried = false;
    const baseHistory: string[] = [];
    for (const h of history) {
      if (phase === "actor") {
        const r = base.respond(problem, h, baseHistory.length, baseHistory);
        baseHistory.push(h);
        if (r.done) {
          draft = r.answer;
          phase = "critic";
        }
      } else if (h === "bad") {
        phase = "actor";
        retried = true;
      }
    }
    return { phase, draft, retried, baseHistory };
  };

  return defineAgentTask({
    name: "critique",
    description: `critique-and-refine on ${base.name}: answer, judge the answer (ok/bad), refine after bad`,
    options: { base: base.name, draftErrorRate: draftError, verdictReward: verdict, ...(base.options as Record<string, number | string | boolean>) },
    maxPromptLength: base.maxPromptLength,
    maxTurnLength: Math.max(base.maxTurnLength, 4),
    maxObservationLength: Math.max(base.maxObservationLength, 7),
    maxTurns: 2 * base.maxTurns + 1,
    generate(rng: Rng): AgentProblem {
      const p = base.sample(rng, rng.uniform() < 0.2 ? "test" : "train");
      const last = p.demonstration[p.demonstration.length - 1];
      if (!last.startsWith("ans ")) {
        throw new ConfigError(`task critique: the base task ${base.name} does not end its episodes with "ans X"`, "use a base task with final answers (calc, lookup)");
      }
      const flawed = rng.uniform() < draftError;
      const demonstration = flawed ? [...p.demonstration.slice(0, -1), corrupt(last), "bad", last] : [...p.demonstration, "ok"];
      return { prompt: p.prompt, data: p.data, demonstration };
    },
    respond(problem, turn, _i, history): TurnResponse {
      const s = stateOf(problem, history);
      if (s.phase === "critic") {
        const right = s.draft !== undefined && base.verify(problem, s.draft) >= 1;
        if (turn === "ok") return { observation: "", done: true, answer: s.draft, toolCall: false, malformed: false, role: "critic", reward: right ? verdict : 0 };
        if (turn === "bad") return { observation: "=retry;", done: false, toolCall: false, malformed: false, role: "critic", reward: right ? 0 : verdict };
        return { observation: "?;", done: false, toolCall: false, malformed: true, role: "critic" };
      }
      const r = base.respond(problem, turn, s.baseHistory.length, s.baseHistory);
      if (r.done && !s.retried) return { observation: "=check;", done: false, toolCall: false, malformed: false };
      return { ...r, reward: 0, role: "actor" };
    },
    verify: (problem, answer) => base.verify(problem, answer),
  });
}

/** The answer with its last digit or letter moved on by one (9 → 0, z → a). */
function corrupt(turn: string): string {
  for (let i = turn.length - 1; i >= 4; i--) {
    const c = turn[i];
    if (c >= "0" && c <= "9") return turn.slice(0, i) + String((Number(c) + 1) % 10) + turn.slice(i + 1);
    if (c >= "a" && c <= "z") return turn.slice(0, i) + String.fromCharCode(((c.charCodeAt(0) - 97 + 1) % 26) + 97) + turn.slice(i + 1);
  }
  return `${turn}0`;
}

registerAgentTask("critique", critiqueTask, "critique-and-refine on a base task: answer, judge it ok/bad (rewarded when right), refine after bad (options: base = calc, draftErrorRate = 0.5, verdictReward = 0.5, and the base task's)");
