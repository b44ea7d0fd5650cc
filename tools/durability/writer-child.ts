// The process the kill test kills. It writes chats into a data folder without pause and prints, on stdout,
// one JSON line per write the store has made durable ("acknowledged"), the line printed only after the
// store call returned. Two modes:
//   synthetic: writes through the store with generated text, checkpointing and compacting very often, so
//              kills land in every phase of a write;
//   engine:    the real host: the trained model streams answers and the host's persistence saves them.
//
//   node --import tsx tools/durability/writer-child.ts '{"dir":"...","mode":"synthetic","seed":1}'
import fs, { writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ChatMessage } from "../../electron/api/contract.js";
import { openChatStore } from "../../electron/store/index.js";
import { Prng } from "../fixtures/prng.js";

export interface ChildOptions {
  dir: string;
  mode: "synthetic" | "engine";
  seed: number;
  modelPath?: string;
}

/** One acknowledged write: message `index` of chat `chatId` is `text` (or, for "partial", starts with it). */
export type Ack =
  | { ack: "message"; chatId: string; index: number; role: "user" | "assistant"; text: string }
  | { ack: "partial"; chatId: string; index: number; text: string };

// stdout is written synchronously so that an acknowledgement is out before the next write starts
const say = (value: unknown) => writeSync(1, JSON.stringify(value) + "\n");

const words = ["the", "fox", "🦊", "and", "ünïcödé", "lines\n", "tab\t", "quote\"", "back\\slash", "42", "—", "∑", "of", "light", "\u0000", "世界"];

function phrase(rng: Prng, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += words[rng.nextU32() % words.length] + " ";
  return out;
}

async function synthetic(options: ChildOptions) {
  const rng = new Prng(options.seed);
  const partialIndex = new Map<string, number>();
  const store = openChatStore(options.dir, {
    checkpointMs: 4,
    compactSlack: 12,
    // records reach the file in small pieces with pauses, so a kill can tear one as a power cut would
    slowDisk: { chunkBytes: 32, pauseMs: 1 },
    log: () => {},
    // a checkpoint wrote everything appended before it: that much of the answer is now acknowledged
    onCheckpoint: (ids) => {
      for (const id of ids) {
        const index = partialIndex.get(id);
        const open = openText.get(id);
        if (index === undefined || open === undefined) continue;
        open.saved += open.pending;
        open.pending = "";
        say({ ack: "partial", chatId: id, index, text: open.saved });
      }
    },
  });
  const openText = new Map<string, { saved: string; pending: string }>();
  say({ ready: true, pid: process.pid });

  const tick = () => new Promise((r) => setTimeout(r, 1 + (rng.nextU32() % 3)));
  for (let round = 0; ; round++) {
    const existing = store.list();
    let id: string;
    if (existing.length === 0 || rng.nextFloat() < 0.15) {
      id = `k${options.seed}-${round}`;
      store.createChat({ id, title: `Kill ${options.seed}.${round}`, settings: { systemPrompt: "", sampling: { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 64 } } });
    } else {
      id = existing[rng.nextU32() % Math.min(existing.length, 4)]!.id;
    }
    const messages: ChatMessage[] = store.get(id)!.messages;
    const question: ChatMessage = { role: "user", text: phrase(rng, 3 + (rng.nextU32() % 8)) };
    store.syncMessages(id, [...messages, question]);
    say({ ack: "message", chatId: id, index: messages.length, role: "user", text: question.text });

    const index = messages.length + 1;
    store.beginAnswer(id);
    partialIndex.set(id, index);
    const open = { saved: "", pending: "" };
    openText.set(id, open);
    const pieces = 4 + (rng.nextU32() % 40);
    let text = "";
    for (let i = 0; i < pieces; i++) {
      const piece = phrase(rng, 1 + (rng.nextU32() % 3));
      text += piece;
      store.appendAnswerText(id, piece);
      open.pending += piece;
      // besides the store's own timer (every 4 ms), checkpoints at random points of the stream
      if (rng.nextFloat() < 0.3) store.checkpoint();
      await tick();
    }
    partialIndex.delete(id);
    openText.delete(id);
    store.finishAnswer(id, { role: "assistant", text, stopReason: rng.nextFloat() < 0.8 ? "eos" : "maxTokens" });
    say({ ack: "message", chatId: id, index, role: "assistant", text });
  }
}

async function engine(options: ChildOptions) {
  const rng = new Prng(options.seed);
  // imported here: loading node-llama-cpp would slow every synthetic child down
  // (a computed specifier, so the kill test's bundle of the synthetic path leaves the engine out)
  const hostModule = new URL("../../electron/host/host.js", import.meta.url).href;
  const { createHost } = (await import(hostModule)) as typeof import("../../electron/host/host.js");
  const host = await createHost({ modelPath: options.modelPath!, dataDir: options.dir, maxChats: 2, threads: 2 });
  const prompts = ["What is 23+45?", "In the beginning", "What is 71-18?", "And the Lord said", "What is 9+90?", "Blessed are"];
  let tabs = await host.listChats();
  while (tabs.length < 2) {
    await host.openChat({ title: `Engine ${tabs.length + 1}`, sampling: { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 48 } });
    tabs = await host.listChats();
  }
  const sampling = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 48, seed: options.seed };
  /** Long chats (the trained model's context is short) give way to a new one: the old one stays stored. */
  const next = async (chatId: string) => {
    const chat = (await host.listChats()).find((c) => c.id === chatId);
    if (!chat) return;
    if (chat.messages.length < 6) return ask(chat.id, chat.messages.length);
    await host.closeChat(chat.id);
    const fresh = await host.openChat({ title: `Engine ${options.seed}`, sampling });
    return ask(fresh.id, 0);
  };
  host.subscribe((event) => {
    // the host's persistence hears every event before subscribers: the answer is stored when this runs
    if (event.type === "chat.error") void next(event.chatId).catch(() => {});
    if (event.type !== "chat.done") return;
    const message = event.message;
    void host
      .listChats()
      .then((list) => {
        const chat = list.find((c) => c.id === event.chatId);
        const index = chat ? chat.messages.length - 1 : -1;
        if (chat && message.text && index >= 0 && chat.messages[index]!.text === message.text) {
          say({ ack: "message", chatId: event.chatId, index, role: "assistant", text: message.text });
        }
        return next(event.chatId);
      })
      .catch(() => {});
  }, () => {});
  const ask = async (chatId: string, index: number) => {
    const text = prompts[rng.nextU32() % prompts.length]!;
    await host.send(chatId, text);
    say({ ack: "message", chatId, index, role: "user", text });
  };
  say({ ready: true, pid: process.pid });
  for (const chat of tabs) await ask(chat.id, chat.messages.length);
  await new Promise(() => {});
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  const options = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
  (options.mode === "engine" ? engine(options) : synthetic(options)).catch((error: unknown) => {
    say({ error: String((error as Error)?.stack ?? error) });
    process.exit(1);
  });
}
