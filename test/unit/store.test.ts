import { describe, expect, it, vi } from "vitest";
import type { ChatSnapshot, HostEvent, LynxApi, ModelInfo, PolicyState, TelemetryFrame } from "../../electron/api/contract.js";
import { defaultLocalApiSettings, defaultSampling } from "../../electron/api/contract.js";
import {
  addUserMessage,
  applyChatEvent,
  applyDeltas,
  dropLastAssistant,
  emptyChats,
  removeChat,
  replaceAll,
  replaceLastUser,
  upsertSnapshot,
  type ChatsData,
} from "../../renderer/src/store/chats.js";
import { createAppStore } from "../../renderer/src/store/index.js";
import { applyModelEvent, emptyModel } from "../../renderer/src/store/model.js";
import { applyPolicyEvent, emptyPolicy, shownSetting } from "../../renderer/src/store/policy.js";
import { applyTelemetryFrame, chatTelemetry, emptyTelemetry } from "../../renderer/src/store/telemetry.js";

const snap = (id: string, extra: Partial<ChatSnapshot> = {}): ChatSnapshot => ({
  id,
  title: `Chat ${id}`,
  status: "idle",
  settings: { systemPrompt: "", sampling: defaultSampling },
  messages: [],
  ...extra,
});

const model: ModelInfo = {
  path: "/m/qwen3moe-tiny.gguf",
  name: "qwen3moe-tiny",
  architecture: "qwen3moe",
  layers: 3,
  experts: 16,
  expertsPerToken: 4,
  isMoE: true,
  moeLayers: 3,
  sizeBytes: 1,
  contextLength: 4096,
  trainContextLength: 4096,
  expertBytes: 100,
  maxChats: 4,
  threads: 2,
  chatTemplate: "",
};

const policy: PolicyState = {
  setting: { mode: "preset", preset: "off" },
  effective: { kind: "off" },
  description: "off",
  familyDefault: { alpha: 3, beta: 2, source: "test" },
  applicable: true,
};

function frame(seq: number, chatIds: string[] = []): TelemetryFrame {
  return {
    seq,
    timeMs: seq,
    nLayers: 1,
    nExperts: 2,
    expertsPerToken: 1,
    moeLayers: new Uint8Array([1]),
    chats: chatIds.map((chatId) => ({ chatId, counts: new Uint32Array([1, 2]), windowTokens: 3, tokensPerSecond: 4, tokens: 5 })),
    batches: [],
    batchHistogram: new Float64Array(0),
    overall: {
      tokensPerSecond: 0,
      generatingChats: 0,
      queuedChats: 0,
      currentBatchSize: 0,
      decodeSteps: 0,
      fullBatchShare: 0,
      distinctBefore: 0,
      distinctAfter: 0,
      expertBytesBefore: 0,
      expertBytesAfter: 0,
      top1KeptShare: 0,
      massRetained: 0,
    },
  };
}

const twoChats = (): ChatsData => upsertSnapshot(upsertSnapshot(emptyChats, snap("a")), snap("b"));

