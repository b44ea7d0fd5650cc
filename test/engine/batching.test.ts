// Batched decoding must not change any chat's output, and must never hand one chat another chat's token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { runConcurrently } from "../helpers/engine.js";
import { fixture, prompts } from "../helpers/fixtures.js";

const maxTokens = 16;

describe("batched greedy decoding equals each chat run alone (policy off)", () => {
  let engine: LynxEngine;
  const solo: string[] = [];

  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: 16 });
    for (const prompt of prompts) solo.push((await runConcurrently(engine, [prompt], maxTokens))[0]!.text);
  });
  afterAll(() => engine?.dispose());

  it("distinct prompts give distinct answers (so a swap between chats would show)", () => {
    expect(new Set(solo).size).toBeGreaterThan(prompts.length / 2);
  });

  for (const n of [4, 8, 16]) {
    it(`${n} concurrent chats, 3 runs`, async () => {
      for (let run = 0; run < 3; run++) {
        // rotate which prompt each sequence gets, so the test also covers sequence reuse across chats
        const batch = Array.from({ length: n }, (_, i) => prompts[(i + run) % prompts.length]!);
        const answers = await runConcurrently(engine, batch, maxTokens);
        expect(answers.map((a) => a.text)).toEqual(batch.map((p) => solo[prompts.indexOf(p)]));
      }
    });
  }
});
