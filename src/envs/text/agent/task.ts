import { ConfigError, describeValue } from "../../../core/errors.js";
import { Rng } from "../../../core/rng.js";
import { closeMatches } from "../../registry.js";
import { splitOf, type Split } from "../task.js";

/*
 * Multi-turn text tasks ("agent tasks"). An episode is a conversation: the policy writes a turn
 * (a completion that ends at EOS), the task answers with an observation that is appended to the
 * context (a tool's result, feedback), and so on, until the policy gives a final answer, the
 * turn limit or the context limit is reached. The task only sees text; tokens, masks and
 * snapshots are the env's job (agent/env.ts).
 *
 * The built-in protocol of a turn (`toolProtocol`):
 *   name(args)   a call of one of the task's tools  → the observation "=result;" ("=?;" when the tool rejects the arguments)
 *   ans X        the final answer X                  → the episode ends; the verifier scores X
 *   anything else                                    → the observation "?;" (a malformed turn)
 */

/** One problem of an agent task. */
export interface AgentProblem {
  /** What the policy reads first, e.g. "12*34+56=?". */
  prompt: string;
  /** What the task knows and the policy must find out (a knowledge base, a hidden number), JSON-safe. */
  data: Record<string, number | number[] | string>;
  /** A correct episode, as the policy's turns (without EOS): the SFT demonstration. */
  demonstration: string[];
}

/** What the task answers to one policy turn. */
export interface TurnResponse {
  /** Text appended to the context after the turn (ignored when the episode ends). */
  observation: string;
  /** The policy gave its final answer (or otherwise ended the episode). */
  done: boolean;
  /** The final answer, when done: what `verify` scores. */
  answer?: string;
  /** The turn called a tool (counted in evaluations). */
  toolCall: boolean;
  /** The turn could not be read (no tool, no answer): counted, and optionally penalised. */
  malformed: boolean;
  /** A reward of this turn from the task beyond the outcome (e.g. a critic's verdict being right); default 0. */
  reward?: number;
  /** Who wrote the turn, when the policy plays several roles: "critic" for a verdict turn; default "actor". */
  role?: "actor" | "critic";
}

/** A tool: reads its argument text (and the problem, for tools over hidden data) and returns its result text. Throw ToolInputError for bad arguments. */
export type Tool = (args: string, problem: AgentProblem) => string;

/** A tool's refusal of its arguments: the policy sees "=?;". */
export class ToolInputError extends Error {}

/** A multi-turn text task: a problem generator, the task's side of the conversation, and a verifier. */
export interface AgentTask {
  readonly name: string;
  readonly description: string;
  readonly options: Record<string, number | string | boolean>;
  /** Longest prompt in characters. */
  readonly maxPromptLength: number;
  /** Most tokens of one policy turn (EOS included). */
  readonly maxTurnLength: number;
  /** Longest observation in characters. */
  readonly maxObservationLength: number;
  /** Turns before the episode is cut. */
  readonly maxTurns: number;
  /** The tool names the task answers to. */
  readonly tools: readonly string[];
  /** A problem of the split; deterministic given the rng state. Train and test never share a problem. */
  sample(rng: Rng, split: Split): AgentProblem;
  /** The task's answer to turn `turnIndex` (0-based), given the earlier turns. Never throws. */
  respond(problem: AgentProblem, turn: string, turnIndex: number, history: readonly string[]): TurnResponse;
  /** 1 when the final answer is right, else 0. Never throws. */
  verify(problem: AgentProblem, answer: string): number;
  /**
   * A process score in [0, 1] of one turn given its response (a rule-based stand-in for a
   * process reward model). Default: 1 for an accepted tool call or a right answer, 0 otherwise.
   * Never throws.
   */
  processScore(problem: AgentProblem, turn: string, response: TurnResponse, turnIndex: number, history: readonly string[]): number;
}

const tools = new Map<string, { fn: Tool; description: string }>();