describe("chats reducers", () => {
  it("adds snapshots in tab order and activates the first", () => {
    const s = twoChats();
    expect(s.order).toEqual(["a", "b"]);
    expect(s.activeId).toBe("a");
    const activated = upsertSnapshot(s, snap("c"), true);
    expect(activated.activeId).toBe("c");
    // Replacing an existing chat keeps its place.
    const renamed = upsertSnapshot(activated, snap("a", { title: "Renamed" }));
    expect(renamed.order).toEqual(["a", "b", "c"]);
    expect(renamed.chats.a!.title).toBe("Renamed");
  });

  it("batches deltas per chat and only touches the chats that changed", () => {
    const s = twoChats();
    const next = applyDeltas(
      s,
      new Map([
        ["a", { text: "Hello", count: 2 }],
        ["zzz", { text: "ignored", count: 1 }],
      ]),
    );
    expect(next.chats.a!.streaming).toBe("Hello");
    expect(next.chats.a!.streamedDeltas).toBe(2);
    expect(next.chats.a!.status).toBe("generating");
    expect(next.chats.b).toBe(s.chats.b);
    expect(applyDeltas(s, new Map())).toBe(s);
  });

  it("finishes a generation on chat.done and keeps the text", () => {
    let s = twoChats();
    s = applyChatEvent(s, { type: "chat.status", chatId: "a", status: "generating" });
    s = applyChatEvent(s, { type: "chat.delta", chatId: "a", text: "Hi " });
    s = applyChatEvent(s, { type: "chat.delta", chatId: "a", text: "there" });
    expect(s.chats.a!.streaming).toBe("Hi there");
    s = applyChatEvent(s, { type: "chat.done", chatId: "a", message: { role: "assistant", text: "Hi there", stopReason: "eos" } });
    expect(s.chats.a!.streaming).toBe("");
    expect(s.chats.a!.status).toBe("idle");
    expect(s.chats.a!.messages.at(-1)).toEqual({ role: "assistant", text: "Hi there", stopReason: "eos" });
  });

  it("tracks queue positions", () => {
    let s = twoChats();
    s = applyChatEvent(s, { type: "chat.status", chatId: "b", status: "queued", queuePosition: 2 });
    expect(s.chats.b!.status).toBe("queued");
    expect(s.chats.b!.queuePosition).toBe(2);
    s = applyChatEvent(s, { type: "chat.status", chatId: "b", status: "generating" });
    expect(s.chats.b!.queuePosition).toBeUndefined();
  });

  it("turns partial text into a message on chat.error", () => {
    let s = applyDeltas(twoChats(), new Map([["a", { text: "part", count: 1 }]]));
    s = applyChatEvent(s, { type: "chat.error", chatId: "a", code: "CONTEXT_FULL", message: "full" });
    expect(s.chats.a!.messages.at(-1)).toEqual({ role: "assistant", text: "part", stopReason: "error" });
    expect(s.chats.a!.error).toEqual({ code: "CONTEXT_FULL", message: "full" });
    expect(s.chats.a!.status).toBe("idle");
  });

  it("keeps streamed text when a snapshot arrives mid-generation, drops it when idle", () => {
    let s = applyDeltas(twoChats(), new Map([["a", { text: "abc", count: 3 }]]));
    s = applyChatEvent(s, { type: "chat.snapshot", chat: snap("a", { status: "generating", title: "T" }) });
    expect(s.chats.a!.streaming).toBe("abc");
    expect(s.chats.a!.title).toBe("T");
    s = applyChatEvent(s, { type: "chat.snapshot", chat: snap("a", { status: "idle" }) });
    expect(s.chats.a!.streaming).toBe("");
  });

  it("closes chats and moves the active tab to a neighbour", () => {
    let s = upsertSnapshot(twoChats(), snap("c"));
    s = { ...s, activeId: "b" };
    s = applyChatEvent(s, { type: "chat.closed", chatId: "b" });
    expect(s.order).toEqual(["a", "c"]);
    expect(s.activeId).toBe("c");
    s = removeChat(s, "c");
    expect(s.activeId).toBe("a");
    s = removeChat(s, "a");
    expect(s.activeId).toBeNull();
    expect(removeChat(s, "nope")).toBe(s);
  });

  it("applies optimistic send, regenerate and edit-last", () => {
    let s = addUserMessage(twoChats(), "a", "one");
    s = applyChatEvent(s, { type: "chat.done", chatId: "a", message: { role: "assistant", text: "ans" } });
    s = addUserMessage(s, "a", "two");
    s = applyChatEvent(s, { type: "chat.done", chatId: "a", message: { role: "assistant", text: "ans2" } });
    expect(s.chats.a!.messages.map((m) => m.text)).toEqual(["one", "ans", "two", "ans2"]);
    const regen = dropLastAssistant(s, "a");
    expect(regen.chats.a!.messages.map((m) => m.text)).toEqual(["one", "ans", "two"]);
    const edited = replaceLastUser(s, "a", "TWO");
    expect(edited.chats.a!.messages.map((m) => m.text)).toEqual(["one", "ans", "TWO"]);
  });

  it("replaceAll keeps tab order and in-flight text", () => {
    let s = applyDeltas(twoChats(), new Map([["b", { text: "x", count: 1 }]]));
    s = replaceAll(s, [snap("c"), snap("b", { status: "generating" })]);
    expect(s.order).toEqual(["b", "c"]);
    expect(s.chats.b!.streaming).toBe("x");
    expect(s.activeId).toBe("b");
  });
});

