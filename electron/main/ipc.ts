// IPC between the preload bridge and the host. Every handler checks the sender frame (our window's
// main frame, served from app://lynx) and validates its input with the shared zod schemas.

import { BrowserWindow, dialog, ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from "electron";
import { z } from "zod";
import type { HostEvent, ModelInfo, TelemetryFrame } from "../api/contract.js";
import {
  IPC_EVENT,
  IPC_OPEN_EXTERNAL,
  IPC_OPEN_MODEL_PATH,
  IPC_SUBSCRIBE,
  IPC_TELEMETRY,
  IPC_UNSUBSCRIBE,
  ipcChannelFor,
  type IpcResult,
} from "../api/desktop.js";
import { ApiCallError, apiMethods, dispatchApiCall, toApiError } from "../api/schemas.js";
import { encodeTelemetryFrame } from "../api/telemetry-codec.js";
import type { LynxHost } from "../host/host.js";
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

async function wrap<T>(fn: () => Promise<T>): Promise<IpcResult<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: toApiError(error) };
  }
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

const pathArg = z.string().min(1).max(4096);
const urlArg = z.string().min(1).max(2048);

export function registerIpc(ctx: IpcContext): () => void {
  const channels: string[] = [];
  const handle = (channel: string, fn: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<IpcResult>) => {
    channels.push(channel);
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      if (!isTrustedSender(event, ctx)) return { ok: false, error: { code: "INVALID_INPUT", message: "untrusted sender" } };
      return fn(event, ...args);
    });
  };

  for (const method of apiMethods) {
    if (method === "openModelDialog") continue;
    handle(ipcChannelFor(method), (_event, ...args) => wrap(async () => dispatchApiCall(await ctx.host(), method, args)));
  }

  handle(ipcChannelFor("openModelDialog"), () =>
    wrap(async () => {
      const file = await showOpenModelDialog(ctx.mainWindow());
      if (!file) return null;
      return ctx.openModel(await validateModelPath(file));
    }),
  );

  handle(IPC_OPEN_MODEL_PATH, (_event, raw) =>
    wrap(async () => {
      const parsed = pathArg.safeParse(raw);
      if (!parsed.success) throw new ApiCallError("INVALID_INPUT", "not a file path");
      return ctx.openModel(await validateModelPath(parsed.data));
    }),
  );

  handle(IPC_OPEN_EXTERNAL, (_event, raw) =>
    wrap(async () => {
      const parsed = urlArg.safeParse(raw);
      return parsed.success ? openExternalIfVetted(parsed.data) : false;
    }),
  );

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
    for (const c of channels) ipcMain.removeHandler(c);
    ipcMain.off(IPC_SUBSCRIBE, onSubscribe);
    ipcMain.off(IPC_UNSUBSCRIBE, onUnsubscribe);
    for (const off of subscriptions.values()) off();
    subscriptions.clear();
  };
}
