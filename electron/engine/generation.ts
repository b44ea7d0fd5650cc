// One generation outside any chat (the OpenAI-compatible API): a list of messages or a raw prompt, with given
// sampling, stop strings, grammar and seed. Like a chat's answer it borrows a pool sequence only while it
// generates, so it joins the same decode batches, the same scheduler and the same pruning as the app's chats.
import crypto from "node:crypto";
import {
  LlamaChat,
  LlamaCompletion,
  type ChatHistoryItem,
  type ChatModelFunctions,
  type ChatModelResponse,
  type ChatWrapper,
  type LlamaContextSequence,
  type LlamaGrammar,
  type Token,
} from "node-llama-cpp";
import type { AnswerStats, Role } from "../api/contract.js";
import { endOfGenerationBias, type ChatServices } from "./chat.js";
import { EngineError, toEngineError } from "./errors.js";
import { forcedCallWrapper } from "./function-calling.js";

/** A function call the model made earlier in the conversation, with what the function returned. */
export interface GenerationFunctionCall {
  name: string;
  params: unknown;
  result: string;
}

export interface GenerationMessage {
  role: Role;
  text: string;
  /** Assistant messages: the calls it made (after its text), each with its result. */
  functionCalls?: readonly GenerationFunctionCall[];
}

export interface GenerationFunction {
  name: string;
  description?: string;
  /** A JSON schema (node-llama-cpp's grammar subset) the arguments must match; none: a call without arguments. */
  params?: object;
}

/** Functions the model may call: "auto" lets it choose between text and a call, "required" makes it call one. */
export interface GenerationFunctions {
  available: readonly GenerationFunction[];
  choice: "auto" | "required";
  /** At most this many calls in one answer (chat wrappers with parallel calls); default: the wrapper's limit. */
  maxParallelCalls?: number;
}

export type GenerationInput = { messages: readonly GenerationMessage[]; functions?: GenerationFunctions } | { prompt: string };

export interface GenerationSampling {
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  /** 0 = the whole vocabulary. */
  topK: number;
  maxTokens: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Generate until maxTokens or a stop string, never ending at the end-of-generation token. */
  ignoreEos?: boolean;
}

export interface GenerationRequest {
  input: GenerationInput;
  sampling: GenerationSampling;
  stop?: readonly string[];
  grammar?: LlamaGrammar;
  signal?: AbortSignal;
  /** Its name in the pool and the telemetry (default `gen-<uuid>`); unique among generations in flight. */
  owner?: string;
  /** The generation got a sequence (it waited in the pool's queue until then). */
  onStart?: (sequenceId: number, generatedSoFar: () => number) => void;
  onText?: (text: string) => void;
  onTokens?: (count: number) => void;
  /** A function call's arguments as they are generated (JSON text, in pieces); `done` on its last piece. */
  onFunctionCallChunk?: (chunk: { index: number; name: string; text: string; done: boolean }) => void;
}

export type GenerationStopReason = "eos" | "stop" | "maxTokens" | "aborted" | "functionCalls";

export interface GenerationResult {
  text: string;
  /** The calls the model made (stopReason "functionCalls"); arguments parsed and checked against their schema. */
  functionCalls: Array<{ name: string; params: unknown }>;
  stopReason: GenerationStopReason;
  promptTokens: number;
  completionTokens: number;
  stats: AnswerStats;
}

/** Tokens the prompt takes in the context, exactly as the generation evaluates them. */
export function promptTokensOf(services: ChatServices, input: GenerationInput): Token[] {
  if ("prompt" in input) {
    const { model } = services;
    // LlamaCompletion prepends the beginning-of-sequence token itself when the vocabulary wants one
    const bos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
    const tokens = model.tokenize(input.prompt, false, bos != null ? "trimLeadingSpace" : undefined);
    return bos != null ? [bos, ...tokens] : tokens;
  }
  const { contextText } = wrapperFor(services.chatWrapper, input.functions).generateContextState({
    chatHistory: chatHistoryOf(input.messages),
    ...(input.functions ? { availableFunctions: functionsOf(input.functions), documentFunctionParams: true } : {}),
  });
  return contextText.tokenize(services.model.tokenizer);
}

/** Refuses a prompt the context cannot hold with room for one token; returns its tokens. */
export function checkPromptFits(services: ChatServices, input: GenerationInput): Token[] {
  const tokens = promptTokensOf(services, input);
  if (tokens.length >= services.contextSize) {
    throw new EngineError("CONTEXT_FULL", `the prompt is ${tokens.length} tokens but a sequence's context holds ${services.contextSize}`);
  }
  return tokens;
}

