// OpenAI's tools on node-llama-cpp's function calling: request tools and tool_choice become the functions a
// generation may call, a conversation's assistant tool_calls and tool results become the chat history's function
// calls, and the calls a generation made become message.tool_calls (or streamed tool_calls deltas).
import crypto from "node:crypto";
import type { LynxEngine } from "../engine/engine.js";
import type { GenerationFunctionCall, GenerationFunctions, GenerationMessage } from "../engine/generation.js";
import { badRequest } from "./errors.js";
import { contentText, type ChatCompletionRequest } from "./schemas.js";

type RequestMessage = ChatCompletionRequest["messages"][number];

/** The request's messages as the engine's: tool results joined to the assistant calls they answer. */
export function generationMessages(messages: readonly RequestMessage[]): GenerationMessage[] {
  const out: GenerationMessage[] = [];
  // the calls of the last assistant message that still wait for their tool message, by id
  let waiting = new Map<string, { call: { name: string; params: unknown; result: string }; where: string }>();
  const checkAnswered = (before: string) => {
    const [id, open] = [...waiting.entries()][0] ?? [];
    if (id !== undefined) throw badRequest(`${open!.where} (id ${JSON.stringify(id)}) has no tool message answering it before ${before}`, "messages", "tool_call_unanswered");
  };
  messages.forEach((m, i) => {
    if (m.role === "tool") {
      const pending = waiting.get(m.tool_call_id);
      if (!pending) throw badRequest(`messages.${i}: no assistant tool call with id ${JSON.stringify(m.tool_call_id)} waits for this tool message`, `messages.${i}.tool_call_id`, "unknown_tool_call_id");
      pending.call.result = contentText(m.content);
      waiting.delete(m.tool_call_id);
      return;
    }
    checkAnswered(`messages.${i}`);
    if (m.role === "assistant") {
      const calls: Array<{ name: string; params: unknown; result: string }> = [];
      waiting = new Map();
      (m.tool_calls ?? []).forEach((tc, j) => {
        const where = `messages.${i}.tool_calls.${j}`;
        let params: unknown;
        try {
          params = tc.function.arguments.trim() === "" ? undefined : JSON.parse(tc.function.arguments);
        } catch {
          throw badRequest(`${where}.function.arguments is not valid JSON`, `${where}.function.arguments`, "invalid_value");
        }
        if (waiting.has(tc.id)) throw badRequest(`${where}: the id ${JSON.stringify(tc.id)} is used twice`, `${where}.id`, "invalid_value");
        const call = { name: tc.function.name, params, result: "" };
        calls.push(call);
        waiting.set(tc.id, { call, where });
      });
      const functionCalls: GenerationFunctionCall[] = calls;
      out.push({ role: "assistant", text: contentText(m.content), ...(calls.length ? { functionCalls } : {}) });
      return;
    }
    out.push({ role: m.role === "developer" ? "system" : m.role, text: contentText(m.content) });
  });
  checkAnswered("the end of the conversation");
  return out;
}

/** The functions the generation may call, or none (no tools, or tool_choice "none"). Refuses what cannot be served. */
export async function generationFunctions(engine: LynxEngine, body: ChatCompletionRequest): Promise<GenerationFunctions | undefined> {
  const tools = body.tools ?? [];
  const choice = body.tool_choice ?? (tools.length ? "auto" : "none");
  if (tools.length === 0) {
    if (choice !== "none") throw badRequest("tool_choice needs tools: none were given", "tool_choice", "invalid_value");
    return undefined;
  }
  const names = new Set<string>();
  tools.forEach((t, i) => {
    if (names.has(t.function.name)) throw badRequest(`tools.${i}: the function name ${JSON.stringify(t.function.name)} is used twice`, `tools.${i}.function.name`, "invalid_value");
    names.add(t.function.name);
  });
  if (choice === "none") return undefined;
  if (!engine.functionCalling) {
    throw badRequest(
      `The loaded model's chat template has no function-calling syntax (node-llama-cpp resolved its ${engine.chatWrapperName} chat wrapper), so this server cannot offer it tools. Send the request without tools (or with tool_choice "none"), or load a model whose template supports tools.`,
      "tools",
      "tools_not_supported",
    );
  }
  let available = tools;
  if (typeof choice === "object") {
    // a named function: the only one offered, and called
    available = tools.filter((t) => t.function.name === choice.function.name);
    if (available.length === 0) throw badRequest(`tool_choice names the function ${JSON.stringify(choice.function.name)}, which is not in tools`, "tool_choice.function.name", "invalid_value");
  }
  for (const [i, t] of tools.entries()) {
    if (!t.function.parameters) continue;
    try {
      // the same grammar node-llama-cpp builds for the call's arguments: an unsupported schema is refused here
      await engine.jsonGrammar(t.function.parameters);
    } catch (err) {
      throw badRequest(`tools.${i}.function.parameters: ${(err as Error).message}`, `tools.${i}.function.parameters`, "invalid_function_parameters");
    }
  }
  if (body.response_format && body.response_format.type !== "text") {
    throw badRequest("response_format cannot be combined with tools on this server (use a function's parameters schema instead)", "response_format", "invalid_value");
  }
  return {
    available: available.map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      ...(t.function.parameters ? { params: t.function.parameters } : {}),
    })),
    choice: choice === "auto" ? "auto" : "required",
    ...(body.parallel_tool_calls === false ? { maxParallelCalls: 1 } : {}),
  };
}

export const toolCallId = () => `call_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;

/** The arguments of a call as OpenAI sends them: a JSON string ("{}" for a function without parameters). */
export const argumentsText = (params: unknown) => (params === undefined ? "{}" : JSON.stringify(params));

export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

/**
 * Streams one choice's calls as tool_calls deltas: the first delta of a call carries its id and name, the next ones
 * pieces of its arguments. node-llama-cpp ends the arguments with a newline terminator, which is held back (trailing
 * whitespace is only sent once more text follows it).
 */
export class ToolCallStreamer {
  private readonly ids: string[] = [];
  private readonly held = new Map<number, string>();
  readonly sentArguments = new Map<number, string>();

  constructor(private readonly send: (delta: ToolCallDelta) => void) {}

  idOf(index: number): string {
    return (this.ids[index] ??= toolCallId());
  }

  chunk(index: number, name: string, text: string) {
    if (!this.sentArguments.has(index)) {
      this.sentArguments.set(index, "");
      this.send({ index, id: this.idOf(index), type: "function", function: { name, arguments: "" } });
    }
    const pending = (this.held.get(index) ?? "") + text;
    const body = pending.trimEnd();
    this.held.set(index, pending.slice(body.length));
    if (body) {
      this.sentArguments.set(index, this.sentArguments.get(index)! + body);
      this.send({ index, function: { arguments: body } });
    }
  }

  /** Calls whose arguments never streamed (a function without parameters): sent whole. */
  finish(calls: ReadonlyArray<{ name: string; params: unknown }>) {
    calls.forEach((call, index) => {
      if (this.sentArguments.has(index)) return;
      this.send({ index, id: this.idOf(index), type: "function", function: { name: call.name, arguments: argumentsText(call.params) } });
    });
  }
}
