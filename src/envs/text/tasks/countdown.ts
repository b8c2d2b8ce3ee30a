import { ConfigError } from "../../../core/errors.js";
import type { Rng } from "../../../core/rng.js";
import { defineTask, intOptions, SLACK, type TextProblem, type TextTask } from "../task.js";

/**
 * Countdown (as in TinyZero): `3 5 7>22:` → an arithmetic expression that uses each
 * given number exactly once and equals the target, e.g. "3*5+7".
 *
 * Grammar of a completion (no spaces, no unary minus, numbers without leading zeros):
 *   expr   := term (("+" | "-") term)*
 *   term   := factor (("*" | "/") factor)*
 *   factor := number | "(" expr ")"
 * The expression is evaluated in exact rational arithmetic, so "(7/2)*4" equals 14.
 * It scores 1 when its numbers are exactly the given multiset and its value is the
 * target; anything else (a parse error, a division by zero, a missing or reused
 * number, more than MAX_EXPRESSION_LENGTH characters) scores 0.
 */

/** Longer completions are rejected unparsed: this bounds the parser's work and recursion. */
export const MAX_EXPRESSION_LENGTH = 256;
/** Draws of numbers before the generator gives up finding a target in range. */
const MAX_TARGET_DRAWS = 1000;

type Op = "+" | "-" | "*" | "/";
export type Expression = { kind: "number"; value: bigint } | { kind: "op"; op: Op; left: Expression; right: Expression };
/** An exact rational n/d with d > 0, in lowest terms. */
export interface Rational {
  n: bigint;
  d: bigint;
}

/** The expression tree of `text`, or null when it is not an expression of the grammar above. */
export function parseExpression(text: string): Expression | null {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_EXPRESSION_LENGTH) return null;
  let pos = 0;

  const parseNumber = (): Expression | null => {
    const start = pos;
    while (pos < text.length && text[pos] >= "0" && text[pos] <= "9") pos++;
    if (pos === start) return null;
    if (text[start] === "0" && pos - start > 1) return null; // leading zero
    return { kind: "number", value: BigInt(text.slice(start, pos)) };
  };
  const parseFactor = (): Expression | null => {
    if (text[pos] !== "(") return parseNumber();
    pos++;
    const inner = parseSum();
    if (inner === null || text[pos] !== ")") return null;
    pos++;
    return inner;
  };
  // One precedence level: operands joined left-associatively by the level's operators.
  const parseLevel = (ops: string, operand: () => Expression | null) => (): Expression | null => {
    let left = operand();
    while (left !== null && pos < text.length && ops.includes(text[pos])) {
      const op = text[pos++] as Op;
      const right = operand();
      left = right === null ? null : { kind: "op", op, left, right };
    }
    return left;
  };
  const parseProduct = parseLevel("*/", parseFactor);
  const parseSum = parseLevel("+-", parseProduct);

  const tree = parseSum();
  return tree !== null && pos === text.length ? tree : null;
}

/** Exact value of an expression, or null when it divides by zero. */
export function evaluateExpression(e: Expression): Rational | null {
  if (e.kind === "number") return { n: e.value, d: 1n };
  const a = evaluateExpression(e.left);
  const b = evaluateExpression(e.right);
  if (a === null || b === null) return null;
  switch (e.op) {
    case "+":
      return reduce(a.n * b.d + b.n * a.d, a.d * b.d);
    case "-":
      return reduce(a.n * b.d - b.n * a.d, a.d * b.d);
    case "*":
      return reduce(a.n * b.n, a.d * b.d);
    case "/":
      return b.n === 0n ? null : reduce(a.n * b.d, a.d * b.n);
  }
}

function reduce(n: bigint, d: bigint): Rational {
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  let x = n < 0n ? -n : n;
  let y = d;
  while (y !== 0n) [x, y] = [y, x % y];
  return x > 1n ? { n: n / x, d: d / x } : { n, d };
}

/** The numbers written in an expression, left to right. */
function literals(e: Expression, out: bigint[] = []): bigint[] {
  if (e.kind === "number") out.push(e.value);
  else {
    literals(e.left, out);
    literals(e.right, out);
  }
  return out;
}

