// The app's Local API on the real host and engine (official `openai` client): a request made while a tab's chat
// streams decodes in the same batches (its telemetry is in the frames, its routing summary says it was batched)
// under the app's pruning setting, is listed in flight with its tokens; a model switch ends requests in flight with
// a 503 and the API then serves the new engine under the same setting; the setting is saved and restored.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI, { APIError } from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { apiGenerationPrefix, type HostEvent, type TelemetryFrame } from "../../electron/api/contract.js";
import { createHost, type LynxHost } from "../../electron/host/host.js";
import { fixture } from "../helpers/fixtures.js";

const modelPath = fixture("qwen3moe-tiny.gguf");
const otherModel = fixture("olmoe-tiny.gguf");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lynx-local-api-"));
const longTab = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, maxTokens: 4000 };
const messages = [{ role: "user" as const, content: "Tell me about the sea." }];

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A tab that streams (until stopped) while the API is used. */
async function streamingTab(host: LynxHost) {
  const tab = await host.openChat({ title: "tab", sampling: longTab });
  const started = new Promise<void>((resolve) => {
    const off = host.subscribe(
      (e: HostEvent) => {
        if (e.type === "chat.delta" && e.chatId === tab.id) {
          off();
          resolve();
        }
      },
      () => {},
    );
  });
  await host.send(tab.id, "Write a long story.");
  await started;
  return tab;
}

describe("Local API in the host", () => {
  it("batches with a tab's chat under the app's pruning, follows a model switch, is saved and restored", async () => {
    let host = await createHost({ modelPath, dataDir, maxChats: 4 });
    const frames: TelemetryFrame[] = [];
    const offTelemetry = host.subscribe(
      () => {},
      (f) => frames.push(f),
    );
    try {
      const policy = await host.setPolicy({ mode: "budget", experts: 3 });
      const state = await host.setLocalApi({ enabled: true, port: 0 });
      expect(state.running).toBe(true);
      const client = new OpenAI({ baseURL: state.url!, apiKey: "none", maxRetries: 0, timeout: 120_000 });
      const tab = await streamingTab(host);

      // one streamed request while the tab streams
      const stream = await client.chat.completions.create({ model: "qwen3moe-tiny", messages, temperature: 0, max_tokens: 48, stream: true, stream_options: { include_usage: true } });
      let inFlight = null as null | { tokens: number; client: string };
      let lynx: { batched_steps: number; mean_batch_size: number; policy: unknown } | undefined;
      let content = "";
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta.content ?? "";
        if (!inFlight && content.length > 0) {
          const request = (await host.getLocalApi()).requests.find((r) => r.state === "generating" && r.tokens > 0);
          if (request) inFlight = request;
        }
        const extra = (chunk as unknown as { lynx?: typeof lynx }).lynx;
        if (extra) lynx = extra;
      }
      expect(inFlight, "listed in flight with tokens so far").not.toBeNull();
      expect(inFlight!.client).toMatch(/OpenAI\/JS/);
      // the app's pruning applied to it (same engine, same native policy), and it decoded batched with the tab
      expect(lynx!.policy).toEqual(policy.effective);
      expect(lynx!.batched_steps).toBeGreaterThan(0);
      expect(lynx!.mean_batch_size).toBeGreaterThanOrEqual(1.5);
      // its sequence is in the telemetry as an API generation, in frames whose batches held 2
      const withApi = frames.filter((f) => f.chats.some((c) => c.chatId.startsWith(apiGenerationPrefix) && c.tokens > 0));
      expect(withApi.length).toBeGreaterThan(0);
      expect(withApi.some((f) => f.batches.some((b) => b.size >= 2))).toBe(true);
      // and gone from the frames once it ended
      const after = frames.length;
      await until("a frame after the request", async () => frames.length > after + 2);
      expect(frames.at(-1)!.chats.some((c) => c.chatId.startsWith(apiGenerationPrefix))).toBe(false);
      expect((await host.getLocalApi()).requests).toEqual([]);

      await host.stop(tab.id);
      // a model switch: requests in flight end with a 503, then the API serves the new engine
      // sampled (a random model's greedy answer may end at once): both are still generating at the switch
      const whole = client.chat.completions.create({ model: "qwen3moe-tiny", messages, temperature: 1, seed: 1, max_tokens: 3000 }).then(
        () => null,
        (e: unknown) => e,
      );
      const streamed = (async () => {
        const s = await client.chat.completions.create({ model: "qwen3moe-tiny", messages, temperature: 1, seed: 2, max_tokens: 3000, stream: true });
        try {
          for await (const chunk of s) void chunk;
          return null;
        } catch (e) {
          return e;
        }
      })();
      await until("two API requests in flight", async () => {
        const { requests } = await host.getLocalApi();
        // tokens so far come from the sequences (LlamaChat reports a random model's text late: byte pieces held
        // until they form characters)
        return requests.length === 2 && requests.every((r) => r.state === "generating" && r.tokens > 0);
      });
      const info = await host.openModel(otherModel);
      expect(info.architecture).toBe("olmoe");
      const wholeError = (await whole) as APIError;
      expect(wholeError).toBeInstanceOf(APIError);
      expect(wholeError.status).toBe(503);
      expect(wholeError.code).toBe("model_unloaded");
      expect(await streamed).toBeInstanceOf(APIError);
      const switched = await host.getLocalApi();
      expect(switched).toMatchObject({ running: true, url: state.url, requests: [] });
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(["olmoe-tiny"]);
      const answer = await client.chat.completions.create({ model: "olmoe-tiny", messages, temperature: 0, max_tokens: 8 });
      expect(answer.usage!.completion_tokens).toBeGreaterThan(0);
      expect((answer as unknown as { lynx: { policy: unknown } }).lynx.policy).toEqual((await host.getPolicy()).effective);
      expect((await host.getPolicy()).setting).toEqual({ mode: "budget", experts: 3 });
    } finally {
      offTelemetry();
      await host.dispose();
    }

    // saved: the next session starts the API again
    host = await createHost({ modelPath, dataDir, maxChats: 2 });
    try {
      const restored = await host.getLocalApi();
      expect(restored.settings.enabled).toBe(true);
      expect(restored.running).toBe(true);
      expect((await fetch(restored.url!.replace(/\/v1$/, "/health"))).status).toBe(200);
      const off = await host.setLocalApi({ enabled: false });
      expect(off.running).toBe(false);
      await expect(fetch(restored.url!.replace(/\/v1$/, "/health"))).rejects.toThrow();
    } finally {
      await host.dispose();
    }
  }, 300_000);
});
