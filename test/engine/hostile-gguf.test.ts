// Hostile and broken GGUF files give a typed error (or load and chat), never kill or hang the process.
// Every file of the corpus (tools/fixtures/hostile.ts) is opened through LynxEngine.load in a child
// process, so a native crash or a V8 abort is a failing row naming the file; then a chat served by this
// process keeps streaming while the engine refuses the hostile files the preflight catches, in-process.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LynxEngine } from "../../electron/engine/engine.js";
import { EngineError } from "../../electron/engine/errors.js";
import { HOSTILE_CASES, hostilePath } from "../../tools/fixtures/hostile.js";
import { checkHostileCorpus, formatTable, type HostileRow } from "../../tools/fixtures/hostile-check.js";
import { greedy } from "../helpers/engine.js";
import { fixture, prompts } from "../helpers/fixtures.js";

describe("the hostile GGUF corpus, each file opened in a child process", () => {
  let rows: HostileRow[];
  beforeAll(async () => {
    rows = await checkHostileCorpus({ parallel: 2, fileTimeoutMs: 60_000 });
    console.log(`${formatTable(rows)}\n`);
  }, 300_000);

  it("has at least 30 files", () => {
    expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(HOSTILE_CASES.map((c) => [c.name, c.expect]))("%s -> %s", (name) => {
    const row = rows.find((r) => r.name === name)!;
    expect(row.got, `${name}: ${row.detail}`).toBe(row.expect);
    if (row.expect === "loads") {
      // a short greedy chat finished with every token it was allowed (finite output, no hang)
      expect(row.detail).toMatch(/^chat: 8 tokens, stop maxTokens/);
    } else {
      expect(row.detail.length).toBeGreaterThan(30);
      // refused before llama.cpp: milliseconds (the bound leaves room for a busy machine); later: a model load
      const beforeLlama = (HOSTILE_CASES.find((c) => c.name === name)!.refusedBy ?? "engine") === "engine";
      expect(row.loadMs).toBeLessThan(beforeLlama ? 1_000 : 10_000);
    }
  });
});

describe("a chat served by this process while the engine refuses hostile files", () => {
  let engine: LynxEngine;
  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: 2, contextPerChat: 256 });
  });
  afterAll(() => engine?.dispose());

  // only files the engine refuses before llama.cpp sees them: loading them here cannot take this process down
  const safe = HOSTILE_CASES.filter((c) => c.expect !== "loads" && (c.refusedBy ?? "engine") === "engine");

  it("keeps streaming to the end, and the next chat works", async () => {
    const chat = engine.openChat({ sampling: greedy(48) });
    const errors: string[] = [];
    const off = engine.subscribe((event) => {
      if (event.type === "chat.error" || event.type === "host.error") errors.push(event.message);
    });
    let tokens = 0;
    let refusedWhileStreaming = 0;
    const answer = chat.send(prompts[0]!, { ignoreEos: true, onToken: (t) => (tokens += t.length) });
    for (const c of safe) {
      const err = await LynxEngine.load({ modelPath: hostilePath(c.name), maxChats: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, c.name).toBeInstanceOf(EngineError);
      expect((err as EngineError).code, c.name).toBe(c.expect);
      if (tokens < 48) refusedWhileStreaming++;
    }
    const message = await answer;
    off();
    expect(message.stopReason).toBe("maxTokens");
    expect(tokens).toBe(48);
    expect(errors).toEqual([]);
    // the refusals really happened while the chat generated, not after it
    expect(refusedWhileStreaming).toBeGreaterThan(0);
    const next = await engine.openChat({ sampling: greedy(6) }).send(prompts[1]!);
    expect(next.text.length).toBeGreaterThan(0);
  });
});
