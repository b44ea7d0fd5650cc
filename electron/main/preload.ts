// Preload (sandboxed, bundled to CommonJS at dist/electron/preload.cjs): exposes one narrow, typed
// API as window.lynx that implements LynxApi. Only named functions cross the bridge; ipcRenderer
// itself never does. Errors carry their code in the message ("[CODE] text") because contextBridge
// drops custom properties of Error objects.

import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from "electron";
import type {
  PruneCheckOptions,
  AggressivenessSetting,
  AppSettings,
  AppSettingsUpdate,
  ChatId,
  ChatSettings,
  ExportFormat,
  FitRequest,
  ModelSettingsUpdate,
  HistoryQuery,
  HostEvent,
  LocalApiSettings,
  ModelInfo,
  TelemetryFrame,
} from "../api/contract.js";
import {
  IPC_EVENT,
  IPC_MENU,
  IPC_OPEN_EXTERNAL,
  IPC_OPEN_MODEL_PATH,
  IPC_SAVE_EXPORT,
  IPC_SUBSCRIBE,
  IPC_TELEMETRY,
  IPC_UNSUBSCRIBE,
  ipcChannelFor,
  isVettedExternalUrl,
  menuCommands,
  type IpcResult,
  type LynxDesktopBridge,
  type MenuCommand,
} from "../api/desktop.js";
import type { ApiMethod } from "../api/schemas.js";
import { decodeTelemetryFrame } from "../api/telemetry-codec.js";

async function unwrap<T>(promise: Promise<IpcResult<T>>): Promise<T> {
  const result = await promise;
  if (result.ok) return result.value;
  throw new Error(`[${result.error.code}] ${result.error.message}`);
}

function call<T>(method: ApiMethod, ...args: unknown[]): Promise<T> {
  return unwrap(ipcRenderer.invoke(ipcChannelFor(method), ...args) as Promise<IpcResult<T>>);
}

const eventListeners = new Set<(e: HostEvent) => void>();
const telemetryListeners = new Set<(f: TelemetryFrame) => void>();
let subscribed = false;

ipcRenderer.on(IPC_EVENT, (_e: IpcRendererEvent, event: HostEvent) => {
  for (const l of eventListeners) l(event);
});
ipcRenderer.on(IPC_TELEMETRY, (_e: IpcRendererEvent, payload: ArrayBuffer | Uint8Array) => {
  if (telemetryListeners.size === 0) return;
  let frame: TelemetryFrame;
  try {
    frame = decodeTelemetryFrame(payload);
  } catch {
    return;
  }
  for (const l of telemetryListeners) l(frame);
});

const bridge: LynxDesktopBridge = {
  transport: "electron",
  getModel: () => call<ModelInfo>("getModel"),
  listChats: () => call("listChats"),
  openChat: (settings?: Partial<ChatSettings> & { title?: string }) =>
    settings === undefined ? call("openChat") : call("openChat", settings),
  renameChat: (chatId: ChatId, title: string) => call("renameChat", chatId, title),
  updateChatSettings: (chatId: ChatId, settings: Partial<ChatSettings>) => call("updateChatSettings", chatId, settings),
  send: (chatId: ChatId, text: string) => call("send", chatId, text),
  stop: (chatId: ChatId) => call("stop", chatId),
  regenerate: (chatId: ChatId) => call("regenerate", chatId),
  editLastAndResend: (chatId: ChatId, text: string) => call("editLastAndResend", chatId, text),
  resetChat: (chatId: ChatId) => call("resetChat", chatId),
  closeChat: (chatId: ChatId) => call("closeChat", chatId),
  getPolicy: () => call("getPolicy"),
  setPolicy: (setting: AggressivenessSetting) => call("setPolicy", setting),
  listHistory: (query?: HistoryQuery) => (query === undefined ? call("listHistory") : call("listHistory", query)),
  reopenChat: (chatId: ChatId) => call("reopenChat", chatId),
  deleteChat: (chatId: ChatId) => call("deleteChat", chatId),
  exportChat: (chatId: ChatId, format: ExportFormat) => call("exportChat", chatId, format),
  getAppSettings: () => call("getAppSettings"),
  updateAppSettings: (settings: Partial<AppSettingsUpdate>) => call("updateAppSettings", settings),
  getStorageInfo: () => call("getStorageInfo"),
  getPruneCheck: () => call("getPruneCheck"),
  startPruneCheck: (options?: PruneCheckOptions) => (options === undefined ? call("startPruneCheck") : call("startPruneCheck", options)),
  cancelPruneCheck: () => call("cancelPruneCheck"),
  getLocalApi: () => call("getLocalApi"),
  setLocalApi: (settings: Partial<LocalApiSettings>) => call("setLocalApi", settings),
  listModels: () => call("listModels"),
  estimateFit: (path: string, options?: FitRequest) => (options === undefined ? call("estimateFit", path) : call("estimateFit", path, options)),
  loadModel: (path: string, options?: { force?: boolean }) => (options === undefined ? call("loadModel", path) : call("loadModel", path, options)),
  updateModelSettings: (path: string, patch: ModelSettingsUpdate) => call("updateModelSettings", path, patch),
  deleteModel: (path: string) => call("deleteModel", path),
  startDownload: (uri: string) => call("startDownload", uri),
  pauseDownload: (id: string) => call("pauseDownload", id),
  resumeDownload: (id: string) => call("resumeDownload", id),
  cancelDownload: (id: string) => call("cancelDownload", id),
  openModelDialog: () => call<ModelInfo | null>("openModelDialog"),
  chooseModelsDir: () => call<AppSettings | null>("chooseModelsDir"),
  openModelFile: (file: File) => {
    const filePath = webUtils.getPathForFile(file);
    if (!filePath) return Promise.reject(new Error("[INVALID_INPUT] the dropped item is not a file on disk"));
    return unwrap(ipcRenderer.invoke(IPC_OPEN_MODEL_PATH, filePath) as Promise<IpcResult<ModelInfo>>);
  },
  saveChatExport: (chatId: ChatId, format: ExportFormat) =>
    unwrap(ipcRenderer.invoke(IPC_SAVE_EXPORT, chatId, format) as Promise<IpcResult<string | null>>),
  subscribe(onEvent, onTelemetry) {
    if (typeof onEvent !== "function" || typeof onTelemetry !== "function") throw new TypeError("subscribe needs two functions");
    eventListeners.add(onEvent);
    telemetryListeners.add(onTelemetry);
    if (!subscribed) {
      subscribed = true;
      ipcRenderer.send(IPC_SUBSCRIBE);
    }
    return () => {
      eventListeners.delete(onEvent);
      telemetryListeners.delete(onTelemetry);
      if (eventListeners.size === 0 && telemetryListeners.size === 0 && subscribed) {
        subscribed = false;
        ipcRenderer.send(IPC_UNSUBSCRIBE);
      }
    };
  },
  onMenuCommand(listener: (command: MenuCommand) => void) {
    const handler = (_e: IpcRendererEvent, command: unknown) => {
      if (typeof command === "string" && (menuCommands as readonly string[]).includes(command)) listener(command as MenuCommand);
    };
    ipcRenderer.on(IPC_MENU, handler);
    return () => {
      ipcRenderer.removeListener(IPC_MENU, handler);
    };
  },
  openExternal: (url: string) =>
    isVettedExternalUrl(url) ? unwrap(ipcRenderer.invoke(IPC_OPEN_EXTERNAL, url) as Promise<IpcResult<boolean>>) : Promise.resolve(false),
};

contextBridge.exposeInMainWorld("lynx", bridge);
