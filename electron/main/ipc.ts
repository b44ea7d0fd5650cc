// IPC between the preload bridge and the host. Every handler checks the sender frame (our window's
// main frame, served from app://lynx), then validates and dispatches the call through ipc-dispatch.ts.

import { BrowserWindow, dialog, ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from "electron";
import type { HostEvent, ModelInfo, TelemetryFrame } from "../api/contract.js";
import { IPC_EVENT, IPC_SUBSCRIBE, IPC_TELEMETRY, IPC_UNSUBSCRIBE, type IpcResult } from "../api/desktop.js";
import { encodeTelemetryFrame } from "../api/telemetry-codec.js";
import type { LynxHost } from "../host/host.js";
import { saveChatExportWithDialog } from "./export-dialog.js";
import { handleIpcInvoke, ipcInvokeChannels, type IpcDispatchContext } from "./ipc-dispatch.js";
import { validateModelPath } from "./model-path.js";
import { isAppUrl, openExternalIfVetted } from "./security.js";

export interface IpcContext {
  /** Resolves once the host has loaded a model. */
  host(): Promise<LynxHost>;
  mainWindow(): BrowserWindow | null;
  /** Opens a model through the host (used by the dialog, drag and drop and the menu). */
  openModel(path: string): Promise<ModelInfo>;
}

/** Only our own window's main frame, showing our own app:// page, may call the host. */
export function isTrustedSender(event: IpcMainInvokeEvent | IpcMainEvent, ctx: IpcContext): boolean {
  const win = ctx.mainWindow();
  if (!win || win.isDestroyed() || event.sender !== win.webContents) return false;
  const frame = event.senderFrame;
  if (!frame || frame !== win.webContents.mainFrame) return false;
  return isAppUrl(frame.url);
}

export async function showOpenModelDialog(win: BrowserWindow | null): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: "Open a GGUF model",
    properties: ["openFile"],
    filters: [{ name: "GGUF models", extensions: ["gguf"] }],
  };
  const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** The native folder picker for the models folder, opened at the current one. */
export async function showModelsDirDialog(win: BrowserWindow | null, current: string | null): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: "Choose the models folder",
    properties: ["openDirectory", "createDirectory"],
    ...(current ? { defaultPath: current } : {}),
  };
  const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

export function registerIpc(ctx: IpcContext): () => void {
  const dispatch: IpcDispatchContext = {
    host: ctx.host,
    openModel: ctx.openModel,
    openModelDialog: async () => {
      const file = await showOpenModelDialog(ctx.mainWindow());
      return file ? ctx.openModel(await validateModelPath(file)) : null;
    },
    chooseModelsDir: async () => {
      const host = await ctx.host();
      const dir = await showModelsDirDialog(ctx.mainWindow(), host.library?.modelsDir ?? null);
      // the host checks the pick like any other (an existing absolute folder) and announces library.changed
      return dir ? host.updateAppSettings({ modelsDir: dir }) : null;
    },
    openExternal: openExternalIfVetted,
    saveExport: async (chatId, format) => saveChatExportWithDialog(await ctx.host(), ctx.mainWindow(), chatId, format),
  };
  for (const channel of ipcInvokeChannels) {
    ipcMain.handle(channel, async (event, ...args: unknown[]): Promise<IpcResult> => {
      if (!isTrustedSender(event, ctx)) return { ok: false, error: { code: "INVALID_INPUT", message: "untrusted sender" } };
      return handleIpcInvoke(dispatch, channel, args);
    });
  }

  // Event stream: one host subscription per renderer (web contents), ended when it goes away.
  const subscriptions = new Map<WebContents, () => void>();
  const subscribe = async (event: IpcMainEvent) => {
    if (!isTrustedSender(event, ctx)) return;
    const contents = event.sender;
    if (subscriptions.has(contents)) return;
    const host = await ctx.host();
    const send = (channel: string, payload: unknown) => {
      if (!contents.isDestroyed()) contents.send(channel, payload);
    };
    const unsubscribe = host.subscribe(
      (e: HostEvent) => send(IPC_EVENT, e),
      (frame: TelemetryFrame) => send(IPC_TELEMETRY, encodeTelemetryFrame(frame)),
    );
    subscriptions.set(contents, unsubscribe);
    contents.once("destroyed", () => {
      subscriptions.get(contents)?.();
      subscriptions.delete(contents);
    });
  };
  const onSubscribe = (event: IpcMainEvent) => void subscribe(event).catch(() => {});
  const onUnsubscribe = (event: IpcMainEvent) => {
    if (!isTrustedSender(event, ctx)) return;
    subscriptions.get(event.sender)?.();
    subscriptions.delete(event.sender);
  };
  ipcMain.on(IPC_SUBSCRIBE, onSubscribe);
  ipcMain.on(IPC_UNSUBSCRIBE, onUnsubscribe);

  return () => {
    for (const c of ipcInvokeChannels) ipcMain.removeHandler(c);
    ipcMain.off(IPC_SUBSCRIBE, onSubscribe);
    ipcMain.off(IPC_UNSUBSCRIBE, onUnsubscribe);
    for (const off of subscriptions.values()) off();
    subscriptions.clear();
  };
}
