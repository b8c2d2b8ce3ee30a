import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { resolveConfig } from "../algos/index.js";
import { applySets } from "../core/config.js";
import { ConfigError, RefineryError } from "../core/errors.js";
import { prepareEnv } from "../envs/registry.js";
import { resolveRunsRoot } from "../store/root.js";
import { describeOwner } from "../train/lock.js";
import { parseLogFormats } from "../train/logger.js";
import { train, type StartInfo, type TrainRow, type TrainSummary } from "../train/trainer.js";
import type { Algorithm } from "../algos/types.js";
import type { MetricLogger } from "../train/metric_logger.js";
import { checkBudget, plannedSteps } from "../train/budget.js";
import { checkRunDirPlace, RunDir } from "../train/run.js";
import { InterruptedError, type CliIo } from "./io.js";

export interface TrainCliOptions {
  /** Undefined when not given on the command line (then "ppo"), so --resume can tell. */
  algo?: string;
  env?: string;
  /** A text task (and its run options). */
  task?: string;
  init?: string;
  iterations?: number;
  preset?: string;
  config?: string;
  set: string[];
  steps?: number;
  seed?: number;
  out?: string;
  resume?: string;
  /** With --resume: start the run over from step 0 with its saved config. */
  restart?: boolean;
  json: boolean;
  quiet?: boolean;
  /** --log: "tensorboard", "csv" or both, comma-separated; allowed with --resume (it changes no training). */
  log?: string;
  /** --actor-threads N: collect each iteration's rollouts in N worker threads (src/scale/thread_actors.ts). */
  actorThreads?: number;
  /** With --actor-threads: --max-staleness (group, text and off-policy algorithms), --publish-every and --chunk-steps (off-policy; src/scale/offpolicy_actors.ts). */
  maxStaleness?: number;
  publishEvery?: number;
  chunkSteps?: number;
}

/** What `train` prints at the end, in text or as the final JSON line. */
interface SummaryView {
  runDir: string;
  algo: string;
  env: string;
  steps: number;
  wallSeconds: number;
  sps: number;
  finalMeanReturn: number;
  evalMeanReturn: number;
  evalStdReturn: number;
  evalEpisodes: number;
  /** Text runs: greedy pass@1 on the held-out problems. */
  evalPassAt1?: number;
  stepsToThreshold: number | null;
  alreadyFinished?: boolean;
  /** Env steps asked for (totalTimesteps) when it differs from what whole iterations train. */
  requestedSteps?: number;
}

/** What `refinery learner` adds to a training run (src/cli/remote.ts). */
export interface TrainHooks {
  /** Called once the run's algo and config are known, before its directory is made or opened; may refuse them. */
  setup(algo: string, config: Record<string, unknown>, signal: AbortSignal): Promise<{
    beforeIteration(algo: Algorithm): Promise<void>;
    onUpdate(row: TrainRow, algo: Algorithm, logger: MetricLogger): void;
    /** After training (finished or interrupted). */
    finish(summary: TrainSummary): Promise<void>;
    close(): Promise<void>;
  }>;
  /** The command that continues an interrupted run, e.g. `refinery learner --resume …`. */
  resumeCommand(runDir: string): string;
}

/**
 * `refinery train`: resolve and validate the whole config first (every config error
 * surfaces before anything is built), then train with a progress line on stderr and
 * print a summary. Resuming a finished run trains nothing and prints its summary.
 */
