// The OpenAI-compatible local API: bare node:http like web mode. Every request is a generation of the SAME engine
// (its sequence pool, decode batches and pruning setting), so programs and the app's chats batch together.
//  - binds 127.0.0.1 by default; another address is refused without an API key; on loopback binds the Host
//    header must name this server (DNS rebinding);
//  - no CORS unless an origin is given; a browser request from any other origin is refused;
//  - bodies are bounded (413) and validated (zod); beyond the pool's sequences requests wait in order in a
//    bounded queue, then 503 with Retry-After;
//  - a client that disconnects aborts its generation, which frees its sequence at the next token.
import crypto, { timingSafeEqual } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { apiGenerationPrefix } from "../api/contract.js";
import type { LocalApiRequest } from "../api/contract.js";
import type { LynxEngine } from "../engine/engine.js";
import { prepareChat, prepareText, respond, type PreparedRequest } from "./completions.js";
import { fromZod, OpenAiError } from "./errors.js";
import { ApiMetrics } from "./metrics.js";
import { chatCompletionRequest, completionRequest, limits } from "./schemas.js";

export interface ApiServerOptions {
  /** Address to bind (default 127.0.0.1). A non-loopback address requires apiKey. */
  host?: string;
  /** TCP port (default 1234; 0 picks a free one). */
  port?: number;
  /** Bearer key every /v1 request (and /metrics) must carry. */
  apiKey?: string;
  /** Requests that may wait for a sequence beyond the pool's (default 16). */
  maxQueue?: number;
  /** The one browser origin allowed to call the API (CORS); none by default. */
  corsOrigin?: string;
  /** Longest a generation may run, in ms (default 10 minutes). */
  maxRequestMs?: number;
}

/** One request in flight, for the app's list: the contract's shape, as the Local API panel shows it. */
export type ApiRequestInfo = LocalApiRequest;

export interface ApiServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly metrics: ApiMetrics;
  requests(): ApiRequestInfo[];
  /**
   * Ends every request in flight with this error (a model switch): a waiting or non-streamed request gets it as
   * its response, a stream gets it as an error event and no [DONE]. Resolves when they have ended (bounded).
   */
  abortRequests(error: OpenAiError): Promise<void>;
  /** Stops accepting, aborts in-flight requests, waits for them (bounded) and closes every connection. */
  close(): Promise<void>;
}

interface Tracked extends ApiRequestInfo {
  abort: AbortController;
  /** Live token counts of its choices' sequences (some tokens are reported late, see runGeneration). */
  live: Array<() => number>;
  generatingSince: number | null;
  choices: number;
  firstTokenAt: number | null;
  lastTokenAt: number;
  done: Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

type EngineSource = LynxEngine | (() => LynxEngine | null);

export async function startApiServer(source: EngineSource, options: ApiServerOptions = {}): Promise<ApiServer> {
  const engineOf = typeof source === "function" ? source : () => source;
  const bindHost = options.host ?? "127.0.0.1";
  const loopback = LOOPBACK.has(bindHost);
  const apiKey = options.apiKey || undefined;
  if (!loopback && !apiKey) throw new Error(`binding the API to ${bindHost} (not a loopback address) requires an API key (--api-key)`);
  const maxQueue = Math.max(0, options.maxQueue ?? 16);
  const maxRequestMs = options.maxRequestMs ?? 10 * 60_000;
  const metrics = new ApiMetrics();
  const tracked = new Map<string, Tracked>();
  let allowedHosts = new Set<string>();
  let closing = false;

  const keyOk = (req: IncomingMessage) => {
    if (!apiKey) return true;
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) return false;
    const a = Buffer.from(match[1]!.trim());
    const b = Buffer.from(apiKey);
    return a.length === b.length && timingSafeEqual(a, b);
  };

  const admittedGenerations = () => [...tracked.values()].reduce((sum, t) => sum + t.choices, 0);

