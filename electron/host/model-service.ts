// The host's model side: what a model is loaded with (explicit options, then its own remembered settings, then the
// app's), the model library (folder, recent files, downloads, per-model settings) and the checks a file passes before
// the current model is unloaded for it. The engine is replaced on a switch, so it is always read through a getter.
import path from "node:path";
import type { AggressivenessSetting, AppSettings, HostEvent, LynxApi, ModelInfo, ModelSettings } from "../api/contract.js";
import type { EngineOptions, LynxEngine } from "../engine/engine.js";
import { EngineError } from "../engine/errors.js";
import { inspectModelFile } from "../engine/model-file.js";
import { ModelLibrary } from "../models/index.js";
import type { ChatStore } from "../store/index.js";
import { modelFingerprint, type ModelSettingsStore } from "../store/model-settings.js";

const recentModelsKept = 8;

/** The host options that decide how a model is loaded and where the library lives. */
export interface ModelHostOptions {
  maxChats?: number;
  threads?: number;
  dataDir?: string;
  modelsDir?: string;
  huggingFaceEndpoint?: string;
}

export interface ModelSettingsResolution {
  /** A model's remembered settings (per file content), or none for a file that cannot be read. */
  settingsOf(modelPath: string): ModelSettings | null;
  /** What the engine is loaded with for `modelPath`. */
  engineOptions(modelPath: string): EngineOptions;
  /** The pruning to start a model with: its own default when it has one, else the app's current setting. */
  pruningFor(modelPath: string, current: AggressivenessSetting): AggressivenessSetting;
}

/** Needed before the first engine exists (it is loaded with these options), so apart from the library. */
export function resolveModelSettings(deps: {
  options: ModelHostOptions;
  store: ChatStore | null;
  /** The app settings read at startup (used when there is no store). */
  saved: AppSettings;
  modelSettings: ModelSettingsStore | null;
}): ModelSettingsResolution {
  const { options, store, saved, modelSettings } = deps;
  const settingsOf = (modelPath: string) => {
    if (!modelSettings) return null;
    try {
      return modelSettings.get(modelFingerprint(path.resolve(modelPath)));
    } catch {
      return null;
    }
  };
  return {
    settingsOf,
    // explicit options (CLI flags) first, then the model's own settings, then the app's
    engineOptions(modelPath) {
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
    },
    pruningFor: (modelPath, current) => settingsOf(modelPath)?.defaultPruning ?? current,
  };
}

/** The LynxApi methods the model service answers. */
export type ModelApi = Pick<
  LynxApi,
  "listModels" | "estimateFit" | "loadModel" | "updateModelSettings" | "deleteModel" | "startDownload" | "pauseDownload" | "resumeDownload" | "cancelDownload"
>;

export interface ModelService {
  /** The model library (null without a data folder). */
  readonly library: ModelLibrary | null;
  readonly api: ModelApi;
  /** Refuses a file before the current model is unloaded: missing, foreign, truncated, or (unless forced) too big. */
  checkBeforeLoad(modelPath: string, loadOptions: { force?: boolean }): Promise<void>;
  /** A model is loaded: it heads the recent files and is the one the next session starts with. */
  remember(modelPath: string): void;
  /** Measures the loaded model's context memory (a switch frees it, so the fit check counts it as available). */
  noteContextBytes(): void;
  /** The modelsDir part of an app settings change (null: back to the default folder, created if missing). */
  setModelsDir(dir: string | null | undefined): void;
  dispose(): Promise<void>;
}

export function createModelService(deps: {
  options: ModelHostOptions;
  store: ChatStore | null;
  saved: AppSettings;
  modelSettings: ModelSettingsStore | null;
  resolution: ModelSettingsResolution;
  /** The current engine. */
  engine(): LynxEngine;
  emit(event: HostEvent): void;
  /** Loads a file the library lists (the host's model switch). */
  open(modelPath: string, loadOptions: { force?: boolean }): Promise<ModelInfo>;
}): ModelService {
  const { options, store, saved, modelSettings, resolution } = deps;
  let loadedContextBytes = 0;
  const library = options.dataDir
    ? ModelLibrary.open({
        modelsDir: options.modelsDir ?? saved.modelsDir ?? path.join(options.dataDir, "models"),
        stateDir: options.dataDir,
        settings: modelSettings,
        recent: () => store?.settings().recentModels ?? [],
        loadedPath: () => deps.engine().info.path ?? null,
        releasableBytes: () => loadedContextBytes,
        events: (event) => deps.emit(event),
        ...(options.huggingFaceEndpoint ? { huggingFaceEndpoint: options.huggingFaceEndpoint } : {}),
      })
    : null;

  const needLibrary = (): ModelLibrary => {
    if (!library) throw new EngineError("INVALID_INPUT", "the model library needs a data folder (--data-dir)");
    return library;
  };
  const listed = (lib: ModelLibrary, modelPath: string): string => {
    const file = path.resolve(modelPath);
    if (!lib.lists(file)) throw new EngineError("MODEL_NOT_FOUND", `${path.basename(file)} is not in the model library (the models folder or the recent files)`);
    return file;
  };

  const api: ModelApi = {
    async listModels() {
      return needLibrary().list();
    },
    async estimateFit(modelPath, request = {}) {
      const lib = needLibrary();
      const file = listed(lib, modelPath);
      return lib.estimate(file, request, { maxChats: options.maxChats ?? store?.settings().maxChats ?? null });
    },
    async loadModel(modelPath, loadOptions = {}) {
      // a page may only load what the library lists (the models folder, the recent files)
      const file = listed(needLibrary(), modelPath);
      return deps.open(file, loadOptions);
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
  };

  return {
    library,
    api,
    async checkBeforeLoad(modelPath, loadOptions) {
      // a missing, foreign or truncated file is refused before the current model is unloaded
      await inspectModelFile(modelPath);
      // and one that cannot fit with its settings, unless the user insists
      if (library) {
        const planned = resolution.engineOptions(modelPath);
        await library.checkFit(modelPath, { ...(planned.contextPerChat ? { contextSize: planned.contextPerChat } : {}), ...(planned.maxChats ? { maxChats: planned.maxChats } : {}) }, loadOptions);
      }
    },
    remember(modelPath) {
      if (!store) return;
      const recent = [modelPath, ...store.settings().recentModels.filter((p) => p !== modelPath)].slice(0, recentModelsKept);
      store.updateSettings({ lastModel: modelPath, recentModels: recent });
    },
    noteContextBytes() {
      if (!library) return;
      const info = deps.engine().info;
      library
        .estimate(info.path, { contextSize: info.contextLength, maxChats: info.maxChats })
        .then((fit) => {
          if (deps.engine().info.path === info.path) loadedContextBytes = fit.contextBytes;
        })
        .catch(() => {});
    },
    setModelsDir(dir) {
      if (dir === undefined || !library) return;
      if (dir === null) library.setModelsDir(path.join(options.dataDir!, "models"), { create: true });
      else library.setModelsDir(dir);
    },
    async dispose() {
      await library?.dispose();
    },
  };
}
