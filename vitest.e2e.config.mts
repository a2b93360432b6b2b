import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    pool: "forks",
    // One engine, one cluster: files run one after another.
    fileParallelism: false,
    // The first run may build the toolchain from Go modules (tens of minutes on 2 cores).
    hookTimeout: 80 * 60_000,
    testTimeout: 15 * 60_000,
  },
});
