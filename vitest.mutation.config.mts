import { defineConfig } from "vitest/config";

/**
 * The tests `npm run test:mutation` runs against each mutant of gpu/ and stacks/config/ (stryker.config.mjs): the pure
 * ones that pin GPU knowledge and the stack config rules. The tests that run the program under Pulumi's mock
 * runtime take seconds per file and say little about these rules, so they are left out.
 */
export default defineConfig({
  test: {
    include: [
      "test/gpu/{capacity,catalog,config-names,memory,placement,sharing-curve,measured-curves,curve-fit,dra}.test.ts",
      "test/components/k8s/dra-driver-values.test.ts",
      "test/stacks/config/{bad-inputs,parse,credentials,rules,dra}.test.ts",
      "test/stacks/serving.test.ts",
    ],
    pool: "forks",
    testTimeout: 60_000,
  },
});
