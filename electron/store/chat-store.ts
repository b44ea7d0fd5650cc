// The chat store: a data folder of append-only chat logs (chats/<id>.jsonl), a small index, and a state file
// for tabs and settings (docs/storage.md). Opening it takes the folder's lock, repairs what a crash tore and
// loads every chat; each write that must survive a crash is fsync'd before the call returns.
import fs from "node:fs";
import path from "node:path";
import {
  defaultSampling,
  type AppSettings,
  type ChatId,
  type ChatMessage,
  type ChatSettings,
  type StoreNotice,
} from "../api/contract.js";
import { chatIdSchema } from "../api/schemas.js";
import { compactedLog, FutureVersionError, headerLine, messageRecord, recordLine, replayChatLog, type ChatData } from "./chat-log.js";
import { AppendFile, fsyncDir, readJsonFile, writeFileAtomic, type SlowDisk } from "./durable-fs.js";
import { lockFolder, type FolderLock } from "./folder-lock.js";
import {
  appSettingsSchema,
  indexFileSchema,
  stateFileSchema,
  storeFormat,
  storeMarkerSchema,
  storeVersion,
  type ChatRecord,
  type IndexFile,
  type StateFile,
} from "./format.js";
import { StoreError } from "./store-error.js";

export interface StoredChatSummary {
  id: ChatId;
  title: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  preview: string;
}

export interface StoredChat {
  id: ChatId;
  title: string;
  createdAt: number;
  updatedAt: number;
  settings: ChatSettings;
  messages: ChatMessage[];
}

export interface ChatStoreOptions {
  /** Streaming answers are saved (fsync'd) at least this often, in ms (default 500). */
  checkpointMs?: number;
  /** Compact a log once it holds this many records more than its messages (default 256). */
  compactSlack?: number;
  /** Where repair notes go besides `notices` (default console.warn). */
  log?: (message: string) => void;
  now?: () => number;
  /** The kill test only: appends reach the file in pieces, with pauses (durable-fs.ts, SlowDisk). */
  slowDisk?: SlowDisk;
  /** Called after each checkpoint with the chats whose streamed text it made durable (tests). */
  onCheckpoint?: (chatIds: ChatId[]) => void;
}

export interface ChatStore {
  readonly dir: string;
  readonly formatVersion: number;
  /** What opening repaired or skipped. */
  readonly notices: readonly StoreNotice[];
  has(id: ChatId): boolean;
  get(id: ChatId): StoredChat | null;
  /** Newest first; `search` matches the title and every message's text, case-insensitively. */
  list(query?: { search?: string; limit?: number }): StoredChatSummary[];
  /** Durable when it returns. */
  createChat(chat: { id: ChatId; title: string; settings: ChatSettings; createdAt?: number }): void;
  rename(id: ChatId, title: string): void;
  updateChatSettings(id: ChatId, settings: Partial<ChatSettings>): void;
  /** Makes the stored messages equal to `messages` (truncating where they differ); durable when it returns. */
  syncMessages(id: ChatId, messages: readonly ChatMessage[]): void;
  /** An answer starts streaming: durable when it returns. */
  beginAnswer(id: ChatId): void;
  /** Streamed text: buffered, saved by the next checkpoint (at most checkpointMs later). */
  appendAnswerText(id: ChatId, text: string): void;
  /** The answer ended: its final text, stop reason and statistics; durable when it returns. */
  finishAnswer(id: ChatId, message: ChatMessage): void;
  /** True while an answer of this chat is streaming. */
  isAnswering(id: ChatId): boolean;
  /** Saves every streaming answer's buffered text now. */
  checkpoint(): void;
  deleteChat(id: ChatId): void;
  compact(id: ChatId): void;
  tabs(): ChatId[];
  setTabs(ids: readonly ChatId[]): void;
  settings(): AppSettings;
  updateSettings(patch: Partial<AppSettings>): AppSettings;
  /** Flushes, writes the index and releases the lock. */
  close(): void;
}

export const defaultAppSettings: AppSettings = {
  pruning: { mode: "preset", preset: "off" },
  maxChats: null,
  threads: null,
  theme: "system",
  lastModel: null,
  recentModels: [],
  modelsDir: null,
};

interface LiveChat {
  data: ChatData;
  file: AppendFile;
  records: number;
  /** Streamed text not yet written. */
  pending: string;
}

const logSuffix = ".jsonl";