export async function trainCommand(opts: TrainCliOptions, io: CliIo, hooks?: TrainHooks): Promise<void> {
  const threadFlags = offPolicyThreadFlags(opts);
  if (threadFlags.length && opts.actorThreads === undefined && !hooks) {
    if (threadFlags.length === 1 && opts.maxStaleness !== undefined) {
      throw new ConfigError(`--max-staleness ${opts.maxStaleness} bounds how far actors run ahead, and this run has none`, "add --actor-threads N, or use refinery learner with remote actors, or drop --max-staleness");
    }
    throw new ConfigError(`${threadFlags.join(", ")} set how off-policy actor threads run, and there are none`, "add --actor-threads N (dqn, sac, td3, mdpo-off), or drop them");
  }
  if (opts.actorThreads !== undefined && !hooks) hooks = threadActorHooks(opts.actorThreads, opts);
  const log = opts.log === undefined ? undefined : parseLogFormats(opts.log);
  if (opts.restart && !opts.resume) {
    throw new ConfigError("--restart starts an existing run over and needs --resume DIR", "pass --resume DIR --restart, or drop --restart for a new run", "resume_conflict");
  }
  if (opts.resume) {
    rejectOptionsWithResume(opts);
    const run = RunDir.open(opts.resume);
    const finished = opts.restart ? null : finishedSummary(run);
    if (finished) {
      io.err(`refinery: ${opts.resume} already finished at ${finished.steps} steps; nothing to train (evaluate it with \`refinery eval ${opts.resume}\`, or start a new run with another --out)\n`);
      printSummary(finished, opts.json, io);
      return;
    }
  }
  if (opts.resume) checkWritable(opts.resume);
  const algo = opts.algo ?? "ppo";
  let config: Record<string, unknown> | undefined;
  let runDir: string;
  if (opts.resume) {
    runDir = opts.resume;
  } else {
    const file = opts.config ? readConfigFile(opts.config, algo) : undefined;
    // Envs with asynchronous set-up (MuJoCo loads its WebAssembly module) before the config checks make them.
    await prepareEnv(opts.env ?? file?.env);
    const flags: Record<string, unknown> = {};
    if (opts.steps !== undefined && opts.task !== undefined) {
      throw new ConfigError("--steps counts env steps, and a text run counts iterations", "use --iterations N with --task");
    }
    if (opts.steps !== undefined) flags.totalTimesteps = opts.steps;
    if (opts.task !== undefined) flags.task = opts.task;
    if (opts.init !== undefined) flags.init = opts.init;
    if (opts.iterations !== undefined) flags.iterations = opts.iterations;
    if (opts.seed !== undefined) flags.seed = opts.seed;
    if (opts.env !== undefined) flags.env = opts.env;
    const overrides = applySets(flags, opts.set);
    config = resolveConfig({ algo, preset: opts.preset, file, fileName: opts.config, overrides, overridesName: "the command line" });
    runDir = opts.out ?? defaultRunDir(algo, typeof config.task === "string" ? `text:${config.task}` : (config.env as string), config.seed as number);
    checkBudget(algo, config);
    checkOutDir(runDir, opts.out === undefined ? "the run directory" : "--out");
  }

  const saved = config ? { algo, config } : RunDir.open(runDir).readConfig();
  const text = typeof saved.config.task === "string";
  const planned = config ? plannedSteps(config) : null;
  if (planned && config && planned.steps !== config.totalTimesteps && !opts.quiet) {
    // Iterations are whole rollouts of numEnvs × numSteps: say what will run instead of silently rounding.
    io.err(
      `refinery: note: ${Number(config.totalTimesteps).toLocaleString("en-US")} steps is not a multiple of numEnvs × numSteps = ${planned.perIteration.toLocaleString("en-US")}; training ${planned.iterations} iterations = ${planned.steps.toLocaleString("en-US")} steps\n`,
    );
  }
  const progress = opts.quiet ? undefined : progressLine(io, text);
  const resumeCommand = hooks ? hooks.resumeCommand(runDir) : `refinery train --resume ${runDir}`;
  const stop = stopOnSignals(io, resumeCommand, () => progress?.end());
  let summary: TrainSummary;
  let extra: Awaited<ReturnType<TrainHooks["setup"]>> | undefined;
  try {
    extra = hooks ? await hooks.setup(saved.algo, saved.config, stop.signal) : undefined;
    summary = await train({
      runDir,
      algo,
      config,
      resume: !!opts.resume,
      log,
      restart: opts.restart === true,
      signal: stop.signal,
      beforeIteration: extra?.beforeIteration,
      callbacks: {
        onIteration: progress?.update,
        onUpdate: extra?.onUpdate,
        onStart: (info) => reportStart(info, io),
      },
    });
    await extra?.finish(summary);
  } finally {
    stop.dispose();
    await extra?.close();
  }
  progress?.end();
  if (summary.interrupted) {
    const resume = resumeCommand;
    throw new InterruptedError(
      `run ${summary.runDir} stopped by ${stop.signalName() ?? "a signal"} at step ${summary.steps.toLocaleString("en-US")} (checkpoint ${summary.checkpoint ?? "none"} saved, run marked interrupted)`,
      `continue it with \`${resume}\``,
      stop.signalName() === "SIGTERM" ? 143 : 130,
    );
  }
  const view = viewOf(summary);
  if (planned && config && planned.steps !== config.totalTimesteps) view.requestedSteps = config.totalTimesteps as number;
  printSummary(view, opts.json, io);
}

