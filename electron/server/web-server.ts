// Web mode: serves the built renderer and the LynxApi over HTTP + one WebSocket, on loopback only.
//
// Security model (another web site open in the same browser must not be able to drive the model):
//  - bound to a loopback address only; the Host header must name that address and port (DNS rebinding);
//  - a per-launch random secret token is required on every request: API calls send it in the
//    X-Lynx-Token header, the WebSocket upgrade in its query, page loads in ?token= (then an
//    HttpOnly SameSite=Strict cookie so the page's own assets load);
//  - any request whose Origin is not this server's own origin is rejected with 403;
//  - API calls must be POST application/json (a cross-site form cannot send that without a preflight);
//  - arguments are validated with the shared zod schemas before they reach the host.
// Node only: no electron import.

import { randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer, type WebSocket } from "ws";
import type { HostEvent, LynxApi, TelemetryFrame } from "../api/contract.js";
import { ApiCallError, desktopOnlyMethods, dispatchApiCall, isApiMethod, toApiError, type ApiErrorBody } from "../api/schemas.js";
import { encodeTelemetryFrame } from "../api/telemetry-codec.js";

export const TOKEN_HEADER = "x-lynx-token";
export const TOKEN_COOKIE = "lynx_token";
export const WS_PATH = "/api/ws";
/** JSON request bodies: a maximal message (100k chars, each up to 6 bytes escaped) plus settings. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Telemetry frames are dropped (never events) for a client whose socket buffer is above this. */
const TELEMETRY_BACKPRESSURE_BYTES = 2 * 1024 * 1024;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export interface WebServerOptions {
  /** The host service (server-side LynxApi implementation). */
  host: LynxApi;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Loopback address to bind: 127.0.0.1 (default), ::1 or localhost. Anything else is refused. */
  bindAddress?: string;
  /** Built renderer folder (vite build output). Defaults to dist/renderer in the project. */
  staticDir?: string;
  /** Secret token; a fresh random one per launch when omitted. */
  token?: string;
  log?: (message: string) => void;
}

export interface WebServer {
  /** http://127.0.0.1:PORT/?token=... : the URL to open. */
  url: string;
  origin: string;
  port: number;
  token: string;
  server: Server;
  /** Number of connected WebSocket clients. */
  clientCount(): number;
  close(): Promise<void>;
}

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const defaultStaticDir = path.join(projectRoot, "dist", "renderer");

const mimeTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

function statusForCode(code: ApiErrorBody["code"]): number {
  switch (code) {
    case "INVALID_INPUT":
      return 400;
    case "CHAT_NOT_FOUND":
    case "MODEL_NOT_FOUND":
      return 404;
    case "CHAT_BUSY":
      return 409;
    case "CONTEXT_FULL":
    case "NOT_GGUF":
    case "TRUNCATED_GGUF":
    case "CORRUPT_GGUF":
    case "UNSUPPORTED_ARCHITECTURE":
      return 422;
    default:
      return 500;
  }
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    // a malformed value (any page on localhost can set cookies for it) is skipped: decodeURIComponent throws on it
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      continue;
    }
    out.set(part.slice(0, eq).trim(), value);
  }
  return out;
}

export function contentSecurityPolicy(origins: Iterable<string>): string {
  const wsOrigins = [...origins].map((o) => o.replace(/^http/, "ws")).join(" ");
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${wsOrigins}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join("; ");
}

function baseHeaders(res: ServerResponse): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body ?? null));
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": data.length,
    "Cache-Control": "no-store",
  });
  res.end(data);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  const data = Buffer.from(text);
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": data.length, "Cache-Control": "no-store" });
  res.end(data);
}

