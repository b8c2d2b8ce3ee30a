/**
 * A stand-in for an expensive simulator: CartPole-v1 whose every step also runs a fixed
 * amount of arithmetic (about `WORK` multiply-adds, a few hundred microseconds). Registered
 * as `HeavyCartPole-v0`; imported in the workers of the async benchmark like a user's
 * `--import` module.
 */
import { CartPoleEnv } from "../src/envs/classic/cartpole.js";
import { register } from "../src/envs/registry.js";

const WORK = 200_000;
let sink = 0;

class HeavyCartPole extends CartPoleEnv {
  override step(action: number): ReturnType<CartPoleEnv["step"]> {
    let x = 0.5;
    for (let i = 0; i < WORK; i++) x = x * 0.999999 + 1e-7;
    sink += x; // keeps the loop from being optimised away
    return super.step(action);
  }
}

register({ id: "HeavyCartPole-v0", entryPoint: (kw) => new HeavyCartPole(kw), maxEpisodeSteps: 500 });

export const heavySink = (): number => sink;
