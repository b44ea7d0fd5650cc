// Bad input gets a clear, typed error and loses nothing: the engine keeps working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { EngineError } from "../../electron/engine/errors.js";
import { greedy } from "../helpers/engine.js";
import { fixture, prompts } from "../helpers/fixtures.js";

async function loadError(path: string): Promise<EngineError> {
  try {
    await LynxEngine.load({ modelPath: path, maxChats: 1 });
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error(`loading ${path} should have failed`);
}

describe("broken model files", () => {
  it.each([
    ["does-not-exist.gguf", "MODEL_NOT_FOUND"],
    ["broken-magic.gguf", "NOT_GGUF"],
    ["broken-truncated.gguf", "TRUNCATED_GGUF"],
    ["broken-not-a-model.gguf", "UNSUPPORTED_ARCHITECTURE"],
  ])("%s -> %s", async (name, code) => {
    const err = await loadError(fixture(name));
    expect(err.code).toBe(code);
    expect(err.message.length).toBeGreaterThan(20);
  });
});

describe("a working engine next to failures", () => {
  let engine: LynxEngine;
  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: 3, contextPerChat: 256 });
  });
  afterAll(() => engine?.dispose());

  it("keeps chatting after failed loads", async () => {
    await loadError(fixture("broken-truncated.gguf"));
    const chat = engine.openChat({ sampling: greedy(6) });
    const answer = await chat.send(prompts[0]!);
    expect(answer.text.length).toBeGreaterThan(0);
  });

  it("stopping one chat mid-stream leaves the others streaming to the end", async () => {
    engine.setAggressiveness({ mode: "preset", preset: "balanced" });
    const chats = [0, 1, 2].map(() => engine.openChat({ sampling: greedy(40) }));
    let stopped = false;
    const runs = chats.map((chat, i) =>
      chat.send(prompts[i]!, {
        ignoreEos: true,
        onToken: () => {
          if (i === 0 && !stopped && engine.scheduler.stats.decodeSteps > 5) {
            stopped = true;
            chat.stop();
          }
        },
      }),
    );
    const [first, second, third] = await Promise.all(runs);
    expect(first!.stopReason).toBe("aborted");
    expect(second!.stopReason).toBe("maxTokens");
    expect(third!.stopReason).toBe("maxTokens");
    // the stopped chat keeps its partial answer and can go on
    expect(chats[0]!.messages.at(-1)?.role).toBe("assistant");
    const again = await chats[0]!.send("Go on.");
    expect(again.text.length).toBeGreaterThan(0);
  });

  it("a message longer than the context is refused with CONTEXT_FULL, and the chat stays usable", async () => {
    const chat = engine.openChat({ sampling: greedy(4) });
    const long = "lorem ipsum dolor sit amet ".repeat(400);
    await expect(chat.send(long)).rejects.toMatchObject({ code: "CONTEXT_FULL" });
    expect(chat.busy).toBe(false);
    const answer = await chat.editLastAndResend("Hi there");
    expect(answer.text.length).toBeGreaterThan(0);
  });

  it("more generating chats than sequences wait in a queue, in order", async () => {
    const chats = [0, 1, 2, 3, 4].map(() => engine.openChat({ sampling: greedy(6) }));
    const started: string[] = [];
    const statuses = new Map<string, string[]>();
    const off = engine.subscribe((event) => {
      if (event.type !== "chat.status") return;
      statuses.set(event.chatId, [...(statuses.get(event.chatId) ?? []), event.status]);
      if (event.status === "generating") started.push(event.chatId);
    });
    const answers = await Promise.all(chats.map((chat, i) => chat.send(prompts[i]!, { ignoreEos: true })));
    off();
    expect(answers.every((a) => a.stopReason === "maxTokens")).toBe(true);
    // 3 sequences: chats 3 and 4 waited, said so, and started in the order they asked
    expect(chats.map((c) => statuses.get(c.id)?.includes("queued"))).toEqual([false, false, false, true, true]);
    expect(started.indexOf(chats[3]!.id)).toBeLessThan(started.indexOf(chats[4]!.id));
    expect(engine.pool.queue).toHaveLength(0);
  });

  it("closing a tab while it generates loses no other chat", async () => {
    const [a, b] = [engine.openChat({ sampling: greedy(30) }), engine.openChat({ sampling: greedy(12) })];
    const runA = a.send(prompts[3]!, { ignoreEos: true }).catch((err) => err);
    const runB = b.send(prompts[4]!, { ignoreEos: true });
    await new Promise((r) => setTimeout(r, 30));
    await engine.closeChat(a.id);
    expect((await runB).stopReason).toBe("maxTokens");
    await runA;
    expect(() => engine.chat(a.id)).toThrow(EngineError);
  });
});
