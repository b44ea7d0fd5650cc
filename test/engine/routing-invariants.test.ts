// The policies' guarantees on every MoE fixture (every gating path of build_moe_ffn: softmax with and without
// renormalisation, sigmoid with selection bias, expert groups, softmax-weight), checked on every decode ubatch:
//  - budget(M): distinct experts after <= max(M, k) in every MoE layer, and after <= before;
//  - affinity: after <= before;
//  - no token is routed to an expert outside the kept set (the patch counts re-selection scores of -INF);
//  - per-sequence counts: every MoE layer counted exactly k selections per output token.
import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PolicySpec } from "../../electron/api/contract.js";
import { LynxEngine } from "../../electron/engine/engine.js";
import { Counter } from "../../electron/engine/native/moe-select-api.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";
import { greedy } from "../helpers/engine.js";
import { fixture, moeFixtures, prompts } from "../helpers/fixtures.js";

const chats = 8;
const maxTokens = 10;
const available = moeFixtures.filter((name) => fs.existsSync(fixture(name)));

describe.each(available)("%s, %i concurrent chats".replace("%i", String(chats)), (name) => {
  let engine: LynxEngine;
  let k: number;
  let moe: Uint8Array;

  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture(name), maxChats: chats, contextPerChat: 256 });
    k = engine.info.expertsPerToken;
  });
  afterAll(() => engine?.dispose());

  /** Runs `chats` greedy chats together under a policy; returns every decode ubatch and each chat's count check. */
  async function run(policy: PolicySpec) {
    engine.setPolicy(policy);
    const recorder = new RoutingRecorder(engine.native, engine.info.layers, engine.info.experts, () => null, true).start(2);
    const unkeptBefore = engine.native.counters()[Counter.unkept]!;
    const generated = new Array<number>(chats).fill(0);
    const list = Array.from({ length: chats }, () => engine.openChat({ sampling: greedy(maxTokens) }));
    try {
      await Promise.all(list.map((chat, i) => chat.send(prompts[i]!, { ignoreEos: true, onToken: (t) => (generated[i]! += t.length) })));
      recorder.stop();
      moe = engine.native.shape(engine.info.layers)!.moeLayers;
      const perChatOutputs = list.map((chat) => outputsPerLayer(chat.lastSequenceId!));
      return { batches: recorder.perBatch, unkept: engine.native.counters()[Counter.unkept]! - unkeptBefore, generated, perChatOutputs };
    } finally {
      await Promise.all(list.map((chat) => engine.closeChat(chat.id)));
    }
  }

  /** Selections counted for a sequence in each MoE layer, divided by k. */
  function outputsPerLayer(sequenceId: number): number[] {
    const counts = new Uint32Array(engine.info.layers * engine.info.experts);
    engine.native.seqCounts(sequenceId, counts);
    const perLayer: number[] = [];
    for (let l = 0; l < engine.info.layers; l++) {
      if (!moe[l]) continue;
      perLayer.push(counts.subarray(l * engine.info.experts, (l + 1) * engine.info.experts).reduce((a, b) => a + b, 0) / k);
    }
    return perLayer;
  }

  function expectCounts(result: Awaited<ReturnType<typeof run>>) {
    for (const [i, perLayer] of result.perChatOutputs.entries()) {
      expect(perLayer.length).toBeGreaterThan(0);
      // the same number of outputs in every MoE layer, a whole number: k selections per output token
      expect(new Set(perLayer).size, `chat ${i}: ${perLayer}`).toBe(1);
      expect(Number.isInteger(perLayer[0])).toBe(true);
      // each generated token plus the prompt's last token produced an output
      expect(perLayer[0]).toBeGreaterThanOrEqual(result.generated[i]!);
      expect(perLayer[0]).toBeLessThanOrEqual(result.generated[i]! + 2);
    }
  }

  const budgets = (kk: number) => [Math.max(1, Math.floor(kk / 2)), kk, Math.floor(1.5 * kk), 2 * kk];

  it("budget(M): at most max(M, k) and at most the plain union in every MoE layer of every decode ubatch", async () => {
    let pruned = 0;
    for (const budget of budgets(k)) {
      const result = await run({ kind: "budget", experts: budget });
      const bound = Math.max(budget, k);
      expect(result.batches.length).toBeGreaterThan(maxTokens / 2);
      for (const batch of result.batches) {
        for (let l = 0; l < engine.info.layers; l++) {
          if (!moe[l]) continue;
          expect(batch.after[l], `budget ${budget}, layer ${l}`).toBeLessThanOrEqual(bound);
          expect(batch.after[l]).toBeLessThanOrEqual(batch.before[l]!);
          // every token still uses k distinct experts, so at least k are read
          expect(batch.after[l]).toBeGreaterThanOrEqual(k);
          if (batch.after[l]! < batch.before[l]!) pruned++;
        }
      }
      expect(result.unkept, `budget ${budget}: routings to pruned experts`).toBe(0);
      expectCounts(result);
    }
    expect(pruned).toBeGreaterThan(0);
  });

  it("affinity (gentle to aggressive): after <= before in every MoE layer, fewer in total, no pruned expert used", async () => {
    let before = 0;
    let after = 0;
    for (const [alpha, beta] of [[3, 2], [1, 1], [0.5, 1], [0.3, 0.5], [1, 0]] as const) {
      const result = await run({ kind: "affinity", alpha, beta });
      for (const batch of result.batches) {
        for (let l = 0; l < engine.info.layers; l++) {
          if (!moe[l]) continue;
          expect(batch.after[l], `alpha ${alpha} beta ${beta}, layer ${l}`).toBeLessThanOrEqual(batch.before[l]!);
          expect(batch.after[l]).toBeGreaterThanOrEqual(k);
          before += batch.before[l]!;
          after += batch.after[l]!;
        }
      }
      expect(result.unkept, `alpha ${alpha} beta ${beta}: routings to pruned experts`).toBe(0);
      expectCounts(result);
    }
    expect(after).toBeLessThan(before);
  });

  it("off: after equals before, per-sequence counts add up", async () => {
    const result = await run({ kind: "off" });
    for (const batch of result.batches) expect([...batch.after]).toEqual([...batch.before]);
    expectCounts(result);
  });
});
