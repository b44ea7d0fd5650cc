// Chats slice: tabs, messages and streaming text. Pure reducers (unit-tested) + the slice shape.

import type {
  ChatId,
  ChatMessage,
  ChatSettings,
  ChatSnapshot,
  ChatStatus,
  HostEvent,
} from "../../../electron/api/contract.js";
import type { ApiErrorBody } from "../../../electron/api/api-error.js";

export interface ChatState extends ChatSnapshot {
  /** Assistant text streamed so far for the current generation (not yet in messages). */
  streaming: string;
  /** Number of delta events received for the current generation (a live "tokens" counter). */
  streamedDeltas: number;
  error?: ApiErrorBody;
}

export interface ChatsData {
  chats: Record<ChatId, ChatState>;
  /** Tab order. */
  order: ChatId[];
  activeId: ChatId | null;
}

export const emptyChats: ChatsData = { chats: {}, order: [], activeId: null };

export function chatFromSnapshot(snapshot: ChatSnapshot, previous?: ChatState): ChatState {
  const chat: ChatState = {
    id: snapshot.id,
    title: snapshot.title,
    status: snapshot.status,
    settings: snapshot.settings,
    messages: snapshot.messages,
    // A snapshot never carries the in-flight assistant text: keep what streamed so far.
    streaming: snapshot.status === "idle" ? "" : (previous?.streaming ?? ""),
    streamedDeltas: snapshot.status === "idle" ? 0 : (previous?.streamedDeltas ?? 0),
  };
  if (snapshot.queuePosition !== undefined) chat.queuePosition = snapshot.queuePosition;
  if (previous?.error && snapshot.status === "idle") chat.error = previous.error;
  return chat;
}

function updateChat(data: ChatsData, id: ChatId, fn: (chat: ChatState) => ChatState): ChatsData {
  const chat = data.chats[id];
  if (!chat) return data;
  const next = fn(chat);
  if (next === chat) return data;
  return { ...data, chats: { ...data.chats, [id]: next } };
}

/** Inserts or replaces a chat; new chats are appended to the tab order (and activated if none is). */
export function upsertSnapshot(data: ChatsData, snapshot: ChatSnapshot, activate = false): ChatsData {
  const previous = data.chats[snapshot.id];
  const chats = { ...data.chats, [snapshot.id]: chatFromSnapshot(snapshot, previous) };
  const order = previous ? data.order : [...data.order, snapshot.id];
  const activeId = activate || data.activeId === null ? snapshot.id : data.activeId;
  return { chats, order, activeId };
}

export function removeChat(data: ChatsData, id: ChatId): ChatsData {
  if (!data.chats[id]) return data;
  const chats = { ...data.chats };
  delete chats[id];
  const index = data.order.indexOf(id);
  const order = data.order.filter((c) => c !== id);
  let activeId = data.activeId;
  if (activeId === id) activeId = order[Math.min(index, order.length - 1)] ?? null;
  return { chats, order, activeId };
}

export function setActive(data: ChatsData, id: ChatId): ChatsData {
  return data.chats[id] && data.activeId !== id ? { ...data, activeId: id } : data;
}

/** Appends batched deltas (one animation frame's worth) to each chat's streaming text. */
export function applyDeltas(data: ChatsData, deltas: ReadonlyMap<ChatId, { text: string; count: number }>): ChatsData {
  if (deltas.size === 0) return data;
  let chats: Record<ChatId, ChatState> | null = null;
  for (const [id, delta] of deltas) {
    const chat = data.chats[id];
    if (!chat || delta.text.length === 0) continue;
    chats ??= { ...data.chats };
    chats[id] = {
      ...chat,
      streaming: chat.streaming + delta.text,
      streamedDeltas: chat.streamedDeltas + delta.count,
      status: chat.status === "idle" || chat.status === "queued" ? "generating" : chat.status,
    };
  }
  return chats ? { ...data, chats } : data;
}

