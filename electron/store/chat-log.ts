// One chat's append-only log (chats/<id>.jsonl): replaying it into the chat, finding what a crash tore,
// and writing the compacted form.
import type { ChatMessage, ChatSettings, SamplingOptions } from "../api/contract.js";
import { defaultSampling } from "../api/contract.js";
import { chatHeaderSchema, chatRecordSchema, storeVersion, type ChatHeader, type ChatRecord } from "./format.js";

export interface ChatData {
  id: string;
  title: string;
  createdAt: number;
  updatedAt: number;
  settings: ChatSettings;
  /** Finished messages (an answer that is still streaming is in `open`). */
  messages: ChatMessage[];
  /** The answer being streamed: its start time and the text saved so far. */
  open: { createdAt: number; text: string } | null;
}

export interface ReplayResult {
  chat: ChatData;
  /** Records applied (the header included), to decide when a compaction pays. */
  records: number;
  /** Byte length of the file up to the end of its last valid line. */
  goodLength: number;
  /** Invalid bytes after the last valid line (a torn write, garbage): cut off by the repair. */
  badTail: Buffer | null;
  /** Invalid lines before the last valid one: skipped, and dropped by a compaction. */
  badLines: Buffer[];
  /** The last valid line lacks its newline (a crash between the record and its "\n"). */
  missingNewline: boolean;
  /** The header was unreadable and was rebuilt from the file name. */
  headerRebuilt: boolean;
  /** The answer was still streaming when the log ended: a crash or kill mid-answer. */
  interrupted: boolean;
}

export class FutureVersionError extends Error {
  constructor(readonly version: number) {
    super(`written by a newer Lynx Chat (chat log version ${version}; this build reads up to ${storeVersion})`);
  }
}

const newline = 0x0a;

function parseLine(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
}

function finishOpen(chat: ChatData, fields: Partial<ChatMessage> & { text?: string }) {
  const open = chat.open;
  if (!open) return;
  chat.open = null;
  const text = fields.text ?? open.text;
  // an answer without text is no message (the engine keeps none either)
  if (text.length === 0) return;
  const message: ChatMessage = { role: "assistant", text, createdAt: fields.createdAt ?? open.createdAt };
  if (fields.stopReason) message.stopReason = fields.stopReason;
  if (fields.stats) message.stats = fields.stats;
  if (fields.interrupted) message.interrupted = true;
  chat.messages.push(message);
}

function applyRecord(chat: ChatData, record: ChatRecord) {
  chat.updatedAt = Math.max(chat.updatedAt, record.at);
  switch (record.type) {
    case "message": {
      finishOpen(chat, { interrupted: true });
      const message: ChatMessage = { role: record.role, text: record.text, createdAt: record.at };
      if (record.stopReason) message.stopReason = record.stopReason;
      if (record.stats) message.stats = record.stats;
      if (record.interrupted) message.interrupted = true;
      chat.messages.push(message);
      return;
    }
    case "answer":
      finishOpen(chat, { interrupted: true });
      chat.open = { createdAt: record.at, text: "" };
      return;
    case "text":
      if (chat.open) chat.open.text += record.text;
      return;
    case "end": {
      const fields: Partial<ChatMessage> = {};
      if (record.stopReason) fields.stopReason = record.stopReason;
      if (record.stats) fields.stats = record.stats;
      if (record.interrupted) fields.interrupted = true;
      if (record.text !== undefined) fields.text = record.text;
      if (record.createdAt !== undefined) fields.createdAt = record.createdAt;
      finishOpen(chat, fields);
      return;
    }
    case "truncate":
      finishOpen(chat, { interrupted: true });
      if (record.count < chat.messages.length) chat.messages.length = record.count;
      return;
    case "title":
      chat.title = record.title;
      return;
    case "settings":
      if (record.systemPrompt !== undefined) chat.settings.systemPrompt = record.systemPrompt;
      if (record.sampling) chat.settings.sampling = record.sampling as SamplingOptions;
      return;
  }
}

function chatFromHeader(header: ChatHeader): ChatData {
  return {
    id: header.id,
    title: header.title,
    createdAt: header.createdAt,
    updatedAt: header.createdAt,
    settings: { systemPrompt: header.systemPrompt, sampling: { ...(header.sampling as SamplingOptions) } },
    messages: [],
    open: null,
  };
}

