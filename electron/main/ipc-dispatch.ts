// The IPC handlers without Electron: the invoke channels and how one call on a channel is validated and
// dispatched. ipc.ts registers them behind its sender check; tests (and the fuzzer) call them directly.

import { z } from "zod";
import type { AppSettings, LynxApi, ModelInfo } from "../api/contract.js";
import type { ChatId, ExportFormat } from "../api/contract.js";
import { IPC_OPEN_EXTERNAL, IPC_OPEN_MODEL_PATH, IPC_SAVE_EXPORT, ipcChannelFor, isVettedExternalUrl, type IpcResult } from "../api/desktop.js";
import { ApiCallError, apiMethods, chatIdSchema, desktopOnlyMethods, dispatchApiCall, exportFormatSchema, toApiError, validateApiArgs } from "../api/schemas.js";
import { validateModelPath } from "./model-path.js";

/** What the handlers reach: the host, and the few desktop actions main performs itself. */
export interface IpcDispatchContext {
  host(): Promise<LynxApi>;
  /** Shows the open dialog and opens the picked model (null when cancelled). */
  openModelDialog(): Promise<ModelInfo | null>;
  /** Shows a folder picker and makes the pick the models folder (null when cancelled). */
  chooseModelsDir(): Promise<AppSettings | null>;
  /** Opens an already validated model path. */
  openModel(path: string): Promise<ModelInfo>;
  /** Opens a vetted https URL in the system browser. */
  openExternal(url: string): Promise<boolean>;
  /** Exports a chat through a save dialog; the saved path, or null when cancelled (absent: not offered). */
  saveExport?(chatId: ChatId, format: ExportFormat): Promise<string | null>;
}

const pathArg = z.string().min(1).max(4096);
const urlArg = z.string().min(1).max(2048);

type Handler = (ctx: IpcDispatchContext, args: unknown[]) => Promise<unknown>;

const handlers = new Map<string, Handler>();
for (const method of apiMethods) {
  if (desktopOnlyMethods.has(method)) continue;
  handlers.set(ipcChannelFor(method), async (ctx, args) => dispatchApiCall(await ctx.host(), method, args));
}
// the desktop-only methods are dialogs main shows itself
const desktopActions: Readonly<Record<string, (ctx: IpcDispatchContext) => Promise<unknown>>> = {
  openModelDialog: (ctx) => ctx.openModelDialog(),
  chooseModelsDir: (ctx) => ctx.chooseModelsDir(),
};
for (const method of desktopOnlyMethods) {
  const action = desktopActions[method];
  if (!action) throw new Error(`the desktop-only method ${method} has no action in main`);
  handlers.set(ipcChannelFor(method), async (ctx, args) => {
    // arguments checked before any dialog shows: a bad call never opens one
    const checked = validateApiArgs(method, args);
    if (!checked.ok) throw new ApiCallError(checked.error.code, checked.error.message);
    return action(ctx);
  });
}
handlers.set(IPC_OPEN_MODEL_PATH, async (ctx, [raw]) => {
  const parsed = pathArg.safeParse(raw);
  if (!parsed.success) throw new ApiCallError("INVALID_INPUT", "not a file path");
  return ctx.openModel(await validateModelPath(parsed.data));
});
handlers.set(IPC_OPEN_EXTERNAL, async (ctx, [raw]) => {
  const parsed = urlArg.safeParse(raw);
  return parsed.success && isVettedExternalUrl(parsed.data) ? ctx.openExternal(parsed.data) : false;
});

handlers.set(IPC_SAVE_EXPORT, async (ctx, [rawId, rawFormat]) => {
  // the page names the chat and the format only: the content comes from the host, the path from the dialog
  const chatId = chatIdSchema.safeParse(rawId);
  const format = exportFormatSchema.safeParse(rawFormat);
  if (!chatId.success || !format.success) throw new ApiCallError("INVALID_INPUT", 'saveChatExport takes a chat id and "markdown" or "json"');
  if (!ctx.saveExport) throw new ApiCallError("INVALID_INPUT", "saving an export is not available here");
  return ctx.saveExport(chatId.data, format.data);
});

/** Every channel main answers with ipcMain.handle. */
export const ipcInvokeChannels: readonly string[] = [...handlers.keys()];

/** One invoke call that passed the sender check. Never throws: a failure is a typed error result. */
export async function handleIpcInvoke(ctx: IpcDispatchContext, channel: string, args: unknown[]): Promise<IpcResult> {
  try {
    const handler = handlers.get(channel);
    if (!handler) throw new ApiCallError("INVALID_INPUT", `no IPC channel ${JSON.stringify(String(channel))}`);
    return { ok: true, value: await handler(ctx, Array.isArray(args) ? args : [args]) };
  } catch (error) {
    return { ok: false, error: toApiError(error) };
  }
}