/** --actor-threads: each iteration's rollouts collected in worker threads (group/text: up to maxStaleness iterations ahead; off-policy: chunks of transitions), the update here. */
function threadActorHooks(threads: number, opts: TrainCliOptions): TrainHooks {
  const extra = offPolicyThreadFlags(opts).map((flag) => ` ${flag} ${String(opts[flagKey(flag)])}`).join("");
  return {
    resumeCommand: (runDir) => `refinery train --resume ${runDir} --actor-threads ${threads}${extra}`,
    async setup(algo, config, signal) {
      const { OFF_POLICY_ALGOS, offPolicyThreadHooks } = await import("../scale/offpolicy_actors.js");
      if (OFF_POLICY_ALGOS.includes(algo)) return offPolicyThreadHooks(algo, config, { threads, maxStaleness: opts.maxStaleness, publishEvery: opts.publishEvery, chunkSteps: opts.chunkSteps }, signal);
      const offOnly = offPolicyThreadFlags(opts).filter((flag) => flag !== "--max-staleness");
      if (offOnly.length) throw new ConfigError(`${offOnly.join(", ")} apply to off-policy actor threads; ${algo}'s actor threads collect whole iterations`, "drop them");
      const maxStaleness = opts.maxStaleness ?? 0;
      const { ThreadActors } = await import("../scale/thread_actors.js");
      const actors = await ThreadActors.create(algo, config, threads, { maxStaleness, signal });
      return {
        beforeIteration: (a) => actors.beforeIteration(a),
        onUpdate: (_row, _a, logger) => actors.recordMetrics(logger),
        finish: async () => {},
        close: () => actors.close(),
      };
    },
  };
}

const OFF_POLICY_THREAD_FLAGS = { "--max-staleness": "maxStaleness", "--publish-every": "publishEvery", "--chunk-steps": "chunkSteps" } as const;

function flagKey(flag: string): "maxStaleness" | "publishEvery" | "chunkSteps" {
  return OFF_POLICY_THREAD_FLAGS[flag as keyof typeof OFF_POLICY_THREAD_FLAGS];
}

/** The off-policy actor-thread flags given on the command line. */
function offPolicyThreadFlags(opts: TrainCliOptions): string[] {
  return Object.keys(OFF_POLICY_THREAD_FLAGS).filter((flag) => opts[flagKey(flag)] !== undefined);
}

/** --resume takes the run's saved config; anything that would change it is an error, not silently ignored. */
function rejectOptionsWithResume(opts: TrainCliOptions): void {
  const given = [
    ["--algo", opts.algo !== undefined],
    ["--env", opts.env !== undefined],
    ["--task", opts.task !== undefined],
    ["--init", opts.init !== undefined],
    ["--iterations", opts.iterations !== undefined],
    ["--preset", opts.preset !== undefined],
    ["--config", opts.config !== undefined],
    ["--set", opts.set.length > 0],
    ["--steps", opts.steps !== undefined],
    ["--seed", opts.seed !== undefined],
    ["--out", opts.out !== undefined],
  ]
    .filter(([, on]) => on)
    .map(([name]) => name as string);
  if (given.length) {
    throw new ConfigError(
      `--resume cannot be combined with ${given.join(", ")}: a resumed run keeps the config and directory it was started with`,
      `drop ${given.join(", ")}, or start a new run without --resume`,
      "resume_conflict",
    );
  }
}