/** 1 when `completion` uses exactly `numbers` (each once) and equals `target`, else 0. */
export function scoreCountdown(numbers: readonly number[], target: number, completion: string): number {
  const tree = parseExpression(completion);
  if (tree === null) return 0;
  const used = literals(tree).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const given = numbers.map((v) => BigInt(v)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  if (used.length !== given.length || used.some((v, i) => v !== given[i])) return 0;
  const value = evaluateExpression(tree);
  return value !== null && value.d === 1n && value.n === BigInt(target) ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

const PRECEDENCE: Record<Op, number> = { "+": 1, "-": 1, "*": 2, "/": 2 };

/** Written form with only the parentheses the grammar needs. */
function render(e: Expression): string {
  if (e.kind === "number") return String(e.value);
  const p = PRECEDENCE[e.op];
  const prec = (x: Expression) => (x.kind === "number" ? 3 : PRECEDENCE[x.op]);
  const left = prec(e.left) < p ? `(${render(e.left)})` : render(e.left);
  // a-(b+c) and a/(b*c) keep their parentheses: - and / do not associate to the right.
  const keep = prec(e.right) < p || (prec(e.right) === p && (e.op === "-" || e.op === "/"));
  const right = keep ? `(${render(e.right)})` : render(e.right);
  return `${left}${e.op}${right}`;
}

interface Built {
  tree: Expression;
  value: number;
}

/**
 * Combines the numbers in a random order with random operators into one expression,
 * keeping every intermediate value a non-negative integer (subtraction puts the larger
 * operand first, division is used only when exact). Its value is the target, so every
 * problem is solvable and the expression is a demonstration.
 */
function randomExpression(numbers: number[], rng: Rng): Built {
  const pool: Built[] = numbers.map((v) => ({ tree: { kind: "number", value: BigInt(v) }, value: v }));
  while (pool.length > 1) {
    let a = pool.splice(rng.integer(0, pool.length), 1)[0];
    let b = pool.splice(rng.integer(0, pool.length), 1)[0];
    const ops: Op[] = ["+", "-", "*"];
    const divisible = (x: Built, y: Built) => y.value !== 0 && x.value % y.value === 0;
    if (divisible(a, b) || divisible(b, a)) ops.push("/");
    const op = ops[rng.integer(0, ops.length)];
    if ((op === "-" && a.value < b.value) || (op === "/" && !divisible(a, b))) [a, b] = [b, a];
    const value = op === "+" ? a.value + b.value : op === "-" ? a.value - b.value : op === "*" ? a.value * b.value : a.value / b.value;
    pool.push({ tree: { kind: "op", op, left: a.tree, right: b.tree }, value });
  }
  return pool[0];
}

export function countdownTask(options?: Record<string, unknown>): TextTask {
  const o = intOptions("countdown", options, {
    numbers: { default: 3, min: 2, max: 6 },
    maxNumber: { default: 10, min: 2, max: 100 },
    minTarget: { default: 1, min: 0, max: 1_000_000 },
    maxTarget: { default: 100, min: 0, max: 1_000_000 },
  });
  if (o.minTarget > o.maxTarget) {
    throw new ConfigError(`task countdown: minTarget ${o.minTarget} is greater than maxTarget ${o.maxTarget}`, "pass minTarget <= maxTarget");
  }
  const numberWidth = String(o.maxNumber).length;
  return defineTask({
    name: "countdown",
    description: `reach a target with ${o.numbers} numbers in [1, ${o.maxNumber}], each used once, and + - * / ( ): "3 5 7>22:" → "3*5+7"`,
    options: { ...o },
    maxPromptLength: o.numbers * numberWidth + (o.numbers - 1) + 1 + String(o.maxTarget).length + 1,
    // Numbers, operators, and at most one pair of parentheses per inner node but the root.
    maxCompletionLength: o.numbers * numberWidth + (o.numbers - 1) + 2 * (o.numbers - 2) + SLACK,
    generate(rng: Rng): TextProblem {
      for (let i = 0; i < MAX_TARGET_DRAWS; i++) {
        const numbers = Array.from({ length: o.numbers }, () => rng.integer(1, o.maxNumber + 1));
        const { tree, value } = randomExpression(numbers, rng);
        if (value < o.minTarget || value > o.maxTarget) continue;
        return { prompt: `${numbers.join(" ")}>${value}:`, solution: render(tree), data: { numbers, target: value } };
      }
      throw new ConfigError(
        `task countdown: no expression of ${o.numbers} numbers in [1, ${o.maxNumber}] reached a target in [${o.minTarget}, ${o.maxTarget}] in ${MAX_TARGET_DRAWS} draws`,
        "widen [minTarget, maxTarget] or change numbers / maxNumber",
      );
    },
    verify(problem, completion) {
      const { numbers, target } = problem.data;
      if (!Array.isArray(numbers) || typeof target !== "number") return 0;
      return scoreCountdown(numbers, target, completion);
    },
    formatOk: (_problem, completion) => (parseExpression(completion) !== null ? 1 : 0),
  });
}
