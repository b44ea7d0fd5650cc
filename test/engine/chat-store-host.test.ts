// The host with a data folder, on the real engine: what a session leaves in the store is what the next one
// restores (tabs, messages with statistics, settings, the pruning setting), through send, regenerate, edit,
// reset, rename, close, reopen and delete.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ChatSnapshot, HostEvent } from "../../electron/api/contract.js";
import { createHost, type LynxHost } from "../../electron/host/host.js";
import { openChatStore } from "../../electron/store/index.js";
import { fixture } from "../helpers/fixtures.js";

const modelPath = fixture("qwen3moe-tiny.gguf");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-host-store-"));
const sampling = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 12 };

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function done(host: LynxHost, chatId: string): Promise<void> {
  return new Promise((resolve) => {
    const off = host.subscribe(
      (event: HostEvent) => {
        if ((event.type === "chat.done" || event.type === "chat.error") && event.chatId === chatId) {
          off();
          resolve();
        }
      },
      () => {},
    );
  });
}

async function answer(host: LynxHost, chatId: string, run: () => Promise<void>) {
  const finished = done(host, chatId);
  await run();
  await finished;
}

const texts = (chat: ChatSnapshot | { messages: { role: string; text: string }[] }) => chat.messages.map((m) => `${m.role}:${m.text}`);

describe("host + chat store", () => {
  it("restores what the previous session left, through every way a chat changes", async () => {
    let host = await createHost({ modelPath, dataDir, maxChats: 2 });
    const a = await host.openChat({ title: "A", sampling });
    const b = await host.openChat({ title: "B", sampling, systemPrompt: "Be brief." });
    await host.setPolicy({ mode: "budget", experts: 3 });
    await answer(host, a.id, () => host.send(a.id, "one"));
    await answer(host, a.id, () => host.send(a.id, "two"));
    await answer(host, a.id, () => host.regenerate(a.id));
    await answer(host, a.id, () => host.editLastAndResend(a.id, "two, edited"));
    await answer(host, b.id, () => host.send(b.id, "to be reset"));
    await host.resetChat(b.id);
    await answer(host, b.id, () => host.send(b.id, "after reset"));
    await host.renameChat(b.id, "B renamed");
    const c = await host.openChat({ title: "C", sampling });
    await answer(host, c.id, () => host.send(c.id, "closed one"));
    await host.closeChat(c.id);
    const before = await host.listChats();
    await host.dispose();

    host = await createHost({ modelPath, dataDir, maxChats: 2 });
    try {
      const after = await host.listChats();
      expect(after.map((chat) => chat.id)).toEqual([a.id, b.id]);
      for (const [i, chat] of after.entries()) {
        // every field: text, stop reason, time stamps and statistics
        expect(chat.messages).toEqual(before[i]!.messages);
        expect(chat.settings).toEqual(before[i]!.settings);
      }
      expect(texts(after[0]!).filter((t) => t.startsWith("user:"))).toEqual(["user:one", "user:two, edited"]);
      expect(after[1]!.title).toBe("B renamed");
      expect(texts(after[1]!)[0]).toBe("user:after reset");
      const last = after[0]!.messages.at(-1)!;
      expect(last.stats).toMatchObject({ pruning: { setting: { mode: "budget", experts: 3 } } });
      expect(last.stats!.tokens).toBeGreaterThan(0);
      expect(last.stats!.expertsBefore).toBeGreaterThan(0);
      expect((await host.getPolicy()).setting).toEqual({ mode: "budget", experts: 3 });
      // what an answer read per step: never more than plain top-k would, never more than the cap (or k, alone)
      const k = (await host.getModel()).expertsPerToken;
      for (const message of after.flatMap((chat) => chat.messages)) {
        if (!message.stats || message.stats.decodeSteps === 0) continue;
        expect(message.stats.expertsAfter).toBeLessThanOrEqual(message.stats.expertsBefore + 1e-9);
        expect(message.stats.expertsAfter).toBeLessThanOrEqual(Math.max(3, k) + 1e-9);
        expect(message.stats.expertsBefore).toBeGreaterThanOrEqual(k - 1e-9);
        expect(message.stats.batchedSteps).toBeLessThanOrEqual(message.stats.decodeSteps);
      }
      expect((await host.getAppSettings()).lastModel).toBe(modelPath);

      // the closed chat is in the history and comes back with its messages; its context is rebuilt on the next send
      const history = await host.listHistory();
      expect(history.map((h) => [h.title, h.open])).toEqual(expect.arrayContaining([["C", false], ["A", true], ["B renamed", true]]));
      expect((await host.listHistory({ search: "CLOSED ONE" })).map((h) => h.id)).toEqual([c.id]);
      const reopened = await host.reopenChat(c.id);
      expect(texts(reopened)[0]).toBe("user:closed one");
      await answer(host, c.id, () => host.send(c.id, "and again"));
      expect((await host.listChats()).find((chat) => chat.id === c.id)!.messages).toHaveLength(4);

      const md = await host.exportChat(c.id, "markdown");
      expect(md.content).toContain("and again");
      await host.deleteChat(c.id);
      expect((await host.listHistory()).map((h) => h.id)).not.toContain(c.id);
      await expect(host.reopenChat(c.id)).rejects.toMatchObject({ code: "CHAT_NOT_FOUND" });
    } finally {
      await host.dispose();
    }

    // and the files agree, read by a store of their own
    const store = openChatStore(dataDir, { log: () => {} });
    try {
      expect(store.tabs()).toEqual([a.id, b.id]);
      expect(store.has(c.id)).toBe(false);
      expect(store.notices).toEqual([]);
    } finally {
      store.close();
    }
  });

  it("refuses a second host on the same folder before loading a model", async () => {
    const host = await createHost({ modelPath, dataDir, maxChats: 1 });
    try {
      await expect(createHost({ modelPath, dataDir })).rejects.toMatchObject({ code: "STORE_LOCKED" });
    } finally {
      await host.dispose();
    }
  });
});