/** The summary of a run whose status is "finished", read from its files; null otherwise. */
function finishedSummary(run: RunDir): SummaryView | null {
  const status = run.readStatus();
  if (status?.status !== "finished") return null;
  const { algo, config } = run.readConfig();
  const metrics = run.readMetrics();
  const lastTrain = metrics.filter((m) => m.kind === "train").at(-1) ?? {};
  const lastEval = metrics.filter((m) => m.kind === "eval").at(-1) ?? {};
  return {
    runDir: run.path,
    algo,
    env: typeof config.task === "string" ? `text:${config.task}` : String(config.env),
    steps: num(status.step),
    wallSeconds: num(lastTrain.wallSeconds),
    sps: num(lastTrain.sps),
    finalMeanReturn: num(status.finalMeanReturn),
    evalMeanReturn: num(status.evalReturnMean ?? lastEval.evalReturnMean),
    evalStdReturn: num(lastEval.evalReturnStd),
    evalEpisodes: num(config.evalEpisodes ?? config.evalProblems),
    ...(typeof lastEval.evalPassAt1 === "number" ? { evalPassAt1: lastEval.evalPassAt1 } : {}),
    stepsToThreshold: typeof status.stepsToThreshold === "number" ? status.stepsToThreshold : null,
    alreadyFinished: true,
  };
}

function viewOf(s: TrainSummary): SummaryView {
  return {
    runDir: s.runDir,
    algo: s.algo,
    env: s.env,
    steps: s.steps,
    wallSeconds: s.wallSeconds,
    sps: s.sps,
    finalMeanReturn: s.finalMeanReturn,
    evalMeanReturn: s.finalEval.meanReturn,
    evalStdReturn: s.finalEval.stdReturn,
    evalEpisodes: s.finalEval.returns.length,
    ...(s.finalEval.passAt1 === undefined ? {} : { evalPassAt1: s.finalEval.passAt1 }),
    stepsToThreshold: s.stepsToThreshold,
  };
}

function printSummary(s: SummaryView, json: boolean, io: CliIo): void {
  if (json) {
    io.out(
      JSON.stringify({
        run_dir: s.runDir,
        algo: s.algo,
        env: s.env,
        steps: s.steps,
        ...(s.requestedSteps === undefined ? {} : { requested_steps: s.requestedSteps }),
        wall_s: nullable(round(s.wallSeconds, 3)),
        sps: nullable(Math.round(s.sps)),
        final_mean_return: nullable(s.finalMeanReturn),
        eval_mean_return: nullable(s.evalMeanReturn),
        eval_std_return: nullable(s.evalStdReturn),
        ...(s.evalPassAt1 === undefined ? {} : { eval_pass_at_1: nullable(s.evalPassAt1) }),
        steps_to_threshold: s.stepsToThreshold,
        ...(s.alreadyFinished ? { already_finished: true } : {}),
      }) + "\n",
    );
    return;
  }
  if (s.env.startsWith("text:")) {
    io.out(
      [
        `${s.alreadyFinished ? "finished run of" : "trained"} ${s.algo} on ${s.env}: ${s.steps.toLocaleString("en-US")} tokens in ${fmt(s.wallSeconds, 1)} s`,
        `  evaluation: greedy pass@1 ${fmt(s.evalPassAt1 ?? s.evalMeanReturn, 3)}, mean reward ${fmt(s.evalMeanReturn, 3)} on ${s.evalEpisodes} held-out problems`,
        `  run directory: ${s.runDir}  (refinery eval ${s.runDir}: pass@1 greedy and sampled, pass@k)`,
      ].join("\n") + "\n",
    );
    return;
  }
  io.out(
    [
      `${s.alreadyFinished ? "finished run of" : "trained"} ${s.algo} on ${s.env}: ${s.steps.toLocaleString("en-US")} steps in ${fmt(s.wallSeconds, 1)} s (${Number.isFinite(s.sps) ? Math.round(s.sps).toLocaleString("en-US") : "n/a"} SPS)`,
      `  training return (last 100 episodes): ${fmt(s.finalMeanReturn)}`,
      `  evaluation: ${fmt(s.evalMeanReturn)} ± ${fmt(s.evalStdReturn)} over ${s.evalEpisodes} episodes`,
      `  threshold reached at: ${s.stepsToThreshold === null ? "not reached" : `${s.stepsToThreshold.toLocaleString("en-US")} steps`}`,
      `  run directory: ${s.runDir}  (refinery eval ${s.runDir})`,
    ].join("\n") + "\n",
  );
}

