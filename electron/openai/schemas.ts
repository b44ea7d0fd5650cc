// The request bodies the API accepts, validated with zod and bounded (sizes, counts, ranges). Fields OpenAI defines
// that we do not implement are refused with a clear message rather than silently ignored, except the few that
// only tune what a local server has no use for (user, store, metadata, ...), which are accepted and ignored.
import { z } from "zod";

export const limits = {
  bodyBytes: 4 * 1024 * 1024,
  messages: 1024,
  textChars: 1_000_000,
  stopStrings: 4,
  stopChars: 256,
  maxTokens: 32_768,
  schemaChars: 64 * 1024,
  tools: 128,
  toolCalls: 128,
} as const;

const text = z.string().max(limits.textChars);

const textPart = z.object({ type: z.literal("text"), text }).loose();

const content = z.union([text, z.array(textPart).max(256)]);

/** OpenAI's rule for function names: what a chat wrapper's call syntax and its name grammar can carry. */
const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a function name is 1-64 letters, digits, underscores or dashes");
const toolCallId = z.string().min(1).max(256);

const toolCall = z.object({
  id: toolCallId,
  type: z.literal("function"),
  function: z.object({ name: functionName, arguments: z.string().max(limits.textChars) }).loose(),
});

const message = z.discriminatedUnion("role", [
  z.object({ role: z.literal("system"), content, name: z.string().max(256).optional() }).loose(),
  z.object({ role: z.literal("developer"), content, name: z.string().max(256).optional() }).loose(),
  z.object({ role: z.literal("user"), content, name: z.string().max(256).optional() }).loose(),
  z
    .object({
      role: z.literal("assistant"),
      content: content.nullable().optional(),
      name: z.string().max(256).optional(),
      tool_calls: z.array(toolCall).max(limits.toolCalls).nullable().optional(),
    })
    .loose(),
  z.object({ role: z.literal("tool"), content, tool_call_id: toolCallId }).loose(),
]);

const stop = z.union([z.string().min(1).max(limits.stopChars), z.array(z.string().min(1).max(limits.stopChars)).max(limits.stopStrings)]).nullable().optional();

const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .refine((schema) => JSON.stringify(schema).length <= limits.schemaChars, `a JSON schema may take at most ${limits.schemaChars} characters`);

const responseFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    json_schema: z.object({
      name: z.string().min(1).max(64),
      description: z.string().max(4096).optional(),
      schema: jsonSchemaObject.optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const tool = z.object({
  type: z.literal("function"),
  function: z
    .object({
      name: functionName,
      description: z.string().max(4096).optional(),
      parameters: jsonSchemaObject.optional(),
      strict: z.boolean().nullable().optional(),
    })
    .loose(),
});

const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: functionName }) }),
]);

/** Sampling fields both endpoints share, with OpenAI's ranges. */
const sampling = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1).max(limits.maxTokens).nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  seed: z.number().int().min(-(2 ** 31)).max(2 ** 32 - 1).nullable().optional(),
  stop,
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  // accepted and ignored: they change nothing for a local model
  user: z.string().max(256).optional(),
  // extension, named as llama-server names it: never end at the end-of-generation token (fixed-length benchmarks)
  ignore_eos: z.boolean().nullable().optional(),
};

const notSupported = (field: string) => z.unknown().refine((v) => v === undefined || v === null, `${field} is not supported by this server`).optional();

export const chatCompletionRequest = z
  .object({
    ...sampling,
    messages: z.array(message).min(1).max(limits.messages),
    max_completion_tokens: z.number().int().min(1).max(limits.maxTokens).nullable().optional(),
    n: z.number().int().min(1).max(16).nullable().optional(),
    response_format: responseFormat.nullable().optional(),
    store: z.boolean().nullable().optional(),
    metadata: z.record(z.string(), z.string().max(512)).nullable().optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    tools: z.array(tool).max(limits.tools).nullable().optional(),
    tool_choice: toolChoice.nullable().optional(),
    functions: notSupported("functions"),
    logprobs: z.boolean().nullable().optional().refine((v) => !v, "logprobs is not supported by this server"),
    top_logprobs: notSupported("top_logprobs"),
    logit_bias: notSupported("logit_bias"),
    audio: notSupported("audio"),
    modalities: z.array(z.literal("text")).nullable().optional(),
  })
  .loose();

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

export const completionRequest = z
  .object({
    ...sampling,
    prompt: z.union([text, z.array(text).length(1)]),
    n: z.number().int().min(1).max(16).nullable().optional(),
    echo: z.boolean().nullable().optional().refine((v) => !v, "echo is not supported by this server"),
    suffix: notSupported("suffix"),
    best_of: z.number().int().nullable().optional().refine((v) => v === undefined || v === null || v === 1, "best_of is not supported by this server"),
    logprobs: notSupported("logprobs"),
    logit_bias: notSupported("logit_bias"),
  })
  .loose();

export type CompletionRequest = z.infer<typeof completionRequest>;

/** The text of a message's content: a string, or its text parts joined. */
export function contentText(value: string | Array<{ text: string }> | null | undefined): string {
  if (value == null) return "";
  return typeof value === "string" ? value : value.map((part) => part.text).join("");
}
