// The open chats (the tabs) as the LynxApi offers them: open, rename, settings, send, stop, regenerate, edit,
// reset, close. A message is saved before its answer is generated; generations run without being awaited (their
// progress arrives as events). The engine is replaced on a model switch, so it is read through a getter.
import { maxMessageLength, type ChatId, type ChatSnapshot, type HostEvent, type LynxApi } from "../api/contract.js";
import type { LynxEngine } from "../engine/engine.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import type { ChatStore } from "../store/index.js";
import type { ChatPersistence } from "./chat-persistence.js";

/** The LynxApi methods of the open chats. */
export type ChatApi = Pick<
  LynxApi,
  "listChats" | "openChat" | "renameChat" | "updateChatSettings" | "send" | "stop" | "regenerate" | "editLastAndResend" | "resetChat" | "closeChat"
>;

export interface ChatServiceDeps {
  engine(): LynxEngine;
  store: ChatStore | null;
  persistence: ChatPersistence | null;
  emit(event: HostEvent): void;
  /** The chat as the engine holds it, or null when it is not open. */
  snapshotOf(chatId: ChatId): ChatSnapshot | null;
  /** Saves the open tabs, in order. */
  saveTabs(): void;
}

const checkText = (text: string) => {
  if (typeof text !== "string" || text.trim().length === 0) throw new EngineError("INVALID_INPUT", "the message is empty");
  if (text.length > maxMessageLength) throw new EngineError("INVALID_INPUT", `the message is longer than ${maxMessageLength} characters`);
};

/** Starts a generation without waiting for it: progress arrives as events, failures as chat.error. */
const start = (run: () => Promise<unknown>) => {
  try {
    run().catch(() => {});
  } catch (err) {
    throw toEngineError(err);
  }
};

export function createChatService(deps: ChatServiceDeps): ChatApi {
  const { store, persistence, emit } = deps;

  /** A chat the host changed itself (title, settings): saved like the engine's own snapshots, then announced. */
  const chatChanged = (snapshot: ChatSnapshot) => {
    const event: HostEvent = { type: "chat.snapshot", chat: snapshot };
    persistence?.onEvent(event);
    emit(event);
  };

  /** A message that cannot be saved is not answered: the generation just started is stopped again. */
  const saveBeforeGenerating = (chat: { snapshot(): ChatSnapshot; stop(): void }) => {
    try {
      persistence?.sync(chat.snapshot());
    } catch (err) {
      chat.stop();
      throw toEngineError(err);
    }
  };

  /**
   * Starts a generation, then saves the chat: the engine added the user's message synchronously and has not decoded
   * yet (it yields first), so the message is durable before its generation starts.
   */
  const generate = (chat: { snapshot(): ChatSnapshot; stop(): void }, run: () => Promise<unknown>) => {
    start(run);
    saveBeforeGenerating(chat);
  };

  return {
    async listChats(): Promise<ChatSnapshot[]> {
      return deps
        .engine()
        .chats()
        .map((chat) => chat.snapshot());
    },
    async openChat(settings = {}) {
      const snapshot = deps.engine().openChat(settings).snapshot();
      deps.saveTabs();
      return snapshot;
    },
    async renameChat(chatId, title) {
      // a chat of the history (not open) is renamed in the store
      if (!deps.snapshotOf(chatId) && store?.has(chatId)) {
        store.rename(chatId, title.trim().slice(0, 200) || title);
        emit({ type: "history.changed" });
        return;
      }
      const chat = deps.engine().chat(chatId);
      chat.title = title.trim().slice(0, 200) || chat.title;
      chatChanged(chat.snapshot());
    },
    async updateChatSettings(chatId, settings) {
      const chat = deps.engine().chat(chatId);
      if (settings.systemPrompt !== undefined) chat.settings.systemPrompt = settings.systemPrompt;
      if (settings.sampling) chat.settings.sampling = { ...chat.settings.sampling, ...settings.sampling };
      chatChanged(chat.snapshot());
    },
    async send(chatId, text) {
      checkText(text);
      const chat = deps.engine().chat(chatId);
      generate(chat, () => chat.send(text));
    },
    async stop(chatId) {
      deps.engine().chat(chatId).stop();
    },
    async regenerate(chatId) {
      const chat = deps.engine().chat(chatId);
      generate(chat, () => chat.regenerate());
    },
    async editLastAndResend(chatId, text) {
      checkText(text);
      const chat = deps.engine().chat(chatId);
      generate(chat, () => chat.editLastAndResend(text));
    },
    async resetChat(chatId) {
      await deps.engine().chat(chatId).reset();
    },
    async closeChat(chatId) {
      // the tab closes; the chat stays in the store, in the history
      await deps.engine().closeChat(chatId);
      deps.saveTabs();
    },
  };
}