export async function runGeneration(services: ChatServices, request: GenerationRequest): Promise<GenerationResult> {
  const { pool, scheduler, telemetry, routing } = services;
  const promptTokens = checkPromptFits(services, request.input).length;
  // never let node-llama-cpp shift the context: the answer stops at the context's end instead
  const maxTokens = Math.max(1, Math.min(request.sampling.maxTokens, services.contextSize - promptTokens));
  const policy = services.policy();
  const owner = request.owner ?? `gen-${crypto.randomUUID()}`;
  const requestedAt = performance.now();
  let firstTokenAt: number | null = null;
  let lastTokenAt = 0;
  let tokens = 0;

  let sequence: LlamaContextSequence;
  try {
    sequence = await pool.acquire(owner, request.signal);
  } catch (err) {
    if (request.signal?.aborted) return { text: "", functionCalls: [], stopReason: "aborted", promptTokens, completionTokens: 0, stats: emptyStats(policy) };
    throw toEngineError(err);
  }
  const sequenceId = pool.idOf(sequence);
  telemetry.bindSequence(sequenceId, owner);
  scheduler.generationStarted();
  const mark = routing.start();
  let routingOpen = true;
  const stats = (): AnswerStats => {
    const end = firstTokenAt === null ? performance.now() : lastTokenAt;
    const first = firstTokenAt ?? end;
    const decodeSeconds = (lastTokenAt - first) / 1000;
    return {
      tokens,
      timeToFirstTokenMs: firstTokenAt === null ? 0 : first - requestedAt,
      tokensPerSecond: tokens > 1 && decodeSeconds > 0 ? (tokens - 1) / decodeSeconds : 0,
      durationMs: end - requestedAt,
      pruning: { setting: structuredClone(policy.setting), effective: structuredClone(policy.effective), description: policy.description },
      ...routing.figures(mark, tokens),
    };
  };
  const counted = (count: number) => {
    const at = performance.now();
    firstTokenAt ??= at;
    lastTokenAt = at;
    tokens += count;
    telemetry.countTokens(owner, count);
    request.onTokens?.(count);
  };
  // LlamaChat does not report the tokens of a function call through onToken: the sequence's meter counts them
  const outputTokensBefore = sequence.tokenMeter.usedOutputTokens;
  // once released, the sequence's meter counts another generation's tokens
  let released = false;
  const countUnreported = () => {
    const missing = Math.min(maxTokens, sequence.tokenMeter.usedOutputTokens - outputTokensBefore) - tokens;
    if (missing > 0) counted(missing);
  };
  // node-llama-cpp holds a token that ends inside a UTF-8 character and samples one more before it checks maxTokens,
  // so an answer could be a token over its limit (OpenAI's max_tokens is a hard cap): past the cap nothing is
  // counted or streamed, and the answer's text is what was streamed
  const streamedTokens: Token[] = [];
  let streamedText = "";
  let capped = false;
  let cappedChunk: string | null = null;
  const onToken = (generated: Token[]) => {
    const allowed = generated.slice(0, Math.max(0, maxTokens - tokens));
    if (allowed.length < generated.length) {
      capped = true;
      cappedChunk = services.model.detokenize(allowed, false, streamedTokens.slice(-16));
    }
    streamedTokens.push(...allowed);
    if (allowed.length > 0) counted(allowed.length);
  };
  const onTextChunk = (chunk: string) => {
    const text = cappedChunk ?? (capped ? "" : chunk);
    cappedChunk = null;
    streamedText += text;
    if (text) request.onText?.(text);
  };
  const { sampling } = request;
  const penalties = sampling.presencePenalty || sampling.frequencyPenalty;
  const options = {
    signal: request.signal,
    stopOnAbortSignal: true,
    maxTokens,
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    minP: 0,
    ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    repeatPenalty: penalties ? { penalty: 1, presencePenalty: sampling.presencePenalty ?? 0, frequencyPenalty: sampling.frequencyPenalty ?? 0 } : (false as const),
    ...(request.stop?.length ? { customStopTriggers: [...request.stop] } : {}),
    ...(request.grammar ? { grammar: request.grammar } : {}),
    ...(sampling.ignoreEos ? { tokenBias: endOfGenerationBias(services.model) } : {}),
    onToken,
    onTextChunk,
  };
  try {
    // tokens the sequence generated so far, including those LlamaChat has not reported yet (held while they may
    // still turn into a stop trigger or an incomplete character, and a call's tokens)
    request.onStart?.(sequenceId, () => (released ? tokens : Math.min(maxTokens, Math.max(tokens, sequence.tokenMeter.usedOutputTokens - outputTokensBefore))));
    let text: string;
    let reason: string;
    let functionCalls: GenerationResult["functionCalls"] = [];
    if ("prompt" in request.input) {
      const completion = new LlamaCompletion({ contextSequence: sequence });
      try {
        const result = await completion.generateCompletionWithMeta(request.input.prompt, options);
        text = result.response;
        reason = result.metadata.stopReason;
      } finally {
        completion.dispose({ disposeSequence: false });
      }
    } else {
      const fns = request.input.functions;
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapperFor(services.chatWrapper, fns), autoDisposeSequence: false });
      try {
        const history = chatHistoryOf(request.input.messages);
        if (fns) {
          // node-llama-cpp's function calling: a call's name and arguments are grammar-constrained to the functions
          // given, its arguments parsed and validated against their schema (a grammar cannot be given as well)
          const { grammar: _none, ...rest } = options;
          void _none;
          const result = await chat.generateResponse(history, {
            ...rest,
            functions: functionsOf(fns),
            documentFunctionParams: true,
            ...(fns.maxParallelCalls !== undefined ? { maxParallelFunctionCalls: fns.maxParallelCalls } : {}),
            onFunctionCallParamsChunk: (chunk) => {
              // the call's tokens so far, from the sequence's meter
              countUnreported();
              request.onFunctionCallChunk?.({ index: chunk.callIndex, name: chunk.functionName, text: chunk.paramsChunk, done: chunk.done });
            },
          });
          countUnreported();
          text = result.response;
          reason = result.metadata.stopReason;
          functionCalls = (result.functionCalls ?? []).map((call) => ({ name: call.functionName, params: call.params }));
        } else {
          const result = await chat.generateResponse(history, options);
          text = result.response;
          reason = result.metadata.stopReason;
          // at maxTokens LlamaChat drops a held token (one that ends inside a character) unreported: it was generated
          if (reason === "maxTokens") countUnreported();
        }
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    }
    if (capped) text = streamedText;
    const result: GenerationResult = { text, functionCalls, stopReason: stopReasonOf(reason), promptTokens, completionTokens: tokens, stats: stats() };
    routing.end();
    routingOpen = false;
    return result;
  } catch (err) {
    if (request.signal?.aborted) return { text: "", functionCalls: [], stopReason: "aborted", promptTokens, completionTokens: tokens, stats: stats() };
    throw toEngineError(err);
  } finally {
    if (routingOpen) routing.end();
    scheduler.generationEnded();
    telemetry.unbindSequence(sequenceId);
    telemetry.forgetChat(owner);
    released = true;
    pool.release(sequence);
    // its KV cache holds a one-off prompt: let the next chat take this sequence first
    pool.forget(owner);
  }
}

