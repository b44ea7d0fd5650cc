// The chat store (electron/store): what it keeps, what it repairs, what it refuses.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultSampling, type AnswerStats, type ChatMessage } from "../../electron/api/contract.js";
import { exportChat, openChatStore, type ChatStore } from "../../electron/store/index.js";

const dirs: string[] = [];
const open: ChatStore[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-store-"));
  dirs.push(dir);
  return dir;
}

function openStore(dir: string, options: Parameters<typeof openChatStore>[1] = {}) {
  const store = openChatStore(dir, { log: () => {}, ...options });
  open.push(store);
  return store;
}

function closeStore(store: ChatStore) {
  store.close();
  open.splice(open.indexOf(store), 1);
}

/** What a crash leaves: the folder's bytes as they are now, in a new folder (the lock's pid is dead). */
function crashImage(dir: string): string {
  const copy = tempDir();
  fs.cpSync(dir, copy, { recursive: true });
  fs.writeFileSync(path.join(copy, "lock"), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname() }));
  return copy;
}

const settings = { systemPrompt: "Be brief.", sampling: { ...defaultSampling, temperature: 0 } };
const stats: AnswerStats = {
  tokens: 12,
  timeToFirstTokenMs: 80,
  tokensPerSecond: 41.5,
  durationMs: 400,
  pruning: { setting: { mode: "preset", preset: "balanced" }, effective: { kind: "affinity", alpha: 3, beta: 2 }, description: "affinity" },
  decodeSteps: 11,
  batchedSteps: 7,
  expertsBefore: 3.4,
  expertsAfter: 2.6,
};

function chatWithAnswer(store: ChatStore, id = "chat-1") {
  store.createChat({ id, title: "First", settings });
  store.syncMessages(id, [{ role: "user", text: "What is 2+2?" }]);
  store.beginAnswer(id);
  store.appendAnswerText(id, "It is ");
  store.appendAnswerText(id, "4.");
  store.finishAnswer(id, { role: "assistant", text: "It is 4.", stopReason: "eos", stats, createdAt: 4242 });
}