/**
 * Replays a chat log. Never throws on damage: invalid lines are skipped and reported, so everything
 * readable survives. Throws FutureVersionError for a log a newer build wrote (it is left untouched).
 */
export function replayChatLog(bytes: Buffer, idFromName: string, fallbackTime: number): ReplayResult {
  let chat: ChatData | null = null;
  let records = 0;
  let goodLength = 0;
  let headerRebuilt = false;
  let missingNewline = false;
  const badLines: Buffer[] = [];
  let pendingBad: Buffer[] = [];

  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(newline, start);
    const complete = end >= 0;
    if (!complete) end = bytes.length;
    const line = bytes.subarray(start, end);
    const next = complete ? end + 1 : end;
    const value = line.length > 0 ? parseLine(line) : undefined;

    let valid = false;
    if (value !== undefined) {
      if (chat === null) {
        const header = chatHeaderSchema.safeParse(value);
        if (header.success) {
          if (header.data.v > storeVersion) throw new FutureVersionError(header.data.v);
          // a header naming another chat than its file is not trusted: the file name wins
          chat = chatFromHeader({ ...header.data, id: idFromName });
          valid = true;
        }
      }
      if (!valid) {
        const record = chatRecordSchema.safeParse(value);
        if (record.success) {
          if (chat === null) {
            // the header is gone but records follow: keep them under a rebuilt header
            chat = chatFromHeader({
              type: "chat",
              v: storeVersion,
              id: idFromName,
              title: "Recovered chat",
              createdAt: record.data.at,
              systemPrompt: "",
              sampling: { ...defaultSampling },
            });
            headerRebuilt = true;
          }
          applyRecord(chat, record.data);
          valid = true;
        }
      }
    }

    if (valid) {
      records++;
      badLines.push(...pendingBad);
      pendingBad = [];
      goodLength = next;
      missingNewline = !complete;
    } else if (line.length > 0 || complete) {
      // an empty line is harmless but not ours: treat it as bad so a repair leaves a clean file
      pendingBad.push(bytes.subarray(start, next));
    }
    start = next;
  }

  if (chat === null) {
    chat = chatFromHeader({
      type: "chat",
      v: storeVersion,
      id: idFromName,
      title: "Recovered chat",
      createdAt: fallbackTime,
      systemPrompt: "",
      sampling: { ...defaultSampling },
    });
    headerRebuilt = bytes.length > 0;
  }
  const interrupted = chat.open !== null;
  return {
    chat,
    records,
    goodLength,
    badTail: goodLength < bytes.length ? bytes.subarray(goodLength) : null,
    badLines,
    missingNewline,
    headerRebuilt,
    interrupted,
  };
}

export function headerLine(chat: ChatData): string {
  const header: ChatHeader = {
    type: "chat",
    v: storeVersion,
    id: chat.id,
    title: chat.title,
    createdAt: chat.createdAt,
    systemPrompt: chat.settings.systemPrompt,
    sampling: chat.settings.sampling,
  };
  return JSON.stringify(header) + "\n";
}

export function recordLine(record: ChatRecord): string {
  return JSON.stringify(record) + "\n";
}

export function messageRecord(message: ChatMessage, fallbackTime: number): ChatRecord {
  const record: ChatRecord = { type: "message", at: message.createdAt ?? fallbackTime, role: message.role, text: message.text };
  if (message.stopReason) record.stopReason = message.stopReason;
  if (message.stats) record.stats = message.stats;
  if (message.interrupted) record.interrupted = true;
  return record;
}

/** The compacted log: the header with the current title and settings, then one record per message. */
export function compactedLog(chat: ChatData): { text: string; records: number } {
  let text = headerLine(chat);
  for (const message of chat.messages) text += recordLine(messageRecord(message, chat.updatedAt));
  let records = 1 + chat.messages.length;
  if (chat.open) {
    text += recordLine({ type: "answer", at: chat.open.createdAt });
    if (chat.open.text) text += recordLine({ type: "text", at: chat.updatedAt, text: chat.open.text });
    records += chat.open.text ? 2 : 1;
  }
  return { text, records };
}
