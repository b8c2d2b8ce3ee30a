/**
 * Throughput of the off-policy algorithms once training runs: env steps per second after
 * the warm-up, with the split into acting/env time and update time, per backend (tfjs wasm,
 * tfjs cpu, refinery's WebAssembly SIMD kernels), next to CleanRL's anchor where one is
 * recorded. Asserts nothing.
 *
 *   npm run bench -- offpolicy-sps [--algos sac,td3,dqn] [--backends wasm,kernels:1,kernels:2] [--steps 1000]
 *                                  [--sizes cleanrl,small] [--json]
 *
 * `kernels:1` and `kernels:2` are the kernels backend with `kernelThreads` 1 and 2 (a helper
 * thread takes half of each product of ≥ 1 M multiply-adds; plain `kernels` is `auto`).
 *
 * Workloads: SAC and TD3 on Pendulum-v1 with one gradient step per env step, at CleanRL's
 * sizes (256-256, batch 256) and the small ones of the learning tests (64-64, batch 128); DQN
 * on CartPole-v1 with CleanRL dqn.py's defaults (120-84, batch 128, a gradient step every 10
 * env steps). A measured iteration runs `--steps` env steps; the one before it compiles
 * every code path. The host drifts from minute to minute, and a shared machine slows
 * everything: compare variants run back to back, not against a number measured another day.
 * The CPU time per step (the process's user + system time, both threads' with kernels:2) is
 * what the work costs whatever share of a core the process got, so it is the steadier
 * column on a busy machine for one-thread variants; a second thread shows in SPS only.
 */
import { parseArgs } from "node:util";
import { ALGORITHMS, resolveConfig } from "../src/algos/index.js";

const options = {
  algos: { type: "string", default: "sac,td3,dqn" },
  backends: { type: "string", default: "wasm,kernels:1,kernels:2" },
  backend: { type: "string" },
  steps: { type: "string", default: "1000" },
  sizes: { type: "string", default: "cleanrl,small" },
  json: { type: "boolean", default: false },
} as const;

interface Workload {
  key: "cleanrl" | "small";
  label: string;
  env: string;
  overrides: Record<string, unknown>;
}

function workloads(algo: string): Workload[] {
  if (algo === "dqn") {
    // CleanRL dqn.py: 120-84, batch 128, train every 10 steps (its defaults are refinery's).
    return [{ key: "cleanrl", label: "120-84, batch 128, train every 10 steps (CleanRL dqn.py)", env: "CartPole-v1", overrides: {} }];
  }
  return [
    { key: "cleanrl", label: "256-256, batch 256 (CleanRL)", env: "Pendulum-v1", overrides: { hidden: [256, 256], batchSize: 256 } },
    { key: "small", label: "64-64, batch 128 (learning tests)", env: "Pendulum-v1", overrides: { hidden: [64, 64], batchSize: 128 } },
  ];
}

/**
 * CleanRL's throughput for these workloads, where one was measured. None has been: the
 * anchors recorded on this machine are PPO's (`bench -- vs-cleanrl`), and CleanRL's docs give
 * learning curves, not SPS tables, for sac_continuous_action.py and dqn.py.
 */
const RECORDED_CLEANRL: Record<string, { sps: number; source: string } | null> = {
  "sac/cleanrl": null,
  "td3/cleanrl": null,
  "dqn/cleanrl": null,
};

interface Row {
  algo: string;
  size: string;
  backend: string;
  sps: number;
  /** Process CPU time per env step (user + system): what the work costs, whatever share of a core the process got. */
  cpuMsPerStep: number;
  actMsPerStep: number;
  updateMsPerStep: number;
  anchor: string;
}

async function measure(algo: string, w: Workload, steps: number, backend: string): Promise<Row> {
  // Iteration 1 fills the buffer (random warm-up, or ε-greedy for DQN), 2 compiles every code path, 3 is measured.
  const [name, threads] = backend.split(":");
  const config = resolveConfig({
    algo,
    env: w.env,
    overrides: {
      ...w.overrides,
      backend: name,
      ...(threads ? { kernelThreads: Number(threads) } : {}),
      learningStarts: steps,
      iterationSteps: steps,
      totalTimesteps: 3 * steps,
    },
  });
  const a = await ALGORITHMS[algo].create(config);
  try {
    a.iterate();
    a.iterate();
    const cpu0 = process.cpuUsage();
    const m = a.iterate();
    const cpu = process.cpuUsage(cpu0);
    const seconds = m.rolloutSeconds + m.updateSeconds;
    const anchor = RECORDED_CLEANRL[`${algo}/${w.key}`];
    return {
      algo,
      size: w.label,
      backend,
      sps: steps / seconds,
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
      actMsPerStep: (1000 * m.rolloutSeconds) / steps,
      updateMsPerStep: (1000 * m.updateSeconds) / steps,
      anchor: anchor ? `${anchor.sps} (${anchor.source})` : "none recorded",
    };
  } finally {
    a.dispose();
  }
}

export async function benchOffPolicySps(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options });
  const steps = Number(values.steps);
  const backends = String(values.backend ?? values.backends).split(",").map((s) => s.trim()).filter(Boolean);
  const sizes = new Set(String(values.sizes).split(","));
  const rows: Row[] = [];
  for (const algo of String(values.algos).split(",")) {
    for (const w of workloads(algo).filter((x) => sizes.has(x.key))) {
      for (const backend of backends) rows.push(await measure(algo, w, steps, backend));
    }
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log(`${steps} env steps measured per row (after a warm-up and a compile iteration); SAC/TD3 on Pendulum-v1, DQN on CartPole-v1\n`);
  console.log("| algo | networks | backend | SPS | CPU ms/step | act + env ms/step | update ms/step | CleanRL SPS, same workload |");
  console.log("|---|---|---|--:|--:|--:|--:|---|");
  for (const r of rows) {
    console.log(`| ${r.algo} | ${r.size} | ${r.backend} | ${r.sps.toFixed(1)} | ${r.cpuMsPerStep.toFixed(2)} | ${r.actMsPerStep.toFixed(2)} | ${r.updateMsPerStep.toFixed(2)} | ${r.anchor} |`);
  }
  for (const algo of new Set(rows.map((r) => r.algo))) {
    for (const size of new Set(rows.filter((r) => r.algo === algo).map((r) => r.size))) {
      const mine = rows.filter((r) => r.algo === algo && r.size === size);
      const w = mine.find((r) => r.backend === "wasm");
      for (const k of mine.filter((r) => r.backend.startsWith("kernels"))) {
        if (w) console.log(`${algo}, ${size}: ${k.backend} ${(k.sps / w.sps).toFixed(2)}× wasm in SPS, ${(w.cpuMsPerStep / k.cpuMsPerStep).toFixed(2)}× in CPU time per step`);
      }
    }
  }
  console.log(
    "\nNo CleanRL SPS is recorded for sac_continuous_action.py, td3_continuous_action.py or dqn.py on this machine (no torch here),\n" +
      "and CleanRL publishes learning curves, not SPS tables, for them: there is no anchor to put next to these numbers.",
  );
}