/** Applies one host event (chat.delta goes through applyDeltas, batched). */
export function applyChatEvent(data: ChatsData, event: HostEvent): ChatsData {
  switch (event.type) {
    case "chat.delta":
      return applyDeltas(data, new Map([[event.chatId, { text: event.text, count: 1 }]]));
    case "chat.status":
      return updateChat(data, event.chatId, (chat) => {
        if (chat.status === event.status && chat.queuePosition === event.queuePosition) return chat;
        const next: ChatState = { ...chat, status: event.status };
        if (event.queuePosition !== undefined && event.status === "queued") next.queuePosition = event.queuePosition;
        else delete next.queuePosition;
        if (event.status !== "idle") delete next.error;
        return next;
      });
    case "chat.done":
      return updateChat(data, event.chatId, (chat) => {
        const next: ChatState = {
          ...chat,
          messages: [...chat.messages, event.message],
          streaming: "",
          streamedDeltas: 0,
          status: chat.status === "generating" ? "idle" : chat.status,
        };
        delete next.queuePosition;
        return next;
      });
    case "chat.error":
      return updateChat(data, event.chatId, (chat) => {
        const messages =
          chat.streaming.length > 0
            ? [...chat.messages, { role: "assistant" as const, text: chat.streaming, stopReason: "error" as const }]
            : chat.messages;
        const next: ChatState = {
          ...chat,
          messages,
          streaming: "",
          streamedDeltas: 0,
          status: "idle",
          error: { code: event.code, message: event.message },
        };
        delete next.queuePosition;
        return next;
      });
    case "chat.snapshot":
      return upsertSnapshot(data, event.chat);
    case "chat.closed":
      return removeChat(data, event.chatId);
    case "model.changed":
      // A new model means a new engine: conversations keep their text, nothing is generating.
      return data;
    default:
      return data;
  }
}

/** Optimistic: the user message appears at once; the host's snapshot (if any) replaces it. */
export function addUserMessage(data: ChatsData, id: ChatId, text: string): ChatsData {
  return updateChat(data, id, (chat) => {
    const next: ChatState = { ...chat, messages: [...chat.messages, { role: "user", text }], streaming: "", streamedDeltas: 0 };
    delete next.error;
    return next;
  });
}

/** Optimistic regenerate: drop the last assistant answer (it will be generated again). */
export function dropLastAssistant(data: ChatsData, id: ChatId): ChatsData {
  return updateChat(data, id, (chat) => {
    const last = chat.messages.at(-1);
    const next: ChatState = { ...chat, streaming: "", streamedDeltas: 0 };
    delete next.error;
    if (last?.role === "assistant") next.messages = chat.messages.slice(0, -1);
    return next;
  });
}

/** Optimistic edit-and-resend: replace the last user message and drop everything after it. */
export function replaceLastUser(data: ChatsData, id: ChatId, text: string): ChatsData {
  return updateChat(data, id, (chat) => {
    let i = chat.messages.length - 1;
    while (i >= 0 && chat.messages[i]!.role !== "user") i--;
    if (i < 0) return chat;
    const next: ChatState = {
      ...chat,
      messages: [...chat.messages.slice(0, i), { role: "user", text }],
      streaming: "",
      streamedDeltas: 0,
    };
    delete next.error;
    return next;
  });
}

export function setChatError(data: ChatsData, id: ChatId, error: ApiErrorBody | undefined): ChatsData {
  return updateChat(data, id, (chat) => {
    const next = { ...chat };
    if (error) next.error = error;
    else delete next.error;
    return next;
  });
}

export function patchChat(data: ChatsData, id: ChatId, patch: Partial<Pick<ChatState, "title" | "settings" | "status">>): ChatsData {
  return updateChat(data, id, (chat) => ({ ...chat, ...patch }));
}

/** Replaces everything from a listChats() result, keeping streaming text of chats still generating. */
export function replaceAll(data: ChatsData, snapshots: ChatSnapshot[]): ChatsData {
  const chats: Record<ChatId, ChatState> = {};
  for (const s of snapshots) chats[s.id] = chatFromSnapshot(s, data.chats[s.id]);
  const known = data.order.filter((id) => chats[id]);
  const order = [...known, ...snapshots.map((s) => s.id).filter((id) => !known.includes(id))];
  const activeId = data.activeId && chats[data.activeId] ? data.activeId : (order[0] ?? null);
  return { chats, order, activeId };
}