describe("chat store: what it keeps", () => {
  it("keeps chats, messages with statistics, tabs and settings across a reopen", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    store.createChat({ id: "chat-2", title: "Second", settings });
    store.setTabs(["chat-2", "chat-1"]);
    store.updateSettings({ theme: "dark", pruning: { mode: "slider", value: 0.7 }, lastModel: "/m/a.gguf", recentModels: ["/m/a.gguf"] });
    store.rename("chat-1", "Arithmetic");
    closeStore(store);

    const again = openStore(dir);
    expect(again.notices).toEqual([]);
    const chat = again.get("chat-1")!;
    expect(chat.title).toBe("Arithmetic");
    expect(chat.settings).toEqual(settings);
    expect(chat.messages.map((m) => [m.role, m.text, m.stopReason])).toEqual([
      ["user", "What is 2+2?", undefined],
      ["assistant", "It is 4.", "eos"],
    ]);
    expect(chat.messages[1]!.stats).toEqual(stats);
    // the answer keeps the engine's time stamp, so a restored chat equals the one the engine held
    expect(chat.messages[1]!.createdAt).toBe(4242);
    expect(again.tabs()).toEqual(["chat-2", "chat-1"]);
    expect(again.settings()).toMatchObject({ theme: "dark", pruning: { mode: "slider", value: 0.7 }, lastModel: "/m/a.gguf" });
    // the log is plain JSON lines
    const lines = fs.readFileSync(path.join(dir, "chats", "chat-1.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: "chat", v: 1, id: "chat-1" });
  });

  it("lists newest first and searches titles and text", () => {
    let t = 1000;
    const store = openStore(tempDir(), { now: () => t++ });
    chatWithAnswer(store, "a");
    store.createChat({ id: "b", title: "Haiku", settings });
    store.syncMessages("b", [{ role: "user", text: "Write about the Sea" }]);
    expect(store.list().map((c) => c.id)).toEqual(["b", "a"]);
    expect(store.list({ search: "sea" }).map((c) => c.id)).toEqual(["b"]);
    expect(store.list({ search: "FIRST" }).map((c) => c.id)).toEqual(["a"]);
    expect(store.list({ search: "it is 4" })[0]).toMatchObject({ id: "a", messageCount: 2, preview: "It is 4." });
  });

  it("truncates for regenerate and edit, and keeps byte-exact text", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    const odd = "emoji 🦊, a lone surrogate \ud800, nul \u0000, newline\nand \"quotes\"";
    store.syncMessages("chat-1", [{ role: "user", text: odd }]);
    closeStore(store);
    const again = openStore(dir);
    expect(again.get("chat-1")!.messages).toMatchObject([{ role: "user", text: odd }]);
  });

  it("saves streamed text at checkpoints and marks an answer cut by a crash as interrupted", () => {
    const dir = tempDir();
    const store = openStore(dir);
    store.createChat({ id: "c", title: "Long", settings });
    store.syncMessages("c", [{ role: "user", text: "Tell a story" }]);
    store.beginAnswer("c");
    store.appendAnswerText("c", "Once upon ");
    store.checkpoint();
    store.appendAnswerText("c", "a time"); // not yet checkpointed: may be lost by a crash
    const image = crashImage(dir);

    const reopened = openStore(image);
    const messages = reopened.get("c")!.messages;
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({ role: "assistant", text: "Once upon ", interrupted: true });
    // the answer was closed on disk: a later answer is a new message
    reopened.syncMessages("c", [...messages, { role: "user", text: "Go on" }]);
    closeStore(reopened);
    expect(openStore(image).get("c")!.messages.map((m) => m.text)).toEqual(["Tell a story", "Once upon ", "Go on"]);
  });

  it("checkpoints on its own at least every checkpointMs while an answer streams", async () => {
    const saved: string[][] = [];
    const store = openStore(tempDir(), { checkpointMs: 30, onCheckpoint: (ids) => saved.push(ids) });
    store.createChat({ id: "c", title: "t", settings });
    store.beginAnswer("c");
    store.appendAnswerText("c", "x");
    await new Promise((r) => setTimeout(r, 150));
    expect(saved.length).toBeGreaterThanOrEqual(1);
  });

  it("compacts atomically and keeps everything", () => {
    const dir = tempDir();
    const store = openStore(dir, { compactSlack: 20 });
    store.createChat({ id: "c", title: "t", settings });
    const expected: ChatMessage[] = [];
    for (let i = 0; i < 10; i++) {
      expected.push({ role: "user", text: `q${i}` });
      store.syncMessages("c", expected);
      store.beginAnswer("c");
      for (let k = 0; k < 5; k++) {
        store.appendAnswerText("c", `a${i}.${k} `);
        store.checkpoint();
      }
      const text = Array.from({ length: 5 }, (_, k) => `a${i}.${k} `).join("");
      store.finishAnswer("c", { role: "assistant", text, stopReason: "eos" });
      expected.push({ role: "assistant", text, stopReason: "eos" });
    }
    const file = path.join(dir, "chats", "c.jsonl");
    const lines = fs.readFileSync(file, "utf8").trim().split("\n").length;
    expect(lines).toBeLessThan(1 + 20 * 7); // compacted at least once
    // a compaction killed before its rename leaves a .tmp that is ignored
    fs.writeFileSync(file + ".tmp", "half a compaction");
    closeStore(store);
    const again = openStore(dir);
    expect(again.get("c")!.messages.map((m) => m.text)).toEqual(expected.map((m) => m.text));
    expect(fs.existsSync(file + ".tmp")).toBe(false);
  });

  it("deletes a chat and its tab", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    store.setTabs(["chat-1"]);
    store.deleteChat("chat-1");
    expect(store.has("chat-1")).toBe(false);
    expect(store.tabs()).toEqual([]);
    expect(fs.existsSync(path.join(dir, "chats", "chat-1.jsonl"))).toBe(false);
    expect(() => store.rename("chat-1", "x")).toThrow(expect.objectContaining({ code: "CHAT_NOT_FOUND" }));
  });

  it("exports Markdown and JSON", () => {
    const store = openStore(tempDir());
    chatWithAnswer(store);
    const chat = store.get("chat-1")!;
    const md = exportChat(chat, "markdown");
    expect(md.fileName).toBe("First.md");
    expect(md.content).toContain("## User\n\nWhat is 2+2?");
    expect(md.content).toContain("12 tokens");
    expect(md.content).toContain("3.4 -> 2.6");
    const json = exportChat(chat, "json");
    expect(JSON.parse(json.content).chat.messages[1].stats).toEqual(stats);
  });
});

