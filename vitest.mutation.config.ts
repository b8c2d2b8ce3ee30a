import { defineConfig } from "vitest/config";

// The unit tests that cover the math Stryker mutates (npm run mutation); no learning or CLI tests.
export default defineConfig({
  test: {
    include: ["test/loss/**/*.test.ts", "test/advantage/**/*.test.ts", "test/select/**/*.test.ts", "test/algos/group_objective.test.ts", "test/algos/rloo.test.ts", "test/algos/group_engine.test.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