/**
 * The progress bar on stderr: steps, SPS and the mean of recent episode returns. On a
 * terminal it redraws one line (at most 4 times a second); otherwise (logs, pipes) it
 * prints about ten lines over the run.
 */
function progressLine(io: CliIo, text = false): { update(row: TrainRow, algo: { totalIterations: number; stepsPerIteration: number }): void; end(): void } {
  const tty = io.errIsTTY === true;
  let lastPrint = 0;
  let drawn = false;
  const recent: number[] = [];
  return {
    update(row, algo) {
      if (Number.isFinite(row.episodeReturnMean)) recent.push(row.episodeReturnMean);
      if (recent.length > 10) recent.shift();
      const last = row.iteration >= algo.totalIterations;
      const now = Date.now();
      if (tty ? now - lastPrint < 250 && !last : row.iteration % Math.max(1, Math.floor(algo.totalIterations / 10)) !== 0 && !last) return;
      lastPrint = now;
      const total = algo.totalIterations * algo.stepsPerIteration;
      const width = 24;
      const bar = "█".repeat(Math.round((row.step / total) * width)).padEnd(width, "·");
      const ret = recent.length ? (recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(1) : "–";
      // A text run counts tokens (sampled, or trained on for SFT) and its episodes' return is the reward.
      const [unit, rate, what] = text ? ["tokens", "tokens/s", "reward"] : ["steps", "SPS", "return"];
      const line = `${bar} ${Math.round(row.step).toLocaleString("en-US")}/${Math.round(total).toLocaleString("en-US")} ${unit}  ${Math.round(row.sps).toLocaleString("en-US")} ${rate}  ${what} ${ret}`;
      if (tty) io.err(`\r${line}\x1b[K`);
      else io.err(line + "\n");
      drawn = true;
    },
    end() {
      if (tty && drawn) io.err("\n");
    },
  };
}

/**
 * Reads a --config file: YAML for .yaml/.yml, JSON otherwise. A run's own config.json
 * (`{"algo", "config": {...}}`) is accepted too, so a finished run can be repeated.
 */
function readConfigFile(path: string, algo: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist`, "pass the path of a .json or .yaml file");
  if (statSync(path).isDirectory()) throw new ConfigError(`config file ${path} is a directory`, "pass the path of a .json or .yaml file (a run's config is RUN_DIR/config.json)");
  // Editors on Windows save UTF-8 with a byte-order mark; it is not part of the JSON or YAML.
  const text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  const yaml = /\.ya?ml$/i.test(path);
  let data: unknown;
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    // YAML errors carry a multi-line code frame; the first line names the place.
    const reason = (err as Error).message.split("\n")[0].replace(/:\s*$/, "");
    throw new ConfigError(`cannot parse config file ${path} as ${yaml ? "YAML" : "JSON"}: ${reason}`, `fix the syntax (${yaml ? "YAML" : "JSON; name the file .yaml for YAML"})`);
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold an object of options, got ${Array.isArray(data) ? "a list" : JSON.stringify(data)}`, 'write e.g. {"learningRate": 3e-4} (see `refinery list` for every key)');
  }
  const obj = data as Record<string, unknown>;
  if (typeof obj.algo === "string" && obj.config && typeof obj.config === "object" && !Array.isArray(obj.config)) {
    if (obj.algo !== algo) {
      throw new ConfigError(`config file ${path} is the config of a ${obj.algo} run, but --algo is ${algo}`, `pass --algo ${obj.algo}, or a config file for ${algo}`);
    }
    return obj.config as Record<string, unknown>;
  }
  return obj;
}