/** Make a tool available to agent tasks by name (`tools: ["calc"]`). A name is registered once. */
export function registerTool(name: string, fn: Tool, description = ""): void {
  if (typeof name !== "string" || !/^[a-z]+$/.test(name)) {
    throw new ConfigError(`tool name ${describeValue(name)} is malformed`, 'use lowercase letters only, e.g. "calc" (the policy writes name(args))');
  }
  if (typeof fn !== "function") throw new ConfigError(`tool ${name}: ${describeValue(fn)} is not a function`, "pass (args, problem) => result text");
  if (tools.has(name)) throw new ConfigError(`tool ${JSON.stringify(name)} is already registered`, "choose another name", "duplicate_tool");
  tools.set(name, { fn, description });
}

/** The tool registered under `name`. */
export function getTool(name: string): Tool {
  const t = tools.get(name);
  if (!t) {
    const names = [...tools.keys()].sort();
    throw new ConfigError(`unknown tool ${describeValue(name)}`, `register it first with registerTool(name, fn), or use one of: ${names.join(", ")}`, "unknown_tool");
  }
  return t.fn;
}

/** The registered tools, sorted by name. */
export function listTools(): { name: string; description: string }[] {
  return [...tools.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, t]) => ({ name, description: t.description }));
}

const CALL = /^([a-z]+)\((.*)\)$/;
const ANSWER = /^ans (.*)$/;

/** The built-in turn protocol over a list of tools (see the top of this file). */
export function toolProtocol(toolNames: readonly string[]): (problem: AgentProblem, turn: string) => TurnResponse {
  const fns = new Map(toolNames.map((n) => [n, getTool(n)]));
  return (problem, turn) => {
    const answer = ANSWER.exec(turn);
    if (answer) return { observation: "", done: true, answer: answer[1], toolCall: false, malformed: false };
    const call = CALL.exec(turn);
    const fn = call ? fns.get(call[1]) : undefined;
    if (!call || !fn) return { observation: "?;", done: false, toolCall: false, malformed: true };
    try {
      return { observation: `=${fn(call[2], problem)};`, done: false, toolCall: true, malformed: false };
    } catch {
      return { observation: "=?;", done: false, toolCall: true, malformed: false };
    }
  };
}

/** What `defineAgentTask` needs. */
export interface AgentTaskDefinition {
  name: string;
  description: string;
  options?: Record<string, number | string | boolean>;
  maxPromptLength: number;
  maxTurnLength: number;
  maxObservationLength: number;
  maxTurns: number;
  /** Registered tool names; with the default `respond`, the protocol above over them. */
  tools?: string[];
  generate(rng: Rng): AgentProblem;
  /** Default: the tool protocol over `tools`. */
  respond?(problem: AgentProblem, turn: string, turnIndex: number, history: readonly string[]): TurnResponse;
  verify(problem: AgentProblem, answer: string): number;
  /** Default: 1 for an accepted tool call (its observation is not "=?;") or a right final answer, else 0. */
  processScore?(problem: AgentProblem, turn: string, response: TurnResponse, turnIndex: number, history: readonly string[]): number;
}

/** Draws before `sample` gives up finding a problem of the split. */
const MAX_SPLIT_DRAWS = 1000;

/**
 * An AgentTask from a generator, a responder and a verifier. Problems are split into train
 * and test by a hash of the prompt and the hidden data (so two problems with one prompt and
 * different hidden numbers can fall on different sides); respond and verify are made total
 * (a throw is a malformed turn, a wrong answer).
 */
