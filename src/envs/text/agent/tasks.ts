import type { Rng } from "../../../core/rng.js";
import { intOptions } from "../task.js";
import { defineAgentTask, registerAgentTask, registerTool, ToolInputError, type AgentProblem, type AgentTask, type TurnResponse } from "./task.js";

/*
 * The built-in multi-turn tasks: tiny on purpose, so a 2-layer transformer learns them on a CPU
 * in minutes. Each needs its interaction: the calculator's products are beyond what the model
 * computes in one pass, the knowledge base is hidden, and the hidden number is found only by
 * asking.
 */

const NUMBER = /^(0|[1-9][0-9]{0,8})$/;

/** calc(a op b): one operation (+, - or *) on two non-negative integers of at most 9 digits. */
export function calculator(args: string): string {
  const m = /^([0-9]+)([+*-])([0-9]+)$/.exec(args);
  if (!m || !NUMBER.test(m[1]) || !NUMBER.test(m[3])) throw new ToolInputError(`not a op b: ${args}`);
  const a = Number(m[1]);
  const b = Number(m[3]);
  return String(m[2] === "+" ? a + b : m[2] === "-" ? a - b : a * b);
}

/** get(k): the value of key k in the problem's hidden knowledge base (data.kb, "k:v" pairs separated by commas). */
export function kbLookup(args: string, problem: AgentProblem): string {
  const kb = String(problem.data.kb ?? "");
  for (const pair of kb.split(",")) {
    const [k, v] = pair.split(":");
    if (k === args) return v;
  }
  throw new ToolInputError(`no key ${args}`);
}

registerTool("calc", calculator, "one operation on two non-negative integers: calc(12*34) → =408;");
registerTool("get", kbLookup, "the value of a key in the problem's hidden knowledge base: get(q) → =m;");

/**
 * calc: `12*34+56=?` needs `calc(12*34)` → `=408;`, `calc(408+56)` → `=464;`, `ans 464`. The
 * expression is a·b (+ c …): `ops` operations evaluated left to right, the first a product of
 * two `digits`-digit numbers, the rest additions of a `digits`-digit number.
 */
