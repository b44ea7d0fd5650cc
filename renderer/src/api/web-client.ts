// Web-mode transport: API calls as POST /api/<method> (JSON), events and telemetry over one WebSocket
// (events as JSON text, telemetry as binary frames in the shared codec). The secret token arrives in
// the page URL once (?token=...), is kept in sessionStorage and sent as a header / WS query.

import type { HostEvent, LynxApi, TelemetryFrame } from "../../../electron/api/contract.js";
import { ApiCallError, type ApiErrorBody } from "../../../electron/api/api-error.js";
import { decodeTelemetryFrame } from "../../../electron/api/telemetry-codec.js";

export type ConnectionState = "connecting" | "open" | "closed";

export interface WebClient extends LynxApi {
  readonly transport: "web";
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

export interface WebClientOptions {
  origin: string;
  token: string;
  fetchImpl?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
}

const TOKEN_KEY = "lynx.token";

/** Reads the token from ?token= (then removes it from the address bar) or from sessionStorage. */
export function takeTokenFromLocation(loc: Location = window.location, storage: Storage = window.sessionStorage): string {
  const url = new URL(loc.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY) ?? "";
}

export function createWebClient(options: WebClientOptions): WebClient {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  const WS = options.WebSocketImpl ?? WebSocket;
  const eventListeners = new Set<(e: HostEvent) => void>();
  const telemetryListeners = new Set<(f: TelemetryFrame) => void>();
  const connectionListeners = new Set<(s: ConnectionState) => void>();
  let socket: WebSocket | null = null;
  let state: ConnectionState = "closed";
  let retry = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closedByUser = false;

  const setState = (next: ConnectionState) => {
    if (next === state) return;
    state = next;
    for (const l of connectionListeners) l(next);
  };

  async function call<T>(method: string, args: unknown[]): Promise<T> {
    const res = await fetchImpl(`${options.origin}/api/${method}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Lynx-Token": options.token },
      body: JSON.stringify({ args }),
      credentials: "same-origin",
      cache: "no-store",
    });
    type Body = { result?: unknown; error?: ApiErrorBody };
    const body = (await res.json().catch(() => null)) as Body | null;
    if (!res.ok || !body || body.error) {
      const err = body?.error;
      throw new ApiCallError(err?.code ?? "INTERNAL", err?.message ?? `${method} failed with HTTP ${res.status}`);
    }
    return body.result as T;
  }

  function connect() {
    if (socket || closedByUser) return;
    setState("connecting");
    const wsUrl = `${options.origin.replace(/^http/, "ws")}/api/ws?token=${encodeURIComponent(options.token)}`;
    const ws = new WS(wsUrl);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = () => {
      retry = 0;
      setState("open");
    };
    ws.onmessage = (msg: MessageEvent) => {
      if (typeof msg.data === "string") {
        let event: HostEvent;
        try {
          event = JSON.parse(msg.data) as HostEvent;
        } catch {
          return;
        }
        for (const l of eventListeners) l(event);
      } else if (msg.data instanceof ArrayBuffer) {
        let frame: TelemetryFrame;
        try {
          frame = decodeTelemetryFrame(msg.data);
        } catch {
          return;
        }
        for (const l of telemetryListeners) l(frame);
      }
    };
    ws.onclose = () => {
      socket = null;
      setState("closed");
      if (closedByUser || (eventListeners.size === 0 && telemetryListeners.size === 0)) return;
      const delay = Math.min(5000, 250 * 2 ** retry++);
      retryTimer = setTimeout(() => {
        retryTimer = null;
        connect();
      }, delay);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  const client: WebClient = {
    transport: "web",
    getModel: () => call("getModel", []),
    listChats: () => call("listChats", []),
    openChat: (settings) => call("openChat", settings === undefined ? [] : [settings]),
    renameChat: (chatId, title) => call("renameChat", [chatId, title]),
    updateChatSettings: (chatId, settings) => call("updateChatSettings", [chatId, settings]),
    send: (chatId, text) => call("send", [chatId, text]),
    stop: (chatId) => call("stop", [chatId]),
    regenerate: (chatId) => call("regenerate", [chatId]),
    editLastAndResend: (chatId, text) => call("editLastAndResend", [chatId, text]),
    resetChat: (chatId) => call("resetChat", [chatId]),
    closeChat: (chatId) => call("closeChat", [chatId]),
    getPolicy: () => call("getPolicy", []),
    setPolicy: (setting) => call("setPolicy", [setting]),
    listHistory: (query) => call("listHistory", query === undefined ? [] : [query]),
    reopenChat: (chatId) => call("reopenChat", [chatId]),
    deleteChat: (chatId) => call("deleteChat", [chatId]),
    exportChat: (chatId, format) => call("exportChat", [chatId, format]),
    getAppSettings: () => call("getAppSettings", []),
    updateAppSettings: (settings) => call("updateAppSettings", [settings]),
    getStorageInfo: () => call("getStorageInfo", []),
    getPruneCheck: () => call("getPruneCheck", []),
    startPruneCheck: (options) => call("startPruneCheck", options === undefined ? [] : [options]),
    cancelPruneCheck: () => call("cancelPruneCheck", []),
    getLocalApi: () => call("getLocalApi", []),
    setLocalApi: (settings) => call("setLocalApi", [settings]),
    listModels: () => call("listModels", []),
    estimateFit: (path, options) => call("estimateFit", options === undefined ? [path] : [path, options]),
    loadModel: (path, options) => call("loadModel", options === undefined ? [path] : [path, options]),
    updateModelSettings: (path, patch) => call("updateModelSettings", [path, patch]),
    deleteModel: (path) => call("deleteModel", [path]),
    startDownload: (uri) => call("startDownload", [uri]),
    pauseDownload: (id) => call("pauseDownload", [id]),
    resumeDownload: (id) => call("resumeDownload", [id]),
    cancelDownload: (id) => call("cancelDownload", [id]),
    subscribe(onEvent, onTelemetry) {
      eventListeners.add(onEvent);
      telemetryListeners.add(onTelemetry);
      closedByUser = false;
      connect();
      return () => {
        eventListeners.delete(onEvent);
        telemetryListeners.delete(onTelemetry);
        if (eventListeners.size === 0 && telemetryListeners.size === 0) {
          socket?.close();
        }
      };
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
    close() {
      closedByUser = true;
      if (retryTimer) clearTimeout(retryTimer);
      socket?.close();
    },
  };
  return client;
}