export function defineAgentTask(def: AgentTaskDefinition): AgentTask {
  const name = def?.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`agent task name ${describeValue(name)} is malformed`, 'use letters, digits, "-", "_" or ".", e.g. "my-agent-task"');
  }
  for (const key of ["maxPromptLength", "maxTurnLength", "maxObservationLength", "maxTurns"] as const) {
    const v = def[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new ConfigError(`agent task ${name}: ${key} must be a positive integer, got ${describeValue(v)}`, `set ${key}`);
  }
  for (const key of ["generate", "verify"] as const) {
    if (typeof def[key] !== "function") throw new ConfigError(`agent task ${name}: ${key} is not a function`, `pass ${key}`);
  }
  const toolNames = def.tools ?? [];
  const protocol = def.respond ? null : toolProtocol(toolNames);
  const respond = (problem: AgentProblem, turn: string, i: number, history: readonly string[]): TurnResponse => {
    try {
      const r = def.respond ? def.respond(problem, turn, i, history) : (protocol as NonNullable<typeof protocol>)(problem, turn);
      const observation = String(r.observation ?? "");
      // A built-in tool's result depends on the arguments the policy wrote (calc(99999*99999)):
      // one too long for the context is the tool refusing its input, not a broken task.
      if (protocol && !r.done && observation.length > def.maxObservationLength && r.toolCall) {
        return { observation: "=?;", done: false, toolCall: true, malformed: false, reward: 0, role: "actor" };
      }
      if (!r.done && observation.length > def.maxObservationLength) {
        throw new ConfigError(`agent task ${name}: observation ${JSON.stringify(observation)} is longer than maxObservationLength ${def.maxObservationLength}`, "raise maxObservationLength or shorten the tool's results");
      }
      const reward = Number(r.reward ?? 0);
      return { observation, done: Boolean(r.done), answer: r.answer, toolCall: Boolean(r.toolCall), malformed: Boolean(r.malformed), reward: Number.isFinite(reward) ? reward : 0, role: r.role === "critic" ? "critic" : "actor" };
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      return { observation: "?;", done: false, toolCall: false, malformed: true };
    }
  };
  const checked = (p: AgentProblem): AgentProblem => {
    if (!p || typeof p.prompt !== "string" || !Array.isArray(p.demonstration)) {
      throw new ConfigError(`agent task ${name}: generate() returned ${describeValue(p)}`, "return { prompt, data, demonstration: [turn, ...] }");
    }
    if (p.prompt.length > def.maxPromptLength) {
      throw new ConfigError(`agent task ${name}: prompt ${JSON.stringify(p.prompt)} is longer than maxPromptLength ${def.maxPromptLength}`, "raise maxPromptLength");
    }
    const long = p.demonstration.find((t) => t.length + 1 > def.maxTurnLength);
    if (long !== undefined) {
      throw new ConfigError(`agent task ${name}: demonstration turn ${JSON.stringify(long)} needs more than maxTurnLength ${def.maxTurnLength} tokens (with EOS)`, "raise maxTurnLength");
    }
    return p;
  };
  const verify = (problem: AgentProblem, answer: string): number => {
    try {
      const v = def.verify(problem, answer);
      return typeof v === "number" && Number.isFinite(v) ? v : 0;
    } catch {
      return 0;
    }
  };
  return Object.freeze({
    name,
    description: String(def.description ?? ""),
    options: Object.freeze({ ...(def.options ?? {}) }),
    maxPromptLength: def.maxPromptLength,
    maxTurnLength: def.maxTurnLength,
    maxObservationLength: def.maxObservationLength,
    maxTurns: def.maxTurns,
    tools: Object.freeze([...toolNames]),
    sample(rng: Rng, split: Split): AgentProblem {
      if (split !== "train" && split !== "test") throw new ConfigError(`agent task ${name}: split ${describeValue(split)} is not a split`, 'pass "train" or "test"');
      for (let i = 0; i < MAX_SPLIT_DRAWS; i++) {
        const p = checked(def.generate(rng));
        if (splitOf(problemKey(p)) === split) return p;
      }
      throw new ConfigError(`agent task ${name}: no ${split} problem in ${MAX_SPLIT_DRAWS} draws`, "choose options that give more distinct problems", "empty_split");
    },
    respond,
    verify,
    processScore(problem: AgentProblem, turn: string, response: TurnResponse, turnIndex: number, history: readonly string[]): number {
      try {
        const v = def.processScore
          ? def.processScore(problem, turn, response, turnIndex, history)
          : response.done
            ? verify(problem, response.answer ?? "")
            : response.toolCall && response.observation !== "=?;"
              ? 1
              : 0;
        return typeof v === "number" && Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
      } catch {
        return 0;
      }
    },
  });
}

