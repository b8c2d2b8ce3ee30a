import { defineConfig } from "vitest/config";

// The unit tests Stryker runs against each mutant (npm run mutation -- <scope>). scripts/mutation.mjs
// passes the scope's test files in REFINERY_MUTATION_TESTS (scripts/mutation-scopes.mjs lists them).
const scoped = process.env.REFINERY_MUTATION_TESTS?.split(",").filter((glob) => glob !== "");

export default defineConfig({
  test: {
    include: scoped && scoped.length > 0 ? scoped : ["test/loss/**/*.test.ts", "test/advantage/**/*.test.ts", "test/select/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 120_000,
    pool: "forks",
  },
});
