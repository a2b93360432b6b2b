import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The real engine's tests run on their own (npm run test:e2e): they need the toolchain and a cluster.
    exclude: ["test/e2e/**", "node_modules/**"],
    // Pulumi's mock runtime is process-global: each test file gets its own fork.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
