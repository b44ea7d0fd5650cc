// The patch must leave llama.cpp exactly as upstream wherever it does not apply: policy off, single-token
// decodes (B = 1) and prompt (prefill) ubatches. Compared against node-llama-cpp's unpatched prebuilt binary.
import { beforeAll, describe, expect, it } from "vitest";
import { fixture, moeFixtures, prompts } from "../helpers/fixtures.js";
import type { RunnerOutput } from "../helpers/greedy-runner.js";
import { runTsChild } from "../helpers/run-child.js";

// Probabilities of the top tokens may differ by float rounding only; in practice they are bit-identical.
const probabilityTolerance = 1e-5;
const models = ["qwen3moe-tiny.gguf", "glm4moe-tiny.gguf", "deepseek2-tiny.gguf"].filter((m) => moeFixtures.includes(m));

describe.each(models)("%s: patched build vs stock node-llama-cpp", (modelName) => {
  const model = fixture(modelName);
  const input = { model, prompts: prompts.slice(0, 3), tokens: 10 };
  let stock: RunnerOutput;
  beforeAll(() => {
    stock = runTsChild<RunnerOutput>("test/helpers/greedy-runner.ts", { ...input, build: "stock" });
  });

  it("the stock run really used the unpatched prebuilt library", () => {
    expect(stock.patched).toBe(false);
    expect(stock.library).toMatch(/@node-llama-cpp/);
  });

  for (const policy of [
    { type: "off" as const },
    { type: "affinity" as const, alpha: 0.5, beta: 1 },
    { type: "budget" as const, budget: 1 },
  ]) {
    it(`policy ${policy.type}: prefill and B = 1 decodes give the same greedy tokens and probabilities`, () => {
      const patched = runTsChild<RunnerOutput>("test/helpers/greedy-runner.ts", { ...input, build: "patched", policy });
      expect(patched.patched).toBe(true);
      expect(patched.library).toMatch(/localBuilds/);
      expect(patched.results.map((r) => r.map((s) => s.token))).toEqual(stock.results.map((r) => r.map((s) => s.token)));
      patched.results.forEach((steps, i) =>
        steps.forEach((step, j) => {
          const reference = stock.results[i]![j]!;
          step.top.forEach(([token, probability], k) => {
            expect(token).toBe(reference.top[k]![0]);
            expect(Math.abs(probability - reference.top[k]![1])).toBeLessThanOrEqual(probabilityTolerance);
          });
        }),
      );
    });
  }
});
