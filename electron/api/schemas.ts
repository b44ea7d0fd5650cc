// zod schemas for the arguments of every LynxApi method. The web server and the Electron IPC handlers
// both validate untrusted input with these before anything reaches the host.

import { z } from "zod";
import { ApiCallError, type ApiErrorBody, toApiError } from "./api-error.js";
import {
  maxChatsLimit,
  maxMessageLength,
  type AggressivenessSetting,
  type AppSettingsUpdate,
  type ChatSettings,
  type ExportFormat,
  type FitRequest,
  type ModelSettingsUpdate,
  type HistoryQuery,
  type LocalApiSettings,
  type LynxApi,
  type PruneCheckOptions,
  type SamplingOptions,
} from "./contract.js";

export const maxTitleLength = 200;
/** Upper bound for a budget cap; the host clamps it to the model's expert count. */
export const maxBudgetExperts = 4096;

export const chatIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, "chat id has invalid characters");

export const messageTextSchema = z
  .string()
  .max(maxMessageLength, `message longer than ${maxMessageLength} characters`)
  .refine((s) => s.trim().length > 0, "message is empty");

export const titleSchema = z
  .string()
  .max(maxTitleLength)
  .refine((s) => s.trim().length > 0, "title is empty");

export const systemPromptSchema = z.string().max(maxMessageLength);

export const samplingSchema = z
  .object({
    temperature: z.number().min(0).max(5),
    topK: z.number().int().min(0).max(1000),
    topP: z.number().min(0).max(1),
    minP: z.number().min(0).max(1),
    repeatPenalty: z.number().min(0.5).max(3),
    maxTokens: z.number().int().min(1).max(131072),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
  })
  .strict() satisfies z.ZodType<SamplingOptions>;

export const partialChatSettingsSchema = z
  .object({
    systemPrompt: systemPromptSchema.optional(),
    sampling: samplingSchema.optional(),
  })
  .strict() satisfies z.ZodType<Partial<ChatSettings>>;

export const openChatOptionsSchema = z
  .object({
    systemPrompt: systemPromptSchema.optional(),
    sampling: samplingSchema.optional(),
    title: titleSchema.optional(),
  })
  .strict();

export const aggressivenessSettingSchema = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("preset"), preset: z.enum(["off", "gentle", "balanced", "aggressive"]) }).strict(),
  z.object({ mode: z.literal("slider"), value: z.number().min(0).max(1) }).strict(),
  z.object({ mode: z.literal("budget"), experts: z.number().int().min(1).max(maxBudgetExperts) }).strict(),
  z.object({ mode: z.literal("auto") }).strict(),
]) satisfies z.ZodType<AggressivenessSetting>;

export const maxSearchLength = 200;
export const maxHistoryLimit = 1000;

export const historyQuerySchema = z
  .object({
    search: z.string().max(maxSearchLength).optional(),
    limit: z.number().int().min(1).max(maxHistoryLimit).optional(),
  })
  .strict() satisfies z.ZodType<HistoryQuery>;

export const exportFormatSchema = z.enum(["markdown", "json"]) satisfies z.ZodType<ExportFormat>;

export const appSettingsUpdateSchema = z
  .object({
    maxChats: z.number().int().min(1).max(maxChatsLimit).nullable().optional(),
    threads: z.number().int().min(1).max(1024).nullable().optional(),
    theme: z.enum(["light", "dark", "system"]).optional(),
    modelsDir: z.string().min(1).max(4096).nullable().optional(),
  })
  .strict() satisfies z.ZodType<Partial<AppSettingsUpdate>>;

export const pruneCheckOptionsSchema = z.object({ quick: z.boolean().optional() }).strict() satisfies z.ZodType<PruneCheckOptions>;
/** An address to bind: an IP literal or "localhost" (no names to resolve, nothing that is not an address). */
export const bindHostSchema = z.union([z.literal("localhost"), z.ipv4(), z.ipv6()]);

