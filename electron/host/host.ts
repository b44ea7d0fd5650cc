// The host service: the LynxApi the renderer talks to, over Electron IPC or web mode's HTTP/WebSocket.
// It owns the engine (one model at a time) and fans its events and telemetry out to subscribers.
import { existsSync } from "node:fs";
import {
  defaultLocalApiSettings,
  maxMessageLength,
  type AggressivenessSetting,
  type AppSettings,
  type ChatId,
  type ChatSettings,
  type ChatSnapshot,
  type HostEvent,
  type LynxApi,
  type ModelInfo,
  type PolicyState,
  type StorageInfo,
  type TelemetryFrame,
} from "../api/contract.js";
import { LynxEngine, type EngineOptions } from "../engine/engine.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";
import { defaultAppSettings, exportChat, openChatStore, type ChatStore } from "../store/index.js";
import { openModelSettingsStore } from "../store/model-settings.js";
import { createChatPersistence } from "./chat-persistence.js";
import { createPruneCheckService } from "./prune-check-service.js";
import { createLocalApiService } from "./local-api.js";

export interface LynxHost extends LynxApi {
  openModel(path: string): Promise<ModelInfo>;
  dispose(): Promise<void>;
}

export interface HostOptions {
  modelPath: string;
  /** Use the model of the last session instead of modelPath when it still exists (no model was asked for). */
  preferStoredModel?: boolean;
  maxChats?: number;
  threads?: number;
  /** The chat store's folder; without one nothing is saved. */
  dataDir?: string;
  /** A smaller pruning check than the app's (tests): prompts and answer length of the probe. */
  pruneCheckSize?: { prompts?: number; maxTokens?: number };
}

const recentModelsKept = 8;

