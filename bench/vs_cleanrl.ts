/**
 * `npm run bench -- vs-cleanrl [--runs 3] [--steps 500000] [--backends wasm,kernels]`:
 * PPO on CartPole-v1 with CleanRL's `ppo.py` defaults, whole process (start-up, training,
 * final evaluation, checkpoint), refinery against CleanRL on the same machine, run in
 * alternation so drift hits both alike. Prints the median wall time, its range, the median
 * peak RSS and the ratio to CleanRL. Asserts nothing.
 *
 * CleanRL runs only when you point the bench at it:
 *   PYTHON=/path/to/python   a Python with torch and gymnasium installed
 *   CLEANRL_PPO=/path/to/ppo.py   CleanRL's cleanrl/ppo.py (git clone https://github.com/vwxyzjn/cleanrl)
 * It runs as `$PYTHON $CLEANRL_PPO --env-id CartPole-v1 --total-timesteps N --seed S --no-cuda`
 * with OMP_NUM_THREADS=1 (one thread, as refinery). Without them the bench prints refinery's
 * figures next to the last recorded CleanRL figures, with their date and machine.
 *
 * refinery runs as `node bin/refinery.js train …` from dist/: run `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

/** The last CleanRL measurement on this kind of machine (2 vCPU, Node 20 host, no GPU). */
const RECORDED_CLEANRL = {
  date: "2026-11",
  machine: "2-vCPU Linux VM of the kind this project is developed on",
  setup: "CleanRL ppo.py at commit fe8d8a0, PyTorch 1.13 (Debian, OpenBLAS, 1 thread), Gymnasium 0.29.1",
  steps: 500_000,
  medianWallSeconds: 122.8,
  sps: 4_100,
  peakRssMiB: 256,
};

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    steps: { type: "string", default: "500000" },
    backends: { type: "string", default: "wasm,kernels" },
  },
});

interface Sample {
  wallSeconds: number;
  peakRssMiB: number | null;
}

const TIME = "/usr/bin/time";

/** Runs a command to completion; wall time and peak RSS (from GNU time when present). */
function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv): Sample {
  const useTime = existsSync(TIME);
  const start = process.hrtime.bigint();
  const r = useTime
    ? spawnSync(TIME, ["-f", "@@%M", cmd, ...args], { env, encoding: "utf8", maxBuffer: 64 << 20 })
    : spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${(r.stderr ?? "").slice(-2000)}`);
  const kb = useTime ? /@@(\d+)/.exec(r.stderr ?? "")?.[1] : undefined;
  return { wallSeconds, peakRssMiB: kb === undefined ? null : Number(kb) / 1024 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function cleanrlCommand(): { python: string; script: string } | null {
  const python = process.env.PYTHON;
  const script = process.env.CLEANRL_PPO;
  if (!python || !script) return null;
  if (!existsSync(script)) throw new Error(`CLEANRL_PPO=${script} does not exist. Fix: point it at cleanrl/ppo.py of a CleanRL checkout.`);
  const probe = spawnSync(python, ["-c", "import torch, gymnasium"], { encoding: "utf8" });
  if (probe.status !== 0) throw new Error(`PYTHON=${python} cannot import torch and gymnasium. Fix: install them in that Python (pip install torch gymnasium).`);
  return { python, script };
}

export async function benchVsCleanrl(): Promise<void> {
  if (!existsSync("dist/cli/main.js")) throw new Error("dist/ is missing. Fix: run `npm run build` first.");
  const runs = Number(values.runs);
  const steps = Number(values.steps);
  const backends = (values.backends ?? "wasm").split(",").filter(Boolean);
  const cleanrl = cleanrlCommand();
  const variants: { name: string; run: (seed: number) => Sample }[] = backends.map((backend) => ({
    name: `refinery (${backend})`,
    run: (seed: number) => {
      const dir = mkdtempSync(join(tmpdir(), "refinery-vs-"));
      try {
        const args = ["bin/refinery.js", "train", "--env", "CartPole-v1", "--steps", String(steps), "--seed", String(seed), "--quiet", "--out", join(dir, "run"), "--set", `backend=${backend}`];
        return measure(process.execPath, args, process.env);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  }));
  if (cleanrl) {
    variants.push({
      name: "CleanRL ppo.py",
      run: (seed: number) => {
        const dir = mkdtempSync(join(tmpdir(), "cleanrl-vs-"));
        try {
          const args = [cleanrl.script, "--env-id", "CartPole-v1", "--total-timesteps", String(steps), "--seed", String(seed), "--no-cuda"];
          return measure(cleanrl.python, args, { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", PWD: dir });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    });
  }
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const v of variants) {
      const s = v.run(i + 1);
      samples.get(v.name)?.push(s);
      console.log(`run ${i + 1} ${v.name}: ${s.wallSeconds.toFixed(1)} s wall, ${s.peakRssMiB === null ? "?" : s.peakRssMiB.toFixed(0)} MiB peak RSS`);
    }
  }
  // A ratio only for equal workloads: the recorded figure is for its own step count.
  const cleanrlMedian = cleanrl ? median((samples.get("CleanRL ppo.py") ?? []).map((s) => s.wallSeconds)) : steps === RECORDED_CLEANRL.steps ? RECORDED_CLEANRL.medianWallSeconds : null;
  console.log(`\nPPO CartPole-v1, CleanRL's ppo.py defaults, ${steps} steps, whole process, ${runs} runs each (median [min, max])`);
  for (const [name, list] of samples) {
    const walls = list.map((s) => s.wallSeconds);
    const rss = list.map((s) => s.peakRssMiB).filter((x): x is number => x !== null);
    const w = median(walls);
    console.log(
      `${name.padEnd(22)} ${w.toFixed(1).padStart(7)} s [${Math.min(...walls).toFixed(1)}, ${Math.max(...walls).toFixed(1)}]  ${(steps / w).toFixed(0).padStart(6)} steps/s overall  ${rss.length ? median(rss).toFixed(0) : "?"} MiB  ${cleanrlMedian === null ? "" : `${(cleanrlMedian / w).toFixed(2)}× CleanRL`}`,
    );
  }
  if (!cleanrl) {
    const r = RECORDED_CLEANRL;
    console.log(
      `CleanRL ppo.py (recorded ${r.date}, not run here: set PYTHON and CLEANRL_PPO to run it): ${r.medianWallSeconds} s median wall for ${r.steps} steps, ~${r.sps} SPS, ${r.peakRssMiB} MiB; ${r.setup}; ${r.machine}.`,
    );
    if (steps !== r.steps) console.log(`(no ratio: the recorded figure is for ${r.steps} steps; pass --steps ${r.steps} to compare)`);
  }
}