  function modelId(engine: LynxEngine) {
    return path.basename(engine.info.path).replace(/\.gguf$/i, "");
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const json = JSON.stringify(body);
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json), ...headers });
    res.end(json);
  }

  function sendError(res: ServerResponse, error: OpenAiError) {
    if (res.headersSent) {
      res.end();
      return;
    }
    sendJson(res, error.status, error.body(), error.headers);
  }

  function corsHeaders(req: IncomingMessage, res: ServerResponse) {
    if (options.corsOrigin && req.headers.origin === options.corsOrigin) {
      res.setHeader("Access-Control-Allow-Origin", options.corsOrigin);
      res.setHeader("Vary", "Origin");
    }
  }

  /** The body, at most `limit` bytes (413 beyond, without reading the rest). */
  function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      // beyond the limit the rest is read and dropped (not buffered), so the client, still sending, gets the 413
      // rather than a reset connection; the server's request timeout bounds how long that may take
      const chunks: Buffer[] = [];
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= limit) chunks.push(chunk);
        else chunks.length = 0;
      });
      req.on("end", () => {
        if (size > limit) reject(new OpenAiError(413, `the request body is larger than ${limit} bytes`, "invalid_request_error", "request_too_large"));
        else resolve(Buffer.concat(chunks));
      });
      req.on("error", reject);
    });
  }

  async function jsonBody(req: IncomingMessage): Promise<unknown> {
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") throw new OpenAiError(415, "the request body must be JSON (Content-Type: application/json)", "invalid_request_error", "unsupported_media_type");
    const raw = await readBody(req, limits.bodyBytes);
    try {
      return JSON.parse(raw.toString("utf8"));
    } catch {
      throw new OpenAiError(400, "the request body is not valid JSON", "invalid_request_error", "invalid_json");
    }
  }

  function requireEngine(): LynxEngine {
    const engine = engineOf();
    if (!engine) throw new OpenAiError(503, "no model is loaded", "server_error", "model_not_loaded", null, { "Retry-After": "5" });
    return engine;
  }

  function checkModel(engine: LynxEngine, requested: string) {
    const id = modelId(engine);
    const known = new Set([id, path.basename(engine.info.path), engine.info.name]);
    if (!known.has(requested)) throw new OpenAiError(404, `The model \`${requested}\` does not exist: this server serves \`${id}\` (GET /v1/models)`, "invalid_request_error", "model_not_found", "model");
  }

  async function generation(req: IncomingMessage, res: ServerResponse, endpoint: string, prepare: (engine: LynxEngine, body: unknown) => Promise<PreparedRequest>) {
    const body = await jsonBody(req);
    const engine = requireEngine();
    const prepared = await prepare(engine, body);
    if (closing) throw new OpenAiError(503, "the server is shutting down", "server_error", "shutting_down");
    if (admittedGenerations() + prepared.n > engine.pool.size + maxQueue) {
      throw new OpenAiError(503, `the server is busy: ${engine.pool.size} sequences generate and ${maxQueue} requests may wait; retry shortly`, "server_error", "server_busy", null, { "Retry-After": "1" });
    }
    const abort = new AbortController();
    let resolveDone!: () => void;
    const entry: Tracked = {
      id: crypto.randomUUID(),
      endpoint,
      client: `${req.socket.remoteAddress ?? "?"} ${String(req.headers["user-agent"] ?? "").slice(0, 80)}`.trim(),
      state: "queued",
      startedAt: Date.now(),
      tokens: 0,
      tokensPerSecond: 0,
      abort,
      live: [],
      generatingSince: null,
      choices: prepared.n,
      firstTokenAt: null,
      lastTokenAt: 0,
      done: new Promise<void>((resolve) => (resolveDone = resolve)),
    };
    tracked.set(entry.id, entry);
    // the client went away (or the request ran too long): stop generating and free the sequence now
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new Error("the client disconnected"));
    };
    res.on("close", onClose);
    const timer = setTimeout(() => abort.abort(new Error("the request ran too long")), maxRequestMs);
    timer.unref();
    metrics.promptTokens += prepared.promptTokens;
    try {
      const { status } = await respond(engine, prepared, modelId(engine), res, {
        owner: `${apiGenerationPrefix}${entry.id}`,
        signal: abort.signal,
        onStart: () => {
          entry.state = "generating";
          entry.generatingSince = performance.now();
        },
        onSequence: (generatedSoFar) => entry.live.push(generatedSoFar),
        onTokens: (count) => {
          const now = performance.now();
          entry.firstTokenAt ??= now;
          entry.lastTokenAt = now;
          entry.tokens += count;
          const seconds = (entry.lastTokenAt - entry.firstTokenAt) / 1000;
          entry.tokensPerSecond = seconds > 0 ? entry.tokens / seconds : 0;
          metrics.countTokens(count);
        },
        onEnd: () => {},
      });
      metrics.countRequest(endpoint, status);
    } finally {
      clearTimeout(timer);
      res.off("close", onClose);
      tracked.delete(entry.id);
      resolveDone();
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, pathname: string) {
    const method = req.method ?? "GET";
    if (pathname === "/health" && method === "GET") {
      const engine = engineOf();
      sendJson(res, engine ? 200 : 503, { status: engine ? "ok" : "no model", ...(engine ? { model: modelId(engine), sequences: engine.pool.size, in_flight: tracked.size } : {}) });
      return;
    }
    if (!keyOk(req)) {
      throw new OpenAiError(401, "Incorrect or missing API key: send it as `Authorization: Bearer KEY`.", "invalid_request_error", "invalid_api_key", null, { "WWW-Authenticate": "Bearer" });
    }
    if (pathname === "/metrics" && method === "GET") {
      const text = metrics.render(engineOf(), { inFlight: admittedGenerations(), queued: [...tracked.values()].filter((t) => t.state === "queued").length });
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(text);
      return;
    }
    if (pathname === "/v1/models" && method === "GET") {
      const engine = requireEngine();
      sendJson(res, 200, { object: "list", data: [{ id: modelId(engine), object: "model", created: Math.floor(Date.now() / 1000), owned_by: "lynx-chat" }] });
      return;
    }
    if (pathname.startsWith("/v1/models/") && method === "GET") {
      const engine = requireEngine();
      const requested = decodeURIComponent(pathname.slice("/v1/models/".length));
      checkModel(engine, requested);
      sendJson(res, 200, { id: modelId(engine), object: "model", created: Math.floor(Date.now() / 1000), owned_by: "lynx-chat" });
      return;
    }
    if (pathname === "/v1/chat/completions" && method === "POST") {
      await generation(req, res, "chat.completions", async (engine, raw) => {
        const parsed = chatCompletionRequest.safeParse(raw);
        if (!parsed.success) throw fromZod(parsed.error);
        checkModel(engine, parsed.data.model);
        return prepareChat(engine, parsed.data);
      });
      return;
    }
    if (pathname === "/v1/completions" && method === "POST") {
      await generation(req, res, "completions", async (engine, raw) => {
        const parsed = completionRequest.safeParse(raw);
        if (!parsed.success) throw fromZod(parsed.error);
        checkModel(engine, parsed.data.model);
        return prepareText(engine, parsed.data);
      });
      return;
    }
    const known = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/metrics", "/health"];
    if (known.includes(pathname)) throw new OpenAiError(405, `${method} is not allowed on ${pathname}`, "invalid_request_error", "method_not_allowed");
    throw new OpenAiError(404, `Unknown path ${pathname}`, "not_found_error", "unknown_url");
  }

  function handle(req: IncomingMessage, res: ServerResponse) {
    const hostHeader = (req.headers.host ?? "").toLowerCase();
    if (loopback && !allowedHosts.has(hostHeader)) {
      sendError(res, new OpenAiError(403, `Host ${JSON.stringify(hostHeader)} is not this server`, "invalid_request_error", "forbidden_host"));
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== options.corsOrigin) {
      sendError(res, new OpenAiError(403, `requests from the origin ${JSON.stringify(origin)} are not allowed (start the server with --cors ORIGIN)`, "invalid_request_error", "forbidden_origin"));
      return;
    }
    corsHeaders(req, res);
    if (req.method === "OPTIONS" && options.corsOrigin) {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, POST, OPTIONS", "Access-Control-Allow-Headers": "Authorization, Content-Type", "Access-Control-Max-Age": "600" });
      res.end();
      return;
    }
    let pathname: string;
    try {
      pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    } catch {
      sendError(res, new OpenAiError(400, "invalid URL", "invalid_request_error"));
      return;
    }
    route(req, res, pathname).catch((err: unknown) => {
      const error = err instanceof OpenAiError ? err : new OpenAiError(500, (err as Error)?.message ?? String(err), "server_error");
      metrics.countRequest(pathname.startsWith("/v1/") ? pathname.slice(4).replaceAll("/", ".") : "other", error.status);
      sendError(res, error);
    });
  }

  /** Aborts what is in flight and waits for it to end, at most 3 s. */
  async function abortAll(reason: unknown) {
    const entries = [...tracked.values()];
    for (const entry of entries) entry.abort.abort(reason);
    await Promise.race([Promise.all(entries.map((t) => t.done)), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 1234, bindHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
  const urlHost = bindHost.includes(":") ? `[${bindHost}]` : bindHost;

  return {
    url: `http://${urlHost}:${port}/v1`,
    host: bindHost,
    port,
    metrics,
    requests: () =>
      [...tracked.values()].map(({ id, endpoint, client, state, startedAt, tokens, tokensPerSecond, live, generatingSince }) => {
        const counted = live.reduce((sum, count) => sum + count(), 0);
        if (counted <= tokens) return { id, endpoint, client, state, startedAt, tokens, tokensPerSecond };
        const seconds = generatingSince === null ? 0 : (performance.now() - generatingSince) / 1000;
        return { id, endpoint, client, state, startedAt, tokens: counted, tokensPerSecond: seconds > 0 ? counted / seconds : tokensPerSecond };
      }),
    abortRequests: (error) => abortAll(error),
    async close() {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await abortAll(new Error("the server is shutting down"));
      server.closeAllConnections();
      await closed;
    },
  };
}