export function openChatStore(dir: string, options: ChatStoreOptions = {}): ChatStore {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((m: string) => console.warn(`[chat store] ${m}`));
  const checkpointMs = options.checkpointMs ?? 500;
  const compactSlack = options.compactSlack ?? 256;
  const root = path.resolve(dir);
  const chatsDir = path.join(root, "chats");
  const repairsDir = path.join(root, "repairs");
  const markerFile = path.join(root, "store.json");
  const stateFile = path.join(root, "state.json");
  const indexFile = path.join(root, "index.json");

  try {
    fs.mkdirSync(chatsDir, { recursive: true });
  } catch (err) {
    throw new StoreError("STORE_IO", `cannot create the data folder ${root}: ${(err as Error).message}`, { cause: err });
  }
  const lock: FolderLock = lockFolder(root);

  let indexDirty = false;
  let indexTimer: NodeJS.Timeout | null = null;
  let checkpointTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const notices: StoreNotice[] = [];
  const note = (notice: StoreNotice) => {
    notices.push(notice);
    log(notice.message);
  };

  try {
    checkMarker();
  } catch (err) {
    lock.release();
    throw err;
  }

  /** Keeps bytes a repair removes, so nothing that was on disk is destroyed. */
  const keepRemoved = (id: string, what: string, bytes: Buffer) => {
    fs.mkdirSync(repairsDir, { recursive: true });
    const file = path.join(repairsDir, `${id}-${now()}-${what}.bin`);
    writeFileAtomic(file, bytes);
    return path.relative(root, file);
  };

  const chats = new Map<ChatId, LiveChat>();
  try {
    loadChats();
  } catch (err) {
    for (const chat of chats.values()) chat.file.close();
    lock.release();
    throw err;
  }
  const state = loadState();
  checkIndex();
  writeIndex();

  function checkMarker() {
    const marker = readJsonFile(markerFile);
    if (marker.ok) {
      const parsed = storeMarkerSchema.safeParse(marker.value);
      const version = (marker.value as { version?: unknown } | null)?.version;
      if (parsed.success && parsed.data.version > storeVersion) {
        throw new StoreError(
          "STORE_UNSUPPORTED_VERSION",
          `the data folder ${root} was written by a newer Lynx Chat (store version ${parsed.data.version}); this build reads version ${storeVersion}. Nothing was changed: use the newer version, or another --data-dir.`,
        );
      }
      if (parsed.success) return;
      if (typeof version === "number" && version > storeVersion) {
        throw new StoreError("STORE_UNSUPPORTED_VERSION", `the data folder ${root} has store version ${version}; this build reads ${storeVersion}. Nothing was changed.`);
      }
      note({ kind: "rebuilt", message: `store.json was not a Lynx Chat store marker: rewritten (version ${storeVersion})` });
    } else if (!marker.missing) {
      note({ kind: "rebuilt", message: `store.json was unreadable (${marker.error}): rewritten` });
    }
    writeFileAtomic(markerFile, JSON.stringify({ format: storeFormat, version: storeVersion }) + "\n");
  }

  function loadChats() {
    for (const name of fs.readdirSync(chatsDir)) {
      const full = path.join(chatsDir, name);
      if (name.endsWith(".tmp")) {
        // a compaction that did not reach its rename: the log it was replacing is intact
        fs.rmSync(full, { force: true });
        continue;
      }
      if (!name.endsWith(logSuffix)) continue;
      const id = name.slice(0, -logSuffix.length);
      if (!chatIdSchema.safeParse(id).success) continue;
      loadChat(id, full);
    }
  }

  function loadChat(id: string, file: string) {
    const bytes = fs.readFileSync(file);
    if (bytes.length === 0) {
      // created but killed before its header was written: nothing was ever acknowledged in it
      fs.rmSync(file, { force: true });
      fsyncDir(chatsDir);
      return;
    }
    let replay;
    try {
      replay = replayChatLog(bytes, id, fs.statSync(file).mtimeMs);
    } catch (err) {
      if (err instanceof FutureVersionError) {
        note({ kind: "skipped", chatId: id, message: `chat ${id} was ${err.message}: left untouched and not shown` });
        return;
      }
      throw err;
    }
    const parts: string[] = [];
    let needsCompaction = replay.headerRebuilt || replay.badLines.length > 0;
    if (replay.badTail) {
      const kept = keepRemoved(id, "tail", replay.badTail);
      fs.truncateSync(file, replay.goodLength);
      parts.push(`cut ${replay.badTail.length} unreadable bytes off its end (kept in ${kept})`);
    }
    if (replay.badLines.length > 0) {
      const kept = keepRemoved(id, "lines", Buffer.concat(replay.badLines));
      parts.push(`skipped ${replay.badLines.length} unreadable line(s) (kept in ${kept})`);
    }
    if (replay.headerRebuilt) parts.push("its header was unreadable and was rebuilt");
    const live: LiveChat = { data: replay.chat, file: new AppendFile(file, options.slowDisk), records: replay.records, pending: "" };
    if (replay.missingNewline) live.file.append("\n");
    chats.set(id, live);
    if (replay.interrupted) {
      // the process ended mid-answer: close the answer, keeping its saved text, marked interrupted
      finishOpenAnswer(live, { interrupted: true });
    }
    if (needsCompaction) compactChat(live);
    if (parts.length > 0) note({ kind: "repaired", chatId: id, message: `chat "${replay.chat.title}" (${id}): ${parts.join("; ")}` });
  }

  function loadState(): StateFile {
    const raw = readJsonFile(stateFile);
    const fresh: StateFile = { version: storeVersion, tabs: [], settings: { ...defaultAppSettings } };
    if (!raw.ok) {
      if (!raw.missing) note({ kind: "rebuilt", message: `state.json was unreadable (${raw.error}): tabs and settings start from defaults` });
      return fresh;
    }
    const parsed = stateFileSchema.safeParse(raw.value);
    if (!parsed.success) {
      // keep what parses: settings field by field
      const settings = appSettingsSchema.partial().safeParse((raw.value as { settings?: unknown } | null)?.settings);
      note({ kind: "rebuilt", message: "state.json did not match its schema: tabs and unreadable settings reset to defaults" });
      return { ...fresh, settings: { ...defaultAppSettings, ...(settings.success ? stripUndefined(settings.data) : {}) } };
    }
    if (parsed.data.version > storeVersion) {
      note({ kind: "skipped", message: `state.json has version ${parsed.data.version}; read as version ${storeVersion}` });
    }
    return { version: storeVersion, tabs: parsed.data.tabs.filter((id) => chats.has(id)), settings: parsed.data.settings as AppSettings };
  }

  function checkIndex() {
    const raw = readJsonFile(indexFile);
    if (!raw.ok) {
      if (!raw.missing) note({ kind: "rebuilt", message: `index.json was unreadable (${raw.error}): rebuilt from ${chats.size} chat logs` });
      else if (chats.size > 0) note({ kind: "rebuilt", message: `index.json was missing: rebuilt from ${chats.size} chat logs` });
      return;
    }
    const parsed = indexFileSchema.safeParse(raw.value);
    if (!parsed.success) {
      note({ kind: "rebuilt", message: `index.json did not match its schema: rebuilt from ${chats.size} chat logs` });
      return;
    }
    for (const entry of parsed.data.chats) {
      if (chats.has(entry.id) || fs.existsSync(path.join(chatsDir, entry.id + logSuffix))) continue;
      note({ kind: "skipped", chatId: entry.id, message: `chat "${entry.title}" (${entry.id}) is in index.json but its log chats/${entry.id}${logSuffix} is missing` });
    }
  }

  function indexContent(): IndexFile {
    return {
      version: storeVersion,
      chats: [...chats.values()].map(({ data }) => ({
        id: data.id,
        title: data.title,
        createdAt: data.createdAt,
        updatedAt: data.updatedAt,
        messages: data.messages.length,
      })),
    };
  }

  function writeIndex() {
    indexDirty = false;
    writeFileAtomic(indexFile, JSON.stringify(indexContent(), null, 1) + "\n");
  }

  // the index is a convenience copy: written a second after changes, not on every token
  function touchIndex() {
    indexDirty = true;
    if (indexTimer || closed) return;
    indexTimer = setTimeout(() => {
      indexTimer = null;
      if (indexDirty && !closed) guard(() => writeIndex());
    }, 1000);
    indexTimer.unref?.();
  }

  function writeState() {
    writeFileAtomic(stateFile, JSON.stringify(state, null, 1) + "\n");
  }

  function guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError("STORE_IO", `saving to ${root} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  function live(id: ChatId): LiveChat {
    if (closed) throw new StoreError("STORE_IO", "the chat store is closed");
    const chat = chats.get(id);
    if (!chat) throw new StoreError("CHAT_NOT_FOUND", `no stored chat with id ${id}`);
    return chat;
  }

  function writeRecord(chat: LiveChat, record: ChatRecord, sync = true) {
    chat.file.append(recordLine(record), sync);
    chat.records++;
    chat.data.updatedAt = Math.max(chat.data.updatedAt, record.at);
    touchIndex();
  }

  function flushPending(chat: LiveChat, sync: boolean) {
    if (!chat.pending || !chat.data.open) return false;
    const text = chat.pending;
    chat.pending = "";
    writeRecord(chat, { type: "text", at: now(), text }, sync);
    chat.data.open.text += text;
    return true;
  }

  function compactChat(chat: LiveChat) {
    const { text, records } = compactedLog(chat.data);
    const file = chat.file.file;
    chat.file.close();
    try {
      // (a slow disk rewrites in larger pieces: a compaction should be slow enough to be killed, not take seconds)
      writeFileAtomic(file, text, options.slowDisk ? { ...options.slowDisk, chunkBytes: options.slowDisk.chunkBytes * 4 } : null);
    } finally {
      chat.file = new AppendFile(file, options.slowDisk);
    }
    chat.records = records;
  }

  function maybeCompact(chat: LiveChat) {
    if (chat.data.open) return;
    if (chat.records - (chat.data.messages.length + 1) > compactSlack) compactChat(chat);
  }

  function finishOpenAnswer(chat: LiveChat, message: Partial<ChatMessage>) {
    const open = chat.data.open;
    if (!open) return;
    flushPending(chat, false);
    const finalText = message.text ?? open.text;
    const record: ChatRecord = { type: "end", at: now() };
    if (message.stopReason) record.stopReason = message.stopReason;
    if (message.stats) record.stats = message.stats;
    if (message.interrupted) record.interrupted = true;
    if (finalText !== open.text) record.text = finalText;
    if (message.createdAt !== undefined) record.createdAt = message.createdAt;
    writeRecord(chat, record);
    chat.data.open = null;
    if (finalText.length > 0) {
      const stored: ChatMessage = { role: "assistant", text: finalText, createdAt: message.createdAt ?? open.createdAt };
      if (message.stopReason) stored.stopReason = message.stopReason;
      if (message.stats) stored.stats = message.stats;
      if (message.interrupted) stored.interrupted = true;
      chat.data.messages.push(stored);
    }
  }

  const sameMessage = (a: ChatMessage, b: ChatMessage) => a.role === b.role && a.text === b.text && (a.stopReason ?? null) === (b.stopReason ?? null);

  function copyChat(data: ChatData): StoredChat {
    return {
      id: data.id,
      title: data.title,
      createdAt: data.createdAt,
      updatedAt: data.updatedAt,
      settings: structuredClone(data.settings),
      messages: data.messages.map((m) => structuredClone(m)),
    };
  }

  const store: ChatStore = {
    dir: root,
    formatVersion: storeVersion,
    notices,
    has: (id) => chats.has(id),
    get(id) {
      const chat = chats.get(id);
      return chat ? copyChat(chat.data) : null;
    },
    list(query = {}) {
      const needle = query.search?.trim().toLowerCase() ?? "";
      const out: StoredChatSummary[] = [];
      for (const { data } of chats.values()) {
        if (needle && !data.title.toLowerCase().includes(needle) && !data.messages.some((m) => m.text.toLowerCase().includes(needle))) continue;
        const last = data.messages.at(-1);
        out.push({
          id: data.id,
          title: data.title,
          createdAt: data.createdAt,
          updatedAt: data.updatedAt,
          messageCount: data.messages.length,
          preview: last ? last.text.slice(0, 160) : "",
        });
      }
      out.sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1));
      return query.limit !== undefined ? out.slice(0, query.limit) : out;
    },
    createChat(init) {
      if (closed) throw new StoreError("STORE_IO", "the chat store is closed");
      if (chats.has(init.id)) throw new StoreError("INVALID_INPUT", `a chat with id ${init.id} is already stored`);
      if (!chatIdSchema.safeParse(init.id).success) throw new StoreError("INVALID_INPUT", `not a valid chat id: ${init.id}`);
      guard(() => {
        const createdAt = init.createdAt ?? now();
        const data: ChatData = {
          id: init.id,
          title: init.title,
          createdAt,
          updatedAt: createdAt,
          settings: { systemPrompt: init.settings.systemPrompt, sampling: { ...defaultSampling, ...init.settings.sampling } },
          messages: [],
          open: null,
        };
        const file = path.join(chatsDir, init.id + logSuffix);
        // header first into a temporary file, so a log never exists without its header
        writeFileAtomic(file, headerLine(data));
        chats.set(init.id, { data, file: new AppendFile(file, options.slowDisk), records: 1, pending: "" });
        touchIndex();
      });
    },
    rename(id, title) {
      const chat = live(id);
      if (chat.data.title === title) return;
      guard(() => writeRecord(chat, { type: "title", at: now(), title }));
      chat.data.title = title;
    },
    updateChatSettings(id, settings) {
      const chat = live(id);
      const record: ChatRecord = { type: "settings", at: now() };
      if (settings.systemPrompt !== undefined && settings.systemPrompt !== chat.data.settings.systemPrompt) record.systemPrompt = settings.systemPrompt;
      if (settings.sampling && JSON.stringify(settings.sampling) !== JSON.stringify(chat.data.settings.sampling)) record.sampling = settings.sampling;
      if (record.systemPrompt === undefined && record.sampling === undefined) return;
      guard(() => writeRecord(chat, record));
      if (record.systemPrompt !== undefined) chat.data.settings.systemPrompt = record.systemPrompt;
      if (record.sampling) chat.data.settings.sampling = { ...record.sampling };
    },
    syncMessages(id, messages) {
      const chat = live(id);
      guard(() => {
        if (chat.data.open) finishOpenAnswer(chat, { interrupted: true });
        const stored = chat.data.messages;
        let common = 0;
        while (common < stored.length && common < messages.length && sameMessage(stored[common]!, messages[common]!)) common++;
        if (common === stored.length && common === messages.length) return;
        if (common < stored.length) {
          writeRecord(chat, { type: "truncate", at: now(), count: common }, false);
          stored.length = common;
        }
        for (const message of messages.slice(common)) {
          const at = message.createdAt ?? now();
          writeRecord(chat, messageRecord({ ...message, createdAt: at }, at), false);
          stored.push({ ...structuredClone(message), createdAt: at });
        }
        chat.file.sync();
        maybeCompact(chat);
      });
    },
    beginAnswer(id) {
      const chat = live(id);
      guard(() => {
        if (chat.data.open) finishOpenAnswer(chat, { interrupted: true });
        const at = now();
        writeRecord(chat, { type: "answer", at });
        chat.data.open = { createdAt: at, text: "" };
      });
      startCheckpoints();
    },
    appendAnswerText(id, text) {
      const chat = chats.get(id);
      if (!chat || !chat.data.open || closed) return;
      chat.pending += text;
    },
    finishAnswer(id, message) {
      const chat = chats.get(id);
      if (!chat || !chat.data.open || closed) return;
      guard(() => {
        finishOpenAnswer(chat, message);
        maybeCompact(chat);
      });
    },
    isAnswering: (id) => chats.get(id)?.data.open != null,
    checkpoint() {
      if (closed) return;
      const saved: ChatId[] = [];
      guard(() => {
        for (const chat of chats.values()) if (flushPending(chat, true)) saved.push(chat.data.id);
      });
      if (saved.length > 0) options.onCheckpoint?.(saved);
    },
    deleteChat(id) {
      const chat = live(id);
      guard(() => {
        chat.file.close();
        chats.delete(id);
        fs.rmSync(chat.file.file, { force: true });
        fsyncDir(chatsDir);
        if (state.tabs.includes(id)) {
          state.tabs = state.tabs.filter((t) => t !== id);
          writeState();
        }
        writeIndex();
      });
    },
    compact(id) {
      const chat = live(id);
      guard(() => {
        flushPending(chat, false);
        compactChat(chat);
      });
    },
    tabs: () => [...state.tabs],
    setTabs(ids) {
      const next = ids.filter((id) => chats.has(id));
      if (next.length === state.tabs.length && next.every((id, i) => state.tabs[i] === id)) return;
      state.tabs = next;
      guard(() => writeState());
    },
    settings: () => structuredClone(state.settings),
    updateSettings(patch) {
      const merged = appSettingsSchema.safeParse({ ...state.settings, ...stripUndefined(patch) });
      if (!merged.success) throw new StoreError("INVALID_INPUT", `invalid settings: ${merged.error.issues[0]?.message ?? "rejected"}`);
      state.settings = merged.data as AppSettings;
      guard(() => writeState());
      return structuredClone(state.settings);
    },
    close() {
      if (closed) return;
      try {
        for (const chat of chats.values()) flushPending(chat, true);
        if (indexDirty) writeIndex();
      } finally {
        closed = true;
        if (indexTimer) clearTimeout(indexTimer);
        if (checkpointTimer) clearInterval(checkpointTimer);
        for (const chat of chats.values()) chat.file.close();
        lock.release();
      }
    },
  };

  function startCheckpoints() {
    if (checkpointTimer || closed) return;
    checkpointTimer = setInterval(() => {
      try {
        store.checkpoint();
      } catch (err) {
        log(`checkpoint failed: ${(err as Error).message}`);
      }
      if (![...chats.values()].some((c) => c.data.open)) {
        clearInterval(checkpointTimer!);
        checkpointTimer = null;
      }
    }, checkpointMs);
    checkpointTimer.unref?.();
  }

  return store;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