/**
 * Reads a body of at most `limit` bytes. A larger one is refused as soon as it is seen, and the rest is read and
 * dropped (not buffered) so the client, still sending, gets the 413 instead of a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const refuse = () => {
      tooLarge = true;
      chunks.length = 0;
      reject(new ApiCallError("INVALID_INPUT", `request body larger than ${limit} bytes`));
    };
    if (Number(req.headers["content-length"]) > limit) refuse();
    req.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) refuse();
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const api = options.host;
  const bindAddress = options.bindAddress ?? "127.0.0.1";
  if (!LOOPBACK.has(bindAddress)) {
    throw new Error(`web mode only binds to a loopback address (127.0.0.1, ::1 or localhost), not ${bindAddress}`);
  }
  const token = options.token ?? randomBytes(32).toString("base64url");
  const staticDir = path.resolve(options.staticDir ?? defaultStaticDir);
  const log = options.log ?? (() => {});
  let port = 0;
  let allowedHosts = new Set<string>();
  let allowedOrigins = new Set<string>();
  let csp = "";

  /** 403 for a foreign Host (DNS rebinding) or a foreign Origin / cross-site fetch. */
  function checkSameOrigin(req: IncomingMessage): string | null {
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    if (!allowedHosts.has(hostHeader)) return `Host ${JSON.stringify(hostHeader)} is not this server`;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) return `Origin ${origin} is not allowed`;
    const site = req.headers["sec-fetch-site"];
    if (site === "cross-site") return "cross-site request";
    return null;
  }

  function headerToken(req: IncomingMessage): string | undefined {
    const h = req.headers[TOKEN_HEADER];
    if (typeof h === "string") return h;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Bearer ")) return auth.slice(7);
    return undefined;
  }

  function tokenOk(candidate: string | undefined | null): boolean {
    return typeof candidate === "string" && safeEqual(candidate, token);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      sendJson(res, 405, { error: { code: "INVALID_INPUT", message: "use POST" } });
      return;
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      sendJson(res, 415, { error: { code: "INVALID_INPUT", message: "Content-Type must be application/json" } });
      return;
    }
    if (!isApiMethod(method) || desktopOnlyMethods.has(method)) {
      sendJson(res, 404, { error: { code: "INVALID_INPUT", message: `no API method ${JSON.stringify(method)} in web mode` } });
      return;
    }
    let args: unknown;
    try {
      const raw = await readBody(req, MAX_BODY_BYTES);
      const parsed: unknown = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
      args = Array.isArray(parsed) ? parsed : (parsed as { args?: unknown } | null)?.args ?? [];
    } catch (error) {
      const body = error instanceof ApiCallError ? toApiError(error) : { code: "INVALID_INPUT" as const, message: "body is not valid JSON" };
      sendJson(res, error instanceof ApiCallError ? 413 : 400, { error: body });
      return;
    }
    try {
      const result = await dispatchApiCall(api, method, args);
      sendJson(res, 200, { result: result ?? null });
    } catch (error) {
      const body = toApiError(error);
      sendJson(res, statusForCode(body.code), { error: body });
    }
  }

  function handleStatic(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      sendText(res, 405, "Method not allowed");
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      sendText(res, 400, "Bad path");
      return;
    }
    if (rel.includes("\0")) {
      sendText(res, 400, "Bad path");
      return;
    }
    let file = path.resolve(staticDir, "." + path.posix.normalize(rel));
    if (file !== staticDir && !file.startsWith(staticDir + path.sep)) {
      sendText(res, 403, "Forbidden");
      return;
    }
    let isIndex = false;
    if (rel === "/" || rel === "" || !path.extname(file)) {
      file = path.join(staticDir, "index.html");
      isIndex = true;
    }
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error("not a file");
      size = st.size;
    } catch {
      if (isIndex) {
        sendText(res, 503, `The renderer is not built (${path.join(staticDir, "index.html")} is missing): run npm run build:renderer`);
      } else {
        sendText(res, 404, "Not found");
      }
      return;
    }
    const queryToken = url.searchParams.get("token");
    if (isIndex && tokenOk(queryToken)) {
      res.setHeader("Set-Cookie", `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`);
    }
    res.writeHead(200, {
      "Content-Type": mimeTypes[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      "Content-Length": size,
      "Cache-Control": isIndex ? "no-store" : "no-cache",
      "Content-Security-Policy": csp,
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  }

  const server = createServer((req, res) => {
    try {
      handleRequest(req, res);
    } catch (error) {
      // nothing a request carries may take the server down: an unexpected throw is a typed 500
      log(`request error: ${String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: toApiError(error) });
      else res.destroy();
    }
  });

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    baseHeaders(res);
    const forbidden = checkSameOrigin(req);
    if (forbidden) {
      log(`403 ${req.method} ${req.url}: ${forbidden}`);
      sendText(res, 403, `Forbidden: ${forbidden}`);
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    } catch {
      sendText(res, 400, "Bad request");
      return;
    }
    const isApi = url.pathname.startsWith("/api/");
    const cookieToken = parseCookies(req.headers.cookie).get(TOKEN_COOKIE);
    const authorized = isApi
      ? tokenOk(headerToken(req))
      : tokenOk(url.searchParams.get("token")) || tokenOk(cookieToken) || tokenOk(headerToken(req));
    if (!authorized) {
      if (isApi) sendJson(res, 401, { error: { code: "INVALID_INPUT", message: "missing or wrong token: open the URL (with ?token=...) that npm run serve printed" } });
      else sendText(res, 401, "Unauthorized: open the URL (with its ?token=...) that `npm run serve` printed.");
      return;
    }
    if (req.method === "OPTIONS") {
      // Same-origin only: no CORS headers are ever sent.
      res.writeHead(204);
      res.end();
      return;
    }
    if (isApi) {
      const method = url.pathname.slice("/api/".length);
      handleApi(req, res, method).catch((error) => {
        log(`API error: ${String(error)}`);
        if (!res.headersSent) sendJson(res, 500, { error: toApiError(error) });
        else res.destroy();
      });
      return;
    }
    handleStatic(req, res, url);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();

  server.on("upgrade", (req, socket, head) => {
    const reject = (status: number, text: string) => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const forbidden = checkSameOrigin(req);
    if (forbidden) {
      log(`403 WS upgrade: ${forbidden}`);
      reject(403, "Forbidden");
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    } catch {
      reject(400, "Bad Request");
      return;
    }
    if (url.pathname !== WS_PATH) {
      reject(404, "Not Found");
      return;
    }
    if (!tokenOk(url.searchParams.get("token")) && !tokenOk(headerToken(req))) {
      reject(401, "Unauthorized");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });

  wss.on("connection", (ws: WebSocket) => {
    clients.add(ws);
    let alive = true;
    ws.on("pong", () => {
      alive = true;
    });
    const onEvent = (event: HostEvent) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
    };
    const onTelemetry = (frame: TelemetryFrame) => {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount > TELEMETRY_BACKPRESSURE_BYTES) return;
      ws.send(new Uint8Array(encodeTelemetryFrame(frame)), { binary: true });
    };
    let unsubscribe: (() => void) | null = null;
    try {
      unsubscribe = api.subscribe(onEvent, onTelemetry);
    } catch (error) {
      log(`subscribe failed: ${String(error)}`);
      ws.close(1011, "subscribe failed");
    }
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, 30_000);
    ping.unref();
    // The socket is server -> client only: a client message changes nothing and is answered with a typed error.
    ws.on("message", () => {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount > TELEMETRY_BACKPRESSURE_BYTES) return;
      const reply: HostEvent = { type: "host.error", code: "INVALID_INPUT", message: "this socket only carries events to the page: call POST /api/<method>" };
      ws.send(JSON.stringify(reply));
    });
    ws.on("close", () => {
      clearInterval(ping);
      clients.delete(ws);
      unsubscribe?.();
    });
    ws.on("error", () => ws.terminate());
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const hostPart = bindAddress === "::1" ? "[::1]" : bindAddress;
  const origin = `http://${hostPart}:${port}`;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].filter((h) => {
    // Only the names that reach this socket.
    if (bindAddress === "::1") return h.startsWith("[::1]") || h.startsWith("localhost");
    if (bindAddress === "127.0.0.1") return !h.startsWith("[::1]");
    return true;
  }));
  allowedOrigins = new Set([...allowedHosts].map((h) => `http://${h}`));
  csp = contentSecurityPolicy(allowedOrigins);
  if (!existsSync(path.join(staticDir, "index.html"))) {
    log(`warning: ${path.join(staticDir, "index.html")} not found; run npm run build:renderer`);
  }

  const url = `${origin}/?token=${encodeURIComponent(token)}`;
  return {
    url,
    origin,
    port,
    token,
    server,
    clientCount: () => clients.size,
    close: async () => {
      for (const ws of clients) ws.terminate();
      clients.clear();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
