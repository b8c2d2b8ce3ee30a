// Start-up time of the CLI: prints, on stderr, the milliseconds from process start to the
// first CartPole step. Preload it into a training command (it needs dist/: npm run build):
//
//   node --import ./bench/first_step.mjs bin/refinery.js train --env CartPole-v1 --steps 512 --quiet --out /tmp/r
//
// It patches CartPoleEnv.prototype.step in the same module instance the CLI uses.
import { performance } from "node:perf_hooks";
import { CartPoleEnv } from "../dist/envs/classic/cartpole.js";

const step = CartPoleEnv.prototype.step;
CartPoleEnv.prototype.step = function firstStep(...args) {
  CartPoleEnv.prototype.step = step;
  process.stderr.write(`first env step ${Math.round(performance.now())} ms after process start\n`);
  return step.apply(this, args);
};
