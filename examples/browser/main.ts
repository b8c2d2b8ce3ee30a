// The browser example: train PPO on CartPole live, draw the pole and the return curve, and
// play a policy trained by `refinery train` (its policy/ directory, fetched over HTTP).
// Bundled by serve.mjs with esbuild; everything imported here is refinery's isomorphic core.
import { createAlgorithm, initBackend, loadPolicy, make, resolveConfig, runIterations, type ActingPolicy, type Algorithm, type BackendName, type Env } from "refinery-rl";

const params = new URLSearchParams(location.search);
const seed = Number(params.get("seed") ?? 1);
const iterations = Number(params.get("iterations") ?? 60);
/** PPO's backend: auto (the default: refinery's SIMD kernels where the browser has WebAssembly SIMD), kernels, wasm or cpu. */
const backend = (["auto", "kernels", "wasm", "cpu"] as const).find((b) => b === params.get("backend")) ?? "auto";
/** The tfjs backend the page starts (loaded policies run on it); PPO switches to tfjs cpu when it trains on the kernels. */
const tensorBackend: BackendName = backend === "cpu" ? "cpu" : "wasm";
/** Milliseconds between frames when playing an episode (0: as fast as possible). */
const frameDelay = Number(params.get("frameDelay") ?? 20);

/** What the page has done, for people (the status line) and for the end-to-end test. */
const state = {
  phase: "idle" as "idle" | "training" | "trained" | "loading" | "loaded" | "playing" | "error",
  backend: backend as string,
  /** Mean episode return of each training iteration (NaN when no episode ended). */
  returns: [] as number[],
  /** Episodes played: whose policy, the reset seed, return and length. */
  played: [] as { by: "trained" | "loaded"; seed: number; return: number; length: number }[],
  error: null as string | null,
};
(globalThis as { refineryExample?: typeof state }).refineryExample = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const buttons = { train: $<HTMLButtonElement>("train"), stop: $<HTMLButtonElement>("stop"), play: $<HTMLButtonElement>("play"), load: $<HTMLButtonElement>("load") };
const cartCanvas = $<HTMLCanvasElement>("cart");
const chartCanvas = $<HTMLCanvasElement>("chart");
const status = (text: string) => void ($("status").textContent = text);

let algo: Algorithm | null = null;
let stopRequested = false;

/** The wasm backend fetches its .wasm files from this URL prefix (serve.mjs serves them at /wasm/). */
const backendReady = initBackend(tensorBackend, { wasmPaths: new URL("wasm/", location.href).href });

async function trainLive(): Promise<void> {
  await backendReady;
  const config = resolveConfig({ algo: "ppo", env: "CartPole-v1", overrides: { seed, backend, totalTimesteps: 512 * iterations, evalEpisodes: 1 } });
  algo?.dispose();
  algo = await createAlgorithm("ppo", config);
  // "auto" resolved when the algorithm was created: its config says to what.
  const trainingBackend = String((algo as Algorithm & { config?: { backend?: string } }).config?.backend ?? backend);
  state.backend = trainingBackend;
  state.phase = "training";
  state.returns = [];
  stopRequested = false;
  let lastObs = new Float32Array(4);
  while (!stopRequested && algo.iteration < algo.totalIterations) {
    const { rows } = await runIterations(algo, {
      iterations: 1,
      // Env 0's latest observation: CartPole's observation is its state (x, ẋ, θ, θ̇).
      callbacks: { onStep: ({ obs }) => void (lastObs = obs.slice(0, 4)) },
    });
    const row = rows[0];
    state.returns.push(row.episodeReturnMean);
    drawCart(lastObs);
    drawChart(state.returns);
    status(`training (${trainingBackend}): iteration ${row.iteration}/${algo.totalIterations}, step ${row.step}, return ${fmt(row.episodeReturnMean)}, ${Math.round(row.sps)} steps/s`);
    await nextFrame();
  }
  state.phase = "trained";
  status(`trained ${algo.iteration} iterations (${algo.iteration * algo.stepsPerIteration} steps); press Play`);
}

/** Plays one episode on `env`, drawing every step; returns its return and length. */
async function playEpisode(env: Env<unknown, unknown>, policy: ActingPolicy, episodeSeed: number): Promise<{ return: number; length: number }> {
  let [obs] = env.reset({ seed: episodeSeed });
  let total = 0;
  let length = 0;
  for (;;) {
    const [next, reward, terminated, truncated] = env.step(policy.actOne(obs as Float32Array, true));
    total += reward;
    length++;
    obs = next;
    if (frameDelay > 0 || length % 50 === 0) {
      drawCart((env.unwrapped as unknown as { getState(): ArrayLike<number> }).getState());
      if (frameDelay > 0) await sleep(frameDelay);
    }
    if (terminated || truncated) return { return: total, length };
  }
}

