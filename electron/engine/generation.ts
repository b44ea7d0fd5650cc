// One generation outside any chat (the OpenAI-compatible API): a list of messages or a raw prompt, with given
// sampling, stop strings, grammar and seed. Like a chat's answer it borrows a pool sequence only while it
// generates, so it joins the same decode batches, the same scheduler and the same pruning as the app's chats.
import crypto from "node:crypto";
import { LlamaChat, LlamaCompletion, type ChatHistoryItem, type LlamaContextSequence, type LlamaGrammar, type Token } from "node-llama-cpp";
import type { AnswerStats, Role } from "../api/contract.js";
import { endOfGenerationBias, type ChatServices } from "./chat.js";
import { EngineError, toEngineError } from "./errors.js";

export interface GenerationMessage {
  role: Role;
  text: string;
}

export type GenerationInput = { messages: readonly GenerationMessage[] } | { prompt: string };

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
  /** The generation got a sequence (it waited in the pool's queue until then). */
  onStart?: (sequenceId: number) => void;
  onText?: (text: string) => void;
  onTokens?: (count: number) => void;
}

export type GenerationStopReason = "eos" | "stop" | "maxTokens" | "aborted";

export interface GenerationResult {
  text: string;
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
  const { contextText } = services.chatWrapper.generateContextState({ chatHistory: chatHistoryOf(input.messages) });
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
  const owner = `gen-${crypto.randomUUID()}`;
  const requestedAt = performance.now();
  let firstTokenAt: number | null = null;
  let lastTokenAt = 0;
  let tokens = 0;

  let sequence: LlamaContextSequence;
  try {
    sequence = await pool.acquire(owner, request.signal);
  } catch (err) {
    if (request.signal?.aborted) return { text: "", stopReason: "aborted", promptTokens, completionTokens: 0, stats: emptyStats(policy) };
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
    onToken: (generated: Token[]) => {
      const at = performance.now();
      firstTokenAt ??= at;
      lastTokenAt = at;
      tokens += generated.length;
      telemetry.countTokens(owner, generated.length);
      request.onTokens?.(generated.length);
    },
    onTextChunk: (chunk: string) => request.onText?.(chunk),
  };
  try {
    request.onStart?.(sequenceId);
    let text: string;
    let reason: string;
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
      const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: services.chatWrapper, autoDisposeSequence: false });
      try {
        const result = await chat.generateResponse(chatHistoryOf(request.input.messages), options);
        text = result.response;
        reason = result.metadata.stopReason;
      } finally {
        chat.dispose({ disposeSequence: false });
      }
    }
    const result: GenerationResult = { text, stopReason: stopReasonOf(reason), promptTokens, completionTokens: tokens, stats: stats() };
    routing.end();
    routingOpen = false;
    return result;
  } catch (err) {
    if (request.signal?.aborted) return { text: "", stopReason: "aborted", promptTokens, completionTokens: tokens, stats: stats() };
    throw toEngineError(err);
  } finally {
    if (routingOpen) routing.end();
    scheduler.generationEnded();
    telemetry.unbindSequence(sequenceId);
    telemetry.forgetChat(owner);
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
    return { type: "model", response: [m.text] };
  });
  if (items.at(-1)?.type !== "model") items.push({ type: "model", response: [] });
  return items;
}

function stopReasonOf(reason: string): GenerationStopReason {
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
