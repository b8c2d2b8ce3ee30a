/** Verifiable text tasks: tokenizer, tasks, rewards, registry and the token-level env. */
export * from "./tokenizer.js";
export * from "./task.js";
export * from "./rewards.js";
export * from "./registry.js";
export * from "./text_env.js";
export { additionTask } from "./tasks/addition.js";
export { multiplicationTask } from "./tasks/multiplication.js";
export { sortingTask } from "./tasks/sorting.js";
export { parityTask } from "./tasks/parity.js";
export { countdownTask, parseExpression, evaluateExpression, scoreCountdown, MAX_EXPRESSION_LENGTH, type Expression, type Rational } from "./tasks/countdown.js";
export * from "./agent/task.js";
export { AgentEnv, type AgentEnvOptions, type AgentStepResult, type TurnRecord } from "./agent/env.js";
export { calcTask, lookupTask, guessTask, calculator, kbLookup } from "./agent/tasks.js";
export { critiqueTask } from "./agent/critique.js";