/** Printable ASCII without spaces: it travels in an HTTP header. */
export const apiKeySchema = z
  .string()
  .min(8, "an API key has at least 8 characters")
  .max(256)
  .regex(/^[\x21-\x7e]+$/, "an API key is printable ASCII without spaces");

export const localApiSettingsSchema = z
  .object({
    enabled: z.boolean(),
    host: bindHostSchema,
    port: z.number().int().min(0).max(65535),
    apiKey: apiKeySchema.nullable(),
  })
  .strict() satisfies z.ZodType<LocalApiSettings>;
/** A model file path from a page: bounded; the host also requires it to be one the library lists. */
export const modelPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((s) => !s.includes("\0"), "path has a NUL byte");

export const fitRequestSchema = z
  .object({
    contextSize: z.number().int().min(64).max(1 << 24).optional(),
    maxChats: z.number().int().min(1).max(maxChatsLimit).optional(),
  })
  .strict() satisfies z.ZodType<FitRequest>;

export const loadModelOptionsSchema = z.object({ force: z.boolean().optional() }).strict();

export const modelSettingsUpdateSchema = z
  .object({
    contextSize: z.number().int().min(64).max(1 << 24).nullable().optional(),
    maxChats: z.number().int().min(1).max(maxChatsLimit).nullable().optional(),
    threads: z.number().int().min(1).max(1024).nullable().optional(),
    defaultPruning: aggressivenessSettingSchema.nullable().optional(),
  })
  .strict() satisfies z.ZodType<ModelSettingsUpdate>;

/** http(s) URL or hf: URI; the download manager checks the form itself. */
export const downloadUriSchema = z.string().min(1).max(2048);
export const downloadIdSchema = z.string().regex(/^[0-9a-f-]{36}$/, "not a download id");

/** Argument tuples of every request/response method of LynxApi (subscribe is a stream, not a call). */
export const apiArgSchemas = {
  getModel: z.tuple([]),
  listChats: z.tuple([]),
  openChat: z.tuple([openChatOptionsSchema.optional()]),
  renameChat: z.tuple([chatIdSchema, titleSchema]),
  updateChatSettings: z.tuple([chatIdSchema, partialChatSettingsSchema]),
  send: z.tuple([chatIdSchema, messageTextSchema]),
  stop: z.tuple([chatIdSchema]),
  regenerate: z.tuple([chatIdSchema]),
  editLastAndResend: z.tuple([chatIdSchema, messageTextSchema]),
  resetChat: z.tuple([chatIdSchema]),
  closeChat: z.tuple([chatIdSchema]),
  getPolicy: z.tuple([]),
  setPolicy: z.tuple([aggressivenessSettingSchema]),
  openModelDialog: z.tuple([]),
  chooseModelsDir: z.tuple([]),
  listHistory: z.tuple([historyQuerySchema.optional()]),
  reopenChat: z.tuple([chatIdSchema]),
  deleteChat: z.tuple([chatIdSchema]),
  exportChat: z.tuple([chatIdSchema, exportFormatSchema]),
  getAppSettings: z.tuple([]),
  updateAppSettings: z.tuple([appSettingsUpdateSchema]),
  getStorageInfo: z.tuple([]),
  getPruneCheck: z.tuple([]),
  startPruneCheck: z.tuple([pruneCheckOptionsSchema.optional()]),
  cancelPruneCheck: z.tuple([]),
  getLocalApi: z.tuple([]),
  setLocalApi: z.tuple([localApiSettingsSchema.partial()]),
  listModels: z.tuple([]),
  estimateFit: z.tuple([modelPathSchema, fitRequestSchema.optional()]),
  loadModel: z.tuple([modelPathSchema, loadModelOptionsSchema.optional()]),
  updateModelSettings: z.tuple([modelPathSchema, modelSettingsUpdateSchema]),
  deleteModel: z.tuple([modelPathSchema]),
  startDownload: z.tuple([downloadUriSchema]),
  pauseDownload: z.tuple([downloadIdSchema]),
  resumeDownload: z.tuple([downloadIdSchema]),
  cancelDownload: z.tuple([downloadIdSchema]),
} as const;

