// The IPC handlers without Electron: the invoke channels and how one call on a channel is validated and
// dispatched. ipc.ts registers them behind its sender check; tests (and the fuzzer) call them directly.

import { z } from "zod";
import type { LynxApi, ModelInfo } from "../api/contract.js";
import { IPC_OPEN_EXTERNAL, IPC_OPEN_MODEL_PATH, ipcChannelFor, isVettedExternalUrl, type IpcResult } from "../api/desktop.js";
import { ApiCallError, apiMethods, dispatchApiCall, toApiError, validateApiArgs } from "../api/schemas.js";
import { validateModelPath } from "./model-path.js";

/** What the handlers reach: the host, and the few desktop actions main performs itself. */
export interface IpcDispatchContext {
  host(): Promise<LynxApi>;
  /** Shows the open dialog and opens the picked model (null when cancelled). */
  openModelDialog(): Promise<ModelInfo | null>;
  /** Opens an already validated model path. */
  openModel(path: string): Promise<ModelInfo>;
  /** Opens a vetted https URL in the system browser. */
  openExternal(url: string): Promise<boolean>;
}

const pathArg = z.string().min(1).max(4096);
const urlArg = z.string().min(1).max(2048);

type Handler = (ctx: IpcDispatchContext, args: unknown[]) => Promise<unknown>;

const handlers = new Map<string, Handler>();
for (const method of apiMethods) {
  if (method === "openModelDialog") continue;
  handlers.set(ipcChannelFor(method), async (ctx, args) => dispatchApiCall(await ctx.host(), method, args));
}
handlers.set(ipcChannelFor("openModelDialog"), async (ctx, args) => {
  const checked = validateApiArgs("openModelDialog", args);
  if (!checked.ok) throw new ApiCallError(checked.error.code, checked.error.message);
  return ctx.openModelDialog();
});
handlers.set(IPC_OPEN_MODEL_PATH, async (ctx, [raw]) => {
  const parsed = pathArg.safeParse(raw);
  if (!parsed.success) throw new ApiCallError("INVALID_INPUT", "not a file path");
  return ctx.openModel(await validateModelPath(parsed.data));
});
handlers.set(IPC_OPEN_EXTERNAL, async (ctx, [raw]) => {
  const parsed = urlArg.safeParse(raw);
  return parsed.success && isVettedExternalUrl(parsed.data) ? ctx.openExternal(parsed.data) : false;
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
