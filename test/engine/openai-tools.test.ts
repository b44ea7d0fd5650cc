// tools / tool_choice through the official `openai` client, on random-weight fixtures. Random weights make no
// meaningful choices, so what is checked is deterministic: with tool_choice "required" or a named function the
// output is grammar-constrained to a call whose arguments parse and validate against the parameters schema (also
// streamed, as tool_calls deltas); with "none" there is no call; a conversation with tool calls and tool results is
// accepted; a model whose chat template has no function syntax refuses tools with OpenAI's 400.
import OpenAI, { BadRequestError } from "openai";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { LynxEngine } from "../../electron/engine/engine.js";
import { startApiServer, type ApiServer } from "../../electron/openai/server.js";
import { fixture } from "../helpers/fixtures.js";

const model = "qwen3moe-tools-tiny";

/** Bounded arguments (enums, booleans, short strings), so a random model's call ends well within max_tokens. */
const weather: ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string", enum: ["Paris", "Oslo", "Lima"] },
        unit: { enum: ["celsius", "fahrenheit"] },
        tomorrow: { type: "boolean" },
      },
      required: ["city", "unit", "tomorrow"],
    },
  },
};
const weatherArgs = z.object({ city: z.enum(["Paris", "Oslo", "Lima"]), unit: z.enum(["celsius", "fahrenheit"]), tomorrow: z.boolean() }).strict();

const note: ChatCompletionTool = {
  type: "function",
  function: {
    name: "add_note",
    description: "Saves a short note",
    parameters: { type: "object", properties: { title: { type: "string", maxLength: 12 }, pinned: { type: "boolean" } }, required: ["title", "pinned"] },
  },
};
const noteArgs = z.object({ title: z.string().max(12), pinned: z.boolean() }).strict();

const messages = [{ role: "user" as const, content: "What is the weather in Paris tomorrow?" }];

