// The patch must leave llama.cpp exactly as upstream wherever it does not apply: policy off, single-token
// decodes (B = 1) and prompt (prefill) ubatches.
//  - Exact: every policy on the patched build gives the same greedy tokens and probabilities as policy off on the
//    same build (the policy never touches prefill or B = 1).
//  - Against node-llama-cpp's unpatched prebuilt binary: our build is compiled for this machine's CPU
//    (GGML_NATIVE), the prebuilt one for a generic x86-64 level, so their kernels round differently (on an AVX-512
//    machine the top probabilities differed by up to 6e-3 and greedy runs diverged after a few tokens, with the
//    patch of the previous release too). Where both use the same kernels they were bit-identical; here the first
//    step (the prompt's prefill) must agree: same first token, top probabilities within 0.02.
import { beforeAll, describe, expect, it } from "vitest";
import { fixture, moeFixtures, prompts } from "../helpers/fixtures.js";
import type { RunnerOutput } from "../helpers/greedy-runner.js";
import { runTsChild } from "../helpers/run-child.js";

// Same binary: probabilities may differ by float rounding only; in practice they are bit-identical.
const probabilityTolerance = 1e-5;
const stockTolerance = 0.02;
const models = ["qwen3moe-tiny.gguf", "glm4moe-tiny.gguf", "deepseek2-tiny.gguf"].filter((m) => moeFixtures.includes(m));

describe.each(models)("%s: patched build vs its own policy off and vs stock node-llama-cpp", (modelName) => {
  const model = fixture(modelName);
  const input = { model, prompts: prompts.slice(0, 3), tokens: 10 };
  let stock: RunnerOutput;
  let off: RunnerOutput;
  beforeAll(() => {
    stock = runTsChild<RunnerOutput>("test/helpers/greedy-runner.ts", { ...input, build: "stock" });
    off = runTsChild<RunnerOutput>("test/helpers/greedy-runner.ts", { ...input, build: "patched", policy: { type: "off" } });
  });

  it("the stock run really used the unpatched prebuilt library, the other our build", () => {
    expect(stock.patched).toBe(false);
    expect(stock.library).toMatch(/@node-llama-cpp/);
    expect(off.patched).toBe(true);
    expect(off.library).toMatch(/localBuilds/);
  });

  it("policy off agrees with stock on the prompt's prefill (first token, top probabilities)", () => {
    off.results.forEach((steps, i) => {
      const reference = stock.results[i]![0]!;
      expect(steps[0]!.token).toBe(reference.token);
      steps[0]!.top.forEach(([, probability], k) => {
        expect(Math.abs(probability - reference.top[k]![1])).toBeLessThanOrEqual(stockTolerance);
      });
    });
  });

  for (const policy of [
    { type: "affinity" as const, alpha: 0.5, beta: 1 },
    { type: "budget" as const, budget: 1 },
  ]) {
    it(`policy ${policy.type}: prefill and B = 1 decodes give exactly the tokens and probabilities of policy off`, () => {
      const patched = runTsChild<RunnerOutput>("test/helpers/greedy-runner.ts", { ...input, build: "patched", policy });
      expect(patched.patched).toBe(true);
      expect(patched.results.map((r) => r.map((s) => s.token))).toEqual(off.results.map((r) => r.map((s) => s.token)));
      patched.results.forEach((steps, i) =>
        steps.forEach((step, j) => {
          const reference = off.results[i]![j]!;
          step.top.forEach(([token, probability], k) => {
            expect(token).toBe(reference.top[k]![0]);
            expect(Math.abs(probability - reference.top[k]![1])).toBeLessThanOrEqual(probabilityTolerance);
          });
        }),
      );
    });
  }
});
