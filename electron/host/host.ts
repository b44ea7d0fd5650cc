// The host service: the LynxApi the renderer talks to, over Electron IPC or web mode's HTTP/WebSocket.
// It owns the engine (one model at a time) and fans its events and telemetry out to subscribers.
import { existsSync } from "node:fs";
import path from "node:path";
import {
  defaultLocalApiSettings,
  maxMessageLength,
  type AggressivenessSetting,
  type AppSettings,
  type ChatId,
  type ChatSettings,
  type ChatSnapshot,
  type FitEstimate,
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
import { modelFingerprint, openModelSettingsStore, type ModelSettingsStore } from "../store/model-settings.js";
import { ModelLibrary } from "../models/index.js";
import { createChatPersistence } from "./chat-persistence.js";
import { createPruneCheckService } from "./prune-check-service.js";
import { createLocalApiService } from "./local-api.js";

export interface LynxHost extends LynxApi {
  /** Loads any GGUF path (the desktop app's file dialog, drag and drop, --model); `force` skips the fit check. */
  openModel(path: string, options?: { force?: boolean }): Promise<ModelInfo>;
  /** The model library (null without a data folder). */
  readonly library: ModelLibrary | null;
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
  /** The models folder (default: the saved setting, else <dataDir>/models). */
  modelsDir?: string;
  /** Where hf: URIs resolve (default Hugging Face; node-llama-cpp also reads HF_ENDPOINT). */
  huggingFaceEndpoint?: string;
}

const recentModelsKept = 8;

export async function createHost(options: HostOptions): Promise<LynxHost> {
  // the store first: a folder locked by another process is refused before a model is loaded
  const store: ChatStore | null = options.dataDir ? openChatStore(options.dataDir) : null;
  const saved = store?.settings() ?? defaultAppSettings;
  let modelSettings: ModelSettingsStore | null = null;
  try {
    modelSettings = options.dataDir ? openModelSettingsStore(options.dataDir) : null;
  } catch (err) {
    store?.close();
    throw err;
  }
  /** A model's remembered settings (per file content), or none for a file that cannot be read. */
  const settingsOf = (modelPath: string) => {
    if (!modelSettings) return null;
    try {
      return modelSettings.get(modelFingerprint(path.resolve(modelPath)));
    } catch {
      return null;
    }
  };
  // explicit options (CLI flags) first, then the model's own settings, then the app's
  const engineOptions = (modelPath: string): EngineOptions => {
    const own = settingsOf(modelPath);
    const appSettings = store?.settings() ?? saved;
    const maxChats = options.maxChats ?? own?.maxChats ?? appSettings.maxChats ?? undefined;
    const threads = options.threads ?? own?.threads ?? appSettings.threads ?? undefined;
    const contextSize = own?.contextSize ?? undefined;
    return {
      modelPath,
      ...(maxChats !== undefined ? { maxChats } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(contextSize !== undefined ? { contextPerChat: contextSize } : {}),
    };
  };
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
    modelSettings,
    emit: (event) => emit(event),
    ...(options.pruneCheckSize ? { size: options.pruneCheckSize } : {}),
  });
  pruneCheck.attach(engine);
  /** The current model's context memory (KV cache, buffers): freed by a switch, so counted as available for one. */
  let loadedContextBytes = 0;
  const library = options.dataDir
    ? ModelLibrary.open({
        modelsDir: options.modelsDir ?? saved.modelsDir ?? path.join(options.dataDir, "models"),
        stateDir: options.dataDir,
        settings: modelSettings,
        recent: () => store?.settings().recentModels ?? [],
        loadedPath: () => engine?.info.path ?? null,
        releasableBytes: () => loadedContextBytes,
        events: (event) => emit(event),
        ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
      })
    : null;
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
  /** The pruning to start a model with: its own default when it has one, else the app's current setting. */
  const pruningFor = (modelPath: string, current: AggressivenessSetting) => settingsOf(modelPath)?.defaultPruning ?? current;
  /** Re-creates the stored chats that were open tabs, and the pruning setting, on this engine. */
  const restoreSession = () => {
    if (!store) return;
    engine.setAggressiveness(pruningFor(engine.info.path, store.settings().pruning));
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

  const needLibrary = (): ModelLibrary => {
    if (!library) throw new EngineError("INVALID_INPUT", "the model library needs a data folder (--data-dir)");
    return library;
  };
  const listed = (lib: ModelLibrary, modelPath: string): string => {
    const file = path.resolve(modelPath);
    if (!lib.lists(file)) throw new EngineError("MODEL_NOT_FOUND", `${path.basename(file)} is not in the model library (the models folder or the recent files)`);
    return file;
  };
  const noteContextBytes = () => {
    if (!library) return;
    const info = engine.info;
    library
      .estimate(info.path, { contextSize: info.contextLength, maxChats: info.maxChats })
      .then((fit) => {
        if (engine.info.path === info.path) loadedContextBytes = fit.contextBytes;
      })
      .catch(() => {});
  };
  noteContextBytes();

  /** Replaces the engine by one for `modelPath`, carrying the open chats over (the previous model on a failure). */
  const switchTo = async (modelPath: string): Promise<ModelInfo> => {
    const previous = engine;
    const setting = pruningFor(modelPath, previous.policy.setting);
    // conversations survive the switch: stopped, then re-created on the new engine with their history
    await Promise.all(previous.chats().map((chat) => chat.settle()));
    const chats = previous.chats().map((chat) => chat.snapshot());
    await previous.dispose();
    let failure: unknown = null;
    try {
      engine = await LynxEngine.load(engineOptions(modelPath));
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
    noteContextBytes();
    emit({ type: "model.changed", model: engine.info, policy: engine.policy });
    emit({ type: "library.changed" });
    return engine.info;
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
      if (patch.modelsDir !== undefined && library) {
        if (patch.modelsDir === null) library.setModelsDir(path.join(options.dataDir!, "models"), { create: true });
        else library.setModelsDir(patch.modelsDir);
      }
      const settings = store.updateSettings(patch);
      return { ...settings, pruning: engine.policy.setting };
    },
    async listModels() {
      return needLibrary().list();
    },
    async estimateFit(modelPath, request = {}): Promise<FitEstimate> {
      const lib = needLibrary();
      const file = listed(lib, modelPath);
      return lib.estimate(file, request, { maxChats: options.maxChats ?? store?.settings().maxChats ?? null });
    },
    async loadModel(modelPath, loadOptions = {}) {
      // a page may only load what the library lists (the models folder, the recent files)
      const file = listed(needLibrary(), modelPath);
      return host.openModel(file, loadOptions);
    },
    async updateModelSettings(modelPath, patch) {
      const lib = needLibrary();
      return lib.updateSettings(listed(lib, modelPath), patch);
    },
    async deleteModel(modelPath) {
      needLibrary().remove(modelPath);
    },
    async startDownload(uri) {
      return needLibrary().downloads.start(uri);
    },
    async pauseDownload(id) {
      return needLibrary().downloads.pause(id);
    },
    async resumeDownload(id) {
      return needLibrary().downloads.resume(id);
    },
    async cancelDownload(id) {
      return needLibrary().downloads.cancel(id);
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
    library,
    async openModel(modelPath: string, loadOptions: { force?: boolean } = {}) {
      // a missing, foreign or truncated file is refused before the current model is unloaded
      await inspectModelFile(modelPath);
      // and one that cannot fit with its settings, unless the user insists
      if (library) {
        const planned = engineOptions(modelPath);
        await library.checkFit(modelPath, { ...(planned.contextPerChat ? { contextSize: planned.contextPerChat } : {}), ...(planned.maxChats ? { maxChats: planned.maxChats } : {}) }, loadOptions);
      }
      await pruneCheck.cancel();
      // API requests in flight end with a 503 (their sequences go with the old engine) and new ones get a 503 until
      // the new model is loaded; then the API serves it
      switching = true;
      try {
        await localApi.endRequests("the model is being switched: retry in a few seconds");
        return await switchTo(modelPath);
      } finally {
        switching = false;
      }
    },
    async dispose() {
      eventListeners.clear();
      telemetryListeners.clear();
      await pruneCheck.cancel();
      await localApi.close().catch(() => {});
      // the engine stops its generations first: the store records them as stopped answers
      try {
        await library?.dispose();
        await engine.dispose();
      } finally {
        unsubscribeEngine.forEach((off) => off());
        store?.close();
      }
    },
  };
  return host;
}
