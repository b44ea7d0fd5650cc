// The Electron-only extras of the preload bridge, and the IPC channel names shared by preload and main.
// Pure types and constants.

import type { AppSettings, ChatId, ExportFormat, LynxApi, ModelInfo } from "./contract.js";
import type { ApiMethod } from "./schemas.js";

/** Commands the application menu sends to the renderer (which knows the active tab). */
export type MenuCommand = "newChat" | "closeChat" | "renameChat" | "toggleTheme" | "stop" | "focusComposer";

export const menuCommands: readonly MenuCommand[] = ["newChat", "closeChat", "renameChat", "toggleTheme", "stop", "focusComposer"];

/** What the preload exposes as window.lynx: LynxApi plus a few named desktop functions. */
export interface LynxDesktopBridge extends LynxApi {
  readonly transport: "electron";
  openModelDialog(): Promise<ModelInfo | null>;
  /** A native folder picker; the pick becomes the models folder (null: cancelled). */
  chooseModelsDir(): Promise<AppSettings | null>;
  /** Drag and drop: the preload resolves the dropped File to its path; main validates it. */
  openModelFile(file: File): Promise<ModelInfo>;
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
  /** Opens a vetted https URL in the system browser (main re-checks it). */
  openExternal(url: string): Promise<boolean>;
  /** Exports a chat through a save dialog (downloads are blocked in the app): the saved path, or null if cancelled. */
  saveChatExport(chatId: ChatId, format: ExportFormat): Promise<string | null>;
}

export const IPC_PREFIX = "lynx:";
export const ipcChannelFor = (method: ApiMethod): string => `${IPC_PREFIX}call:${method}`;
export const IPC_SUBSCRIBE = "lynx:subscribe";
export const IPC_UNSUBSCRIBE = "lynx:unsubscribe";
export const IPC_EVENT = "lynx:event";
export const IPC_TELEMETRY = "lynx:telemetry";
export const IPC_MENU = "lynx:menu";
export const IPC_OPEN_MODEL_PATH = "lynx:openModelPath";
export const IPC_OPEN_EXTERNAL = "lynx:openExternal";
export const IPC_SAVE_EXPORT = "lynx:saveExport";

/** Hosts the app may open in the system browser (docs and model hubs). */
export const externalHostAllowList = ["github.com", "huggingface.co", "www.electronjs.org", "electronjs.org", "node-llama-cpp.withcat.ai"];

/** https only, no credentials, no odd ports, host on the allow-list. Pure: used by renderer and main. */
export function isVettedExternalUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== "https:") return false;
  if (url.username || url.password) return false;
  if (url.port && url.port !== "443") return false;
  return externalHostAllowList.includes(url.hostname.toLowerCase());
}

/** What every invoke handler returns: Electron would drop an Error's code, so errors travel as data. */
export type IpcResult<T = unknown> = { ok: true; value: T } | { ok: false; error: { code: string; message: string } };