export function calcTask(options?: Record<string, unknown>): AgentTask {
  const { ops, digits } = intOptions("calc", options, { ops: { default: 2, min: 1, max: 3 }, digits: { default: 2, min: 1, max: 3 } });
  const lo = digits === 1 ? 2 : 10 ** (digits - 1);
  const hi = 10 ** digits;
  const maxValue = hi * hi + (ops - 1) * hi;
  const valueDigits = String(maxValue).length;
  return defineAgentTask({
    name: "calc",
    description: `arithmetic with a calculator tool, one operation per call: "12*34+56=?" → calc(12*34), calc(408+56), ans 464`,
    options: { ops, digits },
    tools: ["calc"],
    maxPromptLength: digits * (ops + 1) + ops + 2,
    // "calc(" + value + op + number + ")" + EOS
    maxTurnLength: 5 + valueDigits + 1 + digits + 1 + 1 + 2,
    maxObservationLength: valueDigits + 3,
    maxTurns: ops + 2,
    generate(rng: Rng): AgentProblem {
      const nums = [rng.integer(lo, hi), rng.integer(lo, hi)];
      for (let i = 1; i < ops; i++) nums.push(rng.integer(lo, hi));
      const demonstration: string[] = [`calc(${nums[0]}*${nums[1]})`];
      let value = nums[0] * nums[1];
      for (let i = 2; i < nums.length; i++) {
        demonstration.push(`calc(${value}+${nums[i]})`);
        value += nums[i];
      }
      demonstration.push(`ans ${value}`);
      const prompt = `${nums[0]}*${nums[1]}${nums.slice(2).map((n) => `+${n}`).join("")}=?`;
      return { prompt, data: { nums, value }, demonstration };
    },
    verify: (problem, answer) => (answer === String(problem.data.value) ? 1 : 0),
    // A call is a good step when its result is one of the problem's intermediate values.
    processScore: (problem, _turn, response) => {
      if (response.done) return response.answer === String(problem.data.value) ? 1 : 0;
      const nums = problem.data.nums as number[];
      const partials = [nums[0] * nums[1]];
      for (let i = 2; i < nums.length; i++) partials.push(partials[partials.length - 1] + nums[i]);
      return response.toolCall && partials.some((v) => response.observation === `=${v};`) ? 1 : 0;
    },
  });
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

/**
 * lookup: a hidden knowledge base maps each of `keys` letters to another of them; the prompt
 * `q>>>?` asks where `hops` lookups from q lead. `get(q)` → `=m;`, `get(m)` → `=x;`, …, `ans y`.
 * The knowledge base is drawn per problem, so only asking finds the answer.
 */
export function lookupTask(options?: Record<string, unknown>): AgentTask {
  const { hops, keys } = intOptions("lookup", options, { hops: { default: 2, min: 1, max: 4 }, keys: { default: 8, min: 3, max: 26 } });
  const alphabet = LETTERS.slice(0, keys);
  return defineAgentTask({
    name: "lookup",
    description: `multi-hop lookups in a hidden knowledge base: "c>>?" → get(c), get(f), ans d`,
    options: { hops, keys },
    tools: ["get"],
    maxPromptLength: hops + 2,
    maxTurnLength: 8,
    maxObservationLength: 4,
    maxTurns: hops + 2,
    generate(rng: Rng): AgentProblem {
      // A random map without fixed points, so every hop moves.
      const value = Array.from(alphabet, (_, i) => {
        let j = rng.integer(0, keys - 1);
        if (j >= i) j++;
        return alphabet[j];
      });
      const kb = Array.from(alphabet, (k, i) => `${k}:${value[i]}`).join(",");
      let at = alphabet[rng.integer(0, keys)];
      const start = at;
      const demonstration: string[] = [];
      for (let h = 0; h < hops; h++) {
        demonstration.push(`get(${at})`);
        at = value[alphabet.indexOf(at)];
      }
      demonstration.push(`ans ${at}`);
      return { prompt: `${start}${">".repeat(hops)}?`, data: { kb, answer: at }, demonstration };
    },
    verify: (problem, answer) => (answer === problem.data.answer ? 1 : 0),
  });
}

/**
 * guess: find a hidden number in [0, 2^bits) by guessing; `g(16)` → `=lo;` (the number is
 * lower), `=hi;` (higher), or ends the episode when right. Later turns depend on earlier
 * feedback; binary search needs `bits` guesses, and the limit is bits + 1 turns.
 */
export function guessTask(options?: Record<string, unknown>): AgentTask {
  const { bits } = intOptions("guess", options, { bits: { default: 4, min: 2, max: 7 } });
  const size = 2 ** bits;
  const width = String(size - 1).length;
  const readGuess = (turn: string): number | null => {
    const m = /^g\(([0-9]+)\)$/.exec(turn);
    return m && NUMBER.test(m[1]) ? Number(m[1]) : null;
  };
  return defineAgentTask({
    name: "guess",
    description: `guess a hidden number in [0, 2^bits) from lo/hi feedback: g(8) → =lo; → g(4) → … (the right guess ends the episode)`,
    options: { bits },
    maxPromptLength: 3 + 2 * width + 5,
    maxTurnLength: 3 + width + 1,
    maxObservationLength: 4,
    maxTurns: bits + 1,
    generate(rng: Rng): AgentProblem {
      const target = rng.integer(0, size);
      let low = 0;
      let high = size - 1;
      const demonstration: string[] = [];
      for (;;) {
        const mid = Math.floor((low + high + 1) / 2);
        demonstration.push(`g(${mid})`);
        if (mid === target) break;
        if (target < mid) high = mid - 1;
        else low = mid + 1;
      }
      return { prompt: `num 0..${size - 1}?`, data: { target }, demonstration };
    },
    respond(problem, turn): TurnResponse {
      const g = readGuess(turn);
      if (g === null) return { observation: "?;", done: false, toolCall: false, malformed: true };
      const target = Number(problem.data.target);
      if (g === target) return { observation: "", done: true, answer: String(g), toolCall: true, malformed: false };
      return { observation: target < g ? "=lo;" : "=hi;", done: false, toolCall: true, malformed: false };
    },
    verify: (problem, answer) => (answer === String(problem.data.target) ? 1 : 0),
  });
}

registerAgentTask("calc", calcTask, 'arithmetic with a calculator tool: "12*34+56=?" → calc(12*34), calc(408+56), ans 464 (options: ops = 2, digits = 2)');
registerAgentTask("lookup", lookupTask, 'multi-hop lookups in a hidden key-value base: "c>>?" → get(c), get(f), ans d (options: hops = 2, keys = 8)');
registerAgentTask("guess", guessTask, "find a hidden number from lo/hi feedback: g(8) → =lo; … (options: bits = 4)");
