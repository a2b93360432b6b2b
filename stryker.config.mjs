// @ts-check
/**
 * `npm run test:mutation`: StrykerJS changes the code of gpu/ and of the stack config rules one mutation at a
 * time and runs the pure tests (vitest.mutation.config.mts) against each; a mutant that no test notices is a
 * rule nobody pins. The score and the surviving mutants are in the README's "Mutation testing". Not part of
 * `npm test`: a full run takes tens of minutes on two cores.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.mts", related: false },
  mutate: [
    // The planner (planner/) has tests and a benchmark of its own (npm run bench:plan).
    "gpu/**/*.ts",
    "stacks/config/parse.ts",
    "stacks/config/schema.ts",
    "stacks/config/credentials.ts",
    "stacks/config/errors.ts",
    "problems.ts",
    "stacks/config/rules/*.ts",
    "stacks/serving.ts",
    "stacks/config/serving-rules.ts",
    "stacks/config/curve-files.ts",
    "stacks/config/dra.ts",
    "components/k8s/dra-driver-values.ts",
    "components/cloud/network-range.ts",
  ],
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "out/mutation/index.html" },
  jsonReporter: { fileName: "out/mutation/mutation.json" },
  tempDirName: "out/stryker-tmp",
  // With --incremental, a later run tests only the mutants whose code or tests changed since this file was written.
  incrementalFile: "out/mutation/stryker-incremental.json",
  ignorePatterns: ["out", "test/e2e", "tools/sim-device-plugin", "policy/node_modules"],
  cleanTempDir: "always",
};