async function play(by: "trained" | "loaded", policy: ActingPolicy, env: Env<unknown, unknown>, episodes: number): Promise<void> {
  state.phase = "playing";
  for (let i = 0; i < episodes; i++) {
    const episodeSeed = 1000 + i;
    const result = await playEpisode(env, policy, episodeSeed);
    state.played.push({ by, seed: episodeSeed, ...result });
    status(`${by} policy, episode ${i + 1}/${episodes} (seed ${episodeSeed}): return ${result.return}, ${result.length} steps`);
  }
  env.close();
}

async function loadAndPlay(): Promise<void> {
  await backendReady;
  state.phase = "loading";
  // A run's policy/ served next to the page: model.json + weights.bin, fetched by loadPolicy.
  const policy = await loadPolicy(new URL("policy/", location.href).href);
  state.phase = "loaded";
  status(`loaded a policy trained on ${policy.env}`);
  await play("loaded", { actOne: (obs) => policy.act(obs, { deterministic: true }) }, make(policy.env) as Env<unknown, unknown>, 3);
  policy.dispose();
  state.phase = "loaded";
}

// ---- drawing: Gymnasium's CartPole picture, and a plain line chart ----

function drawCart(s: ArrayLike<number>): void {
  const ctx = cartCanvas.getContext("2d");
  if (!ctx) return;
  const { width, height } = cartCanvas;
  const xThreshold = 2.4;
  const scale = width / (2 * xThreshold);
  const poleLength = scale * 1.0; // 2 × the half-length 0.5
  const cartWidth = 50;
  const cartHeight = 30;
  const cartY = height - 100;
  const cartX = s[0] * scale + width / 2;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#000";
  ctx.beginPath();
  ctx.moveTo(0, cartY + cartHeight / 2);
  ctx.lineTo(width, cartY + cartHeight / 2);
  ctx.stroke();
  ctx.fillStyle = "#000";
  ctx.fillRect(cartX - cartWidth / 2, cartY - cartHeight / 2, cartWidth, cartHeight);
  ctx.save();
  ctx.translate(cartX, cartY - cartHeight / 4);
  ctx.rotate(s[2]);
  ctx.fillStyle = "rgb(202,152,101)";
  ctx.fillRect(-5, -poleLength, 10, poleLength);
  ctx.restore();
  ctx.fillStyle = "rgb(129,132,203)";
  ctx.beginPath();
  ctx.arc(cartX, cartY - cartHeight / 4, 5, 0, 2 * Math.PI);
  ctx.fill();
}

function drawChart(values: number[]): void {
  const ctx = chartCanvas.getContext("2d");
  if (!ctx) return;
  const { width, height } = chartCanvas;
  const pad = 40;
  const points = values.map((v, i) => [i, v] as const).filter(([, v]) => Number.isFinite(v));
  const maxY = Math.max(100, ...points.map(([, v]) => v));
  const maxX = Math.max(10, values.length);
  const px = (i: number) => pad + ((width - 2 * pad) * i) / Math.max(1, maxX - 1);
  const py = (v: number) => height - pad - ((height - 2 * pad) * v) / maxY;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#999";
  ctx.strokeRect(pad, pad, width - 2 * pad, height - 2 * pad);
  ctx.fillStyle = "#555";
  ctx.font = "12px sans-serif";
  ctx.fillText(String(Math.round(maxY)), 4, pad + 4);
  ctx.fillText("0", 4, height - pad);
  ctx.fillText(`iteration ${values.length}`, width - pad - 80, height - pad + 20);
  ctx.strokeStyle = "#1f77b4";
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach(([i, v], k) => (k === 0 ? ctx.moveTo(px(i), py(v)) : ctx.lineTo(px(i), py(v))));
  ctx.stroke();
}

// ---- wiring ----

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets the page paint; a timer fallback, since hidden tabs pause requestAnimationFrame. */
const nextFrame = () => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, 50);
  requestAnimationFrame(() => {
    clearTimeout(timer);
    resolve();
  });
});

/** Runs a button's action with the buttons disabled (Stop enabled while training) and errors shown. */
function guard(action: () => Promise<void>, stoppable = false): () => void {
  return () => {
    for (const b of Object.values(buttons)) b.disabled = true;
    buttons.stop.disabled = !stoppable;
    action()
      .catch((err: Error) => {
        state.phase = "error";
        state.error = err.message;
        status(`error: ${err.message}`);
      })
      .finally(() => {
        buttons.train.disabled = false;
        buttons.load.disabled = false;
        buttons.stop.disabled = true;
        buttons.play.disabled = algo === null;
      });
  };
}

buttons.train.addEventListener("click", guard(trainLive, true));
buttons.stop.addEventListener("click", () => void (stopRequested = true));
buttons.play.addEventListener("click", guard(async () => {
  if (!algo) return;
  await play("trained", algo.actingPolicy(seed), algo.makeEvalEnv(), 1);
  state.phase = "trained";
}));
buttons.load.addEventListener("click", guard(loadAndPlay));
drawCart([0, 0, 0, 0]);
drawChart([]);
backendReady.then(
  (name) => status(`ready (tfjs ${name} backend)`),
  (err: Error) => {
    state.phase = "error";
    state.error = err.message;
    status(`error: ${err.message}`);
  },
);
