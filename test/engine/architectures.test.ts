// Every MoE fixture (different gating: softmax, softmax without renormalisation, sigmoid with selection bias,
// expert groups with shared experts, softmax-weight) generates under every policy with finite probabilities.
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { PolicySpec } from "../../electron/api/contract.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { runConcurrently } from "../helpers/engine.js";
import { denseFixture, fixture, moeFixtures, prompts } from "../helpers/fixtures.js";

const available = moeFixtures.filter((name) => fs.existsSync(fixture(name)));

describe.each(available)("%s", (name) => {
  let engine: LynxEngine | undefined;
  afterAll(() => engine?.dispose());

  it("generates under off, affinity (gentle..aggressive) and budget, with finite probabilities", async () => {
    engine = await LynxEngine.load({ modelPath: fixture(name), maxChats: 4 });
    expect(engine.info.isMoE).toBe(true);
    const k = engine.info.expertsPerToken;
    const policies: PolicySpec[] = [
      { kind: "off" },
      { kind: "affinity", alpha: 3, beta: 2 },
      { kind: "affinity", alpha: 0.3, beta: 0.5 },
      { kind: "affinity", alpha: 1, beta: 0 },
      { kind: "budget", experts: k },
      { kind: "budget", experts: 2 * k },
    ];
    for (const policy of policies) {
      engine.setPolicy(policy);
      const answers = await runConcurrently(engine, prompts.slice(0, 4), 8);
      for (const answer of answers) expect(answer.stopReason).toBe("maxTokens");
      await expectFiniteProbabilities(engine);
    }
  });
});

/** Decodes one more token on all four sequences together (a batched decode) and checks every probability. */
async function expectFiniteProbabilities(engine: LynxEngine) {
  const sequences = await Promise.all([0, 1, 2, 3].map((i) => engine.pool.acquire(`probe-${i}`)));
  try {
    const token = engine.model.tokenize("Hello")[0]!;
    const outputs = await Promise.all(
      sequences.map((sequence) => sequence.controlledEvaluate([[token, { generateNext: { probabilities: true } }]])),
    );
    for (const output of outputs) {
      const probabilities = output.at(-1)?.next.probabilities;
      expect(probabilities && probabilities.size > 0).toBe(true);
      // one expect per distribution: an expect per token (152k of them) took minutes
      let sum = 0;
      let nonFinite = 0;
      for (const p of probabilities!.values()) {
        if (!Number.isFinite(p)) nonFinite++;
        sum += p;
      }
      expect(nonFinite).toBe(0);
      expect(sum).toBeGreaterThan(0.99);
    }
  } finally {
    for (const sequence of sequences) {
      await sequence.clearHistory();
      engine.pool.release(sequence);
    }
    for (let i = 0; i < 4; i++) engine.pool.forget(`probe-${i}`);
  }
}

describe("dense model", () => {
  it("chats, and telemetry says there is nothing to prune", async () => {
    const engine = await LynxEngine.load({ modelPath: fixture(denseFixture), maxChats: 2 });
    try {
      expect(engine.info.isMoE).toBe(false);
      const state = engine.setAggressiveness({ mode: "preset", preset: "aggressive" });
      expect(state.applicable).toBe(false);
      expect(state.effective).toEqual({ kind: "off" });
      expect(state.description).toMatch(/dense/);
      const answers = await runConcurrently(engine, prompts.slice(0, 2), 8);
      expect(answers.every((a) => a.text.length > 0)).toBe(true);
      const frame = engine.telemetry.frame();
      expect(frame.nExperts).toBe(0);
      expect(frame.batches).toHaveLength(0);
    } finally {
      await engine.dispose();
    }
  });
});
