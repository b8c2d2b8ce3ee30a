/**
 * Benchmark dispatcher: `npm run bench -- <name> [options]`.
 *   ppo    PPO per built-in env and seed: steps to threshold, final eval return, SPS, wall time
 *   offpolicy  DQN with the zoo preset on CartPole/Acrobot/MountainCar(/LunarLander) next to the Zoo's published results
 *   compare  every algorithm (and each with D³S) on the same envs and budget
 *   fidelity  each method's claimed direction at small scale (D³S, EPO, RLOO vs REINFORCE)
 *   sps    PPO throughput on CartPole-v1 with CleanRL's defaults, with the rollout/update split
 *   offpolicy-sps  SAC and TD3 throughput on Pendulum-v1 once training runs, with the act/update split
 *   envs   raw env steps per second (also `npm run bench:envs`)
 *   async  sync vs worker-thread vector envs: env steps/s and PPO SPS with 1 and 2 workers
 *   text   SFT then grpo, rloo, epo, grpo+D³S, igrpo on text tasks: pass@1/pass@8, tokens/s
 *   transformer  the text policy's training step and sampling speed
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
  case "text": {
    const { benchText } = await import("./text.js");
    await benchText(rest);
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
  case "dashboard": {
    const { benchDashboard } = await import("./dashboard.js");
    await benchDashboard(rest);
    break;
  }
  default:
    console.error(`usage: npm run bench -- <ppo|offpolicy|offpolicy-sps|compare|fidelity|sps|envs|async|text|transformer|dashboard> [options]${name ? ` (unknown benchmark "${name}")` : ""}`);
    process.exitCode = 2;
}
