// Keeps the chat store in step with the engine's chats, from the engine's events: a chat is stored when it
// first appears, an answer is begun when it starts generating, its text is checkpointed as it streams and it
// is finished with its statistics when it ends. Messages the engine changes in place (regenerate, edit,
// reset) are reconciled by `sync`.
import type { ChatId, ChatSnapshot, HostEvent } from "../api/contract.js";
import type { ChatStore } from "../store/index.js";

export interface ChatPersistence {
  /** Engine event listener. */
  onEvent(event: HostEvent): void;
  /** Saves a chat's messages as the engine holds them now; durable when it returns. */
  sync(snapshot: ChatSnapshot): void;
}

export function createChatPersistence(
  store: ChatStore,
  hooks: { snapshot(chatId: ChatId): ChatSnapshot | null; historyChanged(): void; failed(error: unknown): void },
): ChatPersistence {
  const ensure = (snapshot: ChatSnapshot) => {
    if (store.has(snapshot.id)) return false;
    store.createChat({ id: snapshot.id, title: snapshot.title, settings: snapshot.settings });
    return true;
  };

  const sync = (snapshot: ChatSnapshot) => {
    ensure(snapshot);
    if (store.isAnswering(snapshot.id)) return;
    store.syncMessages(snapshot.id, snapshot.messages);
  };

  const handle = (event: HostEvent) => {
    switch (event.type) {
      case "chat.snapshot": {
        ensure(event.chat);
        store.rename(event.chat.id, event.chat.title);
        store.updateChatSettings(event.chat.id, event.chat.settings);
        if (!store.isAnswering(event.chat.id)) store.syncMessages(event.chat.id, event.chat.messages);
        hooks.historyChanged();
        return;
      }
      case "chat.status":
        if (event.status === "generating" && store.has(event.chatId) && !store.isAnswering(event.chatId)) store.beginAnswer(event.chatId);
        return;
      case "chat.delta":
        store.appendAnswerText(event.chatId, event.text);
        return;
      case "chat.done": {
        store.finishAnswer(event.chatId, event.message);
        const snapshot = hooks.snapshot(event.chatId);
        if (snapshot && store.has(event.chatId)) store.syncMessages(event.chatId, snapshot.messages);
        hooks.historyChanged();
        return;
      }
      case "chat.error": {
        // the engine keeps the partial text as an answer marked "error" (or nothing when none came)
        const snapshot = hooks.snapshot(event.chatId);
        const last = snapshot?.messages.at(-1);
        if (store.isAnswering(event.chatId)) {
          store.finishAnswer(event.chatId, last?.role === "assistant" ? last : { role: "assistant", text: "", stopReason: "error" });
        }
        if (snapshot && store.has(event.chatId)) store.syncMessages(event.chatId, snapshot.messages);
        hooks.historyChanged();
        return;
      }
      default:
        return;
    }
  };

  return {
    onEvent(event) {
      try {
        handle(event);
      } catch (error) {
        hooks.failed(error);
      }
    },
    sync(snapshot) {
      sync(snapshot);
    },
  };
}