/** The history LlamaChat continues: a last user message gets an empty answer to write, a last assistant message is continued. */
function chatHistoryOf(messages: readonly GenerationMessage[]): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = messages.map((m): ChatHistoryItem => {
    if (m.role === "system") return { type: "system", text: m.text };
    if (m.role === "user") return { type: "user", text: m.text };
    const response: ChatModelResponse["response"] = m.text ? [m.text] : [];
    for (const call of m.functionCalls ?? []) response.push({ type: "functionCall", name: call.name, params: call.params, result: call.result });
    return { type: "model", response };
  });
  if (items.at(-1)?.type !== "model") items.push({ type: "model", response: [] });
  return items;
}

function functionsOf(fns: GenerationFunctions): ChatModelFunctions {
  const out: Record<string, { description?: string; params?: never }> = {};
  for (const f of fns.available) {
    out[f.name] = { ...(f.description ? { description: f.description } : {}), ...(f.params ? { params: f.params as never } : {}) };
  }
  return out as ChatModelFunctions;
}

/** "required": the answer starts inside a call (see function-calling.ts); otherwise the model's own wrapper. */
function wrapperFor(wrapper: ChatWrapper, fns: GenerationFunctions | undefined): ChatWrapper {
  return fns?.choice === "required" ? forcedCallWrapper(wrapper) : wrapper;
}

function stopReasonOf(reason: string): GenerationStopReason {
  if (reason === "functionCalls") return "functionCalls";
  if (reason === "maxTokens") return "maxTokens";
  if (reason === "customStopTrigger") return "stop";
  if (reason === "abort") return "aborted";
  return "eos";
}

function emptyStats(policy: ReturnType<ChatServices["policy"]>): AnswerStats {
  return {
    tokens: 0,
    timeToFirstTokenMs: 0,
    tokensPerSecond: 0,
    durationMs: 0,
    pruning: { setting: structuredClone(policy.setting), effective: structuredClone(policy.effective), description: policy.description },
    decodeSteps: 0,
    batchedSteps: 0,
    expertsBefore: 0,
    expertsAfter: 0,
  };
}
