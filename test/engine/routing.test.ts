// Full decode batches, and the policies' guarantees, checked on every decode ubatch the patch records.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { RoutingRecorder } from "../../electron/engine/routing-recorder.js";
import { runConcurrently } from "../helpers/engine.js";
import { fixture, prompts } from "../helpers/fixtures.js";

const chats = 4;
const maxTokens = 24;

describe("qwen3moe-tiny, 4 concurrent chats", () => {
  let engine: LynxEngine;
  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: chats });
  });
  afterAll(() => engine?.dispose());

  const record = async (run: () => Promise<unknown>) => {
    const recorder = new RoutingRecorder(engine.native, engine.info.layers, engine.info.experts, () => engine.native.shape(engine.info.layers)?.moeLayers ?? null, true).start(2);
    engine.scheduler.resetStats();
    await run();
    recorder.stop();
    return recorder;
  };

  it("at least 95% of steady-state decode steps hold all 4 tokens in one ubatch", async () => {
    engine.setPolicy({ kind: "off" });
    const recorder = await record(() => runConcurrently(engine, prompts.slice(0, chats), maxTokens));
    const { decodeSteps, fullSteps } = engine.scheduler.stats;
    expect(decodeSteps).toBeGreaterThan(maxTokens / 2);
    expect(fullSteps / decodeSteps).toBeGreaterThanOrEqual(0.95);
    // the native side saw those decodes as single ubatches of 4 tokens
    const summary = recorder.summary(chats);
    expect(summary.decodeBatches.histogram[chats] ?? 0).toBeGreaterThanOrEqual(Math.floor(0.95 * decodeSteps));
    expect(summary.missed).toBe(0);
  });

  it("off: distinct after equals before in every layer of every batch", async () => {
    engine.setPolicy({ kind: "off" });
    const recorder = await record(() => runConcurrently(engine, prompts.slice(4, 8), 12));
    expect(recorder.perBatch.length).toBeGreaterThan(5);
    for (const batch of recorder.perBatch) expect([...batch.after]).toEqual([...batch.before]);
  });

  for (const budget of [4, 6]) {
    it(`budget(${budget}): at most ${budget} distinct experts in every MoE layer of every decode ubatch`, async () => {
      engine.setPolicy({ kind: "budget", experts: budget });
      const recorder = await record(() => runConcurrently(engine, prompts.slice(0, chats), maxTokens));
      const moe = engine.native.shape(engine.info.layers)!.moeLayers;
      expect(recorder.perBatch.length).toBeGreaterThan(5);
      let pruned = 0;
      for (const batch of recorder.perBatch) {
        for (let l = 0; l < engine.info.layers; l++) {
          if (!moe[l]) continue;
          expect(batch.after[l]).toBeLessThanOrEqual(budget);
          expect(batch.after[l]).toBeGreaterThanOrEqual(Math.min(engine.info.expertsPerToken, batch.before[l]!));
          if (batch.after[l]! < batch.before[l]!) pruned++;
        }
      }
      expect(pruned).toBeGreaterThan(0);
    });
  }

  it("affinity: distinct after <= before, fewer on average, and every token still uses k experts", async () => {
    engine.setPolicy({ kind: "affinity", alpha: 0.5, beta: 1 });
    const generated = new Array<number>(chats).fill(0);
    const chatList = prompts.slice(0, chats).map(() => engine.openChat({ sampling: { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, maxTokens } }));
    const recorder = await record(() =>
      Promise.all(chatList.map((chat, i) => chat.send(prompts[i]!, { ignoreEos: true, onToken: (t) => (generated[i]! += t.length) }))),
    );
    let before = 0;
    let after = 0;
    for (const batch of recorder.perBatch) {
      for (let l = 0; l < batch.before.length; l++) {
        expect(batch.after[l]).toBeLessThanOrEqual(batch.before[l]!);
        before += batch.before[l]!;
        after += batch.after[l]!;
      }
    }
    expect(after).toBeLessThan(before);

    // per-sequence counts: every MoE layer counted exactly k selections per output token
    const k = engine.info.expertsPerToken;
    const moe = engine.native.shape(engine.info.layers)!.moeLayers;
    for (const [i, chat] of chatList.entries()) {
      const seq = chat.lastSequenceId!;
      const counts = new Uint32Array(engine.info.layers * engine.info.experts);
      engine.native.seqCounts(seq, counts);
      const perLayer: number[] = [];
      for (let l = 0; l < engine.info.layers; l++) {
        if (!moe[l]) continue;
        perLayer.push(counts.subarray(l * engine.info.experts, (l + 1) * engine.info.experts).reduce((a, b) => a + b, 0));
      }
      expect(new Set(perLayer).size).toBe(1);
      const outputs = perLayer[0]! / k;
      expect(Number.isInteger(outputs)).toBe(true);
      // each generated token plus the prompt's last token produced an output
      expect(outputs).toBeGreaterThanOrEqual(generated[i]!);
      expect(outputs).toBeLessThanOrEqual(generated[i]! + 2);
    }
    await Promise.all(chatList.map((chat) => engine.closeChat(chat.id)));
  });

  it("the presets are ordered: Gentle keeps more experts than Balanced, Balanced more than Aggressive", async () => {
    const mean = (r: RoutingRecorder) => {
      const s = r.summary(chats);
      return s.layers.reduce((a, l) => a + l.distinctAfter, 0) / s.layers.length;
    };
    const after: number[] = [];
    for (const preset of ["gentle", "balanced", "aggressive"] as const) {
      engine.setAggressiveness({ mode: "preset", preset });
      after.push(mean(await record(() => runConcurrently(engine, prompts.slice(0, chats), maxTokens))));
    }
    expect(after[0]).toBeGreaterThan(after[1]!);
    expect(after[1]).toBeGreaterThan(after[2]!);
    engine.setPolicy({ kind: "off" });
  });

  it("changing the policy between two tokens changes the very next decode's routing", async () => {
    engine.setPolicy({ kind: "off" });
    let switchedAt = -1;
    const startIndex = engine.native.ubatchCount();
    const budget = engine.info.expertsPerToken;
    const recorder = await record(() =>
      runConcurrently(engine, prompts.slice(0, chats), maxTokens, (chat) => {
        // in chat 0's token callback, i.e. between two decodes
        if (chat === 0 && switchedAt < 0 && engine.scheduler.stats.decodeSteps >= 8) {
          switchedAt = engine.native.ubatchCount();
          engine.setPolicy({ kind: "budget", experts: budget });
        }
      }),
    );
    expect(switchedAt).toBeGreaterThan(0);
    const first = switchedAt - startIndex;
    const beforeSwitch = recorder.perBatch.slice(0, first);
    const afterSwitch = recorder.perBatch.slice(first);
    expect(afterSwitch.length).toBeGreaterThan(3);
    expect(beforeSwitch.some((b) => b.before.some((v, l) => v > budget && b.after[l] === v))).toBe(true);
    for (const batch of afterSwitch) for (const v of batch.after) expect(v).toBeLessThanOrEqual(budget);
    engine.setPolicy({ kind: "off" });
  });
});
