// The stored chats as the LynxApi offers them (history list, reopen, delete, export, storage info), and the session
// restore at startup (the tabs that were open, the pruning setting). Without a data folder the history is the open
// chats. The engine is replaced on a model switch, so it is read through a getter.
import type { AggressivenessSetting, ChatId, ChatSnapshot, HostEvent, LynxApi } from "../api/contract.js";
import type { LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import { exportChat, type ChatStore } from "../store/index.js";

/** The LynxApi methods of the stored chats. */
export type ChatHistoryApi = Pick<LynxApi, "listHistory" | "reopenChat" | "deleteChat" | "exportChat" | "getStorageInfo">;

export interface ChatHistory {
  readonly api: ChatHistoryApi;
  /** Re-creates the stored chats that were open tabs, and the pruning setting, on the current engine. */
  restoreSession(pruningFor: (modelPath: string, current: AggressivenessSetting) => AggressivenessSetting): void;
}

export function createChatHistory(deps: {
  engine(): LynxEngine;
  store: ChatStore | null;
  emit(event: HostEvent): void;
  /** The chat as the engine holds it, or null when it is not open. */
  snapshotOf(chatId: ChatId): ChatSnapshot | null;
  /** Saves the open tabs, in order. */
  saveTabs(): void;
}): ChatHistory {
  const { store, emit, snapshotOf } = deps;

  const api: ChatHistoryApi = {
    async listHistory(query = {}) {
      const engine = deps.engine();
      const open = new Set(engine.chats().map((chat) => chat.id));
      if (!store) {
        const needle = query.search?.trim().toLowerCase() ?? "";
        return engine
          .chats()
          .map((chat) => chat.snapshot())
          .filter((c) => !needle || c.title.toLowerCase().includes(needle) || c.messages.some((m) => m.text.toLowerCase().includes(needle)))
          .map((c) => ({ id: c.id, title: c.title, createdAt: 0, updatedAt: 0, messageCount: c.messages.length, preview: c.messages.at(-1)?.text.slice(0, 160) ?? "", open: true }));
      }
      return store.list(query).map((summary) => ({ ...summary, open: open.has(summary.id) }));
    },
    async reopenChat(chatId) {
      const live = snapshotOf(chatId);
      if (live) return live;
      const chat = store?.get(chatId);
      if (!chat) throw new EngineError("CHAT_NOT_FOUND", `no stored chat with id ${chatId}`);
      // its context is rebuilt from these messages on its next send
      const snapshot = deps.engine().restoreChat({ id: chat.id, title: chat.title, status: "idle", settings: chat.settings, messages: chat.messages }).snapshot();
      deps.saveTabs();
      emit({ type: "chat.snapshot", chat: snapshot });
      return snapshot;
    },
    async deleteChat(chatId) {
      const open = snapshotOf(chatId) !== null;
      if (!open && !store?.has(chatId)) throw new EngineError("CHAT_NOT_FOUND", `no chat with id ${chatId}`);
      if (open) await deps.engine().closeChat(chatId);
      if (store?.has(chatId)) store.deleteChat(chatId);
      deps.saveTabs();
      emit({ type: "history.changed" });
    },
    async exportChat(chatId, format) {
      const live = snapshotOf(chatId);
      const stored = store?.get(chatId);
      if (stored) return exportChat(live ? { ...stored, title: live.title, settings: live.settings, messages: live.messages } : stored, format);
      if (!live) throw new EngineError("CHAT_NOT_FOUND", `no chat with id ${chatId}`);
      return exportChat({ id: live.id, title: live.title, createdAt: Date.now(), updatedAt: Date.now(), settings: live.settings, messages: live.messages }, format);
    },
    async getStorageInfo() {
      return { dataDir: store?.dir ?? null, formatVersion: store?.formatVersion ?? 1, notices: [...(store?.notices ?? [])] };
    },
  };

  return {
    api,
    restoreSession(pruningFor) {
      if (!store) return;
      const engine = deps.engine();
      engine.setAggressiveness(pruningFor(engine.info.path, store.settings().pruning));
      for (const id of store.tabs()) {
        const chat = store.get(id);
        if (chat) engine.restoreChat({ id, title: chat.title, status: "idle", settings: chat.settings, messages: chat.messages });
      }
    },
  };
}
