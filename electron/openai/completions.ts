// POST /v1/chat/completions and POST /v1/completions: a request becomes n generations of the engine (each on its
// own pool sequence, so n > 1 samples decode in the same batches), answered as one JSON body or as SSE chunks.
import crypto from "node:crypto";
import type { ServerResponse } from "node:http";
import type { LlamaGrammar } from "node-llama-cpp";
import type { LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import type { GenerationInput, GenerationResult, GenerationSampling, GenerationStopReason } from "../engine/generation.js";
import { badRequest, OpenAiError } from "./errors.js";
import { limits, type ChatCompletionRequest, type CompletionRequest } from "./schemas.js";
import { argumentsText, generationFunctions, generationMessages, ToolCallStreamer, type ToolCallDelta } from "./tools.js";

/** What the server tracks of one request while it runs. */
export interface RequestTracker {
  /** Names its generations in the engine's pool and telemetry: `${owner}-${choice}`. */
  owner: string;
  signal: AbortSignal;
  onStart(): void;
  /** A choice's live count of generated tokens (from its sequence), while it generates. */
  onSequence?(generatedSoFar: () => number): void;
  onTokens(count: number): void;
  onEnd(): void;
}

export interface PreparedRequest {
  kind: "chat" | "text";
  input: GenerationInput;
  sampling: GenerationSampling;
  stop: string[];
  n: number;
  stream: boolean;
  includeUsage: boolean;
  grammar: LlamaGrammar | undefined;
  promptTokens: number;
}

/** The routing summary every response carries in its `lynx` field. */
export interface LynxSummary {
  decode_steps: number;
  batched_steps: number;
  mean_batch_size: number;
  distinct_experts_before: number;
  distinct_experts_after: number;
  setting: string;
  policy: unknown;
  queue_ms: number;
  tokens_per_second: number;
}

const finishReason = (reason: GenerationStopReason) => (reason === "maxTokens" ? "length" : reason === "functionCalls" ? "tool_calls" : "stop");

export async function prepareChat(engine: LynxEngine, body: ChatCompletionRequest): Promise<PreparedRequest> {
  const messages = generationMessages(body.messages);
  const functions = await generationFunctions(engine, body);
  let grammar: LlamaGrammar | undefined;
  const format = body.response_format;
  if (format?.type === "json_object") grammar = await engine.jsonGrammar();
  else if (format?.type === "json_schema") {
    try {
      grammar = await engine.jsonGrammar(format.json_schema.schema ?? {});
    } catch (err) {
      throw badRequest(`response_format.json_schema.schema: ${(err as Error).message}`, "response_format.json_schema.schema", "invalid_json_schema");
    }
  }
  return prepareCommon(engine, body, { messages, ...(functions ? { functions } : {}) }, "chat", grammar, body.max_completion_tokens ?? body.max_tokens);
}

export function prepareText(engine: LynxEngine, body: CompletionRequest): PreparedRequest {
  const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
  return prepareCommon(engine, body, { prompt }, "text", undefined, body.max_tokens);
}

function prepareCommon(
  engine: LynxEngine,
  body: ChatCompletionRequest | CompletionRequest,
  input: GenerationInput,
  kind: "chat" | "text",
  grammar: LlamaGrammar | undefined,
  maxTokens: number | null | undefined,
): PreparedRequest {
  const n = body.n ?? 1;
  if (n > engine.pool.size) throw badRequest(`n is ${n} but this server generates at most ${engine.pool.size} sequences at once`, "n");
  let promptTokens: number;
  try {
    promptTokens = engine.promptTokens(input).length;
  } catch (err) {
    if (err instanceof EngineError && err.code === "CONTEXT_FULL") {
      throw badRequest(`This model's context holds ${engine.info.contextLength} tokens per sequence: ${err.message}.`, kind === "chat" ? "messages" : "prompt", "context_length_exceeded");
    }
    throw err;
  }
  const stop = body.stop == null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
  return {
    kind,
    input,
    sampling: {
      // OpenAI's defaults: temperature 1, top_p 1, the whole vocabulary
      temperature: body.temperature ?? 1,
      topP: body.top_p ?? 1,
      topK: 0,
      maxTokens: maxTokens ?? limits.maxTokens,
      ...(body.seed != null ? { seed: body.seed } : {}),
      ...(body.presence_penalty ? { presencePenalty: body.presence_penalty } : {}),
      ...(body.frequency_penalty ? { frequencyPenalty: body.frequency_penalty } : {}),
      ...(body.ignore_eos ? { ignoreEos: true } : {}),
    },
    stop,
    n,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
    grammar,
    promptTokens,
  };
}

/** Runs the request's n generations and writes the response (JSON, or SSE when streaming). */
export async function respond(engine: LynxEngine, prepared: PreparedRequest, model: string, res: ServerResponse, tracker: RequestTracker): Promise<{ status: number; completionTokens: number }> {
  const id = `${prepared.kind === "chat" ? "chatcmpl" : "cmpl"}-${crypto.randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);
  const object = prepared.kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const started = performance.now();
  const queueMs: number[] = [];
  const batchSums = new Array<number>(prepared.n).fill(0);
  const send = (payload: unknown) => {
    if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(payload)}\n\n`);
  };
  const chunk = (index: number, delta: { role?: "assistant"; content?: string; tool_calls?: ToolCallDelta[] } | null, text: string, finish: string | null) =>
    prepared.kind === "chat"
      ? { id, object, created, model, system_fingerprint: null, choices: [{ index, delta: delta ?? {}, logprobs: null, finish_reason: finish }], ...(prepared.includeUsage ? { usage: null } : {}) }
      : { id, object, created, model, system_fingerprint: null, choices: [{ index, text, logprobs: null, finish_reason: finish }], ...(prepared.includeUsage ? { usage: null } : {}) };

  if (prepared.stream) {
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" });
    res.flushHeaders();
  }
  let started_ = 0;
  // one per choice: ids of its tool calls, and their arguments as they stream
  const toolStreams = Array.from({ length: prepared.n }, (_, index) => new ToolCallStreamer((delta) => prepared.stream && send(chunk(index, { tool_calls: [delta] }, "", null))));
  const runs = Array.from({ length: prepared.n }, (_, index) =>
    engine.generate({
      input: prepared.input,
      // n samples with a seed: each its own, reproducible stream
      sampling: prepared.sampling.seed !== undefined ? { ...prepared.sampling, seed: prepared.sampling.seed + index } : prepared.sampling,
      stop: prepared.stop,
      ...(prepared.grammar ? { grammar: prepared.grammar } : {}),
      signal: tracker.signal,
      owner: `${tracker.owner}-${index}`,
      onStart: (_sequence, generatedSoFar) => {
        tracker.onSequence?.(generatedSoFar);
        queueMs[index] = performance.now() - started;
        if (started_++ === 0) tracker.onStart();
        if (prepared.stream && prepared.kind === "chat") send(chunk(index, { role: "assistant", content: "" }, "", null));
      },
      onTokens: (count) => {
        // the sequences in the decode step that produced this token
        batchSums[index]! += engine.scheduler.stats.lastBatchSize * count;
        tracker.onTokens(count);
      },
      onText: (text) => {
        if (prepared.stream && text) send(chunk(index, { content: text }, text, null));
      },
      onFunctionCallChunk: (call) => toolStreams[index]!.chunk(call.index, call.name, call.text),
    }).then((result) => {
      toolStreams[index]!.finish(result.functionCalls);
      if (prepared.stream && result.stopReason !== "aborted") send(chunk(index, null, "", finishReason(result.stopReason)));
      return result;
    }),
  );
  let results: GenerationResult[];
  try {
    results = await Promise.all(runs);
  } catch (err) {
    await Promise.allSettled(runs);
    tracker.onEnd();
    const error = err instanceof OpenAiError ? err : new OpenAiError(500, (err as Error).message, "server_error", "generation_failed");
    if (!prepared.stream) throw error;
    send(error.body());
    res.end();
    return { status: 500, completionTokens: 0 };
  }
  tracker.onEnd();
  const completionTokens = results.reduce((sum, r) => sum + r.completionTokens, 0);
  const usage = { prompt_tokens: prepared.promptTokens, completion_tokens: completionTokens, total_tokens: prepared.promptTokens + completionTokens };
  const lynx = summarize(results, batchSums, queueMs);
  if (tracker.signal.aborted) {
    // the server ended it with a reason the client must hear (a model switch); a client that left hears nothing
    const reason: unknown = tracker.signal.reason;
    if (reason instanceof OpenAiError) {
      if (prepared.stream) {
        send(reason.body());
        res.end();
      } else if (!res.headersSent) {
        const json = JSON.stringify(reason.body());
        res.writeHead(reason.status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json), ...reason.headers });
        res.end(json);
      }
      return { status: reason.status, completionTokens };
    }
    res.end();
    return { status: 499, completionTokens };
  }
  if (prepared.stream) {
    if (prepared.includeUsage) send({ id, object, created, model, system_fingerprint: null, choices: [], usage, lynx });
    else send({ id, object, created, model, system_fingerprint: null, choices: [], lynx });
    res.end("data: [DONE]\n\n");
    return { status: 200, completionTokens };
  }
  const choices = results.map((r, index) =>
    prepared.kind === "chat"
      ? {
          index,
          message: {
            role: "assistant",
            // OpenAI: null content when the answer is only calls
            content: r.functionCalls.length && !r.text ? null : r.text,
            refusal: null,
            ...(r.functionCalls.length
              ? { tool_calls: r.functionCalls.map((call, i) => ({ id: toolStreams[index]!.idOf(i), type: "function", function: { name: call.name, arguments: argumentsText(call.params) } })) }
              : {}),
          },
          logprobs: null,
          finish_reason: finishReason(r.stopReason),
        }
      : { index, text: r.text, logprobs: null, finish_reason: finishReason(r.stopReason) },
  );
  const body = { id, object: prepared.kind === "chat" ? "chat.completion" : "text_completion", created, model, system_fingerprint: null, choices, usage, lynx };
  const json = JSON.stringify(body);
  res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json) });
  res.end(json);
  return { status: 200, completionTokens };
}

/** The request's routing: its choices' decode steps together, experts weighted by steps. */
function summarize(results: GenerationResult[], batchSums: number[], queueMs: number[]): LynxSummary {
  let steps = 0;
  let batched = 0;
  let before = 0;
  let after = 0;
  let batchSum = 0;
  let tokens = 0;
  let tps = 0;
  results.forEach((r, i) => {
    const s = r.stats;
    steps += s.decodeSteps;
    batched += s.batchedSteps;
    before += s.expertsBefore * s.decodeSteps;
    after += s.expertsAfter * s.decodeSteps;
    batchSum += batchSums[i]!;
    tokens += r.completionTokens;
    tps += s.tokensPerSecond;
  });
  const pruning = results[0]!.stats.pruning;
  return {
    decode_steps: steps,
    batched_steps: batched,
    mean_batch_size: tokens ? batchSum / tokens : 0,
    distinct_experts_before: steps ? before / steps : 0,
    distinct_experts_after: steps ? after / steps : 0,
    setting: pruning.description,
    policy: pruning.effective,
    queue_ms: queueMs.length ? Math.max(...queueMs.filter((v) => v !== undefined)) : 0,
    tokens_per_second: tps,
  };
}
