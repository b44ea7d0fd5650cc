// The host service: the LynxApi the renderer talks to, over Electron IPC or web mode's HTTP/WebSocket.
// It owns the engine (one model at a time) and fans its events and telemetry out to subscribers.
import {
  maxMessageLength,
  type AggressivenessSetting,
  type ChatId,
  type ChatSettings,
  type ChatSnapshot,
  type HostEvent,
  type LynxApi,
  type ModelInfo,
  type PolicyState,
  type TelemetryFrame,
} from "../api/contract.js";
import { LynxEngine, type EngineOptions } from "../engine/engine.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";

export interface LynxHost extends LynxApi {
  openModel(path: string): Promise<ModelInfo>;
  dispose(): Promise<void>;
}

export interface HostOptions {
  modelPath: string;
  maxChats?: number;
  threads?: number;
}

export async function createHost(options: HostOptions): Promise<LynxHost> {
  const engineOptions = (modelPath: string): EngineOptions => ({
    modelPath,
    ...(options.maxChats !== undefined ? { maxChats: options.maxChats } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });

  let engine = await LynxEngine.load(engineOptions(options.modelPath));
  const eventListeners = new Set<(event: HostEvent) => void>();
  const telemetryListeners = new Set<(frame: TelemetryFrame) => void>();
  let unsubscribeEngine: Array<() => void> = [];

  const emit = (event: HostEvent) => {
    for (const listener of eventListeners) listener(event);
  };

  const attach = () => {
    unsubscribeEngine.forEach((off) => off());
    unsubscribeEngine = [engine.subscribe(emit)];
    if (telemetryListeners.size > 0) unsubscribeEngine.push(engine.telemetry.subscribe(fanOutTelemetry));
  };
  const fanOutTelemetry = (frame: TelemetryFrame) => {
    for (const listener of telemetryListeners) listener(frame);
  };
  attach();

  /** Starts a generation without waiting for it: progress arrives as events, failures as chat.error. */
  const start = (run: () => Promise<unknown>) => {
    try {
      run().catch(() => {});
    } catch (err) {
      throw toEngineError(err);
    }
  };

  const checkText = (text: string) => {
    if (typeof text !== "string" || text.trim().length === 0) throw new EngineError("INVALID_INPUT", "the message is empty");
    if (text.length > maxMessageLength) throw new EngineError("INVALID_INPUT", `the message is longer than ${maxMessageLength} characters`);
  };

  const host: LynxHost = {
    async getModel() {
      return engine.info;
    },
    async listChats(): Promise<ChatSnapshot[]> {
      return engine.chats().map((chat) => chat.snapshot());
    },
    async openChat(settings = {}) {
      return engine.openChat(settings).snapshot();
    },
    async renameChat(chatId: ChatId, title: string) {
      const chat = engine.chat(chatId);
      chat.title = title.trim().slice(0, 200) || chat.title;
      emit({ type: "chat.snapshot", chat: chat.snapshot() });
    },
    async updateChatSettings(chatId: ChatId, settings: Partial<ChatSettings>) {
      const chat = engine.chat(chatId);
      if (settings.systemPrompt !== undefined) chat.settings.systemPrompt = settings.systemPrompt;
      if (settings.sampling) chat.settings.sampling = { ...chat.settings.sampling, ...settings.sampling };
      emit({ type: "chat.snapshot", chat: chat.snapshot() });
    },
    async send(chatId, text) {
      checkText(text);
      const chat = engine.chat(chatId);
      start(() => chat.send(text));
    },
    async stop(chatId) {
      engine.chat(chatId).stop();
    },
    async regenerate(chatId) {
      const chat = engine.chat(chatId);
      start(() => chat.regenerate());
    },
    async editLastAndResend(chatId, text) {
      checkText(text);
      const chat = engine.chat(chatId);
      start(() => chat.editLastAndResend(text));
    },
    async resetChat(chatId) {
      await engine.chat(chatId).reset();
    },
    async closeChat(chatId) {
      await engine.closeChat(chatId);
    },
    async getPolicy(): Promise<PolicyState> {
      return engine.policy;
    },
    async setPolicy(setting: AggressivenessSetting) {
      return engine.setAggressiveness(setting);
    },
    subscribe(onEvent, onTelemetry) {
      eventListeners.add(onEvent);
      const first = telemetryListeners.size === 0;
      telemetryListeners.add(onTelemetry);
      if (first) unsubscribeEngine.push(engine.telemetry.subscribe(fanOutTelemetry));
      return () => {
        eventListeners.delete(onEvent);
        telemetryListeners.delete(onTelemetry);
      };
    },
    async openModel(path: string) {
      // a missing, foreign or truncated file is refused before the current model is unloaded
      await inspectModelFile(path);
      const previous = engine;
      const setting = previous.policy.setting;
      // conversations survive the switch: stopped, then re-created on the new engine with their history
      await Promise.all(previous.chats().map((chat) => chat.settle()));
      const chats = previous.chats().map((chat) => chat.snapshot());
      await previous.dispose();
      let failure: unknown = null;
      try {
        engine = await LynxEngine.load(engineOptions(path));
      } catch (err) {
        // the new file passed inspection but failed to load: go back to the previous model
        failure = err;
        engine = await LynxEngine.load(engineOptions(previous.info.path));
      }
      for (const chat of chats) engine.restoreChat({ ...chat, status: "idle" });
      engine.setAggressiveness(setting);
      attach();
      if (failure) throw toEngineError(failure);
      emit({ type: "model.changed", model: engine.info, policy: engine.policy });
      return engine.info;
    },
    async dispose() {
      unsubscribeEngine.forEach((off) => off());
      eventListeners.clear();
      telemetryListeners.clear();
      await engine.dispose();
    },
  };
  return host;
}
