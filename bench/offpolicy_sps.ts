/**
 * Throughput of the continuous off-policy algorithms on Pendulum-v1 once training runs (one
 * gradient step per env step): env steps per second after the random warm-up, with the split
 * into acting/env time and update time, for CleanRL's network sizes (256-256, batch 256) and
 * the small ones the learning tests use (64-64, batch 128). Asserts nothing.
 *
 *   npm run bench -- offpolicy-sps [--algos sac,td3] [--steps 1000] [--backend wasm|cpu] [--json]
 *
 * A measured iteration runs `--steps` env steps, each followed by one critic step (and, every
 * policyFrequency steps, the actor's): SPS here is gradient steps per second too. The host
 * drifts from minute to minute, and a shared machine slows everything: compare variants run
 * back to back, not against a number measured another day.
 */
import { parseArgs } from "node:util";
import { ALGORITHMS, resolveConfig } from "../src/algos/index.js";

const options = {
  algos: { type: "string", default: "sac,td3" },
  steps: { type: "string", default: "1000" },
  backend: { type: "string", default: "wasm" },
  json: { type: "boolean", default: false },
} as const;

const SIZES = [
  { label: "256-256, batch 256 (CleanRL)", hidden: [256, 256], batchSize: 256 },
  { label: "64-64, batch 128 (learning tests)", hidden: [64, 64], batchSize: 128 },
];

interface Row {
  algo: string;
  size: string;
  sps: number;
  actMsPerStep: number;
  updateMsPerStep: number;
}

async function measure(algo: string, size: (typeof SIZES)[number], steps: number, backend: string): Promise<Row> {
  // Iteration 1 is the random warm-up (it fills the buffer), 2 compiles every code path, 3 is measured.
  const config = resolveConfig({
    algo,
    env: "Pendulum-v1",
    overrides: { backend, hidden: size.hidden, batchSize: size.batchSize, learningStarts: steps, iterationSteps: steps, totalTimesteps: 3 * steps },
  });
  const a = await ALGORITHMS[algo].create(config);
  try {
    a.iterate();
    a.iterate();
    const m = a.iterate();
    const seconds = m.rolloutSeconds + m.updateSeconds;
    return { algo, size: size.label, sps: steps / seconds, actMsPerStep: (1000 * m.rolloutSeconds) / steps, updateMsPerStep: (1000 * m.updateSeconds) / steps };
  } finally {
    a.dispose();
  }
}

export async function benchOffPolicySps(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options });
  const steps = Number(values.steps);
  const rows: Row[] = [];
  for (const algo of String(values.algos).split(",")) {
    for (const size of SIZES) rows.push(await measure(algo, size, steps, String(values.backend)));
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log(`Pendulum-v1, ${steps} env steps with one gradient step each, backend ${values.backend}\n`);
  console.log("| algo | networks | SPS | act + env ms/step | update ms/step |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.algo} | ${r.size} | ${r.sps.toFixed(1)} | ${r.actMsPerStep.toFixed(2)} | ${r.updateMsPerStep.toFixed(2)} |`);
}
