/**
 * Network micro-benchmarks: acting (fused typed-array forward vs tfjs) and a PPO-like
 * minibatch update on the cpu and wasm backends: through tfjs's gradient tape, with and
 * without the xt dense layer, and with the gradient written by hand (PPO's manual step:
 * no tape, loss in typed arrays).
 *
 *   node --import tsx bench/nn.ts [--rounds 7] [--quick]
 *
 * Prints the median time per call over several rounds. The host drifts ±30 % minute to
 * minute, so compare rows of one run rather than numbers across runs.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend, type BackendName } from "../src/core/backend.js";
import { Rng } from "../src/core/rng.js";
import type { DenseMode } from "../src/nn/dense.js";
import { Box, Discrete } from "../src/core/spaces.js";
import { clippedSurrogateArrays } from "../src/loss/surrogate.js";
import { valueLossArrays } from "../src/loss/value.js";
import { Categorical } from "../src/nn/distributions.js";
import { MLP } from "../src/nn/mlp.js";
import { Adam } from "../src/nn/optim.js";
import { ActorCritic } from "../src/policies/actor_critic.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const roundsArg = args.indexOf("--rounds");
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 3 : 7;
const ROUND_MS = quick ? 40 : 120;

const OBS = 4;
const ACTIONS = 2;
const HIDDEN = [64, 64];

/** Median µs per call of `fn`, over ROUNDS rounds of ~ROUND_MS each (after a warm-up). */
function timeMicros(fn: () => void): number {
  const warmEnd = performance.now() + ROUND_MS / 2;
  let calls = 0;
  while (performance.now() < warmEnd || calls < 3) {
    fn();
    calls++;
  }
  const perCallMs = ROUND_MS / 2 / calls;
  const n = Math.max(3, Math.round(ROUND_MS / Math.max(perCallMs, 1e-4)));
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    samples.push(((performance.now() - t0) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function fmt(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

function row(label: string, us: number): void {
  console.log(`  ${label.padEnd(58)} ${fmt(us).padStart(10)}`);
}

function makeNets(rng: Rng, denseMode: DenseMode): { actor: MLP; critic: MLP } {
  return {
    actor: new MLP({ sizes: [OBS, ...HIDDEN, ACTIONS], rng, name: "actor", outputGain: 0.01, denseMode }),
    critic: new MLP({ sizes: [OBS, ...HIDDEN, 1], rng, name: "critic", outputGain: 1, denseMode }),
  };
}

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function benchFusedAct(): void {
  console.log("\nact: actor 4→64→64→2 + critic 4→64→64→1 + categorical sample");
  const rng = new Rng(0);
  const { actor, critic } = makeNets(rng, "auto");
  const dist = new Categorical(ACTIONS);
  for (const batch of [1, 8, 64]) {
    const obs = randomArray(rng, batch * OBS);
    const logits = new Float32Array(batch * ACTIONS);
    const values = new Float32Array(batch);
    const actions = new Int32Array(batch);
    const logp = new Float32Array(batch);
    const us = timeMicros(() => {
      actor.forwardFast(obs, batch, logits);
      critic.forwardFast(obs, batch, values);
      dist.sample(logits, batch, rng, actions, logp);
    });
    row(`fused typed-array forwardFast, batch ${batch}`, us);
  }
  actor.dispose();
  critic.dispose();
}

function benchTfjsAct(backend: BackendName): void {
  const rng = new Rng(0);
  const { actor, critic } = makeNets(rng, "auto");
  const dist = new Categorical(ACTIONS);
  for (const batch of [1, 8, 64]) {
    const obs = randomArray(rng, batch * OBS);
    const actions = new Int32Array(batch);
    const logp = new Float32Array(batch);
    const us = timeMicros(() => {
      const [logits, values] = tf.tidy(() => {
        const x = tf.tensor2d(obs, [batch, OBS]);
        return [actor.apply(x), critic.apply(x)];
      });
      const l = logits.dataSync() as Float32Array;
      values.dataSync();
      dist.sample(l, batch, rng, actions, logp);
      tf.dispose([logits, values]);
    });
    row(`tfjs ${backend} forward + read + sample, batch ${batch}`, us);
  }
  actor.dispose();
  critic.dispose();
}

interface Minibatch {
  obs: tf.Tensor2D;
  actions: tf.Tensor1D;
  oldLogp: tf.Tensor1D;
  adv: tf.Tensor1D;
  returns: tf.Tensor1D;
}

function makeMinibatch(rng: Rng, batch: number): Minibatch {
  return {
    obs: tf.tensor2d(randomArray(rng, batch * OBS), [batch, OBS]),
    actions: tf.tensor1d(Int32Array.from({ length: batch }, () => rng.integer(0, ACTIONS)), "int32"),
    oldLogp: tf.tensor1d(Float32Array.from({ length: batch }, () => Math.log(0.5) + 0.01 * rng.normal())),
    adv: tf.tensor1d(randomArray(rng, batch)),
    returns: tf.tensor1d(randomArray(rng, batch)),
  };
}

/** CleanRL's PPO loss: clipped surrogate − 0.01·entropy + 0.5·value loss. */
function ppoLoss(actor: MLP, critic: MLP, dist: Categorical, mb: Minibatch): tf.Scalar {
  const { logProb, entropy: entropies } = dist.logProbEntropy(actor.apply(mb.obs), mb.actions);
  const ratio = tf.exp(tf.sub(logProb, mb.oldLogp));
  const pg1 = tf.mul(tf.neg(mb.adv), ratio);
  const pg2 = tf.mul(tf.neg(mb.adv), tf.clipByValue(ratio, 0.8, 1.2));
  const pgLoss = tf.mean(tf.maximum(pg1, pg2));
  const value = tf.reshape(critic.apply(mb.obs), [-1]);
  const vLoss = tf.mul(0.5, tf.mean(tf.square(tf.sub(value, mb.returns))));
  const entropy = tf.mean(entropies);
  return tf.add(tf.sub(pgLoss, tf.mul(0.01, entropy)), tf.mul(0.5, vLoss)) as tf.Scalar;
}

function benchUpdate(batch: number, denseMode: DenseMode, optimiser: "flat" | "tf.train"): number {
  const rng = new Rng(1);
  const { actor, critic } = makeNets(rng, denseMode);
  const dist = new Categorical(ACTIONS);
  const mb = makeMinibatch(rng, batch);
  const vars = [...actor.variables, ...critic.variables];
  let us: number;
  if (optimiser === "flat") {
    const opt = new Adam(vars, { learningRate: 2.5e-4 });
    us = timeMicros(() => {
      opt.minimize(() => ppoLoss(actor, critic, dist, mb), 0.5);
    });
    opt.dispose();
  } else {
    // Plain tfjs: per-variable clipping and tf.train.adam.
    const opt = tf.train.adam(2.5e-4, 0.9, 0.999, 1e-5);
    us = timeMicros(() => {
      const { value, grads } = tf.variableGrads(() => ppoLoss(actor, critic, dist, mb), vars as tf.Variable[]);
      const norm = tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))));
      const scale = Math.min(1, 0.5 / (norm.dataSync()[0] + 1e-6));
      const clipped = tf.tidy(() => Object.entries(grads).map(([name, g]) => ({ name, tensor: tf.mul(g, scale) })));
      opt.applyGradients(clipped);
      value.dataSync();
      tf.dispose([value, norm, ...Object.values(grads), ...clipped.map((c) => c.tensor)]);
    });
    opt.dispose();
  }
  tf.dispose(Object.values(mb));
  actor.dispose();
  critic.dispose();
  return us;
}

