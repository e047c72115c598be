import { defineConfig } from "vitest/config";

// Unit tests run tfjs in Node on the wasm backend (test/setup.ts). Two cores: at most two forks.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ["default"],
  },
});
