// Picks the transport: the Electron preload bridge (window.lynx) when present, else the web client.
// The rest of the renderer only sees AppApi.

import type { LynxDesktopBridge } from "../../../electron/api/desktop.js";
import type { LynxApi } from "../../../electron/api/contract.js";
import { createWebClient, takeTokenFromLocation, type WebClient } from "./web-client.js";

export type AppApi = LynxDesktopBridge | WebClient;

declare global {
  interface Window {
    lynx?: LynxDesktopBridge;
  }
}

export function isDesktop(api: LynxApi): api is LynxDesktopBridge {
  return (api as Partial<LynxDesktopBridge>).transport === "electron";
}

export function resolveApi(): AppApi {
  if (window.lynx && window.lynx.transport === "electron") return window.lynx;
  return createWebClient({ origin: window.location.origin, token: takeTokenFromLocation() });
}
