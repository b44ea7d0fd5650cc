// The host service: the LynxApi the renderer talks to, over Electron IPC or web mode's HTTP/WebSocket.
// It owns the engine (one model at a time; a model switch replaces it) and composes the services that answer the
// API: the open chats (chat-service), the stored ones (chat-history, chat-persistence), the model library and
// per-model settings (model-service), the pruning check and the local API; events fan out through host-events.
import { existsSync } from "node:fs";
import { defaultLocalApiSettings, type AggressivenessSetting, type AppSettings, type ChatId, type LynxApi, type ModelInfo, type PolicyState } from "../api/contract.js";
import { LynxEngine } from "../engine/engine.js";
import { EngineError, toEngineError } from "../engine/errors.js";
import { defaultAppSettings, openChatStore, type ChatStore } from "../store/index.js";
import { openModelSettingsStore, type ModelSettingsStore } from "../store/model-settings.js";
import type { ModelLibrary } from "../models/index.js";
import { createChatHistory } from "./chat-history.js";
import { createChatPersistence } from "./chat-persistence.js";
import { createChatService } from "./chat-service.js";
import { createHostEvents } from "./host-events.js";
import { createLocalApiService } from "./local-api.js";
import { createModelService, resolveModelSettings } from "./model-service.js";
import { createPruneCheckService } from "./prune-check-service.js";

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
  const resolution = resolveModelSettings({ options, store, saved, modelSettings });
  const firstModel = options.preferStoredModel && saved.lastModel && existsSync(saved.lastModel) ? saved.lastModel : options.modelPath;

  let engine: LynxEngine;
  try {
    engine = await LynxEngine.load(resolution.engineOptions(firstModel));
  } catch (err) {
    store?.close();
    throw err;
  }
  // every service reads the engine through this: a model switch replaces it
  const currentEngine = () => engine;
  const events = createHostEvents(currentEngine);
  const emit = events.emit;
  // the pruning check and what Auto stands for, per model file (electron/prune-check)
  const pruneCheck = createPruneCheckService({
    modelSettings,
    emit,
    ...(options.pruneCheckSize ? { size: options.pruneCheckSize } : {}),
  });
  pruneCheck.attach(engine);
  // opened once a model is loaded (it resumes interrupted downloads)
  const models = createModelService({
    options,
    store,
    saved,
    modelSettings,
    resolution,
    engine: currentEngine,
    emit,
    open: (file, loadOptions) => openModel(file, loadOptions),
  });

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
  /** The open tabs, in order, as the engine holds them. */
  const saveTabs = () => store?.setTabs(engine.chats().map((chat) => chat.id));
  const chatDeps = { engine: currentEngine, store, emit, snapshotOf, saveTabs };
  const chats = createChatService({ ...chatDeps, persistence });
  const history = createChatHistory(chatDeps);
  try {
    history.restoreSession(resolution.pruningFor);
    models.remember(engine.info.path);
  } catch (err) {
    await engine.dispose();
    store?.close();
    throw err;
  }
  // the store hears an engine event before any page does
  const attach = () => events.attach(persistence ? persistence.onEvent : null);
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
  models.noteContextBytes();

  /** Replaces the engine by one for `modelPath`, carrying the open chats over (the previous model on a failure). */
  const switchTo = async (modelPath: string): Promise<ModelInfo> => {
    const previous = engine;
    const setting = resolution.pruningFor(modelPath, previous.policy.setting);
    // conversations survive the switch: stopped, then re-created on the new engine with their history
    await Promise.all(previous.chats().map((chat) => chat.settle()));
    const open = previous.chats().map((chat) => chat.snapshot());
    await previous.dispose();
    let failure: unknown = null;
    try {
      engine = await LynxEngine.load(resolution.engineOptions(modelPath));
    } catch (err) {
      // the new file passed inspection but failed to load: go back to the previous model
      failure = err;
      engine = await LynxEngine.load(resolution.engineOptions(previous.info.path));
    }
    for (const chat of open) engine.restoreChat({ ...chat, status: "idle" });
    pruneCheck.attach(engine);
    engine.setAggressiveness(setting);
    attach();
    if (failure) throw toEngineError(failure);
    models.remember(engine.info.path);
    models.noteContextBytes();
    emit({ type: "model.changed", model: engine.info, policy: engine.policy });
    emit({ type: "library.changed" });
    return engine.info;
  };

  async function openModel(modelPath: string, loadOptions: { force?: boolean } = {}): Promise<ModelInfo> {
    await models.checkBeforeLoad(modelPath, loadOptions);
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
  }

  const host: LynxHost = {
    async getModel() {
      return engine.info;
    },
    ...chats,
    ...history.api,
    async getAppSettings(): Promise<AppSettings> {
      const settings = store?.settings() ?? { ...defaultAppSettings, lastModel: engine.info.path, recentModels: [engine.info.path] };
      return { ...settings, pruning: engine.policy.setting };
    },
    async updateAppSettings(patch) {
      if (!store) throw new EngineError("INVALID_INPUT", "settings are not saved here: start with a data folder (--data-dir)");
      models.setModelsDir(patch.modelsDir);
      const settings = store.updateSettings(patch);
      return { ...settings, pruning: engine.policy.setting };
    },
    ...models.api,
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
    subscribe: events.subscribe,
    library: models.library,
    openModel,
    async dispose() {
      events.clearListeners();
      await pruneCheck.cancel();
      await localApi.close().catch(() => {});
      // the engine stops its generations first: the store records them as stopped answers
      try {
        await models.dispose();
        await engine.dispose();
      } finally {
        events.detach();
        store?.close();
      }
    },
  };
  return host;
}