describe("chat store: damaged folders", () => {
  it("opens a log cut at every byte with every complete record kept", () => {
    const dir = tempDir();
    const store = openStore(dir);
    store.createChat({ id: "c", title: "t", settings });
    const texts: string[] = [];
    for (let i = 0; i < 4; i++) {
      texts.push(`message ${i} ✓`);
      store.syncMessages("c", texts.map((text) => ({ role: "user", text })));
    }
    closeStore(store);
    const full = fs.readFileSync(path.join(dir, "chats", "c.jsonl"));
    const ends: number[] = [];
    for (let i = 0; i < full.length; i++) if (full[i] === 0x0a) ends.push(i + 1);

    for (let cut = 0; cut <= full.length; cut += 3) {
      const image = crashImage(dir);
      fs.writeFileSync(path.join(image, "chats", "c.jsonl"), full.subarray(0, cut));
      const s = openStore(image);
      // a record counts once its line is whole (the last one may lack only its newline)
      const complete = ends.filter((e) => e <= cut || e - 1 === cut).length;
      const expected = texts.slice(0, Math.max(0, complete - 1));
      if (cut === 0) expect(s.has("c")).toBe(false);
      else expect(s.get("c")!.messages.map((m) => m.text)).toEqual(expected);
      closeStore(s);
      // and the repaired file opens cleanly again
      const s2 = openStore(image);
      expect(s2.notices.filter((n) => n.kind === "repaired")).toEqual([]);
      closeStore(s2);
    }
  });

  it("cuts garbage appended to a log, keeps it in repairs/ and says so", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    closeStore(store);
    const file = path.join(dir, "chats", "chat-1.jsonl");
    fs.appendFileSync(file, Buffer.from([0xff, 0xfe, 0x0a, 0x7b, 0x22, 0x0a, 0x00, 0x01]));
    const again = openStore(dir);
    expect(again.get("chat-1")!.messages.map((m) => m.text)).toEqual(["What is 2+2?", "It is 4."]);
    expect(again.notices).toEqual([expect.objectContaining({ kind: "repaired", chatId: "chat-1" })]);
    expect(again.notices[0]!.message).toMatch(/cut 8 unreadable bytes/);
    const kept = fs.readdirSync(path.join(dir, "repairs"));
    expect(kept).toHaveLength(1);
  });

  it("skips a damaged line in the middle and keeps the records after it", () => {
    const dir = tempDir();
    const store = openStore(dir);
    store.createChat({ id: "c", title: "t", settings });
    store.syncMessages("c", [{ role: "user", text: "one" }]);
    store.syncMessages("c", [{ role: "user", text: "one" }, { role: "user", text: "two" }]);
    store.syncMessages("c", [{ role: "user", text: "one" }, { role: "user", text: "two" }, { role: "user", text: "three" }]);
    closeStore(store);
    const file = path.join(dir, "chats", "c.jsonl");
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines[2] = lines[2]!.slice(0, 10) + "\u0000garbled";
    fs.writeFileSync(file, lines.join("\n"));
    const again = openStore(dir);
    expect(again.get("c")!.messages.map((m) => m.text)).toEqual(["one", "three"]);
    expect(again.notices[0]!.message).toMatch(/skipped 1 unreadable line/);
  });

  it("rebuilds a missing or corrupt index and names a chat whose log is gone", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store, "a");
    chatWithAnswer(store, "b");
    closeStore(store);
    fs.rmSync(path.join(dir, "index.json"));
    let again = openStore(dir);
    expect(again.notices).toEqual([expect.objectContaining({ kind: "rebuilt", message: expect.stringMatching(/index.json was missing/) })]);
    expect(again.list()).toHaveLength(2);
    closeStore(again);

    fs.rmSync(path.join(dir, "chats", "b.jsonl"));
    again = openStore(dir);
    expect(again.notices).toEqual([expect.objectContaining({ kind: "skipped", chatId: "b" })]);
    closeStore(again);

    fs.writeFileSync(path.join(dir, "index.json"), "{ not json");
    again = openStore(dir);
    expect(again.notices[0]!.message).toMatch(/index.json was unreadable/);
    expect(again.get("a")!.messages).toHaveLength(2);
  });

  it("resets unreadable state.json to defaults and keeps the chats", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    store.setTabs(["chat-1"]);
    closeStore(store);
    fs.writeFileSync(path.join(dir, "state.json"), '{"version":1,"tabs":"oops","settings":{"theme":"dark"}}');
    const again = openStore(dir);
    expect(again.notices[0]!.kind).toBe("rebuilt");
    expect(again.settings().theme).toBe("dark");
    expect(again.tabs()).toEqual([]);
    expect(again.get("chat-1")!.messages).toHaveLength(2);
  });

  it("refuses a folder from a newer version with a clear message and changes nothing", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    closeStore(store);
    fs.writeFileSync(path.join(dir, "store.json"), JSON.stringify({ format: "lynx-chat-store", version: 2 }));
    const before = snapshotFolder(dir);
    expect(() => openStore(dir)).toThrow(expect.objectContaining({ code: "STORE_UNSUPPORTED_VERSION", message: expect.stringMatching(/newer Lynx Chat.*version 2/) }));
    expect(snapshotFolder(dir)).toEqual(before);
  });

  it("leaves a chat log from a newer version untouched", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    closeStore(store);
    const file = path.join(dir, "chats", "future.jsonl");
    const future = JSON.stringify({ type: "chat", v: 9, id: "future", title: "t", createdAt: 1, systemPrompt: "", sampling: defaultSampling }) + "\n{\"type\":\"hologram\"}\n";
    fs.writeFileSync(file, future);
    const again = openStore(dir);
    expect(again.has("future")).toBe(false);
    expect(again.notices).toEqual([expect.objectContaining({ kind: "skipped", chatId: "future" })]);
    expect(fs.readFileSync(file, "utf8")).toBe(future);
    expect(again.get("chat-1")!.messages).toHaveLength(2);
  });

  it("rebuilds a lost header and keeps the messages", () => {
    const dir = tempDir();
    const store = openStore(dir);
    chatWithAnswer(store);
    closeStore(store);
    const file = path.join(dir, "chats", "chat-1.jsonl");
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines[0] = "#" + lines[0];
    fs.writeFileSync(file, lines.join("\n"));
    const again = openStore(dir);
    expect(again.get("chat-1")).toMatchObject({ title: "Recovered chat" });
    expect(again.get("chat-1")!.messages.map((m) => m.text)).toEqual(["What is 2+2?", "It is 4."]);
  });
});

describe("chat store: one process per folder", () => {
  it("refuses a folder another live process holds, takes over a dead one's lock", async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      fs.writeFileSync(path.join(dir, "lock"), JSON.stringify({ pid: child.pid, hostname: os.hostname() }));
      expect(() => openStore(dir)).toThrow(expect.objectContaining({ code: "STORE_LOCKED", message: expect.stringMatching(new RegExp(`in use by another Lynx Chat \\(pid ${child.pid}\\)`)) }));
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    // the holder died: its lock is stale
    const store = openStore(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, "lock"), "utf8")).pid).toBe(process.pid);
    expect(() => openChatStore(dir, { log: () => {} })).toThrow(expect.objectContaining({ code: "STORE_LOCKED" }));
    closeStore(store);
    expect(fs.existsSync(path.join(dir, "lock"))).toBe(false);
  });
});

function snapshotFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = fs.readFileSync(full, "base64");
  }
  return out;
}
