// One chat: its history, settings and at most one generation at a time. It borrows a context sequence
// from the pool only while it generates, so more chats can be open than the context has sequences.
import { LlamaChatSession, TokenBias, type ChatHistoryItem, type ChatWrapper, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import {
  defaultSampling,
  type AnswerStats,
  type ChatId,
  type ChatMessage,
  type ChatSettings,
  type ChatSnapshot,
  type ChatStatus,
  type HostEvent,
  type PolicyState,
  type StopReason,
} from "../api/contract.js";
import type { AnswerRoutingMeter, RoutingMark } from "./answer-routing.js";
import type { BatchScheduler } from "./batch-scheduler.js";
import { EngineError, toEngineError } from "./errors.js";
import type { SequencePool } from "./sequence-pool.js";
import type { TelemetrySampler } from "./telemetry.js";

export interface ChatServices {
  model: LlamaModel;
  /** Resolved once per model: resolving it per message cost up to a second on some templates. */
  chatWrapper: ChatWrapper;
  /** Tokens one chat's sequence can hold. */
  contextSize: number;
  pool: SequencePool;
  scheduler: BatchScheduler;
  telemetry: TelemetrySampler;
  /** Per-answer routing figures (experts read per decode step). */
  routing: AnswerRoutingMeter;
  /** The pruning in effect, recorded with each answer. */
  policy(): PolicyState;
  emit(event: HostEvent): void;
}

/** What one generation measures for its answer's statistics. */
interface AnswerMeter {
  requestedAt: number;
  firstTokenAt: number | null;
  lastTokenAt: number;
  tokens: number;
  routing: RoutingMark | null;
  pruning: AnswerStats["pruning"];
}

export interface GenerateOptions {
  /** Streams text as it is generated. */
  onText?: (text: string) => void;
  /** Receives generated tokens. */
  onToken?: (tokens: readonly Token[]) => void;
  /** Ban end-of-generation tokens (benchmarks and tests that need a fixed number of tokens). */
  ignoreEos?: boolean;
}

export class Chat {
  status: ChatStatus = "idle";
  messages: ChatMessage[] = [];
  settings: ChatSettings;
  /** The context sequence of the latest generation (its routing counts stay readable until it serves another chat). */
  lastSequenceId: number | null = null;
  private abort: AbortController | null = null;
  private running: Promise<ChatMessage> | null = null;
  private closed = false;

  constructor(
    readonly id: ChatId,
    public title: string,
    settings: Partial<ChatSettings>,
    private readonly services: ChatServices,
  ) {
    this.settings = {
      systemPrompt: settings.systemPrompt ?? "",
      sampling: { ...defaultSampling, ...settings.sampling },
    };
  }

  snapshot(): ChatSnapshot {
    const queueIndex = this.services.pool.queue.indexOf(this.id);
    return {
      id: this.id,
      title: this.title,
      status: this.status,
      ...(queueIndex >= 0 ? { queuePosition: queueIndex + 1 } : {}),
      settings: structuredClone(this.settings),
      messages: this.messages.map((m) => ({ ...m })),
    };
  }

  get busy() {
    return this.running !== null;
  }

  /** Adds the user's message and generates the answer; resolves with the assistant message. */
  send(text: string, options: GenerateOptions = {}): Promise<ChatMessage> {
    this.assertIdle();
    this.messages.push({ role: "user", text, createdAt: Date.now() });
    return this.generate(options);
  }

  regenerate(options: GenerateOptions = {}): Promise<ChatMessage> {
    this.assertIdle();
    if (this.messages.at(-1)?.role === "assistant") this.messages.pop();
    if (this.messages.at(-1)?.role !== "user") throw new EngineError("INVALID_INPUT", "there is no user message to answer again");
    return this.generate(options);
  }

  editLastAndResend(text: string, options: GenerateOptions = {}): Promise<ChatMessage> {
    this.assertIdle();
    if (this.messages.at(-1)?.role === "assistant") this.messages.pop();
    if (this.messages.at(-1)?.role === "user") this.messages.pop();
    this.messages.push({ role: "user", text, createdAt: Date.now() });
    return this.generate(options);
  }

  /** Stops the generation (the partial answer is kept) or leaves the queue. */
  stop() {
    this.abort?.abort(new EngineError("INTERNAL", "stopped by the user"));
  }

  /** Stops any generation and waits until the chat is idle (its partial answer kept). */
  async settle() {
    this.stop();
    await this.running?.catch(() => {});
  }

  async reset() {
    await this.settle();
    this.messages = [];
    this.services.pool.forget(this.id);
    this.emitSnapshot();
  }

  async close() {
    this.closed = true;
    await this.settle();
    this.services.pool.forget(this.id);
    this.services.telemetry.forgetChat(this.id);
  }

  private assertIdle() {
    if (this.closed) throw new EngineError("CHAT_NOT_FOUND", "this chat was closed");
    if (this.running) throw new EngineError("CHAT_BUSY", "this chat is already generating: stop it first");
  }

  private setStatus(status: ChatStatus) {
    this.status = status;
    const queueIndex = this.services.pool.queue.indexOf(this.id);
    this.services.emit({ type: "chat.status", chatId: this.id, status, ...(queueIndex >= 0 ? { queuePosition: queueIndex + 1 } : {}) });
  }

  private emitSnapshot() {
    this.services.emit({ type: "chat.snapshot", chat: this.snapshot() });
  }

  private generate(options: GenerateOptions): Promise<ChatMessage> {
    const abort = new AbortController();
    this.abort = abort;
    const run = this.run(abort.signal, options).finally(() => {
      this.running = null;
      this.abort = null;
    });
    this.running = run;
    return run;
  }

  private async run(signal: AbortSignal, options: GenerateOptions): Promise<ChatMessage> {
    const { pool, scheduler, telemetry, routing } = this.services;
    const policy = this.services.policy();
    const meter: AnswerMeter = {
      requestedAt: performance.now(),
      firstTokenAt: null,
      lastTokenAt: 0,
      tokens: 0,
      routing: null,
      pruning: { setting: structuredClone(policy.setting), effective: structuredClone(policy.effective), description: policy.description },
    };
    const prompt = this.messages.at(-1)!.text;
    const history = this.history(this.messages.slice(0, -1));

    // node-llama-cpp would silently cut the start of a message that does not fit: refuse it instead
    const promptTokens = this.services.model.tokenize(prompt).length;
    const room = this.services.contextSize - Math.min(256, Math.floor(this.services.contextSize / 4));
    if (promptTokens > room) {
      const error = new EngineError(
        "CONTEXT_FULL",
        `the message is ${promptTokens} tokens but a chat's context holds ${this.services.contextSize}: shorten it or load the model with a larger context`,
      );
      this.services.emit({ type: "chat.error", chatId: this.id, code: error.code, message: error.message });
      throw error;
    }

    let sequence: LlamaContextSequence;
    try {
      const acquiring = pool.acquire(this.id, signal);
      if (pool.queue.includes(this.id)) this.setStatus("queued");
      sequence = await acquiring;
    } catch {
      this.setStatus("idle");
      return this.finishAborted("", meter);
    }

    const sequenceId = pool.idOf(sequence);
    this.lastSequenceId = sequenceId;
    telemetry.bindSequence(sequenceId, this.id);
    scheduler.generationStarted();
    meter.routing = routing.start();
    this.setStatus("generating");
    const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false, chatWrapper: this.services.chatWrapper });
    let text = "";
    try {
      session.setChatHistory(history);
      const sampling = this.settings.sampling;
      const result = await session.promptWithMeta(prompt, {
        signal,
        stopOnAbortSignal: true,
        maxTokens: sampling.maxTokens,
        temperature: sampling.temperature,
        topK: sampling.topK,
        topP: sampling.topP,
        minP: sampling.minP,
        ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
        repeatPenalty: sampling.repeatPenalty > 1 ? { penalty: sampling.repeatPenalty } : false,
        ...(options.ignoreEos ? { tokenBias: endOfGenerationBias(this.services.model) } : {}),
        onToken: (tokens) => {
          const at = performance.now();
          meter.firstTokenAt ??= at;
          meter.lastTokenAt = at;
          meter.tokens += tokens.length;
          telemetry.countTokens(this.id, tokens.length);
          options.onToken?.(tokens);
        },
        onTextChunk: (chunk) => {
          text += chunk;
          options.onText?.(chunk);
          this.services.emit({ type: "chat.delta", chatId: this.id, text: chunk });
        },
      });
      const message: ChatMessage = {
        role: "assistant",
        text: result.responseText,
        stopReason: stopReasonOf(result.stopReason),
        createdAt: Date.now(),
        stats: this.answerStats(meter),
      };
      this.messages.push(message);
      this.services.emit({ type: "chat.done", chatId: this.id, message });
      return message;
    } catch (err) {
      if (signal.aborted) {
        // stopped before the first token (during the prompt): not an error
        return this.finishAborted(text, meter);
      }
      const error = classifyGenerationError(err);
      // keep what was generated; the user's message stays so it can be edited or sent again
      const message: ChatMessage = {
        role: "assistant",
        text,
        stopReason: error.code === "CONTEXT_FULL" ? "contextFull" : "error",
        createdAt: Date.now(),
        stats: this.answerStats(meter),
      };
      if (text) this.messages.push(message);
      this.services.emit({ type: "chat.error", chatId: this.id, code: error.code, message: error.message });
      throw error;
    } finally {
      if (meter.routing) routing.end();
      scheduler.generationEnded();
      session.dispose({ disposeSequence: false });
      telemetry.unbindSequence(sequenceId);
      pool.release(sequence);
      if (!this.closed) this.setStatus("idle");
    }
  }

  /** A generation the user stopped: whatever text it produced is kept as the answer. */
  private finishAborted(text: string, meter: AnswerMeter): ChatMessage {
    const message: ChatMessage = { role: "assistant", text, stopReason: "aborted", createdAt: Date.now(), stats: this.answerStats(meter) };
    if (text) this.messages.push(message);
    this.services.emit({ type: "chat.done", chatId: this.id, message });
    return message;
  }

  /** The answer's statistics so far (its routing mark stays open until the generation's cleanup). */
  private answerStats(meter: AnswerMeter): AnswerStats {
    const end = meter.firstTokenAt === null ? performance.now() : meter.lastTokenAt;
    const first = meter.firstTokenAt ?? end;
    const decodeSeconds = (meter.lastTokenAt - first) / 1000;
    const routing = meter.routing ? this.services.routing.figures(meter.routing, meter.tokens) : { decodeSteps: 0, batchedSteps: 0, expertsBefore: 0, expertsAfter: 0 };
    return {
      tokens: meter.tokens,
      timeToFirstTokenMs: meter.firstTokenAt === null ? 0 : first - meter.requestedAt,
      tokensPerSecond: meter.tokens > 1 && decodeSeconds > 0 ? (meter.tokens - 1) / decodeSeconds : 0,
      durationMs: end - meter.requestedAt,
      pruning: meter.pruning,
      ...routing,
    };
  }

  private history(messages: ChatMessage[]): ChatHistoryItem[] {
    const items: ChatHistoryItem[] = [];
    if (this.settings.systemPrompt) items.push({ type: "system", text: this.settings.systemPrompt });
    for (const message of messages) {
      if (message.role === "user") items.push({ type: "user", text: message.text });
      else items.push({ type: "model", response: [message.text] });
    }
    return items;
  }
}

function stopReasonOf(reason: string): StopReason {
  if (reason === "maxTokens") return "maxTokens";
  if (reason === "abort") return "aborted";
  return "eos";
}

function classifyGenerationError(err: unknown): EngineError {
  const message = err instanceof Error ? err.message : String(err);
  if (/context/i.test(message) && /(size|full|too (long|small)|exceed|no space)/i.test(message)) {
    return new EngineError("CONTEXT_FULL", `the conversation does not fit in the context window: ${message}. Reset the chat or send a shorter message.`, { cause: err });
  }
  return toEngineError(err);
}

const biasCache = new WeakMap<LlamaModel, TokenBias>();
/** Bans the end-of-generation tokens (ignore-EOS generations: benchmarks, fixed-length answers). */
export function endOfGenerationBias(model: LlamaModel): TokenBias {
  let bias = biasCache.get(model);
  if (!bias) {
    bias = new TokenBias(model.tokenizer);
    for (const token of [model.tokens.eos, model.tokens.eot]) if (token != null) bias.set(token, "never");
    for (const text of ["<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>"]) {
      const tokens = model.tokenize(text, true);
      if (tokens.length === 1) bias.set(tokens[0]!, "never");
    }
    biasCache.set(model, bias);
  }
  return bias;
}
