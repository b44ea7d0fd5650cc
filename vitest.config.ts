import { defineConfig } from "vitest/config";

// One runner for the whole project. Engine and end-to-end tests share the machine's cores and one
// native engine per process, so files run one at a time.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    globalSetup: ["test/global-setup.ts"],
    reporters: ["default"],
  },
});
