// The on-disk format of the chat store (docs/storage.md): every record and file, as zod schemas, so a
// hand-edited, torn or foreign line is recognised instead of trusted. Version 1.
import { z } from "zod";
import { aggressivenessSettingSchema, chatIdSchema, localApiSettingsSchema, samplingSchema } from "../api/schemas.js";

export const storeFormat = "lynx-chat-store";
export const storeVersion = 1;

/** Bounds: a record is one line; nothing we write comes near these, anything past them is not ours. */
const maxText = 10_000_000;
const text = z.string().max(maxText);
const time = z.number().finite().min(0);

const policySpecSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("off") }),
  z.object({ kind: z.literal("affinity"), alpha: z.number(), beta: z.number() }),
  z.object({ kind: z.literal("budget"), experts: z.number().int() }),
]);

export const answerStatsSchema = z.object({
  tokens: z.number().int().min(0),
  timeToFirstTokenMs: z.number().min(0),
  tokensPerSecond: z.number().min(0),
  durationMs: z.number().min(0),
  pruning: z.object({ setting: aggressivenessSettingSchema, effective: policySpecSchema, description: z.string().max(1000) }),
  decodeSteps: z.number().int().min(0),
  batchedSteps: z.number().int().min(0),
  expertsBefore: z.number().min(0),
  expertsAfter: z.number().min(0),
});

const stopReasonSchema = z.enum(["eos", "maxTokens", "aborted", "contextFull", "error"]);
const roleSchema = z.enum(["user", "assistant"]);

/** First line of a chat log. */
export const chatHeaderSchema = z.object({
  type: z.literal("chat"),
  v: z.number().int().min(1),
  id: chatIdSchema,
  title: z.string().max(1000),
  createdAt: time,
  systemPrompt: text,
  sampling: samplingSchema,
});

/** A whole message (user messages, and answers after compaction). */
const messageRecord = z.object({
  type: z.literal("message"),
  at: time,
  role: roleSchema,
  text,
  stopReason: stopReasonSchema.optional(),
  stats: answerStatsSchema.optional(),
  interrupted: z.boolean().optional(),
});

/** An answer starts streaming; its text follows in `text` records until `end`. */
const answerRecord = z.object({ type: z.literal("answer"), at: time });
const textRecord = z.object({ type: z.literal("text"), at: time, text });
const endRecord = z.object({
  type: z.literal("end"),
  at: time,
  stopReason: stopReasonSchema.optional(),
  stats: answerStatsSchema.optional(),
  interrupted: z.boolean().optional(),
  /** Present only when the final text differs from the streamed text (it replaces it). */
  text: text.optional(),
  /** The answer's own time stamp as the engine gave it (else the `answer` record's). */
  createdAt: time.optional(),
});
/** Keep the first `count` messages (regenerate, edit and resend, reset). */
const truncateRecord = z.object({ type: z.literal("truncate"), at: time, count: z.number().int().min(0) });
const titleRecord = z.object({ type: z.literal("title"), at: time, title: z.string().max(1000) });
const settingsRecord = z.object({ type: z.literal("settings"), at: time, systemPrompt: text.optional(), sampling: samplingSchema.optional() });

export const chatRecordSchema = z.discriminatedUnion("type", [
  messageRecord,
  answerRecord,
  textRecord,
  endRecord,
  truncateRecord,
  titleRecord,
  settingsRecord,
]);

export type ChatHeader = z.infer<typeof chatHeaderSchema>;
export type ChatRecord = z.infer<typeof chatRecordSchema>;

/** store.json: the folder's format marker, written once. */
export const storeMarkerSchema = z.object({ format: z.literal(storeFormat), version: z.number().int().min(1) });

export const appSettingsSchema = z.object({
  pruning: aggressivenessSettingSchema,
  maxChats: z.number().int().min(1).max(16).nullable(),
  threads: z.number().int().min(1).max(1024).nullable(),
  theme: z.enum(["light", "dark", "system"]),
  lastModel: z.string().max(4096).nullable(),
  recentModels: z.array(z.string().max(4096)).max(20),
  localApi: localApiSettingsSchema.optional(),
  // added with the model library; older state files have none
  modelsDir: z.string().max(4096).nullable().default(null),
});

/** state.json: open tabs and app settings, replaced atomically on every change. */
export const stateFileSchema = z.object({
  version: z.number().int().min(1),
  tabs: z.array(chatIdSchema).max(1000),
  settings: appSettingsSchema,
});

/** index.json: one line per chat for tools and for noticing a lost log; rebuilt from the logs when missing. */
export const indexFileSchema = z.object({
  version: z.number().int().min(1),
  chats: z
    .array(
      z.object({
        id: chatIdSchema,
        title: z.string().max(1000),
        createdAt: time,
        updatedAt: time,
        messages: z.number().int().min(0),
      }),
    )
    .max(1_000_000),
});

export type StateFile = z.infer<typeof stateFileSchema>;
export type IndexFile = z.infer<typeof indexFileSchema>;