export async function createHost(options: HostOptions): Promise<LynxHost> {
  // the store first: a folder locked by another process is refused before a model is loaded
  const store: ChatStore | null = options.dataDir ? openChatStore(options.dataDir) : null;
  const saved = store?.settings() ?? defaultAppSettings;
  const maxChats = options.maxChats ?? saved.maxChats ?? undefined;
  const threads = options.threads ?? saved.threads ?? undefined;
  const engineOptions = (modelPath: string): EngineOptions => ({
    modelPath,
    ...(maxChats !== undefined ? { maxChats } : {}),
    ...(threads !== undefined ? { threads } : {}),
  });
  const firstModel = options.preferStoredModel && saved.lastModel && existsSync(saved.lastModel) ? saved.lastModel : options.modelPath;

  let engine: LynxEngine;
  try {
    engine = await LynxEngine.load(engineOptions(firstModel));
  } catch (err) {
    store?.close();
    throw err;
  }
  const eventListeners = new Set<(event: HostEvent) => void>();
  // the pruning check and what Auto stands for, per model file (electron/prune-check)
  const pruneCheck = createPruneCheckService({
    modelSettings: options.dataDir ? openModelSettingsStore(options.dataDir) : null,
    emit: (event) => emit(event),
    ...(options.pruneCheckSize ? { size: options.pruneCheckSize } : {}),
  });
  pruneCheck.attach(engine);
  const telemetryListeners = new Set<(frame: TelemetryFrame) => void>();
  let unsubscribeEngine: Array<() => void> = [];

  const emit = (event: HostEvent) => {
    for (const listener of eventListeners) listener(event);
  };

  const snapshotOf = (chatId: ChatId) => {
    try {
      return engine.chat(chatId).snapshot();
    } catch {
      return null;
    }
  };
  let storeFailed = false;
  const persistence = store
    ? createChatPersistence(store, {
        snapshot: snapshotOf,
        historyChanged: () => emit({ type: "history.changed" }),
        failed(error) {
          // said once: a full disk should not become an error per token
          if (storeFailed) return;
          storeFailed = true;
          const body = toEngineError(error);
          emit({ type: "host.error", code: body.code, message: `chats are not being saved: ${body.message}` });
        },
      })
    : null;
  /** A chat the host changed itself (title, settings): saved like the engine's own snapshots, then announced. */
  const chatChanged = (snapshot: ChatSnapshot) => {
    const event: HostEvent = { type: "chat.snapshot", chat: snapshot };
    persistence?.onEvent(event);
    emit(event);
  };
  /** The open tabs, in order, as the engine holds them. */
  const saveTabs = () => store?.setTabs(engine.chats().map((chat) => chat.id));
  const rememberModel = (path: string) => {
    if (!store) return;
    const recent = [path, ...store.settings().recentModels.filter((p) => p !== path)].slice(0, recentModelsKept);
    store.updateSettings({ lastModel: path, recentModels: recent });
  };
  /** Re-creates the stored chats that were open tabs, and the pruning setting, on this engine. */
  const restoreSession = () => {
    if (!store) return;
    engine.setAggressiveness(store.settings().pruning);
    for (const id of store.tabs()) {
      const chat = store.get(id);
      if (chat) engine.restoreChat({ id, title: chat.title, status: "idle", settings: chat.settings, messages: chat.messages });
    }
  };
  try {
    restoreSession();
    rememberModel(engine.info.path);
  } catch (err) {
    await engine.dispose();
    store?.close();
    throw err;
  }

  const attach = () => {
    unsubscribeEngine.forEach((off) => off());
    // the store hears an event before any page does
    unsubscribeEngine = [...(persistence ? [engine.subscribe(persistence.onEvent)] : []), engine.subscribe(emit)];
    if (telemetryListeners.size > 0) unsubscribeEngine.push(engine.telemetry.subscribe(fanOutTelemetry));
  };
  const fanOutTelemetry = (frame: TelemetryFrame) => {
    for (const listener of telemetryListeners) listener(frame);
  };
  attach();

  // the local API serves whichever engine is current; none while a model switch runs
  let switching = false;
  const localApi = createLocalApiService({
    engine: () => (switching ? null : engine),
    load: () => store?.settings().localApi ?? defaultLocalApiSettings,
    // without a data folder the settings live as long as the host
    save: (settings) => void store?.updateSettings({ localApi: settings }),
  });
  await localApi.restore();

  /** Starts a generation without waiting for it: progress arrives as events, failures as chat.error. */
  const start = (run: () => Promise<unknown>) => {
    try {
      run().catch(() => {});
    } catch (err) {
      throw toEngineError(err);
    }
  };

  /** A message that cannot be saved is not answered: the generation just started is stopped again. */
  const saveBeforeGenerating = (chat: { snapshot(): ChatSnapshot; stop(): void }) => {
    try {
      persistence?.sync(chat.snapshot());
    } catch (err) {
      chat.stop();
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
      const snapshot = engine.openChat(settings).snapshot();
      saveTabs();
      return snapshot;
    },
    async renameChat(chatId: ChatId, title: string) {
      if (!snapshotOf(chatId) && store?.has(chatId)) {
        store.rename(chatId, title.trim().slice(0, 200) || title);
        emit({ type: "history.changed" });
        return;
      }
      const chat = engine.chat(chatId);
      chat.title = title.trim().slice(0, 200) || chat.title;
      chatChanged(chat.snapshot());
    },
    async updateChatSettings(chatId: ChatId, settings: Partial<ChatSettings>) {
      const chat = engine.chat(chatId);
      if (settings.systemPrompt !== undefined) chat.settings.systemPrompt = settings.systemPrompt;
      if (settings.sampling) chat.settings.sampling = { ...chat.settings.sampling, ...settings.sampling };
      chatChanged(chat.snapshot());
    },
    async send(chatId, text) {
      checkText(text);
      const chat = engine.chat(chatId);
      start(() => chat.send(text));
      // the engine added the user's message synchronously and has not decoded yet (it yields first):
      // saving here makes the message durable before its generation starts
      saveBeforeGenerating(chat);
    },
    async stop(chatId) {
      engine.chat(chatId).stop();
    },
    async regenerate(chatId) {
      const chat = engine.chat(chatId);
      start(() => chat.regenerate());
      saveBeforeGenerating(chat);
    },
    async editLastAndResend(chatId, text) {
      checkText(text);
      const chat = engine.chat(chatId);
      start(() => chat.editLastAndResend(text));
      saveBeforeGenerating(chat);
    },
    async resetChat(chatId) {
      await engine.chat(chatId).reset();
    },
    async closeChat(chatId) {
      // the tab closes; the chat stays in the store, in the history
      await engine.closeChat(chatId);
      saveTabs();
    },
    async listHistory(query = {}) {
      const open = new Set(engine.chats().map((chat) => chat.id));
      if (!store) {
        const needle = query.search?.trim().toLowerCase() ?? "";
        return engine
          .chats()
          .map((chat) => chat.snapshot())
          .filter((c) => !needle || c.title.toLowerCase().includes(needle) || c.messages.some((m) => m.text.toLowerCase().includes(needle)))
          .map((c) => ({ id: c.id, title: c.title, createdAt: 0, updatedAt: 0, messageCount: c.messages.length, preview: c.messages.at(-1)?.text.slice(0, 160) ?? "", open: true }));
      }
      return store.list(query).map((summary) => ({ ...summary, open: open.has(summary.id) }));
    },
    async reopenChat(chatId) {
      const live = snapshotOf(chatId);
      if (live) return live;
      const chat = store?.get(chatId);
      if (!chat) throw new EngineError("CHAT_NOT_FOUND", `no stored chat with id ${chatId}`);
      // its context is rebuilt from these messages on its next send
      const snapshot = engine.restoreChat({ id: chat.id, title: chat.title, status: "idle", settings: chat.settings, messages: chat.messages }).snapshot();
      saveTabs();
      emit({ type: "chat.snapshot", chat: snapshot });
      return snapshot;
    },
    async deleteChat(chatId) {
      const open = snapshotOf(chatId) !== null;
      if (!open && !store?.has(chatId)) throw new EngineError("CHAT_NOT_FOUND", `no chat with id ${chatId}`);
      if (open) await engine.closeChat(chatId);
      if (store?.has(chatId)) store.deleteChat(chatId);
      saveTabs();
      emit({ type: "history.changed" });
    },
    async exportChat(chatId, format) {
      const live = snapshotOf(chatId);
      const stored = store?.get(chatId);
      if (stored) return exportChat(live ? { ...stored, title: live.title, settings: live.settings, messages: live.messages } : stored, format);
      if (!live) throw new EngineError("CHAT_NOT_FOUND", `no chat with id ${chatId}`);
      return exportChat({ id: live.id, title: live.title, createdAt: Date.now(), updatedAt: Date.now(), settings: live.settings, messages: live.messages }, format);
    },
    async getAppSettings(): Promise<AppSettings> {
      const settings = store?.settings() ?? { ...defaultAppSettings, lastModel: engine.info.path, recentModels: [engine.info.path] };
      return { ...settings, pruning: engine.policy.setting };
    },
    async updateAppSettings(patch) {
      if (!store) throw new EngineError("INVALID_INPUT", "settings are not saved here: start with a data folder (--data-dir)");
      const settings = store.updateSettings(patch);
      return { ...settings, pruning: engine.policy.setting };
    },
    async getStorageInfo(): Promise<StorageInfo> {
      return { dataDir: store?.dir ?? null, formatVersion: store?.formatVersion ?? 1, notices: [...(store?.notices ?? [])] };
    },
    async getPruneCheck() {
      return pruneCheck.state();
    },
    async startPruneCheck(options = {}) {
      return pruneCheck.start(options);
    },
    async cancelPruneCheck() {
      await pruneCheck.cancel();
    },
    async getLocalApi() {
      return localApi.state();
    },
    async setLocalApi(settings) {
      return localApi.configure(settings);
    },
    async getPolicy(): Promise<PolicyState> {
      return engine.policy;
    },
    async setPolicy(setting: AggressivenessSetting) {
      const state = engine.setAggressiveness(setting);
      store?.updateSettings({ pruning: setting });
      return state;
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
      await pruneCheck.cancel();
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
      pruneCheck.attach(engine);
      engine.setAggressiveness(setting);
      attach();
      if (failure) throw toEngineError(failure);
      rememberModel(engine.info.path);
      emit({ type: "model.changed", model: engine.info, policy: engine.policy });
      return engine.info;
    },
    async dispose() {
      eventListeners.clear();
      telemetryListeners.clear();
      await pruneCheck.cancel();
      await localApi.close().catch(() => {});
      // the engine stops its generations first: the store records them as stopped answers
      try {
        await engine.dispose();
      } finally {
        unsubscribeEngine.forEach((off) => off());
        store?.close();
      }
    },
  };
  // A model switch: API requests in flight end with a 503 (their sequences go with the old engine) and new ones get
  // a 503 until the new model is loaded; then the API serves it. A bad file is refused before anything is ended.
  const switchModel = host.openModel.bind(host);
  host.openModel = async (path: string) => {
    await inspectModelFile(path);
    switching = true;
    try {
      await localApi.endRequests("the model is being switched: retry in a few seconds");
      return await switchModel(path);
    } finally {
      switching = false;
    }
  };
  return host;
}
