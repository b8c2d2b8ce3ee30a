import { isAgentTask } from "../envs/text/agent/task.js";

/**
 * Options that cannot change a run given the rest of its config: a KL estimator with β = 0, D³S
 * options without D³S selection, and so on. `resolveConfig` refuses such a key when the user set
 * it to a value other than its default, so an option that would be accepted and ignored is a
 * clear error instead. Each rule reads only keys the config has, so it serves control and text
 * runs of every algorithm alike.
 */
export interface InertKey {
  /** The key, with its path for option objects (`d3s.levels`). */
  key: string;
  /** Why it has no effect, in words that name the key that makes it so. */
  because: string;
  /** What to do instead. */
  fix: string;
}

export function inertKeys(algo: string, c: Record<string, unknown>): InertKey[] {
  const out: InertKey[] = [];
  const add = (keys: string[], because: string, fix: string) => {
    for (const key of keys) if (key.split(".")[0] in c && !out.some((o) => o.key === key)) out.push({ key, because, fix });
  };
  // The multi-turn methods first: their reason is more specific than the generic ones below.
  if (isAgentTask(c.task)) agentInertKeys(algo, c, add);
  if ("selection" in c && c.selection !== "d3s" && c.d3s && typeof c.d3s === "object") {
    add(Object.keys(c.d3s).map((k) => `d3s.${k}`), `selection is "${String(c.selection)}", so no D³S option applies`, "add --set selection=d3s, or drop the d3s.* keys");
  }
  if ("advantageSingleton" in c && (c.selection !== "d3s" || !isRecomputing(c.d3s))) {
    add(
      ["advantageSingleton"],
      "only D³S with d3s.recomputeAdvantages = true can leave a group with one episode (groupSize ≥ 2 otherwise)",
      "add --set selection=d3s --set d3s.recomputeAdvantages=true --set d3s.minGroupKeep=1, or drop the key",
    );
  }
  if (c.beta === 0) add(["klEstimator", "refUpdateEvery"], "beta = 0, so there is no KL to a reference policy", "set beta > 0 (e.g. --set beta=0.04), or drop the key");
  if (c.advantageScale === "none") add(["advantageStd", "advantageEps"], 'advantageScale is "none" (Dr. GRPO), so no std divides the advantages', "set advantageScale=std, or drop the key");
  if (c.rewardMode === "outcome" && algo !== "reinforce") add(["gamma"], 'rewardMode is "outcome": every step gets its episode\'s undiscounted return', "set rewardMode=per-step to use a discount, or drop gamma");
  if (c.subsetMode === "all") add(["numSubsets"], 'subsetMode is "all": every n-subset of a vine state\'s continuations is scored', "set subsetMode=random to draw numSubsets subsets, or drop numSubsets");
  if (c.clip === false) add(["updateEpochs", "numMinibatches"], "clip is false (plain RLOO): one full-batch policy-gradient step per iteration", "set clip=true (LOOP) for epochs and minibatches, or drop the key");
  if (c.baseline === "none") {
    add(["valueLearningRate", "valueEpochs", "valueMinibatchSize"], 'baseline is "none", so there is no critic to fit', "set baseline=value (control tasks), or drop the key");
  }
  if (algo === "epo" && c.smoothing === "as-coded") {
    add(
      ["smoothCoef", "kappaLow", "kappaHigh", "outRangePenalty", "turns", "phaseWeights"],
      'smoothing is "as-coded": the authors\' constant penalty has no gradient, so it changes only the logged epoPenalty, never the update',
      "use smoothing=differentiable (the default) for a penalty that acts, or drop the key",
    );
  }
  if (algo === "epo" && c.smoothing === "differentiable") {
    add(["outRangePenalty"], 'smoothing is "differentiable": the penalty is the distance to the band, not a constant', "drop outRangePenalty, or use smoothing=as-coded");
  }
  return out;
}

function isRecomputing(d3s: unknown): boolean {
  return typeof d3s === "object" && d3s !== null && (d3s as { recomputeAdvantages?: unknown }).recomputeAdvantages === true;
}

type Add = (keys: string[], because: string, fix: string) => void;

/**
 * The multi-turn methods (a run whose task is an agent task) share one schema (agent_config.ts),
 * but each credit rule reads only some of its advantage and loss keys.
 */
function agentInertKeys(algo: string, c: Record<string, unknown>, add: Add): void {
  const scaling = ["advantageScale", "advantageStd", "advantageEps"];
  if (algo === "rloo") {
    add(scaling, "rloo's advantage is the episode's reward minus the mean of the other G − 1 episodes, which no std scales", "use grpo for a std-normalised advantage, or drop the key");
  }
  if (algo === "refuel") {
    const loss = "refuel regresses the change of log-probability differences on reward differences: it has no advantage, clipped ratio, entropy bonus or KL term";
    add([...scaling, "clipLow", "clipHigh", "lossAggregation", "entCoef", "beta", "klEstimator", "refUpdateEvery"], loss, "drop the key (refuel's own keys are eta, numPrompts and the update's epochs and minibatches)");
  }
  if (algo === "flow-grpo") {
    add(["advantageStd"], "flow-grpo normalises over turn rows with the unbiased std, as the reference does", "drop advantageStd");
  }
  if (algo === "gigpo" || algo === "hgpo") {
    add(["advantageScale", "advantageStd"], `${algo} scales its advantages as its normalization key says`, "set normalization=mean_norm to drop the std, or drop the key");
    if (algo === "gigpo" && c.normalization === "mean_norm") add(["advantageEps"], 'normalization is "mean_norm", so no std divides the advantages', "set normalization=mean_std_norm, or drop advantageEps");
  }
  if (algo === "process") {
    add(["advantageScale", "advantageStd"], "process normalises the outcome with the unbiased std and the process scores with the population std, as ProRAG does", "drop the key");
  }
  if (algo === "v0" && c.allocation === "uniform") {
    add(["delta"], 'allocation is "uniform": every drawn problem keeps groupSize episodes, none is skipped', "set allocation=variance, or drop delta");
  }
}