describe("OpenAI tools (openai client, fixture with a tools template)", () => {
  let engine: LynxEngine;
  let server: ApiServer;
  let client: OpenAI;

  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture(`${model}.gguf`), maxChats: 4 });
    server = await startApiServer(engine, { port: 0 });
    client = new OpenAI({ baseURL: server.url, apiKey: "none", maxRetries: 0, timeout: 120_000 });
  });
  afterAll(async () => {
    await server?.close();
    await engine?.dispose();
  });

  it("resolves a chat wrapper with its own function syntax", () => {
    expect(engine.chatWrapperName).toBe("Qwen");
    expect(engine.functionCalling).toBe(true);
  });

  it('tool_choice "required": every choice is one valid call, for several seeds', async () => {
    const response = await client.chat.completions.create({
      model,
      messages,
      tools: [weather, note],
      tool_choice: "required",
      parallel_tool_calls: false,
      temperature: 1,
      seed: 7,
      n: 3,
      max_tokens: 200,
    });
    expect(response.choices).toHaveLength(3);
    for (const choice of response.choices) {
      expect(choice.finish_reason).toBe("tool_calls");
      const calls = choice.message.tool_calls ?? [];
      expect(calls).toHaveLength(1);
      const call = calls[0]!;
      expect(call.type).toBe("function");
      expect(call.id).toMatch(/^call_/);
      if (call.type !== "function") continue;
      expect(["get_weather", "add_note"]).toContain(call.function.name);
      const schema = call.function.name === "get_weather" ? weatherArgs : noteArgs;
      expect(schema.safeParse(JSON.parse(call.function.arguments)).success, call.function.arguments).toBe(true);
    }
    expect(response.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("a named function is the one called, with valid arguments", async () => {
    const response = await client.chat.completions.create({
      model,
      messages,
      tools: [weather, note],
      tool_choice: { type: "function", function: { name: "add_note" } },
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: 200,
    });
    const choice = response.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]!;
    expect(call.type === "function" && call.function.name).toBe("add_note");
    if (call.type === "function") expect(noteArgs.safeParse(JSON.parse(call.function.arguments)).success, call.function.arguments).toBe(true);
  });

  it("streams a call as tool_calls deltas whose arguments join to the call's JSON", async () => {
    const request = {
      model,
      messages,
      tools: [weather],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: 200,
    } satisfies OpenAI.ChatCompletionCreateParamsNonStreaming;
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let id = "";
    let name = "";
    let args = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      for (const delta of choice.delta.tool_calls ?? []) {
        expect(delta.index).toBe(0);
        if (delta.id) id = delta.id;
        if (delta.function?.name) name += delta.function.name;
        args += delta.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe("get_weather");
    expect(finish).toBe("tool_calls");
    expect(weatherArgs.safeParse(JSON.parse(args)).success, args).toBe(true);
    // the same greedy request, not streamed, makes the same call
    const whole = await client.chat.completions.create(request);
    expect(whole.usage!.completion_tokens).toBeGreaterThan(10);
    const call = whole.choices[0]!.message.tool_calls![0]!;
    if (call.type === "function") expect(JSON.parse(call.function.arguments)).toEqual(JSON.parse(args));
  });

  it('tool_choice "none": no call, whatever the model writes', async () => {
    const response = await client.chat.completions.create({ model, messages, tools: [weather], tool_choice: "none", temperature: 1, seed: 3, n: 2, max_tokens: 24 });
    for (const choice of response.choices) {
      expect(choice.message.tool_calls ?? []).toEqual([]);
      expect(choice.finish_reason).not.toBe("tool_calls");
      expect(typeof choice.message.content).toBe("string");
    }
  });

  it("accepts a conversation with tool calls and their results, and counts them in the prompt", async () => {
    const history = [
      ...messages,
      { role: "assistant" as const, content: null, tool_calls: [{ id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: '{"city":"Paris","unit":"celsius","tomorrow":true}' } }] },
      { role: "tool" as const, tool_call_id: "call_1", content: '{"temperature": 21, "sky": "clear"}' },
    ];
    const bare = await client.chat.completions.create({ model, messages, tools: [weather], temperature: 0, max_tokens: 4 });
    const response = await client.chat.completions.create({ model, messages: history, tools: [weather], tool_choice: "auto", temperature: 0, max_tokens: 16 });
    expect(response.choices[0]!.finish_reason).toMatch(/^(stop|length|tool_calls)$/);
    // the call and its result are in the prompt the model saw
    expect(response.usage!.prompt_tokens).toBeGreaterThan(bare.usage!.prompt_tokens + 20);
    // auto with a call in the history and no tools named: accepted as well (the history renders without tools)
    const noTools = await client.chat.completions.create({ model, messages: history, temperature: 0, max_tokens: 4 });
    expect(noTools.choices).toHaveLength(1);
  });

  it("refuses malformed tool conversations and choices with OpenAI's 400", async () => {
    const cases: Array<[string, Parameters<typeof client.chat.completions.create>[0]]> = [
      ["unanswered call", { model, messages: [...messages, { role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "get_weather", arguments: "{}" } }] }, { role: "user", content: "and?" }] }],
      ["unknown tool_call_id", { model, messages: [...messages, { role: "tool", tool_call_id: "nope", content: "x" }] }],
      ["arguments not JSON", { model, messages: [...messages, { role: "assistant", tool_calls: [{ id: "a", type: "function", function: { name: "get_weather", arguments: "{" } }] }, { role: "tool", tool_call_id: "a", content: "x" }] }],
      ["named function not in tools", { model, messages, tools: [weather], tool_choice: { type: "function", function: { name: "nope" } } }],
      ["tool_choice without tools", { model, messages, tool_choice: "required" }],
      ["bad function name", { model, messages, tools: [{ type: "function", function: { name: "has space" } }] }],
      ["tools with response_format", { model, messages, tools: [weather], response_format: { type: "json_object" } }],
    ];
    for (const [label, body] of cases) {
      const error = await client.chat.completions.create({ ...body, stream: false, max_tokens: 4 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, label).toBeInstanceOf(BadRequestError);
    }
    // still serving
    expect((await client.chat.completions.create({ model, messages, max_tokens: 2 })).choices).toHaveLength(1);
  });
});

describe("OpenAI tools refused where the chat wrapper has no function syntax", () => {
  let engine: LynxEngine;
  let server: ApiServer;
  let client: OpenAI;

  beforeAll(async () => {
    engine = await LynxEngine.load({ modelPath: fixture("qwen3moe-tiny.gguf"), maxChats: 2 });
    server = await startApiServer(engine, { port: 0 });
    client = new OpenAI({ baseURL: server.url, apiKey: "none", maxRetries: 0, timeout: 60_000 });
  });
  afterAll(async () => {
    await server?.close();
    await engine?.dispose();
  });

  it("answers 400 tools_not_supported, and serves tool_choice none and requests without tools", async () => {
    expect(engine.functionCalling).toBe(false);
    const model = "qwen3moe-tiny";
    const error = await client.chat.completions.create({ model, messages, tools: [weather], max_tokens: 4 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe("tools_not_supported");
    expect((error as BadRequestError).param).toBe("tools");
    expect((error as BadRequestError).message).toMatch(/ChatML/);
    const none = await client.chat.completions.create({ model, messages, tools: [weather], tool_choice: "none", max_tokens: 4 });
    expect(none.choices[0]!.message.tool_calls ?? []).toEqual([]);
    expect((await client.chat.completions.create({ model, messages, max_tokens: 4 })).choices).toHaveLength(1);
  });
});