describe("model, policy and telemetry reducers", () => {
  it("model.changed sets model and policy; host.error is recorded", () => {
    const ev: HostEvent = { type: "model.changed", model, policy };
    expect(applyModelEvent(emptyModel, ev)).toEqual({ info: model, loading: false, error: null });
    expect(applyPolicyEvent(emptyPolicy, ev).state).toBe(policy);
    const err = applyModelEvent(emptyModel, { type: "host.error", code: "MODEL_LOAD_FAILED", message: "x" });
    expect(err.error).toEqual({ code: "MODEL_LOAD_FAILED", message: "x" });
    expect(shownSetting({ state: policy, pending: { mode: "slider", value: 0.3 } })).toEqual({ mode: "slider", value: 0.3 });
    expect(shownSetting({ state: policy, pending: null })).toEqual(policy.setting);
  });

  it("keeps the newest telemetry frame and ignores stale ones", () => {
    let t = applyTelemetryFrame(emptyTelemetry, frame(5, ["a"]), 100);
    expect(t.received).toBe(1);
    expect(applyTelemetryFrame(t, frame(4), 101)).toBe(t);
    t = applyTelemetryFrame(t, frame(6), 102);
    expect(t.frame!.seq).toBe(6);
    // A restarted host (new model) starts from 0 again.
    t = applyTelemetryFrame(t, frame(500), 103);
    t = applyTelemetryFrame(t, frame(0), 104);
    expect(t.frame!.seq).toBe(0);
    t = applyTelemetryFrame(t, frame(1), 105);
    expect(t.frame!.seq).toBe(1);
    expect(chatTelemetry(frame(1, ["a", "b"]), "b")!.chatId).toBe("b");
    expect(chatTelemetry(null, "b")).toBeUndefined();
  });
});

/** A recording LynxApi double: it only records calls and lets the test push events. */
function apiDouble() {
  let onEvent: (e: HostEvent) => void = () => {};
  let onTelemetry: (f: TelemetryFrame) => void = () => {};
  let n = 0;
  const api: LynxApi = {
    getModel: vi.fn(async () => model),
    getPolicy: vi.fn(async () => policy),
    listChats: vi.fn(async () => []),
    openChat: vi.fn(async (s) => snap(`c${++n}`, { title: s?.title ?? "x" })),
    renameChat: vi.fn(async () => {}),
    updateChatSettings: vi.fn(async () => {}),
    send: vi.fn(async () => {}),
    stop: vi.fn(async () => {}),
    regenerate: vi.fn(async () => {}),
    editLastAndResend: vi.fn(async () => {}),
    resetChat: vi.fn(async () => {}),
    closeChat: vi.fn(async () => {}),
    setPolicy: vi.fn(async (setting) => ({ ...policy, setting })),
    listHistory: vi.fn(async () => []),
    reopenChat: vi.fn(async (id) => snap(id)),
    deleteChat: vi.fn(async () => {}),
    exportChat: vi.fn(async () => ({ fileName: "chat.md", mimeType: "text/markdown", content: "" })),
    getAppSettings: vi.fn(async () => ({ pruning: policy.setting, maxChats: null, threads: null, theme: "system" as const, lastModel: null, recentModels: [], modelsDir: null })),
    updateAppSettings: vi.fn(async () => ({ pruning: policy.setting, maxChats: null, threads: null, theme: "system" as const, lastModel: null, recentModels: [], modelsDir: null })),
    getStorageInfo: vi.fn(async () => ({ dataDir: null, formatVersion: 1, notices: [] })),
    getPruneCheck: vi.fn(async () => ({ applicable: true, status: "idle" as const, progress: null, error: null, profile: null })),
    startPruneCheck: vi.fn(async () => ({ applicable: true, status: "running" as const, progress: null, error: null, profile: null })),
    cancelPruneCheck: vi.fn(async () => {}),
    getLocalApi: vi.fn(async () => ({ settings: defaultLocalApiSettings, running: false, url: null, error: null, requests: [] })),
    setLocalApi: vi.fn(async (settings) => ({ settings: { ...defaultLocalApiSettings, ...settings }, running: !!settings.enabled, url: null, error: null, requests: [] })),
    listModels: vi.fn(async () => ({ modelsDir: null, models: [], downloads: [], curated: [], memory: { machineBytes: 0, availableBytes: 0 }, gpu: false as const })),
    estimateFit: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    loadModel: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    updateModelSettings: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    deleteModel: vi.fn(async () => {}),
    startDownload: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    pauseDownload: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    resumeDownload: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    cancelDownload: vi.fn(async () => Promise.reject(new Error("not in this test"))),
    subscribe: vi.fn((e, t) => {
      onEvent = e;
      onTelemetry = t;
      return () => {};
    }),
  };
  return { api, emit: (e: HostEvent) => onEvent(e), telemetry: (f: TelemetryFrame) => onTelemetry(f) };
}

