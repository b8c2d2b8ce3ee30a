// The scopes of `npm run mutation -- <scope>`: the files each mutates and the unit tests that run
// against each mutant (fast tests only; learning and CLI tests would make every mutant cost minutes).
// `file.ts#name,…` entries (resolved by mutation-ranges.mjs to the lines of those functions,
// methods and classes) keep the algorithm scopes to the update code, not config or logging.
// `skipStrings` leaves out string-literal mutants (error messages, metric names): in the
// algorithm scopes every surviving one would cost a full run of slow tests.
export const SCOPES = {
  "loss-core": {
    about: "clipped surrogate, KL estimators, token aggregation, value loss",
    mutate: ["src/loss/surrogate.ts", "src/loss/kl.ts", "src/loss/aggregate.ts", "src/loss/value.ts"],
    tests: ["test/loss/**/*.test.ts", "test/algos/group_objective.test.ts"],
  },
  "loss-rest": {
    about: "EPO penalty, MDPO proximity, entropy, the weighted sum of terms, argument guards, off-policy losses",
    mutate: ["src/loss/epo.ts", "src/loss/mdpo.ts", "src/loss/entropy.ts", "src/loss/combine.ts", "src/loss/checks.ts", "src/loss/offpolicy.ts"],
    tests: ["test/loss/**/*.test.ts"],
  },
  advantage: {
    about: "GAE, group-relative and leave-one-out advantages, returns, normalisation, turn-level advantages",
    mutate: ["src/advantage/**/*.ts"],
    tests: ["test/advantage/**/*.test.ts"],
  },
  select: {
    about: "D³S sample and token selection, V₀ budgets",
    mutate: ["src/select/**/*.ts"],
    tests: ["test/select/**/*.test.ts"],
  },
  // The algorithms' update code, by function name: what composes the loss terms, the advantages
  // each algorithm feeds them and the steps that apply the gradients — not config schemas,
  // checkpoints, metrics plumbing or collectors.
  "algos-group": {
    skipStrings: true,
    about: "the group engine's loss (grpo/rloo/reinforce/epo/D³S minibatches, aggregation layout, EPO term) and each recipe's advantages",
    mutate: [
      "src/algos/group_engine.ts#update,policyStep,kernelPolicyStep,turnIndex,refreshReference",
      "src/algos/group_engine.ts#runEpochs,gatherMinibatch,groupStepLoss,readDiagnostics,epoTerm,turnIndexOf,padByEpisode,perTurnEntropy",
      "src/algos/grpo.ts#grpoAdvantages,grpoRecipe",
      "src/algos/rloo.ts#rlooAdvantages,rlooRecipe",
      "src/algos/reinforce.ts#reinforceAdvantages,reinforceRecipe",
      "src/algos/epo.ts#epoSettings",
    ],
    tests: [
      "test/algos/update_gradients.test.ts", "test/algos/group_objective.test.ts", "test/algos/group_engine.test.ts",
      "test/algos/rloo.test.ts", "test/algos/grpo.test.ts", "test/algos/reinforce.test.ts", "test/algos/epo.test.ts", "test/algos/group_backend.test.ts",
    ],
  },
  "algos-text": {
    skipStrings: true,
    about: "the text engine's update (token pick and scatter, reference log-probs) and iGRPO's draft conditioning",
    mutate: [
      "src/algos/text_engine.ts#logProbsOf,update,policyStep,completionOf",
      "src/algos/group_engine.ts#stepLossGradients",
      "src/algos/igrpo.ts#bestIndex,igrpoSampler",
    ],
    tests: ["test/algos/text_gradients.test.ts", "test/algos/igrpo_sft_gradients.test.ts", "test/algos/text.test.ts", "test/algos/text_update.test.ts"],
  },
  "algos-ppo": {
    skipStrings: true,
    about: "PPO's minibatch loss and its gradients (typed-array and tape paths), MDPO's policy step",
    mutate: [
      "src/algos/ppo.ts#PPO.update,manualStep,kernelStep,tapeStep,ppoLossGradients,Minibatch.gather,scaleInPlace,meanOf",
      "src/algos/mdpo.ts#MDPO.iterate,freezeOldPolicy,MDPO.policyStep",
    ],
    tests: ["test/algos/update_gradients.test.ts", "test/algos/ppo.test.ts", "test/algos/ppo_update.test.ts", "test/algos/mdpo.test.ts"],
  },
};