/** What identifies a problem: its prompt and hidden data (the split and held-out sets use it). */
export function problemKey(p: AgentProblem): string {
  return `${p.prompt}|${JSON.stringify(p.data)}`;
}

/** Replays a problem's demonstration through the task: the final answer's score (1 for a valid demonstration) and the turns used. */
export function replayDemonstration(task: AgentTask, problem: AgentProblem): { score: number; turns: number } {
  const history: string[] = [];
  for (let i = 0; i < problem.demonstration.length && i < task.maxTurns; i++) {
    const turn = problem.demonstration[i];
    const r = task.respond(problem, turn, i, history);
    history.push(turn);
    if (r.done) return { score: r.answer === undefined ? 0 : task.verify(problem, r.answer), turns: i + 1 };
  }
  return { score: 0, turns: history.length };
}

/** Builds an agent task from its options (validating them). */
export type AgentTaskFactory = (options: Record<string, unknown>) => AgentTask;

const agentTasks = new Map<string, { factory: AgentTaskFactory; description: string }>();

/** Make a multi-turn task available to `makeAgentTask(name, options)` and `--task name`. */
export function registerAgentTask(name: string, factory: AgentTaskFactory, description = ""): void {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ConfigError(`agent task name ${describeValue(name)} is malformed`, 'use letters, digits, "-", "_" or ".", e.g. "my-agent-task"');
  }
  if (typeof factory !== "function") throw new ConfigError(`agent task ${name}: factory ${describeValue(factory)} is not a function`, "pass (options) => defineAgentTask({ ... })");
  if (agentTasks.has(name)) throw new ConfigError(`agent task ${JSON.stringify(name)} is already registered`, "choose another name", "duplicate_task");
  agentTasks.set(name, { factory, description });
}

/** Whether `name` is a registered multi-turn task. */
export function isAgentTask(name: unknown): boolean {
  return typeof name === "string" && agentTasks.has(name);
}

/**
 * Build a registered agent task, then replay the demonstration of one train and one test
 * problem: a task whose demonstrations do not verify fails here, not in training.
 */
export function makeAgentTask(name: string, options: Record<string, unknown> = {}): AgentTask {
  const entry = agentTasks.get(name);
  if (!entry) {
    const names = [...agentTasks.keys()].sort();
    const close = closeMatches(String(name), names);
    throw new ConfigError(`unknown agent task ${describeValue(name)}`, `${close.length ? `did you mean ${close.map((c) => `"${c}"`).join(" or ")}? Otherwise use` : "use"} one of: ${names.join(", ")}`, "unknown_task");
  }
  const task = entry.factory(options);
  const rng = new Rng(0);
  for (const split of ["train", "test"] as const) {
    const p = task.sample(rng, split);
    const { score } = replayDemonstration(task, p);
    if (score !== 1) {
      throw new ConfigError(`agent task ${name}: the demonstration ${JSON.stringify(p.demonstration)} of ${JSON.stringify(p.prompt)} does not end in a verified answer`, "make generate(), respond() and verify() agree");
    }
  }
  return task;
}

/** The registered agent tasks, sorted by name. */
export function listAgentTasks(): { name: string; description: string }[] {
  return [...agentTasks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, e]) => ({ name, description: e.description }));
}

/** `n` distinct problems of the split (by prompt and hidden data), deterministic for (task, split, n, seed); fewer if the split has fewer. */
export function agentProblemSet(task: AgentTask, split: Split, n: number, seed: number): AgentProblem[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`problem set size must be a non-negative integer, got ${describeValue(n)}`, "pass e.g. 100");
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const out: AgentProblem[] = [];
  for (let draws = 0; out.length < n && draws < 100 * n + 1000; draws++) {
    const p = task.sample(rng, split);
    const key = problemKey(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}