describe("app store", () => {
  it("initialises from the API and opens a first chat", async () => {
    const { api } = apiDouble();
    const store = createAppStore(api, { schedule: () => {} });
    await store.getState().actions.init();
    const s = store.getState();
    expect(s.model.info).toBe(model);
    expect(s.policy.state).toBe(policy);
    expect(s.chats.order).toEqual(["c1"]);
    expect(s.chats.activeId).toBe("c1");
  });

  it("batches chat deltas into one store update per animation frame", async () => {
    const { api, emit } = apiDouble();
    const frames: Array<() => void> = [];
    const store = createAppStore(api, { schedule: (f) => frames.push(f) });
    await store.getState().actions.init();
    await store.getState().actions.newChat();
    const listener = vi.fn();
    store.subscribe(listener);
    for (let i = 0; i < 50; i++) {
      emit({ type: "chat.delta", chatId: "c1", text: "a" });
      emit({ type: "chat.delta", chatId: "c2", text: "b" });
    }
    expect(listener).not.toHaveBeenCalled();
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(listener).toHaveBeenCalledTimes(1);
    const s = store.getState();
    expect(s.chats.chats.c1!.streaming).toBe("a".repeat(50));
    expect(s.chats.chats.c2!.streamedDeltas).toBe(50);
  });

  it("flushes pending deltas before the next non-delta event (order kept)", async () => {
    const { api, emit } = apiDouble();
    const store = createAppStore(api, { schedule: () => {} });
    await store.getState().actions.init();
    emit({ type: "chat.delta", chatId: "c1", text: "Hel" });
    emit({ type: "chat.delta", chatId: "c1", text: "lo" });
    emit({ type: "chat.done", chatId: "c1", message: { role: "assistant", text: "Hello" } });
    const chat = store.getState().chats.chats.c1!;
    expect(chat.streaming).toBe("");
    expect(chat.messages.at(-1)!.text).toBe("Hello");
  });

  it("send is optimistic and rolls back on failure", async () => {
    const { api } = apiDouble();
    const store = createAppStore(api, { schedule: () => {} });
    await store.getState().actions.init();
    expect(await store.getState().actions.send("c1", "hi")).toBe(true);
    expect(api.send).toHaveBeenCalledWith("c1", "hi");
    expect(store.getState().chats.chats.c1!.messages).toEqual([{ role: "user", text: "hi" }]);
    vi.mocked(api.send).mockRejectedValueOnce(Object.assign(new Error("busy"), { code: "CHAT_BUSY" }));
    expect(await store.getState().actions.send("c1", "again")).toBe(false);
    expect(store.getState().chats.chats.c1!.messages).toEqual([{ role: "user", text: "hi" }]);
    expect(store.getState().chats.chats.c1!.error).toEqual({ code: "CHAT_BUSY", message: "busy" });
  });

  it("sets the policy with a pending state and stores the host's answer", async () => {
    const { api } = apiDouble();
    const store = createAppStore(api, { schedule: () => {} });
    await store.getState().actions.init();
    const p = store.getState().actions.setPolicy({ mode: "preset", preset: "aggressive" });
    expect(store.getState().policy.pending).toEqual({ mode: "preset", preset: "aggressive" });
    await p;
    expect(store.getState().policy.pending).toBeNull();
    expect(store.getState().policy.state!.setting).toEqual({ mode: "preset", preset: "aggressive" });
  });

  it("stores telemetry frames without touching the chats slice", async () => {
    const { api, telemetry } = apiDouble();
    const store = createAppStore(api, { schedule: () => {}, now: () => 42 });
    await store.getState().actions.init();
    const chatsBefore = store.getState().chats;
    telemetry(frame(1, ["c1"]));
    expect(store.getState().telemetry.frame!.seq).toBe(1);
    expect(store.getState().telemetry.receivedAt).toBe(42);
    expect(store.getState().chats).toBe(chatsBefore);
  });

  it("closes a chat through the API and removes its tab", async () => {
    const { api } = apiDouble();
    const store = createAppStore(api, { schedule: () => {} });
    await store.getState().actions.init();
    await store.getState().actions.newChat();
    await store.getState().actions.closeChat("c1");
    expect(api.closeChat).toHaveBeenCalledWith("c1");
    expect(store.getState().chats.order).toEqual(["c2"]);
    expect(store.getState().chats.activeId).toBe("c2");
  });
});