/**
 * The same loss (clipped surrogate, value loss, entropy bonus) and the same 64×64 actor and
 * critic, without the tape: ActorCritic.forwardForLoss → loss and its derivatives in typed
 * arrays → backwardForLoss → Adam (PPO's manual step).
 */
function benchManualUpdate(batch: number): number {
  const rng = new Rng(1);
  const policy = new ActorCritic({ observationSpace: new Box(-10, 10, [OBS]), actionSpace: new Discrete(ACTIONS), hidden: HIDDEN, rng });
  const opt = new Adam(policy.trainableVariables(), { learningRate: 2.5e-4 });
  const obs = randomArray(rng, batch * OBS);
  const actions = Int32Array.from({ length: batch }, () => rng.integer(0, ACTIONS));
  const oldLogp = Float32Array.from({ length: batch }, () => Math.log(0.5) + 0.01 * rng.normal());
  const adv = randomArray(rng, batch);
  const returns = randomArray(rng, batch);
  const perSample = new Float32Array(batch);
  const dLogProb = new Float32Array(batch);
  const dValue = new Float32Array(batch);
  const dEntropy = new Float32Array(batch).fill(-0.01 / batch);
  const us = timeMicros(() => {
    tf.tidy(() => {
      const fwd = policy.forwardForLoss(obs, actions, batch);
      clippedSurrogateArrays(fwd.logProb, oldLogp, adv, 0.2, 0.2, perSample, dLogProb);
      for (let i = 0; i < batch; i++) dLogProb[i] /= batch;
      valueLossArrays(fwd.value, returns, undefined, undefined, dValue);
      for (let i = 0; i < batch; i++) dValue[i] *= 0.5;
      opt.applyGradients(policy.backwardForLoss(fwd, dLogProb, dEntropy, dValue), 0.5);
    });
  });
  opt.dispose();
  policy.dispose();
  return us;
}

async function main(): Promise<void> {
  console.log(`refinery nn bench — node ${process.version}, ${ROUNDS} rounds, median per call`);
  await initBackend("wasm"); // the fused path uses no tensors, but the networks live in tfjs variables
  benchFusedAct();
  for (const backend of ["cpu", "wasm"] as const) {
    await initBackend(backend);
    console.log(`\nbackend ${backend}`);
    benchTfjsAct(backend);
    for (const batch of [128, 512]) {
      row(`PPO update batch ${batch}, manual gradients (no tape), our Adam`, benchManualUpdate(batch));
      row(`PPO update batch ${batch}, tape, xt dense, our Adam`, benchUpdate(batch, "xt", "flat"));
      row(`PPO update batch ${batch}, tape, stock dense, our Adam`, benchUpdate(batch, "stock", "flat"));
      row(`PPO update batch ${batch}, tape, stock dense, tf.train.adam (plain tfjs)`, benchUpdate(batch, "stock", "tf.train"));
    }
    console.log(`  tensors alive: ${tf.memory().numTensors}`);
  }
}

await main();