/**
 * The run directory can be created: it is not a file, holds no run, no parent folder is a
 * file, and the nearest existing folder is writable. Checked before anything is created.
 */
function checkOutDir(dir: string, flag: string): void {
  const abs = resolve(dir);
  checkRunDirPlace(abs);
  if (existsSync(abs) && !statSync(abs).isDirectory()) {
    throw new ConfigError(`${flag} ${dir} is a file, not a directory`, "pass a new or empty directory for the run");
  }
  if (existsSync(join(abs, "config.json"))) {
    throw new ConfigError(`${flag} ${dir} already holds a run`, `continue it with --resume ${dir}, or pass another --out directory`, "run_exists");
  }
  let existing = abs;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (!statSync(existing).isDirectory()) {
    throw new ConfigError(`${flag} ${dir} lies under ${existing}, which is a file, not a directory`, "pass a path whose parent folders are directories (or remove that file)");
  }
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch {
    throw new RefineryError("permission_denied", `cannot create the run directory ${dir}: ${existing} is not writable`, "pass an --out (or REFINERY_RUNS) in a directory you can write, or change its permissions");
  }
}

/** A run to resume must be writable (metrics, checkpoints, status), said before training starts. */
function checkWritable(dir: string): void {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new RefineryError("permission_denied", `cannot resume ${dir}: the run directory is not writable`, "change its permissions (chmod u+w), or resume it as the user who started it");
  }
}

/**
 * runs/<algo>-<env>-s<seed>-<time> in the runs root ($REFINERY_RUNS, else ./runs). The name
 * keeps only portable characters (a text run's "text:addition" becomes "text-addition").
 */
function defaultRunDir(algo: string, env: string, seed: number): string {
  const root = resolveRunsRoot();
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..+/, "").replace("T", "-");
  const base = `${algo}-${env}-s${seed}-${stamp}`.replace(/[^A-Za-z0-9._-]+/g, "-");
  let dir = join(root, base);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${base}-${i}`);
  return dir;
}

function num(x: unknown): number {
  return typeof x === "number" ? x : NaN;
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function nullable(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** What a resumed (or restarted, or taken-over) run says before training. */
function reportStart(info: StartInfo, io: CliIo): void {
  if (info.tookOverFrom) {
    io.err(`refinery: took over ${info.runDir} from ${describeOwner(info.tookOverFrom)}, which is no longer running\n`);
  }
  for (const s of info.resumed?.skipped ?? []) io.err(`refinery: warning: ${s}; using an older checkpoint\n`);
  if (info.resumed) {
    io.err(`refinery: resuming ${info.runDir} from step ${info.resumed.step.toLocaleString("en-US")} (checkpoint ${info.resumed.checkpoint})\n`);
  } else if (info.restarted === "on_request") {
    io.err(`refinery: restarting ${info.runDir} from step 0 (--restart: its checkpoints, policies and metrics were deleted)\n`);
  } else if (info.restarted === "nothing_done") {
    io.err(`refinery: resuming ${info.runDir} from step 0 (it stopped before its first iteration)\n`);
  }
}

/**
 * SIGINT/SIGTERM while training: the first asks the trainer to stop after the current
 * iteration (it writes a checkpoint and marks the run interrupted); a second one exits at
 * once, after saying where to resume from. Only the CLI installs these handlers; `train()`
 * called from code never does.
 */
function stopOnSignals(io: CliIo, resumeCommand: string, endProgress: () => void): { signal: AbortSignal; signalName(): string | null; dispose(): void } {
  const controller = new AbortController();
  let received: string | null = null;
  const handler = (name: NodeJS.Signals) => {
    endProgress();
    if (received) {
      io.err(`refinery: stopped at once by a second ${name}; continue the run with \`${resumeCommand}\` (from its last checkpoint)\n`);
      process.exit(name === "SIGTERM" ? 143 : 130);
    }
    received = name;
    io.err(`refinery: ${name}: stopping after this iteration and writing a checkpoint (send it again to stop at once)\n`);
    controller.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    signal: controller.signal,
    signalName: () => received,
    dispose() {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
    },
  };
}