export type ApiMethod = keyof typeof apiArgSchemas;
export const apiMethods = Object.keys(apiArgSchemas) as ApiMethod[];

/** Methods that open a native dialog in the Electron main process: web mode has none and answers 404. */
export const desktopOnlyMethods: ReadonlySet<ApiMethod> = new Set<ApiMethod>(["openModelDialog", "chooseModelsDir"]);

// Every schema must produce exactly the arguments the LynxApi method takes.
type CallableApi = Required<Omit<LynxApi, "subscribe">>;
type SchemaMatchesApi = {
  [M in ApiMethod]: z.output<(typeof apiArgSchemas)[M]> extends Parameters<CallableApi[M]> ? true : never;
};
const schemasMatchApi: SchemaMatchesApi = {
  getModel: true,
  listChats: true,
  openChat: true,
  renameChat: true,
  updateChatSettings: true,
  send: true,
  stop: true,
  regenerate: true,
  editLastAndResend: true,
  resetChat: true,
  closeChat: true,
  getPolicy: true,
  setPolicy: true,
  openModelDialog: true,
  chooseModelsDir: true,
  listHistory: true,
  reopenChat: true,
  deleteChat: true,
  exportChat: true,
  getAppSettings: true,
  updateAppSettings: true,
  getStorageInfo: true,
  getPruneCheck: true,
  startPruneCheck: true,
  cancelPruneCheck: true,
  getLocalApi: true,
  setLocalApi: true,
  listModels: true,
  estimateFit: true,
  loadModel: true,
  updateModelSettings: true,
  deleteModel: true,
  startDownload: true,
  pauseDownload: true,
  resumeDownload: true,
  cancelDownload: true,
};
void schemasMatchApi;
// And every callable method has a schema.
const everyMethodHasSchema: Exclude<keyof CallableApi, ApiMethod> extends never ? true : false = true;
void everyMethodHasSchema;

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiArgSchemas, name);
}

export type ValidationResult<M extends ApiMethod> =
  | { ok: true; args: z.output<(typeof apiArgSchemas)[M]> }
  | { ok: false; error: ApiErrorBody };

/** Validates raw (untrusted) arguments for a method. */
export function validateApiArgs<M extends ApiMethod>(method: M, rawArgs: unknown): ValidationResult<M> {
  const parsed = apiArgSchemas[method].safeParse(rawArgs ?? []);
  if (parsed.success) return { ok: true, args: parsed.data as z.output<(typeof apiArgSchemas)[M]> };
  const first = parsed.error.issues[0];
  const where = first && first.path.length > 0 ? ` (argument ${first.path.join(".")})` : "";
  return {
    ok: false,
    error: { code: "INVALID_INPUT", message: `${method}: ${first?.message ?? "invalid arguments"}${where}` },
  };
}

/**
 * Validates and dispatches one call to an API implementation. Used by the web server and the
 * Electron IPC handlers so both apply the same rules. Throws ApiCallError.
 */
export async function dispatchApiCall(api: LynxApi, method: string, rawArgs: unknown): Promise<unknown> {
  if (!isApiMethod(method)) throw new ApiCallError("INVALID_INPUT", `unknown method ${JSON.stringify(method)}`);
  const checked = validateApiArgs(method, rawArgs);
  if (!checked.ok) throw new ApiCallError(checked.error.code, checked.error.message);
  const fn = api[method] as ((...args: unknown[]) => Promise<unknown>) | undefined;
  if (typeof fn !== "function") throw new ApiCallError("INVALID_INPUT", `${method} is not available here`);
  try {
    return await fn.apply(api, checked.args as unknown[]);
  } catch (error) {
    const body = toApiError(error);
    throw new ApiCallError(body.code, body.message);
  }
}

export { maxChatsLimit, maxMessageLength };
export { ApiCallError, engineErrorCodes, toApiError, type ApiErrorBody } from "./api-error.js";
