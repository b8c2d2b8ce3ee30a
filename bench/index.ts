/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]`.
 *   ppo    PPO per built-in env and seed: steps to threshold, final eval return, SPS, wall time
 *   offpolicy  DQN with the zoo preset on CartPole/Acrobot/MountainCar(/LunarLander) next to the Zoo's published results
 *   compare  every algorithm (and each with D³S) on the same envs and budget
 *   fidelity  each method's claimed direction at small scale (D³S, EPO, RLOO vs REINFORCE)
 *   polychromic  PPO vs polychromic PPO on grid worlds: pass@1, pass@k, coverage and distinct successful classes at equal env steps
 *   sps    PPO throughput on CartPole-v1 with CleanRL's defaults, with the rollout/update split
 *   offpolicy-sps  SAC, TD3 (Pendulum-v1) and DQN (CartPole-v1) throughput per backend (wasm, kernels) once training runs
 *   envs   raw env steps per second (also `npm run bench:envs`)
 *   box2d  LunarLander on planck: env steps per second, reset and snapshot-restore cost
 *   mujoco  PPO, SAC and TD3 on HalfCheetah/Hopper/Walker2d-v5 (300k steps, 3 seeds) next to CleanRL's and the Zoo's published results
 *   mujoco-envs  raw steps per second of each MuJoCo v5 env (bare, make(), physics steps/s)
 *   async  sync vs worker-thread vector envs: env steps/s and PPO SPS with 1 and 2 workers
 *   scale  actor–learner PPO (or --algo grpo / text) through a local redis-server: SPS against 1, 2, 4 actor processes, learner busy share, staleness, bytes on the wire; with --threads: refinery train with 0, 1, 2 actor threads and --max-staleness 0/1
 *   text   SFT then grpo, rloo, epo, grpo+D³S, igrpo on text tasks: pass@1/pass@8, tokens/s
 *   agents  SFT then every multi-turn method on calc, lookup and guess: success, pass@4, turns, tool calls
 *   transformer  the text policy's training step, Adam and sampling speed: JS path vs kernels backend
 *   vs-cleanrl  PPO CartPole whole-process wall time and memory against CleanRL's ppo.py (PYTHON, CLEANRL_PPO), or its recorded figures
 *   kernels  the matrix product at RL sizes: our WebAssembly SIMD kernel vs the JS loop vs tfjs-wasm
 *   dashboard  the dashboard with a 1,000,000-row run: /api/runs latency during curve loads, curve time and bytes, peak RSS
 * Benchmarks print what they measure and assert nothing.
 */
const [name, ...rest] = process.argv.slice(2);
switch (name) {
  case "ppo": {
    const { benchPpo } = await import("./ppo.js");
    await benchPpo(rest);
    break;
  }
  case "offpolicy": {
    const { benchOffPolicy } = await import("./offpolicy.js");
    await benchOffPolicy(rest);
    break;
  }
  case "compare": {
    const { benchCompare } = await import("./compare.js");
    await benchCompare(rest);
    break;
  }
  case "fidelity": {
    const { benchFidelity } = await import("./fidelity.js");
    await benchFidelity(rest);
    break;
  }
  case "polychromic": {
    const { benchPolychromic } = await import("./polychromic.js");
    await benchPolychromic(rest);
    break;
  }
  case "sps": {
    process.argv = [process.argv[0], process.argv[1], ...rest];
    await import("./ppo_sps.js");
    break;
  }
  case "offpolicy-sps": {
    const { benchOffPolicySps } = await import("./offpolicy_sps.js");
    await benchOffPolicySps(rest);
    break;
  }
  case "async": {
    const { benchAsync } = await import("./async.js");
    await benchAsync(rest);
    break;
  }
  case "scale": {
    const { benchScale } = await import("./scale.js");
    await benchScale(rest);
    break;
  }
  case "text": {
    const { benchText } = await import("./text.js");
    await benchText(rest);
    break;
  }
  case "agents": {
    const { benchAgents } = await import("./agents.js");
    await benchAgents(rest);
    break;
  }
  case "transformer": {
    process.argv = [process.argv[0], process.argv[1], ...rest];
    await import("./transformer.js");
    break;
  }
  case "envs": {
    process.argv = [process.argv[0], process.argv[1], ...rest];
    await import("./envs.js");
    break;
  }
  case "vs-cleanrl": {
    process.argv = [process.argv[0], process.argv[1], ...rest];
    const { benchVsCleanrl } = await import("./vs_cleanrl.js");
    await benchVsCleanrl();
    break;
  }
  case "kernels": {
    const { benchKernels } = await import("./kernels.js");
    await benchKernels(rest);
    break;
  }
  case "box2d": {
    const { benchBox2d } = await import("./box2d.js");
    await benchBox2d(rest);
    break;
  }
  case "mujoco": {
    const { benchMujoco } = await import("./mujoco.js");
    await benchMujoco(rest);
    break;
  }
  case "mujoco-envs": {
    process.argv = [process.argv[0], process.argv[1], ...rest];
    await import("./mujoco_envs.js");
    break;
  }
  case "dashboard": {
    const { benchDashboard } = await import("./dashboard.js");
    await benchDashboard(rest);
    break;
  }
  default:
    console.error(`usage: npm run bench -- <ppo|offpolicy|offpolicy-sps|compare|fidelity|sps|vs-cleanrl|kernels|envs|mujoco-envs|box2d|async|scale|text|agents|transformer|dashboard> [options]${name ? ` (unknown benchmark "${name}")` : ""}`);
    process.exitCode = 2;
}
